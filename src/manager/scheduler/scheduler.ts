// The scheduler's thin loop: watch the store, debounce, take a snapshot, ask the pure core
// (schedule.ts) for decisions, write them back. It runs on the leader only; the leadership component
// constructs it with the store and calls start() and stop().
//
// Decisions are written in transactions of bounded size, yielding to the event loop in between, so that
// placing tens of thousands of tasks never keeps the API or the dispatcher waiting. A service whose
// placement throws is set aside with backoff (src/manager/quarantine.ts) and reported through
// `onObjectError`; the others are placed as usual.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { nowTimestamp } from '../../api/time.js';
import type { ObjectEventBatch, ObjectStore } from '../../store/objects.js';
import type { ObjectFailure } from '../isolation.js';
import type { PassObserver } from '../pass-observer.js';
import { Quarantine } from '../quarantine.js';
import { applyDecisions, type ApplyOutcome } from './apply.js';
import { Debouncer } from './debounce.js';
import { FailureHistory } from './failures.js';
import { dependencyGate, touchesWatched } from './depends-on.js';
import { DEFAULT_FILTERS, type Filter } from './filters.js';
import { failureFrom, wakesScheduler } from './relevance.js';
import { scheduleTasks } from './schedule.js';
import type { SchedulingDecision, SchedulingSnapshot } from './snapshot.js';

export interface SchedulerOptions {
  /** Quiet time after the last relevant commit before a pass (default 5 ms; swarmkit waits 50 ms). */
  readonly quietMs?: number;
  /** Longest wait after the first commit of a burst (default 20 ms; swarmkit waits up to 1 s). */
  readonly maxDelayMs?: number;
  /** Wait before retrying a pass that failed, e.g. on a store error (default 1 s). */
  readonly retryDelayMs?: number;
  /** Milliseconds since the epoch; for the failure lookback. */
  readonly clock?: () => number;
  readonly filters?: readonly Filter[];
  /** Called when a pass fails; it is retried after `retryDelayMs`. Defaults to console.error. */
  readonly onError?: (error: unknown) => void;
  /**
   * Called when placing one service's tasks fails; they wait until `retryAt` (ms since the epoch) while
   * the others are placed. `first` is true for the first failure in a row. Defaults to console.error.
   */
  readonly onObjectError?: (failure: ObjectFailure, retryAt: number, first: boolean) => void;
  /** Decisions written per transaction (default 250: each commit stays well under 100 ms). */
  readonly decisionsPerTransaction?: number;
  /** Told when each pass starts and ends (the metrics' scheduler pass duration). */
  readonly observePass?: PassObserver;
}

export interface PassOutcome extends ApplyOutcome {
  /** Decisions the core made, including those that turned out to change nothing. */
  readonly decisions: number;
}

const NOTHING_DONE: PassOutcome = { decisions: 0, assigned: 0, unschedulable: 0, shutdown: 0, stale: 0 };

export class Scheduler {
  private readonly debouncer: Debouncer;
  private readonly failures = new FailureHistory();
  private readonly clock: () => number;
  private readonly filters: readonly Filter[];
  private readonly retryDelayMs: number;
  private readonly onError: (error: unknown) => void;
  private readonly onObjectError: NonNullable<SchedulerOptions['onObjectError']>;
  private readonly decisionsPerTransaction: number;
  private readonly quarantine = new Quarantine();
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<void> | undefined;
  /** A pass was asked for while one was running. */
  private rerun = false;
  private idleWaiters: (() => void)[] = [];
  /** Services whose changes may release tasks held for their dependencies (depends-on.ts). */
  private dependencyWatch: ReadonlySet<string> = new Set();

  constructor(
    private readonly store: ObjectStore,
    private readonly options: SchedulerOptions = {},
  ) {
    this.clock = options.clock ?? Date.now;
    this.filters = options.filters ?? DEFAULT_FILTERS;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.onError = options.onError ?? ((error) => console.error('scheduler: pass failed:', error));
    this.onObjectError =
      options.onObjectError ??
      ((failure) => console.error(`scheduler: ${failure.kind} ${failure.id} failed:`, failure.error));
    this.decisionsPerTransaction = options.decisionsPerTransaction ?? 250;
    this.debouncer = new Debouncer(() => this.requestPass(), {
      quietMs: options.quietMs ?? 5,
      // Bounded close behind the first commit: a steady stream of commits (a rolling update, a big
      // scale-up) must not hold placements back for a second as swarmkit's 1 s bound would.
      maxDelayMs: options.maxDelayMs ?? 20,
      now: this.clock,
    });
  }

  /** Starts watching the store; the first pass picks up whatever was left pending before. */
  start(): void {
    if (this.unsubscribe) return;
    this.unsubscribe = this.store.watch((batch) => this.onCommit(batch));
    this.debouncer.poke();
  }

