import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';

import { AgentStateDb } from '../../../src/agent/state-db.js';
import type { DispatcherClient, StreamHandle } from '../../../src/api/dispatcher.js';
import { permissionDenied, unavailable } from '../../../src/api/errors.js';
import type { Task } from '../../../src/api/types.js';
import { Dispatcher } from '../../../src/manager/dispatcher/dispatcher.js';
import { getNode, getTask, settle, taskFixture, until, updateTask } from '../dispatcher/helpers.js';
import { harness, type Harness } from '../dispatcher/setup.js';
import { FakeExecutor } from './fake-executor.js';
import { followingClient, removeStateDirs, startAgent, type RunningAgent } from './setup.js';

describe('agent with a dispatcher', () => {
  let h: Harness;
  let a: RunningAgent | undefined;
  afterEach(async () => {
    await a?.agent.stop();
    a = undefined;
    await h.close();
  });
  after(removeStateDirs);

  const stateOf = (id: string) => getTask(h.store, id).Status.State;

  async function withTask(
    task: Partial<Parameters<typeof taskFixture>[0]> = {},
    prepare: (executor: FakeExecutor, taskId: string) => void = () => {},
  ): Promise<Task> {
    h = await harness();
    const node = h.nodes[0]!;
    const created = taskFixture({ nodeId: node.ID, ...task });
    await h.store.update((tx) => tx.create('task', created));
    const executor = new FakeExecutor();
    prepare(executor, created.ID);
    a = await startAgent(h, node, { executor, client: followingClient(() => h.dispatcher, node.ID) });
    return created;
  }

  /** Remembered tasks in the agent's state DB (read while the agent is stopped). */
  function rememberedTaskIds(dir: string): string[] {
    const db = AgentStateDb.open(dir);
    try {
      return db.loadTasks().map((task) => task.ID);
    } finally {
      db.close();
    }
  }

  it('registers, runs an assigned task and reports RUNNING with the process details', async () => {
    const task = await withTask();
    await until(h.clock, () => stateOf(task.ID) === 'running');
    const stored = getTask(h.store, task.ID);
    assert.equal(stored.Status.Message, 'started');
    assert.equal(stored.Status.ContainerStatus?.PID, 4242);
    assert.equal(getNode(h.store, h.nodes[0]!.ID).Description.Hostname, 'fake-host');
    assert.deepEqual(a!.executor.get(task.ID).calls, ['prepare', 'start', 'wait']);
  });

  it('reports a non-zero exit as FAILED with the error text and exit code', async () => {
    const task = await withTask();
    await until(h.clock, () => stateOf(task.ID) === 'running');
    a!.executor.get(task.ID).exit(2);
    await until(h.clock, () => stateOf(task.ID) === 'failed');
    const status = getTask(h.store, task.ID).Status;
    assert.equal(status.Err, 'task: non-zero exit (2)');
    assert.equal(status.ContainerStatus?.ExitCode, 2);
  });

  it('stores the health the controller reports', async () => {
    const task = await withTask({}, (executor, id) =>
      executor.health.set(id, { Status: 'healthy', FailingStreak: 0, Log: [] }),
    );
    await until(h.clock, () => stateOf(task.ID) === 'running');
    assert.equal(getTask(h.store, task.ID).Health?.Status, 'healthy');
  });

  it('reports health changes that come without a state change', async () => {
    const task = await withTask({}, (executor, id) =>
      executor.health.set(id, { Status: 'healthy', FailingStreak: 0, Log: [] }),
    );
    await until(h.clock, () => stateOf(task.ID) === 'running');
    a!.executor.get(task.ID).healthState = {
      Status: 'healthy',
      FailingStreak: 1,
      Log: [{ Start: 'a', End: 'b', ExitCode: 1, Output: 'probe failed once' }],
    };
    await until(h.clock, () => getTask(h.store, task.ID).Health?.FailingStreak === 1);
    assert.equal(getTask(h.store, task.ID).Status.State, 'running');
    assert.equal(getTask(h.store, task.ID).Health?.Log[0]?.Output, 'probe failed once');
  });

  it('shuts a task down on desired SHUTDOWN, and removes it only when it leaves the assignments', async () => {
    const task = await withTask();
    await until(h.clock, () => stateOf(task.ID) === 'running');
    await updateTask(h.store, task.ID, (t) => (t.DesiredState = 'shutdown'));
    await until(h.clock, () => stateOf(task.ID) === 'shutdown');
    const controller = a!.executor.get(task.ID);
    assert.ok(controller.calls.includes('shutdown'));
    assert.ok(!controller.calls.includes('remove'));

    await h.store.update((tx) => tx.delete('task', task.ID));
    await until(h.clock, () => controller.calls.includes('remove'));
    assert.ok(!controller.calls.includes('terminate'), 'a stopped task is not killed again');
  });

  it('reconnects after losing its manager, keeps tasks running, and re-reports their statuses', async () => {
    const task = await withTask();
    await until(h.clock, () => stateOf(task.ID) === 'running');

    // The manager goes away (restart); the process exits while no manager listens.
    await h.dispatcher.stop();
    await settle();
    const controller = a!.executor.get(task.ID);
    assert.ok(controller.running, 'tasks keep running without a manager');
    controller.exit(0);
    await h.clock.advance(1_000);
    assert.equal(stateOf(task.ID), 'running', 'nobody to tell yet');

    const next = new Dispatcher({
      store: h.store,
      managerNodeId: 'manager-node',
      managerAddr: '192.0.2.10:2377',
      clock: h.clock,
      random: () => 0.5,
    });
    h.dispatcher = next;
    await next.start();
    assert.equal(getNode(h.store, h.nodes[0]!.ID).Status.State, 'unknown');
    await until(h.clock, () => stateOf(task.ID) === 'complete');
    assert.equal(getNode(h.store, h.nodes[0]!.ID).Status.State, 'ready');
  });

  it('starts a task it was given while the manager holds it at READY only once raised', async () => {
    const task = await withTask({ desired: 'ready' });
    await until(h.clock, () => stateOf(task.ID) === 'ready');
    await h.clock.advance(1_000);
    assert.equal(stateOf(task.ID), 'ready');
    await updateTask(h.store, task.ID, (t) => (t.DesiredState = 'running'));
    await until(h.clock, () => stateOf(task.ID) === 'running');
  });

  it('on leave, stops and removes every task', async () => {
    const task = await withTask();
    await until(h.clock, () => stateOf(task.ID) === 'running');
    await a!.agent.leave();
    const controller = a!.executor.get(task.ID);
    assert.deepEqual(controller.calls.slice(-2), ['shutdown', 'remove']);
    a = undefined;
  });

  it('on leave, keeps the record of a task whose removal failed', async () => {
    const task = await withTask();
    await until(h.clock, () => stateOf(task.ID) === 'running');
    const controller = a!.executor.get(task.ID);
    controller.remove = async () => {
      controller.calls.push('remove');
      throw new Error('device or resource busy');
    };
    const { agent, stateDir } = a!;
    a = undefined;
    await agent.leave();
    assert.deepEqual(controller.calls.slice(-2), ['shutdown', 'remove']);
    // The next start resumes it, and the next swarm's first COMPLETE set removes it again.
    assert.deepEqual(rememberedTaskIds(stateDir), [task.ID]);
  });

  it('on leave, finishes with the executor’s purge, after which nothing is remembered', async () => {
    let purges = 0;
    const task = await withTask({}, (executor) => {
      executor.purge = async () => void purges++;
    });
    await until(h.clock, () => stateOf(task.ID) === 'running');
    const controller = a!.executor.get(task.ID);
    controller.remove = async () => {
      controller.calls.push('remove');
      throw new Error('device or resource busy');
    };
    const { agent, stateDir } = a!;
    a = undefined;
    await agent.leave();
    assert.equal(purges, 1);
    assert.deepEqual(rememberedTaskIds(stateDir), []);
  });

  it('registers again when the executor says the node description changed, and only if it did', async () => {
    let listener: (() => void) | undefined;
    let version = 'fake';
    let descriptions = 0;
    const task = await withTask({}, (executor) => {
      const describe = executor.describe.bind(executor);
      executor.describe = async () => {
        descriptions++;
        return { ...(await describe()), Engine: { EngineVersion: version } };
      };
      executor.watchDescription = (notify) => (listener = notify);
    });
    await until(h.clock, () => stateOf(task.ID) === 'running');
    const node = h.nodes[0]!.ID;
    assert.equal(getNode(h.store, node).Description.Engine.EngineVersion, 'fake');
    assert.equal(descriptions, 1);
    listener!(); // nothing changed: the session stays
    await settle();
    assert.equal(descriptions, 2, 'described again, but no new session (which would describe once more)');
    version = 'upgraded';
    listener!();
    await until(h.clock, () => getNode(h.store, node).Description.Engine.EngineVersion === 'upgraded');
    assert.equal(stateOf(task.ID), 'running', 'tasks keep running through the new registration');
  });

  it('once removed from the swarm: stops its tasks, stops reconnecting and says so', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const task = taskFixture({ nodeId: node.ID });
    await h.store.update((tx) => tx.create('task', task));
    const refusal = `Permission denied: node ${node.ID} was removed from swarm`;
    const denied = () => permissionDenied(refusal, { rpc: true });
    // The managers cut the removed node's connections and refuse everything it asks from then on.
    let removed = false;
    let sessionCalls = 0;
    let cutSession: (() => void) | undefined;
    const inner = h.dispatcher.localClient(node.ID);
    const client: DispatcherClient = {
      session: (request, onMessage, onEnd): StreamHandle => {
        sessionCalls++;
        if (removed) {
          queueMicrotask(() => onEnd(denied()));
          return { close: () => {} };
        }
        let ended = false;
        const end = (err?: Error): void => {
          if (ended) return;
          ended = true;
          onEnd(err);
        };
        const handle = inner.session(request, onMessage, end);
        cutSession = () => {
          end(unavailable('connection to manager lost'));
          handle.close();
        };
        return handle;
      },
      heartbeat: (sessionId) => (removed ? Promise.reject(denied()) : inner.heartbeat(sessionId)),
      updateTaskStatus: (sessionId, updates) =>
        removed ? Promise.reject(denied()) : inner.updateTaskStatus(sessionId, updates),
      assignments: (sessionId, onMessage, onEnd) => inner.assignments(sessionId, onMessage, onEnd),
      logSubscriptions: (sessionId, onMessage, onEnd) => inner.logSubscriptions(sessionId, onMessage, onEnd),
      publishLogs: (sessionId, message) => inner.publishLogs(sessionId, message),
    };
    const removals: string[] = [];
    a = await startAgent(h, node, { client, onRemoved: (message) => removals.push(message) });
    await until(h.clock, () => stateOf(task.ID) === 'running');
    const controller = a.executor.get(task.ID);

    removed = true;
    cutSession!();
    await until(h.clock, () => removals.length > 0);
    assert.deepEqual(removals, [refusal]);
    await until(h.clock, () => controller.calls.includes('remove'));
    assert.deepEqual(controller.calls.slice(-2), ['shutdown', 'remove']);
    assert.deepEqual(a.agent.taskStatuses(), []);

    const calls = sessionCalls;
    await h.clock.advance(60_000);
    assert.equal(sessionCalls, calls, 'a removed node stops asking for sessions');
    await a.agent.stop(); // the daemon's shutdown still works, and finds nothing left to do
    assert.deepEqual(rememberedTaskIds(a.stateDir), []);
    a = undefined;
  });
});
