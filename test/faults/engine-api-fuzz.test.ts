// A property-based fuzzer of the Engine API against a real shoald: random and hostile service, node and
// swarm specs, raw bodies, query strings and paths. After each case the daemon must be up and must have
// answered like Docker: a 500 only where Docker's own answer is a 500 (swarmkit's untyped errors, which
// Docker shows as `rpc error: code = Unknown desc = …`), never a crash or a JS error leaking out. Every few
// cases the API must answer within a second, and at the end — and after a restart, which re-reads
// whatever the fuzzer managed to store — another service must still converge.
//
// Services the fuzzer manages to create could run commands on this machine (the process executor runs
// them as root), so a spec that decodes is sent in its decoded, canonical form with a harmless command and
// a constraint no node meets; what does not decode is sent raw — the daemon must refuse it with a 400.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeBody } from '../../src/engineapi/decode.js';
import { NodeSpecSchema, ServiceSpecSchema } from '../../src/engineapi/schemas.js';
import type { ServiceSpec } from '../../src/api/types.js';
import type { ApiResponse, ShoalDaemon } from '../harness/index.js';
import {
  API,
  assertAnswering,
  assertConverges,
  createSleepService,
  fuzzRuns,
  startSwarm,
  waitForRunning,
} from './support.js';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];

const hostileKey = fc.oneof(
  fc.constantFrom(...PROTOTYPE_KEYS, '', ' ', '.', 'a=b', 'x'.repeat(300), '\u0000', 'ümlaut', '${HOME}'),
  fc.string({ maxLength: 12 }),
);
const hostileString = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom(...PROTOTYPE_KEYS, '', 'null', '-1', '1e999', 'node.labels.__proto__==x'),
  fc.string({ minLength: 1000, maxLength: 3000 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);
const hostileNumber = fc.oneof(
  fc.integer(),
  fc.constantFrom(-1, 0, 1, 2 ** 31, 2 ** 53 - 1, 2 ** 53 + 2, 2 ** 64, 1e9, 1e308, 0.5, -0.5, 100_001),
  fc.double({ noNaN: true }),
);
const { value: hostileValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie('value'), { maxKeys: 4 }),
  ),
}));
/** Mostly well-typed values (to get past decoding into validation and the control loops), now and then not. */
const mostly = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ arbitrary: good, weight: 9 }, { arbitrary: hostileValue, weight: 1 });
/** A count: mostly small, now and then anything. */
const anyCount = fc.oneof(
  { arbitrary: fc.nat({ max: 4 }), weight: 6 },
  { arbitrary: hostileNumber, weight: 1 },
);
const labels = mostly(fc.dictionary(hostileKey, hostileString, { maxKeys: 6 }));
const constraint = fc.oneof(
  hostileString,
  fc
    .tuple(
      fc.constantFrom('node.labels.', 'engine.labels.', 'node.', 'node.platform.', ''),
      hostileKey,
      fc.constantFrom('==', '!=', '=', ''),
      hostileString,
    )
    .map((parts) => parts.join('')),
);

/** One of Docker's values, now and then something else. */
const choice = (...values: string[]) =>
  fc.oneof({ arbitrary: fc.constantFrom(...values), weight: 6 }, { arbitrary: hostileString, weight: 1 });

type Typing = <T>(good: fc.Arbitrary<T>) => fc.Arbitrary<unknown>;
/** Well-typed throughout: the values are hostile, the types are right, so the spec gets past decoding. */
const typed: Typing = (good) => good;
/** A duration or byte count: mostly plausible, now and then extreme or negative. */
const quantity = fc.oneof(
  { arbitrary: fc.constantFrom(0, 1_000_000_000, 5_000_000_000, 2 ** 30), weight: 12 },
  { arbitrary: fc.integer(), weight: 1 },
  { arbitrary: fc.constantFrom(-1, 1, 2 ** 53 - 1, -(2 ** 53 - 1)), weight: 1 },
);

