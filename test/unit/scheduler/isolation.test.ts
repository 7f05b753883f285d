// A service whose placement throws is reported and left pending; every other service is placed. The loop
// sets it aside with backoff and writes big batches in bounded transactions.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import type { ObjectFailure } from '../../../src/manager/isolation.js';
import { DEFAULT_FILTERS, type Filter } from '../../../src/manager/scheduler/filters.js';
import { scheduleTasks } from '../../../src/manager/scheduler/schedule.js';
import { Scheduler } from '../../../src/manager/scheduler/scheduler.js';
import { node, NOW, placements, service, task, tasks } from './fixtures.js';
import { closeStores, openStore } from './store-fixture.js';

/** A filter with a bug that only tasks of service `bad` trip over. */
const brokenFor = (serviceId: string): Filter => ({
  name: 'broken',
  forTask: (t) => {
    if (t.ServiceID === serviceId) throw new TypeError('actual.toLowerCase is not a function');
    return undefined;
  },
  explain: () => '',
});

describe('scheduler: isolation', () => {
  it('places the other services and reports the one that throws', () => {
    const failures: ObjectFailure[] = [];
    const decisions = scheduleTasks(
      {
        nodes: [node('n1')],
        tasks: [...tasks(2, { service: 'good' }, 'g'), ...tasks(2, { service: 'bad' }, 'b')],
        services: [service('good', 1), service('bad', 1)],
        failures: [],
        now: NOW,
      },
      [brokenFor('bad'), ...DEFAULT_FILTERS],
      { failures },
    );
    assert.deepEqual(placements(decisions), { n1: 2 });
    assert.ok(decisions.every((d) => d.taskId.startsWith('g')));
    assert.deepEqual(
      failures.map((f) => [f.id, f.version, String(f.error)]),
      [['bad', 1, 'TypeError: actual.toLowerCase is not a function']],
    );
  });

  it('without a failure list the error propagates (tests and tools see bugs)', () => {
    assert.throws(
      () =>
        scheduleTasks(
          {
            nodes: [node('n1')],
            tasks: [task('b1', { service: 'bad' })],
            services: [],
            failures: [],
            now: NOW,
          },
          [brokenFor('bad')],
        ),
      /toLowerCase/,
    );
  });
});

describe('scheduler loop: isolation and pacing', () => {
  let scheduler: Scheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
    await closeStores();
  });

  it('sets the throwing service aside, places the rest, in transactions of bounded size', async () => {
    const store = await openStore();
    await store.update((tx) => {
      tx.create('node', node('n1'));
      tx.create('service', service('good', 1));
      tx.create('service', service('bad', 1));
      for (const t of tasks(2_500, { service: 'good' }, 'g')) tx.create('task', t);
      tx.create('task', task('b1', { service: 'bad' }));
    });
    const reported: string[] = [];
    const batches: number[] = [];
    store.watch((batch) => batches.push(batch.events.length));
    scheduler = new Scheduler(store, {
      quietMs: 1,
      maxDelayMs: 5,
      filters: [brokenFor('bad'), ...DEFAULT_FILTERS],
      onObjectError: (failure) => reported.push(failure.id),
    });
    scheduler.start();
    await new Promise((resolve) => setImmediate(resolve));
    await scheduler.settled();
    const all = store.view((tx) => tx.list('task'));
    assert.equal(all.filter((t) => t.Status.State === 'assigned').length, 2_500);
    assert.equal(all.find((t) => t.ID === 'b1')!.Status.State, 'pending');
    assert.deepEqual(reported, ['bad']);
    assert.ok(Math.max(...batches) <= 1_000, `a transaction wrote ${Math.max(...batches)} tasks`);
  });
});
