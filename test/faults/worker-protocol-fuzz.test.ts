// Issue 8, class B, fuzzed: random and hostile bodies to every call of the cluster port, sent with a
// real worker certificate on a real shoald — random JSON, well-formed calls with one field replaced by
// a wrong type, a huge string, deep nesting or a prototype key, extra keys named after prototype
// properties, text that is not JSON at all. Every call must be answered, and never with a server error
// (5xx): a malformed body is the caller's fault (4xx). After each batch the manager must be up,
// answer within a second, and keep converging another service.
//
// `npm run fuzz` runs many more cases (SHOAL_FUZZ_RUNS).

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { CLUSTER_API_PATHS } from '../../src/api/dispatcher.js';
import { setOwn } from '../../src/api/own.js';
import type { ShoalDaemon } from '../harness/index.js';
import { assertAnswering, assertConverges, fuzzRuns, startSwarm, waitForRunning } from './support.js';
import { createManagerService, HostileWorker, WORKER_DESCRIPTION } from './worker.js';

/** Cases in the test suite (a few seconds); `npm run fuzz` runs thousands more. */
const RUNS = fuzzRuns(2000);
/** The manager's health is checked after every this many cases. */
const BATCH = 250;

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

const UNKNOWN_PATH = '/shoal.Dispatcher/Nope';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Well-formed bodies of every call, which the mutations start from. */
function templates(worker: HostileWorker, sessionId: string): Record<string, Json[]> {
  const description = structuredClone(WORKER_DESCRIPTION) as unknown as Json;
  const status = { Timestamp: '2024-05-01T12:00:00Z', State: 'running', Message: 'started' };
  const entry = {
    taskId: 't',
    serviceId: 's',
    stream: 'stdout',
    timestamp: '2024-05-01T12:00:00.000000000Z',
    data: 'aGkK',
  };
  const p = CLUSTER_API_PATHS;
  return {
    [p.rootCACertificate]: [{}],
    [p.issueNodeCertificate]: [
      { csr: 'not a CSR', token: worker.token, availability: 'active', description },
    ],
    [p.renewNodeCertificate]: [{ csr: 'not a CSR' }],
    [p.health]: [{}],
    [p.session]: [{ description }, { sessionId, description }],
    [p.heartbeat]: [{ sessionId }],
    [p.updateTaskStatus]: [
      {
        sessionId,
        updates: [
          {
            taskId: 't',
            status: { ...status, Err: 'e', ContainerStatus: { ContainerID: 'c', PID: 1, ExitCode: 0 } },
            health: { Status: 'healthy', FailingStreak: 0, Log: [] },
          },
        ],
      },
    ],
    [p.assignments]: [{ sessionId }],
    [p.logSubscriptions]: [{ sessionId }],
    [p.publishLogs]: [{ sessionId, message: { subscriptionId: 'sub', entries: [entry], close: false } }],
    [UNKNOWN_PATH]: [{}],
  };
}

/** Values a hostile peer puts where something else belongs. */
const hostileValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, -0.5, 2 ** 53 + 2, 1e308, '', 'abc', [], {}),
  fc.constantFrom<Json>('2024-02-30T00:00:00Z', 'running', 'stdout', 'not base64!', ...PROTOTYPE_KEYS),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 1, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1, max: 2_000 }).map((n) => JSON.parse('['.repeat(n) + ']'.repeat(n)) as Json),
  fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>,
  fc
    .array(
      fc.tuple(
        fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 8 })),
        fc.jsonValue({ maxDepth: 2 }),
      ),
      {
        maxLength: 4,
      },
    )
    .map((entries) => objectOf(entries as [string, Json][])),
);

/** An object with these own entries, `__proto__` included. */
function objectOf(entries: [string, Json][]): Json {
  const object: { [key: string]: Json } = {};
  for (const [key, value] of entries) setOwn(object, key, value);
  return object;
}

interface Mutation {
  /** Which key (or element) to follow at each level, modulo what is there. */
  path: number[];
  kind: 'replace' | 'add-key' | 'drop';
  key: string;
  value: Json;
}

/** The template with one place changed; the copy is made with own properties only. */
function mutate(template: Json, m: Mutation): Json {
  const copy = JSON.parse(JSON.stringify(template)) as Json;
  let parent: Json = copy;
  let key: string | number | undefined;
  for (const step of m.path) {
    const at: Json = key === undefined ? parent : (parent as Record<string, Json>)[key]!;
    if (at === null || typeof at !== 'object') break;
    const keys = Array.isArray(at) ? at.map((_, i) => i) : Object.keys(at);
    if (keys.length === 0) break;
    if (key !== undefined) parent = at;
    key = keys[step % keys.length];
  }
  const target: Json = key === undefined ? copy : (parent as Record<string, Json>)[key]!;
  if (m.kind === 'add-key' && target !== null && typeof target === 'object' && !Array.isArray(target)) {
    setOwn(target, m.key, m.value);
    return copy;
  }
  if (key === undefined) return m.value;
  if (m.kind === 'drop' && !Array.isArray(parent)) {
    delete (parent as Record<string, Json>)[key];
    return copy;
  }
  setOwn(parent as Record<string, Json>, String(key), m.value);
  return copy;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  path: fc.array(fc.nat(), { maxLength: 6 }),
  kind: fc.constantFrom<Mutation['kind']>('replace', 'replace', 'add-key', 'drop'),
  key: fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ maxLength: 8 })),
  value: hostileValue,
});

