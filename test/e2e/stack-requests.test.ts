// `shoal stack …` sends what `docker stack …` sends and prints what it prints: both CLIs run the same
// commands against one recording stub of the Engine API (a manager with no stack yet, where secrets and
// configs are found by name), for every example stack and every invalid file, and `stack config` is run
// for each example and for a set of tricky files with no daemon at all. Request bodies are compared byte
// for byte.
//
// What is allowed to differ, and why:
//   - the order of services: Docker iterates a Go map (random order); shoal goes by name;
//   - a few messages the docker CLI 28 on this machine words as CLI 28 did, where shoal follows the
//     semantics document's CLI 29 (`specify a Compose file`, `compose file contains unsupported options`,
//     `invalid option … for flag --resolve-image`): compared with the first letter's case ignored;
//   - `oom_score_adj`: Docker's decoder drops it (no mapstructure tag), shoal honours it (README of the
//     examples; architecture §11);
//   - the YAML library's wording of a syntax error (invalid/bad-yaml.yml).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { dockerCli } from '../harness/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const SHOAL = join(ROOT, 'dist/src/cli/main.js');

interface Recorded {
  method: string;
  url: string;
  auth: string | undefined;
  body: string;
}

interface Run {
  out: string;
  err: string;
  code: number;
}

function run(cmd: string, args: string[], env: Record<string, string>, cwd: string): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ out, err, code: code ?? -1 }));
  });
}

/** A manager with no stack: lists are empty, secrets and configs are created, or found by any name. */
class Stub {
  readonly recorded: Recorded[] = [];
  private server: Server | undefined;
  constructor(readonly socket: string) {}

  async start(): Promise<void> {
    const id = (name: string): string =>
      `id${Buffer.from(name).toString('hex').slice(0, 20).padEnd(23, '0')}`;
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = decodeURIComponent(req.url ?? '');
        const body = Buffer.concat(chunks).toString();
        if (url === '/_ping') {
          res.writeHead(200, { 'API-Version': '1.44', OSType: 'linux', 'Content-Length': '2' });
          res.end(req.method === 'HEAD' ? undefined : 'OK');
          return;
        }
        const auth = req.headers['x-registry-auth'];
        this.recorded.push({
          method: req.method ?? '',
          url,
          auth: Array.isArray(auth) ? auth.join() : auth,
          body,
        });
        const reply = (status: number, value: unknown): void => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(value) + '\n');
        };
        const path = url.replace(/^\/v1\.\d+/, '');
        const named = (): string => (JSON.parse(body) as { Name: string }).Name;
        if (path === '/info')
          return reply(200, { Swarm: { ControlAvailable: true, NodeID: 'n', LocalNodeState: 'active' } });
        if (path.startsWith('/networks?')) return reply(200, []);
        if (path === '/networks/create') return reply(201, { Id: id(named()), Warning: '' });
        const one = /^\/(secrets|configs)\/([^/?]+)$/.exec(path);
        if (one && req.method === 'GET')
          return reply(404, { message: `${one[1]!.slice(0, -1)} ${one[2]} not found` });
        if (/^\/(secrets|configs)\/create$/.test(path)) return reply(201, { ID: id(named()) });
        const list = /^\/(secrets|configs)\?filters=(.*)$/.exec(path);
        if (list) {
          const filter = JSON.parse(list[2]!) as { name?: Record<string, boolean> };
          return reply(
            200,
            Object.keys(filter.name ?? {}).map((name) => ({
              ID: id(name),
              Version: { Index: 1 },
              Spec: { Name: name },
            })),
          );
        }
        if (path.startsWith('/services?') || path.startsWith('/tasks?')) return reply(200, []);
        if (path.startsWith('/distribution/')) return reply(500, { message: 'no registry here' });
        if (path === '/services/create') return reply(201, { ID: id(named()) });
        reply(404, { message: 'page not found' });
      });
    });
    await new Promise<void>((r) => this.server!.listen(this.socket, r));
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
  }
}

/**
 * The requests with Docker's map order taken out: the calls for one object (a network's creation; a
 * secret's or config's lookup and creation or update; a service's digest query and creation or update;
 * one service's lookups of secrets and configs by name) form a unit, and a run of units of one kind is put
 * in a fixed order.
 */
