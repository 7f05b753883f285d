// Issue 9 (Docker's JSON to the field): the scenario of scripts/dev/record-docker-reference.sh played with
// the real docker CLI against shoal, and what the CLI then prints — `docker service inspect web job fails`,
// `docker inspect` of every task, `docker node inspect self`, and the `--pretty` pages — compared with what
// it printed against a real Docker 20.10 engine (test/e2e/reference/docker-20.10/).
//
// One normaliser (normaliseJSON / normalisePretty) takes out what must differ between two runs, on both
// sides alike: object IDs (named after their object: `<service:web>`, `<node>`, `<task>`), container IDs,
// times, Version indexes, PIDs of running processes, the machine (hostname, architecture, CPUs, memory),
// the engine version (the node's is checked to be the server's), the cluster port, and the CA (its PEM and
// its key, whose type is kept: `MFkw…QgAE<key>` is a P-256 key). The order of `Env` is normalised too: the
// docker CLI builds `--env-add` results from a Go map. Everything else must be equal, field for field and
// in order, except the deliberate differences listed below (DELIBERATE_JSON, DELIBERATELY_ABSENT_TASKS, and
// the same two on the node's `--pretty` page): those of docs/architecture.md §11, each checked to be
// exactly what the list says.
//
// Besides: the times have nanoseconds, as Docker's; the node's TrustRoot is the swarm's root CA; the raw
// API answers have exactly the fields the docker CLI printed (it decodes services and nodes into its Go
// types and encodes them again, which would hide extra or missing fields); the shoal CLI prints what the
// docker CLI prints; and a task removed while its process is still stopping looks like web.2 did in the
// recording (which shoal's own `sleep`, stopping at SIGTERM, cannot show in the scenario itself).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname, machine, totalmem } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ShoalDaemon, waitFor } from '../harness/index.js';
import { dockerOk, playReferenceScenario } from './reference-scenario.js';

const REFERENCE_DIR = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../../test/e2e/reference/docker-20.10',
);
const reference = (file: string): string => readFileSync(join(REFERENCE_DIR, file), 'utf8');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

// ---------------------------------------------------------------- the normaliser

/** What differs between two runs of the scenario (and machines): normalised away, on both sides alike. */
interface RunFacts {
  /** Service ID → name. */
  services: Map<string, string>;
  node: string;
  hostname: string;
  architecture: string;
  nanoCPUs: number;
  memoryBytes: number;
  engineVersion: string;
  /** The manager's cluster address (`127.0.0.1:2377` where the reference was recorded). */
  managerAddr: string;
}

const TIME = /\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?Z/g;
/** Go's time.Time.String(), which the `--pretty` pages print. */
const PRETTY_TIME = /\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d{1,9})? \+0000 (?:utc|UTC)/g;
const SWARM_ID = /\b[0-9a-z]{25}\b/g;
const CONTAINER_ID = /\b[0-9a-f]{64}\b/g;
const PEM = /-----BEGIN CERTIFICATE-----(?:\n|\\n)[A-Za-z0-9+/=\n\\]*?-----END CERTIFICATE-----/g;
/** A P-256 SubjectPublicKeyInfo in base64: its fixed header (algorithm, curve, uncompressed point), then the key. */
const P256_KEY = /(MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE)[A-Za-z0-9+/]{86}==/g;

function normaliseText(text: string, facts: RunFacts): string {
  return text
    .replace(PEM, '<certificate>')
    .replace(P256_KEY, '$1<key>')
    .replace(TIME, '<time>')
    .replace(PRETTY_TIME, '<time>')
    .replace(CONTAINER_ID, '<container>')
    .replace(SWARM_ID, (id) => {
      if (id === facts.node) return '<node>';
      const service = facts.services.get(id);
      return service !== undefined ? `<service:${service}>` : '<task>';
    })
    .split(facts.managerAddr)
    .join('<manager addr>');
}

/** The JSON the docker CLI printed, normalised (key order kept). */
function normaliseJSON(value: Json, facts: RunFacts, key = '', parentKey = ''): Json {
  if (typeof value === 'string') {
    if (key === 'Hostname' && value === facts.hostname) return '<hostname>';
    if (key === 'Architecture' && value === facts.architecture) return '<architecture>';
    if (key === 'EngineVersion' && value === facts.engineVersion) return '<engine version>';
    return normaliseText(value, facts);
  }
  if (typeof value === 'number') {
    if (key === 'Index' && parentKey === 'Version') return '<index>';
    if (key === 'PID' && value !== 0) return '<pid>';
    if (key === 'NanoCPUs' && value === facts.nanoCPUs) return '<cpus>';
    if (key === 'MemoryBytes' && value === facts.memoryBytes) return '<memory>';
    return value;
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => normaliseJSON(item, facts, '', key));
    return key === 'Env' ? [...items].sort() : items;
  }
  if (value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = normaliseJSON(v, facts, k, key);
    return out;
  }
  return value;
}

