// A service's `Endpoint`: what the allocator made of its EndpointSpec. swarmkit's allocator sets it only for
// a service it has something to allocate for — published ports, or networks to give virtual IPs on — and
// then copies the spec into it; a service with neither keeps no endpoint, which the Engine API shows as
// `"Endpoint": {"Spec": {}}` even when the spec says `{"Mode": "vip"}` (what the docker CLI always sends;
// test/e2e/reference/docker-20.10/services.json). shoal writes the endpoint together with the spec (the
// control API on create and update, the orchestrator on rollback), by this one rule.
//
// `Endpoint.Ports` are the spec's ports as allocated (swarmkit's port allocator): host-mode ports as given,
// ingress-mode ports with a published port as given, and an ingress-mode port without one gets a port of
// Docker's dynamic range (30000–32767) that no other service publishes — the one it had already when the
// same target and protocol stay published, else the lowest free (swarmkit hands them out in turn; the
// lowest free is what a fresh swarm gives too). Writing the ports with the spec, in the same transaction,
// makes `service create` return with its ports decided and two services never get the same one.

import { invalidArgument } from '../api/errors.js';
import type { Endpoint, EndpointPortConfig, Service, ServiceSpec } from '../api/types.js';

/** Docker's dynamic range for ingress ports the user did not choose. */
export const DYNAMIC_PORT_START = 30000;
export const DYNAMIC_PORT_END = 32767;

const some = (list: readonly unknown[] | undefined): boolean => (list?.length ?? 0) > 0;
const isIngress = (port: EndpointPortConfig): boolean => (port.PublishMode ?? 'ingress') === 'ingress';
const portKey = (protocol: string | undefined, port: number): string => `${protocol ?? 'tcp'}/${port}`;

/**
 * The ports (`tcp/8080`) the services other than `exceptId` publish, in either mode, as allocated or asked
 * for: a dynamic port is none of them.
 */
export function publishedPortsInUse(services: Iterable<Readonly<Service>>, exceptId?: string): Set<string> {
  const taken = new Set<string>();
  for (const service of services) {
    if (service.ID === exceptId) continue;
    for (const port of [...(service.Spec.EndpointSpec?.Ports ?? []), ...(service.Endpoint?.Ports ?? [])]) {
      if (port.PublishedPort) taken.add(portKey(port.Protocol, port.PublishedPort));
    }
  }
  return taken;
}

/**
 * The spec's ports as allocated. `current`: the ports the service had (a dynamic port is kept for the same
 * target and protocol); `taken`: the ports other services publish.
 */
export function allocatePorts(
  ports: readonly EndpointPortConfig[],
  current: readonly EndpointPortConfig[],
  taken: ReadonlySet<string>,
): EndpointPortConfig[] {
  // Every port the spec itself publishes, in either mode: a dynamic one is none of them.
  const explicit = new Set(
    ports.filter((p) => p.PublishedPort).map((p) => portKey(p.Protocol, p.PublishedPort!)),
  );
  const used = new Set([...taken, ...explicit]);
  const reusable = current.filter(
    (p) =>
      isIngress(p) &&
      p.PublishedPort !== undefined &&
      p.PublishedPort >= DYNAMIC_PORT_START &&
      p.PublishedPort <= DYNAMIC_PORT_END,
  );
  return ports.map((port) => {
    const out: EndpointPortConfig = { ...port };
    if (!isIngress(port) || port.PublishedPort) return out;
    const protocol = port.Protocol ?? 'tcp';
    const kept = reusable.find(
      (p) =>
        (p.Protocol ?? 'tcp') === protocol &&
        p.TargetPort === port.TargetPort &&
        !used.has(portKey(protocol, p.PublishedPort!)),
    );
    let published = kept?.PublishedPort;
    for (let p = DYNAMIC_PORT_START; published === undefined && p <= DYNAMIC_PORT_END; p++) {
      if (!used.has(portKey(protocol, p))) published = p;
    }
    if (published === undefined) {
      throw invalidArgument(
        `no ${protocol} port is left in the dynamic range ${DYNAMIC_PORT_START}-${DYNAMIC_PORT_END} to publish target port ${port.TargetPort}; give a published port`,
      );
    }
    used.add(portKey(protocol, published));
    out.PublishedPort = published;
    return out;
  });
}

/**
 * The endpoint a service with `spec` has, given the one it had (`current`, none for a new service) and the
 * ports other services publish (`taken`).
 */
export function serviceEndpoint(
  spec: Readonly<ServiceSpec>,
  current: Readonly<Endpoint> | undefined,
  taken: ReadonlySet<string> = new Set(),
): Endpoint {
  const allocated =
    some(spec.EndpointSpec?.Ports) ||
    some(spec.Networks) ||
    some(spec.TaskTemplate?.Networks) ||
    some(current?.Ports) ||
    some(current?.VirtualIPs);
  if (!allocated) return { Spec: {} };
  const endpoint: Endpoint = { ...structuredClone(current), Spec: structuredClone(spec.EndpointSpec ?? {}) };
  const ports = spec.EndpointSpec?.Ports ?? [];
  if (ports.length > 0) endpoint.Ports = allocatePorts(ports, current?.Ports ?? [], taken);
  else delete endpoint.Ports;
  return endpoint;
}
