// The orchestrators' thin loop: one place to start and stop them all. It watches the store, collects
// what changed for a short window, then runs one pass — orchestrate (orchestrate.ts), allocate
// (allocate.ts), reap (task-reaper.ts) — each computed on a snapshot and applied in its own store
// transaction. The only timers are for the waits users configure: restart delays, the one-minute wait
// for an old task to stop, update delays and update monitoring periods. The leadership component
// constructs it with the store and calls start() when this manager leads, stop() when it no longer does;
// on start everything is reconciled from the store: delayed starts left by a previous leader resume with
// what remains of their delay, and rolling updates the store shows in progress carry on (update/resume.ts).
//
// The loop's memory — delayed starts and rollouts — is only ever what the cores asked it to keep, and
// only once the transaction that went with the request committed.

import type { ObjectEventBatch, ObjectStore } from '../../store/objects.js';
import { isMemoryNote, type OrchestratorAction, type PendingStart } from './actions.js';
import { allocateTasks } from './allocate.js';
import { applyActions, startsToRemember } from './apply.js';
import { systemClock, type Clock } from './clock.js';
import { emptyScope, noteEvent, type PendingScope } from './events.js';
import { fullScope, orchestrate, type ReconcileScope } from './orchestrate.js';
import { evaluatePendingStarts, settledStarts } from './restart/delayed-start.js';
import { snapshotOfReadTx, type Snapshot } from './snapshot.js';
import { reapTasks } from './task-reaper.js';
import type { Rollout } from './update/rollout.js';

export interface OrchestratorOptions {
  /** Time source and timers for restart and update delays (tests pass a fake). Defaults to the system clock. */
  readonly clock?: Clock;
  /** How long store events are collected before a pass, in ms (default 10). */
  readonly batchWindowMs?: number;
  /** Wait before retrying a pass that failed, e.g. on a store error, in ms (default 1000). */
  readonly retryDelayMs?: number;
  /** Called when a pass fails; it is retried. Defaults to console.error. */
  readonly onError?: (error: unknown) => void;
}

