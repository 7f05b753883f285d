// The replicated orchestrator (§3.2): slots, scaling, dead slots, replacements, and what it hands the
// update supervisor (update-*.test.ts cover the supervisor itself).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node, Service, Task } from '../../../src/api/types.js';
import { reconcileReplicatedService } from '../../../src/manager/orchestrator/replicated/reconcile.js';
import {
  contextOf,
  created,
  deleted,
  desiredChanges,
  makeNode,
  makeService,
  makeTask,
  ms,
  scheduledStarts,
  SECOND_NS,
  slotsOf,
  updated,
} from './support/fixtures.js';

const nodes = [makeNode('a'), makeNode('b'), makeNode('c')];

function reconcile(service: Service, tasks: Task[], options: { nodes?: Node[]; now?: number } = {}) {
  return reconcileReplicatedService(
    service,
    contextOf({ nodes: options.nodes ?? nodes, services: [service], tasks }, options.now ?? 0),
  );
}

describe('replicated service: scaling up', () => {
  it('a new service gets one task per replica, in slots 1..N, desired RUNNING and not yet placed', () => {
    const web = makeService('web', { replicas: 3 });
    const tasks = created(reconcile(web, []));
    assert.deepEqual(slotsOf(tasks), [1, 2, 3]);
    for (const task of tasks) {
      assert.equal(task.DesiredState, 'running');
      assert.equal(task.Status.State, 'new');
      assert.equal(task.NodeID, undefined);
    }
  });

  it('fills the lowest free slot numbers', () => {
    const web = makeService('web', { replicas: 4 });
    const tasks = [makeTask(web, { slot: 1, node: 'a' }), makeTask(web, { slot: 3, node: 'b' })];
    assert.deepEqual(slotsOf(created(reconcile(web, tasks))), [2, 4]);
  });

  it('does nothing when every slot is occupied', () => {
    const web = makeService('web', { replicas: 2 });
    const tasks = [
      makeTask(web, { slot: 1, node: 'a' }),
      makeTask(web, { slot: 2, node: 'b', state: 'pending' }),
    ];
    assert.deepEqual(reconcile(web, tasks), []);
  });
});

describe('replicated service: scaling down (§3.2 slot choice)', () => {
  it('5→3 removes from the node with the most copies', () => {
    const web = makeService('web', { replicas: 3 });
    const tasks = [
      makeTask(web, { id: 's1', slot: 1, node: 'a' }),
      makeTask(web, { id: 's2', slot: 2, node: 'a' }),
      makeTask(web, { id: 's3', slot: 3, node: 'a' }),
      makeTask(web, { id: 's4', slot: 4, node: 'a' }),
      makeTask(web, { id: 's5', slot: 5, node: 'b' }),
    ];
    assert.deepEqual(desiredChanges(reconcile(web, tasks)), { s3: 'remove', s4: 'remove' });
  });

  it('prefers removing tasks that are not running', () => {
    const web = makeService('web', { replicas: 2 });
    const tasks = [
      makeTask(web, { id: 's1', slot: 1, node: 'a', state: 'running' }),
      makeTask(web, { id: 's2', slot: 2, node: 'b', state: 'preparing' }),
      makeTask(web, { id: 's3', slot: 3, node: 'c', state: 'running' }),
    ];
    assert.deepEqual(desiredChanges(reconcile(web, tasks)), { s2: 'remove' });
  });

  it('prefers removing unassigned tasks over a second copy on a node', () => {
    const web = makeService('web', { replicas: 2 });
    const tasks = [
      makeTask(web, { id: 's1', slot: 1, node: 'a' }),
      makeTask(web, { id: 's2', slot: 2, node: 'a' }),
      makeTask(web, { id: 's3', slot: 3, state: 'pending' }),
    ];
    assert.deepEqual(desiredChanges(reconcile(web, tasks)), { s3: 'remove' });
  });

  it('among equals, removes the higher slots', () => {
    const web = makeService('web', { replicas: 1 });
    const tasks = [
      makeTask(web, { id: 's1', slot: 1, node: 'a' }),
      makeTask(web, { id: 's2', slot: 2, node: 'b' }),
      makeTask(web, { id: 's3', slot: 3, node: 'c' }),
    ];
    assert.deepEqual(desiredChanges(reconcile(web, tasks)), { s2: 'remove', s3: 'remove' });
  });

  it('to zero removes every slot, including tasks that are waiting to start', () => {
    const web = makeService('web', { replicas: 0 });
    const tasks = [
      makeTask(web, { id: 'old', slot: 1, node: 'a', state: 'failed', desired: 'shutdown' }),
      makeTask(web, { id: 'waiting', slot: 1, node: 'b', state: 'ready', desired: 'ready', createdAt: 1 }),
    ];
    assert.deepEqual(desiredChanges(reconcile(web, tasks)), { waiting: 'remove' });
  });

  it('a slot given up by scale-down no longer counts, even while its task is still stopping', () => {
    const web = makeService('web', { replicas: 2 });
    const tasks = [
      makeTask(web, { slot: 1, node: 'a' }),
      makeTask(web, { slot: 2, node: 'b' }),
      makeTask(web, { id: 'leaving', slot: 3, node: 'c', state: 'running', desired: 'remove' }),
    ];
    assert.deepEqual(reconcile(web, tasks), []);
  });
});

