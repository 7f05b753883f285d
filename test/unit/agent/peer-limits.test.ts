// The agent under a manager's limits: a rate limit refusal or a refused malformed batch leaves the
// session up (only a broken session ends it), log batches stay under the request size managers take,
// and a log publication refused for the rate limit goes on after a pause instead of being dropped.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { LogSource } from '../../../src/agent/log-publisher.js';
import {
  LogPublisher,
  MAX_LOG_BATCH,
  MAX_LOG_BATCH_BYTES,
  takeLogBatch,
} from '../../../src/agent/log-publisher.js';
import { silentAgentLog } from '../../../src/agent/log.js';
import { AgentSession } from '../../../src/agent/session.js';
import type {
  DispatcherClient,
  LogEntry,
  PublishLogsMessage,
  SessionMessage,
  StreamHandle,
} from '../../../src/api/dispatcher.js';
import { unavailable } from '../../../src/api/errors.js';
import { malformedRequest, rateLimited } from '../../../src/api/peer-limits.js';
import type { Task } from '../../../src/api/types.js';
import type { Controller, LogLine } from '../../../src/agent/executor/executor.js';
import { FakeClock, settle } from '../dispatcher/helpers.js';

const noStream: StreamHandle = { close: () => {} };

function stubClient(updateTaskStatus: DispatcherClient['updateTaskStatus']): DispatcherClient {
  return {
    session(_request, onMessage) {
      queueMicrotask(() =>
        onMessage({
          sessionId: 's1',
          heartbeatPeriodMs: 5000,
          managers: [],
          node: {},
        } as unknown as SessionMessage),
      );
      return noStream;
    },
    heartbeat: async () => ({ periodMs: 5000 }),
    updateTaskStatus,
    assignments: () => noStream,
    logSubscriptions: () => noStream,
    publishLogs: async () => {},
  };
}

describe('agent session and the manager’s refusals', () => {
  it('stays up when a status batch is refused for the rate limit or as malformed', async () => {
    const refusals = [
      rateLimited('node n exceeded its rate limit'),
      malformedRequest('updates[0].status.Message is longer than 4096 characters'),
      unavailable('connection error: reset'),
    ];
    let ended = false;
    const session = new AgentSession(
      stubClient(async () => {
        throw refusals.shift()!;
      }),
      new FakeClock(),
      { description: {} as never },
      { registered: () => {}, sessionMessage: () => {}, assignments: () => {}, logSubscription: () => {} },
    );
    void session.ended.then(() => (ended = true));
    session.start();
    await settle();
    await assert.rejects(session.sendStatuses([]), { status: 429 });
    await assert.rejects(session.sendStatuses([]), /malformed request/);
    await settle();
    assert.equal(ended, false);
    await assert.rejects(session.sendStatuses([]), /connection error/);
    await settle();
    assert.equal(ended, true);
  });
});

describe('agent log publishing and the manager’s limits', () => {
  const entry = (bytes: number): LogEntry => ({
    taskId: 't',
    serviceId: 's',
    stream: 'stdout',
    timestamp: '2024-05-01T12:00:00.000000000Z',
    data: 'A'.repeat(bytes),
  });

  it('cuts batches at 1000 lines or 4 MiB of data, and always takes at least one line', () => {
    const small = Array.from({ length: 2500 }, () => entry(8));
    assert.deepEqual(
      [takeLogBatch(small).length, takeLogBatch(small).length, takeLogBatch(small).length],
      [MAX_LOG_BATCH, MAX_LOG_BATCH, 500],
    );
    const long = Array.from({ length: 1000 }, () => entry(21_848)); // 16 KiB lines in base64
    const batch = takeLogBatch(long);
    assert.ok(batch.reduce((n, e) => n + e.data.length, 0) <= MAX_LOG_BATCH_BYTES);
    assert.equal(batch.length, Math.floor(MAX_LOG_BATCH_BYTES / 21_848));
    assert.equal(takeLogBatch([entry(MAX_LOG_BATCH_BYTES * 2)]).length, 1);
  });

  it('publishes again after a rate limit refusal instead of dropping the publication', async () => {
    const published: PublishLogsMessage[] = [];
    let closed!: () => void;
    const publicationClosed = new Promise<void>((resolve) => (closed = resolve));
    let refuse = 1;
    const lines: LogLine[] = [
      { stream: 'stdout', timestamp: '2024-05-01T12:00:00.000000000Z', data: Buffer.from('hi\n') },
    ];
    const controller = {
      async *logs() {
        yield* lines;
      },
    } as unknown as Controller;
    const task = { ID: 't1', ServiceID: 's1', Status: { State: 'running' } } as unknown as Task;
    const source: LogSource = { current: task, controller };
    const publisher = new LogPublisher({
      tasks: () => [source],
      publish: async (message) => {
        if (message.entries.length > 0 && refuse-- > 0) throw rateLimited('node n exceeded its rate limit');
        published.push(message);
        if (message.close) closed();
      },
      log: silentAgentLog,
    });
    publisher.handle({
      subscriptionId: 'sub',
      selector: { taskIds: ['t1'] },
      options: { follow: false, stdout: true, stderr: true },
      close: false,
    });
    // The retry waits a second of real time (on a timer that does not keep the process alive: a timer
    // of ours does, and bounds the wait); the closing message comes last.
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([
      publicationClosed,
      new Promise((_, reject) => {
        guard = setTimeout(() => reject(new Error('the publication was not closed within 20 s')), 20_000);
      }),
    ]).finally(() => clearTimeout(guard));
    assert.deepEqual(
      published.map((m) => [m.entries.length, m.close]),
      [
        [1, false],
        [0, true],
      ],
    );
  });
});
