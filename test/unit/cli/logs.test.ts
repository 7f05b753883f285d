// `service logs`: the multiplexed stream recorded from a real engine (docs/reference/docker-observed.md
// G.7) decoded and printed as the docker CLI printed it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, parseLogDetails, sinceTimestamp } from '../../../src/cli/logs.js';
import { parseDuration } from '../../../src/api/duration.js';
import { FakeClient, routes, runShoal } from './helpers.js';

const NODE = 'l0pl6nytqwwsqiwj349vxd6vp';
const SERVICE = 'm2lgemsf391t9ynzfj0o02ph8';
const T1 = 'xaypi8f85qg4u3sdo5hihx4aa';
const T2 = 'f1zi4726dzwujvjx6wnjg7qp2';

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

const details = (task: string): string =>
  `com.docker.swarm.node.id=${NODE},com.docker.swarm.service.id=${SERVICE},com.docker.swarm.task.id=${task}`;

function stream(timestamps: boolean): Buffer {
  const ts = (t: string): string => (timestamps ? t + ' ' : '');
  return Buffer.concat([
    frame(1, `${ts('2026-11-25T23:38:35.207029219Z')}${details(T2)} hello from a5e955a608dc\n`),
    frame(2, `${ts('2026-11-25T23:38:35.210028034Z')}${details(T2)} to-stderr\n`),
    frame(1, `${ts('2026-11-25T23:38:35.213229432Z')}${details(T1)} hello from e4fa16397013\n`),
    frame(2, `${ts('2026-11-25T23:38:35.213972220Z')}${details(T1)} to-stderr\n`),
  ]);
}

function client(timestamps = false, raw = false): FakeClient {
  const c = new FakeClient(
    routes({
      'GET /services/logsvc': {
        body: { ID: SERVICE, Spec: { Name: 'logsvc', Mode: { Replicated: { Replicas: 2 } } } },
      },
      [`GET /services/${SERVICE}`]: { body: { ID: SERVICE, Spec: { Name: 'logsvc' } } },
      [`GET /nodes/${NODE}`]: { body: { ID: NODE, Spec: {}, Description: { Hostname: 'vm' } } },
      [`GET /tasks/${T1}`]: { body: { ID: T1, Slot: 1 } },
      [`GET /tasks/${T2}`]: { body: { ID: T2, Slot: 2 } },
      'GET /services/nosuch': { status: 404, body: { message: 'service nosuch not found' } },
      'GET /tasks/nosuch': { status: 404, body: { message: 'task nosuch not found' } },
    }),
  );
  const body = raw
    ? Buffer.concat([
        frame(1, 'hello from a5e955a608dc\n'),
        frame(2, 'to-stderr\n'),
        frame(1, 'hello from e4fa16397013\n'),
      ])
    : stream(timestamps);
  c.streams.set('/services/logsvc/logs', body);
  return c;
}

test('service logs: context prefixes on stdout and stderr (G.7)', async () => {
  const c = client();
  const r = await runShoal(['service', 'logs', 'logsvc'], { client: c });
  assert.deepEqual(r, {
    out: 'logsvc.2.f1zi4726dzwu@vm    | hello from a5e955a608dc\nlogsvc.1.xaypi8f85qg4@vm    | hello from e4fa16397013\n',
    err: 'logsvc.2.f1zi4726dzwu@vm    | to-stderr\nlogsvc.1.xaypi8f85qg4@vm    | to-stderr\n',
    code: 0,
  });
  assert.deepEqual(c.lines, [
    'GET /services/logsvc?insertDefaults=false',
    'GET /services/logsvc/logs?details=1&stderr=1&stdout=1&tail=all',
    `GET /nodes/${NODE}`,
    `GET /services/${SERVICE}?insertDefaults=false`,
    `GET /tasks/${T2}`,
    `GET /tasks/${T1}`,
  ]);
});