describe('replicated service: dead slots', () => {
  // With the default policy (ANY) a slot whose tasks are all shut down would be restarted: it is dead.
  const web = makeService('web', { replicas: 2 });

  it('reuses the number of a dead slot and keeps its history', () => {
    const tasks = [
      makeTask(web, { id: 'live', slot: 1, node: 'a' }),
      makeTask(web, { id: 'gone', slot: 2, node: 'b', state: 'shutdown', desired: 'shutdown' }),
    ];
    const actions = reconcile(web, tasks);
    assert.deepEqual(slotsOf(created(actions)), [2]);
    assert.deepEqual(deleted(actions), []);
  });

  it('deletes the stopped tasks of a dead slot it does not reuse, and waits for the others to stop', () => {
    const tasks = [
      makeTask(web, { slot: 1, node: 'a' }),
      makeTask(web, { slot: 2, node: 'b' }),
      makeTask(web, { id: 'stopped', slot: 3, node: 'c', state: 'shutdown', desired: 'remove' }),
      makeTask(web, { id: 'never-ran', slot: 4, state: 'pending', desired: 'remove' }),
      makeTask(web, { id: 'stopping', slot: 5, node: 'c', state: 'running', desired: 'remove' }),
    ];
    assert.deepEqual(deleted(reconcile(web, tasks)), ['never-ran', 'stopped']);
  });
});

