// The task reaper (§3.6): removed tasks go once stopped; history per slot is bounded.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Cluster, Service, Task } from '../../../src/api/types.js';
import { snapshotOf } from '../../../src/manager/orchestrator/snapshot.js';
import { reapTasks } from '../../../src/manager/orchestrator/task-reaper.js';
import { deleted, makeCluster, makeService, makeTask } from './support/fixtures.js';

function reap(services: Service[], tasks: Task[], cluster?: Cluster, serviceIds = ['web']) {
  return deleted(reapTasks(snapshotOf({ cluster: cluster ?? makeCluster(), services, tasks }), serviceIds));
}

/** A slot with one running task and `old` stopped ones, the oldest first (ids h0, h1, … in slot 1). */
function slotHistory(service: Service, old: number, slot = 1): Task[] {
  const history = Array.from({ length: old }, (_, i) =>
    makeTask(service, {
      id: slot === 1 ? `h${i}` : `s${slot}h${i}`,
      slot,
      node: 'a',
      state: 'shutdown',
      desired: 'shutdown',
      statusAt: i,
    }),
  );
  return [...history, makeTask(service, { id: `current${slot}`, slot, node: 'a', statusAt: 100 })];
}

describe('task reaper: history per slot', () => {
  const web = makeService('web', { replicas: 2 });

  it('keeps 5 tasks per slot by default, the current one included', () => {
    assert.deepEqual(reap([web], slotHistory(web, 6)), ['h0', 'h1']);
  });

  it('follows the cluster’s TaskHistoryRetentionLimit', () => {
    assert.deepEqual(reap([web], slotHistory(web, 3), makeCluster(2)), ['h0', 'h1']);
  });

  it('keeps MaxAttempts+1 when the restart policy has MaxAttempts, even below the cluster setting', () => {
    const limited = makeService('web', {
      taskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { MaxAttempts: 1 } },
    });
    assert.deepEqual(reap([limited], slotHistory(limited, 3), makeCluster(10)), ['h0', 'h1']);
  });

  it('keeps everything with a negative limit', () => {
    assert.deepEqual(reap([web], slotHistory(web, 20), makeCluster(-1)), []);
  });

  it('never deletes a task that may still run, even over the limit', () => {
    const tasks = [
      makeTask(web, {
        id: 'stopping',
        slot: 1,
        node: 'a',
        state: 'running',
        desired: 'shutdown',
        statusAt: 0,
      }),
      makeTask(web, { id: 'waiting', slot: 1, node: 'b', state: 'ready', desired: 'ready', statusAt: 1 }),
      makeTask(web, { id: 'stopped', slot: 1, node: 'a', state: 'failed', desired: 'shutdown', statusAt: 2 }),
    ];
    assert.deepEqual(reap([web], tasks, makeCluster(1)), ['stopped']);
  });

  it('keeps the task holding a slot that may not restart, even with a limit of 0', () => {
    // Deleting it would make the slot look empty and the orchestrator run the task again, forever.
    const once = makeService('web', {
      taskTemplate: { ContainerSpec: { Image: 'nginx:1' }, RestartPolicy: { Condition: 'none' } },
    });
    const tasks = [
      makeTask(once, {
        id: 'older',
        slot: 1,
        node: 'a',
        state: 'failed',
        desired: 'shutdown',
        statusAt: 0,
        createdAt: 0,
      }),
      makeTask(once, {
        id: 'last',
        slot: 1,
        node: 'a',
        state: 'failed',
        desired: 'shutdown',
        statusAt: 1,
        createdAt: 1,
      }),
    ];
    assert.deepEqual(reap([once], tasks, makeCluster(0)), ['older']);
  });

  it('counts each slot on its own', () => {
    assert.deepEqual(reap([web], [...slotHistory(web, 2, 1), ...slotHistory(web, 2, 2)], makeCluster(2)), [
      'h0',
      's2h0',
    ]);
  });

  it('keys global services’ history by node', () => {
    const agent = makeService('web', { mode: { Global: {} } });
    const onA = [0, 1, 2].map((i) =>
      makeTask(agent, { id: `a${i}`, node: 'a', state: 'failed', desired: 'shutdown', statusAt: i }),
    );
    const onB = [makeTask(agent, { id: 'b0', node: 'b', state: 'failed', desired: 'shutdown' })];
    assert.deepEqual(reap([agent], [...onA, ...onB], makeCluster(2)), ['a0']);
  });

  it('does not trim jobs', () => {
    const job = makeService('web', { mode: { ReplicatedJob: { TotalCompletions: 1 } } });
    const tasks = [0, 1, 2].map((i) =>
      makeTask(job, { slot: 0, state: 'failed', desired: 'shutdown', statusAt: i }),
    );
    assert.deepEqual(reap([job], tasks, makeCluster(1)), []);
  });
});

describe('task reaper: removed tasks', () => {
  const web = makeService('web', { replicas: 1 });

  it('deletes REMOVE’d tasks once stopped or if they never reached a node, not while they run', () => {
    const tasks = [
      makeTask(web, { id: 'stopped', slot: 2, node: 'a', state: 'shutdown', desired: 'remove' }),
      makeTask(web, { id: 'unassigned', slot: 3, state: 'pending', desired: 'remove' }),
      makeTask(web, { id: 'running', slot: 4, node: 'a', state: 'running', desired: 'remove' }),
    ];
    assert.deepEqual(reap([web], tasks), ['stopped', 'unassigned']);
  });

  it('deletes a deleted service’s orphaned tasks', () => {
    const tasks = [
      makeTask(web, { id: 'orphaned', node: 'gone', state: 'orphaned' }),
      makeTask(web, { id: 'other', node: 'a', state: 'running' }),
    ];
    assert.deepEqual(reap([], tasks), ['orphaned']);
  });
});
