import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { ShoalError } from '../../../src/api/errors.js';
import { Recorder, getNode, settle } from './helpers.js';
import { DESCRIPTION, harness, register, type Harness } from './setup.js';
import type { SessionMessage } from '../../../src/api/dispatcher.js';

describe('dispatcher sessions', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('registers a known node: description, ready status and address written, first SessionMessage sent', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const { session, sessionId } = await register(h, h.dispatcher.localClient(node.ID));

    assert.equal(sessionId.length, 25);
    const message = session.messages[0]!;
    assert.equal(message.node.ID, node.ID);
    assert.equal(message.node.Status.State, 'ready');
    assert.deepEqual(message.managers, ['192.0.2.10:2377']);
    assert.equal(message.heartbeatPeriodMs, 5000);
    assert.equal(message.rootCA, 'ROOT-PEM');

    const stored = getNode(h.store, node.ID);
    assert.equal(stored.Status.State, 'ready');
    assert.equal(stored.Status.Addr, '192.0.2.10');
    assert.equal(stored.Description.Hostname, DESCRIPTION.Hostname);
    assert.equal(stored.Description.Resources.NanoCPUs, 2e9);
  });

  it('refuses a node that is not in the store', async () => {
    h = await harness();
    const session = new Recorder<SessionMessage>();
    h.dispatcher
      .localClient('nosuchnode')
      .session({ description: DESCRIPTION }, session.onMessage, session.onEnd);
    await settle();
    assert.ok(session.ended);
    assert.ok(session.error instanceof ShoalError);
    assert.equal(session.error.code, 'NotFound');
    assert.equal(session.error.message, 'node not found');
  });

  it('rate-limits registrations to 3 in a row less than 8 s apart', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const client = h.dispatcher.localClient(node.ID);
    for (let i = 0; i < 3; i++) (await register(h, client)).close();

    const fourth = new Recorder<SessionMessage>();
    client.session({ description: DESCRIPTION }, fourth.onMessage, fourth.onEnd);
    await settle();
    assert.ok(fourth.error instanceof ShoalError);
    assert.equal(fourth.error.code, 'Unavailable');
    assert.equal(fourth.error.message, `node ${node.ID} exceeded rate limit count of registrations`);

    await h.clock.advance(8_001);
    await register(h, client);
  });

  it('keeps the session when the agent reconnects with its session ID', async () => {
    h = await harness();
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    const first = await register(h, client);
    first.close();
    const again = await register(h, client, first.sessionId);
    assert.equal(again.sessionId, first.sessionId);
  });

  it('answers a wrong session with InvalidArgument and an unknown node with NotFound', async () => {
    h = await harness({ nodes: 2 });
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    await register(h, client);
    await assert.rejects(client.heartbeat('not-the-session'), {
      code: 'InvalidArgument',
      message: 'session invalid',
    });
    await assert.rejects(h.dispatcher.localClient(h.nodes[1]!.ID).heartbeat('whatever'), {
      code: 'NotFound',
      message: 'node not registered',
    });
  });

  it('ends the old session when the node registers again', async () => {
    h = await harness();
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    const first = await register(h, client);
    const second = await register(h, client);
    assert.notEqual(second.sessionId, first.sessionId);
    await settle();
    assert.ok(first.session.ended);
    assert.equal(first.session.error?.message, 'session invalid');
    await assert.rejects(client.heartbeat(first.sessionId), { message: 'session invalid' });
  });

  it('answers heartbeats with the cluster period ±10 %', async () => {
    const samples = [0, 0.999, 0.5];
    let i = 0;
    h = await harness({ heartbeatPeriodNs: 2e9, random: () => samples[i++ % samples.length]! });
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    const { sessionId, session } = await register(h, client);
    assert.equal(session.messages[0]!.heartbeatPeriodMs, 2000);
    for (let n = 0; n < 6; n++) {
      const { periodMs } = await client.heartbeat(sessionId);
      assert.ok(periodMs >= 1800 && periodMs < 2200, `period ${periodMs}`);
    }
  });

  it('sends a new SessionMessage when the node object or the heartbeat period changes', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const { session } = await register(h, h.dispatcher.localClient(node.ID));
    assert.equal(session.messages.length, 1);

    await h.store.update((tx) => {
      const next = structuredClone(tx.get('node', node.ID)!);
      next.Spec.Labels = { zone: 'a' };
      tx.update('node', next);
    });
    await settle();
    assert.equal(session.messages.length, 2);
    assert.deepEqual(session.last!.node.Spec.Labels, { zone: 'a' });

    await h.store.update((tx) => {
      const cluster = structuredClone(tx.list('cluster')[0]!);
      cluster.Spec.Dispatcher = { HeartbeatPeriod: 10e9 };
      tx.update('cluster', cluster);
    });
    await settle();
    assert.equal(session.messages.length, 3);
    assert.equal(session.last!.heartbeatPeriodMs, 10_000);
  });

  it('ends every stream when stopped, and leaves no timers behind', async () => {
    h = await harness();
    const { session } = await register(h, h.dispatcher.localClient(h.nodes[0]!.ID));
    await h.dispatcher.stop();
    await settle();
    assert.ok(session.ended);
    assert.equal(session.error?.message, 'dispatcher is stopped');
    assert.equal(h.clock.pendingTimers, 0);
  });
});
