// Keys the user types (labels, env, options) and keys the daemon returns (labels, plugin types) are
// data: `__proto__`, `constructor`, `toString`… are names like any other, never Object.prototype's.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';

import { parseDuration } from '../../../src/api/duration.js';
import type { Node } from '../../../src/api/types.js';
import { nodePretty } from '../../../src/cli/formatters/pretty.js';
import { kvToMap, readKVEnvStrings, validateEnv } from '../../../src/cli/opts/lists.js';
import { encodeGo, goView, NODE } from '../../../src/cli/wire.js';
import { FakeClient, routes, runShoal } from './helpers.js';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];
/** The same, in the order Go's encoding/json writes map keys. */
const SORTED = [...PROTOTYPE_KEYS].sort();

const NODE_ID = '3owh83m4ho97gdnl8iup4ps7n';
const nodeJson = (labels: Record<string, string>): Node =>
  ({
    ID: NODE_ID,
    Version: { Index: 9 },
    CreatedAt: '2026-11-25T22:01:52.998656619Z',
    UpdatedAt: '2026-11-25T22:01:53.5Z',
    Spec: { Labels: labels, Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: 'vm',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: '20.10.24' },
    },
    Status: { State: 'ready', Addr: '198.18.0.1' },
  }) as Node;

/** Own entries with these names, as JSON.parse makes them. */
const own = (entries: [string, string][]): Record<string, string> =>
  JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`) as Record<
    string,
    string
  >;

test('kvToMap keeps every key as an own entry, later ones winning', () => {
  const map = kvToMap(PROTOTYPE_KEYS.flatMap((k) => [`${k}=old`, `${k}=v-${k}`]).concat(['bare']));
  assert.equal(Object.getPrototypeOf(map), Object.prototype);
  assert.deepEqual(Object.keys(map), [...PROTOTYPE_KEYS, 'bare']);
  for (const k of PROTOTYPE_KEYS) assert.equal(Object.getOwnPropertyDescriptor(map, k)?.value, `v-${k}`);
  assert.equal(
    JSON.stringify(map),
    JSON.stringify(own([...PROTOTYPE_KEYS.map((k): [string, string] => [k, `v-${k}`]), ['bare', '']])),
  );
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.string()), fc.string())),
      (pairs) => {
        const valid = pairs.filter(([k]) => !k.includes('='));
        const map = kvToMap(valid.map(([k, v]) => `${k}=${v}`));
        assert.deepEqual(Object.entries(map), Object.entries(Object.fromEntries(valid)));
      },
    ),
  );
});

test('a bare --env NAME takes only a variable the environment has', () => {
  const env = { HOME: '/root' } as Record<string, string | undefined>;
  for (const k of PROTOTYPE_KEYS) assert.equal(validateEnv(env)(k), k);
  assert.equal(validateEnv(env)('HOME'), 'HOME=/root');
  assert.equal(validateEnv(own([['toString', 'set']]))('toString'), 'toString=set');
  const dir = mkdtempSync(join(tmpdir(), 'shoal-env-'));
  try {
    const file = join(dir, 'env');
    writeFileSync(file, `${PROTOTYPE_KEYS.join('\n')}\nHOME\nA=1\n`);
    assert.deepEqual(readKVEnvStrings([file], [], env), ['HOME=/root', 'A=1']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('durations: a unit named after a prototype property is an unknown unit', () => {
  for (const unit of PROTOTYPE_KEYS) {
    assert.throws(() => parseDuration(`1${unit}`), {
      message: `time: unknown unit "${unit}" in duration "1${unit}"`,
    });
  }
});

test('node update --label-add / --label-rm with prototype names', async () => {
  const posted: string[] = [];
  const client = (labels: Record<string, string>): FakeClient =>
    new FakeClient(
      routes({
        [`GET /nodes/${NODE_ID}`]: { body: nodeJson(labels) },
        [`POST /nodes/${NODE_ID}/update`]: (req) => {
          posted.push(req.body);
          return { body: undefined };
        },
      }),
    );
  const add = PROTOTYPE_KEYS.flatMap((k) => ['--label-add', `${k}=v-${k}`]);
  const r = await runShoal(['node', 'update', ...add, NODE_ID], { client: client({}) });
  assert.equal(r.err, '');
  const sent = JSON.parse(posted.pop()!) as { Labels: Record<string, string> };
  assert.deepEqual(
    Object.entries(sent.Labels),
    SORTED.map((k) => [k, `v-${k}`]),
  );

  // Removing a label the node does not have is Docker's error, whatever its name.
  for (const k of PROTOTYPE_KEYS) {
    const missing = await runShoal(['node', 'update', '--label-rm', k, NODE_ID], { client: client({}) });
    assert.deepEqual(missing, { out: '', err: `key ${k} doesn't exist in node's labels\n`, code: 1 });
  }
  // …and removing one it has works.
  const labelled = own(PROTOTYPE_KEYS.map((k) => [k, 'x']));
  const rm = await runShoal(
    ['node', 'update', '--label-rm', '__proto__', '--label-rm', 'toString', NODE_ID],
    {
      client: client(labelled),
    },
  );
  assert.equal(rm.code, 0);
  const left = JSON.parse(posted.pop()!) as { Labels: Record<string, string> };
  assert.deepEqual(Object.keys(left.Labels), ['constructor', 'hasOwnProperty', 'valueOf']);
});

test('service create: labels, env, options and constraints with prototype names reach the daemon', async () => {
  const client = new FakeClient(
    routes({ 'POST /services/create': { status: 201, body: { ID: '2hl4j963o2qhxyuvkiqwwvpyz' } } }),
  );
  const flags = PROTOTYPE_KEYS.flatMap((k) => [
    '--label',
    `${k}=l`,
    '--container-label',
    `${k}=c`,
    '--env',
    `${k}=e`,
    '--log-opt',
    `${k}=o`,
    '--constraint',
    `node.labels.${k}==x`,
  ]);
  const r = await runShoal(
    [
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--log-driver',
      'json-file',
      '--name',
      'p',
      ...flags,
      'busybox',
    ],
    { client },
  );
  assert.equal(r.err, '');
  const body = JSON.parse(client.requests.find((q) => q.path === '/services/create')!.body) as {
    Labels: Record<string, string>;
    TaskTemplate: {
      ContainerSpec: { Labels: Record<string, string>; Env: string[] };
      LogDriver: { Options: Record<string, string> };
      Placement: { Constraints: string[] };
    };
  };
  assert.deepEqual(Object.keys(body.Labels), SORTED);
  assert.deepEqual(Object.keys(body.TaskTemplate.ContainerSpec.Labels), SORTED);
  assert.deepEqual(Object.keys(body.TaskTemplate.LogDriver.Options), SORTED);
  assert.deepEqual(
    body.TaskTemplate.ContainerSpec.Env,
    PROTOTYPE_KEYS.map((k) => `${k}=e`),
  );
  assert.deepEqual(
    body.TaskTemplate.Placement.Constraints,
    PROTOTYPE_KEYS.map((k) => `node.labels.${k}==x`),
  );
});

test('output: labels and plugin types the daemon returns are shown as they are', () => {
  const labels = own(PROTOTYPE_KEYS.map((k) => [k, `v-${k}`]));
  const node = nodeJson(labels);
  node.Description.Engine = {
    EngineVersion: '1',
    Labels: labels,
    Plugins: PROTOTYPE_KEYS.map((k) => ({ Type: k, Name: 'p' })),
  };
  const view = goView(node, NODE) as { Spec: { Labels: Record<string, string> } };
  assert.deepEqual(Object.keys(view.Spec.Labels), PROTOTYPE_KEYS);
  assert.match(encodeGo(node, NODE), /"Labels":\{"__proto__":"v-__proto__","constructor":"v-constructor"/);
  const pretty = nodePretty(node);
  for (const k of PROTOTYPE_KEYS) {
    assert.ok(pretty.includes(` - ${k}=v-${k}`), `engine label ${k}`);
    assert.ok(pretty.includes(` ${k}:\t\tp`), `plugin type ${k}`);
  }
});

test('templates: index and field access see own entries only', async () => {
  const client = new FakeClient(
    routes({ [`GET /nodes/${NODE_ID}`]: { body: nodeJson(own([['__proto__', 'x']])) } }),
  );
  const format = '{{index .Spec.Labels "__proto__"}}|{{index .Spec.Labels "toString"}}|{{json .Spec.Labels}}';
  const r = await runShoal(['node', 'inspect', '--format', format, NODE_ID], { client });
  assert.deepEqual(r, { out: 'x||{"__proto__":"x"}\n', err: '', code: 0 });
});
