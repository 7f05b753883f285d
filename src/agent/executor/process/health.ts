// Health checks as the Docker Engine runs them (moby daemon/health.go): the settings and their defaults,
// the state machine that turns probe results into starting / healthy / unhealthy, and a monitor that runs
// one probe at a time on a clock (a fake one in tests).

import { systemClock, type Clock, type Timer } from '../../../api/clock.js';
import { formatDuration } from '../../../api/duration.js';
import type { HealthConfig, HealthState } from '../../../api/types.js';
import { formatMillis } from './timestamps.js';

const NS_PER_MS = 1e6;

export const DEFAULT_INTERVAL_MS = 30_000;
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_START_INTERVAL_MS = 5_000;
export const DEFAULT_RETRIES = 3;
/** Docker keeps the last five results. */
export const MAX_LOG_ENTRIES = 5;

/** A healthcheck with Docker's defaults applied. */
export interface HealthSettings {
  /** The probe's command line: `CMD` arguments as given, `CMD-SHELL` through `/bin/sh -c`. */
  argv: string[];
  intervalMs: number;
  timeoutMs: number;
  /** Kept in nanoseconds too, for Docker's timeout message. */
  timeoutNs: number;
  retries: number;
  startPeriodMs: number;
  startIntervalMs: number;
}

/**
 * The settings of a healthcheck that is on; undefined when there is none: no test (an image would supply
 * one; we have none), `NONE`, or a test type Docker does not know (Docker logs and ignores it too).
 */
export function healthSettings(config: HealthConfig | undefined): HealthSettings | undefined {
  const [kind, ...rest] = config?.Test ?? [];
  let argv: string[];
  if (kind === 'CMD' && rest.length > 0) argv = rest;
  // Docker appends every element after CMD-SHELL to the shell (extra ones become $0, $1, …).
  else if (kind === 'CMD-SHELL' && rest.length > 0) argv = ['/bin/sh', '-c', ...rest];
  else return undefined;
  const ms = (ns: number | undefined, fallback: number): number => (ns ? ns / NS_PER_MS : fallback);
  const timeoutNs = config?.Timeout || DEFAULT_TIMEOUT_MS * NS_PER_MS;
  return {
    argv,
    intervalMs: ms(config?.Interval, DEFAULT_INTERVAL_MS),
    timeoutMs: timeoutNs / NS_PER_MS,
    timeoutNs,
    retries: config?.Retries && config.Retries > 0 ? config.Retries : DEFAULT_RETRIES,
    startPeriodMs: ms(config?.StartPeriod, 0),
    startIntervalMs: ms(config?.StartInterval, DEFAULT_START_INTERVAL_MS),
  };
}

export interface ProbeOutcome {
  exitCode: number;
  output: string;
  /** When the probe was started and ended, ms since the epoch. */
  startMs: number;
  endMs: number;
}

export const initialHealth = (): HealthState => ({ Status: 'starting', FailingStreak: 0, Log: [] });

/**
 * The state after one probe. A success makes the task healthy; a failure adds to the streak — except
 * while the task is still starting and within its start period — and `retries` failures in a row make
 * it unhealthy.
 */
export function applyProbeResult(
  state: HealthState,
  outcome: ProbeOutcome,
  settings: HealthSettings,
  taskStartedMs: number,
): HealthState {
  const entry = {
    Start: formatMillis(outcome.startMs),
    End: formatMillis(outcome.endMs),
    ExitCode: outcome.exitCode,
    Output: outcome.output,
  };
  const Log = [...state.Log, entry].slice(-MAX_LOG_ENTRIES);
  if (outcome.exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log };
  const inStartPeriod =
    state.Status === 'starting' && outcome.startMs - taskStartedMs < settings.startPeriodMs;
  if (inStartPeriod) return { ...state, Log };
  const FailingStreak = state.FailingStreak + 1;
  return { Status: FailingStreak >= settings.retries ? 'unhealthy' : state.Status, FailingStreak, Log };
}

