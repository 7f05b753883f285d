// The orchestrators' thin loop: one place to start and stop them all. It watches the store, collects
// what changed for a short window, then runs one pass — orchestrate (orchestrate.ts), move the new tasks
// that have nothing to allocate to PENDING (the allocator's shortcut, src/manager/allocator), reap
// (task-reaper.ts) — each computed on a snapshot and applied in its own store transaction. The only timers are for the waits users configure: restart delays, the one-minute wait
// for an old task to stop, update delays and update monitoring periods. The leadership component
// constructs it with the store and calls start() when this manager leads, stop() when it no longer does;
// on start everything is reconciled from the store: delayed starts left by a previous leader resume with
// what remains of their delay, and rolling updates the store shows in progress carry on (update/resume.ts).
//
// The loop's memory — delayed starts and rollouts — is only ever what the cores asked it to keep, and
// only once the transaction that went with the request committed.
//
// Big changes are paced: a pass creates a bounded number of tasks (orchestrate.ts) and writes in
// transactions of bounded size (apply.ts splitForApply), yielding to the event loop in between, so the
// API and the dispatcher keep answering while a service scales to thousands. A service or node whose work
// throws — in planning or in its transaction — is set aside with backoff (src/manager/quarantine.ts) and
// reported through `onObjectError`, while every other one keeps converging.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ObjectEventBatch, ObjectStore } from '../../store/objects.js';
import { Quarantine } from '../quarantine.js';
import { isMemoryNote, type OrchestratorAction, type PendingStart } from './actions.js';
import { pendingWithoutNetworks } from '../allocator/without-networks.js';
import { applyActions, serviceOfAction, splitForApply, startsToRemember } from './apply.js';
import { systemClock, type Clock } from '../../api/clock.js';
import { emptyScope, noteEvent, type PendingScope } from './events.js';
import { fullScope, orchestrate, type ReconcileScope } from './orchestrate.js';
import { evaluatePendingStarts, settledStarts } from './restart/delayed-start.js';
import type { ObjectFailure } from '../isolation.js';
import type { PassObserver } from '../pass-observer.js';
import { snapshotOfReadTx, type Snapshot } from './snapshot.js';
import { reapTasks } from './task-reaper.js';
import type { Rollout } from './update/rollout.js';

export interface OrchestratorOptions {
  /** Time source and timers for restart and update delays (tests pass a fake). Defaults to the system clock. */
  readonly clock?: Clock;
  /** How long store events are collected before a pass, in ms (default 5). */
  readonly batchWindowMs?: number;
  /** Wait before retrying a pass that failed, e.g. on a store error, in ms (default 1000). */
  readonly retryDelayMs?: number;
  /** Called when a pass fails; it is retried. Defaults to console.error. */
  readonly onError?: (error: unknown) => void;
  /**
   * Called when the work for one service or node fails; it is set aside until `retryAt` (ms since the
   * epoch) while the others go on. `first` is true for the first failure in a row. Defaults to console.error.
   */
  readonly onObjectError?: (failure: ObjectFailure, retryAt: number, first: boolean) => void;
  /** Told when each pass starts and ends (the metrics' reconcile pass duration). */
  readonly observePass?: PassObserver;
}

export class Orchestrator {
  private readonly clock: Clock;
  private readonly batchWindowMs: number;
  private readonly retryDelayMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly onObjectError: NonNullable<OrchestratorOptions['onObjectError']>;
  private readonly quarantine = new Quarantine();
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
    private readonly options: OrchestratorOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.batchWindowMs = options.batchWindowMs ?? 5;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.onError = options.onError ?? ((error) => console.error('orchestrator: pass failed:', error));
    this.onObjectError =
      options.onObjectError ??
      ((failure) => console.error(`orchestrator: ${failure.kind} ${failure.id} failed:`, failure.error));
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

