// Issue 8, class B: what a worker sends is validated like what a user sends. With a real worker
// certificate, a node description with `Engine.Labels {"zone":1}` used to halt scheduling, one with
// `Resources.NanoCPUs: "abc"` broke `docker node ls` for everyone, three 10 MB descriptions grew the
// store by 95 MB, and a flood of status updates wrote ~4 MB/s into it. Each is now refused (or, for a
// flood, throttled) with an error to the worker, and the manager keeps serving everyone else.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { CLUSTER_API_PATHS } from '../../src/api/dispatcher.js';
import type { ShoalDaemon } from '../harness/index.js';
import {
  API,
  assertAnswering,
  assertConverges,
  errorLogLines,
  startSwarm,
  waitForRunning,
} from './support.js';
import {
  createManagerService,
  HostileWorker,
  storeBytes,
  WORKER_DESCRIPTION,
  type WireResponse,
} from './worker.js';

const MiB = 2 ** 20;

/** A description with `change` applied to a copy of the well-formed one. */
function described(change: (d: Record<string, Record<string, unknown>>) => void): Record<string, unknown> {
  const d = structuredClone(WORKER_DESCRIPTION) as unknown as Record<string, Record<string, unknown>>;
  change(d);
  return d;
}

/** The call was refused as the client's fault (4xx) with this message, not answered or failed (5xx). */
function assertRefused(response: WireResponse, message: RegExp): void {
  assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}: ${response.body}`);
  assert.match(response.body, message);
}

/** A streamed call refused with an error frame (after 200) or an error status. */
function assertStreamRefused(response: WireResponse, message: RegExp): void {
  if (response.status === 200) {
    assert.match(response.body, /"error":\{"code":"(InvalidArgument|Unavailable)"/);
  } else {
    assert.ok(response.status >= 400 && response.status < 500, `status ${response.status}: ${response.body}`);
  }
  assert.match(response.body, message);
}

/** Refused unread: beyond the call's limit (413), or reset by HTTP/2 as more than a connection may hold. */
function assertRefusedOrReset(response: WireResponse, message: RegExp): void {
  if (response.status === 0)
    assert.match(String(response.error), /NGHTTP2_(ENHANCE_YOUR_CALM|INTERNAL_ERROR)/);
  else if (response.status === 200) assertStreamRefused(response, message);
  else assertRefused(response, message);
}

/** `docker node ls` works and lists every node, within a second of asking. */
async function assertNodeLs(daemon: ShoalDaemon, nodes: number): Promise<void> {
  const started = Date.now();
  const ls = await daemon.docker(['node', 'ls', '--format', '{{.ID}} {{.Hostname}}']);
  assert.equal(ls.code, 0, ls.stderr);
  assert.equal(ls.stdout.trim().split('\n').length, nodes, ls.stdout);
  // The CLI's own start-up is included; the daemon's answer is checked within ANSWER_WITHIN_MS elsewhere.
  assert.ok(Date.now() - started < 5_000, `docker node ls took ${Date.now() - started} ms`);
}

describe('hostile messages from a worker certificate', { timeout: 240_000 }, () => {
  let daemon: ShoalDaemon;
  const workers: HostileWorker[] = [];
  const join = async (): Promise<HostileWorker> => {
    const worker = await HostileWorker.join(daemon);
    workers.push(worker);
    return worker;
  };

  before(async () => {
    daemon = await startSwarm();
    await createManagerService(daemon, 'steady');
    await waitForRunning(daemon, 'steady', 1);
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    for (const worker of workers) worker.close();
    await daemon?.destroy();
  });

  it('refuses engine labels that are not strings, and scheduling carries on', async () => {
    const worker = await join();
    const zone = described((d) => (d.Engine!.Labels = { zone: 1 }));
    await assert.rejects(worker.register(zone), /Engine\.Labels must be a string/);
    assertStreamRefused(
      await worker.call(CLUSTER_API_PATHS.session, { description: zone }),
      /Engine\.Labels must be a string/,
    );
    // At join time too (the description a joining node sends with its CSR).
    assertRefused(
      await worker.call(CLUSTER_API_PATHS.issueNodeCertificate, {
        csr: 'x',
        token: worker.token,
        description: zone,
      }),
      /Engine\.Labels must be a string/,
    );
    const stored = await daemon.apiOk<{ Description: { Engine: { Labels?: unknown } } }>(
      'GET',
      `${API}/nodes/${worker.nodeId}`,
    );
    assert.equal(stored.Description.Engine.Labels, undefined);

    const created = await daemon.docker([
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'zoned',
      '--constraint',
      'engine.labels.zone==1',
      'busybox',
      'sleep',
      '3600',
    ]);
    assert.equal(created.code, 0, created.stderr);
    await assertConverges(daemon, 'steady', 2);
    await assertAnswering(daemon, 'after engine labels {"zone":1}');
    assert.deepEqual(errorLogLines(daemon, 'scheduler'), []);
  });

  it('refuses resources that are not counts, and docker node ls keeps working', async () => {
    const worker = await join();
    for (const bad of ['abc', -1, 1.5, 1e300, { n: 1 }]) {
      const description = described((d) => (d.Resources = { NanoCPUs: bad, MemoryBytes: 2 ** 31 }));
      await assert.rejects(worker.register(description), /NanoCPUs must be/);
    }
    await assert.rejects(
      worker.register(described((d) => (d.Resources = { MemoryBytes: '1G' }))),
      /MemoryBytes must be an integer/,
    );
    await assertNodeLs(daemon, 3);
    const inspect = await daemon.docker(['node', 'inspect', worker.nodeId]);
    assert.equal(inspect.code, 0, inspect.stderr);
    await assertAnswering(daemon, 'after NanoCPUs "abc"');
  });

  it('refuses 10 MB descriptions without storing or reading them', async () => {
    const workers3 = [await join(), await join(), await join()];
    const before = storeBytes(daemon);
    const huge = 'x'.repeat(10 * MiB);
    for (const worker of workers3) {
      const timing = Date.now();
      assertRefusedOrReset(
        await worker.call(CLUSTER_API_PATHS.session, {
          description: { ...WORKER_DESCRIPTION, Hostname: huge },
        }),
        /larger than|longer than/,
      );
      await assertAnswering(daemon, 'during 10 MB descriptions');
      assert.ok(Date.now() - timing < 10_000);
      // Each field within bounds, together beyond the 64 KiB a description may be.
      const wide = Object.fromEntries(
        Array.from({ length: 200 }, (_, i) => [`label-${i}`, 'v'.repeat(4000)]),
      );
      await assert.rejects(
        worker.register(described((d) => (d.Engine!.Labels = wide))),
        /larger than|bytes encoded, more than 65536/,
      );
      // At join time (the description a joining node sends with its CSR).
      assertRefusedOrReset(
        await worker.call(CLUSTER_API_PATHS.issueNodeCertificate, {
          csr: 'x',
          token: worker.token,
          description: { ...WORKER_DESCRIPTION, Hostname: huge },
        }),
        /larger than/,
      );
    }
    // Well-formed descriptions still register.
    for (const worker of workers3) await worker.register();
    const grown = storeBytes(daemon) - before;
    assert.ok(grown < 2 * MiB, `the store grew by ${grown} bytes`);
    await assertNodeLs(daemon, 6);
    await assertConverges(daemon, 'steady', 1);
  });

  it('throttles floods of status updates, log data and sessions, and serves everyone else', async () => {
    const worker = await join();
    const sessionId = await worker.register();
    // Tasks of its own, for status updates that would really be written.
    await daemon.apiOk('POST', `${API}/services/create`, {
      Name: 'on-hostile',
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox', Command: ['sleep', '3600'] },
        Placement: { Constraints: [`node.id==${worker.nodeId}`] },
      },
      Mode: { Replicated: { Replicas: 20 } },
    });
    let taskIds: string[] = [];
    for (let i = 0; i < 100 && taskIds.length < 20; i++) {
      const tasks = await daemon.apiOk<{ ID: string; NodeID?: string }[]>('GET', `${API}/tasks`);
      taskIds = tasks.filter((t) => t.NodeID === worker.nodeId).map((t) => t.ID);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(taskIds.length, 20);

    const before = storeBytes(daemon);
    const answers = {
      status: new Map<number, number>(),
      logs: new Map<number, number>(),
      sessions: new Map<string, number>(),
    };
    const tally = <K>(map: Map<K, number>, key: K): void => void map.set(key, (map.get(key) ?? 0) + 1);
    let sentBytes = 0;
    let stop = false;
    // Valid updates of its own tasks, each changing the stored message: writes, if they were let through.
    const statuses = async (): Promise<void> => {
      const text = 'm'.repeat(1000);
      for (let round = 0; !stop; round++) {
        const updates = Array.from({ length: 1024 }, (_, i) => ({
          taskId: taskIds[i % taskIds.length],
          status: { Timestamp: new Date().toISOString(), State: 'running', Message: `${round}.${i}${text}` },
        }));
        const body = JSON.stringify({ sessionId, updates });
        sentBytes += body.length;
        tally(answers.status, (await worker.call(CLUSTER_API_PATHS.updateTaskStatus, body)).status);
      }
    };
    // Log batches as large as a call may carry (250 lines of the longest data a line may have), for a
    // subscription that does not exist: NotFound, until the node's log budget is spent.
    const logs = async (): Promise<void> => {
      const entry = {
        taskId: taskIds[0],
        serviceId: 'x',
        stream: 'stdout',
        timestamp: '2024-05-01T12:00:00Z',
      };
      const entries = Array(250).fill({ ...entry, data: 'QUJD'.repeat(8192) });
      const body = JSON.stringify({ sessionId, message: { subscriptionId: 'nope', close: false, entries } });
      while (!stop) {
        sentBytes += body.length;
        tally(
          answers.logs,
          (await worker.call(CLUSTER_API_PATHS.publishLogs, body, { channel: 'logs' })).status,
        );
      }
    };
    const sessions = async (): Promise<void> => {
      while (!stop) {
        const response = await worker.call(
          CLUSTER_API_PATHS.session,
          { sessionId, description: WORKER_DESCRIPTION },
          { channel: 'sessions' },
        );
        tally(answers.sessions, /rate limit/.test(response.body) ? 'rate limit' : String(response.status));
      }
    };
    const floods = [statuses(), statuses(), logs(), sessions()];
    const started = Date.now();
    try {
      while (Date.now() - started < 8_000) {
        await assertAnswering(daemon, 'during the floods');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      await assertNodeLs(daemon, 7);
      await assertConverges(daemon, 'steady', 2, 30_000);
    } finally {
      stop = true;
      await Promise.all(floods);
    }
    const grown = storeBytes(daemon) - before;
    const report = JSON.stringify({
      sentBytes,
      grown,
      ...Object.fromEntries(Object.entries(answers).map(([k, m]) => [k, [...m]])),
    });
    // Each flood was let through up to its budget, then refused with 429; nothing failed on the manager.
    assert.ok((answers.status.get(200) ?? 0) > 0 && (answers.status.get(429) ?? 0) > 0, report);
    assert.ok((answers.logs.get(404) ?? 0) > 0 && (answers.logs.get(429) ?? 0) > 0, report);
    assert.ok((answers.sessions.get('rate limit') ?? 0) > 0, report);
    for (const map of [answers.status, answers.logs])
      for (const status of map.keys()) assert.ok(status < 500, report);
    // The status budget lets 16 MiB of changes through at once and 1 MiB/s after (and the writes of one
    // task coalesce): the store grows by no more than that, a sliver of what was sent.
    assert.ok(sentBytes > 100 * MiB, report);
    assert.ok(grown < 16 * MiB + 10 * MiB, report);
    console.log(`# floods: ${report}`);
    await assertConverges(daemon, 'steady', 1);
    assert.ok(daemon.running);
  });
});
