// `shoal` as a user runs it against a real shoald, next to the real docker CLI against the same daemon:
// for the same command both must print the same thing (with `docker` read as `shoal` in command names).
// The daemon is one this test starts on loopback, or the one SHOAL_TEST_HOST (unix:///… or tcp://…)
// points at.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, ShoalDaemon } from '../harness/index.js';
import { freePort } from '../harness/ports.js';
import { comparable } from './support/relative-times.js';

let HOST = process.env.SHOAL_TEST_HOST;
let daemon: ShoalDaemon | undefined;
const SHOAL = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

interface Run {
  out: string;
  err: string;
  code: number;
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, err, code: code ?? -1 });
    });
  });
}

/** `shoal <args>` (through `node --`, as the bin's interpreter line does). */
const shoal = (...args: string[]): Promise<Run> =>
  run(process.execPath, ['--', SHOAL, '-H', HOST!, ...args], {});
/** The real docker CLI (a test dependency: dockerCli() throws when it is missing). */
const docker = (...args: string[]): Promise<Run> => run(dockerCli(), args, { DOCKER_HOST: HOST! });

/** Docker's text with its command names read as shoal's. */
function normalize(text: string): string {
  return text.replace(/docker (node|service|swarm|info|version)/g, 'shoal $1');
}

async function same(...args: string[]): Promise<Run> {
  const mine = await shoal(...args);
  const theirs = await docker(...args);
  assert.equal(...comparable(normalize(mine.out), normalize(theirs.out)), `stdout of ${args.join(' ')}`);
  assert.equal(...comparable(normalize(mine.err), normalize(theirs.err)), `stderr of ${args.join(' ')}`);
  assert.equal(mine.code, theirs.code, `exit code of ${args.join(' ')}`);
  return mine;
}

async function ok(...args: string[]): Promise<string> {
  const r = await shoal(...args);
  assert.equal(r.code, 0, `shoal ${args.join(' ')}: ${r.err}`);
  return r.out;
}

