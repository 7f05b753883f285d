// The update supervisor's pure core, one pass at a time (§4): given the service, its tasks, the rollout
// the loop remembers and the time, what it writes, what it creates, and what it remembers next.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Service, Task, UpdateConfig } from '../../../src/api/types.js';
import type { OrchestratorAction } from '../../../src/manager/orchestrator/actions.js';
import { reconcileReplicatedService } from '../../../src/manager/orchestrator/replicated/reconcile.js';
import type { Rollout } from '../../../src/manager/orchestrator/update/rollout.js';
import {
  at,
  contextOf,
  created,
  desiredChanges,
  makeNode,
  makeService,
  makeTask,
  ms,
  SECOND_NS,
  slotsOf,
  updated,
} from './support/fixtures.js';

const nodes = [makeNode('a'), makeNode('b')];

/** One pass of the replicated orchestrator (which hands its slots to the supervisor) at `now` seconds. */
function pass(service: Service, tasks: Task[], now = 0, rollout?: Rollout): OrchestratorAction[] {
  const ctx = contextOf({ nodes, services: [service], tasks }, now);
  return reconcileReplicatedService(service, {
    ...ctx,
    rollouts: rollout ? new Map([[service.ID, rollout]]) : new Map(),
  });
}

/** What the loop is asked to remember after the pass (undefined: forget the rollout). */
function remembered(actions: readonly OrchestratorAction[]): Rollout | undefined {
  const notes = actions.filter((a) => a.kind === 'trackRollout');
  return notes.at(-1)?.rollout;
}

const statusWrites = (actions: readonly OrchestratorAction[]) =>
  actions.flatMap((a) => (a.kind === 'setUpdateStatus' || a.kind === 'rollBackService' ? [a] : []));

function withConfig(service: Service, update: UpdateConfig, state?: Service['UpdateStatus']): Service {
  return {
    ...service,
    Spec: { ...service.Spec, UpdateConfig: update },
    ...(state ? { UpdateStatus: state } : {}),
  };
}

const web = makeService('web', { replicas: 4 });
const v2 = updated(web, (spec) => ({ ...spec, ContainerSpec: { Image: 'nginx:2' } }));
const oldTasks = (): Task[] =>
  [1, 2, 3, 4].map((slot) => makeTask(web, { id: `old${slot}`, slot, node: slot % 2 ? 'a' : 'b' }));

/** The task a pass created in `slot`, moved on to `state` at `statusAt` seconds. */
function progressed(actions: readonly OrchestratorAction[], slot: number, state: Task['Status']['State']) {
  const task = structuredClone(created(actions).find((t) => t.Slot === slot)!);
  task.Status = { ...task.Status, State: state };
  task.DesiredState = 'running';
  task.NodeID = 'a';
  return task;
}

describe('update supervisor: starting', () => {
  it('the first dirty slot starts an update: `updating`, `update in progress`, StartedAt now', () => {
    const actions = pass(v2, oldTasks(), 7);
    assert.deepEqual(statusWrites(actions), [
      {
        kind: 'setUpdateStatus',
        serviceId: 'web',
        expected: { specVersion: 100, state: undefined },
        status: { State: 'updating', StartedAt: at(7), Message: 'update in progress' },
      },
    ]);
  });

  it('no dirty slot (a scale or label change): no rollout, no status', () => {
    const relabelled = updated(web, (spec) => spec);
    assert.deepEqual(pass(relabelled, oldTasks()), []);
  });

  it('a paused update does nothing', () => {
    const paused = { ...v2, UpdateStatus: { State: 'paused' as const } };
    assert.deepEqual(pass(paused, oldTasks()), []);
  });

  it('the store says an update is in progress but nothing is dirty (new leader): completed at once', () => {
    const done = { ...v2, UpdateStatus: { State: 'updating' as const, StartedAt: at(0) } };
    const tasks = [1, 2, 3, 4].map((slot) => makeTask(v2, { slot, node: 'a', statusAt: -600 }));
    assert.deepEqual(statusWrites(pass(done, tasks, 60)), [
      {
        kind: 'setUpdateStatus',
        serviceId: 'web',
        expected: { specVersion: 100, state: 'updating' },
        status: { State: 'completed', StartedAt: at(0), CompletedAt: at(60), Message: 'update completed' },
      },
    ]);
  });
});

