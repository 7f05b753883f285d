// Small facts about tasks and nodes shared by every orchestrator (swarmkit manager/orchestrator/task.go).

import { rank } from '../../api/taskstate.js';
import type { Node, Service, Task, TaskSpec, TaskState } from '../../api/types.js';
import { nodeMatchesAll, parseConstraints, type Constraint } from '../constraint.js';
import type { Snapshot } from './snapshot.js';

/** Missing, DOWN or DRAIN. UNKNOWN and DISCONNECTED nodes are not invalid, nor is PAUSE. */
export function isInvalidNode(node: Readonly<Node> | undefined): boolean {
  return node === undefined || node.Status.State === 'down' || node.Spec.Availability === 'drain';
}

/** The node is gone or down: its tasks are lost, not crashed (shoal replaces them at once). */
export function isLostNode(node: Readonly<Node> | undefined): boolean {
  return node === undefined || node.Status.State === 'down';
}

export const desiredAtMost = (task: Readonly<Task>, state: TaskState): boolean =>
  rank(task.DesiredState) <= rank(state);

export const observedAfter = (task: Readonly<Task>, state: TaskState): boolean =>
  rank(task.Status.State) > rank(state);

/** Still meant to run: the orchestrators own it (swarmkit's `DesiredState <= RUNNING`). */
export const isRunnable = (task: Readonly<Task>): boolean => desiredAtMost(task, 'running');

/** Observed past RUNNING: it stopped, one way or another. */
export const hasStopped = (task: Readonly<Task>): boolean => observedAfter(task, 'running');

/** Never reached a node: observed still before ASSIGNED. */
export const neverAssigned = (task: Readonly<Task>): boolean => rank(task.Status.State) < rank('assigned');

/** The node a task is bound to, if it has one and the node still exists. */
export function nodeOf(snapshot: Snapshot, task: Readonly<Task>): Readonly<Node> | undefined {
  return task.NodeID ? snapshot.node(task.NodeID) : undefined;
}

/** Placement constraints of a task spec; an unparsable list (the control API rejects those) matches nothing. */
export function placementConstraints(
  spec: Readonly<TaskSpec> | undefined,
): readonly Constraint[] | undefined {
  try {
    return parseConstraints(spec?.Placement?.Constraints);
  } catch {
    return undefined;
  }
}

export const serviceConstraints = (service: Readonly<Service>): readonly Constraint[] | undefined =>
  placementConstraints(service.Spec.TaskTemplate);

export function nodeSatisfies(constraints: readonly Constraint[] | undefined, node: Readonly<Node>): boolean {
  return constraints !== undefined && nodeMatchesAll(constraints, node);
}
