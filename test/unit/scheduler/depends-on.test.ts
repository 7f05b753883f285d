// depends_on honoured by the scheduler (src/manager/scheduler/depends-on.ts): a service labelled
// `shoal.stack.depends-on` has its pending tasks held, with the reason as their status error, until every
// dependency meets its condition; then they are placed at once — by the loop, woken by the dependency's
// task changes.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { LABEL_DEPENDS_ON, parseDependsOn } from '../../../src/api/depends-on.js';
import type { Service, Task, TaskState } from '../../../src/api/types.js';
import { conditionMet, dependencyGate } from '../../../src/manager/scheduler/depends-on.js';
import { Scheduler } from '../../../src/manager/scheduler/scheduler.js';
import type { ObjectStore } from '../../../src/store/objects.js';
import { NOW, node, task } from './fixtures.js';
import { closeStores, openStore } from './store-fixture.js';

function svc(id: string, labels: Record<string, string> = {}, replicas?: number): Service {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '2024-01-01T00:00:00Z',
    UpdatedAt: '2024-01-01T00:00:00Z',
    Spec: {
      Name: `s_${id}`,
      Labels: labels,
      Mode: replicas === undefined ? { Global: {} } : { Replicated: { Replicas: replicas } },
    },
  };
}

const dependsOn = (value: string) => ({ [LABEL_DEPENDS_ON]: value });

function taskOf(
  id: string,
  service: string,
  slot: number,
  state: TaskState,
  desired: TaskState = 'running',
): Task {
  return task(id, { service, slot, state, desired, node: state === 'pending' ? undefined : 'n1' });
}

describe('the depends-on label', () => {
  it('parses and refuses what it cannot read', () => {
    assert.deepEqual(parseDependsOn('s_db:service_healthy,s_cache:service_started'), [
      { service: 's_db', condition: 'service_healthy' },
      { service: 's_cache', condition: 'service_started' },
    ]);
    assert.equal(parseDependsOn('s_db'), undefined);
    assert.equal(parseDependsOn('s_db:healthy'), undefined);
  });
});

describe('conditions', () => {
  const db = svc('db', {}, 2);
  it('started, healthy, completed, judged on the newest task of each slot', () => {
    const starting = [taskOf('a', 'db', 1, 'starting'), taskOf('b', 'db', 2, 'running')];
    assert.equal(conditionMet(db, starting, 'service_started'), true);
    assert.equal(conditionMet(db, starting, 'service_healthy'), false);
    const healthy = [taskOf('a', 'db', 1, 'running'), taskOf('b', 'db', 2, 'running')];
    assert.equal(conditionMet(db, healthy, 'service_healthy'), true);
    // One replica short of what the service wants.
    assert.equal(conditionMet(db, healthy.slice(0, 1), 'service_healthy'), false);
    // A failed task replaced by a new one that is not up yet.
    const replaced = [...healthy, { ...taskOf('c', 'db', 2, 'pending'), CreatedAt: '2024-01-02T00:00:00Z' }];
    assert.equal(conditionMet(db, replaced, 'service_healthy'), false);
    const job = svc('job');
    assert.equal(
      conditionMet(job, [taskOf('j', 'job', 1, 'complete', 'complete')], 'service_completed_successfully'),
      true,
    );
    assert.equal(
      conditionMet(job, [taskOf('j', 'job', 1, 'failed', 'complete')], 'service_completed_successfully'),
      false,
    );
    assert.equal(conditionMet(job, [], 'service_started'), false);
  });
});