describe('update supervisor: workers', () => {
  const twoAtATime = withConfig(v2, { Parallelism: 2, Delay: 2 * SECOND_NS });

  it('takes Parallelism slots, lowest first, and remembers them as busy workers', () => {
    const actions = pass(twoAtATime, oldTasks());
    assert.deepEqual(slotsOf(created(actions)), [1, 2]);
    assert.deepEqual(desiredChanges(actions), { old1: 'shutdown', old2: 'shutdown' });
    const rollout = remembered(actions)!;
    assert.deepEqual([...rollout.slots.keys()], ['slot:1', 'slot:2']);
    assert.equal(rollout.dirtySlotCount, 4);
    assert.equal(rollout.wakeAt, undefined);
  });

  it('a worker stays busy while its task is STARTING (a healthcheck that has not passed yet)', () => {
    const first = pass(twoAtATime, oldTasks());
    const updating = { ...twoAtATime, UpdateStatus: { State: 'updating' as const } };
    const tasks = [...oldTasks().slice(2), progressed(first, 1, 'starting'), progressed(first, 2, 'running')];
    const second = pass(updating, tasks, 30, remembered(first));
    assert.deepEqual(created(second), []);
    // Slot 2's worker sleeps the 2 s delay, from when its task was first seen running.
    assert.equal(remembered(second)?.wakeAt, ms(32));
    assert.equal(remembered(second)?.slots.get('slot:1')?.upAt, undefined);
  });

  it('after the delay, the free worker takes the next slot', () => {
    const first = pass(twoAtATime, oldTasks());
    const updating = { ...twoAtATime, UpdateStatus: { State: 'updating' as const } };
    const tasks = [...oldTasks().slice(2), progressed(first, 1, 'starting'), progressed(first, 2, 'running')];
    const second = pass(updating, tasks, 30, remembered(first));
    assert.deepEqual(created(pass(updating, tasks, 31.9, remembered(second))), []);
    const third = pass(updating, tasks, 32, remembered(second));
    assert.deepEqual(slotsOf(created(third)), [3]);
    assert.deepEqual(desiredChanges(third), { old3: 'shutdown' });
  });

  it('start-first: the new task starts at once, the old one stays until the new one runs', () => {
    const startFirst = withConfig(v2, { Parallelism: 1, Order: 'start-first' });
    const first = pass(startFirst, oldTasks());
    const [fresh] = created(first);
    assert.equal(fresh?.DesiredState, 'running');
    assert.deepEqual(desiredChanges(first), {});

    const updating = { ...startFirst, UpdateStatus: { State: 'updating' as const } };
    const starting = pass(updating, [...oldTasks(), progressed(first, 1, 'starting')], 1, remembered(first));
    assert.deepEqual(desiredChanges(starting), {});
    const running = pass(updating, [...oldTasks(), progressed(first, 1, 'running')], 2, remembered(first));
    assert.deepEqual(desiredChanges(running), { old1: 'shutdown' });
  });
});

