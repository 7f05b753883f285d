import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  describe('a task on networks', () => {
    const network = {
      netnsPath: '/run/netns/sh-abcdef-t-task1',
      hostsFile: '/data/network/tasks/task1/hosts',
      resolvConf: '/data/network/tasks/task1/resolv.conf',
      hostnameFile: '/data/network/tasks/task1/hostname',
    };
    const withMount = { ...tools, mount: '/usr/bin/mount' };

    it('enters its prepared network namespace, then gets UTS, IPC, mount (slave) and PID namespaces of its own', () => {
      const command = buildSpawnCommand(
        spec({ hostname: 'task1hostnam', network }),
        { joinFiles: ['/cg/cgroup.procs'] },
        withMount,
      );
      assert.equal(command.file, '/usr/bin/nsenter');
      const split = command.args.indexOf('/bin/sh');
      assert.deepEqual(command.args.slice(0, split), [
        '--net=/run/netns/sh-abcdef-t-task1',
        '--',
        '/usr/bin/unshare',
        '--uts',
        '--ipc',
        '--mount',
        '--propagation',
        'slave',
        '--pid',
        '--fork',
        '--kill-child',
        '--mount-proc',
        '--',
      ]);
      assert.deepEqual(command.args.slice(split + 3), [
        'shoal-launch',
        '1',
        '/cg/cgroup.procs',
        'task1hostnam',
        '3',
        '/usr/bin/mount',
        network.hostsFile,
        '/etc/hosts',
        network.resolvConf,
        '/etc/resolv.conf',
        network.hostnameFile,
        '/etc/hostname',
        '0', // no secrets or configs: the files step has no words
        '/usr/bin/sleep',
        '10',
      ]);
    });

    it('its script binds each file whose target exists, then execs the command', () => {
      // The script for real, with echo standing in for mount and no namespaces or cgroups.
      const command = buildSpawnCommand(
        spec({ argv: ['/bin/echo', 'ran'], network: { ...network, hostnameFile: '/h' } }),
        { joinFiles: [] },
        { ...tools, mount: '/bin/echo' },
      );
      const script = command.args.slice(command.args.indexOf('/bin/sh') + 1);
      // /etc/hostname may not exist here: point its bind at a target that surely does not.
      const targets = script.map((a) => (a === '/etc/hostname' ? '/nonexistent/hostname' : a));
      const out = execFileSync('/bin/sh', targets, { encoding: 'utf8' });
      assert.equal(
        out,
        `--bind ${network.hostsFile} /etc/hosts\n--bind ${network.resolvConf} /etc/resolv.conf\nran\n`,
      );
    });

    it('probes enter all of its namespaces, its PID namespace included', () => {
      const command = buildSpawnCommand(
        spec({ hostname: 'h', network }),
        { joinFiles: [], enterNamespaceOf: 42 },
        withMount,
      );
      assert.deepEqual(command, {
        file: '/usr/bin/nsenter',
        args: ['--target=42', '--net', '--uts', '--ipc', '--mount', '--pid', '--', '/usr/bin/sleep', '10'],
      });
    });

    it("probes are counted in the task's cgroups, joined on the host's side before nsenter", () => {
      const command = buildSpawnCommand(
        spec({ network }),
        { joinFiles: ['/sys/fs/cgroup/t/cgroup.procs'], enterNamespaceOf: 42 },
        withMount,
      );
      assert.equal(command.file, '/bin/sh');
      const [flag, script, name, count, file, hostname, ...rest] = command.args;
      assert.deepEqual(
        [flag, name, count, file, hostname],
        ['-c', 'shoal-launch', '1', '/sys/fs/cgroup/t/cgroup.procs', ''],
      );
      assert.match(script!, /echo 0 > "\$1"/);
      assert.deepEqual(rest.slice(0, 2), ['/usr/bin/nsenter', '--target=42']);
      // The script run for real, with a file standing in for cgroup.procs: the pid goes in, then nsenter runs.
      const dir = mkdtempSync(join(tmpdir(), 'probe-'));
      try {
        const procs = join(dir, 'cgroup.procs');
        const out = execFileSync(
          '/bin/sh',
          ['-c', script!, 'shoal-launch', '1', procs, '', '/bin/echo', 'then', 'nsenter'],
          { encoding: 'utf8' },
        );
        assert.equal(out, 'then nsenter\n');
        assert.equal(readFileSync(procs, 'utf8'), '0\n');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('with secrets or configs too: the files step after the binds, in the same mount namespace; probes chroot as it does', () => {
      const command = buildSpawnCommand(
        spec({ network, mountNamespace: true }),
        { joinFiles: [], fileMounts: ['/stage', '/', 'dir', '/run/secrets', ''] },
        withMount,
      );
      assert.equal(command.args.filter((a) => a === '--mount').length, 1, 'one mount namespace');
      assert.deepEqual(command.args.slice(-10), [
        network.hostnameFile,
        '/etc/hostname',
        '5',
        '/stage',
        '/',
        'dir',
        '/run/secrets',
        '',
        '/usr/bin/sleep',
        '10',
      ]);
      assert.throws(
        () => buildSpawnCommand(spec({ network, mountNamespace: true }), { joinFiles: [] }, withMount),
        /the mounts of the task's secrets and configs are missing/,
      );
      const probe = buildSpawnCommand(
        spec({ network, mountNamespace: true, cwd: '/srv' }),
        { joinFiles: [], enterNamespaceOf: 42 },
        withMount,
      );
      assert.deepEqual(probe.args.slice(0, 10), [
        '--target=42',
        '--net',
        '--uts',
        '--ipc',
        '--mount',
        '--pid',
        '--root',
        '--wd=/srv',
        '--',
        '/usr/bin/sleep',
      ]);
    });

    it('says what is missing without nsenter, unshare or mount', () => {
      assert.throws(
        () => buildSpawnCommand(spec({ network }), { joinFiles: [] }, { sh: '/bin/sh' }),
        /nsenter and unshare \(util-linux\) are needed to run a task on networks/,
      );
      assert.throws(
        () => buildSpawnCommand(spec({ network }), { joinFiles: [] }, tools),
        /mount \(util-linux\) is needed/,
      );
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
