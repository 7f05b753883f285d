// Task statuses on their way to the managers (swarmkit's agent reporter). Only the newest status of
// each task is kept — a task that went preparing → ready → starting while a call was in flight sends
// just `starting` — and they go out in calls of at most 1024. While there is no session they wait;
// on every new session the agent re-reports all its tasks anyway.

import type { TaskStatusUpdate } from '../api/dispatcher.js';
import { isShoalError } from '../api/errors.js';
import { isAfter } from '../api/taskstate.js';
import type { AgentLog } from './log.js';

export const MAX_STATUS_BATCH = 1024;

export type SendStatuses = (updates: TaskStatusUpdate[]) => Promise<void>;

export class StatusReporter {
  private queue = new Map<string, TaskStatusUpdate>();
  private send: SendStatuses | undefined;
  private sending = false;

  constructor(private readonly log: AgentLog) {}

  report(update: TaskStatusUpdate): void {
    this.enqueue(update);
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
        for (const [taskId, update] of this.queue) {
          batch.push(update);
          this.queue.delete(taskId);
          if (batch.length >= MAX_STATUS_BATCH) break;
        }
        try {
          await send(batch);
        } catch (err) {
          this.log.warn('agent: reporting task statuses failed', { err, count: batch.length });
          // A batch the manager refuses (a task it says is not ours) would be refused again; drop it.
          // Anything else means the session is broken: keep the statuses (unless superseded) for the
          // next session, which the session's own failure will bring.
          if (isShoalError(err) && err.code === 'PermissionDenied') continue;
          for (const update of batch)
            if (!this.queue.has(update.taskId)) this.queue.set(update.taskId, update);
          if (this.send === send) this.send = undefined;
        }
      }
    } finally {
      this.sending = false;
    }
  }
}