describe('update supervisor: failures (§4.4)', () => {
  const updating = { ...v2, UpdateStatus: { State: 'updating' as const, StartedAt: at(0) } };

  function afterFailure(config: UpdateConfig, failedAtSeconds: number, seenRunningAt?: number) {
    const service = withConfig(updating, config);
    const first = pass(withConfig(v2, config), oldTasks());
    let rollout = remembered(first)!;
    const fresh = progressed(first, 1, 'running');
    if (seenRunningAt !== undefined)
      rollout = remembered(pass(service, [...oldTasks().slice(1), fresh], seenRunningAt, rollout))!;
    const failed = { ...fresh, Status: { ...fresh.Status, State: 'failed' as const } };
    return { failed, actions: pass(service, [...oldTasks().slice(1), failed], failedAtSeconds, rollout) };
  }

  it('a new task that fails before it was seen running pauses the update', () => {
    const { failed, actions } = afterFailure({ Parallelism: 1 }, 1);
    assert.deepEqual(statusWrites(actions), [
      {
        kind: 'setUpdateStatus',
        serviceId: 'web',
        expected: { specVersion: 100, state: 'updating' },
        status: {
          State: 'paused',
          StartedAt: at(0),
          Message: `update paused due to failure or early termination of task ${failed.ID}`,
        },
      },
    ]);
    assert.equal(remembered(actions), undefined);
  });

  it('within Monitor of running it counts; after it, it does not', () => {
    assert.equal(statusWrites(afterFailure({ Parallelism: 1 }, 6, 1).actions).length, 1);
    assert.deepEqual(statusWrites(afterFailure({ Parallelism: 1 }, 6.5, 1).actions), []);
  });

  it('CONTINUE does not watch at all', () => {
    assert.deepEqual(
      statusWrites(afterFailure({ Parallelism: 1, FailureAction: 'continue' }, 1).actions),
      [],
    );
  });

  it('ROLLBACK rolls back to the previous spec, keeping StartedAt', () => {
    const withPrevious = { ...updating, PreviousSpec: web.Spec, PreviousSpecVersion: { Index: 0 } };
    const config: UpdateConfig = { Parallelism: 1, FailureAction: 'rollback' };
    const service = withConfig(withPrevious, config);
    const first = pass(withConfig(v2, config), oldTasks());
    const failed = { ...progressed(first, 1, 'failed') };
    const actions = pass(service, [...oldTasks().slice(1), failed], 1, remembered(first));
    assert.deepEqual(statusWrites(actions), [
      {
        kind: 'rollBackService',
        serviceId: 'web',
        expected: { specVersion: 100, state: 'updating' },
        status: {
          State: 'rollback_started',
          StartedAt: at(0),
          Message: `update rolled back due to failure or early termination of task ${failed.ID}`,
        },
      },
    ]);
  });

  it('ROLLBACK without a previous spec pauses (swarmkit fails the rollback and carries on)', () => {
    const { actions } = afterFailure({ Parallelism: 1, FailureAction: 'rollback' }, 1);
    assert.equal(statusWrites(actions)[0]?.status.State, 'paused');
  });

  it('MaxFailureRatio is compared with the failures per dirty slot', () => {
    // 1 failure over 4 dirty slots is 0.25.
    assert.deepEqual(statusWrites(afterFailure({ Parallelism: 1, MaxFailureRatio: 0.25 }, 1).actions), []);
    assert.equal(statusWrites(afterFailure({ Parallelism: 1, MaxFailureRatio: 0.24 }, 1).actions).length, 1);
  });
});

describe('update supervisor: superseded, and rollback slots (§4.1, §4.6)', () => {
  it('an update to another spec version replaces the remembered rollout', () => {
    const first = pass(v2, oldTasks());
    const v3 = updated(v2, (spec) => ({ ...spec, ContainerSpec: { Image: 'nginx:3' } }));
    const fresh = progressed(first, 1, 'running');
    const actions = pass(v3, [...oldTasks().slice(1), fresh], 1, remembered(first));
    assert.equal(remembered(actions)?.target, 'update@200');
    // Slot 1's task of v2 is as outdated as the others; the new rollout starts over from slot 1.
    assert.deepEqual(slotsOf(created(actions)), [1]);
    assert.deepEqual(desiredChanges(actions), { [fresh.ID]: 'shutdown' });
  });

  it('during rollback_started, a slot whose newest task stopped and must not restart is refilled', () => {
    const once = makeService('web', {
      replicas: 2,
      taskTemplate: { ContainerSpec: { Image: 'nginx:1' }, RestartPolicy: { Condition: 'none' } },
    });
    const tasks = [
      makeTask(once, { slot: 1, node: 'a' }),
      makeTask(once, { id: 'done', slot: 2, node: 'b', state: 'complete', desired: 'shutdown' }),
    ];
    assert.deepEqual(created(pass(once, tasks)), []);
    const rollingBack = { ...once, UpdateStatus: { State: 'rollback_started' as const } };
    assert.deepEqual(slotsOf(created(pass(rollingBack, tasks))), [2]);
  });
});