describe('the gate', () => {
  it('holds the dependent’s pending tasks and says why', () => {
    const services = [svc('db', {}, 1), svc('web', dependsOn('s_db:service_healthy'), 2)];
    const tasks = [
      taskOf('d1', 'db', 1, 'starting'),
      taskOf('w1', 'web', 1, 'pending'),
      taskOf('w2', 'web', 2, 'pending'),
    ];
    const gate = dependencyGate({ nodes: [node('n1')], tasks, services, failures: [], now: NOW });
    assert.deepEqual(gate.decisions, [
      { kind: 'unschedulable', taskId: 'w1', error: 'waiting for s_db to be healthy' },
      { kind: 'unschedulable', taskId: 'w2', error: 'waiting for s_db to be healthy' },
    ]);
    assert.deepEqual(
      gate.snapshot.tasks.map((t) => t.ID),
      ['d1'],
    );
    assert.deepEqual([...gate.watched].sort(), ['db', 'web']);

    const ready = [taskOf('d1', 'db', 1, 'running'), ...tasks.slice(1)];
    const open = dependencyGate({ nodes: [node('n1')], tasks: ready, services, failures: [], now: NOW });
    assert.deepEqual(open.decisions, []);
    assert.equal(open.snapshot.tasks.length, 3);
  });

  it('a missing dependency holds too; services without the label are untouched', () => {
    const services = [
      svc('web', dependsOn('s_db:service_started,s_cache:service_started'), 1),
      svc('other', {}, 1),
    ];
    const tasks = [taskOf('w1', 'web', 1, 'pending'), taskOf('o1', 'other', 1, 'pending')];
    const gate = dependencyGate({ nodes: [node('n1')], tasks, services, failures: [], now: NOW });
    assert.deepEqual(gate.decisions, [
      {
        kind: 'unschedulable',
        taskId: 'w1',
        error: 'waiting for s_db to start: no such service; waiting for s_cache to start: no such service',
      },
    ]);
    assert.deepEqual(
      gate.snapshot.tasks.map((t) => t.ID),
      ['o1'],
    );
  });
});

describe('the scheduler with dependencies', () => {
  let scheduler: Scheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await closeStores();
  });

  const settled = async (): Promise<void> => {
    await new Promise((resolve) => setImmediate(resolve));
    await scheduler!.settled();
  };
  const state = (store: ObjectStore, id: string) => store.view((tx) => tx.get('task', id))!.Status;

  it('places the dependent once the dependency is healthy, and again after a restart', async () => {
    const store = await openStore();
    await store.update((tx) => {
      tx.create('node', node('n1'));
      tx.create('service', svc('db', {}, 1));
      tx.create('service', svc('web', dependsOn('s_db:service_healthy'), 1));
      tx.create('task', taskOf('d1', 'db', 1, 'pending'));
      tx.create('task', taskOf('w1', 'web', 1, 'pending'));
    });
    scheduler = new Scheduler(store, { quietMs: 1, maxDelayMs: 5 });
    scheduler.start();
    await settled();
    assert.equal(state(store, 'd1').State, 'assigned');
    assert.equal(state(store, 'w1').State, 'pending');
    assert.equal(state(store, 'w1').Err, 'waiting for s_db to be healthy');

    // The dependency starts (not yet healthy): still held. Then it is healthy: placed.
    for (const next of ['starting', 'running'] as const) {
      await store.update((tx) => {
        const t = structuredClone(tx.get('task', 'd1')!);
        t.Status = { ...t.Status, State: next };
        tx.update('task', t);
      });
      await settled();
    }
    assert.equal(state(store, 'w1').State, 'assigned');
    assert.equal(state(store, 'w1').Err, undefined);

    // The dependency fails and is being replaced: a replacement of the dependent waits again.
    await store.update((tx) => {
      const d = structuredClone(tx.get('task', 'd1')!);
      d.Status = { ...d.Status, State: 'failed' };
      d.DesiredState = 'shutdown';
      tx.update('task', d);
      tx.create('task', { ...taskOf('d2', 'db', 1, 'pending'), CreatedAt: '2024-01-02T00:00:00Z' });
      tx.create('task', { ...taskOf('w2', 'web', 1, 'pending'), CreatedAt: '2024-01-02T00:00:00Z' });
    });
    await settled();
    assert.equal(state(store, 'w2').State, 'pending');
    assert.equal(state(store, 'w2').Err, 'waiting for s_db to be healthy');
  });
});