function serviceSpecArb(t: Typing) {
  const number = t === typed ? quantity : hostileNumber;
  const count = t === typed ? fc.oneof(fc.nat({ max: 4 }), fc.constant(100_001)) : anyCount;
  const typedLabels = t(fc.dictionary(hostileKey, hostileString, { maxKeys: 6 }));
  return fc.record(
    {
      Name: t(
        fc.oneof(
          { arbitrary: fc.stringMatching(/^[a-z][a-z0-9]{0,20}$/), weight: 4 },
          { arbitrary: hostileString, weight: 1 },
        ),
      ),
      Labels: typedLabels,
      TaskTemplate: t(
        fc.record(
          {
            ContainerSpec: fc.record(
              {
                Image: t(
                  choice('busybox', 'busybox:1.36', 'registry.test:5000/app@sha256:' + 'a'.repeat(64)),
                ),
                Labels: typedLabels,
                Env: t(fc.array(hostileString, { maxLength: 4 })),
                Hostname: t(hostileString),
                Mounts: t(
                  fc.array(
                    fc.record({
                      Type: choice('bind', 'volume', 'tmpfs'),
                      Source: hostileString,
                      Target: hostileString,
                    }),
                    { maxLength: 2 },
                  ),
                ),
                Healthcheck: t(
                  fc.record(
                    {
                      Test: fc.array(choice('CMD', 'CMD-SHELL', 'NONE'), {
                        maxLength: 3,
                      }),
                      Interval: number,
                      Retries: count,
                    },
                    { requiredKeys: [] },
                  ),
                ),
                StopGracePeriod: number,
              },
              { requiredKeys: ['Image'] },
            ),
            Placement: fc.record(
              {
                Constraints: t(fc.array(constraint, { maxLength: 3 })),
                Preferences: t(
                  fc.array(fc.record({ Spread: fc.record({ SpreadDescriptor: constraint }) }), {
                    maxLength: 2,
                  }),
                ),
                MaxReplicas: count,
              },
              { requiredKeys: [] },
            ),
            RestartPolicy: fc.record(
              {
                Condition: choice('any', 'none', 'on-failure'),
                Delay: number,
                MaxAttempts: count,
                Window: number,
              },
              { requiredKeys: [] },
            ),
            Resources: fc.record(
              {
                Limits: fc.record({ NanoCPUs: number, MemoryBytes: number }, { requiredKeys: [] }),
                Reservations: fc.record({ NanoCPUs: number, MemoryBytes: number }, { requiredKeys: [] }),
              },
              { requiredKeys: [] },
            ),
            ForceUpdate: count,
          },
          { requiredKeys: ['ContainerSpec'] },
        ),
      ),
      Mode: t(
        fc.oneof(
          fc.record({ Replicated: fc.record({ Replicas: count }, { requiredKeys: [] }) }),
          fc.constant({ Global: {} }),
          fc.record({
            ReplicatedJob: fc.record({ MaxConcurrent: count, TotalCompletions: count }, { requiredKeys: [] }),
          }),
          fc.constant({ GlobalJob: {} }),
        ),
      ),
      UpdateConfig: t(
        fc.record(
          {
            Parallelism: count,
            Delay: number,
            FailureAction: choice('pause', 'continue', 'rollback'),
            MaxFailureRatio: fc.oneof(fc.constantFrom(0, 0.5, 1), fc.double({ noNaN: true })),
            Order: choice('stop-first', 'start-first'),
          },
          { requiredKeys: [] },
        ),
      ),
      EndpointSpec: t(
        fc.record(
          {
            Mode: choice('vip', 'dnsrr'),
            Ports: fc.array(
              fc.record(
                { Protocol: hostileString, TargetPort: count, PublishedPort: count },
                { requiredKeys: [] },
              ),
              { maxLength: 2 },
            ),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: ['Name', 'TaskTemplate'] },
  );
}

const serviceSpec = fc.oneof(serviceSpecArb(typed), serviceSpecArb(mostly));

const nodeSpec = fc.record(
  {
    Name: hostileString,
    Labels: labels,
    Role: choice('manager', 'worker'),
    Availability: choice('active', 'pause', 'drain'),
  },
  { requiredKeys: [] },
);

const swarmSpec = fc.record(
  {
    Name: fc.oneof(fc.constant('default'), hostileString),
    Labels: labels,
    Orchestration: fc.record({ TaskHistoryRetentionLimit: hostileNumber }, { requiredKeys: [] }),
    Dispatcher: fc.record({ HeartbeatPeriod: hostileNumber }, { requiredKeys: [] }),
    CAConfig: fc.record({ NodeCertExpiry: hostileNumber }, { requiredKeys: [] }),
    TaskDefaults: hostileValue,
  },
  { requiredKeys: [] },
);

const rawBody = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ maxLength: 200 }).map((text) => Buffer.from(text)),
  hostileValue.map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
  fc.nat({ max: 12_000 }).map((depth) => Buffer.from('['.repeat(depth) + ']'.repeat(depth))),
);

