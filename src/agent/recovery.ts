// After a daemon restart: what the agent remembered about a task, reconciled with what the executor
// found still running or exited. A task whose process survived is re-adopted (its controller
// re-attaches and waits for it — no restart): as RUNNING, unless it has a healthcheck and was not yet
// known to be healthy, in which case it stays STARTING until the controller's start sees a verdict.
// One that exited while the daemon was down is reported with its real end.

import { isAfter, isBefore, isTerminal } from '../api/taskstate.js';
import type { Task, TaskStatus } from '../api/types.js';
import type { RecoveredTask } from './executor/executor.js';

export const MESSAGE_PROCESS_LOST = 'task: process lost while the node agent was down';

export interface ResumeOptions {
  /** The task has a healthcheck (see hasHealthcheck): it is RUNNING only once found healthy. */
  healthchecked?: boolean;
  /**
   * The executor could not say what became of its tasks (its container engine is down): a task known as
   * RUNNING fails with this error instead of MESSAGE_PROCESS_LOST.
   */
  executorUnavailable?: string;
}

/**
 * The status to resume the task from. `known` is the agent's last status (or the manager's, for a
 * task the agent has no record of); `found` is what the executor recovered, if anything.
 */
export function resumeStatus(
  known: TaskStatus,
  found: RecoveredTask | undefined,
  timestamp: string,
  options: ResumeOptions = {},
): TaskStatus {
  if (isTerminal(known.State)) return known;

  if (found?.running) {
    if (!isBefore(known.State, 'running')) return known;
    // Started just before the crash, with RUNNING not yet recorded. With a healthcheck that may be
    // because it never became healthy: it stays STARTING, and the controller's start re-adopts the
    // process and resolves only on a healthy verdict (rolling updates wait for that).
    if (options.healthchecked) {
      if (!isBefore(known.State, 'starting')) return known;
      return { ...known, State: 'starting', Message: 'starting', Timestamp: timestamp };
    }
    return { ...known, State: 'running', Message: 'started', Timestamp: timestamp };
  }

  const ended = found?.status;
  if (ended && isAfter(ended.State, known.State)) {
    return {
      ...known,
      State: ended.State,
      Message: ended.State === 'complete' ? 'finished' : known.Message,
      ...(ended.Err !== undefined ? { Err: ended.Err } : {}),
      // The process is gone: PID 0, as Docker reports a stopped container.
      ...(ended.ContainerStatus !== undefined
        ? { ContainerStatus: { ...ended.ContainerStatus, PID: 0 } }
        : {}),
      Timestamp: timestamp,
    };
  }

  // RUNNING with no trace of the process: it cannot be waited for, and starting it again would run
  // the task twice if it is in fact alive somewhere. Earlier states simply resume (prepare and start
  // had not finished, so redoing them is right).
  if (known.State === 'running') {
    return {
      ...known,
      State: 'failed',
      Err: options.executorUnavailable ?? MESSAGE_PROCESS_LOST,
      ...(known.ContainerStatus !== undefined
        ? { ContainerStatus: { ...known.ContainerStatus, PID: 0 } }
        : {}),
      Timestamp: timestamp,
    };
  }
  return known;
}

/**
 * Whether the task's healthcheck is on: a test that is not `NONE`. (An empty test means "the image's",
 * and tasks get no healthcheck from an image here.)
 */
export function hasHealthcheck(task: Pick<Task, 'Spec'>): boolean {
  const test = task.Spec.ContainerSpec?.Healthcheck?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}
