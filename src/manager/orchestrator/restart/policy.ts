// The restart policy: whether a stopped task gets a replacement (swarmkit
// restart.Supervisor.ShouldRestart) and how long the replacement waits.
//
// swarmkit keeps restart history in memory and rebuilds it from the store on leader change. shoal always
// derives it from the store, which is the same rebuild done every time: the instance's tasks of the
// failed task's SpecVersion, oldest first; every one after the first is one restart. The task reaper keeps
// MaxAttempts+1 tasks per slot when MaxAttempts is set, so that history is never trimmed away.

import type { Task } from '../../../api/types.js';
import { isJobMode, type ServiceModeKind } from '../service-mode.js';
import { creationTime, nanosToMillis, statusTime } from '../time.js';

/** swarmkit's default restart delay, also used when a policy is given without one. */
export const DEFAULT_RESTART_DELAY_MS = 5_000;

export const restartDelayMs = (task: Readonly<Task>): number => {
  const delay = task.Spec.RestartPolicy?.Delay;
  return delay === undefined ? DEFAULT_RESTART_DELAY_MS : nanosToMillis(delay);
};

/**
 * Whether `task`, which stopped or lost its node, should get a replacement. `instanceTasks` are all tasks
 * of the same instance (service + slot, or service + node for global modes), `task` included. The task's
 * own spec carries the policy, as in swarmkit.
 */
export function shouldRestart(
  task: Readonly<Task>,
  mode: ServiceModeKind,
  instanceTasks: readonly Readonly<Task>[],
): boolean {
  const policy = task.Spec.RestartPolicy;
  const condition = policy?.Condition ?? 'any';
  if (condition === 'none') return false;
  // ON_FAILURE leaves a task that exited 0 alone; jobs treat ANY the same way (a finished job task is done).
  if ((condition === 'on-failure' || isJobMode(mode)) && task.Status.State === 'complete') return false;
  const maxAttempts = policy?.MaxAttempts ?? 0;
  if (maxAttempts <= 0) return true;
  return restartsCounted(task, instanceTasks) < maxAttempts;
}

/**
 * Restarts that count against MaxAttempts. A new SpecVersion starts a fresh history (a service update
 * forgives past failures). With a Window, only restarts created in (T − Window, T) count, T being when
 * the failed task's status was written.
 */
export function restartsCounted(task: Readonly<Task>, instanceTasks: readonly Readonly<Task>[]): number {
  const sameSpec = instanceTasks
    .filter((t) => t.SpecVersion?.Index === task.SpecVersion?.Index)
    .sort((a, b) => creationTime(a) - creationTime(b));
  const restarts = sameSpec.slice(1);
  const windowNanos = task.Spec.RestartPolicy?.Window ?? 0;
  if (windowNanos <= 0) return restarts.length;
  const failedAt = statusTime(task);
  const windowStart = failedAt - nanosToMillis(windowNanos);
  return restarts.filter((t) => creationTime(t) > windowStart && creationTime(t) < failedAt).length;
}
