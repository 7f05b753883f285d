// The allocator stand-in: NEW → PENDING, until networking brings the real allocator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { allocateTasks, PENDING_MESSAGE } from '../../../src/manager/orchestrator/allocate.js';
import { at, makeService, makeTask, ms } from './support/fixtures.js';

describe('allocate', () => {
  const web = makeService('web');

  it('moves new tasks to PENDING with swarmkit’s message', () => {
    const task = makeTask(web, { id: 'fresh', state: 'new' });
    assert.deepEqual(allocateTasks([task], ms(1)), [
      {
        kind: 'setTaskState',
        taskId: 'fresh',
        from: 'new',
        state: 'pending',
        message: PENDING_MESSAGE,
        timestamp: at(1),
      },
    ]);
  });

  it('allocates tasks waiting to start (desired READY) and job tasks, not tasks already meant to stop', () => {
    const tasks = [
      makeTask(web, { id: 'waiting', state: 'new', desired: 'ready' }),
      makeTask(web, { id: 'job', state: 'new', desired: 'complete' }),
      makeTask(web, { id: 'removed', state: 'new', desired: 'remove' }),
      makeTask(web, { id: 'placed', state: 'assigned' }),
    ];
    assert.deepEqual(
      allocateTasks(tasks, ms(1)).map((a) => (a.kind === 'setTaskState' ? a.taskId : '')),
      ['waiting', 'job'],
    );
  });
});
