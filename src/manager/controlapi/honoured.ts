// The control API's half of "nothing accepted and then ignored" (src/api/executor-features.ts): a service
// spec — or a swarm's default log driver — that no node of the swarm can honour is refused when it is
// written, naming the field, instead of being stored and then quietly not done. Networks and published
// ports are not built yet, so they are refused whatever the nodes.

import { invalidArgument, notFound } from '../../api/errors.js';
import {
  describeNeed,
  EXECUTOR_NATURE,
  executorOf,
  specNeeds,
  unhonoured,
  type ExecutorKind,
  type SpecNeed,
} from '../../api/executor-features.js';
import type { Cluster, Driver, Node, ServiceSpec } from '../../api/types.js';

/** The executors the swarm's nodes run. */
export function swarmExecutors(nodes: readonly Node[]): Set<ExecutorKind> {
  return new Set(nodes.map((node) => executorOf(node.Description?.Engine?.Labels)));
}

function refuse(need: SpecNeed, executors: ReadonlySet<ExecutorKind>): never {
  const natures = [...executors].map((kind) => EXECUTOR_NATURE[kind]).join('; ');
  throw invalidArgument(`${describeNeed(need)} cannot be honoured by any node of this swarm: ${natures}`);
}

/**
 * Docker's daemon resolves a spec's networks before anything else; the docker CLI even looks them up first
 * (`GET /networks/{name}`). No network exists in shoal yet, so every one is unknown.
 */
export function checkNetworks(spec: ServiceSpec): void {
  const networks = [...(spec.TaskTemplate?.Networks ?? []), ...(spec.Networks ?? [])];
  if (networks.length > 0) throw notFound(`network ${networks[0]!.Target} not found`);
}

/** Refuses a service spec that asks for what no node can do, or for what shoal does not do yet. */
export function checkHonoured(spec: ServiceSpec, nodes: readonly Node[], cluster: Cluster | undefined): void {
  if ((spec.EndpointSpec?.Ports ?? []).length > 0) {
    throw invalidArgument(
      'EndpointSpec.Ports: shoal cannot publish ports yet (neither the routing mesh nor host-mode ports are built); remove the published ports',
    );
  }
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
