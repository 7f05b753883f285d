// The process executor's files step, planned (src/agent/executor/process/mounts.ts): which mounts a task's
// secrets and configs need on a given host, where stand-ins replace directories, and what is refused.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSpawnCommand } from '../../../src/agent/executor/process/launch.js';
import {
  checkTargets,
  planMounts,
  type FileTarget,
  type PathKind,
} from '../../../src/agent/executor/process/mounts.js';

/** A host: these directories, and these other files. */
function host(dirs: string[], files: string[] = []): (path: string) => PathKind {
  const all = new Set(['/', ...dirs]);
  return (path) => (all.has(path) ? 'dir' : files.includes(path) ? 'other' : undefined);
}
const STAGE = '/data/process-executor/tasks/t1/files';
const secret = (target: string, name = 'db_pw'): FileTarget => ({ kind: 'secret', name, target });
const config = (target: string, name = 'app'): FileTarget => ({ kind: 'config', name, target });

/** The plan's operations, three words at a time. */
const ops = (words: string[]): string[] => {
  const lines: string[] = [];
  for (let i = 0; i < words.length; i += 3) lines.push(words.slice(i, i + 3).join(' '));
  return lines;
};

describe('planning the files step', () => {
  it('mounts the secrets directory over an existing /run/secrets and a config over an existing file', () => {
    const plan = planMounts(
      [secret('/run/secrets/db_pw'), secret('/run/secrets/a/b/c', 'deep'), config('/etc/hosts')],
      STAGE,
      host(['/run', '/run/secrets', '/etc'], ['/etc/hosts']),
    );
    assert.deepEqual(
      plan.files.map((f) => f.path),
      ['s/db_pw', 's/a/b/c', 'f/2'],
    );
    assert.deepEqual(plan.dirs, [
      { path: 's', mode: 0o755 },
      { path: 's/a', mode: 0o755 },
      { path: 's/a/b', mode: 0o755 },
      { path: 'f', mode: 0o700 },
    ]);
    assert.deepEqual(ops(plan.ops), [`ro ${STAGE}/f/2 /etc/hosts`, `ro ${STAGE}/s /run/secrets`]);
  });

  it('stands in for the nearest existing directory, once, and makes what is missing below it', () => {
    const plan = planMounts(
      [secret('/run/secrets/db_pw'), config('/etc/app.conf'), config('/etc/app/x/y.conf', 'y')],
      STAGE,
      host(['/run', '/etc', '/data']),
    );
    assert.deepEqual(ops(plan.ops), [
      `standin /etc ${STAGE}/n/0`,
      `rbind ${STAGE}/n/0 /etc`,
      'file /etc/app.conf -',
      `ro ${STAGE}/f/1 /etc/app.conf`,
      `standin /run ${STAGE}/n/1`,
      `rbind ${STAGE}/n/1 /run`,
      'dir /run/secrets -',
      `ro ${STAGE}/s /run/secrets`,
      'dir /etc/app -',
      'dir /etc/app/x -',
      'file /etc/app/x/y.conf -',
      `ro ${STAGE}/f/2 /etc/app/x/y.conf`,
    ]);
    assert.deepEqual(
      plan.dirs.map((d) => d.path),
      ['s', 'f', 'n'],
    );
  });

  it('stands in for / as the new root, reaching later paths through it, and drops its copy of the tmpfs', () => {
    const plan = planMounts([config('/app'), secret('/run/secrets/db_pw')], STAGE, host(['/run', '/data']));
    assert.deepEqual(ops(plan.ops), [
      `standin / ${STAGE}/n/0`,
      `detach ${STAGE}/n/0${STAGE} -`,
      `file ${STAGE}/n/0/app -`,
      `ro ${STAGE}/f/0 ${STAGE}/n/0/app`,
      `standin ${STAGE}/n/0/run ${STAGE}/n/1`,
      `rbind ${STAGE}/n/1 ${STAGE}/n/0/run`,
      `dir ${STAGE}/n/0/run/secrets -`,
      `ro ${STAGE}/s ${STAGE}/n/0/run/secrets`,
      `root ${STAGE}/n/0 -`,
    ]);
  });

  it('drops the copy of the tmpfs from a stand-in of a directory that holds it', () => {
    const plan = planMounts([config('/data/x.conf')], STAGE, host(['/data']));
    assert.deepEqual(ops(plan.ops).slice(0, 3), [
      `standin /data ${STAGE}/n/0`,
      `detach ${STAGE}/n/0/process-executor/tasks/t1/files -`,
      `rbind ${STAGE}/n/0 /data`,
    ]);
  });

  it('lets the launch run the step in a mount namespace of its own, and probes enter it', () => {
    const tools = { sh: '/bin/sh', unshare: '/usr/bin/unshare', nsenter: '/usr/bin/nsenter' };
    const spec = { argv: ['/bin/cat', '/run/secrets/x'], env: [], cwd: '/srv', mountNamespace: true };
    const words = [STAGE, '/srv', 'ro', `${STAGE}/s`, '/run/secrets'];
    const command = buildSpawnCommand(spec, { joinFiles: ['/cg/cgroup.procs'], fileMounts: words }, tools);
    assert.equal(command.file, '/usr/bin/unshare');
    assert.deepEqual(command.args.slice(0, 5), ['--mount', '--propagation', 'slave', '--', '/bin/sh']);
    assert.deepEqual(command.args.slice(-12), [
      'shoal-launch',
      '1',
      '/cg/cgroup.procs',
      '',
      '5',
      ...words,
      '/bin/cat',
      '/run/secrets/x',
    ]);
    const probe = buildSpawnCommand(
      { ...spec, hostname: 'h' },
      { joinFiles: [], enterNamespaceOf: 42 },
      tools,
    );
    assert.deepEqual(probe.args, [
      '--target=42',
      '--uts',
      '--mount',
      '--root',
      '--wd=/srv',
      '--',
      '/bin/cat',
      '/run/secrets/x',
    ]);
  });
});

