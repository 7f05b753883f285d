// Health checks run by the executor: start waits for healthy, unhealthy tasks are stopped and fail.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { ExitError } from '../../../src/agent/executor/executor.js';
import { newId } from '../../../src/api/ids.js';
import type { HealthConfig } from '../../../src/api/types.js';
import { harness, makeTask, MS, outcome, run, withTimeout, type Harness } from './helpers.js';

describe('process executor: health checks', { timeout: 60_000 }, () => {
  let h: Harness;
  before(() => {
    h = harness();
  });
  after(() => h.cleanup());

  it('starts only once healthy, probing in the task’s environment, user, dir and cgroup', async () => {
    const probe = [
      'test "$FOO" = bar',
      'test "$(id -u)" = 65534',
      'test "$(pwd)" = /tmp',
      'grep -q shoal /proc/self/cgroup',
    ].join(' && ');
    const controller = h.executor.controller(
      makeTask({
        Command: ['sleep', '1000'],
        Env: ['FOO=bar'],
        User: 'nobody',
        Dir: '/tmp',
        Healthcheck: { Test: ['CMD-SHELL', probe], Interval: 300 * MS },
      }),
    );
    const started = Date.now();
    await run(controller);
    assert.ok(Date.now() - started >= 250, 'start waited for the first probe');
    const health = controller.health();
    assert.equal(health?.Status, 'healthy');
    assert.equal(health?.FailingStreak, 0);
    assert.equal(health?.Log[0]?.ExitCode, 0);
    await controller.terminate();
  });

  it('does not check anything with NONE', async () => {
    const controller = h.executor.controller(
      makeTask({ Command: ['sleep', '1000'], Healthcheck: { Test: ['NONE'], Interval: 100 * MS } }),
    );
    await run(controller);
    assert.equal(controller.health(), undefined);
    await controller.terminate();
  });

  it('stops a task that never becomes healthy and fails its start with Docker’s text', async () => {
    const controller = h.executor.controller(
      makeTask({
        Command: ['sleep', '1000'],
        Healthcheck: { Test: ['CMD', 'false'], Interval: 100 * MS, Retries: 2 },
      }),
    );
    await controller.prepare();
    const error = await controller.start().catch((err: unknown) => err);
    assert.ok(error instanceof ExitError);
    assert.equal(error.exitCode, 143);
    assert.equal(error.message, 'task: non-zero exit (143): dockerexec: unhealthy container');
    assert.equal(controller.health()?.Status, 'unhealthy');
    assert.equal(controller.health()?.Log.length, 2);
  });

  it('ignores failures during the start period', async () => {
    const mark = join(h.dataDir, `ready-${Date.now()}`);
    const controller = h.executor.controller(
      makeTask({
        Command: ['sh', '-c', `sleep 0.6; touch ${mark}; exec sleep 1000`],
        Healthcheck: {
          Test: ['CMD', 'test', '-f', mark],
          Interval: 10_000 * MS,
          StartPeriod: 5_000 * MS,
          StartInterval: 100 * MS,
          Retries: 1,
        },
      }),
    );
    await run(controller);
    const health = controller.health()!;
    assert.equal(health.Status, 'healthy');
    assert.ok(
      health.Log.some((entry) => entry.ExitCode === 1),
      'there were failing probes before',
    );
    await controller.terminate();
  });

  it('stops a task that turns unhealthy later and fails its wait', async () => {
    const mark = join(h.dataDir, `broken-${Date.now()}`);
    const controller = h.executor.controller(
      makeTask({
        Command: ['sh', '-c', `sleep 0.5; touch ${mark}; exec sleep 1000`],
        Healthcheck: { Test: ['CMD-SHELL', `! test -f ${mark}`], Interval: 150 * MS, Retries: 2 },
      }),
    );
    await run(controller);
    assert.equal(controller.health()?.Status, 'healthy');
    assert.deepEqual(await outcome(controller.wait()), {
      message: 'task: non-zero exit (143): dockerexec: unhealthy container',
      exitCode: 143,
    });
  });

  it('counts a probe that exceeds its timeout as failed, with Docker’s message', async () => {
    const controller = h.executor.controller(
      makeTask({
        Command: ['sleep', '1000'],
        Healthcheck: { Test: ['CMD', 'sleep', '5'], Interval: 100 * MS, Timeout: 200 * MS, Retries: 1 },
      }),
    );
    await controller.prepare();
    assert.equal((await outcome(controller.start())).exitCode, 143);
    const [entry] = controller.health()!.Log;
    assert.equal(entry?.ExitCode, -1);
    assert.equal(entry?.Output, 'Health check exceeded timeout (200ms)');
  });

  it('records a probe whose program does not exist', async () => {
    const controller = h.executor.controller(
      makeTask({
        Command: ['sleep', '1000'],
        Healthcheck: { Test: ['CMD', 'no-such-probe'], Interval: 100 * MS, Retries: 1 },
      }),
    );
    await controller.prepare();
    await assert.rejects(controller.start(), /unhealthy container/);
    assert.match(
      controller.health()!.Log[0]!.Output,
      /exec: "no-such-probe": executable file not found in \$PATH/,
    );
  });

  it('runs probes with umask 022, like the task itself', async () => {
    const controller = h.executor.controller(
      makeTask({
        Command: ['sleep', '1000'],
        Healthcheck: { Test: ['CMD-SHELL', 'test "$(umask)" = 0022'], Interval: 100 * MS, Retries: 1 },
      }),
    );
    await run(controller);
    assert.equal(controller.health()?.Status, 'healthy');
    await controller.terminate();
  });

  describe('after a daemon restart', () => {
    /**
     * A task an earlier daemon started (before it was found healthy), and the controller a restarted
     * daemon makes for it with `healthcheck`.
     */
    async function startedByEarlierDaemon(healthcheck: HealthConfig) {
      const id = newId();
      await run(h.executor.controller(makeTask({ Command: ['sleep', '1000'] }, {}, id)));
      return h
        .newExecutor()
        .controller(makeTask({ Command: ['sleep', '1000'], Healthcheck: healthcheck }, {}, id));
    }

    it('start() re-adopts the process and resolves once it is healthy', async () => {
      const controller = await startedByEarlierDaemon({ Test: ['CMD', 'true'], Interval: 100 * MS });
      await controller.prepare();
      await controller.start();
      assert.equal(controller.health()?.Status, 'healthy');
      await controller.terminate();
    });

    it('start() fails as a fresh start does when the re-adopted process turns out unhealthy', async () => {
      const controller = await startedByEarlierDaemon({
        Test: ['CMD', 'false'],
        Interval: 100 * MS,
        Retries: 2,
      });
      await controller.prepare();
      assert.deepEqual(await outcome(controller.start()), {
        message: 'task: non-zero exit (143): dockerexec: unhealthy container',
        exitCode: 143,
      });
    });

    it('wait() on a task known as running keeps checking its health', async () => {
      const controller = await startedByEarlierDaemon({
        Test: ['CMD', 'false'],
        Interval: 100 * MS,
        Retries: 2,
      });
      assert.deepEqual(await outcome(withTimeout(controller.wait(), 10_000)), {
        message: 'task: non-zero exit (143): dockerexec: unhealthy container',
        exitCode: 143,
      });
    });
  });
});
