// The process executor running real processes through its runner: exit codes, errors, stop signals and
// grace periods, environment, user, working dir, hostname, remove.

import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExitError, type Controller } from '../../../src/agent/executor/executor.js';
import {
  collectLogs,
  harness,
  isAlive,
  makeTask,
  MS,
  outcome,
  run,
  taskCgroupDirs,
  text,
  waitFor,
  type Harness,
} from './helpers.js';

/** The first line of the task's output that is `expected` (or matches it), as soon as it is written. */
async function logLine(controller: Controller, expected: string | RegExp): Promise<string> {
  const abort = new AbortController();
  try {
    for await (const line of controller.logs({ follow: true, stdout: true, stderr: true }, abort.signal)) {
      const data = line.data.toString();
      if (typeof expected === 'string' ? data === expected : expected.test(data)) return data;
    }
  } finally {
    abort.abort();
  }
  throw new Error(`the task ended without printing ${String(expected)}`);
}

describe('process executor: task lifecycle', { timeout: 60_000 }, () => {
  let h: Harness;
  before(() => {
    h = harness();
  });
  after(() => h.cleanup());

  it('reports exit 0 as success and keeps the exit code', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['true'] }));
    await run(controller);
    await controller.wait();
    assert.equal(controller.containerStatus().ExitCode, 0);
    assert.match(controller.containerStatus().ContainerID ?? '', /^[0-9a-f]{64}$/);
  });

  it('reports a non-zero exit as ExitError with Docker’s text', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sh', '-c', 'exit 3'] }));
    await run(controller);
    const error = await controller.wait().catch((err: unknown) => err);
    assert.ok(error instanceof ExitError);
    assert.equal(error.exitCode, 3);
    assert.equal(error.message, 'task: non-zero exit (3)');
    assert.equal(controller.containerStatus().ExitCode, 3);
  });

  it('reports death by a signal as 128 + its number', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sh', '-c', 'kill -KILL $$'] }));
    await run(controller);
    assert.deepEqual(await outcome(controller.wait()), {
      message: 'task: non-zero exit (137)',
      exitCode: 137,
    });
  });

  it('runs Args alone when there is no Command', async () => {
    const controller = h.executor.controller(makeTask({ Args: ['sh', '-c', 'echo args-only'] }));
    await run(controller);
    await controller.wait();
    assert.deepEqual(text(await collectLogs(controller)), ['args-only\n']);
  });

  it('fails to prepare a task with no command, like Docker for an image without one', async () => {
    const controller = h.executor.controller(makeTask({ Image: 'nginx' }));
    await assert.rejects(controller.prepare(), { message: 'no command specified' });
  });

  it('fails to start a missing executable with Docker’s text', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['no-such-program-here'] }));
    await controller.prepare();
    await assert.rejects(controller.start(), {
      message: 'starting container failed: exec: "no-such-program-here": executable file not found in $PATH',
    });
  });

  it('fails to start in a missing working dir', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['true'], Dir: '/no/such/dir' }));
    await controller.prepare();
    await assert.rejects(controller.start(), {
      message:
        'starting container failed: chdir to cwd ("/no/such/dir") set in config.json failed: no such file or directory',
    });
  });

  it('fails to prepare for an unknown user', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['true'], User: 'no-such-user' }));
    await assert.rejects(controller.prepare(), {
      message: 'unable to find user no-such-user: no matching entries in passwd file',
    });
  });

  it('runs with the spec’s environment, working dir and user', async () => {
    const controller = h.executor.controller(
      makeTask({
        Command: ['sh', '-c', 'echo "$FOO|$(pwd)|$(id -u):$(id -g)|$HOME|$HOSTNAME|$PATH"'],
        Env: ['FOO=bar'],
        Dir: '/tmp',
        User: 'nobody',
      }),
    );
    await run(controller);
    await controller.wait();
    assert.deepEqual(text(await collectLogs(controller)), [
      `bar|/tmp|65534:65534|/nonexistent|${hostname()}|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n`,
    ]);
  });

  it(
    'gives a task its own hostname in a UTS namespace (root only)',
    { skip: process.getuid?.() !== 0 },
    async () => {
      const controller = h.executor.controller(
        makeTask({
          Command: ['sh', '-c', 'cat /proc/sys/kernel/hostname; echo $HOSTNAME'],
          Hostname: 'task-host-1',
        }),
      );
      await run(controller);
      await controller.wait();
      assert.deepEqual(text(await collectLogs(controller)), ['task-host-1\n', 'task-host-1\n']);
      assert.notEqual(hostname(), 'task-host-1');
    },
  );

  it('runs tasks with umask 022, like Docker containers, while the runner’s own files stay private', async () => {
    const task = makeTask({ Command: ['sh', '-c', 'umask; touch made-by-task'], Dir: h.dataDir });
    const controller = h.executor.controller(task);
    await run(controller);
    await controller.wait();
    assert.deepEqual(text(await collectLogs(controller)), ['0022\n']);
    assert.equal(statSync(join(h.dataDir, 'made-by-task')).mode & 0o777, 0o644);
    const dir = join(h.dataDir, 'process-executor', 'tasks', task.ID);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'state.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'log.jsonl')).mode & 0o777, 0o600);
  });

  it('stops with SIGTERM by default', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sleep', '1000'] }));
    await run(controller);
    const started = Date.now();
    await controller.shutdown();
    // Well before the default 10 s grace period: SIGTERM stopped it, no SIGKILL was needed.
    assert.ok(Date.now() - started < 9000);
    assert.deepEqual(await outcome(controller.wait()), {
      message: 'task: non-zero exit (143)',
      exitCode: 143,
    });
  });

  it('sends the stop signal, waits the grace period, then SIGKILLs the whole task', async () => {
    const script = 'trap "echo got TERM" TERM; echo trapped; sleep 1000 & while true; do sleep 0.05; done';
    const controller = h.executor.controller(
      makeTask({ Command: ['sh', '-c', script], StopGracePeriod: 700 * MS }),
    );
    await run(controller);
    await logLine(controller, 'trapped\n'); // the trap is installed: SIGTERM is ignored from here on
    const started = Date.now();
    await controller.shutdown();
    const took = Date.now() - started;
    // The grace period was waited out (the trap ignores SIGTERM), and then the task was killed.
    assert.ok(took >= 650 && took < 9000, `shutdown took ${took} ms`);
    assert.deepEqual(await outcome(controller.wait()), {
      message: 'task: non-zero exit (137)',
      exitCode: 137,
    });
    assert.deepEqual(text(await collectLogs(controller)), ['trapped\n', 'got TERM\n']);
  });

  it('uses the spec’s StopSignal', async () => {
    const script = 'trap "echo got USR1; exit 0" USR1; echo trapped; while true; do sleep 0.05; done';
    const controller = h.executor.controller(
      makeTask({ Command: ['sh', '-c', script], StopSignal: 'SIGUSR1' }),
    );
    await run(controller);
    await logLine(controller, 'trapped\n'); // SIGUSR1 would have killed it before the trap
    await controller.shutdown();
    await controller.wait();
    assert.deepEqual(text(await collectLogs(controller)), ['trapped\n', 'got USR1\n']);
  });

  it('kills at once on terminate, children included', async () => {
    const controller = h.executor.controller(
      makeTask({ Command: ['sh', '-c', 'sleep 1000 & echo $!; wait'] }),
    );
    await run(controller);
    const child = Number(await logLine(controller, /^\d+\n$/));
    assert.ok(isAlive(child));
    await controller.terminate();
    assert.equal((await outcome(controller.wait())).exitCode, 137);
    await waitFor(() => !isAlive(child), 5000);
    assert.equal(isAlive(child), false);
  });

  it('takes the rest of the task down when the main process exits', async () => {
    const controller = h.executor.controller(makeTask({ Command: ['sh', '-c', 'sleep 1000 & echo $!'] }));
    await run(controller);
    await controller.wait();
    const child = Number(text(await collectLogs(controller))[0]);
    assert.ok(child > 0);
    // SIGKILL went to the whole task before the exit was reported; its delivery is asynchronous.
    await waitFor(() => !isAlive(child), 5000);
    assert.equal(isAlive(child), false);
  });

  it('is shut down idempotently, including before start', async () => {
    const never = h.executor.controller(makeTask({ Command: ['sleep', '1000'] }));
    await never.prepare();
    await never.shutdown();
    const controller = h.executor.controller(makeTask({ Command: ['sleep', '1000'] }));
    await run(controller);
    await Promise.all([controller.shutdown(), controller.shutdown()]);
    await controller.shutdown();
    assert.equal(controller.containerStatus().ExitCode, 143);
  });

  it('removes the task’s folder and cgroups, shutting a running task down first', async () => {
    const task = makeTask({ Command: ['sleep', '1000'] });
    const controller = h.executor.controller(task);
    await run(controller);
    const dir = join(h.dataDir, 'process-executor', 'tasks', task.ID);
    const cgroups = taskCgroupDirs((await h.executor.runnerInfo()).scope, task.ID);
    assert.ok(existsSync(dir));
    for (const cgroup of cgroups) assert.ok(existsSync(cgroup), cgroup);
    await controller.remove();
    assert.equal(existsSync(dir), false);
    for (const cgroup of cgroups) assert.equal(existsSync(cgroup), false, cgroup);
    assert.equal(controller.containerStatus().ExitCode, 143);
  });

  it('hands out one controller per task and never starts a task twice', async () => {
    const task = makeTask({ Command: ['sleep', '1000'] });
    const first = h.executor.controller(task);
    assert.equal(h.executor.controller(task), first);
    await run(first);
    const pid = first.containerStatus().PID;
    await first.start();
    assert.equal(first.containerStatus().PID, pid);
    await first.remove();
    assert.notEqual(h.executor.controller(task), first);
  });
});
