// Each node's budget of task status updates, log data and session streams: a flooding node is refused
// with a rate limit error (Unavailable, HTTP 429) while every other node is served, a well-behaved
// agent never meets the bound, and a node reconnecting with an unchanged description writes nothing.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import { silentAgentLog, type AgentLog } from '../../../src/agent/log.js';
import { StatusReporter } from '../../../src/agent/reporter.js';
import type { TaskStatusUpdate } from '../../../src/api/dispatcher.js';
import { isRateLimited, RATE_LIMITED_STATUS } from '../../../src/api/peer-limits.js';
import {
  DEFAULT_NODE_INTAKE_LIMITS,
  NodeIntake,
  TokenBucket,
} from '../../../src/manager/dispatcher/intake-limits.js';
import type { ObjectEventBatch } from '../../../src/store/objects.js';
import { FakeClock, settle, taskFixture } from './helpers.js';
import { harness, register, type Harness } from './setup.js';

/** The settled outcome of a promise, for asserting on errors. */
async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: Error }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: error as Error };
  }
}

const update = (taskId: string, message = 'running'): TaskStatusUpdate => ({
  taskId,
  status: { Timestamp: '2024-05-01T12:00:01Z', State: 'running', Message: message },
});

describe('token bucket', () => {
  it('spends from the burst, refills at its rate, and never spends in part', () => {
    const bucket = new TokenBucket({ burst: 10, perSecond: 5 }, 0);
    assert.equal(bucket.take(8, 0), true);
    assert.equal(bucket.take(3, 0), false);
    assert.equal(bucket.take(2, 0), true);
    assert.equal(bucket.take(1, 100), false);
    assert.equal(bucket.take(1, 200), true);
    assert.equal(bucket.isFull(10_000), true);
    assert.equal(bucket.take(11, 20_000), false);
  });

  it('forgets nodes whose buckets are full again', async () => {
    const clock = new FakeClock();
    const intake = new NodeIntake(clock);
    for (let i = 0; i < 100; i++) intake.statusUpdates(`node-${i}`, 10);
    assert.equal(intake.tracked, 100);
    await clock.advance(61_000);
    intake.statusUpdates('node-x', 1);
    assert.equal(intake.tracked, 1);
  });
});

