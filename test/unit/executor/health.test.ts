import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HealthState } from '../../../src/api/types.js';
import {
  applyProbeResult,
  HealthMonitor,
  healthSettings,
  nextProbeDelay,
  type HealthSettings,
  type RunProbe,
} from '../../../src/agent/executor/process/health.js';
import { FakeClock, settle } from '../support/fake-clock.js';

const MS = 1e6; // nanoseconds per millisecond
const SECOND = 1000 * MS;

describe('healthSettings', () => {
  it('is off without a test, for NONE and for unknown test types', () => {
    assert.equal(healthSettings(undefined), undefined);
    assert.equal(healthSettings({ Test: [] }), undefined);
    assert.equal(healthSettings({ Test: ['NONE'] }), undefined);
    assert.equal(healthSettings({ Test: ['WHAT', 'x'] }), undefined);
  });

  it('applies Docker’s defaults', () => {
    assert.deepEqual(healthSettings({ Test: ['CMD', 'true'] }), {
      argv: ['true'],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      timeoutNs: 30 * SECOND,
      retries: 3,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
    });
  });

  it('runs CMD-SHELL through /bin/sh -c', () => {
    const settings = healthSettings({
      Test: ['CMD-SHELL', 'curl -f localhost || exit 1'],
      Interval: 2 * SECOND,
    });
    assert.deepEqual(settings?.argv, ['/bin/sh', '-c', 'curl -f localhost || exit 1']);
    assert.equal(settings?.intervalMs, 2000);
  });
});

const settings = (overrides: Partial<HealthSettings> = {}): HealthSettings => ({
  argv: ['true'],
  intervalMs: 1000,
  timeoutMs: 500,
  timeoutNs: 500 * MS,
  retries: 3,
  startPeriodMs: 0,
  startIntervalMs: 100,
  ...overrides,
});
const starting = (): HealthState => ({ Status: 'starting', FailingStreak: 0, Log: [] });
const probe = (exitCode: number, startMs: number) => ({
  exitCode,
  output: `exit ${exitCode}`,
  startMs,
  endMs: startMs + 5,
});

describe('applyProbeResult', () => {
  it('becomes healthy on the first success and resets the streak', () => {
    const failing = { Status: 'starting', FailingStreak: 2, Log: [] } satisfies HealthState;
    const next = applyProbeResult(failing, probe(0, 10), settings(), 0);
    assert.equal(next.Status, 'healthy');
    assert.equal(next.FailingStreak, 0);
    assert.equal(next.Log[0]?.ExitCode, 0);
  });

  it('becomes unhealthy after `retries` failures in a row', () => {
    let state = starting();
    state = applyProbeResult(state, probe(1, 10), settings(), 0);
    state = applyProbeResult(state, probe(1, 20), settings(), 0);
    assert.equal(state.Status, 'starting');
    assert.equal(state.FailingStreak, 2);
    state = applyProbeResult(state, probe(1, 30), settings(), 0);
    assert.equal(state.Status, 'unhealthy');
  });

  it('does not count failures during the start period while starting', () => {
    const inside = applyProbeResult(starting(), probe(1, 999), settings({ startPeriodMs: 1000 }), 0);
    assert.equal(inside.FailingStreak, 0);
    assert.equal(inside.Log.length, 1);
    const after = applyProbeResult(starting(), probe(1, 1000), settings({ startPeriodMs: 1000 }), 0);
    assert.equal(after.FailingStreak, 1);
  });

  it('counts failures in the start period once the task has been healthy', () => {
    const healthy = { Status: 'healthy', FailingStreak: 0, Log: [] } satisfies HealthState;
    const next = applyProbeResult(healthy, probe(1, 10), settings({ startPeriodMs: 1000 }), 0);
    assert.equal(next.FailingStreak, 1);
    assert.equal(next.Status, 'healthy');
  });

  it('keeps the last five results', () => {
    let state = starting();
    for (let i = 0; i < 7; i++) state = applyProbeResult(state, probe(0, i * 100), settings(), 0);
    assert.equal(state.Log.length, 5);
    assert.equal(state.Log[0]?.Start, new Date(200).toISOString().replace('Z', '000000Z'));
  });
});

describe('nextProbeDelay', () => {
  const s = settings({ startPeriodMs: 10_000, startIntervalMs: 100, intervalMs: 1000 });
  it('uses the start interval while starting within the start period', () => {
    assert.equal(nextProbeDelay(starting(), s, 5_000, 0), 100);
  });
  it('uses the interval once healthy or past the start period', () => {
    assert.equal(nextProbeDelay({ ...starting(), Status: 'healthy' }, s, 5_000, 0), 1000);
    assert.equal(nextProbeDelay(starting(), s, 10_000, 0), 1000);
    assert.equal(nextProbeDelay(starting(), settings(), 0, 0), 1000);
  });
});

