// One task on the node (swarmkit's agent/task.go): drives its controller one step at a time and
// reports every status it reaches. The agent's status is the truth about the task; updates from the
// manager change everything else (desired state above all) but never the status.

import { sameTaskForAgent } from '../api/dispatcher.js';
import { jsonEqual } from '../api/json-equal.js';
import { clockTimestamp, type Clock, type Timer } from '../api/clock.js';
import { atLeast, isBefore } from '../api/taskstate.js';
import type { Task, TaskStatus } from '../api/types.js';
import type { Controller } from './executor/executor.js';
import type { AgentLog } from './log.js';
import { advanceTask } from './task-step.js';

/** swarmkit retries temporary controller errors after a second. */
export const TEMPORARY_ERROR_RETRY_MS = 1_000;

export interface TaskManagerOptions {
  controller: Controller;
  clock: Clock;
  log: AgentLog;
  /** Called with the task (carrying its new status) after every status change. */
  onStatus: (task: Task) => void;
}

export class TaskManager {
  readonly controller: Controller;
  private task: Task;
  private readonly clock: Clock;
  private readonly log: AgentLog;
  private readonly onStatus: (task: Task) => void;
  private closed = false;
  /** Aborts the operation in flight when the task changes in a way that makes it moot. */
  private inFlight: AbortController | undefined;
  private wake: (() => void) | undefined;
  /** The task changed while a step was running: the next sleep must not wait. */
  private changedDuringStep = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(task: Task, options: TaskManagerOptions) {
    this.task = structuredClone(task);
    this.controller = options.controller;
    this.clock = options.clock;
    this.log = options.log;
    this.onStatus = options.onStatus;
  }

  get id(): string {
    return this.task.ID;
  }

  /** The task as the agent sees it: the manager's latest version with the agent's own status. */
  get current(): Task {
    return this.task;
  }

  start(): void {
    this.loop = this.run();
  }

  /** Takes in the manager's new version of the task. */
  update(task: Task): void {
    if (this.closed || task.ID !== this.task.ID) return;
    // Desired state only rises; a lower one is a stale message.
    if (isBefore(task.DesiredState, this.task.DesiredState)) {
      this.log.warn('agent: ignoring task update with a lower desired state', {
        taskId: task.ID,
        desired: task.DesiredState,
      });
      return;
    }
    if (sameTaskForAgent(task, this.task)) return;
    this.task = { ...structuredClone(task), Status: this.task.Status };
    // An operation in flight (a start waiting for health, a wait for exit) must not hold up a stop.
    if (atLeast(task.DesiredState, 'shutdown')) this.inFlight?.abort();
    this.wakeUp();
  }

  /** Stops driving the task — the process is left as it is — and resolves when the loop has ended. */
  async close(): Promise<void> {
    this.closed = true;
    this.inFlight?.abort();
    this.wakeUp();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const abort = new AbortController();
      this.inFlight = abort;
      this.changedDuringStep = false;
      let result;
      try {
        result = await advanceTask(this.task, this.controller, abort.signal);
      } catch (err) {
        // advanceTask turns controller errors into statuses; anything else is a bug worth a log line.
        this.log.error('agent: task step failed', { taskId: this.task.ID, err });
        result = { kind: 'noop' as const };
      } finally {
        this.inFlight = undefined;
      }
      if (this.closed) return;
      switch (result.kind) {
        case 'transition':
          this.setStatus(result.status);
          break;
        case 'interrupted':
          if (result.status) this.setStatus(result.status);
          break;
        case 'retry':
          this.setStatus(result.status);
          await this.sleep(TEMPORARY_ERROR_RETRY_MS);
          break;
        case 'noop':
          await this.sleep();
          break;
        default: {
          const never: never = result;
          throw new Error(`unexpected step ${String(never)}`);
        }
      }
    }
  }

  private setStatus(status: TaskStatus): void {
    // The timestamp says when the status last changed, so it changes only with the rest.
    const { Timestamp: _a, ...before } = this.task.Status;
    const { Timestamp: _b, ...after } = status;
    if (jsonEqual(before, after)) return;
    this.task = { ...this.task, Status: { ...status, Timestamp: clockTimestamp(this.clock) } };
    this.onStatus(this.task);
  }

  /** Waits for a task update (or close), or at most `ms`. */
  private sleep(ms?: number): Promise<void> {
    if (this.changedDuringStep) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: Timer | undefined;
      this.wake = () => {
        timer?.cancel();
        this.wake = undefined;
        resolve();
      };
      if (ms !== undefined) timer = this.clock.setTimer(ms, () => this.wakeUp());
    });
  }

  private wakeUp(): void {
    if (this.wake) this.wake();
    else this.changedDuringStep = true;
  }
}
