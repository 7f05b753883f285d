// ShoalDaemon and TestCluster, exercised with a stand-in daemon (fixtures/fake-shoald.ts) that takes
// shoald's flags and starts a detached runner and task the way shoald does.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { after, afterEach, before, describe, it } from 'node:test';
import { TestCluster } from '../../harness/cluster.js';
import { Network } from '../../harness/netns.js';
import { isProcessAlive } from '../../harness/procs.js';
import { ApiError, DaemonStartError, ShoalDaemon } from '../../harness/shoald.js';
import { waitFor } from '../../harness/wait.js';
import { FAKE_SHOALD, PRINT_ENV } from './helpers.js';

interface FakeInfo {
  Name: string;
  pid: number;
  runnerPid: number;
}

describe('ShoalDaemon in a host', { timeout: 60_000 }, () => {
  let network: Network;
  before(async () => {
    network = await Network.create({ hosts: ['node-a', 'node-b'] });
  });
  after(() => network?.destroy());

  it('starts inside the host, answers the API on its socket, and logs to a file', async () => {
    const daemon = new ShoalDaemon(network.host('node-a'), { binary: FAKE_SHOALD, debug: true });
    await daemon.start();
    try {
      assert.equal(daemon.running, true);
      assert.match(daemon.socketPath, new RegExp(`^${daemon.dataDir}/`));
      const info = await daemon.apiOk<FakeInfo>('GET', '/info');
      assert.equal(info.Name, 'node-a', 'the daemon sees its host’s hostname');
      assert.equal(info.pid, daemon.pid);
      const ping = await daemon.api('GET', '/_ping');
      assert.deepEqual([ping.status, ping.text], [200, 'OK']);
      const missing = await daemon.api<{ message: string }>('GET', '/nope');
      assert.equal(missing.status, 404);
      assert.match(missing.body.message, /page not found/);
      await assert.rejects(
        daemon.apiOk('GET', '/nope'),
        (err: unknown) => err instanceof ApiError && err.status === 404,
      );
      assert.match(daemon.logs(), /harness: starting shoald/);
      assert.match(daemon.logs(), /fake shoald listening/);
      assert.match(daemon.logs(), /"debug":true/);
      assert.match(daemon.logTail(1), /last 1 of \d+ log lines/);
    } finally {
      await daemon.destroy();
    }
    assert.equal(existsSync(daemon.workDir), false);
  });

  it('stop() is graceful and leaves the runner; kill() kills the daemon only; killHost() kills them all', async () => {
    const host = network.host('node-b');
    const daemon = new ShoalDaemon(host, { binary: FAKE_SHOALD });
    await daemon.start();
    const { runnerPid } = await daemon.apiOk<FakeInfo>('GET', '/info');
    await waitFor(() => host.pids().length === 3, { description: 'daemon, runner and task' });

    await daemon.stop();
    assert.equal(daemon.running, false);
    assert.match(daemon.logs(), /shutting down/);
    assert.equal(isProcessAlive(runnerPid), true, 'the runner outlives a stopped daemon');

    await daemon.restart(); // on the same data dir
    const firstPid = daemon.pid!;
    await daemon.kill();
    assert.equal(isProcessAlive(firstPid), false);
    assert.equal(isProcessAlive(runnerPid), true, 'kill() is the daemon alone');

    await daemon.start();
    assert.ok(host.pids().length >= 4, 'the new daemon started another runner next to the old one');
    await daemon.killHost();
    assert.equal(daemon.running, false);
    assert.deepEqual(host.pids(), []);
    assert.equal(isProcessAlive(runnerPid), false);
    assert.equal(
      (daemon.logs().match(/harness: starting shoald/g) ?? []).length,
      3,
      'one log across restarts',
    );
  });

  it('reports a daemon that dies at start, with its log', async () => {
    const daemon = new ShoalDaemon(network.host('node-a'), {
      binary: FAKE_SHOALD,
      extraArgs: ['--exit-at-start'],
    });
    await assert.rejects(daemon.start(), (err: unknown) => {
      assert.ok(err instanceof DaemonStartError);
      assert.match(err.message, /exited \(code 3\) before answering \/_ping/);
      assert.match(err.message, /exiting at start, as asked/);
      return true;
    });
    assert.equal(daemon.running, false);
  });

  it('kills a daemon that ignores SIGTERM, and says so', async () => {
    const daemon = new ShoalDaemon(network.host('node-a'), {
      binary: FAKE_SHOALD,
      extraArgs: ['--ignore-sigterm'],
    });
    await daemon.start();
    await assert.rejects(daemon.stop(300), /did not stop within 300 ms of SIGTERM/);
    assert.equal(daemon.running, false);
    await daemon.destroy();
  });

  it('runs the real docker CLI and the shoal CLI against its socket', async () => {
    const daemon = new ShoalDaemon(network.host('node-a'), { binary: FAKE_SHOALD });
    await daemon.start();
    const docker = await daemon.docker(['version', '--format', '{{.Server.Version}}']);
    assert.deepEqual([docker.code, docker.stdout.trim()], [0, 'fake-shoald'], docker.stderr);

    process.env.SHOAL_CLI_ENTRY = PRINT_ENV; // the CLI's stand-in prints what it was given
    try {
      const cli = await daemon.cli(['node', 'ls'], { env: { PRINT_ENV_EXIT: '2' } });
      assert.equal(cli.code, 2);
      assert.deepEqual(JSON.parse(cli.stdout), {
        SHOAL_HOST: daemon.apiHost,
        DOCKER_HOST: daemon.apiHost,
        args: ['node', 'ls'],
      });
    } finally {
      delete process.env.SHOAL_CLI_ENTRY;
    }
    await daemon.destroy();
  });

  it('attaches the log tail to a failed test only', async () => {
    const daemon = new ShoalDaemon(network.host('node-a'), { binary: FAKE_SHOALD });
    await daemon.start();
    const seen: string[] = [];
    daemon.reportOnFailure({ passed: true, diagnostic: (m) => seen.push(m) });
    assert.equal(seen.length, 0);
    daemon.reportOnFailure({ passed: false, diagnostic: (m) => seen.push(m) });
    assert.equal(seen.length, 1);
    assert.match(seen[0]!, /shoald on node-a .*fake shoald listening/s);
    await daemon.destroy();
  });
});