  /** Stops watching and waits for a pass in progress to finish writing. */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.debouncer.cancel();
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.rerun = false;
    await this.running;
    this.notifyIfIdle();
  }

  /** Resolves once no pass is running or scheduled: the store reflects every decision due so far. */
  settled(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * One pass, now: snapshot, decide, write. The loop's own passes never overlap; a caller of this method
   * (a test, a tool) must not run it while the loop is started.
   */
  async runPass(): Promise<PassOutcome> {
    const now = this.clock();
    const snapshot: SchedulingSnapshot = this.store.view((tx) => ({
      nodes: tx.list('node'),
      tasks: tx.list('task'),
      services: tx.list('service'),
      failures: this.failures.recent(now),
      now,
    }));
    if (!snapshot.tasks.some((t) => t.Status.State === 'pending')) {
      this.dependencyWatch = new Set();
      return NOTHING_DONE;
    }

    const versions = new Map(snapshot.services.map((s) => [s.ID, s.Version.Index]));
    const failures: ObjectFailure[] = [];
    // Tasks of services whose dependencies are not ready yet stay pending, saying why.
    const gate = dependencyGate(snapshot);
    this.dependencyWatch = gate.watched;
    const decisions = scheduleTasks(gate.snapshot, this.filters, {
      failures,
      isHeld: (serviceId) => this.quarantine.isHeld(serviceId, versions.get(serviceId) ?? 0, now),
    });
    decisions.push(...gate.decisions);
    for (const failure of failures) {
      const { retryAt, first } = this.quarantine.fail(failure.id, failure.version, now);
      this.onObjectError(failure, retryAt, first);
    }
    for (const { id } of this.quarantine.entries()) {
      const version = versions.get(id);
      const placedNow = !failures.some((f) => f.id === id) && !this.quarantine.isHeld(id, version ?? 0, now);
      if (version === undefined || placedNow) this.quarantine.clear(id);
    }
    this.armRetry(now);
    const news = withoutRepeats(decisions, snapshot);
    if (news.length === 0) return { ...NOTHING_DONE, decisions: decisions.length };
    const seenNodes = new Map(snapshot.nodes.map((n) => [n.ID, n]));
    const outcome = { assigned: 0, unschedulable: 0, shutdown: 0, stale: 0 };
    for (let at = 0; at < news.length; at += this.decisionsPerTransaction) {
      if (at > 0) await yieldToEventLoop();
      const chunk = news.slice(at, at + this.decisionsPerTransaction);
      const written = await this.store.update((tx) => applyDecisions(tx, chunk, seenNodes, nowTimestamp()));
      outcome.assigned += written.assigned;
      outcome.unschedulable += written.unschedulable;
      outcome.shutdown += written.shutdown;
      outcome.stale += written.stale;
    }
    return { ...outcome, decisions: decisions.length };
  }

  /** Wakes the loop when the earliest service set aside may be tried again. */
  private armRetry(now: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const retryAt = this.quarantine.nextRetryAt(now);
    if (retryAt === undefined || !this.unsubscribe) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.debouncer.poke();
    }, retryAt - now);
    this.retryTimer.unref();
  }

  private onCommit(batch: ObjectEventBatch): void {
    const now = this.clock();
    let wake = false;
    for (const event of batch.events) {
      const failure = failureFrom(event, now);
      if (failure) this.failures.record(failure);
      wake ||= wakesScheduler(event) || touchesWatched(this.dependencyWatch, event);
    }
    if (wake) this.debouncer.poke();
  }

  private requestPass(): void {
    if (this.running) {
      this.rerun = true;
      return;
    }
    const passDone = this.options.observePass?.();
    this.running = this.runPass()
      .then(
        () => undefined,
        (error: unknown) => {
          this.onError(error);
          if (this.unsubscribe) this.debouncer.pokeAfter(this.retryDelayMs);
        },
      )
      .finally(() => {
        passDone?.();
        this.running = undefined;
        if (this.rerun && this.unsubscribe) {
          this.rerun = false;
          this.requestPass();
        } else {
          this.notifyIfIdle();
        }
      });
  }

  private isIdle(): boolean {
    return this.running === undefined && !this.debouncer.pending;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Drops decisions that would write what the task already says, so a stuck task costs no writes. */
function withoutRepeats(
  decisions: readonly SchedulingDecision[],
  snapshot: SchedulingSnapshot,
): SchedulingDecision[] {
  const unschedulable = decisions.filter((d) => d.kind === 'unschedulable');
  if (unschedulable.length === 0) return [...decisions];
  const errors = new Map(snapshot.tasks.map((t) => [t.ID, t.Status.Err]));
  return decisions.filter((d) => d.kind !== 'unschedulable' || errors.get(d.taskId) !== d.error);
}
