import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { TaskManager } from '../../../src/agent/task-manager.js';
import { FailedController } from '../../../src/agent/failed-controller.js';
import { silentAgentLog } from '../../../src/agent/log.js';
import type { Controller } from '../../../src/agent/executor/executor.js';
import type { Task, TaskStatus } from '../../../src/api/types.js';
import { FakeClock, settle, taskFixture } from '../dispatcher/helpers.js';
import { FakeController } from './fake-executor.js';

function run(task: Task, controller: Controller = new FakeController(task)) {
  const clock = new FakeClock();
  const statuses: TaskStatus[] = [];
  const manager = new TaskManager(task, {
    controller,
    clock,
    log: silentAgentLog,
    onStatus: (t) => statuses.push(t.Status),
  });
  manager.start();
  const states = () => statuses.map((s) => s.State);
  return { manager, controller, clock, statuses, states };
}

describe('agent task state machine', () => {
  it('runs a task through accepted → preparing → ready → starting → running → complete', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const controller = new FakeController(task);
    const t = run(task, controller);
    await settle();
    assert.deepEqual(t.states(), ['accepted', 'preparing', 'ready', 'starting', 'running']);
    assert.deepEqual(
      t.statuses.map((s) => s.Message),
      ['accepted', 'preparing', 'prepared', 'starting', 'started'],
    );
    // Docker's container status, from STARTING on: the ID, the PID while it runs, exit code 0 until it exits.
    assert.deepEqual(
      t.statuses.map((s) => s.ContainerStatus),
      [
        undefined,
        undefined,
        undefined,
        { ContainerID: `proc-${task.ID}`, PID: 0, ExitCode: 0 },
        { ContainerID: `proc-${task.ID}`, PID: 4242, ExitCode: 0 },
      ],
    );
    assert.deepEqual(controller.calls, ['prepare', 'start', 'wait']);

    controller.exit(0);
    await settle();
    const done = t.statuses.at(-1)!;
    assert.equal(done.State, 'complete');
    assert.equal(done.Message, 'finished');
    // The process is gone: PID 0.
    assert.deepEqual(done.ContainerStatus, { ContainerID: `proc-${task.ID}`, PID: 0, ExitCode: 0 });
    await t.manager.close();
  });

  it('fails a task whose process exits non-zero, with the exit error and code', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const controller = new FakeController(task);
    const t = run(task, controller);
    await settle();
    controller.exit(1);
    await settle();
    const failed = t.statuses.at(-1)!;
    assert.equal(failed.State, 'failed');
    assert.equal(failed.Err, 'task: non-zero exit (1)');
    assert.equal(failed.Message, 'started');
    assert.deepEqual(failed.ContainerStatus, { ContainerID: `proc-${task.ID}`, PID: 0, ExitCode: 1 });
    await t.manager.close();
  });

  it('rejects a task whose prepare fails, without starting it', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const controller = new FakeController(task, { prepare: new Error('No such image: nope:latest') });
    const t = run(task, controller);
    await settle();
    assert.deepEqual(t.states(), ['accepted', 'preparing', 'rejected']);
    assert.equal(t.statuses.at(-1)!.Err, 'No such image: nope:latest');
    assert.deepEqual(controller.calls, ['prepare']);
    await t.manager.close();
  });

  it('fails (not rejects) a task whose start fails', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const t = run(
      task,
      new FakeController(task, { start: new Error('exec: "nope": executable file not found') }),
    );
    await settle();
    assert.equal(t.states().at(-1), 'failed');
    assert.equal(t.statuses.at(-1)!.Err, 'exec: "nope": executable file not found');
    await t.manager.close();
  });

  it('rejects a task the executor cannot make a controller for', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const t = run(task, new FailedController(new Error('unsupported task spec')));
    await settle();
    assert.deepEqual(t.states(), ['accepted', 'preparing', 'rejected']);
    assert.equal(t.statuses.at(-1)!.Err, 'unsupported task spec');
    await t.manager.close();
  });

  it('shuts a running task down when desired state reaches SHUTDOWN', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const controller = new FakeController(task);
    const t = run(task, controller);
    await settle();
    t.manager.update({ ...task, DesiredState: 'shutdown' });
    await settle();
    const last = t.statuses.at(-1)!;
    assert.equal(last.State, 'shutdown');
    assert.equal(last.Message, 'shutdown');
    assert.deepEqual(last.ContainerStatus, { ContainerID: `proc-${task.ID}`, PID: 0, ExitCode: 143 });
    assert.deepEqual(controller.calls, ['prepare', 'start', 'wait', 'shutdown']);
    // Before the stop, the wait that was cut short is reported as Docker's agent reports it: still
    // running, the process still there, exit code -1.
    const stopping = t.statuses.at(-2)!;
    assert.equal(stopping.State, 'running');
    assert.equal(stopping.Message, 'started');
    assert.deepEqual(stopping.ContainerStatus, { ContainerID: `proc-${task.ID}`, PID: 4242, ExitCode: -1 });
    await t.manager.close();
  });

  it('holds a replacement at READY until desired state is raised to RUNNING', async () => {
    const task = taskFixture({ nodeId: 'n', desired: 'ready' });
    const controller = new FakeController(task);
    const t = run(task, controller);
    await settle();
    assert.deepEqual(t.states(), ['accepted', 'preparing', 'ready']);
    assert.deepEqual(controller.calls, ['prepare']);

    t.manager.update({ ...task, DesiredState: 'running' });
    await settle();
    assert.equal(t.states().at(-1), 'running');
    await t.manager.close();
  });

  it('ignores an update that lowers the desired state', async () => {
    const task = taskFixture({ nodeId: 'n', desired: 'shutdown', state: 'assigned' });
    const controller = new FakeController(task);
    const t = run(task, controller);
    await settle();
    assert.deepEqual(t.states(), ['shutdown']);
    t.manager.update({ ...task, DesiredState: 'running' });
    await settle();
    assert.deepEqual(t.states(), ['shutdown']);
    assert.deepEqual(controller.calls, ['shutdown']);
    await t.manager.close();
  });

  it('retries an error marked temporary after a second, recording it', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const controller = new FakeController(task);
    let attempts = 0;
    controller.prepare = async () => {
      controller.calls.push('prepare');
      if (attempts++ === 0) throw Object.assign(new Error('registry busy'), { temporary: true });
    };
    const t = run(task, controller);
    await settle();
    assert.equal(t.statuses.at(-1)!.State, 'preparing');
    assert.equal(t.statuses.at(-1)!.Err, 'registry busy');
    await t.clock.advance(1_000);
    assert.equal(t.states().at(-1), 'running');
    await t.manager.close();
  });

  it('leaves the process alone when closed (daemon shutdown)', async () => {
    const task = taskFixture({ nodeId: 'n' });
    const controller = new FakeController(task);
    const t = run(task, controller);
    await settle();
    await t.manager.close();
    assert.ok(controller.running);
    assert.ok(!controller.calls.includes('shutdown'));
    // Nothing reported for the wait the close cut short.
    assert.deepEqual(t.statuses.at(-1)!.ContainerStatus, {
      ContainerID: `proc-${task.ID}`,
      PID: 4242,
      ExitCode: 0,
    });
  });
});
