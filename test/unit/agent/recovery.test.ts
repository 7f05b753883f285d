import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';

import { hasHealthcheck, MESSAGE_PROCESS_LOST, resumeStatus } from '../../../src/agent/recovery.js';
import type { TaskStatus } from '../../../src/api/types.js';
import { Dispatcher } from '../../../src/manager/dispatcher/dispatcher.js';
import { getTask, settle, taskFixture, until } from '../dispatcher/helpers.js';
import { harness, type Harness } from '../dispatcher/setup.js';
import { ExecutorUnavailableError } from '../../../src/agent/executor/executor.js';
import { FakeExecutor } from './fake-executor.js';
import { followingClient, removeStateDirs, startAgent, stateDir, type RunningAgent } from './setup.js';

const status = (State: TaskStatus['State'], Message: string = State): TaskStatus => ({
  Timestamp: 't0',
  State,
  Message,
});

describe('resuming a task after a restart', () => {
  it('re-adopts a process that still runs', () => {
    assert.deepEqual(
      resumeStatus(status('running', 'started'), { taskId: 'x', running: true }, 't1'),
      status('running', 'started'),
    );
    // RUNNING had not been recorded yet when the daemon died.
    const started = resumeStatus(status('starting'), { taskId: 'x', running: true }, 't1');
    assert.equal(started.State, 'running');
    assert.equal(started.Message, 'started');
  });

  it('resumes a started task with a healthcheck at STARTING: RUNNING waits for a health verdict', () => {
    const alive = { taskId: 'x', running: true };
    const healthchecked = { healthchecked: true };
    assert.deepEqual(resumeStatus(status('starting'), alive, 't1', healthchecked), status('starting'));
    // Known to have passed its healthcheck before the restart: still RUNNING.
    assert.deepEqual(
      resumeStatus(status('running', 'started'), alive, 't1', healthchecked),
      status('running', 'started'),
    );
  });

  it('counts a healthcheck only when it has a test that is not NONE', () => {
    const withTest = (Test?: string[]) => ({
      Spec: { ContainerSpec: { Image: 'busybox', Healthcheck: Test ? { Test } : {} } },
    });
    assert.equal(hasHealthcheck(withTest(['CMD', 'true'])), true);
    assert.equal(hasHealthcheck(withTest(['CMD-SHELL', 'curl -f localhost'])), true);
    assert.equal(hasHealthcheck(withTest(['NONE'])), false);
    assert.equal(hasHealthcheck(withTest([])), false);
    assert.equal(hasHealthcheck(withTest()), false);
    assert.equal(hasHealthcheck({ Spec: {} }), false);
  });

  it('takes the real end of a process that exited meanwhile', () => {
    const ended = resumeStatus(
      status('running', 'started'),
      {
        taskId: 'x',
        running: false,
        status: { State: 'failed', Err: 'task: non-zero exit (3)', ContainerStatus: { ExitCode: 3 } },
      },
      't1',
    );
    assert.equal(ended.State, 'failed');
    assert.equal(ended.Err, 'task: non-zero exit (3)');
    assert.deepEqual(ended.ContainerStatus, { ExitCode: 3, PID: 0 });
    assert.equal(ended.Timestamp, 't1');
  });

  it('fails a RUNNING task whose process left no trace, and resumes earlier states as they were', () => {
    const lost = resumeStatus(
      { ...status('running', 'started'), ContainerStatus: { ContainerID: 'c', PID: 77, ExitCode: 0 } },
      undefined,
      't1',
    );
    assert.equal(lost.State, 'failed');
    assert.equal(lost.Err, MESSAGE_PROCESS_LOST);
    assert.deepEqual(lost.ContainerStatus, { ContainerID: 'c', PID: 0, ExitCode: 0 });
    assert.deepEqual(resumeStatus(status('preparing'), undefined, 't1'), status('preparing'));
    assert.deepEqual(resumeStatus(status('complete'), undefined, 't1'), status('complete'));
  });

  it("fails a RUNNING task with the executor's error when the executor could not say what became of it", () => {
    const engineDown = 'Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?';
    const lost = resumeStatus(status('running', 'started'), undefined, 't1', {
      executorUnavailable: engineDown,
    });
    assert.equal(lost.State, 'failed');
    assert.equal(lost.Err, engineDown);
  });
});

