// The rules for task statuses reported by nodes (swarmkit's UpdateTaskStatus / processUpdates).
// A node may only report its own tasks; the observed state is a clock that never runs backwards; a
// report identical to what is stored writes nothing (agents re-report everything on reconnect).

import type { TaskStatusUpdate } from '../../api/dispatcher.js';
import { jsonEqual } from '../../api/json-equal.js';
import { permissionDenied } from '../../api/errors.js';
import { isBefore } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';
import type { ReadTx } from '../../store/objects.js';

/**
 * The updates worth queueing: unknown tasks are skipped (deleted meanwhile), and one task of another
 * node refuses the whole batch, as in swarmkit.
 */
export function acceptStatusUpdates(
  tx: ReadTx,
  nodeId: string,
  updates: TaskStatusUpdate[],
): TaskStatusUpdate[] {
  const accepted: TaskStatusUpdate[] = [];
  for (const update of updates) {
    const task = tx.get('task', update.taskId);
    if (!task) continue;
    if (task.NodeID !== nodeId) throw permissionDenied('cannot update a task not assigned this node');
    accepted.push(update);
  }
  return accepted;
}

/** Whether `update` would change the task as stored. */
function changesTask(task: Task, update: TaskStatusUpdate): boolean {
  // "Time travel is not allowed": a late report must not undo a newer one.
  if (isBefore(update.status.State, task.Status.State)) return false;
  const healthChanged = update.health !== undefined && !jsonEqual(update.health, task.Health);
  return healthChanged || !jsonEqual(update.status, task.Status);
}

/**
 * What the accepted updates would add to the store, in bytes of JSON: the updates that change their
 * task. A re-report of what is stored costs nothing; a node rewriting its tasks' messages does.
 */
export function changedStatusBytes(tx: ReadTx, updates: readonly TaskStatusUpdate[]): number {
  let bytes = 0;
  for (const update of updates) {
    const task = tx.get('task', update.taskId);
    if (task && changesTask(task, update)) bytes += JSON.stringify(update).length;
  }
  return bytes;
}

/** The task to store after `update`, or undefined when nothing should be written. */
export function applyStatusUpdate(task: Task, update: TaskStatusUpdate, appliedAt: string): Task | undefined {
  if (!changesTask(task, update)) return undefined;
  const next = structuredClone(task);
  next.Status = structuredClone(update.status);
  if (update.health !== undefined) next.Health = structuredClone(update.health);
  next.AppliedAt = appliedAt;
  return next;
}
