// Applying actions to the real store: each action re-reads its task and is skipped when the store has
// moved past the snapshot it was computed from; nothing is written for an action that changes nothing.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { OrchestratorAction } from '../../../src/manager/orchestrator/actions.js';
import { applyActions } from '../../../src/manager/orchestrator/apply.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { makeService, makeTask, ms } from './support/fixtures.js';
import { closeStores, openStore } from './support/store.js';

let store: ClusterStore;
const web = makeService('web');

beforeEach(async () => {
  store = await openStore();
  await store.update((tx) => {
    tx.create('service', web);
    tx.create('task', makeTask(web, { id: 'live', node: 'a', state: 'running', desired: 'shutdown' }));
    tx.create('task', makeTask(web, { id: 'fresh', state: 'new' }));
  });
});

afterEach(closeStores);

const apply = (actions: OrchestratorAction[]) => store.update((tx) => applyActions(tx, actions));
const task = (id: string) => store.view((tx) => tx.get('task', id));

describe('applyActions', () => {
  it('never lowers a desired state, and writes nothing for it', async () => {
    const revision = store.revision;
    const outcome = await apply([{ kind: 'setDesiredState', taskId: 'live', state: 'running' }]);
    assert.deepEqual(outcome, { written: 0, skipped: 1, starts: [] });
    assert.equal(task('live')?.DesiredState, 'shutdown');
    assert.equal(store.revision, revision);
  });

  it('raises a desired state', async () => {
    await apply([{ kind: 'setDesiredState', taskId: 'live', state: 'remove' }]);
    assert.equal(task('live')?.DesiredState, 'remove');
  });

  it('moves an observed state on only from the state it was computed against', async () => {
    const allocate = (from: 'new' | 'assigned'): OrchestratorAction => ({
      kind: 'setTaskState',
      taskId: 'fresh',
      from,
      state: 'pending',
      message: 'pending task scheduling',
      timestamp: new Date(ms(0)).toISOString(),
    });
    assert.equal((await apply([allocate('assigned')])).written, 0);
    assert.equal((await apply([allocate('new')])).written, 1);
    assert.equal(task('fresh')?.Status.State, 'pending');
    assert.equal(task('fresh')?.Status.Message, 'pending task scheduling');
  });

  it('deletes a task only at the version the decision was made on', async () => {
    const seen = task('live')!.Version.Index;
    await apply([{ kind: 'setDesiredState', taskId: 'live', state: 'remove' }]);
    assert.equal((await apply([{ kind: 'deleteTask', taskId: 'live', version: seen }])).written, 0);
    const now = task('live')!.Version.Index;
    assert.equal((await apply([{ kind: 'deleteTask', taskId: 'live', version: now }])).written, 1);
    assert.equal(task('live'), undefined);
  });

  it('does not create tasks for a service that was deleted meanwhile', async () => {
    await store.update((tx) => tx.delete('service', 'web'));
    const outcome = await apply([{ kind: 'createTask', task: makeTask(web, { id: 'late' }) }]);
    assert.equal(outcome.written, 0);
    assert.equal(task('late'), undefined);
  });

  it('remembers a delayed start only for a task that exists and is waiting', async () => {
    const waiting = makeTask(web, { id: 'waiting', state: 'new', desired: 'ready' });
    const start = { serviceId: 'web', notBefore: 0, waitForStopOf: [], stopDeadline: 0 };
    const outcome = await apply([
      { kind: 'createTask', task: waiting },
      { kind: 'scheduleStart', start: { ...start, taskId: 'waiting' } },
      { kind: 'scheduleStart', start: { ...start, taskId: 'never-created' } },
    ]);
    assert.deepEqual(
      outcome.starts.map((s) => s.taskId),
      ['waiting'],
    );
  });
});