function canonical(requests: readonly Recorded[]): Recorded[] {
  const units: { kind: string; key: string; requests: Recorded[] }[] = [];
  let pending: Recorded[] = [];
  for (const r of requests) {
    const path = r.url.replace(/^\/v1\.\d+/, '');
    const one = /^\/(secrets|configs)\/([^/?]+)$/.exec(path);
    if (r.method === 'GET' && (one || path.startsWith('/distribution/'))) {
      pending.push(r);
      continue;
    }
    let kind = 'other';
    let key = `${units.length}`;
    if (path === '/networks/create') [kind, key] = ['network', r.body];
    else if (/^\/(secrets|configs)\/(create|[^/]+\/update)$/.test(path))
      [kind, key] = ['object', pending[0]?.url ?? r.body];
    else if (/^\/services\/(create|[^/]+\/update)$/.test(path)) [kind, key] = ['service', r.body];
    else if (/^\/(secrets|configs)\?filters=/.test(path)) [kind, key] = ['lookup', r.url];
    units.push({ kind, key, requests: [...pending, r] });
    pending = [];
  }
  const out: Recorded[] = [];
  for (let i = 0; i < units.length;) {
    let j = i;
    while (j < units.length && units[j]!.kind === units[i]!.kind) j++;
    const run = units.slice(i, j);
    if (run[0]!.kind !== 'other') run.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const unit of run) out.push(...unit.requests);
    i = j;
  }
  return [...out, ...pending];
}

/** Output lines that name objects Docker handles in map order, sorted within each run of one kind. */
const sortedServiceLines = (text: string): string => {
  const lines = text.split('\n');
  const kindOf = (l: string): string | undefined =>
    /^(Creating|Updating) (network|secret|config|service) /.exec(l)?.[2];
  const out: string[] = [];
  for (let i = 0; i < lines.length;) {
    const kind = kindOf(lines[i]!);
    let j = i + 1;
    while (kind && j < lines.length && kindOf(lines[j]!) === kind) j++;
    const run = lines.slice(i, j);
    if (kind) run.sort();
    out.push(...run);
    i = j;
  }
  return out.join('\n');
};

const lowerFirst = (text: string): string => text.replace(/^[A-Z]/gm, (c) => c.toLowerCase());