describe('shoal CLI against shoald', { timeout: 600_000 }, () => {
  const suffix = Date.now().toString(36);
  const web = `cliweb${suffix}`;
  const job = `clijob${suffix}`;

  before(async () => {
    dockerCli(); // the comparisons need the real docker CLI: fail here, at once, when it is missing
    if (!HOST) {
      daemon = ShoalDaemon.onLoopback();
      await daemon.start();
      HOST = `unix://${daemon.socketPath}`;
    }
    const info = await ok('info', '--format', '{{.Swarm.LocalNodeState}}');
    if (info.trim() === 'inactive') {
      const listen = `127.0.0.1:${await freePort()}`;
      const init = await ok('swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', listen);
      assert.match(init, /^Swarm initialized: current node \([0-9a-z]{25}\) is now a manager\.\n\n/);
      assert.match(init, /\n {4}shoal swarm join --token SWMTKN-1-\S+ \S+:\d+\n\n/);
    }
  });

  afterEach((t) => daemon?.reportOnFailure(t));
  after(async () => {
    if (HOST) await shoal('service', 'rm', web, job);
    await daemon?.destroy();
  });

  it('version and info describe the client and the swarm', async () => {
    const version = await ok('version');
    assert.match(version, /^Client:\n Version: +\S+\n API version: +1\.\d+/);
    assert.match(version, /\n\nServer: shoal\n Engine:\n {2}Version: +/);
    const info = await ok('info');
    for (const line of [
      ' Swarm: active',
      '  Is Manager: true',
      '  Managers: 1',
      '  Orchestration:',
      '  Raft:',
      '  Dispatcher:',
    ]) {
      assert.ok(info.includes(`\n${line}\n`), `info lacks ${JSON.stringify(line)}:\n${info}`);
    }
  });

  it('node ls, inspect and update print what docker prints', async () => {
    await same('node', 'ls');
    await same('node', 'ls', '-q');
    await same('node', 'ls', '--format', '{{.Hostname}} {{.Self}} {{.ManagerStatus}}');
    await same('node', 'inspect', '--pretty', 'self');
    await same('node', 'inspect', 'self');
    const id = (await ok('node', 'inspect', '--format', '{{.ID}}', 'self')).trim();
    assert.equal(await ok('node', 'update', '--label-add', 'clitest=yes', id), `${id}\n`);
    assert.equal(
      (await ok('node', 'inspect', '--format', '{{index .Spec.Labels "clitest"}}', 'self')).trim(),
      'yes',
    );
    assert.equal(await ok('node', 'update', '--label-rm', 'clitest', id), `${id}\n`);
    await same('node', 'update', '--label-rm', 'clitest', id);
    await same('node', 'inspect', 'nosuchnode');
  });

  it('service create converges with the progress display and shows in ls, ps, inspect', async () => {
    const created = await ok(
      'service',
      'create',
      '--name',
      web,
      '--replicas',
      '3',
      'busybox',
      'sleep',
      '3600',
    );
    const lines = created.split('\n');
    assert.match(lines[0]!, /^[0-9a-z]{25}$/);
    assert.deepEqual(lines.slice(1, 5), ['overall progress: 0 out of 3 tasks', '1/3:  ', '2/3:  ', '3/3:  ']);
    assert.ok(created.includes('overall progress: 3 out of 3 tasks\n'));
    assert.ok(created.includes('verify: Waiting 5 seconds to verify that tasks are stable...\n'));
    assert.ok(created.endsWith(`verify: Service ${lines[0]} converged\n`));
    assert.match(
      await ok('service', 'ls', '--filter', `name=${web}`),
      // Untagged images are sent as `:latest`, as the docker CLI sends them.
      new RegExp(`\\s${web}\\s+replicated\\s+3/3\\s+busybox:latest\\s`),
    );
    await same('service', 'ls');
    await same('service', 'ps', web);
    await same('service', 'ps', '--no-trunc', '-f', 'desired-state=running', web);
    await same('service', 'inspect', '--pretty', web);
    await same('service', 'inspect', web);
    await same('service', 'inspect', '--format', '{{.Spec.Name}} {{.Spec.Mode.Replicated.Replicas}}', web);
  });

  it('scale, update and rollback follow the service until it converges', async () => {
    const scaled = await ok('service', 'scale', `${web}=4`);
    assert.ok(scaled.startsWith(`${web} scaled to 4\noverall progress: `));
    assert.ok(scaled.endsWith(`verify: Service ${web} converged\n`));
    const updated = await ok('service', 'update', '--env-add', 'A=1', web);
    assert.ok(updated.startsWith(`${web}\n`));
    assert.ok(updated.endsWith(`verify: Service ${web} converged\n`));
    const env = await ok(
      'service',
      'inspect',
      '--format',
      '{{json .Spec.TaskTemplate.ContainerSpec.Env}}',
      web,
    );
    assert.equal(env, '["A=1"]\n');
    const rolled = await ok('service', 'rollback', web);
    assert.ok(rolled.startsWith(`${web}\n`));
    assert.ok(rolled.includes('rollback: manually requested rollback\n'), rolled);
    assert.ok(rolled.includes('overall progress: rolling back update: '));
    assert.equal(
      await ok('service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', web),
      'null\n',
    );
  });

  it("detached changes return at once with Docker's output", async () => {
    assert.equal(await ok('service', 'update', '-d', '--label-add', 'x=y', web), `${web}\n`);
    assert.equal(await ok('service', 'scale', '-d', `${web}=2`), `${web} scaled to 2\n`);
  });

  it('a service created by one CLI and scaled or updated by the other keeps its tasks', async () => {
    const running = async (name: string): Promise<string[]> => {
      const ids = await ok('service', 'ps', '-q', '-f', 'desired-state=running', name);
      return ids.trim().split('\n').filter(Boolean).sort();
    };
    const mixed = `climixed${suffix}`;
    // shoal creates from an untagged image, docker scales: Docker's client sends `busybox:latest`, and
    // so does shoal's, so the spec is unchanged and no task is replaced.
    await ok('service', 'create', '--name', mixed, '--no-resolve-image', 'busybox', 'sleep', '3600');
    const first = await running(mixed);
    assert.equal(first.length, 1);
    assert.equal(
      await ok('service', 'inspect', '--format', '{{.Spec.TaskTemplate.ContainerSpec.Image}}', mixed),
      'busybox:latest\n',
    );
    const scaled = await docker('service', 'scale', `${mixed}=2`);
    assert.equal(scaled.code, 0, scaled.err);
    const afterDocker = await running(mixed);
    assert.equal(afterDocker.length, 2);
    assert.ok(afterDocker.includes(first[0]!), 'the first task kept running');
    // And back: docker's label update, then shoal's scale.
    assert.equal((await docker('service', 'update', '-d', '--label-add', 'by=docker', mixed)).code, 0);
    await ok('service', 'scale', `${mixed}=3`);
    const afterShoal = await running(mixed);
    assert.equal(afterShoal.length, 3);
    for (const id of afterDocker) assert.ok(afterShoal.includes(id), `${id} kept running`);
    await ok('service', 'rm', mixed);
  });

  it('digest resolution prints what docker prints when the daemon cannot ask a registry', async () => {
    const [mine, theirs] = [`clidigest${suffix}`, `clidigestd${suffix}`];
    const byShoal = await shoal(
      'service',
      'create',
      '-d',
      '--name',
      mine,
      'registry.test:5000/busybox',
      'true',
    );
    assert.equal(byShoal.code, 0, byShoal.err);
    assert.equal(
      byShoal.err,
      'image registry.test:5000/busybox:latest could not be accessed on a registry to record\n' +
        'its digest. Each node will access registry.test:5000/busybox:latest independently,\n' +
        'possibly leading to different nodes running different\n' +
        'versions of the image.\n\n',
    );
    const byDocker = await docker(
      'service',
      'create',
      '-d',
      '--name',
      theirs,
      'registry.test:5000/busybox',
      'true',
    );
    assert.equal(byDocker.err, byShoal.err);
    const spec = async (name: string): Promise<string> =>
      (await ok('service', 'inspect', '--format', '{{json .Spec.TaskTemplate}}', name)).trim();
    assert.equal(await spec(mine), await spec(theirs), 'the same spec is stored');
    await ok('service', 'rm', theirs);
    await ok('service', 'rm', mine);
  });

  it('a replicated job ends with "job complete"', async () => {
    const out = await ok(
      'service',
      'create',
      '--name',
      job,
      '--mode',
      'replicated-job',
      '--replicas',
      '2',
      'busybox',
      'true',
    );
    assert.ok(out.includes('active tasks: '), out);
    assert.ok(out.endsWith('job complete\n'), out);
    assert.match(
      await ok('service', 'ls', '--filter', `name=${job}`),
      /replicated job\s+0\/\d+ \(2\/2 completed\)/,
    );
  });

  it('service logs and errors as Docker prints them', async () => {
    await same('service', 'logs', '--tail', '5', web);
    await same('service', 'logs', 'nosuchservice');
    await same('service', 'ps', 'nosuchservice');
    await same('service', 'inspect', 'nosuchservice');
    await same('service', 'scale', 'nosuchservice=2');
    await same('service', 'create', '--replicas', '-1', 'busybox');
    await same('service', 'update', '-d', '--mode', 'global', web);
  });

  it('swarm join-token, ca and update', async () => {
    const token = await ok('swarm', 'join-token', '-q', 'worker');
    assert.match(token, /^SWMTKN-1-\S+\n$/);
    await same('swarm', 'join-token', 'worker');
    await same('swarm', 'ca');
    assert.equal(await ok('swarm', 'update', '--task-history-limit', '5'), 'Swarm updated.\n');
    await same('swarm', 'unlock-key');
  });

  it('service rm removes the services', async () => {
    assert.equal(await ok('service', 'rm', web, job), `${web}\n${job}\n`);
    await same('service', 'rm', web);
  });
});

