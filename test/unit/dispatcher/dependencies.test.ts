// Secrets and configs in the assignments stream (issue 11, item 3), as swarmkit's assignment set sends
// them: only to the node of a task that uses them, with that task, once per node, and taken back when no
// task of the node up to RUNNING uses them any more.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import type { AssignmentChange, AssignmentsMessage } from '../../../src/api/dispatcher.js';
import type { Config, Secret, Task } from '../../../src/api/types.js';
import { Recorder, settle, taskFixture, updateTask } from './helpers.js';
import { harness, register, type Harness } from './setup.js';

const b64 = (text: string): string => Buffer.from(text).toString('base64');

const secret = (id: string, name: string, data: string, templated = false): Secret => ({
  ID: id,
  Version: { Index: 0 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: name, Data: b64(data), ...(templated ? { Templating: { Name: 'golang' } } : {}) },
});

const config = (id: string, name: string, data: string): Config => ({
  ID: id,
  Version: { Index: 0 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: name, Data: b64(data) },
});

/** A task whose spec references these secrets and configs (by ID). */
function using(options: Parameters<typeof taskFixture>[0], secrets: string[], configs: string[] = []): Task {
  const task = taskFixture(options);
  task.Spec.ContainerSpec!.Secrets = secrets.map((id) => ({
    SecretID: id,
    SecretName: id,
    File: { Name: id, UID: '0', GID: '0', Mode: 0o444 },
  }));
  task.Spec.ContainerSpec!.Configs = configs.map((id) => ({
    ConfigID: id,
    ConfigName: id,
    File: { Name: `/etc/${id}`, UID: '0', GID: '0', Mode: 0o444 },
  }));
  return task;
}

const describeChange = (change: AssignmentChange): string => {
  switch (change.action) {
    case 'update':
      return `task:${change.task.ID}`;
    case 'remove':
      return `remove:${change.taskId}`;
    case 'update-secret':
      return `secret:${change.secret.ID}`;
    case 'remove-secret':
      return `remove-secret:${change.secretId}`;
    case 'update-config':
      return `config:${change.config.ID}`;
    case 'remove-config':
      return `remove-config:${change.configId}`;
  }
};
const changes = (message: AssignmentsMessage | undefined): string[] =>
  (message?.changes ?? []).map(describeChange);

