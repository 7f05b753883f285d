// The scheduler loop against a store: it wakes on the changes that matter, writes each pass in one
// transaction, and stays quiet when a pass has nothing new to say.
// Runs against the real cluster store (SQLite in memory).

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Node, Task } from '../../../src/api/types.js';
import type { ObjectStore } from '../../../src/store/objects.js';
import { Scheduler } from '../../../src/manager/scheduler/scheduler.js';
import { GiB, node, running, service, task, tasks } from './fixtures.js';
import { closeStores, openStore } from './store-fixture.js';

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
  await closeStores();
});

async function started(store: ObjectStore, seed: { nodes?: Node[]; tasks?: Task[] } = {}) {
  await store.update((tx) => {
    for (const n of seed.nodes ?? []) tx.create('node', n);
    for (const t of seed.tasks ?? []) tx.create('task', t);
  });
  scheduler = new Scheduler(store, { quietMs: 5, maxDelayMs: 50 });
  scheduler.start();
  await settled();
}

/** Lets the store deliver its events, then waits for the passes they caused. */
async function settled(): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  await scheduler!.settled();
}

const taskIn = (store: ObjectStore, id: string) => store.view((tx) => tx.get('task', id))!;
const nodeIn = (store: ObjectStore, id: string) => store.view((tx) => tx.get('node', id))!;

async function change<T extends Task | Node>(store: ObjectStore, object: T, edit: (copy: T) => T) {
  await store.update((tx) => {
    if ('ServiceID' in object)
      tx.update('task', edit(structuredClone(taskIn(store, object.ID) as T)) as Task);
    else tx.update('node', edit(structuredClone(nodeIn(store, object.ID) as T)) as Node);
  });
}

describe('scheduler loop', () => {
  it('places the tasks that were pending when it started', async () => {
    const store = await openStore();
    await started(store, { nodes: [node('n1'), node('n2')], tasks: tasks(4) });
    const assigned = store.view((tx) => tx.list('task')).filter((t) => t.Status.State === 'assigned');
    assert.equal(assigned.length, 4);
    assert.deepEqual(assigned.map((t) => t.NodeID).sort(), ['n1', 'n1', 'n2', 'n2']);
    assert.equal(assigned[0]!.Status.Message, 'scheduler assigned task to node');
  });

  it('places a batch of new tasks in one transaction', async () => {
    const store = await openStore();
    await started(store, { nodes: [node('n1'), node('n2'), node('n3')] });
    const before = store.revision;
    await store.update((tx) => tasks(30).forEach((t) => tx.create('task', t)));
    await settled();
    assert.equal(store.revision, before + 2, 'one commit for the tasks, one for all their assignments');
    const perNode = store.view((tx) => ['n1', 'n2', 'n3'].map((id) => tx.tasksByNode(id).length));
    assert.deepEqual(perNode, [10, 10, 10]);
  });

  it('writes why a task cannot be placed once, and then stays quiet', async () => {
    const store = await openStore();
    await started(store, {
      nodes: [node('n1', { memoryBytes: 1 * GiB })],
      tasks: [task('t1', { memoryBytes: 2 * GiB })],
    });
    const stuck = taskIn(store, 't1');
    assert.equal(stuck.Status.State, 'pending');
    assert.equal(stuck.Status.Message, 'pending task scheduling');
    assert.equal(stuck.Status.Err, 'no suitable node (insufficient resources on 1 node)');

    // A change that wakes the scheduler but changes nothing for t1: one commit, no answer.
    const before = store.revision;
    await change(store, nodeIn(store, 'n1'), (n) => ({
      ...n,
      Spec: { ...n.Spec, Labels: { zone: 'east' } },
    }));
    await settled();
    assert.equal(store.revision, before + 1);
  });

  it('places a waiting task when its node becomes available', async () => {
    const store = await openStore();
    await started(store, { nodes: [node('n1', { availability: 'pause' })], tasks: [task('t1')] });
    assert.equal(taskIn(store, 't1').Status.Err, 'no suitable node (1 node not available for new tasks)');

    await change(store, nodeIn(store, 'n1'), (n) => ({ ...n, Spec: { ...n.Spec, Availability: 'active' } }));
    await settled();
    const placed = taskIn(store, 't1');
    assert.equal(placed.Status.State, 'assigned');
    assert.equal(placed.NodeID, 'n1');
    assert.equal(placed.Status.Err, undefined);
  });

  it('places a waiting task when a task that held the room fails', async () => {
    const store = await openStore();
    const holder = running('n1', 1, { memoryBytes: 1 * GiB })[0]!;
    await started(store, {
      nodes: [node('n1', { memoryBytes: 1 * GiB })],
      tasks: [holder, task('t1', { memoryBytes: 1 * GiB })],
    });
    assert.equal(taskIn(store, 't1').Status.State, 'pending');

    await change(store, holder, (t) => ({ ...t, Status: { ...t.Status, State: 'failed' } }));
    await settled();
    assert.equal(taskIn(store, 't1').Status.State, 'assigned');
  });

  it('confirms pre-assigned tasks on their node', async () => {
    const store = await openStore();
    await started(store, {
      nodes: [node('n1'), node('n2')],
      tasks: [task('g1', { service: 'global', node: 'n2' })],
    });
    const confirmed = taskIn(store, 'g1');
    assert.equal(confirmed.Status.State, 'assigned');
    assert.equal(confirmed.NodeID, 'n2');
    assert.equal(confirmed.Status.Message, 'scheduler confirmed task can run on preassigned node');
  });

  it('shuts down a pending task that an update left behind', async () => {
    const store = await openStore();
    await store.update((tx) => tx.create('service', service('svc', 2)));
    await started(store, {
      nodes: [node('n1', { state: 'down' })],
      tasks: [
        task('old', {
          version: 1,
          desired: 'shutdown',
          err: 'no suitable node (1 node not available for new tasks)',
        }),
      ],
    });
    const old = taskIn(store, 'old');
    assert.equal(old.Status.State, 'shutdown');
    assert.equal(old.Status.Err, undefined);
  });

  it('avoids a node where the service failed 5 times in a row', async () => {
    const store = await openStore();
    const crashing = running('n1', 5);
    await started(store, { nodes: [node('n1'), node('n2')], tasks: [...crashing, ...running('n2', 2)] });
    for (const t of crashing)
      await change(store, t, (c) => ({ ...c, Status: { ...c.Status, State: 'failed' } }));
    await settled();

    // n1 now runs no task of the service and n2 two, yet the replacement goes to n2.
    await store.update((tx) => tx.create('task', task('replacement')));
    await settled();
    assert.equal(taskIn(store, 'replacement').NodeID, 'n2');
  });

  it('ignores task status traffic that cannot change a decision', async () => {
    const store = await openStore();
    const [busy] = running('n1', 1, { state: 'assigned' });
    await started(store, { nodes: [node('n1')], tasks: [busy!] });
    const before = store.revision;
    for (const state of ['accepted', 'preparing', 'ready', 'starting', 'running'] as const) {
      await change(store, busy!, (t) => ({ ...t, Status: { ...t.Status, State: state } }));
    }
    await settled();
    assert.equal(store.revision, before + 5);
  });

  it('stops reacting once stopped', async () => {
    const store = await openStore();
    await started(store, { nodes: [node('n1')] });
    await scheduler!.stop();
    await store.update((tx) => tx.create('task', task('t1')));
    // Had the commit reached it, a pass would be scheduled or running, and settled() would wait for it.
    await settled();
    assert.equal(taskIn(store, 't1').Status.State, 'pending');
  });
});
