import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { describeNode, PROCESS_EXECUTOR_PLUGINS } from '../../../src/agent/executor/process/describe.js';
import { MAX_LOG_ENTRIES } from '../../../src/agent/executor/process/health.js';
import { MAX_LINE_BYTES } from '../../../src/agent/executor/process/logformat.js';
import { PROBE_OUTPUT_LIMIT } from '../../../src/agent/executor/process/probe.js';
import { MAX_LOG_BATCH } from '../../../src/agent/log-publisher.js';
import { MAX_STATUS_BATCH } from '../../../src/agent/reporter.js';
import { isShoalError } from '../../../src/api/errors.js';
import { isMalformedRequest, PEER_LIMITS } from '../../../src/api/peer-limits.js';
import {
  parseIssueRequest,
  parseNodeDescription,
  parsePublishLogs,
  parseRenewRequest,
  parseSessionRequest,
  parseSessionScoped,
  parseUpdateTaskStatus,
} from '../../../src/manager/clusterapi/validate.js';

const description = {
  Hostname: 'h',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: {},
  Engine: { EngineVersion: '1' },
};
const status = { Timestamp: '2024-05-01T12:00:00Z', State: 'running', Message: 'started' };
const entry = {
  taskId: 't',
  serviceId: 's',
  stream: 'stdout',
  timestamp: '2024-05-01T12:00:00.123456789Z',
  data: 'aGk=',
};

/** Keys that name something on Object.prototype (or the prototype itself). */
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** A description as a hostile peer may shape it. */
interface LooseDescription {
  Hostname: unknown;
  Platform: Record<string, unknown>;
  Resources: unknown;
  Engine: Record<string, unknown>;
  [extra: string]: unknown;
}

/** A description with `change` applied to a copy of `description`. */
const describedAs = (change: (d: LooseDescription) => void): LooseDescription => {
  const d = structuredClone(description) as LooseDescription;
  change(d);
  return d;
};

const refused = (parse: () => unknown, message: RegExp): void =>
  assert.throws(parse, (err: unknown) => {
    assert.ok(isMalformedRequest(err), `not a malformed-request refusal: ${String(err)}`);
    assert.match((err as Error).message, message);
    return true;
  });

describe('request bodies from other hosts', () => {
  it('accepts well-formed requests', () => {
    assert.deepEqual(parseSessionRequest({ description }), { description });
    assert.deepEqual(parseSessionRequest({ sessionId: 's1', description }), { sessionId: 's1', description });
    assert.deepEqual(parseSessionScoped({ sessionId: 's1' }), { sessionId: 's1' });
    const updates = [{ taskId: 't1', status }];
    assert.deepEqual(parseUpdateTaskStatus({ sessionId: 's1', updates }), { sessionId: 's1', updates });
    const message = { subscriptionId: 'sub', entries: [entry], close: false };
    assert.deepEqual(parsePublishLogs({ sessionId: 's1', message }), { sessionId: 's1', message });
    assert.deepEqual(parseIssueRequest({ csr: 'c', token: 't' }), {
      csr: 'c',
      token: 't',
      availability: 'active',
    });
    assert.deepEqual(parseRenewRequest({ csr: 'c' }), { csr: 'c' });
  });

  it('refuses a task state that does not exist', () => {
    assert.throws(
      () =>
        parseUpdateTaskStatus({
          sessionId: 's',
          updates: [{ taskId: 't', status: { ...status, State: 'bogus' } }],
        }),
      { code: 'InvalidArgument', message: 'malformed request: unknown task state "bogus"' },
    );
    for (const state of PROTOTYPE_KEYS) {
      refused(
        () =>
          parseUpdateTaskStatus({
            sessionId: 's',
            updates: [{ taskId: 't', status: { ...status, State: state } }],
          }),
        /unknown task state/,
      );
    }
  });

  it('refuses bodies of the wrong shape', () => {
    const bad: [() => unknown, RegExp][] = [
      [() => parseSessionScoped([]), /body must be an object/],
      [() => parseSessionScoped({ sessionId: 1 }), /sessionId must be a string/],
      [
        () => parseSessionRequest({ description: { ...description, Platform: null } }),
        /Platform must be an object/,
      ],
      [() => parseUpdateTaskStatus({ sessionId: 's', updates: {} }), /updates must be an array/],
      [
        () =>
          parsePublishLogs({ sessionId: 's', message: { subscriptionId: 'x', entries: [], close: 'no' } }),
        /close/,
      ],
      [
        () =>
          parsePublishLogs({
            sessionId: 's',
            message: { subscriptionId: 'x', close: true, entries: [{ ...entry, stream: 'stdin' }] },
          }),
        /stdout, stderr/,
      ],
      [() => parseRenewRequest({}), /csr must be a string/],
      [() => parseIssueRequest({ token: 't' }), /csr must be a string/],
    ];
    for (const [parse, message] of bad) refused(parse, message);
    assert.throws(() => parseIssueRequest({ csr: 'c', token: 't', availability: 'sleepy' }), {
      code: 'InvalidArgument',
      message: 'invalid availability "sleepy"',
    });
  });
});

