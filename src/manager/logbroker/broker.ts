// The log broker (swarmkit's manager/logbroker): `docker service logs` asks it for a service's or
// some tasks' output; it finds the nodes that ran those tasks, asks each node's agent over its session
// (a subscription message), and merges what the agents publish back into one stream, in arrival
// order. Nothing is stored on the manager: output stays on the nodes until their tasks are removed.

import type {
  LogEntry,
  LogSelector,
  LogStreamOptions,
  LogSubscriptionMessage,
  PublishLogsMessage,
  StreamHandle,
} from '../../api/dispatcher.js';
import { notFound, permissionDenied } from '../../api/errors.js';
import { isBefore } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';
import type { LogMessage } from '../../api/control.js';
import type { ObjectStore } from '../../store/objects.js';
import { silentLog, type DispatcherLog } from '../dispatcher/log.js';
import type { NodeLogChannel } from '../dispatcher/server.js';
import { Subscription } from './subscription.js';

export interface LogBrokerOptions {
  store: ObjectStore;
  log?: DispatcherLog;
}

/** What to read: a whole service, or particular tasks. */
export type LogTarget = { serviceId: string } | { taskIds: string[] };

export class LogBroker implements NodeLogChannel {
  private readonly store: ObjectStore;
  private readonly log: DispatcherLog;
  private readonly listeners = new Map<string, (message: LogSubscriptionMessage) => void>();
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly unwatchers = new Map<string, () => void>();

  constructor(options: LogBrokerOptions) {
    this.store = options.store;
    this.log = options.log ?? silentLog;
  }

  /**
   * The selected tasks' output. Without `follow` it ends when every node has sent what it has, and
   * then throws Docker's "incomplete log stream" warning if some node could not be reached; with
   * `follow` it runs until `signal` aborts, and tasks of the service that start later join in.
   */
  subscribe(target: LogTarget, options: LogStreamOptions, signal: AbortSignal): AsyncIterable<LogMessage> {
    return { [Symbol.asyncIterator]: () => this.stream(target, options, signal) };
  }

  /** Ends every subscription (the manager is stepping down). */
  stop(): void {
    for (const subscription of [...this.subscriptions.values()]) this.close(subscription);
  }

  // ---------------------------------------------------------------- the nodes' side

  listen(nodeId: string, send: (message: LogSubscriptionMessage) => void): StreamHandle {
    this.listeners.set(nodeId, send);
    for (const subscription of this.subscriptions.values()) {
      if (subscription.wants(nodeId)) send(subscription.message());
    }
    return {
      close: () => {
        if (this.listeners.get(nodeId) !== send) return;
        this.listeners.delete(nodeId);
        for (const subscription of this.subscriptions.values()) {
          if (subscription.isUnfinished(nodeId)) {
            subscription.nodeDone(nodeId, `node ${nodeId} disconnected unexpectedly`);
          }
        }
      },
    };
  }

  async publish(nodeId: string, message: PublishLogsMessage): Promise<void> {
    const subscription = this.subscriptions.get(message.subscriptionId);
    if (!subscription) throw notFound(`unknown subscription ${message.subscriptionId}`);
    if (!subscription.includes(nodeId)) {
      throw permissionDenied(`node ${nodeId} is not part of subscription ${message.subscriptionId}`);
    }
    if (message.entries.length > 0) {
      await subscription.queue.push(message.entries.map((entry) => toLogMessage(nodeId, entry)));
    }
    if (message.close) subscription.nodeDone(nodeId);
  }

  // ---------------------------------------------------------------- subscriptions

  private async *stream(
    target: LogTarget,
    options: LogStreamOptions,
    signal: AbortSignal,
  ): AsyncGenerator<LogMessage> {
    const subscription = this.open(target, options);
    const abort = (): void => subscription.queue.discard();
    signal.addEventListener('abort', abort, { once: true });
    if (signal.aborted) abort();
    try {
      yield* subscription.queue;
      if (!signal.aborted && !subscription.follow) {
        const err = subscription.error();
        if (err) throw err;
      }
    } finally {
      signal.removeEventListener('abort', abort);
      this.close(subscription);
    }
  }

  private open(target: LogTarget, options: LogStreamOptions): Subscription {
    const selector: LogSelector =
      'serviceId' in target ? { serviceIds: [target.serviceId] } : { taskIds: [...target.taskIds] };
    const subscription = new Subscription(selector, options);
    this.subscriptions.set(subscription.id, subscription);
    // The initial selection and the watch for later tasks start in one synchronous step, so no task
    // created in between is missed.
    this.store.view((tx) => {
      const tasks =
        'serviceId' in target
          ? tx
              .tasksByService(target.serviceId)
              .filter((task) => options.follow || !isBefore(task.Status.State, 'running'))
          : target.taskIds.map((id) => tx.get('task', id)).filter((task): task is Task => task !== undefined);
      for (const task of tasks) subscription.addTask(task);
    });
    if (options.follow) {
      const unwatch = this.store.watch((batch) => {
        for (const event of batch.events) {
          if (event.kind !== 'task' || event.action === 'delete' || !subscription.matches(event.object))
            continue;
          const newNode = subscription.addTask(event.object);
          if (newNode) this.listeners.get(newNode)?.(subscription.message());
        }
      });
      this.unwatchers.set(subscription.id, unwatch);
    }
    for (const nodeId of [...subscription.allNodes()]) {
      const send = this.listeners.get(nodeId);
      if (send) send(subscription.message());
      else if (!options.follow) subscription.nodeDone(nodeId, `node ${nodeId} is not available`);
    }
    subscription.endIfComplete();
    this.log.debug('logbroker: subscription opened', { subscriptionId: subscription.id, selector });
    return subscription;
  }

  private close(subscription: Subscription): void {
    if (!this.subscriptions.delete(subscription.id)) return;
    this.unwatchers.get(subscription.id)?.();
    this.unwatchers.delete(subscription.id);
    subscription.queue.discard();
    for (const nodeId of subscription.allNodes()) {
      if (subscription.follow || subscription.isUnfinished(nodeId)) {
        this.listeners.get(nodeId)?.(subscription.message(true));
      }
    }
  }
}

function toLogMessage(nodeId: string, entry: LogEntry): LogMessage {
  return {
    stream: entry.stream,
    timestamp: entry.timestamp,
    line: Buffer.from(entry.data, 'base64'),
    context: { nodeId, serviceId: entry.serviceId, taskId: entry.taskId },
  };
}
