// Task statuses on their way to the managers (swarmkit's agent reporter). Only the newest status of
// each task is kept — a task that went preparing → ready → starting while a call was in flight sends
// just `starting` — and they go out in calls of at most 1024. While there is no session they wait;
// on every new session the agent re-reports all its tasks anyway.
//
// What goes out stays within what managers accept (PEER_LIMITS: texts are cut to length, health logs
// to their last entries), and a manager that says the node is over its rate limit gets the same
// statuses again a moment later, on the same session.

import type { TaskStatusUpdate } from '../api/dispatcher.js';
import { isShoalError } from '../api/errors.js';
import { clampText, isMalformedRequest, isRateLimited, PEER_LIMITS } from '../api/peer-limits.js';
import { isAfter } from '../api/taskstate.js';
import type { AgentLog } from './log.js';

export const MAX_STATUS_BATCH = PEER_LIMITS.statusUpdatesPerCall;

/**
 * Encoded size of one call's updates: well below the 16 MiB a manager reads from a node, however large
 * the health logs of 1024 tasks are.
 */
export const MAX_STATUS_BATCH_BYTES = 4 * 2 ** 20;

/** How long to wait before sending again after a manager's rate limit refusal. */
export const RATE_LIMIT_RETRY_MS = 1_000;

/** Waits `ms` without keeping the process alive (a stopping agent does not wait for it). */
export const unrefDelay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms).unref());

/** The update cut to what a manager accepts: free texts to their length, the health log to its tail. */
export function withinPeerLimits(update: TaskStatusUpdate): TaskStatusUpdate {
  const { status, health } = update;
  const L = PEER_LIMITS;
  const fits =
    status.Message.length <= L.statusMessageChars &&
    (status.Err === undefined || status.Err.length <= L.statusErrChars) &&
    (health === undefined ||
      (health.Log.length <= L.healthLogEntries &&
        health.Log.every((entry) => entry.Output.length <= L.healthOutputChars)));
  if (fits) return update;
  return {
    ...update,
    status: {
      ...status,
      Message: clampText(status.Message, L.statusMessageChars),
      ...(status.Err !== undefined ? { Err: clampText(status.Err, L.statusErrChars) } : {}),
    },
    ...(health !== undefined
      ? {
          health: {
            ...health,
            Log: health.Log.slice(-L.healthLogEntries).map((entry) => ({
              ...entry,
              Output: clampText(entry.Output, L.healthOutputChars),
            })),
          },
        }
      : {}),
  };
}

export type SendStatuses = (updates: TaskStatusUpdate[]) => Promise<void>;

export class StatusReporter {
  private queue = new Map<string, TaskStatusUpdate>();
  private send: SendStatuses | undefined;
  private sending = false;

  constructor(
    private readonly log: AgentLog,
    private readonly delay: (ms: number) => Promise<void> = unrefDelay,
  ) {}

  report(update: TaskStatusUpdate): void {
    this.enqueue(withinPeerLimits(update));
    void this.pump();
  }

  /** Sends through `send` from now on (a session is up). */
  connect(send: SendStatuses): void {
    this.send = send;
    void this.pump();
  }

  disconnect(): void {
    this.send = undefined;
  }

  forget(taskId: string): void {
    this.queue.delete(taskId);
  }

  get pending(): number {
    return this.queue.size;
  }

  private enqueue(update: TaskStatusUpdate): void {
    const queued = this.queue.get(update.taskId);
    if (queued && isAfter(queued.status.State, update.status.State)) return;
    this.queue.set(update.taskId, update);
  }

  private async pump(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.send && this.queue.size > 0) {
        const send = this.send;
        const batch: TaskStatusUpdate[] = [];
        let bytes = 0;
        for (const [taskId, update] of this.queue) {
          bytes += JSON.stringify(update).length;
          if (batch.length > 0 && bytes > MAX_STATUS_BATCH_BYTES) break;
          batch.push(update);
          this.queue.delete(taskId);
          if (batch.length >= MAX_STATUS_BATCH) break;
        }
        try {
          await send(batch);
        } catch (err) {
          const rateLimited = isRateLimited(err);
          if (rateLimited) this.log.debug('agent: manager asks to slow down task statuses', { err });
          else this.log.warn('agent: reporting task statuses failed', { err, count: batch.length });
          // A batch the manager refuses (a task it says is not ours, a malformed status) would be
          // refused again; drop it. Anything else keeps the statuses (unless superseded): over the rate
          // limit they go again shortly on this session; otherwise the session is broken, and they wait
          // for the next one, which the session's own failure will bring.
          if (isShoalError(err) && err.code === 'PermissionDenied') continue;
          if (isMalformedRequest(err)) continue;
          for (const update of batch)
            if (!this.queue.has(update.taskId)) this.queue.set(update.taskId, update);
          if (rateLimited) await this.delay(RATE_LIMIT_RETRY_MS);
          else if (this.send === send) this.send = undefined;
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