describe('node descriptions from nodes', () => {
  it('accepts what the process executor describes, unchanged', () => {
    const described = describeNode({
      hostname: 'node-1',
      engineLabels: { zone: 'east', 'com.example.rack': '4' },
    });
    assert.deepEqual(parseNodeDescription(JSON.parse(JSON.stringify(described))), described);
    assert.ok(PROCESS_EXECUTOR_PLUGINS.length <= PEER_LIMITS.plugins);
  });

  it('refuses the wrong types in labels and resources', () => {
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Labels = { zone: 1 }))),
      /Labels must be a string/,
    );
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Labels = ['a']))),
      /Labels must be an object/,
    );
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Labels = { '': 'x' }))),
      /empty label name/,
    );
    for (const bad of ['abc', -1, 1.5, 2 ** 53, '1', true, {}, []]) {
      refused(
        () => parseNodeDescription(describedAs((d) => (d.Resources = { NanoCPUs: bad }))),
        /NanoCPUs must be/,
      );
      refused(
        () => parseNodeDescription(describedAs((d) => (d.Resources = { MemoryBytes: bad }))),
        /MemoryBytes must be/,
      );
    }
    refused(() => parseNodeDescription(describedAs((d) => (d.Hostname = 7))), /Hostname must be a string/);
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Plugins = [{ Type: 'Log', Name: 3 }]))),
      /Plugins\[0\]\.Name must be a string/,
    );
    refused(
      () =>
        parseNodeDescription(
          describedAs(
            (d) =>
              (d.Resources = { GenericResources: [{ DiscreteResourceSpec: { Kind: 'gpu', Value: -2 } }] }),
          ),
        ),
      /DiscreteResourceSpec\.Value/,
    );
    refused(
      () =>
        parseNodeDescription(
          describedAs(
            (d) =>
              (d.Resources = {
                GenericResources: [
                  {
                    NamedResourceSpec: { Kind: 'gpu', Value: 'a' },
                    DiscreteResourceSpec: { Kind: 'gpu', Value: 2 },
                  },
                ],
              }),
          ),
        ),
      /exactly one/,
    );
  });

  it('bounds sizes and counts: a 10 MB description is refused, so is one of more than 64 KiB', () => {
    const huge = 'x'.repeat(10 * 2 ** 20);
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Hostname = huge))),
      /Hostname is longer than 256/,
    );
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Labels = { big: huge }))),
      /longer than 4096/,
    );
    const many = Object.fromEntries(
      Array.from({ length: PEER_LIMITS.engineLabels + 1 }, (_, i) => [`l${i}`, 'v']),
    );
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Labels = many))),
      /more than 256 entries/,
    );
    // Each label within bounds, together beyond the description's bound.
    const wide = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`l${i}`, 'v'.repeat(1000)]));
    refused(
      () => parseNodeDescription(describedAs((d) => (d.Engine.Labels = wide))),
      /bytes encoded, more than 65536/,
    );
    const plugins = Array.from({ length: PEER_LIMITS.plugins + 1 }, () => ({ Type: 'Log', Name: 'x' }));
    refused(() => parseNodeDescription(describedAs((d) => (d.Engine.Plugins = plugins))), /more than 256/);
  });

  it('builds the stored description afresh: unknown fields and TLSInfo dropped, nothing shared', () => {
    const sent = describedAs((d) => {
      d.Extra = { deep: [[[[1]]]] };
      d.TLSInfo = { TrustRoot: 'forged', CertIssuerSubject: 'x', CertIssuerPublicKey: 'y' };
      d.Engine.Labels = { zone: 'a' };
      d.Platform.Variant = 'v8';
    });
    const parsed = parseNodeDescription(sent);
    assert.deepEqual(parsed, {
      Hostname: 'h',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: '1', Labels: { zone: 'a' } },
    });
    assert.notEqual(parsed.Engine.Labels, (sent.Engine as { Labels: unknown }).Labels);
  });

  it('keeps labels named after prototype properties as plain own labels', () => {
    const labels = JSON.parse(
      `{${PROTOTYPE_KEYS.map((key) => `${JSON.stringify(key)}:${JSON.stringify(`v-${key}`)}`).join(',')}}`,
    ) as Record<string, string>;
    const parsed = parseNodeDescription(describedAs((d) => (d.Engine.Labels = labels)));
    const stored = parsed.Engine.Labels!;
    assert.equal(Object.getPrototypeOf(stored), Object.prototype);
    assert.deepEqual(Object.keys(stored).sort(), [...PROTOTYPE_KEYS].sort());
    for (const key of PROTOTYPE_KEYS)
      assert.equal(Object.getOwnPropertyDescriptor(stored, key)?.value, `v-${key}`);
    assert.equal(JSON.stringify(JSON.parse(JSON.stringify(parsed))), JSON.stringify(parsed));
  });
});

