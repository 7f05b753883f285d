import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import type { TaskStatusUpdate } from '../../../src/api/dispatcher.js';
import type { ObjectEventBatch } from '../../../src/store/objects.js';
import { WRITE_BATCH_DELAY_MS } from '../../../src/manager/dispatcher/writes.js';
import { getTask, settle, taskFixture } from './helpers.js';
import { harness, register, type Harness } from './setup.js';

const status = (
  taskId: string,
  state: TaskStatusUpdate['status']['State'],
  extra = {},
): TaskStatusUpdate => ({
  taskId,
  status: { Timestamp: '2024-05-01T12:00:01.000Z', State: state, Message: state, ...extra },
});

describe('dispatcher task status intake', () => {
  let h: Harness;
  afterEach(async () => h.close());

  async function setup() {
    h = await harness({ nodes: 2 });
    const [mine, other] = h.nodes as [(typeof h.nodes)[0], (typeof h.nodes)[0]];
    const tasks = [0, 1, 2].map(() => taskFixture({ nodeId: mine.ID }));
    const foreign = taskFixture({ nodeId: other.ID });
    await h.store.update((tx) => {
      for (const task of [...tasks, foreign]) tx.create('task', task);
    });
    const client = h.dispatcher.localClient(mine.ID);
    const { sessionId } = await register(h, client);
    return { client, sessionId, tasks, foreign };
  }

  it('writes statuses in one batch after the batch delay, stamping AppliedAt', async () => {
    const { client, sessionId, tasks } = await setup();
    const commits: ObjectEventBatch[] = [];
    h.store.watch((batch) => commits.push(batch));

    await client.updateTaskStatus(sessionId, [status(tasks[0]!.ID, 'accepted')]);
    await client.updateTaskStatus(sessionId, [
      status(tasks[1]!.ID, 'accepted'),
      status(tasks[2]!.ID, 'preparing'),
    ]);
    await settle();
    assert.equal(
      getTask(h.store, tasks[0]!.ID).Status.State,
      'assigned',
      'nothing written before the batch delay',
    );

    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    assert.equal(commits.length, 1);
    assert.equal(commits[0]!.events.length, 3);
    const written = getTask(h.store, tasks[2]!.ID);
    assert.equal(written.Status.State, 'preparing');
    assert.equal(written.AppliedAt, new Date(h.clock.now()).toISOString());
  });

  it('never moves a state backwards and skips identical statuses', async () => {
    const { client, sessionId, tasks } = await setup();
    const id = tasks[0]!.ID;
    await client.updateTaskStatus(sessionId, [status(id, 'running')]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    const version = getTask(h.store, id).Version.Index;

    await client.updateTaskStatus(sessionId, [status(id, 'starting')]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    assert.equal(getTask(h.store, id).Status.State, 'running');

    await client.updateTaskStatus(sessionId, [status(id, 'running')]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    assert.equal(getTask(h.store, id).Version.Index, version, 'an identical report writes nothing');

    // Same state, new details (e.g. the exit code of a failing process) are written.
    await client.updateTaskStatus(sessionId, [
      status(id, 'failed', { Err: 'task: non-zero exit (1)', ContainerStatus: { ExitCode: 1 } }),
    ]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    const failed = getTask(h.store, id);
    assert.equal(failed.Status.State, 'failed');
    assert.equal(failed.Status.Err, 'task: non-zero exit (1)');
    assert.equal(failed.Status.ContainerStatus?.ExitCode, 1);
  });

  it("refuses a batch with another node's task, and skips unknown tasks", async () => {
    const { client, sessionId, tasks, foreign } = await setup();
    await assert.rejects(
      client.updateTaskStatus(sessionId, [status(tasks[0]!.ID, 'accepted'), status(foreign.ID, 'accepted')]),
      {
        code: 'PermissionDenied',
        message: 'cannot update a task not assigned this node',
      },
    );
    await client.updateTaskStatus(sessionId, [status('gone', 'accepted'), status(tasks[0]!.ID, 'accepted')]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    assert.equal(getTask(h.store, tasks[0]!.ID).Status.State, 'accepted');
    assert.equal(getTask(h.store, foreign.ID).Status.State, 'assigned');
  });

  it('stores the health reported with a status', async () => {
    const { client, sessionId, tasks } = await setup();
    const id = tasks[0]!.ID;
    await client.updateTaskStatus(sessionId, [status(id, 'running')]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    const health = { Status: 'healthy' as const, FailingStreak: 0, Log: [] };
    await client.updateTaskStatus(sessionId, [{ ...status(id, 'running'), health }]);
    await h.clock.advance(WRITE_BATCH_DELAY_MS);
    assert.deepEqual(getTask(h.store, id).Health, health);
  });
});
