// Tasks outlive the daemon: a daemon killed with SIGKILL finds its tasks again (never duplicated, exit codes
// kept); a runner killed with SIGKILL is replaced and its leftovers are killed; data dirs never mix.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Task } from '../../../src/api/types.js';
import { ExitError } from '../../../src/agent/executor/executor.js';
import { EXECUTOR_DIR_NAME } from '../../../src/agent/executor/process/paths.js';
import {
  harness,
  isAlive,
  makeTask,
  outcome,
  readLog,
  run,
  taskCgroupDirs,
  text,
  waitFor,
} from './helpers.js';

const OWNER = fileURLToPath(new URL('./fixtures/owner.js', import.meta.url));

/** Starts the task from a separate "daemon" process, then kills that process with SIGKILL. */
async function startInDaemonThenKillIt(
  dataDir: string,
  task: Task,
): Promise<{ pid: number; runner: number }> {
  const owner = spawn(process.execPath, [OWNER, dataDir, JSON.stringify(task)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const firstLine = async (): Promise<string> => {
      for await (const line of createInterface({ input: owner.stdout })) return line;
      throw new Error('owner closed its output');
    };
    const line = await Promise.race([
      firstLine(),
      new Promise<never>((_, reject) =>
        owner.once('exit', (code) => reject(new Error(`owner exited ${code}`))),
      ),
    ]);
    return JSON.parse(line) as { pid: number; runner: number };
  } finally {
    owner.kill('SIGKILL');
    await new Promise((resolve) =>
      owner.exitCode !== null || owner.signalCode !== null ? resolve(null) : owner.once('exit', resolve),
    );
  }
}

/** The state the runner recorded for a task in its state file (undefined before it wrote one). */
function recordedState(dataDir: string, taskId: string): string | undefined {
  try {
    const path = join(dataDir, EXECUTOR_DIR_NAME, 'tasks', taskId, 'state.json');
    return (JSON.parse(readFileSync(path, 'utf8')) as { state?: string }).state;
  } catch {
    return undefined;
  }
}

describe('process executor: recovery', { timeout: 60_000 }, () => {
  it('re-adopts a task after its daemon is killed, and later gets its exit code', async (t) => {
    const h = harness(t);
    const task = makeTask({ Command: ['sh', '-c', 'sleep 1.5; exit 7'] });
    const { pid } = await startInDaemonThenKillIt(h.dataDir, task);
    assert.ok(isAlive(pid), 'the task survived its daemon');

    const executor = h.newExecutor();
    const recovered = await executor.recover();
    assert.deepEqual(
      recovered.map((r) => [r.taskId, r.running, r.status?.ContainerStatus?.PID]),
      [[task.ID, true, pid]],
    );
    const controller = executor.controller(task);
    await run(controller); // re-attaches: prepare and start do nothing new
    assert.equal(controller.containerStatus().PID, pid, 'the same process, not a second one');
    const error = await controller.wait().catch((err: unknown) => err);
    assert.ok(error instanceof ExitError);
    assert.equal(error.exitCode, 7);
  });

  it('keeps the exit code of a task that ended while no daemon was running', async (t) => {
    const h = harness(t);
    const task = makeTask({ Command: ['sh', '-c', 'sleep 0.2; exit 5'] });
    const { pid } = await startInDaemonThenKillIt(h.dataDir, task);
    // The runner, still running, records the exit in the task's state file the moment it reaps it.
    await waitFor(
      () => recordedState(h.dataDir, task.ID) === 'exited',
      10_000,
      'the runner to record the exit',
    );
    assert.equal(isAlive(pid), false);

    const executor = h.newExecutor();
    assert.deepEqual(await executor.recover(), [
      {
        taskId: task.ID,
        running: false,
        status: {
          State: 'failed',
          Err: 'task: non-zero exit (5)',
          ContainerStatus: {
            ContainerID: (await executor.controller(task).containerStatus()).ContainerID,
            ExitCode: 5,
          },
        },
      },
    ]);
    const controller = executor.controller(task);
    await run(controller); // never started again
    assert.deepEqual(await outcome(controller.wait()), { message: 'task: non-zero exit (5)', exitCode: 5 });
  });

  it('replaces a killed runner and kills the tasks it left unsupervised', async (t) => {
    const h = harness(t);
    const task = makeTask({ Command: ['sh', '-c', 'sleep 1000 & exec sleep 1000'] });
    const controller = h.executor.controller(task);
    await run(controller);
    const pid = controller.containerStatus().PID!;
    const { pid: runnerPid, scope } = await h.executor.runnerInfo();
    const waiting = outcome(controller.wait());

    process.kill(runnerPid, 'SIGKILL');
    await waitFor(() => !isAlive(runnerPid), 5000, 'the runner to die');
    assert.ok(isAlive(pid), 'the task outlived its runner for now');

    // The next request starts a new runner, which kills the leftovers before it answers.
    const recovered = await h.executor.recover();
    assert.equal(recovered.length, 1);
    assert.equal(recovered[0]?.running, false);
    assert.equal(recovered[0]?.status?.ContainerStatus?.ExitCode, 137);
    assert.equal(recovered[0]?.status?.Err, 'task: non-zero exit (137): task runner stopped unexpectedly');
    assert.notEqual((await h.executor.runnerInfo()).pid, runnerPid);
    await waitFor(() => !isAlive(pid), 2000, 'the leftover task to be gone');
    for (const dir of taskCgroupDirs(scope, task.ID)) {
      assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8'), '', `${dir} is empty`);
    }
    // The controller's pending wait followed the runner over.
    assert.deepEqual(await waiting, {
      message: 'task: non-zero exit (137): task runner stopped unexpectedly',
      exitCode: 137,
    });
  });

  it('without cgroups, still stops whole tasks and cleans up after a killed runner', async (t) => {
    const h = harness(t, { cgroups: false });
    assert.equal((await h.executor.runnerInfo()).cgroups, 'none');
    const task = makeTask({ Command: ['sh', '-c', 'sleep 1000 & echo $!; exec sleep 1000'] });
    const controller = h.executor.controller(task);
    await run(controller);
    const pid = controller.containerStatus().PID!;
    let child = 0;
    await waitFor(
      () => (child = Number(text(readLog(h.dataDir, task.ID))[0] ?? 0)) > 0,
      2000,
      'the child pid',
    );

    const { pid: runnerPid } = await h.executor.runnerInfo();
    process.kill(runnerPid, 'SIGKILL');
    await waitFor(() => !isAlive(runnerPid), 5000, 'the runner to die');
    const recovered = await h.executor.recover(); // a new runner: finds the group by pid + start time
    assert.equal(recovered[0]?.status?.ContainerStatus?.ExitCode, 137);
    await waitFor(() => !isAlive(pid) && !isAlive(child), 2000, 'the task and its child to be gone');
  });

  it('leaves the runner and its tasks running on close()', async (t) => {
    const h = harness(t);
    const task = makeTask({ Command: ['sleep', '1000'] });
    const controller = h.executor.controller(task);
    await run(controller);
    const pid = controller.containerStatus().PID!;
    await h.executor.close();
    await assert.rejects(h.executor.recover(), /closed/);
    assert.ok(isAlive(pid));
    const recovered = await h.newExecutor().recover();
    assert.deepEqual(
      recovered.map((r) => [r.taskId, r.running]),
      [[task.ID, true]],
    );
  });

  it('keeps executors of different data dirs apart', async (t) => {
    const a = harness(t);
    const b = harness(t);
    const task = makeTask({ Command: ['sleep', '1000'] });
    const inA = a.executor.controller(task);
    await run(inA);
    const [runnerA, runnerB] = await Promise.all([a.executor.runnerInfo(), b.executor.runnerInfo()]);
    assert.notEqual(runnerA.pid, runnerB.pid);
    assert.notEqual(runnerA.scope, runnerB.scope);
    assert.deepEqual(await b.executor.recover(), []);

    // The same task ID on the other node is a different process in a different cgroup.
    const inB = b.executor.controller(task);
    await run(inB);
    assert.notEqual(inB.containerStatus().PID, inA.containerStatus().PID);
    assert.notDeepEqual(taskCgroupDirs(runnerA.scope, task.ID), taskCgroupDirs(runnerB.scope, task.ID));

    await b.executor.shutdownRunner({ purge: true });
    assert.ok(isAlive(inA.containerStatus().PID!), 'stopping one node’s runner left the other’s task alone');
    assert.deepEqual(
      (await a.executor.recover()).map((r) => r.running),
      [true],
    );
  });

  it('purges for a leave: kills every task and deletes their folders and cgroups, so none is recovered', async (t) => {
    const h = harness(t);
    const task = makeTask({ Command: ['sh', '-c', 'sleep 1000 & exec sleep 1000'] });
    const controller = h.executor.controller(task);
    await run(controller);
    const pid = controller.containerStatus().PID!;
    const { scope } = await h.executor.runnerInfo();
    const cgroups = taskCgroupDirs(scope, task.ID);
    await h.executor.purge();
    await waitFor(() => !isAlive(pid), 2000, 'the task to be gone');
    assert.equal(existsSync(join(h.dataDir, 'process-executor', 'tasks', task.ID)), false);
    for (const dir of cgroups) assert.equal(existsSync(dir), false, dir);
    assert.deepEqual(await h.newExecutor().recover(), []);
  });

  it('serves its socket to root only', async (t) => {
    const h = harness(t);
    await h.executor.runnerInfo();
    const root = join(h.dataDir, 'process-executor');
    assert.equal(statSync(root).mode & 0o777, 0o700);
    assert.equal(statSync(join(root, 'runner.sock')).mode & 0o777, 0o600);
  });
});