/** A `--pretty` page, normalised. */
function normalisePretty(text: string, facts: RunFacts): string {
  return normaliseText(
    text
      .replace(/^(Hostname:\s+)(.*)$/m, (m, label: string, v: string) =>
        v === facts.hostname ? `${label}<hostname>` : m,
      )
      .replace(/^( Architecture:\s+)(.*)$/m, (m, label: string, v: string) =>
        v === facts.architecture ? `${label}<architecture>` : m,
      )
      .replace(/^( CPUs:\s+)(\d+)$/m, (m, label: string, v: string) =>
        Number(v) * 1e9 === facts.nanoCPUs ? `${label}<cpus>` : m,
      )
      .replace(/^( Memory:\s+)(\S+)$/m, '$1<memory>')
      .replace(/^(Engine Version:\s+)(.*)$/m, (m, label: string, v: string) =>
        v === facts.engineVersion ? `${label}<engine version>` : m,
      )
      .replace(
        /^( Env:\t+)(.*) $/m,
        (_m, label: string, v: string) => `${label}${v.split(' ').sort().join(' ')} `,
      ),
    facts,
  );
}

const show = (value: Json): string => JSON.stringify(value, null, 4);

// ---------------------------------------------------------------- deliberate differences

/** A marker both sides get where a deliberate difference was found exactly as listed. */
const DELIBERATE = (name: string): string => `<deliberate: ${name}>`;

/** The process executor's message for a task it started (the command runs from the host, no image). */
const PROCESS_STARTED =
  "started (process executor: the command runs from the host's filesystem, image busybox:latest not used)";

/**
 * Where shoal's JSON deliberately differs from Docker's (docs/architecture.md §11, "Where shoal deliberately
 * differs"). Each entry names the document and the path, and says exactly what each side has there;
 * `ANY` where Docker's value is whatever its engine had.
 */
const ANY = Symbol('any value');
interface Deliberate {
  name: string;
  /** Where: a document (`node`; `task <key>` for the task with that key, see taskKey). */
  doc: string;
  path: readonly string[];
  ours: Json | undefined;
  theirs: Json | undefined | typeof ANY;
}

const DELIBERATE_JSON: readonly Deliberate[] = [
  // The node says which executor it runs, and lists only the plugins that executor has (a process
  // executor has no network or volume plugins, and logs to json-file only): src/api/executor-features.ts.
  {
    name: 'engine labels',
    doc: 'node',
    path: ['Description', 'Engine', 'Labels'],
    ours: { 'shoal.executor': 'process' },
    theirs: undefined,
  },
  {
    name: 'plugins',
    doc: 'node',
    path: ['Description', 'Engine', 'Plugins'],
    ours: [{ Type: 'Log', Name: 'json-file' }],
    theirs: ANY,
  },
  // A task the process executor started says so, and that the image is not used; a task that then failed
  // keeps that message, as Docker's keeps "started".
  {
    name: 'process executor message',
    doc: 'task web 1 running running',
    path: ['Status', 'Message'],
    ours: PROCESS_STARTED,
    theirs: 'started',
  },
  {
    name: 'process executor message',
    doc: 'task fails 1 shutdown failed',
    path: ['Status', 'Message'],
    ours: PROCESS_STARTED,
    theirs: 'started',
  },
  // The task the update stopped: the process executor's `sleep` is an ordinary process and ends at the
  // stop signal (143 = 128 + SIGTERM); Docker's is PID 1 of its container, where SIGTERM is ignored, and
  // was killed at the end of the 10 s grace period (137 = 128 + SIGKILL).
  {
    name: 'exit code of a stopped sleep',
    doc: 'task web 1 shutdown shutdown',
    path: ['Status', 'ContainerStatus', 'ExitCode'],
    ours: 143,
    theirs: 137,
  },
];

/**
 * Tasks Docker had at the snapshot and shoal has not: web's slot 2 after the scale to 1. Docker's `sleep`
 * ignored SIGTERM (see above), so 10 s later its task was still stopping (running, desired state remove,
 * with the exit code -1 of a cancelled wait) and the slot's older task was still kept; shoal's stops at
 * once, and the slot's tasks are deleted as soon as they have stopped (swarmkit deletes them at its next
 * reconcile). What such a task looks like while it stops is compared in its own test below.
 */
