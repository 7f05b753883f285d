import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { silentAgentLog } from '../../../src/agent/log.js';
import { StatusReporter } from '../../../src/agent/reporter.js';
import type { TaskStatusUpdate } from '../../../src/api/dispatcher.js';
import { ShoalError, unavailable } from '../../../src/api/errors.js';
import type { TaskState } from '../../../src/api/types.js';
import { settle } from '../dispatcher/helpers.js';

const update = (taskId: string, State: TaskState): TaskStatusUpdate => ({
  taskId,
  status: { Timestamp: 't', State, Message: State },
});

describe('agent status reporter', () => {
  it('sends at most 1024 statuses per call, only the newest per task', async () => {
    const reporter = new StatusReporter(silentAgentLog);
    for (let i = 0; i < 1500; i++) reporter.report(update(`t${i}`, 'accepted'));
    reporter.report(update('t0', 'preparing'));
    reporter.report(update('t0', 'accepted')); // stale: a newer state is queued
    const batches: TaskStatusUpdate[][] = [];
    reporter.connect(async (updates) => void batches.push(updates));
    await settle();
    assert.deepEqual(
      batches.map((b) => b.length),
      [1024, 476],
    );
    assert.equal(batches.flat().find((u) => u.taskId === 't0')?.status.State, 'preparing');
  });

  it('keeps statuses for the next session when a call fails, and drops a refused batch', async () => {
    const reporter = new StatusReporter(silentAgentLog);
    reporter.connect(async () => {
      throw unavailable('dispatcher is stopped');
    });
    reporter.report(update('a', 'running'));
    await settle();
    assert.equal(reporter.pending, 1);

    const sent: string[] = [];
    reporter.connect(async (updates) => void sent.push(...updates.map((u) => u.taskId)));
    await settle();
    assert.deepEqual(sent, ['a']);

    reporter.connect(async () => {
      throw new ShoalError('PermissionDenied', 'cannot update a task not assigned this node');
    });
    reporter.report(update('b', 'running'));
    await settle();
    assert.equal(reporter.pending, 0);
  });
});