describe('shoal stack sends and prints what docker stack does', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-stack-requests-'));
  const stacks = join(dir, 'stacks');
  const stub = new Stub(join(dir, 'stub.sock'));
  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    DOCKER_HOST: `unix://${stub.socket}`,
    DOCKER_CONFIG: join(dir, 'docker-config'),
    DOCKER_CLI_HINTS: 'false',
    ...extra,
  });
  const testEnv: Record<string, string> = {
    APP_TAG: '2.3.1',
    APP_PORT: '8088',
    APP_REPLICAS: '3',
    DEPLOY_REGION: 'eu-west',
    UNIT: 'hour',
    BUILD_ID: '20240611.3',
    LOG_LEVEL: '',
  };

  before(async () => {
    dockerCli();
    cpSync(join(ROOT, 'test/fixtures/stacks'), stacks, { recursive: true });
    await stub.start();
  });
  after(async () => {
    await stub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function both(args: string[], extraEnv: Record<string, string> = {}) {
    stub.recorded.length = 0;
    const theirs = await run(dockerCli(), args, env(extraEnv), stacks);
    const theirRequests = stub.recorded.splice(0);
    const mine = await run(process.execPath, ['--', SHOAL, ...args], env(extraEnv), stacks);
    const myRequests = stub.recorded.splice(0);
    return { mine, theirs, myRequests, theirRequests };
  }

  const deploys: [string, string[], Record<string, string>?][] = [
    ['web-worker-cache.yml', ['stack', 'deploy', '-c', 'web-worker-cache.yml', 'shop']],
    [
      'web-worker-cache.yml --resolve-image never',
      ['stack', 'deploy', '--resolve-image', 'never', '-c', 'web-worker-cache.yml', 'shop'],
    ],
    [
      'secrets-configs.yml',
      ['stack', 'deploy', '--resolve-image', 'never', '-c', 'secrets-configs.yml', 'billing'],
    ],
    ['interpolation.yml', ['stack', 'deploy', '-c', 'interpolation.yml', 'interp'], testEnv],
    [
      'merge-base.yml + merge-override.yml, with registry auth',
      ['stack', 'deploy', '--with-registry-auth', '-c', 'merge-base.yml,merge-override.yml', 'shop'],
    ],
    ['--prune', ['stack', 'deploy', '--prune', '-c', 'merge-base.yml', 'shop']],
    ['--detach=true given', ['stack', 'deploy', '-d', '-c', 'merge-base.yml', 'shop']],
    [
      'invalid/global-with-replicas.yml',
      ['stack', 'deploy', '-c', 'invalid/global-with-replicas.yml', 'demo'],
    ],
    ['invalid/undefined-network.yml', ['stack', 'deploy', '-c', 'invalid/undefined-network.yml', 'demo']],
    ['invalid/no-image.yml', ['stack', 'deploy', '-c', 'invalid/no-image.yml', 'demo']],
    ['invalid/unknown-key.yml', ['stack', 'deploy', '-c', 'invalid/unknown-key.yml', 'demo']],
    ['invalid/bad-duration.yml', ['stack', 'deploy', '-c', 'invalid/bad-duration.yml', 'demo']],
    ['invalid/cpus-number.yml', ['stack', 'deploy', '-c', 'invalid/cpus-number.yml', 'demo']],
    ['invalid/unquoted-version.yml', ['stack', 'deploy', '-c', 'invalid/unquoted-version.yml', 'demo']],
    ['invalid/unsupported-version.yml', ['stack', 'deploy', '-c', 'invalid/unsupported-version.yml', 'demo']],
    [
      'invalid/missing-required-var.yml',
      ['stack', 'deploy', '-c', 'invalid/missing-required-var.yml', 'demo'],
    ],
    ['invalid/lone-dollar.yml', ['stack', 'deploy', '-c', 'invalid/lone-dollar.yml', 'demo']],
    ['invalid/forbidden-key.yml', ['stack', 'deploy', '-c', 'invalid/forbidden-key.yml', 'demo']],
    [
      'invalid version mismatch',
      [
        'stack',
        'deploy',
        '-c',
        'invalid/version-mismatch-base.yml',
        '-c',
        'invalid/version-mismatch-override.yml',
        'demo',
      ],
    ],
    ['no file', ['stack', 'deploy', 'demo']],
    [
      'a bad --resolve-image',
      ['stack', 'deploy', '--resolve-image', 'sometimes', '-c', 'merge-base.yml', 'demo'],
    ],
    ['an empty stack name', ['stack', 'deploy', '-c', 'merge-base.yml', ' "" ']],
    ['a missing file', ['stack', 'deploy', '-c', 'nope.yml', 'demo']],
    ['stack ls', ['stack', 'ls']],
    ['stack services', ['stack', 'services', 'nosuch']],
    ['stack ps', ['stack', 'ps', 'nosuch']],
    ['stack rm', ['stack', 'rm', 'nosuch', 'other']],
  ];
  for (const [name, args, extraEnv] of deploys) {
    it(name, async () => {
      const { mine, theirs, myRequests, theirRequests } = await both(args, extraEnv);
      assert.equal(mine.code, theirs.code, `exit code; docker said: ${theirs.err}`);
      assert.equal(sortedServiceLines(mine.out), sortedServiceLines(theirs.out), 'stdout');
      assert.equal(lowerFirst(mine.err), lowerFirst(theirs.err), 'stderr');
      assert.deepEqual(canonical(myRequests), canonical(theirRequests));
    });
  }

  it('global-placement.yml: the same, but for oom_score_adj, which shoal honours', async () => {
    const { mine, theirs, myRequests, theirRequests } = await both([
      'stack',
      'deploy',
      '-c',
      'global-placement.yml',
      'ops',
    ]);
    assert.equal(mine.code, theirs.code);
    assert.equal(sortedServiceLines(mine.out), sortedServiceLines(theirs.out));
    const withoutOom = canonical(myRequests).map((r) => ({
      ...r,
      body: r.body.replace(',"OomScoreAdj":-200', ''),
    }));
    assert.deepEqual(withoutOom, canonical(theirRequests));
    assert.ok(myRequests.some((r) => r.body.includes('"OomScoreAdj":-200')));
  });

  it('invalid/bad-yaml.yml: a YAML error on the tab, before any request', async () => {
    const { mine, theirs, myRequests, theirRequests } = await both([
      'stack',
      'deploy',
      '-c',
      'invalid/bad-yaml.yml',
      'demo',
    ]);
    assert.equal(mine.code, theirs.code);
    assert.match(theirs.err, /^yaml: line \d+: /);
    assert.equal(mine.err, 'yaml: line 5: found character that cannot start any token\n');
    assert.deepEqual(
      myRequests.filter((r) => !r.url.endsWith('/_ping')),
      [],
    );
    assert.deepEqual(theirRequests, []);
  });

  describe('stack config', () => {
    const configs: [string, string[], Record<string, string>?][] = [
      ['web-worker-cache.yml', ['-c', 'web-worker-cache.yml']],
      ['secrets-configs.yml', ['-c', 'secrets-configs.yml']],
      ['interpolation.yml', ['-c', 'interpolation.yml'], testEnv],
      ['interpolation.yml --skip-interpolation', ['--skip-interpolation', '-c', 'interpolation.yml']],
      ['merge files', ['-c', 'merge-base.yml', '-c', 'merge-override.yml']],
    ];
    for (const [name, args, extraEnv] of configs) {
      it(name, async () => {
        const { mine, theirs } = await both(['stack', 'config', ...args], extraEnv);
        assert.equal(mine.code, theirs.code);
        assert.equal(mine.out, theirs.out);
        assert.equal(mine.err, theirs.err);
      });
    }

    // Files that reach the corners of the loader and of yaml.v3's writer.
    const tricky: Record<string, string> = {
      quoting: `version: "3.13"
services:
  a:
    image: busybox
    command: ["a: b", "#x", "*star", "- dash", "multi\\nline\\n", "trail ", "yes", "on", "1e3", "0x1F", "12:30", "null", "~", "", "é", "tab\\there", "2001-12-14", "-x", ":x", "x:", "a #b", "a#b", "'q'", "\\"dq\\""]
    environment: {E1: "", E2: null, E3: 4, E4: 1.10, E5: "true"}
    labels: ["a.b=", "c", "d=2024-06-11"]
    x-foo: {b: [1, 2.5, true, null], a: 0440}
    deploy:
      update_config: {max_failure_ratio: 0.1, delay: 90s, parallelism: 0}
      restart_policy: {delay: 1h30m, window: 1500ms}
    extra_hosts: ["somehost:162.242.195.82", "v6:[::1]"]
    ulimits: {nproc: 65535, nofile: {soft: 1, hard: 2}}
x-top: [a]
`,
      syntaxes: `version: "3.13"
services:
  a:
    image: busybox
    ports: [80, "8080:80", "127.0.0.1:9000:9000/udp", "9090-9091:8080-8081", "3000-3002:3000", {target: 22, published: 2222, mode: host}]
    volumes: [/data, "./rel:/rel:ro", "named:/named:nocopy", "/abs:/abs:rshared,z", {type: tmpfs, target: /t, tmpfs: {size: 1000}}]
    healthcheck: {test: curl -f http://localhost, retries: 0}
    entrypoint: sh -c 'echo "hi there" $$X'
    init: false
    stop_grace_period: 1m30s
    logging: {driver: json-file, options: {max-size: 10m}}
    sysctls: {net.core.somaxconn: 1024}
    cap_add: [ALL]
    dns: 8.8.8.8
    tmpfs: /run
    networks: {n1: {aliases: [x], ipv4_address: 10.0.0.2, driver_opts: {foo: 1}}}
    deploy: {mode: global, resources: {limits: {pids: 100, memory: 1.5G}}, placement: {max_replicas_per_node: 3}}
networks:
  n1: {driver: overlay, ipam: {driver: default, config: [{subnet: 10.0.0.0/24}]}, x-net: 1}
  ext: {external: {name: real}}
volumes:
  named: {driver_opts: {type: nfs}}
  ext: {external: true}
`,
      errors: `version: "3.3"
services:
  a:
    image: x
    healthcheck: {test: ["CMD"], interval: 10sec, timeout: 1x}
`,
    };
    for (const [name, text] of Object.entries(tricky)) {
      it(name, async () => {
        writeFileSync(join(stacks, `${name}.yml`), text);
        const { mine, theirs } = await both(['stack', 'config', '-c', `${name}.yml`]);
        assert.equal(mine.code, theirs.code, theirs.err);
        assert.equal(mine.out, theirs.out);
        // Warnings carry a time stamp.
        const untimed = (t: string): string => t.replace(/time="[^"]*"/g, 'time=""');
        assert.equal(untimed(mine.err), untimed(theirs.err));
      });
    }
  });
});