const DELIBERATELY_ABSENT_TASKS: readonly string[] = [
  'task web 2 remove running',
  'task web 2 shutdown shutdown',
];

/** The value at `path` (undefined when it is not there). */
function at(doc: Json, path: readonly string[]): Json | undefined {
  let value: Json | undefined = doc;
  for (const key of path) {
    value = value !== null && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
  }
  return value;
}

/** Replaces the value at `path` with the marker, or removes it (`remove`: what only shoal has). */
function mark(doc: Json, path: readonly string[], name: string, remove = false): void {
  let parent = doc as JsonObject;
  for (const key of path.slice(0, -1)) parent = parent[key] as JsonObject;
  if (remove) delete parent[path.at(-1)!];
  else parent[path.at(-1)!] = DELIBERATE(name);
}

/** Checks the deliberate differences of one document on both sides, then marks them alike. */
function applyDeliberate(doc: string, ours: Json, theirs: Json): void {
  for (const d of DELIBERATE_JSON.filter((entry) => entry.doc === doc)) {
    assert.deepEqual(at(ours, d.path), d.ours, `${doc}: shoal's ${d.path.join('.')} (${d.name})`);
    if (d.theirs !== ANY)
      assert.deepEqual(at(theirs, d.path), d.theirs, `${doc}: Docker's ${d.path.join('.')} (${d.name})`);
    // What Docker does not have at all goes; otherwise both sides get the marker in its place.
    mark(ours, d.path, d.name, d.theirs === undefined);
    if (d.theirs !== undefined) mark(theirs, d.path, d.name);
  }
}

/** A task's identity across runs: service name, slot, desired and observed state. */
function taskKey(task: JsonObject, facts: RunFacts): string {
  const status = task.Status as JsonObject;
  const service = facts.services.get(task.ServiceID as string) ?? '?';
  return `task ${service} ${String(task.Slot ?? 0)} ${String(task.DesiredState)} ${String(status.State)}`;
}

// ---------------------------------------------------------------- the test