describe('task statuses from nodes', () => {
  const update = (change: Record<string, unknown>, health?: unknown) => ({
    sessionId: 's',
    updates: [{ taskId: 't', status: { ...status, ...change }, ...(health !== undefined ? { health } : {}) }],
  });
  const goodHealth = {
    Status: 'healthy',
    FailingStreak: 0,
    Log: [
      { Start: '2024-05-01T12:00:00.000000000Z', End: '2024-05-01T12:00:01.5Z', ExitCode: 0, Output: 'ok' },
    ],
  };

  it('accepts every field the agent sends', () => {
    const full = update(
      {
        Err: 'task: non-zero exit (1)',
        ContainerStatus: { ContainerID: 'c'.repeat(64), PID: 4242, ExitCode: 1 },
        PortStatus: {
          Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }],
        },
      },
      goodHealth,
    );
    assert.deepEqual(parseUpdateTaskStatus(full), full);
    assert.deepEqual(parseUpdateTaskStatus(update({ ContainerStatus: {} })), update({ ContainerStatus: {} }));
  });

  it('accepts RFC 3339 times the docker CLI can read, and refuses the others', () => {
    for (const ok of [
      '2024-05-01T12:00:00Z',
      '2024-05-01T12:00:00.5Z',
      '2024-05-01T12:00:00.123456789Z',
      '2024-02-29T23:59:59+02:00',
      '0001-01-01T00:00:00Z',
    ]) {
      assert.doesNotThrow(() => parseUpdateTaskStatus(update({ Timestamp: ok })), ok);
    }
    for (const bad of [
      '',
      'ts',
      1714564800,
      '2024-05-01 12:00:00Z',
      '2024-05-01t12:00:00z',
      '2023-02-29T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '2024-05-01T12:60:00Z',
      '2024-05-01T12:00:60Z',
      '2024-05-01T12:00:00.1234567890Z',
      '2024-05-01T12:00:00+24:00',
      '2024-05-01T12:00:00',
    ]) {
      refused(() => parseUpdateTaskStatus(update({ Timestamp: bad })), /Timestamp must be/);
    }
  });

  it('refuses wrong types and oversized texts', () => {
    refused(
      () => parseUpdateTaskStatus(update({ Message: 'm'.repeat(4097) })),
      /Message is longer than 4096/,
    );
    refused(() => parseUpdateTaskStatus(update({ Err: 'e'.repeat(4097) })), /Err is longer than 4096/);
    refused(() => parseUpdateTaskStatus(update({ Err: 5 })), /Err must be a string/);
    refused(() => parseUpdateTaskStatus(update({ ContainerStatus: { PID: -1 } })), /PID must be between/);
    refused(
      () => parseUpdateTaskStatus(update({ ContainerStatus: { PID: '12' } })),
      /PID must be an integer/,
    );
    refused(
      () => parseUpdateTaskStatus(update({ ContainerStatus: { ExitCode: 1.5 } })),
      /ExitCode must be an integer/,
    );
    refused(
      () => parseUpdateTaskStatus(update({ ContainerStatus: { ContainerID: {} } })),
      /ContainerID must be a string/,
    );
    refused(
      () => parseUpdateTaskStatus(update({ PortStatus: { Ports: [{ Protocol: 'icmp' }] } })),
      /Protocol must be one of/,
    );
    refused(
      () => parseUpdateTaskStatus(update({ PortStatus: { Ports: [{ TargetPort: 70000 }] } })),
      /TargetPort must be between/,
    );
    refused(() => parseUpdateTaskStatus(update({}, { ...goodHealth, Status: 'fine' })), /health\.Status/);
    refused(() => parseUpdateTaskStatus(update({}, { ...goodHealth, FailingStreak: -1 })), /FailingStreak/);
    refused(
      () => parseUpdateTaskStatus(update({}, { ...goodHealth, Log: Array(6).fill(goodHealth.Log[0]) })),
      /Log has more than 5 entries/,
    );
    refused(
      () =>
        parseUpdateTaskStatus(
          update({}, { ...goodHealth, Log: [{ ...goodHealth.Log[0], Output: 'o'.repeat(8193) }] }),
        ),
      /Output is longer than 8192/,
    );
    refused(
      () => parseUpdateTaskStatus({ sessionId: 's', updates: [{ taskId: '', status }] }),
      /taskId must not be empty/,
    );
    const tooMany = Array.from({ length: PEER_LIMITS.statusUpdatesPerCall + 1 }, () => ({
      taskId: 't',
      status,
    }));
    refused(() => parseUpdateTaskStatus({ sessionId: 's', updates: tooMany }), /more than 1024 entries/);
  });

  it('stores only the known fields of a status', () => {
    const [parsed] = parseUpdateTaskStatus(
      update({ AppliedBy: 'me', ContainerStatus: { PID: 1, Extra: { __proto__: { polluted: true } } } }),
    ).updates;
    assert.deepEqual(parsed!.status, { ...status, ContainerStatus: { PID: 1 } });
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('never echoes a large hostile value in its refusal', () => {
    const huge = 'x'.repeat(2 ** 20);
    for (const parse of [
      () => parseUpdateTaskStatus(update({ State: huge })),
      () => parseIssueRequest({ csr: 'c', token: 't', availability: huge }),
      () =>
        parsePublishLogs({
          sessionId: 's',
          message: { subscriptionId: 'x', close: true, entries: [{ ...entry, stream: huge }] },
        }),
    ]) {
      assert.throws(parse, (err: Error) => err.message.length < 200);
    }
  });
});

