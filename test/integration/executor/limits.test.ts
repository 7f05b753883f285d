// Resource limits land in the task's cgroups (cgroup v1 or v2, whichever the machine has).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { harness, makeTask, outcome, run, taskCgroupDirs, waitFor, type Harness } from './helpers.js';

describe('process executor: resource limits', { timeout: 60_000 }, () => {
  let h: Harness;
  let driver: string;
  let scope: string;
  before(async () => {
    h = harness();
    ({ cgroups: driver, scope } = await h.executor.runnerInfo());
  });
  after(() => h.cleanup());

  /** The first of the task's cgroup folders that has `file`. */
  const read = (taskId: string, file: string): string => {
    for (const dir of taskCgroupDirs(scope, taskId)) {
      try {
        return readFileSync(join(dir, file), 'utf8').trim();
      } catch {
        // another hierarchy
      }
    }
    throw new Error(`no cgroup file ${file} for ${taskId}`);
  };

  it('writes memory, CPU and pids limits and puts the process in the cgroup', async (t) => {
    if (driver === 'none') return t.skip('no usable cgroups on this machine');
    const task = makeTask(
      { Command: ['sleep', '1000'] },
      { Resources: { Limits: { MemoryBytes: 64 * 1024 * 1024, NanoCPUs: 0.5e9, Pids: 20 } } },
    );
    const controller = h.executor.controller(task);
    await run(controller);
    if (driver === 'v1') {
      assert.equal(read(task.ID, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
      assert.equal(read(task.ID, 'cpu.cfs_period_us'), '100000');
      assert.equal(read(task.ID, 'cpu.cfs_quota_us'), '50000');
    } else {
      assert.equal(read(task.ID, 'memory.max'), String(64 * 1024 * 1024));
      assert.equal(read(task.ID, 'cpu.max'), '50000 100000');
    }
    assert.equal(read(task.ID, 'pids.max'), '20');
    // The process joins its cgroups as its first step, a moment after start() has returned.
    const pid = String(controller.containerStatus().PID);
    await waitFor(
      () => read(task.ID, 'cgroup.procs').split('\n').includes(pid),
      2000,
      'the task to join its cgroup',
    );
    await controller.remove();
  });

  it('gets a task over its memory limit OOM-killed (exit 137)', async (t) => {
    if (driver === 'none') return t.skip('no usable cgroups on this machine');
    const controller = h.executor.controller(
      makeTask(
        { Command: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'] },
        { Resources: { Limits: { MemoryBytes: 32 * 1024 * 1024 } } },
      ),
    );
    await run(controller);
    assert.equal((await outcome(controller.wait())).exitCode, 137);
  });
});