  /** Services and nodes set aside after a failure, with their next retry time. */
  get setAside(): readonly { id: string; retryAt: number; failures: number }[] {
    return this.quarantine.entries();
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
    const passDone = this.options.observePass?.();
    this.running = this.pass(scope)
      .catch((error: unknown) => {
        this.onError(error);
        mergeScope(this.scope, scope);
        this.running = undefined;
        this.requestPass(this.retryDelayMs);
      })
      .finally(() => {
        passDone?.();
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
    const isHeld = (kind: ObjectFailure['kind'], id: string, version: number): boolean =>
      this.quarantine.isHeld(`${kind}/${id}`, version, now);
    // Objects set aside whose retry time has come are looked at again.
    for (const key of this.quarantine.due(now)) {
      const [kind, id] = splitKey(key);
      (kind === 'node' ? pending.nodes : pending.services).add(id);
    }
    const plan = this.store.view((tx) => {
      const snapshot = snapshotOfReadTx(tx);
      return orchestrate(snapshot, scopeOf(pending, snapshot), this.pendingStarts, now, this.rollouts, {
        isHeld,
      });
    });
    this.setAsideFailed(plan.failures, now);
    await this.write(plan.actions, planRevision);
    // Tasks created above that have nothing to allocate are made PENDING at once rather than a batch
    // window later; those with networks wait for the allocator.
    const allocations = this.store.view((tx) =>
      pendingWithoutNetworks(
        [...plan.services].flatMap((id) => tx.tasksByService(id)),
        (id) => tx.get('service', id),
        now,
      ),
    );
    await this.write(allocations);
    const reapFailures: ObjectFailure[] = [];
    const reaped = this.store.view((tx) => reapTasks(snapshotOfReadTx(tx), plan.services, reapFailures));
    this.setAsideFailed(reapFailures, now);
    await this.write(reaped);
    const failed = new Set([...plan.failures, ...reapFailures].map((f) => `${f.kind}/${f.id}`));
    for (const id of plan.services) if (!failed.has(`service/${id}`)) this.quarantine.clear(`service/${id}`);
    for (const id of pending.nodes) {
      const version = this.store.view((tx) => tx.get('node', id)?.Version.Index ?? 0);
      if (!failed.has(`node/${id}`) && !isHeld('node', id, version)) this.quarantine.clear(`node/${id}`);
    }
    if (plan.budgetExhausted) {
      // More tasks to create: another pass follows at once, after whatever the event loop has waiting.
      for (const id of plan.services) this.scope.services.add(id);
      this.rerun = true;
    }
    this.rearmTimers();
  }

  private setAsideFailed(failures: readonly ObjectFailure[], now: number): void {
    for (const failure of failures) {
      const { retryAt, first } = this.quarantine.fail(`${failure.kind}/${failure.id}`, failure.version, now);
      this.onObjectError(failure, retryAt, first);
    }
  }

  /**
   * Applies a plan in transactions of bounded size, yielding to the event loop between them. If one fails,
   * its actions are tried again service by service: a service whose own transaction fails is set aside and
   * the others are written. When every service fails alike, the store is at fault (a full disk…), not the
   * services: the error fails the pass, which is retried.
   */
  private async write(actions: readonly OrchestratorAction[], planRevision?: number): Promise<void> {
    const chunks = splitForApply(actions);
    for (let i = 0; i < chunks.length; i++) {
      if (i > 0) await yieldToEventLoop();
      if (!this.active) return;
      const chunk = chunks[i]!;
      try {
        await this.writeChunk(chunk, planRevision);
      } catch (error) {
        await this.writePerService(chunk, planRevision, error);
      }
    }
  }

  private async writePerService(
    actions: readonly OrchestratorAction[],
    planRevision: number | undefined,
    chunkError: unknown,
  ): Promise<void> {
    const byService = this.store.view((tx) => {
      const groups = new Map<string, OrchestratorAction[]>();
      for (const action of actions) {
        const id = serviceOfAction(tx, action) ?? '';
        const group = groups.get(id);
        if (group) group.push(action);
        else groups.set(id, [action]);
      }
      return groups;
    });
    if (byService.size < 2) throw chunkError;
    const failures: ObjectFailure[] = [];
    for (const [serviceId, serviceActions] of byService) {
      try {
        await this.writeChunk(serviceActions, planRevision);
      } catch (error) {
        const version = this.store.view((tx) => tx.get('service', serviceId)?.Version.Index ?? 0);
        failures.push({ kind: 'service', id: serviceId, version, error });
      }
    }
    if (failures.length === byService.size) throw chunkError;
    this.setAsideFailed(failures, this.clock.now());
  }

  private async writeChunk(actions: readonly OrchestratorAction[], planRevision?: number): Promise<void> {
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
      const retryAt = this.quarantine.nextRetryAt(now);
      if (retryAt !== undefined) wakeAt = wakeAt === undefined ? retryAt : Math.min(wakeAt, retryAt);
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
    const timer = this.clock.setTimer(Math.max(0, wakeAt - now), () => {
      this.wake = undefined;
      this.requestPass(0);
    });
    this.wake = { at: wakeAt, cancel: () => timer.cancel() };
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

/** `service/<id>` → ['service', '<id>']. */
function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
