import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { Dispatcher } from '../../../src/manager/dispatcher/dispatcher.js';
import { getNode, settle, taskFixture, getTask } from './helpers.js';
import { harness, register, type Harness } from './setup.js';

describe('dispatcher heartbeats and node liveness', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('marks a node down after 3 periods without a heartbeat, and ready again when it reconnects', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const client = h.dispatcher.localClient(node.ID);
    const { sessionId, session } = await register(h, client);

    // Heartbeats every period keep it alive well past 3 periods.
    for (let i = 0; i < 5; i++) {
      const { periodMs } = await client.heartbeat(sessionId);
      await h.clock.advance(periodMs);
    }
    assert.equal(getNode(h.store, node.ID).Status.State, 'ready');

    // random() = 0.5 → no jitter: 5 s period, expiry at 15 s.
    await client.heartbeat(sessionId);
    await h.clock.advance(14_900);
    assert.equal(getNode(h.store, node.ID).Status.State, 'ready');
    await h.clock.advance(300);
    const down = getNode(h.store, node.ID);
    assert.equal(down.Status.State, 'down');
    assert.equal(down.Status.Message, 'heartbeat failure');
    assert.ok(session.ended, 'the session stream ends');
    await assert.rejects(client.heartbeat(sessionId), { code: 'NotFound', message: 'node not registered' });

    await register(h, client, sessionId);
    assert.equal(getNode(h.store, node.ID).Status.State, 'ready');
  });

  it('on start, makes nodes unknown with a grace of 6 periods instead of marking them down', async () => {
    h = await harness({ nodes: 3, start: false });
    const [back, silent, wasDown] = h.nodes as [
      (typeof h.nodes)[0],
      (typeof h.nodes)[0],
      (typeof h.nodes)[0],
    ];
    await h.store.update((tx) => {
      const next = structuredClone(tx.get('node', wasDown.ID)!);
      next.Status = { State: 'down', Message: 'heartbeat failure', Addr: '' };
      tx.update('node', next);
      tx.create('task', taskFixture({ nodeId: silent.ID, state: 'running' }));
    });
    await h.dispatcher.start();

    for (const node of [back, silent]) {
      const status = getNode(h.store, node.ID).Status;
      assert.equal(status.State, 'unknown');
      assert.equal(status.Message, 'Node moved to "unknown" state due to leadership change in cluster');
    }
    assert.equal(getNode(h.store, wasDown.ID).Status.State, 'down');

    const client = h.dispatcher.localClient(back.ID);
    const { sessionId } = await register(h, client);
    assert.equal(getNode(h.store, back.ID).Status.State, 'ready');

    // 3 periods is the normal expiry; an unknown node gets 6 (30 s).
    for (let elapsed = 0; elapsed < 25_000; elapsed += 5_000) {
      await client.heartbeat(sessionId);
      await h.clock.advance(5_000);
    }
    assert.equal(getNode(h.store, silent.ID).Status.State, 'unknown');
    await client.heartbeat(sessionId);
    await h.clock.advance(5_100);
    const expired = getNode(h.store, silent.ID).Status;
    assert.equal(expired.State, 'down');
    assert.equal(expired.Message, 'heartbeat failure for node in "unknown" state');
    assert.equal(getNode(h.store, back.ID).Status.State, 'ready');
  });

  it('orphans the running tasks of a node down for 24 hours', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const running = taskFixture({ nodeId: node.ID, state: 'running' });
    const finished = taskFixture({ nodeId: node.ID, state: 'complete' });
    await h.store.update((tx) => {
      tx.create('task', running);
      tx.create('task', finished);
    });
    await h.clock.advance(30_100);
    assert.equal(getNode(h.store, node.ID).Status.State, 'down');
    await h.clock.advance(24 * 3600 * 1000);
    assert.equal(getTask(h.store, running.ID).Status.State, 'orphaned');
    assert.equal(getTask(h.store, finished.ID).Status.State, 'complete');
  });

  it('does not mark nodes down once stopped', async () => {
    h = await harness();
    await register(h, h.dispatcher.localClient(h.nodes[0]!.ID));
    await h.dispatcher.stop();
    await h.clock.advance(60_000);
    await settle();
    assert.equal(getNode(h.store, h.nodes[0]!.ID).Status.State, 'ready');
    assert.ok(h.dispatcher instanceof Dispatcher);
  });
});