describe('replicated service: replacing tasks', () => {
  it('a failed task is shut down and replaced in its slot, desired READY, started after the 5 s delay', () => {
    const web = makeService('web', { replicas: 1 });
    const failed = makeTask(web, { id: 'crashed', slot: 1, node: 'a', state: 'failed', statusAt: 10 });
    const actions = reconcile(web, [failed], { now: 10 });
    assert.deepEqual(desiredChanges(actions), { crashed: 'shutdown' });
    const [replacement] = created(actions);
    assert.equal(replacement?.Slot, 1);
    assert.equal(replacement?.DesiredState, 'ready');
    assert.equal(replacement?.NodeID, undefined);
    const [start] = scheduledStarts(actions);
    assert.equal(start?.taskId, replacement?.ID);
    assert.equal(start?.notBefore, ms(15));
    // The old task already stopped: nothing to wait for.
    assert.deepEqual(start?.waitForStopOf, []);
  });

  it('uses the policy’s delay', () => {
    const web = makeService('web', {
      taskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Delay: 30 * SECOND_NS } },
    });
    const failed = makeTask(web, { slot: 1, node: 'a', state: 'failed' });
    assert.equal(scheduledStarts(reconcile(web, [failed], { now: 2 }))[0]?.notBefore, ms(32));
  });

  it('a task whose node went down is replaced in the same slot at once: no delay (shoal, architecture §10)', () => {
    const web = makeService('web', { replicas: 2 });
    const tasks = [
      makeTask(web, { id: 'lost', slot: 2, node: 'a', state: 'running' }),
      makeTask(web, { id: 'fine', slot: 1, node: 'b', state: 'running' }),
    ];
    const actions = reconcile(web, tasks, { nodes: [makeNode('a', { state: 'down' }), makeNode('b')] });
    assert.deepEqual(desiredChanges(actions), { lost: 'shutdown' });
    const [replacement] = created(actions);
    assert.equal(replacement?.Slot, 2);
    assert.equal(replacement?.DesiredState, 'running');
    assert.deepEqual(scheduledStarts(actions), []);
  });

  it('a task whose node was deleted is replaced at once too', () => {
    const web = makeService('web', { replicas: 1 });
    const tasks = [makeTask(web, { id: 'lost', slot: 1, node: 'gone', state: 'orphaned' })];
    const actions = reconcile(web, tasks);
    assert.equal(created(actions)[0]?.DesiredState, 'running');
  });

  it('a task on a drained node is replaced without delay, but starts only once the old one stopped', () => {
    const web = makeService('web', { replicas: 1 });
    const tasks = [makeTask(web, { id: 'moving', slot: 1, node: 'a', state: 'running' })];
    const actions = reconcile(web, tasks, { nodes: [makeNode('a', { availability: 'drain' })], now: 7 });
    const [start] = scheduledStarts(actions);
    assert.equal(created(actions)[0]?.DesiredState, 'ready');
    assert.equal(start?.notBefore, ms(7));
    assert.deepEqual(start?.waitForStopOf, ['moving']);
    assert.equal(start?.stopDeadline, ms(67));
  });

  it('paused and unknown nodes keep their tasks', () => {
    const web = makeService('web', { replicas: 2 });
    const tasks = [makeTask(web, { slot: 1, node: 'a' }), makeTask(web, { slot: 2, node: 'b' })];
    const actions = reconcile(web, tasks, {
      nodes: [makeNode('a', { availability: 'pause' }), makeNode('b', { state: 'unknown' })],
    });
    assert.deepEqual(actions, []);
  });

  it('restart condition NONE: a task lost with its node is not replaced, and its slot is not refilled', () => {
    const web = makeService('web', {
      replicas: 1,
      taskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'none' } },
    });
    const down = [makeNode('a', { state: 'down' })];
    const lost = makeTask(web, { id: 'lost', slot: 1, node: 'a' });
    assert.deepEqual(reconcile(web, [lost], { nodes: down }), [
      { kind: 'setDesiredState', taskId: 'lost', state: 'shutdown' },
    ]);
    // Next pass: the slot is still occupied by its (unrestartable) task.
    assert.deepEqual(reconcile(web, [{ ...lost, DesiredState: 'shutdown' }], { nodes: down }), []);
  });

  it('restart condition ON_FAILURE: a task that exited 0 stays, a failed one is replaced', () => {
    const web = makeService('web', {
      replicas: 2,
      taskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: 'on-failure' } },
    });
    const tasks = [
      makeTask(web, { id: 'done', slot: 1, node: 'a', state: 'complete' }),
      makeTask(web, { id: 'bad', slot: 2, node: 'b', state: 'failed' }),
    ];
    const actions = reconcile(web, tasks);
    assert.deepEqual(desiredChanges(actions), { done: 'shutdown', bad: 'shutdown' });
    assert.deepEqual(slotsOf(created(actions)), [2]);
  });

  it('a replacement that fails before its own delay is over is restarted only after it', () => {
    const web = makeService('web', { replicas: 1 });
    const tasks = [
      makeTask(web, { slot: 1, node: 'a', state: 'failed', desired: 'shutdown' }),
      makeTask(web, { id: 'again', slot: 1, node: 'a', state: 'rejected', desired: 'ready', createdAt: 10 }),
    ];
    assert.deepEqual(reconcile(web, tasks, { now: 12 }), []);
    assert.deepEqual(desiredChanges(reconcile(web, tasks, { now: 15 })), { again: 'shutdown' });
  });
});

