// Writing a pass's decisions: every task and node is read again in the transaction, and a decision
// whose premise changed since the snapshot is dropped (the change itself wakes the next pass).

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import type { Node, Task } from '../../../src/api/types.js';
import type { ObjectStore } from '../../../src/store/objects.js';
import { applyDecisions } from '../../../src/manager/scheduler/apply.js';
import type { SchedulingDecision } from '../../../src/manager/scheduler/snapshot.js';
import { node, task } from './fixtures.js';
import { closeStores, openStore } from './store-fixture.js';

const assign = (taskId: string, nodeId: string): SchedulingDecision => ({
  kind: 'assign',
  taskId,
  nodeId,
  message: 'scheduler assigned task to node',
});
const TIME = '2024-01-01T02:00:00.000Z';

afterEach(closeStores);

async function storeWith(nodes: Node[], tasks: Task[]) {
  const store = await openStore();
  await store.update((tx) => {
    nodes.forEach((n) => tx.create('node', n));
    tasks.forEach((t) => tx.create('task', t));
  });
  // The nodes as the pass saw them: as they are now, before the edits a test makes.
  const seen = new Map(store.view((tx) => tx.list('node')).map((n) => [n.ID, n]));
  return { store, seen };
}

const taskIn = (store: ObjectStore, id: string) => store.view((tx) => tx.get('task', id));

describe('applying an assignment', () => {
  it('moves the task to ASSIGNED on the node, with a fresh status', async () => {
    const { store, seen } = await storeWith([node('n1')], [task('t1', { err: 'no suitable node' })]);
    const outcome = await store.update((tx) => applyDecisions(tx, [assign('t1', 'n1')], seen, TIME));
    assert.deepEqual(outcome, { assigned: 1, unschedulable: 0, shutdown: 0, stale: 0 });
    assert.deepEqual(taskIn(store, 't1')?.Status, {
      State: 'assigned',
      Message: 'scheduler assigned task to node',
      Timestamp: TIME,
    });
    assert.equal(taskIn(store, 't1')?.NodeID, 'n1');
  });

  it('is dropped when the task moved on, was placed elsewhere, or is no longer wanted', async () => {
    const { store, seen } = await storeWith(
      [node('n1'), node('n2')],
      [
        task('started', { state: 'running', node: 'n1' }),
        task('elsewhere', { node: 'n2' }),
        task('unwanted', { desired: 'shutdown' }),
      ],
    );
    const decisions = ['started', 'elsewhere', 'unwanted', 'deleted'].map((id) => assign(id, 'n1'));
    const outcome = await store.update((tx) => applyDecisions(tx, decisions, seen, TIME));
    assert.deepEqual(outcome, { assigned: 0, unschedulable: 0, shutdown: 0, stale: 4 });
  });

  it('is dropped when the node changed in a way that matters, kept otherwise', async () => {
    const { store, seen } = await storeWith([node('drained'), node('renamed')], [task('t1'), task('t2')]);
    await store.update((tx) => {
      const drained = tx.get('node', 'drained')!;
      tx.update('node', { ...drained, Spec: { ...drained.Spec, Availability: 'drain' } });
      const renamed = tx.get('node', 'renamed')!;
      tx.update('node', {
        ...renamed,
        Spec: { ...renamed.Spec, Name: 'web-1' },
        Status: { ...renamed.Status, Message: 'hi' },
      });
    });
    const decisions = [assign('t1', 'drained'), assign('t2', 'renamed')];
    const outcome = await store.update((tx) => applyDecisions(tx, decisions, seen, TIME));
    assert.deepEqual(outcome, { assigned: 1, unschedulable: 0, shutdown: 0, stale: 1 });
    assert.equal(taskIn(store, 't2')?.NodeID, 'renamed');
  });

  it('confirms a pre-assigned task on its own node', async () => {
    const { store, seen } = await storeWith([node('n1')], [task('g1', { node: 'n1' })]);
    const confirm: SchedulingDecision = {
      kind: 'assign',
      taskId: 'g1',
      nodeId: 'n1',
      message: 'scheduler confirmed task can run on preassigned node',
    };
    await store.update((tx) => applyDecisions(tx, [confirm], seen, TIME));
    assert.equal(taskIn(store, 'g1')?.Status.Message, 'scheduler confirmed task can run on preassigned node');
  });
});

describe('applying an explanation', () => {
  it('sets Status.Err and keeps the task pending with its message', async () => {
    const { store, seen } = await storeWith([], [task('t1')]);
    const decision: SchedulingDecision = { kind: 'unschedulable', taskId: 't1', error: 'no suitable node' };
    await store.update((tx) => applyDecisions(tx, [decision], seen, TIME));
    assert.deepEqual(taskIn(store, 't1')?.Status, {
      State: 'pending',
      Message: 'pending task scheduling',
      Err: 'no suitable node',
      Timestamp: TIME,
    });
  });

  it('writes nothing when the task already says so', async () => {
    const { store, seen } = await storeWith([], [task('t1', { err: 'no suitable node' })]);
    const before = store.revision;
    const decision: SchedulingDecision = { kind: 'unschedulable', taskId: 't1', error: 'no suitable node' };
    const outcome = await store.update((tx) => applyDecisions(tx, [decision], seen, TIME));
    assert.equal(outcome.unschedulable, 0);
    assert.equal(store.revision, before);
  });
});

describe('applying a shutdown', () => {
  it('moves the pending task to SHUTDOWN and clears its error', async () => {
    const { store, seen } = await storeWith(
      [],
      [task('old', { desired: 'shutdown', err: 'no suitable node' })],
    );
    await store.update((tx) => applyDecisions(tx, [{ kind: 'shutdown', taskId: 'old' }], seen, TIME));
    const status = taskIn(store, 'old')?.Status;
    assert.equal(status?.State, 'shutdown');
    assert.equal('Err' in (status ?? {}), false);
  });
});
