// The orchestrators' loop under poisoned and huge services: one that cannot be orchestrated is set aside
// and reported while the others converge, and a big scale goes through in bounded passes.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { ObjectFailure } from '../../../src/manager/isolation.js';
import { Orchestrator } from '../../../src/manager/orchestrator/orchestrator.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeCluster, makeNode, makeService } from './support/fixtures.js';
import { closeStores, openStore } from './support/store.js';

let store: ClusterStore;
let clock: FakeClock;
let orchestrator: Orchestrator;
let reported: { failure: ObjectFailure; retryAt: number; first: boolean }[];

beforeEach(async () => {
  store = await openStore();
  clock = new FakeClock(Date.now());
  reported = [];
  await store.update((tx) => {
    tx.create('cluster', makeCluster());
    tx.create('node', makeNode('a'));
  });
  orchestrator = new Orchestrator(store, {
    clock,
    batchWindowMs: 0,
    onObjectError: (failure, retryAt, first) => reported.push({ failure, retryAt, first }),
  });
  await orchestrator.start();
});

afterEach(async () => {
  await orchestrator.stop();
  await closeStores();
});

const taskCount = (serviceId: string) => store.view((tx) => tx.tasksByService(serviceId).length);

describe('orchestrator loop: isolation and pacing', () => {
  it('sets a stored service above the limits aside, and keeps orchestrating the others', async () => {
    // As an older version would have stored it: straight into the store, past the control API.
    await store.update((tx) => tx.create('service', makeService('huge', { replicas: 1_000_000_000 })));
    await store.update((tx) => tx.create('service', makeService('web', { replicas: 3 })));
    await orchestrator.whenIdle();
    assert.equal(taskCount('huge'), 0);
    assert.equal(taskCount('web'), 3);
    assert.equal(reported.length, 1);
    assert.equal(reported[0]!.failure.id, 'huge');
    assert.equal(reported[0]!.first, true);
    assert.match(String(reported[0]!.failure.error), /replicas 1000000000 is above the limit/);
    assert.deepEqual(
      orchestrator.setAside.map((e) => e.id),
      ['service/huge'],
    );

    // Retried with backoff, quietly failing again; a fix (scale down) is picked up at once.
    clock.advanceSync(1_000);
    await orchestrator.whenIdle();
    assert.equal(reported.length, 2);
    assert.equal(reported[1]!.first, false);
    await store.update((tx) => {
      const service = structuredClone(tx.get('service', 'huge')!);
      service.Spec.Mode = { Replicated: { Replicas: 2 } };
      tx.update('service', service);
    });
    await orchestrator.whenIdle();
    assert.equal(taskCount('huge'), 2);
    assert.deepEqual(orchestrator.setAside, []);
  });

  it('a removed poisoned service is cleaned up and forgotten', async () => {
    await store.update((tx) => tx.create('service', makeService('huge', { replicas: 1_000_000_000 })));
    await orchestrator.whenIdle();
    await store.update((tx) => tx.delete('service', 'huge'));
    clock.advanceSync(1_000);
    await orchestrator.whenIdle();
    assert.deepEqual(orchestrator.setAside, []);
  });

  it('creates thousands of tasks in bounded passes', async () => {
    const commits: number[] = [];
    const unwatch = store.watch((batch) => {
      const created = batch.events.filter((e) => e.kind === 'task' && e.action === 'create').length;
      if (created > 0) commits.push(created);
    });
    await store.update((tx) => tx.create('service', makeService('big', { replicas: 2_500 })));
    for (let i = 0; i < 20 && taskCount('big') < 2_500; i++) await orchestrator.whenIdle();
    unwatch();
    assert.equal(taskCount('big'), 2_500);
    assert.ok(Math.max(...commits) <= 1_000, `a transaction created ${Math.max(...commits)} tasks`);
    const slots = store.view((tx) => tx.tasksByService('big').map((t) => t.Slot!));
    assert.equal(new Set(slots).size, 2_500);
  });
});
