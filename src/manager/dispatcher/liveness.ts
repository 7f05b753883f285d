// Whether nodes are alive, from the dispatcher's point of view. A registered node must heartbeat
// within 3 of its periods or it is marked DOWN. After a dispatcher (re)start nobody has heard from
// any node yet: those not already down become UNKNOWN and get 6 periods to come back, so a manager
// restart neither marks every node down nor has their tasks rescheduled. A node down for a day has
// its running tasks orphaned.

import { clockTimestamp, type Clock } from '../../api/clock.js';
import { isAfter, isBefore } from '../../api/taskstate.js';
import type { ObjectStore } from '../../store/objects.js';
import { KeyedTimers } from './keyed-timers.js';
import type { DispatcherLog } from './log.js';
import { HEARTBEAT_EXPIRY_PERIODS, ORPHAN_AFTER_MS, UNKNOWN_GRACE_PERIODS } from './period.js';
import type { DispatcherWrites } from './writes.js';

export const MESSAGE_UNKNOWN_AFTER_RESTART =
  'Node moved to "unknown" state due to leadership change in cluster';
export const MESSAGE_HEARTBEAT_FAILURE = 'heartbeat failure';
export const MESSAGE_UNKNOWN_EXPIRED = 'heartbeat failure for node in "unknown" state';

export interface NodeLivenessOptions {
  store: ObjectStore;
  clock: Clock;
  writes: DispatcherWrites;
  log: DispatcherLog;
  /** Called when a node is declared down, before its status is written: end its session. */
  onDown: (nodeId: string) => void;
}

export class NodeLiveness {
  /** Per node: heartbeat expiry while registered, or the unknown-state grace after a start. */
  private readonly expiry: KeyedTimers;
  /** Per down node: when its tasks become orphaned. */
  private readonly orphaning: KeyedTimers;
  private active = false;

  constructor(private readonly options: NodeLivenessOptions) {
    this.expiry = new KeyedTimers(options.clock);
    this.orphaning = new KeyedTimers(options.clock);
  }

  /**
   * Moves every node not down to UNKNOWN, with a grace of 6 periods. `isRegistered` tells which
   * nodes came back while this was being written; they are left alone.
   */
  async start(periodMs: number, isRegistered: (nodeId: string) => boolean): Promise<void> {
    this.active = true;
    const down: string[] = [];
    const unknown: string[] = [];
    await this.options.store.update((tx) => {
      for (const node of tx.list('node')) {
        if (node.Status.State === 'down') {
          down.push(node.ID);
          continue;
        }
        if (isRegistered(node.ID)) continue;
        unknown.push(node.ID);
        const next = structuredClone(node);
        next.Status = { ...next.Status, State: 'unknown', Message: MESSAGE_UNKNOWN_AFTER_RESTART };
        tx.update('node', next);
      }
    });
    if (!this.active) return;
    // Already down before the restart: the orphan delay starts again (swarmkit does the same).
    for (const nodeId of down) this.armOrphaning(nodeId);
    for (const nodeId of unknown) {
      if (isRegistered(nodeId) || this.expiry.has(nodeId)) continue;
      this.expiry.arm(nodeId, periodMs * UNKNOWN_GRACE_PERIODS, () =>
        this.markDown(nodeId, MESSAGE_UNKNOWN_EXPIRED),
      );
    }
  }

  stop(): void {
    this.active = false;
    this.expiry.cancelAll();
    this.orphaning.cancelAll();
  }

  /**
   * The node is registering: nothing may mark it down while its READY write is queued, or the DOWN
   * write could overtake it.
   */
  registering(nodeId: string): void {
    this.expiry.cancel(nodeId);
    this.orphaning.cancel(nodeId);
  }

  /** A heartbeat (or a registration) with the period the node was given: expiry after 3 of them. */
  heartbeat(nodeId: string, periodMs: number): void {
    this.expiry.arm(nodeId, periodMs * HEARTBEAT_EXPIRY_PERIODS, () =>
      this.markDown(nodeId, MESSAGE_HEARTBEAT_FAILURE),
    );
  }

  forget(nodeId: string): void {
    this.expiry.cancel(nodeId);
    this.orphaning.cancel(nodeId);
  }

  private markDown(nodeId: string, message: string): void {
    if (!this.active) return;
    this.options.log.info('dispatcher: node down', { nodeId, message });
    this.options.onDown(nodeId);
    this.armOrphaning(nodeId);
    this.options.writes.nodeStatus(nodeId, { state: 'down', message }).catch(() => {
      // Logged by the writer; the node stays as it was until it reconnects or the next restart.
    });
  }

  private armOrphaning(nodeId: string): void {
    this.orphaning.arm(nodeId, ORPHAN_AFTER_MS, () => void this.orphanTasks(nodeId));
  }

  /**
   * After a day down, nobody knows whether the node's tasks still run; they become ORPHANED so their
   * network resources can be freed. A node back before that stops them itself (desired SHUTDOWN).
   */
  private async orphanTasks(nodeId: string): Promise<void> {
    try {
      await this.options.store.update((tx) => {
        const node = tx.get('node', nodeId);
        if (!node || node.Status.State === 'ready') return;
        for (const task of tx.tasksByNode(nodeId)) {
          const state = task.Status.State;
          if (isBefore(state, 'assigned') || isAfter(state, 'running')) continue;
          const next = structuredClone(task);
          next.Status.State = 'orphaned';
          next.AppliedAt = clockTimestamp(this.options.clock);
          tx.update('task', next);
        }
      });
    } catch (err) {
      this.options.log.error('dispatcher: orphaning tasks failed', { nodeId, err });
    }
  }
}
