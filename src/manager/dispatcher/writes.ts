// The dispatcher's store writes, batched: node status changes (registration, heartbeat failure) and
// task statuses reported by agents are queued and written together 5 ms after the first one arrives, or
// at once when 10,000 are waiting. A manager restart brings every node back within a few seconds, each
// with a re-report of all its tasks; one transaction per batch instead of one per call keeps that cheap,
// and 5 ms (swarmkit waits 100 ms) keeps a task's status change from waiting noticeably.

import type { TaskStatusUpdate } from '../../api/dispatcher.js';
import { jsonEqual } from '../../api/json-equal.js';
import { clockTimestamp, type Clock, type Timer } from '../../api/clock.js';
import { isAfter } from '../../api/taskstate.js';
import type { Node, NodeDescription, NodeState } from '../../api/types.js';
import type { ObjectStore } from '../../store/objects.js';
import type { DispatcherLog } from './log.js';
import { applyStatusUpdate } from './status-intake.js';

export const WRITE_BATCH_DELAY_MS = 5;
export const WRITE_BATCH_MAX_ITEMS = 10_000;

export interface NodeStatusChange {
  state: NodeState;
  message?: string;
  /** Observed address; kept as stored when absent. */
  addr?: string;
  description?: NodeDescription;
  /** The node's `--data-path-addr` as it registered (null: it has none); kept as stored when absent. */
  dataPathAddr?: string | null;
}

interface QueuedNodeChange {
  change: NodeStatusChange;
  waiters: { resolve(): void; reject(err: unknown): void }[];
}

interface QueuedTaskStatus {
  nodeId: string;
  update: TaskStatusUpdate;
}

export class DispatcherWrites {
  private nodes = new Map<string, QueuedNodeChange>();
  private tasks = new Map<string, QueuedTaskStatus>();
  private timer: Timer | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock,
    private readonly log: DispatcherLog,
  ) {}

  /** Queues a node status change; resolves once it is committed. */
  nodeStatus(nodeId: string, change: NodeStatusChange): Promise<void> {
    return new Promise((resolve, reject) => {
      const queued = this.nodes.get(nodeId);
      // A later change wins, but keeps a description queued by an earlier one (swarmkit does the
      // same, so a node marked ready then down in one batch still gets its description written).
      const merged = queued
        ? {
            ...change,
            description: change.description ?? queued.change.description,
            ...(change.dataPathAddr === undefined && queued.change.dataPathAddr !== undefined
              ? { dataPathAddr: queued.change.dataPathAddr }
              : {}),
          }
        : change;
      const waiters = queued?.waiters ?? [];
      waiters.push({ resolve, reject });
      this.nodes.set(nodeId, { change: merged, waiters });
      this.schedule();
    });
  }

  /** Queues task statuses already checked against the node (see acceptStatusUpdates). */
  taskStatuses(nodeId: string, updates: TaskStatusUpdate[]): void {
    for (const update of updates) {
      const queued = this.tasks.get(update.taskId);
      if (queued && isAfter(queued.update.status.State, update.status.State)) continue;
      this.tasks.set(update.taskId, { nodeId, update });
    }
    this.schedule();
  }

  /** Writes everything queued now; resolves when that (and every earlier batch) is committed. */
  flush(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const nodes = this.nodes;
    const tasks = this.tasks;
    if (nodes.size === 0 && tasks.size === 0) return this.chain;
    this.nodes = new Map();
    this.tasks = new Map();
    this.chain = this.chain.then(() => this.write(nodes, tasks));
    return this.chain;
  }

  /** Drops the pending timer (what is queued stays queued until the next flush). */
  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.nodes.size + this.tasks.size >= WRITE_BATCH_MAX_ITEMS) {
      void this.flush();
      return;
    }
    this.timer ??= this.clock.setTimer(WRITE_BATCH_DELAY_MS, () => {
      this.timer = undefined;
      void this.flush();
    });
  }

  private async write(
    nodes: Map<string, QueuedNodeChange>,
    tasks: Map<string, QueuedTaskStatus>,
  ): Promise<void> {
    const appliedAt = clockTimestamp(this.clock);
    try {
      await this.store.update((tx) => {
        for (const [nodeId, { change }] of nodes) {
          const node = tx.get('node', nodeId);
          if (!node) continue;
          // A node reconnecting with what the store already says writes nothing: every write is a
          // revision of watch history, and a node must not be able to fill it by reconnecting.
          const next = withNodeStatus(node, change);
          if (!jsonEqual(next, node)) tx.update('node', next);
        }
        for (const [taskId, { nodeId, update }] of tasks) {
          const task = tx.get('task', taskId);
          // Re-checked here: the task may have been deleted or rescheduled since it was queued.
          if (!task || task.NodeID !== nodeId) continue;
          const next = applyStatusUpdate(task, update, appliedAt);
          if (next) tx.update('task', next);
        }
      });
      for (const { waiters } of nodes.values()) for (const w of waiters) w.resolve();
    } catch (err) {
      this.log.error('dispatcher: writing node and task statuses failed', { err });
      for (const { waiters } of nodes.values()) for (const w of waiters) w.reject(err);
    }
  }
}

function withNodeStatus(node: Node, change: NodeStatusChange): Node {
  const next = structuredClone(node);
  next.Status = {
    State: change.state,
    ...(change.message !== undefined ? { Message: change.message } : {}),
    Addr: change.addr ?? node.Status.Addr,
  };
  if (change.description) {
    // The certificate details are written at join time by the CA, not described by the agent.
    const tlsInfo = change.description.TLSInfo ?? node.Description?.TLSInfo;
    next.Description = { ...structuredClone(change.description), ...(tlsInfo ? { TLSInfo: tlsInfo } : {}) };
  }
  if (change.dataPathAddr === null) delete next.DataPathAddr;
  else if (change.dataPathAddr !== undefined) next.DataPathAddr = change.dataPathAddr;
  return next;
}