describe('log entries from nodes', () => {
  const publish = (change: Record<string, unknown>) => ({
    sessionId: 's',
    message: { subscriptionId: 'sub', close: false, entries: [{ ...entry, ...change }] },
  });

  it('refuses data that is not base64 or too long, and bad timestamps', () => {
    refused(() => parsePublishLogs(publish({ data: 'not base64!' })), /data must be base64/);
    refused(() => parsePublishLogs(publish({ data: 'abc' })), /data must be base64/);
    refused(
      () => parsePublishLogs(publish({ data: 'A'.repeat(PEER_LIMITS.logDataChars + 4) })),
      /data is longer/,
    );
    refused(() => parsePublishLogs(publish({ timestamp: 'yesterday' })), /timestamp must be/);
    refused(() => parsePublishLogs(publish({ serviceId: 1 })), /serviceId must be a string/);
    const entries = Array(PEER_LIMITS.logEntriesPerCall + 1).fill(entry);
    refused(
      () => parsePublishLogs({ sessionId: 's', message: { subscriptionId: 'x', close: false, entries } }),
      /more than 1024/,
    );
  });
});

describe('what the agent sends stays within what the manager accepts', () => {
  it('batches, log lines and health logs', () => {
    assert.ok(MAX_STATUS_BATCH <= PEER_LIMITS.statusUpdatesPerCall);
    assert.ok(MAX_LOG_BATCH <= PEER_LIMITS.logEntriesPerCall);
    // A line of MAX_LINE_BYTES and its newline, in base64.
    assert.ok(Math.ceil((MAX_LINE_BYTES + 1) / 3) * 4 <= PEER_LIMITS.logDataChars);
    assert.ok(MAX_LOG_ENTRIES <= PEER_LIMITS.healthLogEntries);
    // Docker's cut output plus "..." and the timeout message prefix.
    assert.ok(PROBE_OUTPUT_LIMIT + 200 <= PEER_LIMITS.healthOutputChars);
  });
});