const query = fc.oneof(
  hostileValue.map((value) => `filters=${encodeURIComponent(JSON.stringify(value) ?? '')}`),
  fc.string({ maxLength: 40 }).map((text) => `filters=${encodeURIComponent(text)}`),
  fc
    .tuple(fc.constantFrom('version', 'status', 'insertDefaults', 'force', 'tail', 'since'), hostileString)
    .map(([key, value]) => `${key}=${encodeURIComponent(value)}`),
);

const pathSegment = fc.oneof(
  fc.constantFrom(...PROTOTYPE_KEYS, 'self', '..', '%', '%00', 'target', ''),
  fc.string({ maxLength: 30 }).map((text) => encodeURIComponent(text)),
);

type Case =
  | { kind: 'createService'; spec: unknown }
  | { kind: 'updateService'; spec: unknown }
  | { kind: 'updateNode'; spec: unknown }
  | { kind: 'updateSwarm'; spec: unknown }
  | { kind: 'raw'; method: string; path: string; body: Buffer }
  | { kind: 'read'; path: string; query: string };

const cases: fc.Arbitrary<Case> = fc.oneof(
  { arbitrary: serviceSpec.map((spec) => ({ kind: 'createService' as const, spec })), weight: 4 },
  { arbitrary: serviceSpec.map((spec) => ({ kind: 'updateService' as const, spec })), weight: 3 },
  { arbitrary: nodeSpec.map((spec) => ({ kind: 'updateNode' as const, spec })), weight: 2 },
  { arbitrary: swarmSpec.map((spec) => ({ kind: 'updateSwarm' as const, spec })), weight: 1 },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          'POST /services/create',
          'POST /services/target/update?version=1',
          'POST /nodes/self/update?version=1',
          'POST /swarm/update?version=1',
          'POST /swarm/init',
          'POST /swarm/join',
          'POST /swarm/unlock',
          'POST /secrets/create',
          'POST /configs/create',
          'POST /secrets/target/update?version=1',
          'POST /networks/create',
        ),
        rawBody,
      )
      .map(([route, body]) => {
        const [method, path] = route.split(' ') as [string, string];
        return { kind: 'raw' as const, method, path, body };
      }),
    weight: 3,
  },
  {
    arbitrary: fc
      .tuple(
        fc.constantFrom(
          '/services',
          '/tasks',
          '/nodes',
          '/services/',
          '/tasks/',
          '/nodes/',
          '/swarm',
          '/secrets',
          '/secrets/',
          '/configs',
          '/configs/',
          '/networks',
          '/networks/',
        ),
        pathSegment,
        query,
      )
      .map(([base, segment, q]) => ({
        kind: 'read' as const,
        path: base.endsWith('/') ? base + segment : base,
        query: q,
      })),
    weight: 3,
  },
);

/** A decodable service spec made harmless: it may be stored, but nothing of it runs on this machine. */
function defused(spec: ServiceSpec): ServiceSpec {
  const template = (spec.TaskTemplate ??= {});
  if (template.ContainerSpec) {
    template.ContainerSpec.Command = ['sleep', '3600'];
    delete template.ContainerSpec.Args;
    delete template.ContainerSpec.Mounts;
    delete template.ContainerSpec.User;
    delete template.ContainerSpec.Dir;
  }
  template.Placement = { ...template.Placement, Constraints: ['node.labels.fuzz-never==true'] };
  return spec;
}

/** The body to send: canonical and defused when it decodes, raw (to be refused) when it does not. */
function serviceBody(spec: unknown): Buffer {
  const raw = Buffer.from(JSON.stringify(spec) ?? 'null');
  try {
    return Buffer.from(JSON.stringify(defused(decodeBody(raw, ServiceSpecSchema))));
  } catch {
    return raw;
  }
}

/**
 * A 500 is right only where Docker's answer is one: swarmkit's untyped errors. (503 and 501 are Docker's
 * answers for a node in the wrong state and for what swarm mode does not do: fine.)
 */
function assertDockerLike(response: ApiResponse, what: string): void {
  if (response.status !== 500) return;
  const message = (response.body as { message?: string } | undefined)?.message ?? response.text;
  assert.match(
    message,
    /^rpc error: code = Unknown desc = |^error updating cluster settings: /,
    `${what} answered ${response.status} where Docker gives a 4xx: ${response.text.slice(0, 400)}`,
  );
}

