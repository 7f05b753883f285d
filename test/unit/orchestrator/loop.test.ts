// The orchestrators' loop against the real cluster store (SQLite in memory): events in, transactions out,
// timers only for restart delays, and a restart that picks up where the previous leader left off.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { Service, Task } from '../../../src/api/types.js';
import { Orchestrator } from '../../../src/manager/orchestrator/orchestrator.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { FakeClock } from '../support/fake-clock.js';
import { makeCluster, makeNode, makeService } from './support/fixtures.js';
import { SimulatedCluster } from './support/simulation.js';
import { closeStores, openStore } from './support/store.js';

let store: ClusterStore;
let clock: FakeClock;
let sim: SimulatedCluster;
let orchestrator: Orchestrator;

/** The scheduler and agents run until nothing moves, the orchestrators reacting in between. */
async function settle(): Promise<void> {
  for (let round = 0; round < 50; round++) {
    await orchestrator.whenIdle();
    if (!(await sim.step())) return;
  }
  assert.fail('the cluster did not settle');
}

async function createService(service: Service): Promise<Service> {
  await store.update((tx) => tx.create('service', service));
  return store.view((tx) => tx.get('service', service.ID)!);
}

const live = (tasks: Task[]) =>
  tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');
const slotsOf = (tasks: Task[]) => tasks.map((t) => t.Slot).sort();

beforeEach(async () => {
  store = await openStore();
  // Task creation times come from the store's clock, so the fake clock starts at the real time.
  clock = new FakeClock(Date.now());
  sim = new SimulatedCluster(store);
  await store.update((tx) => {
    tx.create('cluster', makeCluster());
    for (const id of ['a', 'b', 'c']) tx.create('node', makeNode(id));
  });
  orchestrator = new Orchestrator(store, { clock, batchWindowMs: 0 });
  await orchestrator.start();
});

afterEach(async () => {
  await orchestrator.stop();
  await closeStores();
});

describe('orchestrator loop', () => {
  it('a new service gets its tasks, allocated (PENDING) and then running', async () => {
    await createService(makeService('web', { replicas: 3 }));
    await orchestrator.whenIdle();
    const fresh = sim.tasks('web');
    assert.deepEqual(slotsOf(fresh), [1, 2, 3]);
    assert.ok(
      fresh.every((t) => t.Status.State === 'pending' && t.Status.Message === 'pending task scheduling'),
    );
    await settle();
    assert.ok(sim.tasks('web').every((t) => t.Status.State === 'running'));
  });

  it('a crashed task is replaced in its slot, and started once the 5 s restart delay has passed', async () => {
    await createService(makeService('web', { replicas: 1 }));
    await settle();
    const [first] = sim.tasks('web');
    await sim.report(first!.ID, 'failed');
    await settle();
    const replacement = sim.tasks('web').find((t) => t.ID !== first!.ID)!;
    assert.equal(sim.task(first!.ID)?.DesiredState, 'shutdown');
    assert.equal(replacement.Slot, 1);
    assert.equal(replacement.DesiredState, 'ready');
    // Scheduled and prepared while it waits.
    assert.equal(replacement.Status.State, 'ready');

    clock.advanceSync(4_900);
    await settle();
    assert.equal(sim.task(replacement.ID)?.DesiredState, 'ready');
    clock.advanceSync(200);
    await settle();
    assert.equal(sim.task(replacement.ID)?.DesiredState, 'running');
    assert.equal(sim.task(replacement.ID)?.Status.State, 'running');
  });

  it('a node going down: its tasks are replaced at once, in the same slots', async () => {
    await createService(makeService('web', { replicas: 3 }));
    await settle();
    const victim = sim.tasks('web')[0]!;
    await sim.changeNode(victim.NodeID!, (n) => (n.Status.State = 'down'));
    await settle();
    const running = live(sim.tasks('web'));
    assert.deepEqual(slotsOf(running), [1, 2, 3]);
    assert.ok(running.every((t) => t.DesiredState === 'running' && t.NodeID !== victim.NodeID));
    assert.equal(sim.task(victim.ID)?.DesiredState, 'shutdown');
  });

  it('scaling down removes tasks; the reaper deletes them once their agents stopped them', async () => {
    const web = await createService(makeService('web', { replicas: 3 }));
    await settle();
    await store.update((tx) => {
      const current = structuredClone(tx.get('service', web.ID)!);
      current.Spec.Mode = { Replicated: { Replicas: 1 } };
      tx.update('service', current);
    });
    await settle();
    assert.equal(sim.tasks('web').length, 1);
  });

  it('a deleted service’s tasks are removed, and deleted once stopped', async () => {
    const web = await createService(makeService('web', { replicas: 2 }));
    await settle();
    await store.update((tx) => tx.delete('service', web.ID));
    await orchestrator.whenIdle();
    assert.ok(sim.tasks('web').every((t) => t.DesiredState === 'remove'));
    await settle();
    assert.deepEqual(sim.tasks('web'), []);
  });

  it('a global service follows its nodes: a new node gets a task, a drained one loses its task', async () => {
    await createService(makeService('agent', { mode: { Global: {} } }));
    await settle();
    await store.update((tx) => tx.create('node', makeNode('d')));
    await settle();
    assert.deepEqual(
      live(sim.tasks('agent'))
        .map((t) => t.NodeID)
        .sort(),
      ['a', 'b', 'c', 'd'],
    );
    await sim.changeNode('b', (n) => (n.Spec.Availability = 'drain'));
    await settle();
    assert.deepEqual(
      live(sim.tasks('agent'))
        .map((t) => t.NodeID)
        .sort(),
      ['a', 'c', 'd'],
    );
  });

  it('a replicated job runs to TotalCompletions, then stops creating tasks', async () => {
    await createService(
      makeService('batch', { mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } } }),
    );
    await settle();
    const tasks = sim.tasks('batch');
    assert.equal(tasks.length, 5);
    assert.ok(tasks.every((t) => t.Status.State === 'complete'));
    assert.deepEqual(slotsOf(tasks), [0, 1, 2, 3, 4]);
  });

  it('writes nothing once converged', async () => {
    await createService(makeService('web', { replicas: 2 }));
    await settle();
    // A cluster settings change makes the loop look at everything again.
    await store.update((tx) => {
      const cluster = structuredClone(tx.list('cluster')[0]!);
      cluster.Spec.Orchestration = { TaskHistoryRetentionLimit: 3 };
      tx.update('cluster', cluster);
    });
    const revision = store.revision;
    await orchestrator.whenIdle();
    assert.equal(store.revision, revision);
  });

  it('after a restart (new leader), a waiting replacement starts when what is left of its delay has passed', async () => {
    await createService(makeService('web', { replicas: 1 }));
    await settle();
    const [first] = sim.tasks('web');
    await sim.report(first!.ID, 'failed');
    await settle();
    await orchestrator.stop();

    clock.advanceSync(3_000);
    orchestrator = new Orchestrator(store, { clock, batchWindowMs: 0 });
    await orchestrator.start();
    await settle();
    const waiting = sim.tasks('web').find((t) => t.ID !== first!.ID)!;
    assert.equal(waiting.DesiredState, 'ready');
    assert.equal(orchestrator.waitingStarts.length, 1);

    clock.advanceSync(2_500);
    await settle();
    assert.equal(sim.task(waiting.ID)?.DesiredState, 'running');
  });
});
