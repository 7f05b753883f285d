// A stop that overtakes a start (desired state went to shutdown while the task was being started): the
// task must not end up with a process that nobody stops. The controller waits for a start request already
// sent and never sends one after a stop; the runner refuses to start a task ID it was told to stop or
// remove before it knew it.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Controller } from '../../../src/agent/executor/executor.js';
import type { ProcessExecutor } from '../../../src/agent/executor/process/executor.js';
import { waitFor } from '../../harness/wait.js';
import { harness, isAlive, makeTask, MS, outcome, withTimeout, type Harness } from './helpers.js';

/** Whether the runner has a live process for the task. */
async function runs(executor: ProcessExecutor, taskId: string): Promise<boolean> {
  return (await executor.recover()).some((found) => found.taskId === taskId && found.running);
}

/** A task whose process would run until stopped. */
const longTask = () => makeTask({ Command: ['sleep', '1000'] });

describe('process executor: a stop that overtakes a start', { timeout: 60_000 }, () => {
  let h: Harness;
  before(() => {
    h = harness();
  });
  after(() => h.cleanup());

  it('does not start a task shut down before its start was called', async () => {
    const task = longTask();
    const controller = h.executor.controller(task);
    await controller.prepare();
    await controller.shutdown();
    assert.match((await outcome(controller.start())).message, /^starting container failed: /);
    assert.equal(await runs(h.executor, task.ID), false);
    assert.equal(controller.containerStatus().PID, undefined);
  });

  it('leaves no process behind when shutdown is called while start is in flight', async () => {
    const task = longTask();
    const controller: Controller = h.executor.controller(task);
    await controller.prepare();
    const starting = outcome(controller.start());
    await controller.shutdown();
    assert.equal(await runs(h.executor, task.ID), false, 'nothing runs once shutdown resolved');
    await starting; // refused, or started and stopped by the shutdown: either way, nothing runs
    assert.equal(await runs(h.executor, task.ID), false, 'nor once start settled');
    const pid = controller.containerStatus().PID;
    assert.ok(pid === undefined || !isAlive(pid));
  });

  it('stops a started task without waiting for the health verdict its start waits for', async () => {
    const task = makeTask({
      Command: ['sleep', '1000'],
      Healthcheck: { Test: ['CMD', 'true'], Interval: 600_000 * MS }, // no verdict within this test
    });
    const controller = h.executor.controller(task);
    await controller.prepare();
    const starting = outcome(controller.start());
    await waitFor(() => runs(h.executor, task.ID), { intervalMs: 5, description: 'the task to run' });
    await withTimeout(controller.shutdown(), 10_000);
    assert.equal(await runs(h.executor, task.ID), false);
    assert.deepEqual(await starting, { message: 'task: non-zero exit (143)', exitCode: 143 });
  });

  it('refuses to start a task ID that was removed before it started, whoever asks', async () => {
    const task = longTask();
    const first = h.executor.controller(task);
    await first.prepare();
    await first.remove();
    const second = h.executor.controller(task); // the executor forgot the removed task's controller
    assert.notEqual(second, first);
    await second.prepare();
    assert.match((await outcome(second.start())).message, /^starting container failed: /);
    assert.equal(await runs(h.executor, task.ID), false);
  });

  it('refuses to start a task that an earlier daemon shut down before it started', async () => {
    const task = longTask();
    const before = h.executor.controller(task);
    await before.prepare();
    await before.shutdown();
    // A restarted daemon (a new executor on the same runner) is told to start the same task.
    const after = h.newExecutor().controller(task);
    await after.prepare();
    assert.match((await outcome(after.start())).message, /^starting container failed: /);
    assert.equal(await runs(h.executor, task.ID), false);
  });
});