describe('ShoalDaemon on loopback', { timeout: 30_000 }, () => {
  it('runs on this machine; killHost() takes its runner and task; destroy() cleans up', async () => {
    const daemon = ShoalDaemon.onLoopback({ binary: FAKE_SHOALD });
    try {
      await daemon.start();
      assert.equal(daemon.address, '127.0.0.1');
      const info = await daemon.apiOk<FakeInfo>('GET', '/info');
      assert.equal(info.Name, hostname());
      await daemon.killHost();
      assert.equal(daemon.running, false);
      assert.equal(isProcessAlive(info.runnerPid), false);
      await daemon.start();
    } finally {
      await daemon.destroy();
    }
    assert.equal(existsSync(daemon.workDir), false);
    assert.equal(daemon.running, false);
  });
});

describe('TestCluster (stand-in daemons)', { timeout: 60_000 }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.create({
      hosts: ['manager', 'worker1', 'worker2', 'worker3'],
      daemon: { binary: FAKE_SHOALD },
    });
  });
  afterEach((t) => cluster.reportOnFailure(t));
  after(() => cluster?.destroy());

  it('forms a 1-manager, 3-worker cluster over the network', async () => {
    const managerId = await cluster.init('manager');
    assert.equal(managerId, 'node-manager');
    assert.equal(cluster.manager, cluster.daemon(0));
    await cluster.join(['worker1', 'worker2', 'worker3']);
    const nodes = await cluster.waitForNodes({ count: 4 });
    assert.deepEqual(nodes.map((n) => n.Description?.Hostname).sort(), [
      'manager',
      'worker1',
      'worker2',
      'worker3',
    ]);

    // A bad token is refused, with the daemon's message.
    await assert.rejects(cluster.join('worker1', { token: 'SWMTKN-1-wrong' }), /join refused: refused/);

    // A worker whose link is cut cannot reach the manager: its join times out.
    await cluster.host('worker2').cutLink();
    await assert.rejects(cluster.join('worker2'), /join refused: no answer/);
    await cluster.host('worker2').restoreLink();
    await cluster.join('worker2');
  });
});
