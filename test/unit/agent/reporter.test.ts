import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { silentAgentLog } from '../../../src/agent/log.js';
import {
  MAX_STATUS_BATCH_BYTES,
  RATE_LIMIT_RETRY_MS,
  StatusReporter,
  withinPeerLimits,
} from '../../../src/agent/reporter.js';
import type { TaskStatusUpdate } from '../../../src/api/dispatcher.js';
import { ShoalError, unavailable } from '../../../src/api/errors.js';
import { malformedRequest, PEER_LIMITS, rateLimited } from '../../../src/api/peer-limits.js';
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

describe('agent status reporter and the manager’s limits', () => {
  it('sends a batch refused for the rate limit again, on the same session, after a pause', async () => {
    const pauses: number[] = [];
    let release: () => void = () => {};
    const reporter = new StatusReporter(silentAgentLog, (ms) => {
      pauses.push(ms);
      return new Promise((resolve) => (release = resolve));
    });
    let calls = 0;
    const sent: string[] = [];
    reporter.connect(async (updates) => {
      if (calls++ === 0) throw rateLimited('node n exceeded its rate limit');
      sent.push(...updates.map((u) => u.taskId));
    });
    reporter.report(update('a', 'running'));
    await settle();
    assert.deepEqual(pauses, [RATE_LIMIT_RETRY_MS]);
    assert.equal(reporter.pending, 1);
    reporter.report(update('b', 'running'));
    release();
    await settle();
    assert.deepEqual(sent.sort(), ['a', 'b']);
    assert.equal(reporter.pending, 0);
  });

  it('drops a batch the manager refuses as malformed, and keeps the session', async () => {
    const reporter = new StatusReporter(silentAgentLog);
    const batches: string[][] = [];
    reporter.connect(async (updates) => {
      batches.push(updates.map((u) => u.taskId));
      if (batches.length === 1)
        throw malformedRequest('updates[0].status.Timestamp must be an RFC 3339 time');
    });
    reporter.report(update('a', 'running'));
    await settle();
    reporter.report(update('b', 'running'));
    await settle();
    assert.deepEqual(batches, [['a'], ['b']]);
    assert.equal(reporter.pending, 0);
  });

  it('cuts texts and health logs to what managers accept', () => {
    const L = PEER_LIMITS;
    const long: TaskStatusUpdate = {
      taskId: 't',
      status: { Timestamp: 't', State: 'failed', Message: 'm'.repeat(10_000), Err: '😀'.repeat(5_000) },
      health: {
        Status: 'unhealthy',
        FailingStreak: 9,
        Log: Array.from({ length: 9 }, (_, i) => ({
          Start: 's',
          End: 'e',
          ExitCode: i,
          Output: 'o'.repeat(20_000),
        })),
      },
    };
    const cut = withinPeerLimits(long);
    assert.equal(cut.status.Message.length, L.statusMessageChars);
    assert.ok(cut.status.Err!.length <= L.statusErrChars);
    assert.ok(!/[\ud800-\udbff]$/.test(cut.status.Err!), 'no half surrogate pair at the end');
    assert.deepEqual(
      cut.health!.Log.map((entry) => [entry.ExitCode, entry.Output.length]),
      [4, 5, 6, 7, 8].map((code) => [code, L.healthOutputChars]),
    );
    const short = update('a', 'running');
    assert.equal(withinPeerLimits(short), short);
  });
});

describe('agent status reporter batch size', () => {
  it('keeps a call under 4 MiB however large the statuses are', async () => {
    const reporter = new StatusReporter(silentAgentLog);
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 1500; i++) {
      reporter.report({
        taskId: `t${i}`,
        status: { Timestamp: 't', State: 'failed', Message: big, Err: big },
      });
    }
    const sizes: number[] = [];
    reporter.connect(async (updates) => void sizes.push(JSON.stringify(updates).length));
    await settle();
    assert.ok(sizes.length > 2);
    for (const size of sizes) assert.ok(size <= MAX_STATUS_BATCH_BYTES + 10_000, `${size}`);
  });
});
