// Which store changes can change a scheduling decision. The loop wakes only for these, so that the
// task status traffic of a busy cluster (accepted → preparing → running …) and the scheduler's own
// writes do not cause passes.

import type { Node, Task } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';
import { isActive, taskRole } from './candidates.js';
import type { TaskFailure } from './snapshot.js';

/**
 * The parts of a node the filters, the score and the preferences read. Two nodes with the same view
 * schedule alike; the write-back compares views to detect a node that changed under a pass.
 */
export function nodeSchedulingView(node: Node): string {
  return JSON.stringify([
    node.Status?.State,
    node.Status?.Addr,
    node.Spec.Availability,
    node.Spec.Labels,
    node.Spec.Role,
    node.Role,
    node.Description,
  ]);
}

/** A pending task the scheduler would consider, in the fields that decide how. */
const pendingView = (task: Task): string | undefined =>
  task.Status.State === 'pending'
    ? JSON.stringify([task.NodeID, task.DesiredState, task.SpecVersion?.Index, task.ServiceID])
    : undefined;

/** Holds resources, ports or a place in the counts of a node (ASSIGNED..RUNNING). */
const holdsNode = (task: Task): boolean => taskRole(task).kind === 'on-node';

export function wakesScheduler(event: ObjectEvent): boolean {
  switch (event.kind) {
    case 'node':
      return event.action !== 'update' || nodeSchedulingView(event.old) !== nodeSchedulingView(event.object);
    case 'task':
      if (event.action === 'create') return event.object.Status.State === 'pending';
      if (event.action === 'delete') return holdsNode(event.object);
      return taskUpdateMatters(event.old, event.object);
    default:
      // Services, networks, secrets, configs and the cluster object do not move tasks: a service update
      // reaches the scheduler as the task changes it causes.
      return false;
  }
}

function taskUpdateMatters(old: Task, task: Task): boolean {
  // Newly pending, or pending in a new way (pre-assigned elsewhere, desired state or revision changed).
  // An update that only rewrites Status.Err of a pending task, the scheduler's own write, does not count.
  const view = pendingView(task);
  if (view !== undefined && view !== pendingView(old)) return true;
  // Room freed on a node: the task stopped holding it, or stopped counting towards its totals.
  if (holdsNode(old) && (!holdsNode(task) || (isActive(old) && !isActive(task)))) return true;
  return false;
}

/**
 * A failure for the scoring rule, when the event is a task of a service that just ended FAILED or
 * REJECTED on a node. Failures of global tasks are recorded too: the rule only ranks nodes for tasks the
 * scheduler places, and those never belong to a global service.
 */
export function failureFrom(event: ObjectEvent, now: number): TaskFailure | undefined {
  if (event.kind !== 'task' || event.action !== 'update') return undefined;
  const { old, object: task } = event;
  const state = task.Status.State;
  if (state === old.Status.State || (state !== 'failed' && state !== 'rejected')) return undefined;
  if (!task.NodeID || !task.ServiceID) return undefined;
  return { nodeId: task.NodeID, serviceId: task.ServiceID, specVersion: task.SpecVersion?.Index, at: now };
}
