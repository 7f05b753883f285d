// A service's `Endpoint`: what the allocator made of its EndpointSpec. swarmkit's allocator sets it only for
// a service it has something to allocate for — published ports, or networks to give virtual IPs on — and
// then copies the spec into it; a service with neither keeps no endpoint, which the Engine API shows as
// `"Endpoint": {"Spec": {}}` even when the spec says `{"Mode": "vip"}` (what the docker CLI always sends;
// test/e2e/reference/docker-20.10/services.json). shoal writes the endpoint together with the spec (the
// control API on create and update, the orchestrator on rollback), by this one rule.

import type { Endpoint, ServiceSpec } from '../api/types.js';

const some = (list: readonly unknown[] | undefined): boolean => (list?.length ?? 0) > 0;

/** The endpoint a service with `spec` has, given the one it had (`current`, none for a new service). */
export function serviceEndpoint(
  spec: Readonly<ServiceSpec>,
  current: Readonly<Endpoint> | undefined,
): Endpoint {
  const allocated =
    some(spec.EndpointSpec?.Ports) ||
    some(spec.Networks) ||
    some(spec.TaskTemplate?.Networks) ||
    some(current?.Ports) ||
    some(current?.VirtualIPs);
  if (!allocated) return { Spec: {} };
  return { ...structuredClone(current), Spec: structuredClone(spec.EndpointSpec ?? {}) };
}
