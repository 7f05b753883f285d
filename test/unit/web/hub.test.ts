// The dashboard's hub over a real control API: one read feeds every page, a page gets the picture then
// only differences, batched; a task's change moves its service's counts; the node's manager going away
// and coming back is a new picture for every page.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ObjectsQuery } from '../../../src/api/control.js';
import { DashboardHub, type Diff, type HubClient, type Snapshot } from '../../../src/web/hub.js';
import type { DashboardSource } from '../../../src/web/source.js';
import { controlFixture, type Fixture } from './fixture.js';

interface Received {
  event: string;
  data: unknown;
}

function recorder(): { client: HubClient; received: Received[]; next(): Promise<Received> } {
  const received: Received[] = [];
  const waiters: (() => void)[] = [];
  let read = 0;
  return {
    received,
    client: {
      send(event, data) {
        received.push({ event, data: JSON.parse(data) });
        waiters.splice(0).forEach((wake) => wake());
        return true;
      },
      ping() {},
    },
    async next() {
      while (received.length <= read) await new Promise<void>((resolve) => waiters.push(resolve));
      return received[read++]!;
    },
  };
}

describe('dashboard hub', () => {
  let fixture: Fixture;
  let reads: ObjectsQuery[];
  let source: DashboardSource | undefined;
  let changeListeners: (() => void)[];
  let hub: DashboardHub;

  beforeEach(async () => {
    fixture = await controlFixture();
    reads = [];
    const api = fixture.api;
    source = {
      watchObjects: (listener) => api.watchObjects(listener),
      readObjects: (query) => {
        reads.push(query);
        return api.readObjects(query);
      },
      subscribeEvents: (request, listener) => api.subscribeEvents(request, listener),
      serviceLogs: (ref, request, signal) => api.serviceLogs(ref, request, signal),
    };
    changeListeners = [];
    hub = new DashboardHub(
      {
        current: () => (source ? { source } : { unavailable: 'this node is a swarm worker' }),
        onChange: (listener) => {
          changeListeners.push(listener);
          return () => undefined;
        },
      },
      { batchMs: 5 },
    );
  });
  afterEach(async () => {
    hub.close();
    await fixture.close();
  });

  it('gives every page the picture, then one batched difference read once for all of them', async () => {
    const id1 = await fixture.addTask(1, 'running');
    const a = recorder();
    const b = recorder();
    hub.add(a.client);
    hub.add(b.client);
    const snapshot = (await a.next()).data as Snapshot;
    assert.equal((await b.next()).event, 'snapshot');
    assert.deepEqual(
      snapshot.services.map((s) => [s.name, s.running, s.desired]),
      [['web', 1, 2]],
    );
    assert.deepEqual(
      snapshot.tasks.map((t) => [t.name, t.state, t.upToDate]),
      [['web.1', 'running', true]],
    );
    assert.equal(snapshot.nodes[0]?.hostname, 'vm');
    assert.equal(reads.length, 1, 'one read of everything, whatever the number of pages');

    // Two writes close together: one message, with the new task and the service's new counts.
    const id2 = await fixture.addTask(2, 'starting');
    await fixture.setTaskState(id2, 'running');
    const diff = (await a.next()).data as Diff;
    assert.deepEqual(
      diff.upsert.tasks.map((t) => [t.name, t.state]),
      [['web.2', 'running']],
    );
    assert.deepEqual(
      diff.upsert.services.map((s) => [s.running, s.desired]),
      [[2, 2]],
    );
    assert.deepEqual(diff.upsert.nodes, []);
    assert.deepEqual((await b.next()).data, diff, 'the same message to every page');
    const readsAfterOneBatch = reads.length;
    assert.ok(readsAfterOneBatch <= 3, `one batch is at most two reads (${readsAfterOneBatch - 1})`);

    // A failure shows with its error; a removal is a removal.
    await fixture.setTaskState(id1, 'failed');
    const failed = (await a.next()).data as Diff;
    assert.deepEqual(
      failed.upsert.tasks.map((t) => [t.id, t.state, t.err]),
      [[id1, 'failed', 'exit 1']],
    );
    await fixture.store.update((tx) => tx.delete('task', id1));
    const removed = (await a.next()).data as Diff;
    assert.deepEqual(removed.remove.tasks, [id1]);
  });

  it('passes the swarm events on, and a changed spec makes the tasks out of date', async () => {
    await fixture.addTask(1, 'running');
    const a = recorder();
    hub.add(a.client);
    const snapshot = (await a.next()).data as Snapshot;
    assert.deepEqual(
      snapshot.events.map((e) => [e.type, e.action, e.name]),
      [
        ['node', 'create', 'vm'],
        ['service', 'create', 'web'],
      ],
    );
    const service = await fixture.api.getService(fixture.serviceId, false);
    await fixture.api.updateService(
      fixture.serviceId,
      service.Version.Index,
      { ...service.Spec, Mode: { Replicated: { Replicas: 5 } }, Labels: { x: '1' } },
      {},
    );
    let diff: Diff;
    do diff = (await a.next()).data as Diff;
    while (diff.events.length === 0);
    assert.deepEqual(diff.events[0]?.changes, ['replicas 2 → 5']);
    assert.equal(diff.upsert.services[0]?.replicas, 5);
    assert.deepEqual(
      diff.upsert.tasks.map((t) => t.upToDate),
      [false],
    );
  });

  it('says when the node serves no dashboard, and starts over when its manager comes back', async () => {
    const a = recorder();
    hub.add(a.client);
    assert.equal((await a.next()).event, 'snapshot');
    const kept = source;
    source = undefined;
    changeListeners.forEach((listener) => listener());
    assert.deepEqual(await a.next(), {
      event: 'unavailable',
      data: { message: 'this node is a swarm worker' },
    });
    source = kept;
    changeListeners.forEach((listener) => listener());
    assert.equal((await a.next()).event, 'snapshot');
    hub.remove(a.client);
    assert.equal(hub.clientCount, 0);
  });
});