/** A call: a path and a body, as JSON text (or not JSON at all). */
function calls(worker: HostileWorker, session: () => string): fc.Arbitrary<{ path: string; body: string }> {
  const paths = Object.keys(templates(worker, session()));
  return fc.constantFrom(...paths).chain((path) => {
    // Built when the case is generated, with the session the worker has then.
    const template = fc.nat().map((i) => {
      const list = templates(worker, session())[path]!;
      return list[i % list.length]!;
    });
    const body: fc.Arbitrary<string> = fc.oneof(
      { weight: 5, arbitrary: fc.tuple(template, mutation).map(([t, m]) => JSON.stringify(mutate(t, m))) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(template, fc.array(mutation, { minLength: 2, maxLength: 5 }))
          .map(([t, ms]) => JSON.stringify(ms.reduce(mutate, t))),
      },
      { weight: 1, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      { weight: 1, arbitrary: template.map((t) => JSON.stringify(t)) },
      {
        weight: 1,
        arbitrary: fc.oneof(
          fc.string({ maxLength: 100 }),
          fc.tuple(template, fc.nat()).map(([t, n]) => {
            const text = JSON.stringify(t);
            return text.slice(0, n % text.length);
          }),
          fc.constant('['.repeat(30_000) + ']'.repeat(30_000)),
        ),
      },
    );
    return body.map((b) => ({ path, body: b }));
  });
}

describe('worker protocol fuzzer', { timeout: 900_000 }, () => {
  let daemon: ShoalDaemon;
  let worker: HostileWorker;
  let sessionId: string;
  let replicas = 1;

  before(async () => {
    daemon = await startSwarm();
    await createManagerService(daemon, 'steady');
    await waitForRunning(daemon, 'steady', 1);
    worker = await HostileWorker.join(daemon);
    sessionId = await worker.register();
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    worker?.close();
    await daemon?.destroy();
  });

  /** Up, answering within a second, and converging another service. */
  async function assertHealthy(what: string): Promise<void> {
    assert.ok(daemon.running, `shoald exited (${what})`);
    await assertAnswering(daemon, what);
    replicas = replicas === 1 ? 2 : 1;
    await assertConverges(daemon, 'steady', replicas);
  }

  it(`answers ${RUNS} random and hostile calls with 4xx or success, never 5xx`, async (t) => {
    const seen = new Map<string, number>();
    let cases = 0;
    let calmDowns = 0;
    let stale = false;
    await fc.assert(
      fc.asyncProperty(
        calls(worker, () => sessionId),
        async ({ path, body }) => {
          const send = (): ReturnType<HostileWorker['call']> =>
            worker.call(path, body, { timeoutMs: 20_000, streamMs: 30 });
          let response = await send();
          // The transport's own flood protection (HTTP/2 rapid resets: this fuzzer cancels every stream
          // it opens) refused the call on that connection: the same call again, on a new one.
          if (response.status === 0 && /ENHANCE_YOUR_CALM/.test(String(response.error))) {
            calmDowns++;
            response = await send();
          }
          const what = `${path} ${JSON.stringify(body.slice(0, 300))} → ${response.status} ${response.body.slice(0, 300)}`;
          // An answer, or a reset of a request larger than a connection may hold in memory.
          if (response.status === 0) {
            assert.ok(body.length > 1_000_000, `no answer: ${String(response.error)}: ${what}`);
          } else {
            // An unknown method is Unimplemented (501), as gRPC has it; everything else is 4xx at worst.
            if (path === UNKNOWN_PATH) assert.equal(response.status, 501, what);
            else assert.ok(response.status < 500, what);
            // A stream refused after it began ends with an error frame; none may be a server failure.
            assert.doesNotMatch(response.body, /"error":\{"code":"(Unknown|Internal)"/, what);
          }
          seen.set(`${path} ${response.status}`, (seen.get(`${path} ${response.status}`) ?? 0) + 1);
          // A fuzzed Session call registered the node anew: the cases that follow need the new session
          // to get past the session check (the registration rate limit may say not yet).
          if (/session invalid|node not registered/.test(response.body)) stale = true;
          if (stale && cases % 50 === 0) {
            sessionId = await worker.register().then(
              (id) => ((stale = false), id),
              () => sessionId,
            );
          }
          if (++cases % BATCH === 0) await assertHealthy(`after ${cases} fuzzed calls`);
        },
      ),
      { numRuns: RUNS },
    );
    await assertHealthy(`after all ${cases} fuzzed calls`);
    t.diagnostic(`${cases} calls; ${calmDowns} sent again on a new connection after ENHANCE_YOUR_CALM`);
    t.diagnostic(`answers: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
    // Every call was reached, and most bodies were refused as malformed.
    const reached = new Set([...seen.keys()].map((k) => k.split(' ')[0]));
    assert.equal(reached.size, Object.keys(templates(worker, sessionId)).length, JSON.stringify([...seen]));
  });
});
