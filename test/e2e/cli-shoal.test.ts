// `shoal` as a user runs it against a real shoald, next to the real docker CLI against the same daemon:
// for the same command both must print the same thing (with `docker` read as `shoal` in command names).
// The daemon is one this test starts on loopback, or the one SHOAL_TEST_HOST (unix:///… or tcp://…)
// points at.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, ShoalDaemon } from '../harness/index.js';
import { freePort } from '../harness/ports.js';

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

/** Docker's text with its command names read as shoal's, and relative times blurred. */
function normalize(text: string): string {
  return text
    .replace(/docker (node|service|swarm|info|version)/g, 'shoal $1')
    .replace(/(about an?|less than a|\d+) (second|minute|hour)s? ago/gi, '<time> ago');
}

async function same(...args: string[]): Promise<Run> {
  const mine = await shoal(...args);
  const theirs = await docker(...args);
  assert.equal(normalize(mine.out), normalize(theirs.out), `stdout of ${args.join(' ')}`);
  assert.equal(normalize(mine.err), normalize(theirs.err), `stderr of ${args.join(' ')}`);
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
      new RegExp(`\\s${web}\\s+replicated\\s+3/3\\s+busybox\\s`),
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