describe('replicated service: restart MaxAttempts (history per slot, rebuilt from the store)', () => {
  const limited = (maxAttempts: number, windowSeconds = 0) =>
    makeService('web', {
      replicas: 1,
      taskTemplate: {
        ContainerSpec: { Image: 'x' },
        RestartPolicy: { MaxAttempts: maxAttempts, Window: windowSeconds * SECOND_NS },
      },
    });
  const history = (service: Service, failures: number[]) =>
    failures.map((createdAt, i) =>
      makeTask(service, {
        slot: 1,
        node: 'a',
        state: 'failed',
        desired: i === failures.length - 1 ? 'running' : 'shutdown',
        createdAt,
        statusAt: createdAt + 5,
      }),
    );

  it('restarts while fewer than MaxAttempts restarts happened', () => {
    const web = limited(2);
    assert.equal(created(reconcile(web, history(web, [0, 10]), { now: 20 })).length, 1);
  });

  it('stops after MaxAttempts restarts; the slot stays occupied', () => {
    const web = limited(2);
    const tasks = history(web, [0, 10, 20]);
    const actions = reconcile(web, tasks, { now: 30 });
    assert.deepEqual(created(actions), []);
    assert.equal(Object.values(desiredChanges(actions))[0], 'shutdown');
    const after = tasks.map((t) => ({ ...t, DesiredState: 'shutdown' as const }));
    assert.deepEqual(reconcile(web, after, { now: 31 }), []);
  });

  it('a service update forgives past failures (history counts only the failed task’s spec version)', () => {
    const web = limited(2);
    const old = history(web, [0, 10, 20]).map((t) => ({ ...t, DesiredState: 'shutdown' as const }));
    const newer = updated(web, (spec) => ({ ...spec, ContainerSpec: { Image: 'y' } }));
    const failedNew = makeTask(newer, { slot: 1, node: 'a', state: 'failed', createdAt: 30, statusAt: 35 });
    assert.equal(created(reconcile(newer, [...old, failedNew], { now: 40 })).length, 1);
  });

  it('with a Window, only restarts within the window before the failure count', () => {
    const web = limited(2, 60);
    // Restarts created at 10 and 20; the last one fails at 25: both are within (25-60, 25).
    assert.deepEqual(created(reconcile(web, history(web, [0, 10, 20]), { now: 30 })), []);
    // The same history failing much later: the restarts fell out of the window.
    const late = history(web, [0, 10, 200]);
    assert.equal(created(reconcile(web, late, { now: 210 })).length, 1);
  });
});

describe('replicated service: outdated slots (handed to the update supervisor)', () => {
  const web = makeService('web', { replicas: 2 });
  const newer = updated(web, (spec) => ({ ...spec, ContainerSpec: { Image: 'nginx:2' } }));

  it('with parallelism 0, replaces every outdated task at once, stop-first', () => {
    const allAtOnce = { ...newer, Spec: { ...newer.Spec, UpdateConfig: { Parallelism: 0 } } };
    const tasks = [
      makeTask(web, { id: 'o1', slot: 1, node: 'a' }),
      makeTask(web, { id: 'o2', slot: 2, node: 'b' }),
    ];
    const actions = reconcile(allAtOnce, tasks, { now: 3 });
    assert.deepEqual(desiredChanges(actions), { o1: 'shutdown', o2: 'shutdown' });
    const replacements = created(actions);
    assert.deepEqual(slotsOf(replacements), [1, 2]);
    assert.ok(replacements.every((t) => t.DesiredState === 'ready' && t.SpecVersion?.Index === 100));
    const starts = scheduledStarts(actions);
    assert.deepEqual(starts.map((s) => s.waitForStopOf).sort(), [['o1'], ['o2']]);
    assert.ok(starts.every((s) => s.notBefore === ms(3)));
  });

  it('leaves UpdateStatus alone and does nothing while an update is paused', () => {
    const paused = { ...newer, UpdateStatus: { State: 'paused' as const } };
    assert.deepEqual(
      reconcile(paused, [makeTask(web, { slot: 1, node: 'a' }), makeTask(web, { slot: 2, node: 'b' })]),
      [],
    );
  });

  it('a slot with a clean task and an extra one keeps the clean task and shuts the other down', () => {
    const tasks = [
      makeTask(newer, { id: 'clean', slot: 1, node: 'a' }),
      makeTask(web, { id: 'extra', slot: 1, node: 'b' }),
      makeTask(newer, { slot: 2, node: 'b' }),
    ];
    const actions = reconcile(newer, tasks);
    assert.deepEqual(desiredChanges(actions), { extra: 'shutdown' });
    assert.deepEqual(created(actions), []);
  });
});
