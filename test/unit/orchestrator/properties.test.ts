// Property: after any sequence of node failures and recoveries, drains, crashes and scale changes, once
// the loop has converged a replicated service has exactly N tasks with desired RUNNING, on N distinct
// slots, none of them on a node that is down or drained, and no replacement left waiting. Seeded, so a
// failure can be replayed.
//
// The slots are exactly 1..N as long as the service never scaled down. A scale-down keeps the slots §3.2
// chooses (fewest copies per node, running, lower numbers), not the lowest numbers: 5→4 with slot 4 on
// the busiest node keeps {1, 2, 3, 5}, as Swarm does; the next scale-up refills the lowest free numbers.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { Orchestrator } from '../../../src/manager/orchestrator/orchestrator.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeCluster, makeNode, makeService } from './support/fixtures.js';
import { SimulatedCluster } from './support/simulation.js';
import { closeStores, openStore } from './support/store.js';

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NODES = ['n1', 'n2', 'n3', 'n4'];
const SEEDS = [1, 2, 3, 5, 8, 13, 42, 2024, 31337, 65535];
const OPERATIONS = 30;

afterEach(closeStores);

async function runScenario(seed: number, scaling: 'up-and-down' | 'up-only'): Promise<void> {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const store: ClusterStore = await openStore();
  const clock = new FakeClock(Date.now());
  const sim = new SimulatedCluster(store, random);
  await store.update((tx) => {
    tx.create('cluster', makeCluster());
    for (const id of NODES) tx.create('node', makeNode(id));
    tx.create('service', makeService('web', { replicas: 3 }));
  });
  const orchestrator = new Orchestrator(store, { clock, batchWindowMs: 0 });
  await orchestrator.start();
  let replicas = 3;
  const log: string[] = [];

  const converge = async (): Promise<void> => {
    for (let round = 0; round < 300; round++) {
      await orchestrator.whenIdle();
      if (await sim.step()) continue;
      // Nothing moves: let restart delays and stop deadlines run out.
      if (clock.pendingTimers === 0) return;
      clock.advanceSync(61_000);
    }
    assert.fail(`seed ${seed}: no convergence after ${log.join(', ')}`);
  };

  try {
    await converge();
    for (let step = 0; step < OPERATIONS; step++) {
      const operation = pick(['down', 'up', 'drain', 'activate', 'scale', 'crash'] as const);
      const node = pick(NODES);
      switch (operation) {
        case 'down':
          await sim.changeNode(node, (n) => (n.Status.State = 'down'));
          break;
        case 'up':
          await sim.changeNode(node, (n) => (n.Status.State = 'ready'));
          break;
        case 'drain':
          await sim.changeNode(node, (n) => (n.Spec.Availability = 'drain'));
          break;
        case 'activate':
          await sim.changeNode(node, (n) => (n.Spec.Availability = 'active'));
          break;
        case 'scale':
          replicas = scaling === 'up-only' ? Math.min(6, replicas + 1) : Math.floor(random() * 7);
          await store.update((tx) => {
            const web = structuredClone(tx.get('service', 'web')!);
            web.Spec.Mode = { Replicated: { Replicas: replicas } };
            tx.update('service', web);
          });
          break;
        case 'crash': {
          const running = sim
            .tasks('web')
            .filter((t) => t.Status.State === 'running' && t.DesiredState === 'running');
          if (running.length > 0)
            await sim.report(pick(running).ID, pick(['failed', 'complete', 'rejected'] as const));
          break;
        }
      }
      log.push(operation === 'scale' ? `scale ${replicas}` : `${operation} ${node}`);
      await converge();

      const tasks = sim.tasks('web');
      const wanted = tasks.filter((t) => t.DesiredState === 'running');
      const context = `seed ${seed} after ${log.join(', ')}`;
      const slots = wanted.map((t) => t.Slot ?? 0).sort((a, b) => a - b);
      assert.equal(slots.length, replicas, context);
      assert.equal(new Set(slots).size, replicas, `${context}: slots ${slots.join(',')}`);
      assert.ok(
        slots.every((slot) => slot >= 1),
        context,
      );
      if (scaling === 'up-only') {
        assert.deepEqual(
          slots,
          Array.from({ length: replicas }, (_, i) => i + 1),
          context,
        );
      }
      assert.deepEqual(
        tasks.filter((t) => t.DesiredState === 'ready'),
        [],
        `${context}: a replacement was left waiting`,
      );
      for (const task of wanted) {
        if (!task.NodeID) continue;
        const placed = sim.node(task.NodeID)!;
        assert.ok(
          placed.Status.State !== 'down' && placed.Spec.Availability !== 'drain',
          `${context}: ${task.ID}`,
        );
      }
    }
  } finally {
    await orchestrator.stop();
  }
}

describe('replicated service convergence (property)', () => {
  for (const seed of SEEDS) {
    it(`seed ${seed}: exactly N tasks desired RUNNING, on distinct slots`, async () => {
      await runScenario(seed, 'up-and-down');
    });
    it(`seed ${seed}, never scaling down: exactly N tasks desired RUNNING, in slots 1..N`, async () => {
      await runScenario(seed, 'up-only');
    });
  }
});
