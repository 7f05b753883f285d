// A swarm on etcd as a user starts it: `shoal swarm init --datastore etcd` on one shoald on loopback. The
// manager runs its own etcd member (mutual TLS, certificates from the swarm's CA) and keeps the cluster
// store in it; services, secrets and running tasks survive shoald being killed with SIGKILL and the member
// being killed with SIGKILL; secrets are sealed in etcd's files; `swarm leave --force` stops the member.
// What is not built yet stays refused: a second manager, promotion.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';

import { freePort, ShoalDaemon, waitFor, type CommandResult } from '../../harness/index.js';

const SECRET_VALUE = 'etcd-swarm-secret-value-9931';

function filesUnder(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) parts.push(readFileSync(path));
  }
  return Buffer.concat(parts);
}

function isRunning(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('a swarm on etcd', { timeout: 180_000 }, () => {
  let daemon: ShoalDaemon;
  let etcdDir: string;
  const shoal = (...args: string[]): Promise<CommandResult> => daemon.cli(args);
  const ok = async (...args: string[]): Promise<string> => {
    const result = await shoal(...args);
    assert.equal(result.code, 0, `shoal ${args.join(' ')}: ${result.stderr}`);
    return result.stdout;
  };
  const etcdPid = (): number => Number(readFileSync(join(etcdDir, 'etcd.pid'), 'utf8'));
  const runningTasks = async (service: string): Promise<string[]> =>
    (
      await ok(
        'service',
        'ps',
        service,
        '--filter',
        'desired-state=running',
        '--format',
        '{{.ID}} {{.CurrentState}}',
      )
    )
      .split('\n')
      .filter((line) => / Running /.test(line))
      .map((line) => line.split(' ')[0]!)
      .sort();

  before(async () => {
    daemon = ShoalDaemon.onLoopback({
      extraArgs: [
        '--etcd-client-port',
        String(await freePort()),
        '--etcd-peer-port',
        String(await freePort()),
      ],
    });
    await daemon.start();
    etcdDir = join(daemon.dataDir, 'swarm', 'etcd');
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  it('starts on etcd, and keeps services, secrets and running tasks across kill -9 of shoald and of etcd', async () => {
    const port = await freePort();
    await ok(
      'swarm',
      'init',
      '--datastore',
      'etcd',
      '--listen-addr',
      `127.0.0.1:${port}`,
      '--advertise-addr',
      '127.0.0.1',
    );
    assert.ok(isRunning(etcdPid()), 'the manager runs its etcd member');
    assert.equal(
      (await ok('info', '--format', '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')).trim(),
      'active true',
    );

    await ok('service', 'create', '--detach', '--name', 'web', '--replicas', '2', 'busybox', 'sleep', '3600');
    const secret = await daemon.cli(['secret', 'create', 'db-password', '-'], { input: SECRET_VALUE });
    assert.equal(secret.code, 0, secret.stderr);
    const tasks = await waitFor(() => runningTasks('web'), {
      until: (ids) => ids.length === 2,
      timeoutMs: 30_000,
    });

    // shoald killed with SIGKILL: its member is left running; the next shoald stops it and starts its own.
    const oldEtcd = etcdPid();
    await daemon.restart({ hard: true });
    await waitFor(
      () =>
        shoal('service', 'ls', '--format', '{{.Name}}').then(
          (r) => r.code === 0 && r.stdout.trim() === 'web',
        ),
      {
        timeoutMs: 30_000,
      },
    );
    assert.notEqual(etcdPid(), oldEtcd);
    assert.ok(!isRunning(oldEtcd), 'the member of the killed shoald was stopped');
    assert.equal((await ok('secret', 'ls', '--format', '{{.Name}}')).trim(), 'db-password');
    assert.deepEqual(
      await waitFor(() => runningTasks('web'), { until: (ids) => ids.length === 2 }),
      tasks,
      'the same tasks run',
    );

    // The member killed with SIGKILL: shoald starts it again, and the swarm takes writes within seconds.
    const killed = etcdPid();
    process.kill(killed, 'SIGKILL');
    const started = Date.now();
    await waitFor(
      async () => {
        const result = await shoal(
          'service',
          'create',
          '--detach',
          '--name',
          'after-etcd-kill',
          'busybox',
          'sleep',
          '3600',
        );
        return result.code === 0 || /already exists/.test(result.stderr);
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    assert.ok(Date.now() - started < 15_000, `writes resumed after ${Date.now() - started} ms`);
    assert.notEqual(etcdPid(), killed);
    assert.deepEqual(await runningTasks('web'), tasks, 'tasks undisturbed');

    // Secrets sealed in etcd's files (the secret's name, not sealed, is there: the grep would find it).
    const contents = filesUnder(join(etcdDir, 'data'));
    assert.ok(contents.includes('db-password'), 'control: the secret object is in etcd');
    for (const text of [SECRET_VALUE, Buffer.from(SECRET_VALUE).toString('base64')]) {
      assert.ok(!contents.includes(text), 'the secret value is in etcd’s files in clear');
    }
  });

  it('with its etcd member frozen: writes fail fast with Docker’s message, reads answer, tasks run; then it recovers by itself', async () => {
    const tasks = await runningTasks('web');
    const spec = (name: string) => ({
      Name: name,
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '3600'] } },
    });
    const pid = etcdPid();
    process.kill(pid, 'SIGSTOP');
    try {
      // Within its lease (1 s) the manager stops leading; from then on a write is refused at once.
      const refused = await waitFor(
        () => daemon.api('POST', '/v1.41/services/create', spec('during-freeze')),
        {
          until: (res) => res.status === 503,
          timeoutMs: 15_000,
          intervalMs: 200,
        },
      );
      assert.match(JSON.stringify(refused.body), /The swarm does not have a leader/);
      const started = Date.now();
      const again = await daemon.api('POST', '/v1.41/services/create', spec('during-freeze'));
      assert.equal(again.status, 503);
      assert.ok(Date.now() - started < 1_000, `a write took ${Date.now() - started} ms to fail`);
      const docker = await daemon.docker([
        'service',
        'create',
        '--detach',
        '--name',
        'during-freeze',
        'busybox',
        'sleep',
        '3600',
      ]);
      assert.notEqual(docker.code, 0);
      assert.match(
        docker.stderr,
        /The swarm does not have a leader\. It's possible that too few managers are online\./,
      );
      // Reads answer from the manager's copy of the state.
      assert.match(await ok('service', 'ls', '--format', '{{.Name}}'), /^web$/m);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // Back: the manager leads again and takes writes, with nobody doing anything.
    await waitFor(
      async () => (await daemon.api('POST', '/v1.41/services/create', spec('after-freeze'))).status === 201,
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    assert.equal(
      (await ok('service', 'ls', '--filter', 'name=during-freeze', '--format', '{{.Name}}')).trim(),
      '',
    );
    assert.deepEqual(
      await waitFor(() => runningTasks('web'), { until: (ids) => ids.length === 2 }),
      tasks,
      'the same tasks run',
    );
  });

  it('answers the docker CLI: the one manager is Leader, and demoting it is refused', async () => {
    // (Its own agent registers again shortly after the manager leads again, above.)
    const ls = await waitFor(
      () => daemon.docker(['node', 'ls', '--format', '{{.ManagerStatus}} {{.Status}}']),
      {
        until: (result) => result.stdout.trim() === 'Leader Ready',
        timeoutMs: 20_000,
      },
    );
    assert.equal(ls.code, 0, ls.stderr);
    const info = await daemon.docker(['info', '--format', '{{.Swarm.Managers}} {{.Swarm.ControlAvailable}}']);
    assert.equal(info.stdout.trim(), '1 true');
    const self = (await ok('info', '--format', '{{.Swarm.NodeID}}')).trim();
    const demote = await daemon.docker(['node', 'demote', self]);
    assert.notEqual(demote.code, 0);
    assert.match(demote.stderr, /attempting to demote the last manager of the swarm/);
  });

  it('swarm init --force-new-cluster (docker CLI) restarts the member as a cluster of its own, keeping the state', async () => {
    const tasks = await runningTasks('web');
    const before = etcdPid();
    const forced = await daemon.docker(['swarm', 'init', '--force-new-cluster']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(forced.stdout, /Swarm initialized: current node \(\w+\) is now a manager\./);
    assert.notEqual(etcdPid(), before, 'the member was started again');
    const log = readFileSync(daemon.logFile, 'utf8');
    assert.match(log, /forcing a new cluster from this manager's copy of the state/);
    assert.match(await ok('service', 'ls', '--format', '{{.Name}}'), /^web$/m);
    assert.equal((await ok('secret', 'ls', '--format', '{{.Name}}')).trim(), 'db-password');
    await ok('service', 'create', '--detach', '--name', 'after-force', 'busybox', 'sleep', '3600');
    assert.deepEqual(await waitFor(() => runningTasks('web'), { until: (ids) => ids.length === 2 }), tasks);
  });

  it('stops the member at swarm leave --force', async () => {
    const pid = etcdPid();
    await ok('swarm', 'leave', '--force');
    await waitFor(() => !isRunning(pid), { timeoutMs: 15_000 });
    assert.ok(!existsSync(etcdDir), 'the swarm directory, etcd data included, is gone');
  });
});