describe('Docker JSON with the docker CLI', { timeout: 300_000 }, () => {
  let daemon: ShoalDaemon;
  let ours: RunFacts;
  let theirs: RunFacts;
  const out: Record<string, string> = {};
  let scenarioSeconds = 0;

  const docker = (...args: string[]): Promise<string> => dockerOk(daemon, ...args);

  before(async () => {
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
    const started = Date.now();
    const { node } = await playReferenceScenario(daemon);
    scenarioSeconds = (Date.now() - started) / 1000;
    // The scale to 1 stopped web's slot 2, whose tasks go once stopped (see DELIBERATELY_ABSENT_TASKS):
    // the snapshots are taken when they have, so that they do not depend on how fast that was.
    await waitFor(async () => (await docker('service', 'ps', 'web', '-q')).trim().split('\n').length, {
      until: (count) => count === 2,
      timeoutMs: 30_000,
      description: "web's scaled-away slot to be gone",
    });
    // The script's snapshots, in its order.
    out.services = await docker('service', 'inspect', 'web', 'job', 'fails');
    out.serviceWebPretty = await docker('service', 'inspect', '--pretty', 'web');
    out.node = await docker('node', 'inspect', 'self');
    out.nodePretty = await docker('node', 'inspect', '--pretty', 'self');
    const taskIds = (await docker('service', 'ps', 'web', 'job', 'fails', '-q', '--no-trunc'))
      .trim()
      .split('\n');
    out.tasks = await docker('inspect', ...taskIds);

    const services = JSON.parse(out.services) as { ID: string; Spec: { Name: string } }[];
    const nodeJson = (JSON.parse(out.node) as { ManagerStatus: { Addr: string } }[])[0]!;
    ours = {
      services: new Map(services.map((s) => [s.ID, s.Spec.Name])),
      node,
      hostname: hostname(),
      architecture: machine(),
      nanoCPUs: availableParallelism() * 1e9,
      memoryBytes: totalmem(),
      engineVersion: (await docker('version', '--format', '{{.Server.Version}}')).trim(),
      managerAddr: nodeJson.ManagerStatus.Addr,
    };
    assert.match(ours.managerAddr, /^127\.0\.0\.1:\d+$/);
    const refServices = JSON.parse(reference('services.json')) as { ID: string; Spec: { Name: string } }[];
    const refNode = (
      JSON.parse(reference('node.json')) as {
        ID: string;
        Description: { Hostname: string; Platform: { Architecture: string }; Resources: JsonObject };
      }[]
    )[0]!;
    theirs = {
      services: new Map(refServices.map((s) => [s.ID, s.Spec.Name])),
      node: refNode.ID,
      hostname: refNode.Description.Hostname,
      architecture: refNode.Description.Platform.Architecture,
      nanoCPUs: refNode.Description.Resources.NanoCPUs as number,
      memoryBytes: refNode.Description.Resources.MemoryBytes as number,
      engineVersion: reference('engine-version.txt').trim(),
      managerAddr: '127.0.0.1:2377',
    };
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  it('docker service inspect web job fails prints what Docker 20.10 printed', (t) => {
    t.diagnostic(`scenario played in ${scenarioSeconds.toFixed(1)} s`);
    const mine = normaliseJSON(JSON.parse(out.services) as Json, ours);
    const docker20 = normaliseJSON(JSON.parse(reference('services.json')) as Json, theirs);
    assert.equal(show(mine), show(docker20));
  });

  it('docker inspect of each task prints what Docker 20.10 printed', () => {
    const byKey = (text: string, facts: RunFacts): Map<string, JsonObject> => {
      const map = new Map<string, JsonObject>();
      for (const task of JSON.parse(text) as JsonObject[]) {
        const key = taskKey(task, facts);
        assert.ok(!map.has(key), `two tasks are ${key}`);
        map.set(key, normaliseJSON(task, facts) as JsonObject);
      }
      return map;
    };
    const mine = byKey(out.tasks, ours);
    const docker20 = byKey(reference('tasks.json'), theirs);
    const expectedKeys = [...docker20.keys()].filter((key) => !DELIBERATELY_ABSENT_TASKS.includes(key));
    assert.deepEqual([...mine.keys()].sort(), expectedKeys.sort(), 'the same tasks');
    for (const [key, task] of mine) {
      const theirTask = docker20.get(key)!;
      applyDeliberate(key, task, theirTask);
      assert.equal(show(task), show(theirTask), key);
    }
  });

  it('docker node inspect self prints what Docker 20.10 printed', () => {
    const mine = normaliseJSON(JSON.parse(out.node) as Json, ours) as JsonObject[];
    const docker20 = normaliseJSON(JSON.parse(reference('node.json')) as Json, theirs) as JsonObject[];
    applyDeliberate('node', mine[0]!, docker20[0]!);
    assert.equal(show(mine), show(docker20));
  });

  it('the --pretty pages are what Docker 20.10 printed, from docker and shoal alike', async () => {
    assert.equal(
      normalisePretty(out.serviceWebPretty, ours),
      normalisePretty(reference('service-web-pretty.txt'), theirs),
    );
    // The node page: the plugins and engine labels are the deliberate differences of the JSON.
    const deliberatePlugins = (page: string, expected: string | undefined): string => {
      const m = /^Plugins:\n((?: .*\n)*)/m.exec(page);
      assert.ok(m, `no plugins in\n${page}`);
      if (expected !== undefined) assert.equal(m[1], expected);
      return page.replace(m[0], `Plugins:\n${DELIBERATE('plugins')}\n`);
    };
    const engineLabels = 'Engine Labels:\n - shoal.executor=process\n';
    assert.ok(out.nodePretty.includes(engineLabels), out.nodePretty);
    const mine = deliberatePlugins(out.nodePretty.replace(engineLabels, ''), ' Log:\t\tjson-file\n');
    const docker20 = deliberatePlugins(reference('node-pretty.txt'), undefined);
    assert.equal(normalisePretty(mine, ours), normalisePretty(docker20, theirs));

    // The shoal CLI prints exactly what the docker CLI prints, --pretty or not.
    for (const args of [
      ['service', 'inspect', 'web', 'job', 'fails'],
      ['service', 'inspect', '--pretty', 'web'],
      ['node', 'inspect', 'self'],
      ['node', 'inspect', '--pretty', 'self'],
    ]) {
      const shoal = await daemon.cli(args);
      assert.equal(shoal.code, 0, shoal.stderr);
      assert.equal(shoal.stdout, await docker(...args), `shoal ${args.join(' ')}`);
    }
  });

  it('writes times with nanoseconds, as Docker does', () => {
    const times = [out.services, out.tasks, out.node].flatMap((text) => text.match(TIME) ?? []);
    assert.ok(times.length >= 20, `only ${times.length} times`);
    for (const time of times) {
      // RFC3339Nano as Go writes it (no trailing zeros) and with sub-millisecond digits: a real clock lands
      // on a whole millisecond once in a million.
      assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\d*[1-9]Z$/, time);
    }
    assert.match(out.nodePretty, /^Joined at: +\t\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{4,9} \+0000 utc$/m);
  });

  it("reports the node's certificate as Docker does: issued by the swarm's root CA", async () => {
    const node = (JSON.parse(out.node) as { Description: { TLSInfo: JsonObject } }[])[0]!;
    const swarmRoot = await docker('swarm', 'ca');
    assert.equal(node.Description.TLSInfo.TrustRoot, swarmRoot);
    const info = (await docker('info', '--format', '{{json .Swarm.Cluster.TLSInfo}}')).trim();
    assert.deepEqual(node.Description.TLSInfo, JSON.parse(info));
    // So its certificate needs no rotation, which `node ls` says as Docker's does.
    assert.equal(await docker('node', 'ls', '--format', '{{.TLSStatus}}'), 'Ready\n');
    const shoal = await daemon.cli(['node', 'ls', '--format', '{{.TLSStatus}}']);
    assert.equal(shoal.stdout, 'Ready\n', shoal.stderr);
  });

  it('answers the raw API with exactly the fields the docker CLI printed', async () => {
    // The docker CLI decodes services and nodes into its Go types and prints them again: a field shoal
    // sent that Docker's types do not have, or an empty one Docker's daemon would send, would not show in
    // its output. The raw answers (insertDefaults as `docker service inspect` asks) must hold the same.
    const services = JSON.parse(out.services) as JsonObject[];
    for (const service of services) {
      const raw = await daemon.apiOk<JsonObject>(
        'GET',
        `/v1.41/services/${String(service.ID)}?insertDefaults=true`,
      );
      assert.deepEqual(raw, service, String((service.Spec as JsonObject).Name));
    }
    const node = (JSON.parse(out.node) as JsonObject[])[0]!;
    assert.deepEqual(await daemon.apiOk<JsonObject>('GET', `/v1.41/nodes/${String(node.ID)}`), node);
  });

  it('shows a task removed while its process stops as Docker showed web.2', async () => {
    // Its processes ignore SIGTERM, as Docker's `sleep` did as PID 1 of its container; with a long grace
    // period the task that the scale-down removes stays in the state the recording caught web.2 in.
    await docker(
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      'stubborn',
      '--replicas',
      '2',
      '--stop-grace-period',
      '5m',
      'busybox:latest',
      'sh',
      '-c',
      'trap "" TERM; sleep 3600',
    );
    const id = (await docker('service', 'inspect', '--format', '{{.ID}}', 'stubborn')).trim();
    interface TaskRow {
      ID: string;
      DesiredState: string;
      Status: { State: string; ContainerStatus?: { ExitCode?: number } };
    }
    const tasks = (): Promise<TaskRow[]> =>
      daemon.apiOk<TaskRow[]>(
        'GET',
        `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { stubborn: true } }))}`,
      );
    await waitFor(tasks, {
      until: (ts) => ts.filter((task) => task.Status.State === 'running').length === 2,
      timeoutMs: 30_000,
      description: 'stubborn running',
    });
    await docker('service', 'scale', '-d', 'stubborn=1');
    const stopping = await waitFor(
      async () =>
        (await tasks()).find(
          (task) => task.DesiredState === 'remove' && task.Status.ContainerStatus?.ExitCode === -1,
        ),
      { timeoutMs: 30_000, description: 'the removed task to be stopping' },
    );
    assert.ok(stopping);

    const facts = { ...ours, services: new Map([...ours.services, [id, 'stubborn']]) };
    const mine = normaliseJSON(
      (JSON.parse(await docker('inspect', stopping.ID)) as Json[])[0]!,
      facts,
    ) as JsonObject;
    const web2 = (JSON.parse(reference('tasks.json')) as JsonObject[]).find(
      (task) => taskKey(task, theirs) === 'task web 2 remove running',
    )!;
    const docker20 = normaliseJSON(web2, theirs) as JsonObject;
    assert.equal(mine.ServiceID, '<service:stubborn>');
    assert.equal((mine.Status as JsonObject).State, 'running');
    // Its own service and command; the rest is compared.
    for (const task of [mine, docker20]) {
      task.ServiceID = '<service>';
      task.Spec = '<spec>';
    }
    assert.equal((mine.Status as JsonObject).Message, PROCESS_STARTED);
    mine.Status = { ...(mine.Status as JsonObject), Message: DELIBERATE('process executor message') };
    assert.equal((docker20.Status as JsonObject).Message, 'started');
    docker20.Status = { ...(docker20.Status as JsonObject), Message: DELIBERATE('process executor message') };
    assert.equal(show(mine), show(docker20));
  });
});