describe('targets no mount can serve', () => {
  const refused = (files: FileTarget[], stat = host(['/etc', '/run'], ['/etc/passwd'])): string => {
    try {
      checkTargets(files, stat);
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };
  const NOT_A_DIRECTORY =
    'not a directory: Are you trying to mount a directory onto a file (or vice-versa)? Check if the specified host path exists and is the expected type';

  it("refuses / and existing directories with runc's text", () => {
    assert.equal(refused([config('/')]), `error mounting config "app" to rootfs at "/": ${NOT_A_DIRECTORY}`);
    assert.equal(
      refused([config('/etc')]),
      `error mounting config "app" to rootfs at "/etc": ${NOT_A_DIRECTORY}`,
    );
    assert.equal(
      refused([secret('/etc/passwd/x')]),
      `error mounting secret "db_pw" to rootfs at "/etc/passwd/x": ${NOT_A_DIRECTORY}`,
    );
  });

  it('refuses /proc and /sys as runc does', () => {
    assert.equal(
      refused([config('/proc/x')]),
      'error mounting config "app" to rootfs at "/proc/x": "/proc/x" cannot be mounted because it is inside /proc',
    );
    assert.equal(
      refused([config('/sys/kernel/x')]),
      'error mounting config "app" to rootfs at "/sys/kernel/x": open /sys/kernel/x: read-only file system',
    );
  });

  it('refuses two files at one target, and a file where another needs a directory', () => {
    assert.match(refused([config('/etc/x'), secret('/etc/x')]), /duplicate mount point: \/etc\/x$/);
    assert.match(
      refused([config('/etc/x'), config('/etc/x/y', 'y')]),
      /to rootfs at "\/etc\/x": not a directory/,
    );
    assert.match(
      refused([secret('/run/secrets'), secret('/run/secrets/a', 'a')]),
      /rootfs at "\/run\/secrets"/,
    );
  });

  it('takes the rest', () => {
    assert.equal(refused([config('/etc/new/dir/x'), secret('/run/secrets/a'), config('/etc/passwd')]), 'ok');
  });
});