// What both CLIs send with --with-registry-auth and for digest resolution, byte for byte: a stub Engine API
// on a unix socket records every request (path, X-Registry-Auth, body) while the same commands run with the
// same config.json — auths for one registry, a credential helper for another, Docker Hub's index key.
describe('shoal CLI sends what docker sends for registries', { timeout: 120_000 }, () => {
  interface Recorded {
    method: string;
    url: string;
    auth: string | undefined;
    body: string;
  }
  const dir = mkdtempSync(join(tmpdir(), 'shoal-cli-registry-'));
  const socket = join(dir, 'stub.sock');
  const recorded: Recorded[] = [];
  const SERVICE = {
    ID: 'stubservice00000000000001',
    Version: { Index: 7 },
    CreatedAt: '2026-11-25T10:00:00.000000000Z',
    UpdatedAt: '2026-11-25T10:00:00.000000000Z',
    Spec: {
      Name: 'web',
      Labels: {},
      TaskTemplate: {
        ContainerSpec: {
          Image: 'helper.test/app',
          Args: ['sleep', '1'],
          Init: false,
          DNSConfig: {},
          Isolation: 'default',
        },
        Resources: { Limits: {}, Reservations: {} },
        Placement: {},
        ForceUpdate: 0,
        Runtime: 'container',
      },
      Mode: { Replicated: { Replicas: 1 } },
      EndpointSpec: { Mode: 'vip' },
    },
    PreviousSpec: {
      Name: 'web',
      TaskTemplate: { ContainerSpec: { Image: 'busybox:1' }, ForceUpdate: 0, Runtime: 'container' },
      Mode: { Replicated: { Replicas: 1 } },
    },
    Endpoint: { Spec: {} },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      if (url === '/_ping') {
        res.writeHead(200, { 'API-Version': '1.44', OSType: 'linux', 'Content-Length': '2' });
        res.end(req.method === 'HEAD' ? undefined : 'OK');
        return;
      }
      const header = req.headers['x-registry-auth'];
      recorded.push({
        method: req.method ?? '',
        url,
        auth: Array.isArray(header) ? header.join(',') : header,
        body: Buffer.concat(chunks).toString(),
      });
      const reply = (status: number, body: unknown): void => {
        const text = JSON.stringify(body) + '\n';
        res.writeHead(status, {
          'Content-Type': 'application/json',
          'Content-Length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (url.startsWith('/v1.44/distribution/')) reply(500, { message: 'no registry here' });
      else if (url === '/v1.44/services/create') reply(201, { ID: SERVICE.ID });
      else if (url.startsWith('/v1.44/services/web')) reply(200, SERVICE);
      else if (url.startsWith(`/v1.44/services/${SERVICE.ID}/update`)) reply(200, { Warnings: null });
      else reply(404, { message: 'page not found' });
    });
  });
  const configDir = join(dir, 'config');
  const binDir = join(dir, 'bin');

  before(async () => {
    mkdirSync(configDir);
    mkdirSync(binDir);
    const basic = (pair: string): string => Buffer.from(pair).toString('base64');
    writeFileSync(
      join(configDir, 'config.json'),
      JSON.stringify({
        auths: {
          'registry.test:5000': { auth: basic('alice:pa$$<w>rd') },
          'https://index.docker.io/v1/': { auth: basic('hubuser:hubpass'), email: 'hub@example.test' },
          'https://mirror.test:5001/v2/': { auth: basic('bob:builder') },
        },
        credHelpers: { 'helper.test': 'stubhelper', 'absent.test': 'absenthelper' },
      }),
    );
    const helper = join(binDir, 'docker-credential-stubhelper');
    writeFileSync(
      helper,
      '#!/bin/sh\nread server\necho "{\\"ServerURL\\":\\"$server\\",\\"Username\\":\\"carol\\",\\"Secret\\":\\"from-helper\\"}"\n',
    );
    chmodSync(helper, 0o755);
    await new Promise<void>((resolve) => server.listen(socket, resolve));
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  const commands: string[][] = [
    [
      'service',
      'create',
      '-d',
      '--with-registry-auth',
      '--name',
      'web',
      'registry.test:5000/busybox',
      'sleep',
      '1',
    ],
    ['service', 'create', '-d', '--with-registry-auth', 'busybox', 'true'],
    ['service', 'create', '-d', '--with-registry-auth', 'mirror.test:5001/app:2', 'true'],
    ['service', 'create', '-d', '--with-registry-auth', '--no-resolve-image', 'helper.test/app', 'true'],
    ['service', 'create', '-d', '--with-registry-auth', 'unknown.test/app@sha256:' + 'a'.repeat(64), 'true'],
    ['service', 'create', '-d', 'team/app', 'true'],
    ['service', 'create', '-d', '--with-registry-auth', 'Busybox', 'true'],
    ['service', 'create', '-d', '--with-registry-auth', 'absent.test/app', 'true'],
    ['service', 'update', '-d', '--with-registry-auth', '--image', 'registry.test:5000/busybox:2', 'web'],
    ['service', 'update', '-d', '--with-registry-auth', 'web'],
    ['service', 'update', '-d', '--env-add', 'A=1', 'web'],
    ['service', 'update', '-d', '--image', 'busybox', 'web'],
    ['service', 'scale', '-d', 'web=2'],
    ['service', 'rollback', '-d', 'web'],
  ];

  for (const command of commands) {
    it(command.join(' '), async () => {
      const env = { DOCKER_CONFIG: configDir, PATH: `${binDir}:${process.env.PATH ?? ''}` };
      const stub = `unix://${socket}`;
      recorded.length = 0;
      const theirs = await run('docker', command, { ...env, DOCKER_HOST: stub });
      const theirRequests = recorded.splice(0);
      const mine = await run(process.execPath, ['--', SHOAL, '-H', stub, ...command], env);
      const myRequests = recorded.splice(0);
      assert.equal(mine.err, theirs.err, 'stderr');
      assert.equal(mine.out, theirs.out, 'stdout');
      assert.equal(mine.code, theirs.code, 'exit code');
      assert.deepEqual(myRequests, theirRequests);
    });
  }
});
