// The control API's half of "nothing accepted and then ignored" (src/api/executor-features.ts): a service
// spec — or a swarm's default log driver — that no node of the swarm can honour is refused when it is
// written, naming the field, instead of being stored and then quietly not done. Published ports are not
// built yet, so they are refused whatever the nodes; networks are resolved (names and ID prefixes become
// IDs, as Docker's daemon stores them) and then refused like any other need until an executor can attach
// a task to them.

import { invalidArgument, ShoalError } from '../../api/errors.js';
import { jsonEqual } from '../../api/json-equal.js';
import { isIngressNetwork } from '../../api/networks.js';
import {
  describeNeed,
  EXECUTOR_NATURE,
  executorOf,
  specNeeds,
  unhonoured,
  type ExecutorKind,
  type SpecNeed,
} from '../../api/executor-features.js';
import type { Cluster, Driver, Node, Service, ServiceSpec } from '../../api/types.js';
import type { ReadTx } from '../../store/objects.js';
import { resolveNetwork } from './networks.js';

/** The executors the swarm's nodes run. */
export function swarmExecutors(nodes: readonly Node[]): Set<ExecutorKind> {
  return new Set(nodes.map((node) => executorOf(node.Description?.Engine?.Labels)));
}

function refuse(need: SpecNeed, executors: ReadonlySet<ExecutorKind>): never {
  const natures = [...executors].map((kind) => EXECUTOR_NATURE[kind]).join('; ');
  throw invalidArgument(`${describeNeed(need)} cannot be honoured by any node of this swarm: ${natures}`);
}

/**
 * The spec's networks, resolved as Docker's daemon resolves them before anything else (populateNetworkID:
 * full ID, exact name, unique ID prefix; `network x not found` otherwise) and stored as IDs; then swarmkit's
 * checks: no service attaches to the ingress network explicitly, and the deprecated service-level
 * `Networks` may not change on its own. shoal keeps the networks in the task template only: networks given
 * in the deprecated field move there (every task and every check reads them from there).
 */
export function checkNetworks(tx: ReadTx, spec: ServiceSpec, current?: Service): void {
  const task = (spec.TaskTemplate ??= {});
  if (
    current &&
    ((spec.Networks?.length ?? 0) > 0 || (current.Spec.Networks?.length ?? 0) > 0) &&
    !jsonEqual(spec.Networks ?? [], current.Spec.Networks ?? []) &&
    jsonEqual(task.Networks ?? [], current.Spec.TaskTemplate?.Networks ?? [])
  ) {
    throw new ShoalError('Unimplemented', 'networks must be migrated to TaskSpec before being changed', {
      rpc: true,
    });
  }
  for (const configs of [task.Networks, spec.Networks]) {
    for (const config of configs ?? []) {
      const network = resolveNetwork(tx, config.Target);
      config.Target = network.ID;
      if (isIngressNetwork(network)) {
        throw invalidArgument(
          `Service cannot be explicitly attached to the ingress network "${network.Spec.Name}"`,
          { rpc: true },
        );
      }
    }
  }
  if ((spec.Networks?.length ?? 0) > 0) {
    if (!task.Networks?.length) task.Networks = spec.Networks;
    delete spec.Networks;
  }
}

/**
 * Published ports shoal does: ingress mode (the routing mesh; the control API picks a port of the dynamic
 * range when none is given) and host mode with a published port, TCP or UDP. A host-mode port the node would
 * pick, and SCTP, are refused, naming the port.
 */
function checkPublishedPorts(spec: ServiceSpec): void {
  (spec.EndpointSpec?.Ports ?? []).forEach((port, i) => {
    const field = `EndpointSpec.Ports[${i}]`;
    if (port.PublishMode === 'host' && !port.PublishedPort) {
      throw invalidArgument(
        `${field}: shoal cannot publish a host-mode port without a published port yet (the node choosing one is not built); give published=<port>`,
      );
    }
    if ((port.Protocol ?? 'tcp') === 'sctp') {
      throw invalidArgument(`${field}: shoal publishes TCP and UDP ports only, not SCTP`);
    }
  });
}

/** Refuses a service spec that asks for what no node can do, or for what shoal does not do yet. */
export function checkHonoured(spec: ServiceSpec, nodes: readonly Node[], cluster: Cluster | undefined): void {
  checkPublishedPorts(spec);
  const executors = swarmExecutors(nodes);
  const logDriver: Driver | undefined = spec.TaskTemplate?.LogDriver ?? cluster?.Spec.TaskDefaults?.LogDriver;
  for (const need of specNeeds(spec.TaskTemplate ?? {}, logDriver)) {
    if ([...executors].every((kind) => unhonoured(kind, [need]).length > 0)) refuse(need, executors);
  }
}

/** Refuses a swarm default log driver (and options) that no node's executor can honour. */
export function checkDefaultLogDriver(
  driver: Driver | undefined,
  executors: ReadonlySet<ExecutorKind>,
): void {
  for (const need of specNeeds({}, driver)) {
    const field = need.field.replace(/^LogDriver/, 'TaskDefaults.LogDriver');
    if ([...executors].every((kind) => unhonoured(kind, [need]).length > 0))
      refuse({ ...need, field }, executors);
  }
}