describe('agent restart', () => {
  let h: Harness;
  const agents: RunningAgent[] = [];
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.agent.stop();
    await h.close();
  });
  after(removeStateDirs);

  it('picks its tasks up from the state dir: no restart for a live process, the real exit for a dead one', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const alive = taskFixture({ nodeId: node.ID });
    const dies = taskFixture({ nodeId: node.ID });
    await h.store.update((tx) => {
      tx.create('task', alive);
      tx.create('task', dies);
    });
    const dir = stateDir();
    const client = followingClient(() => h.dispatcher, node.ID);
    const first = await startAgent(h, node, { stateDir: dir, client });
    await until(h.clock, () => [alive, dies].every((t) => getTask(h.store, t.ID).Status.State === 'running'));

    // Daemon shutdown: the agent lets go, the processes stay.
    await first.agent.stop();
    assert.ok(first.executor.get(alive.ID).running);
    assert.ok(!first.executor.get(alive.ID).calls.includes('shutdown'));

    // While the daemon is down, the manager restarts too and one process exits.
    await h.dispatcher.stop();
    const executor = new FakeExecutor();
    executor.recovered = [
      { taskId: alive.ID, running: true },
      {
        taskId: dies.ID,
        running: false,
        status: { State: 'failed', Err: 'task: non-zero exit (3)', ContainerStatus: { ExitCode: 3 } },
      },
    ];
    const second = await startAgent(h, node, { stateDir: dir, client, executor });
    agents.push(second);
    await settle();
    // Without any manager, the live process is re-adopted (waited on, not started again).
    assert.deepEqual(executor.get(alive.ID).calls, ['wait']);
    assert.deepEqual(executor.get(dies.ID).calls, []);

    const next = new Dispatcher({
      store: h.store,
      managerNodeId: 'm',
      managerAddr: '192.0.2.10:2377',
      clock: h.clock,
    });
    h.dispatcher = next;
    await next.start();
    await until(h.clock, () => getTask(h.store, dies.ID).Status.State === 'failed');
    const died = getTask(h.store, dies.ID).Status;
    assert.equal(died.Err, 'task: non-zero exit (3)');
    assert.equal(died.ContainerStatus?.ExitCode, 3);
    assert.equal(getTask(h.store, alive.ID).Status.State, 'running');

    executor.get(alive.ID).exit(0);
    await until(h.clock, () => getTask(h.store, alive.ID).Status.State === 'complete');
  });

  it('starts even when the executor cannot recover (its engine is down), failing the tasks it knew as running', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const task = taskFixture({ nodeId: node.ID });
    await h.store.update((tx) => tx.create('task', task));
    const dir = stateDir();
    const client = followingClient(() => h.dispatcher, node.ID);
    const first = await startAgent(h, node, { stateDir: dir, client });
    await until(h.clock, () => getTask(h.store, task.ID).Status.State === 'running');
    await first.agent.stop();

    const engineDown = 'Cannot connect to the Docker daemon at unix:///x.sock. Is the docker daemon running?';
    const executor = new FakeExecutor();
    executor.recover = () => Promise.reject(new ExecutorUnavailableError(engineDown));
    agents.push(await startAgent(h, node, { stateDir: dir, client, executor }));
    await until(h.clock, () => getTask(h.store, task.ID).Status.State === 'failed');
    assert.equal(getTask(h.store, task.ID).Status.Err, engineDown);
  });

  it('removes tasks deleted while it was down, on the first COMPLETE set', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const task = taskFixture({ nodeId: node.ID });
    await h.store.update((tx) => tx.create('task', task));
    const dir = stateDir();
    const first = await startAgent(h, node, { stateDir: dir });
    await until(h.clock, () => getTask(h.store, task.ID).Status.State === 'running');
    await first.agent.stop();
    first.executor.get(task.ID).exit(0);

    await h.store.update((tx) => tx.delete('task', task.ID));
    const executor = new FakeExecutor();
    executor.recovered = [{ taskId: task.ID, running: false, status: { State: 'complete' } }];
    const second = await startAgent(h, node, { stateDir: dir, executor });
    agents.push(second);
    await until(h.clock, () => executor.controllers.get(task.ID)?.calls.includes('remove') ?? false);
  });

  it('re-adopts a started task with a healthcheck at STARTING, and reports RUNNING once start says healthy', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const task = taskFixture({ nodeId: node.ID });
    task.Spec.ContainerSpec!.Healthcheck = { Test: ['CMD', 'true'] };
    await h.store.update((tx) => tx.create('task', task));
    const dir = stateDir();
    const client = followingClient(() => h.dispatcher, node.ID);
    // The first daemon started the process, but it had not been found healthy yet when the daemon stopped.
    const firstExecutor = new FakeExecutor();
    firstExecutor.controller(task).startGate = new Promise(() => {});
    const first = await startAgent(h, node, { stateDir: dir, client, executor: firstExecutor });
    await until(h.clock, () => getTask(h.store, task.ID).Status.State === 'starting');
    await first.agent.stop();

    const executor = new FakeExecutor();
    executor.recovered = [{ taskId: task.ID, running: true }];
    let healthy!: () => void;
    executor.controller(task).startGate = new Promise((resolve) => (healthy = resolve));
    const second = await startAgent(h, node, { stateDir: dir, client, executor });
    agents.push(second);
    await h.clock.advance(10_000);
    // start() re-adopts the process (no second one) and waits for its first health verdict.
    assert.deepEqual(executor.get(task.ID).calls, ['start']);
    assert.equal(getTask(h.store, task.ID).Status.State, 'starting');

    healthy();
    await until(h.clock, () => getTask(h.store, task.ID).Status.State === 'running');
    assert.deepEqual(executor.get(task.ID).calls, ['start', 'wait']);
  });

  it('kills and removes what the executor still runs but nobody claims, once the first COMPLETE set is in', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const assigned = taskFixture({ nodeId: node.ID });
    await h.store.update((tx) => tx.create('task', assigned));
    const orphan = taskFixture({ nodeId: node.ID }).ID; // never stored: no manager knows it
    const executor = new FakeExecutor();
    executor.recovered = [
      { taskId: orphan, running: true },
      { taskId: assigned.ID, running: true },
      { taskId: 'exitedorphan0000000000000', running: false, status: { State: 'complete' } },
    ];
    const a = await startAgent(h, node, { executor });
    agents.push(a);
    await until(h.clock, () => executor.controllers.get(orphan)?.calls.includes('remove') ?? false);
    assert.deepEqual(executor.get(orphan).calls, ['terminate', 'remove']);
    await until(
      h.clock,
      () => executor.controllers.get('exitedorphan0000000000000')?.calls.includes('remove') ?? false,
    );
    assert.deepEqual(executor.get('exitedorphan0000000000000').calls, ['remove']);
    // The task the managers do assign is re-adopted, not touched.
    assert.deepEqual(executor.get(assigned.ID).calls, ['wait']);
    assert.equal(getTask(h.store, assigned.ID).Status.State, 'running');
  });
});
