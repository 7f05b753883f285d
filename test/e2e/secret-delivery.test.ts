// Issue 11, items 3 and 4, as a new user tries them with the docker CLI, on both executors: the process
// executor (tasks run the host's `sh`, `cat` and `stat`) and the docker executor on a real Docker Engine
// (busybox's). A task reads its secret at /run/secrets and its configs at their targets with their modes
// (and a secret with its owner); a task of another service cannot, and its tmpfs mounts hold none of it; a
// golang template renders each task's slot and node; rotation the Swarm way gives new tasks the new value;
// bad input fails the task with Docker's words — but a failing secret template's error does not quote the
// template, which is the secret's data; and when it is over, nothing of the secrets is in the daemon's
// data dir or log (at debug level) — nor, on the docker executor, in a tmpfs left mounted.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { TASK_FILES_ROOT, taskFilesDir } from '../../src/agent/executor/docker/host-files.js';
import { EXECUTOR_DIR_NAME } from '../../src/agent/executor/process/paths.js';
import {
  dockerCli,
  dockerdMissing,
  eventually,
  machineTmpfsDevices,
  ShoalDaemon,
  TestDockerd,
  tmpfsFiles,
} from '../harness/index.js';
import { freePort } from '../harness/ports.js';

interface TaskRow {
  ID: string;
  Slot?: number;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { PID?: number } };
}

/** Every mount point of a process's mount namespace. */
const mountPoints = (pid: number | 'self'): string[] =>
  readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!);

/** Every regular file's bytes under `dir`, latin1 (sockets and the like skipped). */
function contents(dir: string): { path: string; text: string }[] {
  const found: { path: string; text: string }[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat?.isDirectory()) found.push(...contents(path));
    else if (stat?.isFile()) found.push({ path, text: readFileSync(path).toString('latin1') });
  }
  return found;
}

/** The pid of the process executor's task runner serving this data dir. */
function runnerPid(dataDir: string): number | undefined {
  const root = join(dataDir, EXECUTOR_DIR_NAME);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv.some((a) => a.endsWith('runner-main.js')) && argv[argv.indexOf('--root') + 1] === root)
        return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

