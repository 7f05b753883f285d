// The task reaper (swarmkit taskreaper/task_reaper.go): deletes tasks that are no longer wanted,
// and trims each instance's history to the retention limit. Deleting a task is what makes the agent
// remove its container, so the limit also bounds the stopped containers left on nodes.

import { rank } from '../../api/taskstate.js';
import type { Cluster, Service, Task } from '../../api/types.js';
import { deleteTask, type OrchestratorAction } from './actions.js';
import { isolate, type ObjectFailure } from '../isolation.js';
import { groupByInstance } from './slots.js';
import { isJobMode, serviceModeKind } from './service-mode.js';
import type { Snapshot } from './snapshot.js';
import { hasStopped, isRunnable, neverAssigned } from './task-rules.js';
import { creationTime, statusTime } from './time.js';

/** `docker swarm init`'s default TaskHistoryRetentionLimit. */
export const DEFAULT_TASK_HISTORY_LIMIT = 5;

/**
 * Tasks kept per instance, the current one included. A restart policy with MaxAttempts overrides the
 * cluster setting (even downwards) with MaxAttempts+1, which keeps exactly the history the restart
 * supervisor counts. Negative = keep everything.
 */
export function taskHistoryLimit(cluster: Readonly<Cluster> | undefined, service: Readonly<Service>): number {
  const maxAttempts = service.Spec.TaskTemplate?.RestartPolicy?.MaxAttempts ?? 0;
  if (maxAttempts > 0) return maxAttempts + 1;
  return cluster?.Spec.Orchestration?.TaskHistoryRetentionLimit ?? DEFAULT_TASK_HISTORY_LIMIT;
}

/** Removed and stopped, or removed before it ever reached a node. */
const isRemovedForGood = (task: Readonly<Task>): boolean =>
  task.DesiredState === 'remove' && (rank(task.Status.State) >= rank('complete') || neverAssigned(task));

/** History that may go: it stopped, or it was shut down before it ever reached a node. */
const isDeletableHistory = (task: Readonly<Task>): boolean =>
  hasStopped(task) || (neverAssigned(task) && !isRunnable(task));

/**
 * The deletions due for the given services. With a `failures` list, the work for each service is isolated:
 * one that throws is reported there and the others are reaped regardless.
 */
export function reapTasks(
  snapshot: Snapshot,
  serviceIds: Iterable<string>,
  failures?: ObjectFailure[],
): OrchestratorAction[] {
  const actions: OrchestratorAction[] = [];
  for (const serviceId of serviceIds) {
    const version = snapshot.service(serviceId)?.Version.Index ?? 0;
    actions.push(
      ...isolate({ kind: 'service', id: serviceId, version }, failures, () =>
        reapService(snapshot, serviceId),
      ),
    );
  }
  return actions;
}

function reapService(snapshot: Snapshot, serviceId: string): OrchestratorAction[] {
  const actions: OrchestratorAction[] = [];
  const tasks = snapshot.tasksOfService(serviceId);
  const service = snapshot.service(serviceId);
  const remaining: Readonly<Task>[] = [];
  for (const task of tasks) {
    if (isRemovedForGood(task) || (!service && task.Status.State === 'orphaned'))
      actions.push(deleteTask(task));
    else remaining.push(task);
  }
  if (!service) return actions;
  const mode = serviceModeKind(service);
  // Jobs keep their history; only their removed iterations go (above).
  if (isJobMode(mode)) return actions;
  const limit = taskHistoryLimit(snapshot.cluster(), service);
  if (limit < 0) return actions;
  for (const instance of groupByInstance(remaining, mode).values()) {
    actions.push(...trimHistory(instance, limit));
  }
  return actions;
}

function trimHistory(instance: readonly Readonly<Task>[], limit: number): OrchestratorAction[] {
  let excess = instance.length - limit;
  if (excess <= 0) return [];
  const actions: OrchestratorAction[] = [];
  const oldestFirst = [...instance].sort((a, b) => statusTime(a) - statusTime(b));
  // When no task of the slot may run any more, the newest one still holds the slot: a stopped task that
  // must not be restarted (restart condition `none`…) occupies it. Deleting it with a limit of 0 would
  // make the slot look empty and the orchestrator start the task again, forever.
  const occupant = instance.some(isRunnable)
    ? undefined
    : [...instance].sort((a, b) => creationTime(b) - creationTime(a) || statusTime(b) - statusTime(a))[0];
  for (const task of oldestFirst) {
    if (excess === 0) break;
    if (task === occupant || !isDeletableHistory(task)) continue;
    actions.push(deleteTask(task));
    excess--;
  }
  return actions;
}