describe('HealthMonitor', () => {
  /** A probe whose results are scripted and that takes `durationMs` of fake time. */
  function scriptedProbe(clock: FakeClock, results: number[], durationMs = 10) {
    const calls: number[] = [];
    let running = 0;
    let maxRunning = 0;
    const run: RunProbe = (_argv, timeoutMs) =>
      new Promise((resolve) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        calls.push(clock.now());
        const exitCode = results.shift() ?? 0;
        const timedOut = durationMs > timeoutMs;
        clock.setTimer(Math.min(durationMs, timeoutMs), () => {
          running--;
          resolve({ exitCode, output: '', timedOut });
        });
      });
    return { run, calls, maxRunning: () => maxRunning };
  }

  it('reports healthy after the first successful probe, one interval in', async () => {
    const clock = new FakeClock();
    const probe = scriptedProbe(clock, [0]);
    const statuses: string[] = [];
    const monitor = new HealthMonitor({
      settings: settings(),
      taskStartedMs: clock.now(),
      runProbe: probe.run,
      clock,
      onStatus: (s) => statuses.push(s),
    });
    monitor.start();
    const verdict = monitor.firstVerdict();
    await clock.advance(999);
    assert.equal(monitor.state().Status, 'starting');
    await clock.advance(20);
    assert.equal(await verdict, 'healthy');
    assert.deepEqual(statuses, ['healthy']);
    monitor.stop();
  });

  it('reports unhealthy after `retries` failures, and says so to unhealthy() waiters', async () => {
    const clock = new FakeClock();
    const probe = scriptedProbe(clock, [1, 1, 1]);
    const monitor = new HealthMonitor({
      settings: settings(),
      taskStartedMs: clock.now(),
      runProbe: probe.run,
      clock,
    });
    monitor.start();
    let unhealthy = false;
    void monitor.unhealthy().then(() => (unhealthy = true));
    await clock.advance(3100);
    assert.equal(await monitor.firstVerdict(), 'unhealthy');
    assert.equal(unhealthy, true);
    assert.equal(monitor.state().FailingStreak, 3);
    monitor.stop();
  });

  it('probes at the start interval during the start period and ignores failures there', async () => {
    const clock = new FakeClock();
    const probe = scriptedProbe(clock, [1, 1, 1, 1, 0]);
    const monitor = new HealthMonitor({
      settings: settings({ startPeriodMs: 1000, startIntervalMs: 100 }),
      taskStartedMs: clock.now(),
      runProbe: probe.run,
      clock,
    });
    monitor.start();
    await clock.advance(600);
    assert.equal(monitor.state().Status, 'healthy');
    assert.equal(monitor.state().FailingStreak, 0);
    assert.equal(probe.calls.length, 5);
    monitor.stop();
  });

  it('never runs two probes at once, however slow they are', async () => {
    const clock = new FakeClock();
    const probe = scriptedProbe(clock, [], 5000); // longer than the interval, cut by the timeout
    const monitor = new HealthMonitor({
      settings: settings({ intervalMs: 100, timeoutMs: 400, timeoutNs: 400 * MS, retries: 100 }),
      taskStartedMs: clock.now(),
      runProbe: probe.run,
      clock,
    });
    monitor.start();
    await clock.advance(5000);
    assert.equal(probe.maxRunning(), 1);
    // Each probe starts one interval after the previous one ended.
    assert.deepEqual(
      probe.calls.slice(0, 3),
      [100, 600, 1100].map((ms) => probe.calls[0]! - 100 + ms),
    );
    assert.equal(monitor.state().Log.at(-1)?.Output, 'Health check exceeded timeout (400ms)');
    assert.equal(monitor.state().Log.at(-1)?.ExitCode, -1);
    monitor.stop();
  });

  it('records a probe that could not run as exit code -1 with the error', async () => {
    const clock = new FakeClock();
    const monitor = new HealthMonitor({
      settings: settings(),
      taskStartedMs: clock.now(),
      runProbe: () => Promise.reject(new Error('container is not running')),
      clock,
    });
    monitor.start();
    await clock.advance(1000);
    assert.deepEqual(
      monitor.state().Log.map((entry) => [entry.ExitCode, entry.Output]),
      [[-1, 'container is not running']],
    );
    monitor.stop();
  });

  it('drops the result of a probe that ends after stop()', async () => {
    const clock = new FakeClock();
    const probe = scriptedProbe(clock, [0], 100);
    const monitor = new HealthMonitor({
      settings: settings(),
      taskStartedMs: clock.now(),
      runProbe: probe.run,
      clock,
    });
    monitor.start();
    await clock.advance(1050); // probe in flight
    monitor.stop();
    await clock.advance(100);
    await settle();
    assert.equal(monitor.state().Status, 'starting');
    assert.equal(monitor.state().Log.length, 0);
  });
});