test('service logs: --timestamps, --no-task-ids, --no-trunc, --no-resolve, --details', async () => {
  const ts = await runShoal(['service', 'logs', '--timestamps', 'logsvc'], { client: client(true) });
  assert.equal(
    ts.out,
    '2026-11-25T23:38:35.207029219Z logsvc.2.f1zi4726dzwu@vm    | hello from a5e955a608dc\n' +
      '2026-11-25T23:38:35.213229432Z logsvc.1.xaypi8f85qg4@vm    | hello from e4fa16397013\n',
  );
  assert.equal(
    (await runShoal(['service', 'logs', '--no-task-ids', 'logsvc'], { client: client() })).err,
    'logsvc.2@vm    | to-stderr\nlogsvc.1@vm    | to-stderr\n',
  );
  assert.equal(
    (await runShoal(['service', 'logs', '--no-trunc', 'logsvc'], { client: client() })).out,
    `logsvc.2.${T2}@vm    | hello from a5e955a608dc\nlogsvc.1.${T1}@vm    | hello from e4fa16397013\n`,
  );
  assert.equal(
    (await runShoal(['service', 'logs', '--no-resolve', 'logsvc'], { client: client() })).out,
    `${SERVICE}.2.f1zi4726dzwu@${NODE}    | hello from a5e955a608dc\n${SERVICE}.1.xaypi8f85qg4@${NODE}    | hello from e4fa16397013\n`,
  );
  assert.equal(
    (await runShoal(['service', 'logs', '--details', 'logsvc'], { client: client() })).out,
    'logsvc.2.f1zi4726dzwu@vm    |  hello from a5e955a608dc\nlogsvc.1.xaypi8f85qg4@vm    |  hello from e4fa16397013\n',
  );
});

test('service logs --raw: bare lines, no details asked for', async () => {
  const c = client(false, true);
  const r = await runShoal(['service', 'logs', '--raw', '--tail', '2', 'logsvc'], { client: c });
  assert.deepEqual(r, {
    out: 'hello from a5e955a608dc\nhello from e4fa16397013\n',
    err: 'to-stderr\n',
    code: 0,
  });
  assert.equal(c.lines[1], 'GET /services/logsvc/logs?stderr=1&stdout=1&tail=2');
});

test('service logs of something that is neither a service nor a task', async () => {
  const r = await runShoal(['service', 'logs', 'nosuch'], { client: client() });
  assert.deepEqual(r, { out: '', err: 'no such task or service: nosuch\n', code: 1 });
});

test('replica numbers are padded so the bars line up', async () => {
  const c = new FakeClient(
    routes({
      'GET /services/big': {
        body: { ID: SERVICE, Spec: { Name: 'big', Mode: { Replicated: { Replicas: 10 } } } },
      },
      [`GET /services/${SERVICE}`]: { body: { ID: SERVICE, Spec: { Name: 'big' } } },
      [`GET /nodes/${NODE}`]: { body: { ID: NODE, Spec: {}, Description: { Hostname: 'vm' } } },
      [`GET /tasks/${T1}`]: { body: { ID: T1, Slot: 3 } },
      [`GET /tasks/${T2}`]: { body: { ID: T2, Slot: 10 } },
    }),
  );
  c.streams.set(
    '/services/big/logs',
    Buffer.concat([frame(1, `${details(T1)} a\n`), frame(1, `${details(T2)} b\n`)]),
  );
  const r = await runShoal(['service', 'logs', '--no-task-ids', 'big'], { client: c });
  assert.equal(r.out, 'big.3@vm     | a\nbig.10@vm    | b\n');
});

test('frames split across chunks are reassembled; details are URL-decoded', () => {
  const decoder = new FrameDecoder();
  const data = frame(1, 'hello\n');
  assert.deepEqual(decoder.push(data.subarray(0, 5)), []);
  const frames = decoder.push(data.subarray(5));
  assert.equal(frames.length, 1);
  assert.equal(frames[0]!.payload.toString(), 'hello\n');
  assert.deepEqual(
    [...parseLogDetails('a=1,b%3Dc=x%2Cy')],
    [
      ['a', '1'],
      ['b=c', 'x,y'],
    ],
  );
  assert.throws(() => parseLogDetails(''), /invalid details format/);
});

test('--since: durations before now, RFC 3339 times, Unix timestamps', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');
  assert.equal(sinceTimestamp('42m', now, parseDuration), String(now / 1000 - 42 * 60));
  assert.equal(sinceTimestamp('2026-11-25T11:00:00Z', now, parseDuration), `${now / 1000 - 3600}.000000000`);
  assert.equal(
    sinceTimestamp('2026-11-25T11:00:00.5+01:00', now, parseDuration),
    `${now / 1000 - 7200}.500000000`,
  );
  assert.equal(sinceTimestamp('1700000000', now, parseDuration), '1700000000');
  assert.throws(
    () => sinceTimestamp('bogus', now, parseDuration),
    /failed to parse value as time or duration: "bogus"/,
  );
});
