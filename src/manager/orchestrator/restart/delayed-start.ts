// Delayed starts (swarmkit restart.Supervisor.DelayStart): a replacement is created with
// desired READY — so it is scheduled, and its image pulled, while it waits — and raised to RUNNING
// (COMPLETE for jobs) once the restart delay has passed and the task it replaces has stopped, or that
// task's node is down or gone, or one minute has passed since the restart.

import type { Task } from '../../../api/types.js';
import { setDesiredState, type OrchestratorAction, type PendingStart } from '../actions.js';
import { isolate, type ObjectFailure } from '../../isolation.js';
import { runTarget, serviceModeKind } from '../service-mode.js';
import type { ReconcileContext, Snapshot } from '../snapshot.js';
import { hasStopped, isLostNode, isRunnable } from '../task-rules.js';
import { creationTime } from '../time.js';
import { restartDelayMs } from './policy.js';

/** How long a replacement waits for the task it replaces to stop (swarmkit defaultOldTaskTimeout). */
export const WAIT_FOR_STOP_MS = 60_000;

export interface StartEvaluation {
  /** Raise these tasks now. */
  readonly actions: readonly OrchestratorAction[];
  /** When to look again (ms since the epoch): the earliest delay or stop deadline still ahead. */
  readonly wakeAt: number | undefined;
  /** Services whose start could not be evaluated (it threw); their starts are left for now. */
  readonly failures: readonly ObjectFailure[];
}

/** Which pending starts are due, and when the next one may be. */
export function evaluatePendingStarts(ctx: ReconcileContext): StartEvaluation {
  const actions: OrchestratorAction[] = [];
  let wakeAt: number | undefined;
  const wakeNoLaterThan = (at: number): void => {
    wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at);
  };
  const failures: ObjectFailure[] = [];
  for (const start of ctx.pendingStarts.values()) {
    const task = ctx.snapshot.task(start.taskId);
    const service = ctx.snapshot.service(start.serviceId);
    if (!task || !service || task.DesiredState !== 'ready') continue;
    const object = { kind: 'service', id: service.ID, version: service.Version.Index } as const;
    const evaluated = isolate(object, failures, () => {
      if (ctx.now < start.notBefore) {
        wakeNoLaterThan(start.notBefore);
        return [];
      }
      // A replacement that failed while waiting is not raised: once its delay is over, the service's
      // reconcile restarts it (swarmkit: a restart waits for the pending delayed start, then retries).
      if (hasStopped(task)) return [];
      if (ctx.now < start.stopDeadline && !predecessorsStopped(ctx.snapshot, start)) {
        wakeNoLaterThan(start.stopDeadline);
        return [];
      }
      return [setDesiredState(task.ID, runTarget(serviceModeKind(service)))];
    });
    actions.push(...evaluated);
  }
  return { actions, wakeAt, failures };
}

/** The replacement may start once the tasks it replaces have stopped or their node is down or gone. */
function predecessorsStopped(snapshot: Snapshot, start: PendingStart): boolean {
  return start.waitForStopOf.every((id) => {
    const old = snapshot.task(id);
    return !old || hasStopped(old) || (old.NodeID !== undefined && isLostNode(snapshot.node(old.NodeID)));
  });
}

/** Pending starts whose task is gone or no longer waiting; the loop forgets them. */
export function settledStarts(
  snapshot: Snapshot,
  pendingStarts: ReadonlyMap<string, PendingStart>,
): string[] {
  return [...pendingStarts.keys()].filter((id) => snapshot.task(id)?.DesiredState !== 'ready');
}

/**
 * A start for a task found waiting (desired READY) without one — after a leader change or daemon restart
 * (swarmkit taskinit.CheckTasks). The delay counts from the task's creation, so only what remains of it
 * is waited; the wait for the old tasks of the instance to stop is kept, bounded by a minute from
 * creation. (swarmkit restarts the delay from the task's last status and does not wait for old tasks.)
 */
export function resumedStart(task: Readonly<Task>, instanceTasks: readonly Readonly<Task>[]): PendingStart {
  const createdAt = creationTime(task);
  return {
    taskId: task.ID,
    serviceId: task.ServiceID,
    notBefore: createdAt + restartDelayMs(task),
    waitForStopOf: instanceTasks
      .filter((t) => t.ID !== task.ID && !isRunnable(t) && !hasStopped(t))
      .map((t) => t.ID),
    stopDeadline: createdAt + WAIT_FOR_STOP_MS,
  };
}
