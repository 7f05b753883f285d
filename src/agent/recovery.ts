// After a daemon restart: what the agent remembered about a task, reconciled with what the executor
// found still running or exited. A task whose process survived is re-adopted as RUNNING (its
// controller re-attaches and waits for it — no restart); one that exited while the daemon was down
// is reported with its real end.

import { isAfter, isBefore, isTerminal } from '../api/taskstate.js';
import type { TaskStatus } from '../api/types.js';
import type { RecoveredTask } from './executor/executor.js';

export const MESSAGE_PROCESS_LOST = 'task: process lost while the node agent was down';

/**
 * The status to resume the task from. `known` is the agent's last status (or the manager's, for a
 * task the agent has no record of); `found` is what the executor recovered, if anything.
 */
export function resumeStatus(
  known: TaskStatus,
  found: RecoveredTask | undefined,
  timestamp: string,
): TaskStatus {
  if (isTerminal(known.State)) return known;

  if (found?.running) {
    if (!isBefore(known.State, 'running')) return known;
    // Started just before the crash, with RUNNING not yet recorded.
    return { ...known, State: 'running', Message: 'started', Timestamp: timestamp };
  }

  const ended = found?.status;
  if (ended && isAfter(ended.State, known.State)) {
    return {
      ...known,
      State: ended.State,
      Message: ended.State === 'complete' ? 'finished' : known.Message,
      ...(ended.Err !== undefined ? { Err: ended.Err } : {}),
      ...(ended.ContainerStatus !== undefined ? { ContainerStatus: ended.ContainerStatus } : {}),
      Timestamp: timestamp,
    };
  }

  // RUNNING with no trace of the process: it cannot be waited for, and starting it again would run
  // the task twice if it is in fact alive somewhere. Earlier states simply resume (prepare and start
  // had not finished, so redoing them is right).
  if (known.State === 'running') {
    return { ...known, State: 'failed', Err: MESSAGE_PROCESS_LOST, Timestamp: timestamp };
  }
  return known;
}
