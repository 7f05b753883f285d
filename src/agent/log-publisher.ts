// The agent's side of `docker service logs` (swarmkit's agent log publishing): for each subscription
// the managers send, read the selected local tasks' output from their controllers and publish it back
// in batches. Without follow, the node says it is done once every task's output has been sent; with
// follow, it keeps going — and takes in matching tasks that start later — until the subscription is
// closed or the session ends.

import type { LogEntry, LogSubscriptionMessage, PublishLogsMessage } from '../api/dispatcher.js';
import { isRateLimited } from '../api/peer-limits.js';
import { atLeast } from '../api/taskstate.js';
import type { Task } from '../api/types.js';
import type { Controller, LogOptions } from './executor/executor.js';
import type { AgentLog } from './log.js';
import { RATE_LIMIT_RETRY_MS, unrefDelay } from './reporter.js';

/** Lines per publish call, and the most a publication buffers before it waits for the manager. */
export const MAX_LOG_BATCH = 1000;

/**
 * Line data (base64) per publish call: 1000 long lines would make a request larger than a manager
 * accepts from a node (16 MiB), so a batch of long lines is cut short.
 */
export const MAX_LOG_BATCH_BYTES = 4 * 2 ** 20;

/** Takes the next batch off the front of `buffer`: at most MAX_LOG_BATCH lines and MAX_LOG_BATCH_BYTES. */
export function takeLogBatch(buffer: LogEntry[]): LogEntry[] {
  let count = 0;
  let bytes = 0;
  while (count < buffer.length && count < MAX_LOG_BATCH) {
    bytes += buffer[count]!.data.length;
    if (count > 0 && bytes > MAX_LOG_BATCH_BYTES) break;
    count++;
  }
  return buffer.splice(0, count);
}

export interface LogSource {
  readonly current: Task;
  readonly controller: Controller;
}

export interface LogPublisherOptions {
  /** The tasks the node knows now. */
  tasks: () => Iterable<LogSource>;
  publish: (message: PublishLogsMessage) => Promise<void>;
  log: AgentLog;
}

/** A task has output worth reading once its process was at least being started. */
const hasOutput = (task: Task): boolean => atLeast(task.Status.State, 'starting');

export class LogPublisher {
  private readonly publications = new Map<string, Publication>();

  constructor(private readonly options: LogPublisherOptions) {}

  handle(message: LogSubscriptionMessage): void {
    const existing = this.publications.get(message.subscriptionId);
    if (message.close) {
      existing?.cancel();
      return;
    }
    // Managers resend active subscriptions when a node reconnects; one publication is enough.
    if (existing) return;
    const publication = new Publication(message, this.options);
    this.publications.set(message.subscriptionId, publication);
    void publication.done.then(() => this.publications.delete(message.subscriptionId));
    for (const source of this.options.tasks()) {
      if (publication.selects(source.current) && hasOutput(source.current)) publication.addTask(source);
    }
    publication.seal();
  }

  /** A task appeared or changed state: following subscriptions take it in once it has output. */
  taskChanged(source: LogSource): void {
    if (!hasOutput(source.current)) return;
    for (const publication of this.publications.values()) {
      if (publication.follow && publication.selects(source.current)) publication.addTask(source);
    }
  }

  /** The session ended: the managers will resend what they still want. */
  closeAll(): void {
    for (const publication of this.publications.values()) publication.cancel();
    this.publications.clear();
  }
}

class Publication {
  readonly follow: boolean;
  readonly done: Promise<void>;
  private readonly subscriptionId: string;
  private readonly logOptions: LogOptions;
  private readonly taskIds: Set<string>;
  private readonly serviceIds: Set<string>;
  private readonly abort = new AbortController();
  private readonly included = new Set<string>();
  private readonly publish: (message: PublishLogsMessage) => Promise<void>;
  private readonly log: AgentLog;
  private readingTasks = 0;
  private sealed = false;
  private finished = false;
  private buffer: LogEntry[] = [];
  private flushing: Promise<void> | undefined;
  private resolveDone!: () => void;

