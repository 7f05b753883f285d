import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildSpawnCommand, type LaunchTools } from '../../../src/agent/executor/process/launch.js';
import type { LaunchSpec } from '../../../src/agent/executor/process/protocol.js';

const tools: LaunchTools = {
  sh: '/bin/sh',
  unshare: '/usr/bin/unshare',
  nsenter: '/usr/bin/nsenter',
  setpriv: '/usr/bin/setpriv',
};
const spec = (overrides: Partial<LaunchSpec> = {}): LaunchSpec => ({
  argv: ['/usr/bin/sleep', '10'],
  env: ['PATH=/usr/bin'],
  cwd: '/',
  ...overrides,
});

describe('buildSpawnCommand', () => {
  it('execs the program directly when nothing has to happen first', () => {
    assert.deepEqual(buildSpawnCommand(spec(), { joinFiles: [] }, tools), {
      file: '/usr/bin/sleep',
      args: ['10'],
    });
  });

  it('joins the cgroups in a shell before exec, passing paths as arguments', () => {
    const command = buildSpawnCommand(
      spec(),
      { joinFiles: ['/cg/a/cgroup.procs', '/cg/b/cgroup.procs'] },
      tools,
    );
    assert.equal(command.file, '/bin/sh');
    assert.equal(command.args[0], '-c');
    assert.deepEqual(command.args.slice(2), [
      'shoal-launch',
      '2',
      '/cg/a/cgroup.procs',
      '/cg/b/cgroup.procs',
      '',
      '/usr/bin/sleep',
      '10',
    ]);
  });

  it('drops to the task’s user with setpriv, after the cgroup join', () => {
    const command = buildSpawnCommand(
      spec({ user: { uid: 65534, gid: 65534, groups: [] } }),
      { joinFiles: ['/cg/cgroup.procs'] },
      tools,
    );
    assert.deepEqual(command.args.slice(-8), [
      '',
      '/usr/bin/setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      '--',
      '/usr/bin/sleep',
      '10',
    ]);
    const withGroups = buildSpawnCommand(
      spec({ user: { uid: 1, gid: 2, groups: [3, 4] } }),
      { joinFiles: [] },
      tools,
    );
    assert.deepEqual(withGroups.args.slice(0, 4), ['--reuid=1', '--regid=2', '--groups=3,4', '--']);
  });

  it('gives a task with a hostname its own UTS namespace and sets the name inside it', () => {
    const command = buildSpawnCommand(spec({ hostname: 'web-1' }), { joinFiles: [] }, tools);
    assert.equal(command.file, '/usr/bin/unshare');
    assert.deepEqual(command.args.slice(0, 3), ['--uts', '--', '/bin/sh']);
    assert.deepEqual(command.args.slice(-4), ['0', 'web-1', '/usr/bin/sleep', '10']);
  });

  it('runs a probe inside the task’s UTS namespace instead of a new one', () => {
    const command = buildSpawnCommand(
      spec({ hostname: 'web-1' }),
      { joinFiles: [], enterNamespaceOf: 42 },
      tools,
    );
    assert.deepEqual(command, {
      file: '/usr/bin/nsenter',
      args: ['--target=42', '--uts', '--', '/usr/bin/sleep', '10'],
    });
  });

  it('explains a missing helper', () => {
    assert.throws(
      () =>
        buildSpawnCommand(
          spec({ user: { uid: 1, gid: 1, groups: [] } }),
          { joinFiles: [] },
          { sh: '/bin/sh' },
        ),
      /setpriv not found/,
    );
  });
});
