// The process executor's secrets and configs (issue 11, item 3): each task runs in a mount namespace of its
// own where its files are — a tmpfs at /run/secrets, configs bound read-only at their targets — with the
// references' owners and modes; other tasks, the runner and the host see none of it, the host's files are
// not changed, and a target no mount can serve is refused with Docker's words.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigAssignment, SecretAssignment } from '../../../src/api/dispatcher.js';
import type { ContainerSpec, Task } from '../../../src/api/types.js';
import { DependencyStore } from '../../../src/agent/dependencies.js';
import type { Controller } from '../../../src/agent/executor/executor.js';
import { EXECUTOR_DIR_NAME } from '../../../src/agent/executor/process/paths.js';
import { collectLogs, harness, makeTask, outcome, run, text, waitFor, type Harness } from './helpers.js';

const VALUE = 'proc-exec-s3cret-5521';
const b64 = (data: string): string => Buffer.from(data).toString('base64');
const root = process.getuid?.() === 0;

/** Every mount point of a process's namespace. */
function mountPoints(pid: number | 'self'): string[] {
  return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4]!);
}

/** The runner's pid, from the executor. */
async function runnerPid(h: Harness): Promise<number> {
  return (await h.executor.runnerInfo()).pid;
}

describe('process executor: secrets and configs', { timeout: 120_000, skip: !root && 'needs root' }, () => {
  let h: Harness;
  const deps = new DependencyStore();
  const secrets: SecretAssignment[] = [
    { ID: 's1', Name: 'db_pw', Data: b64(VALUE) },
    { ID: 's2', Name: 'other', Data: b64('other-task-value') },
    {
      ID: 's3',
      Name: 'tsec',
      Data: b64('slot={{.Task.Slot}} host={{.Node.Hostname}}'),
      Templating: { Name: 'golang' },
    },
  ];
  const configs: ConfigAssignment[] = [
    { ID: 'c1', Name: 'app', Data: b64('listen 80\n') },
    { ID: 'c2', Name: 'bad', Data: b64('{{secret "other"}}'), Templating: { Name: 'golang' } },
  ];
  before(() => {
    h = harness();
    for (const secret of secrets) deps.updateSecret(secret);
    for (const config of configs) deps.updateConfig(config);
    deps.completed();
  });
  after(() => h.cleanup());

  /** A task using these secrets (ID, target, mode) and configs. */
  function task(
    command: string,
    refs: { secrets?: [string, string, number?][]; configs?: [string, string, number?][] },
    extra: ContainerSpec = {},
  ): Task {
    return makeTask({
      Command: ['sh', '-c', command],
      Secrets: (refs.secrets ?? []).map(([id, target, mode]) => ({
        SecretID: id,
        SecretName: secrets.find((s) => s.ID === id)?.Name ?? id,
        File: { Name: target, UID: '0', GID: '0', Mode: mode ?? 0o444 },
      })),
      Configs: (refs.configs ?? []).map(([id, target, mode]) => ({
        ConfigID: id,
        ConfigName: configs.find((c) => c.ID === id)?.Name ?? id,
        File: { Name: target, UID: '0', GID: '0', Mode: mode ?? 0o444 },
      })),
      ...extra,
    });
  }
  const controller = (t: Task): Controller => h.executor.controller(t, deps.restrict(t));
  /** Runs the task to its end; its output. The task is removed (its log with it). */
  async function output(t: Task): Promise<string> {
    const c = controller(t);
    await run(c);
    const ended = await outcome(c.wait());
    const out = text(await collectLogs(c)).join('');
    await c.remove();
    assert.equal(ended.message, 'ok', out);
    return out;
  }

  it('shows the task its secret at /run/secrets and its config at its target, with their modes', async () => {
    const out = await output(
      task(
        'cat /run/secrets/db_pw; echo; cat /etc/app.conf; stat -c "%a %u %g %n" /run/secrets /run/secrets/db_pw /etc/app.conf',
        {
          secrets: [['s1', 'db_pw']],
          configs: [['c1', '/etc/app.conf', 0o440]],
        },
      ),
    );
    assert.equal(
      out,
      `${VALUE}\nlisten 80\n755 0 0 /run/secrets\n444 0 0 /run/secrets/db_pw\n440 0 0 /etc/app.conf\n`,
    );
    assert.ok(!existsSync('/etc/app.conf'), "the host's /etc is unchanged");
    assert.ok(!existsSync('/run/secrets/db_pw'), "the host's /run is unchanged");
  });

  it('keeps the rest of a stood-in directory as the host has it', async () => {
    const out = await output(
      task('cat /etc/hostname; ls -A /etc | wc -l', { configs: [['c1', '/etc/app.conf']] }),
    );
    const [hostname, count] = out.trim().split('\n');
    assert.equal(hostname, readFileSync('/etc/hostname', 'utf8').trim());
    assert.equal(Number(count), readdirSync('/etc').length + 1);
  });

  it("places a config at Docker's default target below /, the task rooted in a stand-in of /", async () => {
    const out = await output(
      task('pwd; cat /app; ls -A / | grep -c .', { configs: [['c1', 'app']] }, { Dir: '/tmp' }),
    );
    const [cwd, content, entries] = out.split('\n');
    assert.equal(cwd, '/tmp');
    assert.equal(content, 'listen 80');
    assert.equal(Number(entries), readdirSync('/').length + 1);
    assert.ok(!existsSync('/app'));
  });

  it("renders a templated secret for the task, and gives it the reference's owner", async () => {
    const t = task('cat /run/secrets/a/b/tsec; echo; stat -c "%a %u %g" /run/secrets/a/b/tsec', {
      secrets: [['s3', 'a/b/tsec', 0o400]],
    });
    t.Spec.ContainerSpec!.Secrets![0]!.File!.UID = '1000';
    t.Spec.ContainerSpec!.Secrets![0]!.File!.GID = '1001';
    t.Slot = 4;
    const out = await output(t);
    assert.match(out, /^slot=4 host=\S+\n400 1000 1001\n$/);
  });

  it('lets a task read only its own secrets: another task has no such file, and the host and runner no mount', async () => {
    const holder = controller(task('sleep 30', { secrets: [['s1', 'db_pw']] }));
    await run(holder);
    const pid = holder.containerStatus().PID!;
    assert.ok(mountPoints(pid).includes('/run/secrets'), "the task's namespace has /run/secrets");
    const other = await output(
      task('ls /run/secrets 2>&1; cat /run/secrets/db_pw 2>&1; true', { secrets: [['s2', 'other']] }),
    );
    assert.equal(other, 'other\ncat: /run/secrets/db_pw: No such file or directory\n');
    const plain = await output(task('cat /run/secrets/db_pw 2>&1; true', {}));
    assert.match(plain, /No such file or directory/);
    for (const where of ['self', await runnerPid(h)] as const) {
      const points = mountPoints(where);
      assert.ok(!points.includes('/run/secrets'), `${where}: no /run/secrets mount`);
      assert.ok(!points.some((p) => p.includes(EXECUTOR_DIR_NAME)), `${where}: no tmpfs of a task`);
    }
    // Nothing of it on disk: not in the task's folder (its tmpfs's mount point is empty there), nor anywhere
    // in the data dir.
    const all = (dir: string): string =>
      readdirSync(dir)
        .map((name) => join(dir, name))
        .map((path) => {
          const stat = statSync(path);
          return stat.isDirectory() ? all(path) : stat.isFile() ? readFileSync(path, 'latin1') : '';
        })
        .join('');
    assert.ok(!all(h.dataDir).includes(VALUE));
    assert.ok(!all(h.dataDir).includes(b64(VALUE)));
    await holder.shutdown();
    await holder.remove();
  });

  it('runs health probes inside the task’s mount namespace', async () => {
    const c = controller(
      task(
        'sleep 30',
        { secrets: [['s1', 'db_pw']] },
        {
          Healthcheck: { Test: ['CMD', 'test', '-f', '/run/secrets/db_pw'], Interval: 100e6, Retries: 1 },
        },
      ),
    );
    await run(c);
    await waitFor(() => c.health()?.Status === 'healthy', 10_000, 'the probe to find the secret');
    await c.shutdown();
    await c.remove();
  });

  it("refuses targets no mount can serve, with runc's words as Docker shows them", async () => {
    const refused = async (refs: Parameters<typeof task>[1]): Promise<string> =>
      (await outcome(controller(task('true', refs)).prepare())).message;
    assert.equal(
      await refused({ configs: [['c1', '/proc/x']] }),
      'error mounting config "app" to rootfs at "/proc/x": "/proc/x" cannot be mounted because it is inside /proc',
    );
    assert.equal(
      await refused({ configs: [['c1', '/etc']] }),
      'error mounting config "app" to rootfs at "/etc": not a directory: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type',
    );
    assert.match(await refused({ secrets: [['s1', '/sys/x']] }), /read-only file system$/);
  });

  it("refuses a template that names a secret the task does not reference, with Docker's text", async () => {
    const result = await outcome(controller(task('true', { configs: [['c2', '/x.conf']] })).prepare());
    assert.equal(
      result.message,
      'unable to get config from config store: failed to expand templated config c2: template: expansion:1:2: ' +
        'executing "expansion" at <secret "other">: error calling secret: secret target other not found',
    );
    assert.ok(!result.message.includes('other-task-value'));
  });
});