export class Orchestrator {
  private readonly clock: Clock;
  private readonly batchWindowMs: number;
  private readonly retryDelayMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly pendingStarts = new Map<string, PendingStart>();
  private readonly rollouts = new Map<string, Rollout>();
  private scope: PendingScope = emptyScope();
  private unsubscribe: (() => void) | undefined;
  private batchTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  /** A pass was asked for while one was running. */
  private rerun = false;
  private wake: { at: number; cancel: () => void } | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: ObjectStore,
    options: OrchestratorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.batchWindowMs = options.batchWindowMs ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.onError = options.onError ?? ((error) => console.error('orchestrator: pass failed:', error));
  }

  /** Starts watching the store and reconciles everything once; resolves when that first pass is done. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.unsubscribe = this.store.watch((batch) => this.onCommit(batch));
    this.scope.everything = true;
    this.runPass();
    await this.running;
  }

  /** Stops watching, cancels timers and waits for a pass in progress to finish writing. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.batchTimer !== undefined) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.wake?.cancel();
    this.wake = undefined;
    this.rerun = false;
    await this.running;
    // A later leader (or a later start) rebuilds these from the store.
    this.pendingStarts.clear();
    this.rollouts.clear();
    this.scope = emptyScope();
    this.notifyIfIdle();
  }

  /** Resolves once no pass is running or about to run (delayed starts may still be waiting). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Replacements waiting for their restart delay or for the task they replace to stop. */
  get waitingStarts(): readonly PendingStart[] {
    return [...this.pendingStarts.values()];
  }

  /** Rolling updates in progress, one per service. */
  get rollingUpdates(): readonly Rollout[] {
    return [...this.rollouts.values()];
  }

  private get active(): boolean {
    return this.unsubscribe !== undefined;
  }

  private onCommit(batch: ObjectEventBatch): void {
    let relevant = false;
    for (const event of batch.events) relevant = noteEvent(this.scope, event) || relevant;
    if (relevant) this.requestPass(this.batchWindowMs);
  }

  private requestPass(delayMs: number): void {
    if (!this.active) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.batchTimer !== undefined) return;
    this.batchTimer = setTimeout(() => {
      this.batchTimer = undefined;
      this.runPass();
    }, delayMs);
  }

  private runPass(): void {
    const scope = this.scope;
    this.scope = emptyScope();
    this.running = this.pass(scope)
      .catch((error: unknown) => {
        this.onError(error);
        mergeScope(this.scope, scope);
        this.running = undefined;
        this.requestPass(this.retryDelayMs);
      })
      .finally(() => {
        this.running = undefined;
        if (this.rerun) {
          // What arrived while the pass ran has already been batched by the wait; go at once.
          this.rerun = false;
          this.requestPass(0);
        }
        this.notifyIfIdle();
      });
  }

  private async pass(pending: PendingScope): Promise<void> {
    if (!this.active) return;
    const now = this.clock.now();
    const planRevision = this.store.revision;
    const plan = this.store.view((tx) => {
      const snapshot = snapshotOfReadTx(tx);
      return orchestrate(snapshot, scopeOf(pending, snapshot), this.pendingStarts, now, this.rollouts);
    });
    await this.write(plan.actions, planRevision);
    // Tasks created above are allocated at once rather than a batch window later.
    const allocations = this.store.view((tx) =>
      allocateTasks(
        [...plan.services].flatMap((id) => tx.tasksByService(id)),
        now,
      ),
    );
    await this.write(allocations);
    const reaped = this.store.view((tx) => reapTasks(snapshotOfReadTx(tx), plan.services));
    await this.write(reaped);
    this.rearmTimers();
  }

  private async write(actions: readonly OrchestratorAction[], planRevision?: number): Promise<void> {
    if (actions.length === 0 || !this.active) return;
    let starts: readonly PendingStart[];
    if (actions.every(isMemoryNote)) {
      // Only things to remember (tasks adopted on start, rollouts moving on): no transaction.
      starts = this.store.view((tx) =>
        startsToRemember(
          tx,
          actions.flatMap((action) => (action.kind === 'scheduleStart' ? [action.start] : [])),
        ),
      );
    } else {
      starts = (await this.store.update((tx) => applyActions(tx, actions, planRevision))).starts;
    }
    for (const start of starts) this.pendingStarts.set(start.taskId, start);
    for (const action of actions) {
      if (action.kind !== 'trackRollout') continue;
      if (action.rollout) this.rollouts.set(action.serviceId, action.rollout);
      else this.rollouts.delete(action.serviceId);
    }
  }

  /**
   * Forgets settled starts and the rollouts of deleted services, and sets the one timer for the next
   * restart delay, stop deadline, update delay or end of an update's monitoring.
   */
  private rearmTimers(): void {
    const now = this.clock.now();
    const { due, wakeAt } = this.store.view((tx) => {
      const snapshot = snapshotOfReadTx(tx);
      for (const id of settledStarts(snapshot, this.pendingStarts)) this.pendingStarts.delete(id);
      for (const id of this.rollouts.keys()) if (!snapshot.service(id)) this.rollouts.delete(id);
      const evaluation = evaluatePendingStarts({
        snapshot,
        now,
        pendingStarts: this.pendingStarts,
        rollouts: this.rollouts,
      });
      let due = evaluation.actions.length > 0;
      let wakeAt = evaluation.wakeAt;
      for (const rollout of this.rollouts.values()) {
        if (rollout.wakeAt === undefined) continue;
        if (rollout.wakeAt <= now) due = true;
        else wakeAt = wakeAt === undefined ? rollout.wakeAt : Math.min(wakeAt, rollout.wakeAt);
      }
      return { due, wakeAt };
    });
    if (due) this.rerun = true;
    if (this.wake && this.wake.at === wakeAt) return;
    this.wake?.cancel();
    this.wake = undefined;
    if (wakeAt === undefined || !this.active) return;
    const cancel = this.clock.setTimer(Math.max(0, wakeAt - now), () => {
      this.wake = undefined;
      this.requestPass(0);
    });
    this.wake = { at: wakeAt, cancel };
  }

  private isIdle(): boolean {
    return this.running === undefined && this.batchTimer === undefined && !this.rerun;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function scopeOf(pending: PendingScope, snapshot: Snapshot): ReconcileScope {
  return pending.everything ? fullScope(snapshot) : pending;
}

function mergeScope(into: PendingScope, from: PendingScope): void {
  for (const id of from.services) into.services.add(id);
  for (const id of from.nodes) into.nodes.add(id);
  into.everything ||= from.everything;
}