function scenario(executor: 'process' | 'docker'): void {
  const VALUE = `s3cret-delivery-${executor}-7391`;
  const ROTATED = `r0tated-delivery-${executor}-2214`;
  const OTHER = `other-delivery-${executor}-5087`;
  /** A field a secret's template names, which Go's error would quote: the template is the secret's data. */
  const TEMPLATED = `TplDelivery${executor}9143`;
  const values = [VALUE, ROTATED, OTHER, TEMPLATED];
  const leaks = (text: string): string[] =>
    values.flatMap((v) => [v, Buffer.from(v).toString('base64')]).filter((needle) => text.includes(needle));

  let engine: TestDockerd | undefined;
  let daemon: ShoalDaemon;
  let hostname: string;

  before(async () => {
    dockerCli();
    const extraArgs: string[] = [];
    if (executor === 'docker') {
      engine = await TestDockerd.onLoopback();
      await engine.importBusybox();
      extraArgs.push('--executor', 'docker', '--engine-host', engine.apiHost);
    }
    daemon = ShoalDaemon.onLoopback({ debug: true, extraArgs });
    await daemon.start();
    await daemon.apiOk('POST', '/v1.41/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
    hostname = (await docker('node', 'inspect', 'self', '-f', '{{.Description.Hostname}}')).trim();
  });
  afterEach((t) => {
    daemon.reportOnFailure(t);
    if (engine && (t as { passed?: boolean }).passed === false) process.stderr.write(`${engine.logTail()}\n`);
  });
  after(async () => {
    await daemon?.destroy();
    await engine?.destroy();
  });

  async function docker(...args: string[]): Promise<string> {
    const { stdout, stderr, code } = await daemon.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  }
  async function create(
    name: string,
    input: string,
    kind: 'secret' | 'config',
    ...flags: string[]
  ): Promise<void> {
    const { code, stderr } = await daemon.docker([kind, 'create', ...flags, name, '-'], { input });
    assert.equal(code, 0, stderr);
  }
  const service = (name: string, flags: string[], command: string): Promise<string> =>
    docker(
      'service',
      'create',
      '-d',
      '--no-resolve-image',
      '--name',
      name,
      ...flags,
      'busybox',
      'sh',
      '-c',
      command,
    );
  const tasks = (name: string): Promise<TaskRow[]> =>
    daemon.apiOk<TaskRow[]>(
      'GET',
      `/v1.41/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [name]: true } }))}`,
    );
  /** The service's tasks that run, once `count` do. */
  async function running(name: string, count = 1): Promise<TaskRow[]> {
    return eventually(
      async () => {
        const rows = (await tasks(name)).filter(
          (t) => t.DesiredState === 'running' && t.Status.State === 'running',
        );
        assert.equal(rows.length, count, `running tasks of ${name}: ${JSON.stringify(await tasks(name))}`);
        return rows;
      },
      { timeoutMs: 60_000, description: `${count} running task(s) of ${name}` },
    );
  }
  /** What a task (or service) printed, once it has printed `expected`. */
  async function printed(ref: string, expected: RegExp): Promise<string> {
    return eventually(
      async () => {
        const out = await docker('service', 'logs', '--raw', ref);
        assert.match(out, expected);
        return out;
      },
      { timeoutMs: 30_000, description: `${ref} to print ${String(expected)}` },
    );
  }
  /** The error the service's (first) task failed with. */
  async function failure(name: string): Promise<string> {
    return eventually(
      async () => {
        const err = (await tasks(name)).find((t) => t.Status.Err)?.Status.Err;
        assert.ok(err, `no task of ${name} has failed yet`);
        return err;
      },
      { timeoutMs: 30_000, description: `a task of ${name} to fail` },
    );
  }

  it('a task reads its secret at /run/secrets; a task of another service cannot', async () => {
    await create('db_pw', VALUE, 'secret');
    await create('other_pw', OTHER, 'secret');
    await service('app', ['--secret', 'db_pw'], 'cat /run/secrets/db_pw; echo; sleep 1d');
    await service(
      'other',
      ['--secret', 'other_pw'],
      'ls /run/secrets; cat /run/secrets/db_pw 2>&1 || echo unreadable; sleep 1d',
    );
    const [app] = await running('app');
    const [other] = await running('other');
    assert.equal(await printed('app', new RegExp(VALUE)), `${VALUE}\n`);
    const out = await printed('other', /unreadable/);
    assert.match(out, /^other_pw\n.*No such file or directory\nunreadable\n$/);
    assert.ok(!out.includes(VALUE));
    // The other task's mount namespace has only its own secret.
    const otherPoints = mountPoints(other!.Status.ContainerStatus!.PID!);
    assert.ok(!otherPoints.includes('/run/secrets/db_pw'), 'no mount of db_pw in the other task');
    const appPoints = mountPoints(app!.Status.ContainerStatus!.PID!);
    assert.ok(
      appPoints.includes('/run/secrets') || appPoints.includes('/run/secrets/db_pw'),
      `the task's secret is mounted in its namespace: ${appPoints.join(' ')}`,
    );
    // What the tasks' memory-backed mounts hold, file by file (the machine's own, /dev/shm and the like,
    // aside): the value is in the app task's, and not in the other's.
    const tmpfsText = (pid: number): string =>
      tmpfsFiles(pid, machineTmpfsDevices(TASK_FILES_ROOT))
        .map((f) => f.text)
        .join('');
    assert.ok(tmpfsText(app!.Status.ContainerStatus!.PID!).includes(VALUE));
    const otherText = tmpfsText(other!.Status.ContainerStatus!.PID!);
    assert.ok(otherText.includes(OTHER), "the other task's own secret is in its tmpfs");
    assert.ok(!otherText.includes(VALUE), "the app's secret is not in the other task's tmpfs");
    if (executor === 'process') {
      // The host and the task runner have no mount of any task's files: they are in the tasks' namespaces.
      const runner = runnerPid(daemon.dataDir);
      assert.ok(runner, 'the task runner runs');
      for (const pid of ['self', runner] as const) {
        assert.ok(!mountPoints(pid).some((p) => p === '/run/secrets' || p.includes(EXECUTOR_DIR_NAME)));
      }
    }
  });

  it('a config is at its target with its mode, a secret with its owner and mode; a templated config renders each task’s slot and node', async () => {
    await create('app_conf', 'listen 80\n', 'config');
    await service(
      'conf',
      [
        '--config',
        'src=app_conf,target=/etc/app.conf,mode=0440',
        '--secret',
        'source=db_pw,target=owned.pw,uid=1000,gid=1001,mode=0400',
      ],
      'stat -c %a /etc/app.conf; cat /etc/app.conf; stat -c "%u %g %a" /run/secrets/owned.pw; sleep 1d',
    );
    await running('conf');
    assert.equal(await printed('conf', /listen 80\n\d/), '440\nlisten 80\n1000 1001 400\n');

    await create(
      'tpl',
      'slot={{.Task.Slot}} node={{.Node.Hostname}}\n',
      'config',
      '--template-driver',
      'golang',
    );
    await service(
      'tpl',
      ['--replicas', '2', '--config', 'source=tpl,target=/etc/tpl.conf'],
      'cat /etc/tpl.conf; sleep 1d',
    );
    await running('tpl', 2);
    const lines = (await printed('tpl', /slot=1[^]*slot=2|slot=2[^]*slot=1/)).trim().split('\n').sort();
    assert.deepEqual(lines, [`slot=1 node=${hostname}`, `slot=2 node=${hostname}`]);
  });

  it('rotation the Swarm way: the tasks are replaced and see the new value', async () => {
    await create('db_pw2', ROTATED, 'secret');
    const [before] = await running('app');
    await docker(
      'service',
      'update',
      '-d',
      '--secret-rm',
      'db_pw',
      '--secret-add',
      'source=db_pw2,target=db_pw',
      'app',
    );
    const [replacement] = await eventually(
      async () => {
        const rows = await running('app');
        assert.notEqual(rows[0]!.ID, before!.ID, 'the task was replaced');
        return rows;
      },
      { timeoutMs: 60_000, description: 'a new task of app' },
    );
    assert.equal(await printed(replacement!.ID, new RegExp(ROTATED)), `${ROTATED}\n`);
  });

  it('bad input fails the task with Docker’s words: a target no mount can serve, a template naming another secret; a failing secret template without its data', async () => {
    await service(
      'badtarget',
      ['--restart-condition', 'none', '--config', 'source=app_conf,target=/proc/x'],
      'true',
    );
    // runc's words (through the engine, or as the process executor says them), naming the path it refuses
    // (inside the container's root filesystem, on the docker executor).
    assert.match(
      await failure('badtarget'),
      /^(starting container failed: .*)?error mounting .* to rootfs at "\/proc\/x": "[^"]*\/proc\/x" cannot be mounted because it is inside \/proc(: unknown)?$/,
    );

    await create('badtpl', 'pw={{secret "db_pw"}}\n', 'config', '--template-driver', 'golang');
    await service(
      'badtpl',
      ['--restart-condition', 'none', '--config', 'source=badtpl,target=/etc/x.conf'],
      'true',
    );
    const config = (await docker('config', 'inspect', '-f', '{{.ID}}', 'badtpl')).trim();
    assert.equal(
      await failure('badtpl'),
      `unable to get config from config store: failed to expand templated config ${config}: template: expansion:1:5: ` +
        'executing "expansion" at <secret "db_pw">: error calling secret: secret target db_pw not found',
    );

    // A secret's template that fails: where, and not Go's message, which would quote the secret's data.
    await create('badsecret', `pw={{.Task.${TEMPLATED}}}`, 'secret', '--template-driver', 'golang');
    await service('badsecret', ['--restart-condition', 'none', '--secret', 'badsecret'], 'true');
    const secret = (await docker('secret', 'inspect', '-f', '{{.ID}}', 'badsecret')).trim();
    assert.match(
      await failure('badsecret'),
      new RegExp(
        `^unable to get secret from secret store: failed to expand templated secret ${secret}: ` +
          "template: expansion:1:\\d+: the template fails here \\(not shown: a secret's template is its data; the same template in a config shows why\\)$",
      ),
    );
    const ps = await docker('service', 'ps', '--no-trunc', 'badsecret');
    assert.match(ps, /the template fails here/);
    assert.deepEqual(leaks(ps), [], 'service ps');
    assert.deepEqual(
      leaks(await docker('inspect', '--type', 'task', (await tasks('badsecret'))[0]!.ID)),
      [],
      'the task inspected',
    );
  });

  it('leaves nothing of the secrets behind: not in the data dir or the log, and no tmpfs mounted', async () => {
    for (const name of ['app', 'other', 'conf', 'tpl', 'badtarget', 'badtpl', 'badsecret'])
      await docker('service', 'rm', name);
    await eventually(async () => assert.deepEqual(await daemon.apiOk<unknown[]>('GET', '/v1.41/tasks'), []), {
      timeoutMs: 60_000,
      description: 'every task removed',
    });
    await eventually(
      () => {
        const tasksDir = join(daemon.dataDir, EXECUTOR_DIR_NAME, 'tasks');
        assert.deepEqual(executor === 'process' ? readdirSync(tasksDir) : [], []);
        const points = mountPoints('self');
        assert.ok(!points.some((p) => p.startsWith(taskFilesDir(daemon.dataDir))), 'no tmpfs left mounted');
      },
      { timeoutMs: 30_000, description: "the tasks' files gone" },
    );
    assert.deepEqual(leaks(daemon.logs()), [], 'the daemon log (debug level)');
    for (const { path, text } of contents(daemon.dataDir)) assert.deepEqual(leaks(text), [], path);
    assert.deepEqual(contents(taskFilesDir(daemon.dataDir)), []);
  });
}

describe('secrets and configs delivered to tasks: the process executor', { timeout: 600_000 }, () => {
  scenario('process');
});

describe(
  'secrets and configs delivered to tasks: the docker executor',
  { timeout: 600_000, skip: dockerdMissing() },
  () => {
    scenario('docker');
  },
);