  constructor(message: LogSubscriptionMessage, options: LogPublisherOptions) {
    this.subscriptionId = message.subscriptionId;
    this.follow = message.options.follow;
    const { follow, tail, since, until, stdout, stderr } = message.options;
    this.logOptions = { follow, tail, since, until, stdout, stderr };
    this.taskIds = new Set(message.selector.taskIds ?? []);
    this.serviceIds = new Set(message.selector.serviceIds ?? []);
    this.publish = options.publish;
    this.log = options.log;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  selects(task: Task): boolean {
    return this.taskIds.has(task.ID) || this.serviceIds.has(task.ServiceID);
  }

  addTask(source: LogSource): void {
    if (this.finished || this.included.has(source.current.ID)) return;
    this.included.add(source.current.ID);
    this.readingTasks++;
    void this.read(source);
  }

  /** No task will be added any more, unless following. */
  seal(): void {
    this.sealed = true;
    this.finishIfDone();
  }

  cancel(): void {
    if (this.finished) return;
    this.finished = true;
    this.abort.abort();
    this.buffer = [];
    this.resolveDone();
  }

  private async read(source: LogSource): Promise<void> {
    const task = source.current;
    try {
      for await (const line of source.controller.logs(this.logOptions, this.abort.signal)) {
        if (this.finished) break;
        this.buffer.push({
          taskId: task.ID,
          serviceId: task.ServiceID,
          stream: line.stream,
          timestamp: line.timestamp,
          data: line.data.toString('base64'),
        });
        this.startFlush();
        if (this.buffer.length >= MAX_LOG_BATCH) await this.flushing;
      }
    } catch (err) {
      if (!this.abort.signal.aborted)
        this.log.warn('agent: reading task logs failed', { taskId: task.ID, err });
    } finally {
      this.readingTasks--;
      this.finishIfDone();
    }
  }

  private startFlush(): void {
    if (this.flushing) return;
    // Let the readers fill the batch for a turn of the event loop before sending it.
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.flush())
      .finally(() => {
        this.flushing = undefined;
        if (this.buffer.length > 0) this.startFlush();
        else this.finishIfDone();
      });
  }

  private async flush(): Promise<void> {
    while (this.buffer.length > 0 && !this.finished) {
      const entries = takeLogBatch(this.buffer);
      try {
        await this.publishPatiently({ subscriptionId: this.subscriptionId, entries, close: false });
      } catch (err) {
        // The manager no longer wants this subscription (or the session is gone): stop reading.
        this.log.debug('agent: publishing logs failed', { subscriptionId: this.subscriptionId, err });
        this.cancel();
      }
    }
  }

  /**
   * Publishes; a manager's rate limit refusal means "later", so the same message goes again after a
   * pause (until the publication is cancelled, or for the closing message, regardless).
   */
  private async publishPatiently(message: PublishLogsMessage, closing = false): Promise<void> {
    for (;;) {
      try {
        await this.publish(message);
        return;
      } catch (err) {
        if (!isRateLimited(err) || (this.finished && !closing) || this.abort.signal.aborted) throw err;
        this.log.debug('agent: manager asks to slow down log publishing', {
          subscriptionId: this.subscriptionId,
        });
        await unrefDelay(RATE_LIMIT_RETRY_MS);
      }
    }
  }

  private finishIfDone(): void {
    if (this.finished || this.follow || !this.sealed) return;
    if (this.readingTasks > 0 || this.buffer.length > 0 || this.flushing) return;
    this.finished = true;
    this.publishPatiently({ subscriptionId: this.subscriptionId, entries: [], close: true }, true)
      .catch((err: unknown) => this.log.debug('agent: closing log publication failed', { err }))
      .finally(() => this.resolveDone());
  }
}
