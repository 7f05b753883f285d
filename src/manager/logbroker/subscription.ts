// One subscriber's view of a log request (swarmkit's logbroker subscription): which nodes were asked,
// which of them have finished, and why some output could not be had. Without follow it ends once
// every node asked has said it is done; with follow it lasts until the subscriber leaves, and picks
// up tasks that start later.

import type { LogSelector, LogStreamOptions, LogSubscriptionMessage } from '../../api/dispatcher.js';
import { ShoalError } from '../../api/errors.js';
import { newId } from '../../api/ids.js';
import type { Task } from '../../api/types.js';
import type { LogMessage } from '../../api/control.js';
import { LogQueue } from './queue.js';

export class Subscription {
  readonly id = newId();
  readonly queue = new LogQueue<LogMessage>();
  readonly follow: boolean;
  private readonly taskIds: Set<string>;
  private readonly serviceIds: Set<string>;
  /** Nodes asked for output (or to be asked when they connect). */
  private readonly nodes = new Set<string>();
  /** Nodes that have not finished yet (without follow). */
  private readonly unfinished = new Set<string>();
  /** Selected tasks that have no node yet. */
  private readonly unscheduled = new Set<string>();
  private readonly errors: string[] = [];

  constructor(
    readonly selector: LogSelector,
    readonly options: LogStreamOptions,
  ) {
    this.follow = options.follow;
    this.taskIds = new Set(selector.taskIds ?? []);
    this.serviceIds = new Set(selector.serviceIds ?? []);
  }

  message(close = false): LogSubscriptionMessage {
    return { subscriptionId: this.id, selector: this.selector, options: this.options, close };
  }

  matches(task: Task): boolean {
    return this.taskIds.has(task.ID) || this.serviceIds.has(task.ServiceID);
  }

  /** Takes in a selected task; returns its node when that node is new to the subscription. */
  addTask(task: Task): string | undefined {
    if (!task.NodeID) {
      this.unscheduled.add(task.ID);
      return undefined;
    }
    this.unscheduled.delete(task.ID);
    if (this.nodes.has(task.NodeID)) return undefined;
    this.nodes.add(task.NodeID);
    if (!this.follow) this.unfinished.add(task.NodeID);
    return task.NodeID;
  }

  allNodes(): Iterable<string> {
    return this.nodes;
  }

  /** Whether the node still owes output: it gets the subscription when it (re)connects. */
  wants(nodeId: string): boolean {
    return this.nodes.has(nodeId) && (this.follow || this.unfinished.has(nodeId));
  }

  includes(nodeId: string): boolean {
    return this.nodes.has(nodeId);
  }

  isUnfinished(nodeId: string): boolean {
    return this.unfinished.has(nodeId);
  }

  /** The node has sent everything (or never will, with `reason`). */
  nodeDone(nodeId: string, reason?: string): void {
    if (reason !== undefined) this.errors.push(reason);
    if (this.follow) return;
    this.unfinished.delete(nodeId);
    this.endIfComplete();
  }

  endIfComplete(): void {
    if (!this.follow && this.unfinished.size === 0) this.queue.end();
  }

  /** Docker's warning when output is missing: the text swarmkit's logbroker uses. */
  error(): Error | undefined {
    const reasons = [
      ...this.errors,
      ...[...this.unscheduled].map((id) => `task ${id} has not been scheduled`),
    ];
    if (reasons.length === 0) return undefined;
    // A plain error in swarmkit, so it crosses gRPC as Unknown.
    return new ShoalError(
      'Unknown',
      `warning: incomplete log stream. some logs could not be retrieved for the following reasons: ${reasons.join(', ')}`,
      { rpc: true },
    );
  }
}