describe('dispatcher intake limits', () => {
  let h: Harness;
  afterEach(async () => h.close());

  it('refuses a node flooding status updates with 429, and serves the other nodes', async () => {
    h = await harness({ nodes: 2 });
    const [flooder, other] = h.nodes as [(typeof h.nodes)[0], (typeof h.nodes)[0]];
    const client = h.dispatcher.localClient(flooder.ID);
    const { sessionId } = await register(h, client);
    const otherClient = h.dispatcher.localClient(other.ID);
    const otherSession = await register(h, otherClient);

    const batch = Array.from({ length: 1024 }, (_, i) => update(`unknown-${i}`));
    const calls = Math.floor(DEFAULT_NODE_INTAKE_LIMITS.statusUpdates.burst / batch.length);
    for (let i = 0; i < calls; i++) await client.updateTaskStatus(sessionId, batch);
    const refused = await outcome(client.updateTaskStatus(sessionId, batch));
    assert.ok(isRateLimited(refused.error), String(refused.error));
    assert.equal((refused.error as { status?: number }).status, RATE_LIMITED_STATUS);
    assert.match(refused.error!.message, /exceeded its rate limit of 2000 task status updates per second/);

    await otherClient.updateTaskStatus(otherSession.sessionId, batch);
    await h.clock.advance(1_000);
    await client.updateTaskStatus(sessionId, batch);
  });

  it('never refuses a well-behaved agent re-reporting 1,500 tasks after a reconnect', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const tasks = Array.from({ length: 1500 }, () => taskFixture({ nodeId: node.ID }));
    await h.store.update((tx) => {
      for (const task of tasks) tx.create('task', task);
    });
    const warnings: unknown[] = [];
    const log: AgentLog = { ...silentAgentLog, warn: (msg, fields) => void warnings.push({ msg, fields }) };
    const client = h.dispatcher.localClient(node.ID);
    // Two sessions in a row (a manager restart between them), each followed by the full re-report.
    for (let round = 0; round < 2; round++) {
      const { sessionId, close } = await register(h, client);
      const reporter = new StatusReporter(log);
      for (const task of tasks) reporter.report(update(task.ID, `round ${round}`));
      let sent = 0;
      reporter.connect(async (updates) => {
        await client.updateTaskStatus(sessionId, updates);
        sent += updates.length;
      });
      await h.clock.advance(100);
      assert.equal(sent, tasks.length);
      assert.equal(reporter.pending, 0);
      close();
    }
    assert.deepEqual(warnings, []);
  });

  it('bounds the bytes of status changes a node writes, and re-reports cost none', async () => {
    h = await harness();
    const node = h.nodes[0]!;
    const tasks = Array.from({ length: 100 }, () => taskFixture({ nodeId: node.ID }));
    await h.store.update((tx) => {
      for (const task of tasks) tx.create('task', task);
    });
    const client = h.dispatcher.localClient(node.ID);
    const { sessionId } = await register(h, client);
    const text = 'm'.repeat(4000);
    let refusal: Error | undefined;
    let round = 0;
    // 100 tasks × ~4 KB = ~400 KB of changes per call: the 16 MiB burst lasts some 40 calls.
    for (; round < 60 && !refusal; round++) {
      refusal = (
        await outcome(
          client.updateTaskStatus(
            sessionId,
            tasks.map((t) => update(t.ID, `${round}${text}`)),
          ),
        )
      ).error;
      await h.clock.advance(5);
    }
    assert.ok(isRateLimited(refusal), String(refusal));
    assert.match(refusal!.message, /bytes of task status changes per second/);
    assert.ok(round > 30, `refused after ${round} calls`);
    // What the store already has is free: the last accepted statuses again.
    await client.updateTaskStatus(
      sessionId,
      tasks.map((t) => update(t.ID, `${round - 2}${text}`)),
    );
  });

  it('bounds the log data a node publishes', async () => {
    h = await harness();
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    const { sessionId } = await register(h, client);
    const line = 'QUJD'.repeat(4096);
    const entries = Array.from({ length: 1000 }, () => ({
      taskId: 't',
      serviceId: 's',
      stream: 'stdout' as const,
      timestamp: '2024-05-01T12:00:00Z',
      data: line,
    }));
    const message = { subscriptionId: 'none', entries, close: false };
    let first: Error | undefined;
    for (let i = 0; i < 10 && !isRateLimited(first); i++) {
      first = (await outcome(client.publishLogs(sessionId, message))).error;
      // Within budget, the broker answers: no such subscription.
      if (!isRateLimited(first)) assert.match(first!.message, /unknown subscription/);
    }
    assert.ok(isRateLimited(first), 'a flood of log data is refused');
    assert.match(first!.message, /bytes of logs per second/);
  });

  it('bounds how fast a node opens session streams', async () => {
    h = await harness();
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    const { sessionId } = await register(h, client);
    let refusal: Error | undefined;
    for (let i = 0; i < DEFAULT_NODE_INTAKE_LIMITS.sessions.burst + 2 && !refusal; i++) {
      try {
        (await register(h, client, sessionId)).close();
      } catch (err) {
        refusal = err as Error;
      }
    }
    assert.ok(isRateLimited(refusal), String(refusal));
  });

  it('writes nothing when a node reconnects with the description the store has', async () => {
    h = await harness();
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    const first = await register(h, client);
    first.close();
    await settle();
    const commits: ObjectEventBatch[] = [];
    h.store.watch((batch) => commits.push(batch));
    (await register(h, client, first.sessionId)).close();
    await h.clock.advance(100);
    assert.deepEqual(
      commits.flatMap((c) => c.events.filter((e) => e.kind === 'node')),
      [],
    );
  });

  it('keeps the registration rate limit as swarmkit words it, as a 429', async () => {
    h = await harness();
    const client = h.dispatcher.localClient(h.nodes[0]!.ID);
    for (let i = 0; i < 3; i++) await register(h, client);
    const fourth = await outcome(register(h, client));
    assert.ok(isRateLimited(fourth.error));
    assert.equal(fourth.error!.message, `node ${h.nodes[0]!.ID} exceeded rate limit count of registrations`);
  });
});