describe('any JSON at all', () => {
  const parsers = [
    parseSessionRequest,
    parseSessionScoped,
    parseUpdateTaskStatus,
    parsePublishLogs,
    parseIssueRequest,
    parseRenewRequest,
    parseNodeDescription,
  ];
  /** JSON values with prototype names among the keys, as a hostile peer would send them. */
  const hostileJson = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 60, '', 'x', '2024-05-01T12:00:00Z', 'running'),
      fc.string(),
      fc.array(tie('value'), { maxLength: 4 }),
      fc
        .array(
          fc.tuple(
            fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS, 'description', 'sessionId', 'updates'), fc.string()),
            tie('value'),
          ),
          { maxLength: 5 },
        )
        .map(
          (entries) =>
            JSON.parse(
              `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`,
            ) as unknown,
        ),
    ),
  })).value;

  it('either yields a plain JSON value or refuses with InvalidArgument, never anything else', () => {
    fc.assert(
      fc.property(hostileJson, fc.integer({ min: 0, max: parsers.length - 1 }), (body, which) => {
        let result: unknown;
        try {
          result = parsers[which]!(body);
        } catch (err) {
          assert.ok(isShoalError(err) && err.code === 'InvalidArgument', `unexpected ${String(err)}`);
          return;
        }
        assert.deepEqual(JSON.parse(JSON.stringify(result)), result);
      }),
      { numRuns: 2000 },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('keeps any label name, prototype names included, as an own label', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string({ minLength: 1 })),
          fc.string(),
          {
            maxKeys: 20,
          },
        ),
        (labels) => {
          const wire = JSON.parse(JSON.stringify(labels)) as Record<string, string>;
          const parsed = parseNodeDescription(describedAs((d) => (d.Engine.Labels = wire))).Engine.Labels!;
          assert.deepEqual(Object.entries(parsed), Object.entries(wire));
          assert.equal(Object.getPrototypeOf(parsed), Object.prototype);
        },
      ),
    );
  });
});
