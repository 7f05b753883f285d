// Which tasks the scheduler looks at, and how:
// - observed PENDING without a node: to be placed;
// - observed PENDING with a node (global services pick the node themselves): to be confirmed there;
// - observed ASSIGNED..RUNNING on a node: they hold that node's resources and host ports, and count
//   towards its task totals while their desired state is at most COMPLETE;
// - everything else (NEW, terminal) is invisible to the scheduler.

import { atMost, rank } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';

export type TaskRole =
  | { readonly kind: 'unassigned' }
  | { readonly kind: 'preassigned'; readonly nodeId: string }
  /** Pending and unwanted (desired ≥ SHUTDOWN): it will never run, so the scheduler retires it. */
  | { readonly kind: 'outdated' }
  | { readonly kind: 'on-node'; readonly nodeId: string }
  | { readonly kind: 'ignored' };

export function taskRole(task: Task): TaskRole {
  const state = task.Status.State;
  if (state === 'pending') {
    // A pending task that is no longer wanted is retired at once. swarmkit only retires those of an
    // older service revision, which misses the tasks an automatic rollback leaves behind (their
    // revision is *newer* than the rolled-back spec's) and keeps the rollback waiting for them.
    if (!isWanted(task)) return { kind: 'outdated' };
    return task.NodeID ? { kind: 'preassigned', nodeId: task.NodeID } : { kind: 'unassigned' };
  }
  if (task.NodeID && rank(state) > rank('pending') && atMost(state, 'running')) {
    return { kind: 'on-node', nodeId: task.NodeID };
  }
  return { kind: 'ignored' };
}

/** Whether a task on a node counts as one of its tasks (for spreading and max replicas). */
export const isActive = (task: Task): boolean => atMost(task.DesiredState, 'complete');

/** Jobs are desired COMPLETE, services RUNNING or READY; SHUTDOWN and above mean "stop". */
const isWanted = isActive;

/**
 * Tasks of one service revision are placed together, so that a batch spreads evenly. Tasks without a
 * SpecVersion cannot be proven identical and are placed one by one.
 */
export function groupKey(task: Task): string {
  const version = task.SpecVersion?.Index;
  return version === undefined ? `task:${task.ID}` : `service:${task.ServiceID}@${version}`;
}

/** Oldest first, so that a long-waiting task is not starved by newer ones when resources are short. */
export function byAge(a: Task, b: Task): number {
  return (
    // Parsed, not compared as text: RFC 3339 with trimmed fractions (`.64Z`, `.645Z`) does not sort.
    (Date.parse(a.CreatedAt) || 0) - (Date.parse(b.CreatedAt) || 0) ||
    (a.Slot ?? 0) - (b.Slot ?? 0) ||
    compareStrings(a.ID, b.ID)
  );
}

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