describe('dispatcher: secrets and configs in the assignments', () => {
  let h: Harness;
  afterEach(async () => h.close());

  async function open(seed: (nodeId: string, otherId: string) => Task[]) {
    h = await harness({ nodes: 2 });
    const [node, other] = h.nodes as [(typeof h.nodes)[0], (typeof h.nodes)[0]];
    await h.store.update((tx) => {
      tx.create('secret', secret('s1', 'db_pw', 's3cret'));
      tx.create('secret', secret('s2', 'api_key', 'k3y', true));
      tx.create('config', config('c1', 'app', 'listen 80'));
      for (const task of seed(node.ID, other.ID)) tx.create('task', task);
    });
    const streams = [];
    for (const n of [node, other]) {
      const client = h.dispatcher.localClient(n.ID);
      const { sessionId } = await register(h, client);
      const stream = new Recorder<AssignmentsMessage>();
      client.assignments(sessionId, stream.onMessage, stream.onEnd);
      streams.push(stream);
    }
    await settle();
    return { node, other, stream: streams[0]!, otherStream: streams[1]! };
  }

  it('the COMPLETE set carries what the node’s tasks up to RUNNING use, each once, before the tasks', async () => {
    const { stream, otherStream } = await open((nodeId, otherId) => [
      using({ id: 'a', nodeId, state: 'running' }, ['s1'], ['c1']),
      using({ id: 'b', nodeId, state: 'assigned' }, ['s1', 's2']),
      using({ id: 'ended', nodeId, state: 'failed', desired: 'shutdown' }, ['s1']),
      using({ id: 'elsewhere', nodeId: otherId, state: 'running' }, []),
    ]);
    const complete = stream.messages[0]!;
    assert.equal(complete.type, 'complete');
    assert.deepEqual(changes(complete), [
      'secret:s1',
      'config:c1',
      'secret:s2',
      'task:a',
      'task:b',
      'task:ended',
    ]);
    const sent = complete.changes.find((c) => c.action === 'update-secret' && c.secret.ID === 's2');
    assert.deepEqual(sent, {
      action: 'update-secret',
      secret: { ID: 's2', Name: 'api_key', Data: b64('k3y'), Templating: { Name: 'golang' } },
    });
    // The other node has a task, but none that uses a secret: nothing of them reaches it.
    assert.deepEqual(changes(otherStream.messages[0]), ['task:elsewhere']);
    assert.ok(!JSON.stringify(otherStream.messages).includes(b64('s3cret')));
  });

  it('a new task brings what the node does not have yet, in the same batch and before it', async () => {
    const { node, stream, otherStream } = await open((nodeId) => [
      using({ id: 'a', nodeId, state: 'running' }, ['s1']),
    ]);
    await h.store.update((tx) =>
      tx.create('task', using({ id: 'b', nodeId: node.ID }, ['s1', 's2'], ['c1'])),
    );
    await h.clock.advance(10);
    assert.deepEqual(changes(stream.last), ['secret:s2', 'config:c1', 'task:b']);
    assert.equal(otherStream.messages.length, 1, 'the other node hears nothing');
  });

  it('a task below ASSIGNED brings nothing yet', async () => {
    const { node, stream } = await open(() => []);
    await h.store.update((tx) =>
      tx.create('task', using({ id: 'p', nodeId: node.ID, state: 'pending' }, ['s1'])),
    );
    await h.clock.advance(10);
    assert.equal(stream.messages.length, 1);
    await updateTask(h.store, 'p', (t) => (t.Status.State = 'assigned'));
    await h.clock.advance(10);
    assert.deepEqual(changes(stream.last), ['secret:s1', 'task:p']);
  });

  it('takes a secret back once its last user on the node ends, not before', async () => {
    const { stream } = await open((nodeId) => [
      using({ id: 'a', nodeId, state: 'running' }, ['s1']),
      using({ id: 'b', nodeId, state: 'running' }, ['s1'], ['c1']),
    ]);
    const reported = async (id: string, state: Task['Status']['State']): Promise<void> => {
      await updateTask(h.store, id, (t) => (t.Status = { ...t.Status, State: state }));
      await h.clock.advance(10);
    };
    await reported('a', 'failed');
    assert.equal(stream.messages.length, 1, 'b still uses s1: nothing to send');
    await reported('b', 'complete');
    assert.deepEqual(changes(stream.last).sort(), ['remove-config:c1', 'remove-secret:s1']);
    assert.equal(stream.messages.length, 2);
    await reported('b', 'complete');
    assert.equal(stream.messages.length, 2, 'taken back once');
  });

  it('takes a secret back when its last user is removed from the node, after the removal', async () => {
    const { stream } = await open((nodeId) => [using({ id: 'a', nodeId, state: 'running' }, ['s1'])]);
    await h.store.update((tx) => tx.delete('task', 'a'));
    await h.clock.advance(10);
    assert.deepEqual(changes(stream.last), ['remove:a', 'remove-secret:s1']);
  });

  it('rotation: the replacement brings the new secret, and the old one goes when the old task ends', async () => {
    const { node, stream } = await open((nodeId) => [
      using({ id: 'old', nodeId, state: 'running', desired: 'shutdown' }, ['s1']),
    ]);
    await h.store.update((tx) => {
      tx.create('secret', secret('s3', 'db_pw2', 'n3w'));
      tx.create('task', using({ id: 'new', nodeId: node.ID, desired: 'ready' }, ['s3']));
    });
    await h.clock.advance(10);
    assert.deepEqual(changes(stream.last), ['secret:s3', 'task:new']);
    await updateTask(h.store, 'old', (t) => (t.Status = { ...t.Status, State: 'shutdown' }));
    await h.clock.advance(10);
    assert.deepEqual(changes(stream.last), ['remove-secret:s1']);
  });

  it('a secret removed and needed again within one batch goes out as the update', async () => {
    const { node, stream } = await open((nodeId) => [using({ id: 'a', nodeId, state: 'running' }, ['s1'])]);
    await h.store.update((tx) => tx.delete('task', 'a'));
    await h.store.update((tx) => tx.create('task', using({ id: 'b', nodeId: node.ID }, ['s1'])));
    await h.clock.advance(10);
    assert.deepEqual(changes(stream.last), ['secret:s1', 'remove:a', 'task:b']);
  });

  it('a secret the store no longer holds is not sent (the node rejects the task, saying so)', async () => {
    const { stream } = await open((nodeId) => [
      using({ id: 'a', nodeId, state: 'assigned' }, ['gone', 's1']),
    ]);
    assert.deepEqual(changes(stream.messages[0]), ['secret:s1', 'task:a']);
  });

  it('a session that starts again gets the complete set again, secrets included', async () => {
    const { node, stream } = await open((nodeId) => [using({ id: 'a', nodeId, state: 'running' }, ['s1'])]);
    stream.messages.length = 0;
    const client = h.dispatcher.localClient(node.ID);
    const { sessionId } = await register(h, client);
    const again = new Recorder<AssignmentsMessage>();
    client.assignments(sessionId, again.onMessage, again.onEnd);
    await settle();
    assert.deepEqual(changes(again.messages[0]), ['secret:s1', 'task:a']);
  });
});