/** Time until the next probe: the start interval while starting within the start period, else the interval. */
export function nextProbeDelay(
  state: HealthState,
  settings: HealthSettings,
  nowMs: number,
  taskStartedMs: number,
): number {
  if (nowMs - taskStartedMs >= settings.startPeriodMs) return settings.intervalMs;
  return state.Status === 'starting' ? settings.startIntervalMs : settings.intervalMs;
}

/** Docker's result for a probe that ran out of time. */
export function timeoutOutput(settings: HealthSettings, output: string): string {
  const message = `Health check exceeded timeout (${formatDuration(settings.timeoutNs)})`;
  return output === '' ? message : `${message}: ${output}`;
}

/** Runs one probe; `timedOut` results are turned into Docker's message by the monitor. */
export type RunProbe = (
  argv: string[],
  timeoutMs: number,
) => Promise<{ exitCode: number; output: string; timedOut: boolean }>;

export type HealthVerdict = 'healthy' | 'unhealthy';

export interface HealthMonitorOptions {
  settings: HealthSettings;
  taskStartedMs: number;
  runProbe: RunProbe;
  clock?: Clock;
  /** Called on every status change. */
  onStatus?: (status: HealthState['Status']) => void;
}

/** Probes a task on schedule, one probe at a time, until stopped. */
export class HealthMonitor {
  private current: HealthState = initialHealth();
  private timer: Timer | undefined;
  private stopped = false;
  private readonly clock: Clock;
  private readonly verdictWaiters: ((verdict: HealthVerdict) => void)[] = [];
  private readonly unhealthyWaiters: (() => void)[] = [];

  constructor(private readonly options: HealthMonitorOptions) {
    this.clock = options.clock ?? systemClock;
  }

  state(): HealthState {
    return this.current;
  }

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  /** The first time the task is found healthy or unhealthy. */
  firstVerdict(): Promise<HealthVerdict> {
    const status = this.current.Status;
    if (status === 'healthy' || status === 'unhealthy') return Promise.resolve(status);
    return new Promise((resolve) => this.verdictWaiters.push(resolve));
  }

  /** Resolves when the task becomes unhealthy (never, if it does not). */
  unhealthy(): Promise<void> {
    if (this.current.Status === 'unhealthy') return Promise.resolve();
    return new Promise((resolve) => this.unhealthyWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.stopped) return;
    const { settings, taskStartedMs } = this.options;
    const delay = nextProbeDelay(this.current, settings, this.clock.now(), taskStartedMs);
    this.timer = this.clock.setTimer(delay, () => void this.probeOnce());
  }

  private async probeOnce(): Promise<void> {
    if (this.stopped) return;
    const { settings, taskStartedMs, runProbe } = this.options;
    const startMs = this.clock.now();
    let exitCode: number;
    let output: string;
    try {
      const result = await runProbe(settings.argv, settings.timeoutMs);
      exitCode = result.timedOut ? -1 : result.exitCode;
      output = result.timedOut ? timeoutOutput(settings, result.output) : result.output;
    } catch (err) {
      exitCode = -1;
      output = err instanceof Error ? err.message : String(err);
    }
    // Docker drops the result of a probe that finished after monitoring stopped.
    if (this.stopped) return;
    const before = this.current.Status;
    this.current = applyProbeResult(
      this.current,
      { exitCode, output, startMs, endMs: this.clock.now() },
      settings,
      taskStartedMs,
    );
    const after = this.current.Status;
    if (after !== before) this.announce(after);
    this.schedule();
  }

  private announce(status: HealthState['Status']): void {
    this.options.onStatus?.(status);
    if (status === 'healthy' || status === 'unhealthy')
      for (const resolve of this.verdictWaiters.splice(0)) resolve(status);
    if (status === 'unhealthy') for (const resolve of this.unhealthyWaiters.splice(0)) resolve();
  }
}
