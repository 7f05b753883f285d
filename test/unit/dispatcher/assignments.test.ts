import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import type { AssignmentsMessage } from '../../../src/api/dispatcher.js';
import { ASSIGNMENT_BATCH_WINDOW_MS } from '../../../src/manager/dispatcher/assignments.js';
import { Recorder, settle, taskFixture, updateTask } from './helpers.js';
import { harness, register, type Harness } from './setup.js';

const taskIds = (message: AssignmentsMessage) =>
  message.changes
    .map((c) =>
      c.action === 'update' ? `update:${c.task.ID}` : c.action === 'remove' ? `remove:${c.taskId}` : c.action,
    )
    .sort();

describe('dispatcher assignments', () => {
  let h: Harness;
  afterEach(async () => h.close());

  async function open(seed: (nodeId: string, otherId: string) => ReturnType<typeof taskFixture>[]) {
    h = await harness({ nodes: 2 });
    const [node, other] = h.nodes as [(typeof h.nodes)[0], (typeof h.nodes)[0]];
    const tasks = seed(node.ID, other.ID);
    await h.store.update((tx) => {
      for (const task of tasks) tx.create('task', task);
    });
    const client = h.dispatcher.localClient(node.ID);
    const { sessionId } = await register(h, client);
    const stream = new Recorder<AssignmentsMessage>();
    client.assignments(sessionId, stream.onMessage, stream.onEnd);
    await settle();
    return { node, stream, tasks, client, sessionId };
  }

  it('starts with the COMPLETE set: every task of the node from ASSIGNED on, including ones to shut down', async () => {
    const { stream, tasks } = await open((nodeId, otherId) => [
      taskFixture({ id: 'assigned', nodeId }),
      taskFixture({ id: 'running', nodeId, state: 'running' }),
      taskFixture({ id: 'stopping', nodeId, state: 'running', desired: 'shutdown' }),
      taskFixture({ id: 'failed', nodeId, state: 'failed', desired: 'shutdown' }),
      taskFixture({ id: 'pending', nodeId, state: 'pending' }),
      taskFixture({ id: 'elsewhere', nodeId: otherId }),
    ]);
    assert.equal(tasks.length, 6);
    assert.equal(stream.messages.length, 1);
    const complete = stream.messages[0]!;
    assert.equal(complete.type, 'complete');
    assert.equal(complete.appliesTo, '');
    assert.equal(complete.resultsIn, '1');
    assert.deepEqual(taskIds(complete), [
      'update:assigned',
      'update:failed',
      'update:running',
      'update:stopping',
    ]);
  });

  it('sends changes the agent must act on in INCREMENTAL batches, one window after the first change', async () => {
    const window = ASSIGNMENT_BATCH_WINDOW_MS;
    const { node, stream } = await open((nodeId) => [
      taskFixture({ id: 'a', nodeId, state: 'running' }),
      taskFixture({ id: 'b', nodeId, state: 'running' }),
    ]);
    await updateTask(h.store, 'a', (t) => (t.DesiredState = 'shutdown'));
    await h.clock.advance(window * 0.6);
    await updateTask(h.store, 'b', (t) => (t.DesiredState = 'shutdown'));
    await h.clock.advance(window * 0.4 - 1);
    assert.equal(stream.messages.length, 1, 'later changes do not extend the window');
    await h.clock.advance(1);
    assert.equal(stream.messages.length, 2);
    const incremental = stream.messages[1]!;
    assert.equal(incremental.type, 'incremental');
    assert.equal(incremental.appliesTo, '1');
    assert.equal(incremental.resultsIn, '2');
    assert.deepEqual(taskIds(incremental), ['update:a', 'update:b']);
    await h.store.update((tx) => tx.create('task', taskFixture({ id: 'c', nodeId: node.ID })));
    await h.clock.advance(window);
    assert.equal(stream.messages.length, 3);
    assert.deepEqual(taskIds(stream.messages[2]!), ['update:c']);
  });

  it('does not echo status reports back, but sends status changes while ASSIGNED', async () => {
    const { stream, client, sessionId } = await open((nodeId) => [
      taskFixture({ id: 'running', nodeId, state: 'running' }),
      taskFixture({ id: 'fresh', nodeId, state: 'assigned' }),
    ]);
    await client.updateTaskStatus(sessionId, [
      { taskId: 'running', status: { Timestamp: 'x', State: 'failed', Message: 'started', Err: 'boom' } },
    ]);
    await h.clock.advance(500);
    assert.equal(stream.messages.length, 1, 'a status-only change is not sent');

    await updateTask(
      h.store,
      'fresh',
      (t) => (t.Status.Message = 'scheduler confirmed task can run on preassigned node'),
    );
    await h.clock.advance(100);
    assert.equal(stream.messages.length, 2);
    assert.deepEqual(taskIds(stream.last!), ['update:fresh']);
  });

  it('sends REMOVE when a task is deleted from the store', async () => {
    const { stream } = await open((nodeId) => [
      taskFixture({ id: 'doomed', nodeId, state: 'complete', desired: 'remove' }),
    ]);
    await h.store.update((tx) => tx.delete('task', 'doomed'));
    await h.clock.advance(100);
    assert.deepEqual(taskIds(stream.last!), ['remove:doomed']);
  });

  it('flushes at once when 100 changes are waiting', async () => {
    const { node, stream } = await open(() => []);
    await h.store.update((tx) => {
      for (let i = 0; i < 100; i++) tx.create('task', taskFixture({ nodeId: node.ID }));
    });
    await settle();
    assert.equal(stream.messages.length, 2);
    assert.equal(stream.last!.changes.length, 100);
  });

  it('serves 100 nodes with 500 tasks each; a change goes only to its node', async () => {
    h = await harness({ nodes: 100 });
    await h.store.update((tx) => {
      for (const node of h.nodes)
        for (let i = 0; i < 500; i++) tx.create('task', taskFixture({ nodeId: node.ID, state: 'running' }));
    });
    const streams = await Promise.all(
      h.nodes.map(async (node) => {
        const client = h.dispatcher.localClient(node.ID);
        const { sessionId } = await register(h, client);
        const stream = new Recorder<AssignmentsMessage>();
        client.assignments(sessionId, stream.onMessage, stream.onEnd);
        return stream;
      }),
    );
    await settle();
    for (const stream of streams) assert.equal(stream.messages[0]!.changes.length, 500);
    const node = h.nodes[7]!;
    const target = h.store.view((tx) => tx.tasksByNode(node.ID))[0]!;
    await updateTask(h.store, target.ID, (t) => (t.DesiredState = 'shutdown'));
    await h.clock.advance(100);
    streams.forEach((stream, i) => assert.equal(stream.messages.length, i === 7 ? 2 : 1));
  });
});