describe('Engine API fuzzer', { timeout: 3_600_000 }, () => {
  let daemon: ShoalDaemon;
  let swarmSpecText: string;

  before(async () => {
    daemon = await startSwarm();
    await createSleepService(daemon, 'canary', 1);
    await createSleepService(daemon, 'target', 1);
    await daemon.apiOk(
      'POST',
      `${API}/services/target/update?version=${await versionOf('/services/target')}`,
      {
        Name: 'target',
        TaskTemplate: {
          ContainerSpec: { Image: 'busybox', Command: ['sleep', '3600'] },
          Placement: { Constraints: ['node.labels.fuzz-never==true'] },
        },
      },
    );
    await waitForRunning(daemon, 'canary', 1);
    swarmSpecText = JSON.stringify((await daemon.apiOk<{ Spec: unknown }>('GET', `${API}/swarm`)).Spec);
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  async function versionOf(path: string): Promise<number> {
    return (await daemon.apiOk<{ Version: { Index: number } }>('GET', `${API}${path}`)).Version.Index;
  }

  async function run(c: Case): Promise<void> {
    switch (c.kind) {
      case 'createService': {
        const response = await daemon.api<{ ID?: string }>(
          'POST',
          `${API}/services/create`,
          serviceBody(c.spec),
        );
        assertDockerLike(response, 'service create');
        // Keep the store small: what got in goes again (its removal is part of the test too).
        if (response.status === 201 && response.body.ID) {
          assertDockerLike(await daemon.api('DELETE', `${API}/services/${response.body.ID}`), 'service rm');
        }
        return;
      }
      case 'updateService': {
        // The name stays (a rename is refused, which would end every update case there).
        const body = serviceBody(
          c.spec === null || typeof c.spec !== 'object' ? c.spec : { ...c.spec, Name: 'target' },
        );
        const version = await versionOf('/services/target');
        assertDockerLike(
          await daemon.api('POST', `${API}/services/target/update?version=${version}`, body),
          'service update',
        );
        return;
      }
      case 'updateNode': {
        const raw = Buffer.from(JSON.stringify(c.spec) ?? 'null');
        let body = raw;
        try {
          // The only node must stay an active manager, or nothing converges any more.
          const spec = decodeBody(raw, NodeSpecSchema);
          body = Buffer.from(JSON.stringify({ ...spec, Role: 'manager', Availability: 'active' }));
        } catch {
          // sent raw, to be refused
        }
        const version = await versionOf('/nodes/self');
        assertDockerLike(
          await daemon.api('POST', `${API}/nodes/self/update?version=${version}`, body),
          'node update',
        );
        return;
      }
      case 'updateSwarm': {
        const raw = Buffer.from(JSON.stringify(c.spec) ?? 'null');
        const version = await versionOf('/swarm');
        const response = await daemon.api('POST', `${API}/swarm/update?version=${version}`, raw);
        assertDockerLike(response, 'swarm update');
        if (response.status === 200) {
          // Put the settings back: limits or a history of 0 would change what the canary may do.
          await daemon.apiOk(
            'POST',
            `${API}/swarm/update?version=${await versionOf('/swarm')}`,
            Buffer.from(swarmSpecText),
          );
        }
        return;
      }
      case 'raw':
        assertDockerLike(await daemon.api(c.method, `${API}${c.path}`, c.body), `${c.method} ${c.path}`);
        return;
      case 'read':
        assertDockerLike(await daemon.api('GET', `${API}${c.path}?${c.query}`), `GET ${c.path}?${c.query}`);
        return;
    }
  }

  it('stays up and answers like Docker through thousands of hostile requests', async () => {
    let count = 0;
    await fc.assert(
      fc.asyncProperty(cases, async (c) => {
        await run(c);
        assert.ok(daemon.running, `shoald exited\n${daemon.logTail(40)}`);
        if (++count % 50 === 0) await assertAnswering(daemon, `after ${count} cases`);
      }),
      { numRuns: fuzzRuns(1_000), endOnFailure: true },
    );
    await assertAnswering(daemon);
    await assertConverges(daemon, 'canary', 2);
  });

  it('comes back after a restart with whatever the fuzzer stored, and still converges', async () => {
    await daemon.restart();
    await assertAnswering(daemon, 'after a restart');
    await assertConverges(daemon, 'canary', 1);
  });
});
