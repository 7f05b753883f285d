// The constraint enforcer (swarmkit constraintenforcer/constraint_enforcer.go): when a node
// changes (labels, role, resources…), reject the tasks on it that it no longer meets. It writes the
// observed state REJECTED rather than a desired state, so the orchestrators then treat the task like any
// other failure and restart it per its policy — elsewhere, for a replicated service.

import { atLeast, rank } from '../../api/taskstate.js';
import type { GenericResource, Node, ResourceObject, Task } from '../../api/types.js';
import type { OrchestratorAction } from './actions.js';
import type { Snapshot } from './snapshot.js';
import { nodeSatisfies, placementConstraints } from './task-rules.js';
import { creationTime, toTimestamp } from './time.js';

export const REJECTED_MESSAGE = 'task rejected by constraint enforcer';
export const REJECTED_ERROR = 'assigned node no longer meets constraints';

export function enforceConstraints(
  snapshot: Snapshot,
  node: Readonly<Node>,
  now: number,
): OrchestratorAction[] {
  // DRAIN: the orchestrators shut everything down anyway. PAUSE: running tasks are left alone.
  if ((node.Spec.Availability ?? 'active') !== 'active') return [];
  const tasks = snapshot
    .tasksOnNode(node.ID)
    .filter(
      (task) =>
        rank(task.DesiredState) >= rank('assigned') &&
        rank(task.DesiredState) <= rank('complete') &&
        !atLeast(task.Status.State, 'complete'),
    )
    // Oldest first, so that when reservations no longer fit it is the newest tasks that go.
    .sort((a, b) => creationTime(a) - creationTime(b));

  const available = new Capacity(node.Description?.Resources);
  const actions: OrchestratorAction[] = [];
  for (const task of tasks) {
    if (meetsConstraints(snapshot, task, node) && available.take(task.Spec.Resources?.Reservations)) continue;
    actions.push({
      kind: 'setTaskState',
      taskId: task.ID,
      from: task.Status.State,
      state: 'rejected',
      message: REJECTED_MESSAGE,
      err: REJECTED_ERROR,
      timestamp: toTimestamp(now),
    });
  }
  return actions;
}

/**
 * The service's current constraints, not the task's: a constraint-only update that the node still met
 * did not replace the task (dirty.ts), so the task's copy may be out of date. A task whose service is
 * gone is checked against its own.
 */
function meetsConstraints(snapshot: Snapshot, task: Readonly<Task>, node: Readonly<Node>): boolean {
  const spec = snapshot.service(task.ServiceID)?.Spec.TaskTemplate ?? task.Spec;
  return nodeSatisfies(placementConstraints(spec), node);
}

/** What is left of a node's resources as tasks are charged to it. Unreported resources are not checked. */
class Capacity {
  private nanoCPUs: number | undefined;
  private memoryBytes: number | undefined;
  private readonly discrete = new Map<string, number>();
  private readonly named = new Map<string, number>();

  constructor(resources: ResourceObject | undefined) {
    this.nanoCPUs = resources?.NanoCPUs || undefined;
    this.memoryBytes = resources?.MemoryBytes || undefined;
    for (const generic of resources?.GenericResources ?? []) {
      if (generic.DiscreteResourceSpec) {
        const { Kind, Value } = generic.DiscreteResourceSpec;
        this.discrete.set(Kind, (this.discrete.get(Kind) ?? 0) + Value);
      }
      if (generic.NamedResourceSpec) {
        const { Kind } = generic.NamedResourceSpec;
        this.named.set(Kind, (this.named.get(Kind) ?? 0) + 1);
      }
    }
  }

  /** Charges the reservation if it fits; false (and nothing charged) if it does not. */
  take(reservation: ResourceObject | undefined): boolean {
    if (!reservation) return true;
    const cpus = reservation.NanoCPUs ?? 0;
    const memory = reservation.MemoryBytes ?? 0;
    if (this.nanoCPUs !== undefined && cpus > this.nanoCPUs) return false;
    if (this.memoryBytes !== undefined && memory > this.memoryBytes) return false;
    const wanted = genericDemand(reservation.GenericResources ?? []);
    for (const [kind, amount] of wanted.discrete) if (amount > (this.discrete.get(kind) ?? 0)) return false;
    for (const [kind, amount] of wanted.named) if (amount > (this.named.get(kind) ?? 0)) return false;
    if (this.nanoCPUs !== undefined) this.nanoCPUs -= cpus;
    if (this.memoryBytes !== undefined) this.memoryBytes -= memory;
    for (const [kind, amount] of wanted.discrete) this.discrete.set(kind, this.discrete.get(kind)! - amount);
    for (const [kind, amount] of wanted.named) this.named.set(kind, this.named.get(kind)! - amount);
    return true;
  }
}

function genericDemand(resources: readonly GenericResource[]): {
  discrete: Map<string, number>;
  named: Map<string, number>;
} {
  const discrete = new Map<string, number>();
  const named = new Map<string, number>();
  for (const generic of resources) {
    if (generic.DiscreteResourceSpec) {
      const { Kind, Value } = generic.DiscreteResourceSpec;
      discrete.set(Kind, (discrete.get(Kind) ?? 0) + Value);
    }
    if (generic.NamedResourceSpec) {
      const { Kind } = generic.NamedResourceSpec;
      named.set(Kind, (named.get(Kind) ?? 0) + 1);
    }
  }
  return { discrete, named };
}
