// The multi-host harness's network: hosts reach each other, links cut like a real partition, killAll
// empties a host, and nothing is left behind — by destroy(), or by sweepStale() after a crashed run.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { createInterface } from 'node:readline';
import { networkClaimPath, utsFile } from '../../harness/cleanup.js';
import { run } from '../../harness/commands.js';
import { Network, sweepStale } from '../../harness/netns.js';
import { isProcessAlive } from '../../harness/procs.js';
import { waitFor } from '../../harness/wait.js';
import { CRASHING_RUN, FAKE_SHOALD, openSession, startEchoServer, tryConnect } from './helpers.js';

const netnsList = async (): Promise<string> => (await run('ip', ['netns', 'list'])).stdout;

describe('test network: hosts and links', { timeout: 60_000 }, () => {
  let network: Network;
  let echo: ChildProcess[] = [];
  before(async () => {
    network = await Network.create({ hosts: ['alpha', 'beta', 'gamma'] });
    echo = await Promise.all(network.hosts.map((host) => startEchoServer(host)));
  });
  after(async () => {
    for (const server of echo) server.kill('SIGKILL');
    await network?.destroy();
  });

  it('gives each host its address in 198.18.0.0/15, its hostname, and no route beyond its /24', async () => {
    assert.match(network.subnet, /^198\.(18|19)\.\d+\.0\/24$/);
    const [alpha, beta] = [network.host('alpha'), network.host('beta')];
    assert.notEqual(alpha.address, beta.address);
    assert.equal((await alpha.exec('hostname', [])).stdout.trim(), 'alpha');
    assert.equal((await beta.exec('hostname', [])).stdout.trim(), 'beta');
    assert.match(
      (await alpha.exec('ip', ['-o', '-4', 'addr', 'show', 'eth0'])).stdout,
      new RegExp(`${alpha.address}/24`),
    );
    const routes = (await alpha.exec('ip', ['-4', 'route'])).stdout.trim().split('\n');
    assert.deepEqual(
      routes.map((line) => line.split(' ')[0]),
      [network.subnet],
    );
  });

  it('lets hosts reach each other over TCP', async () => {
    const result = await tryConnect(network.host('alpha'), network.host('beta').address);
    assert.equal(result.outcome, 'echo');
  });

  it('makes connections time out, both ways, while a link is cut — and work again once restored', async () => {
    const [alpha, beta, gamma] = network.hosts;
    await beta.cutLink();
    try {
      assert.equal(beta.linkCut, true);
      const [toCut, fromCut, unaffected] = await Promise.all([
        tryConnect(alpha, beta.address, 600),
        tryConnect(beta, gamma.address, 600),
        tryConnect(alpha, gamma.address, 600),
      ]);
      // A timeout, not ECONNREFUSED (RST), EHOSTUNREACH (ARP failure) or EPERM (local firewall).
      assert.deepEqual([toCut.outcome, toCut.code], ['timeout', undefined]);
      assert.deepEqual([fromCut.outcome, fromCut.code], ['timeout', undefined]);
      assert.equal(unaffected.outcome, 'echo');
    } finally {
      await beta.restoreLink();
    }
    assert.equal(beta.linkCut, false);
    assert.equal((await tryConnect(alpha, beta.address)).outcome, 'echo');
  });

  it('stalls an established connection during a cut without resetting it', async () => {
    const [alpha, beta] = network.hosts;
    const session = openSession(alpha, beta.address);
    try {
      assert.equal(await session.next(2_000), 'connected');
      session.send('one');
      assert.equal(await session.next(2_000), 'data:one');
      await beta.cutLink();
      session.send('two');
      assert.equal(await session.next(700), 'none', 'nothing crosses a cut link, and nothing resets');
      await beta.restoreLink();
      // TCP retransmits with backoff (200 ms, 400 ms, 800 ms…), so the data crosses soon after.
      assert.equal(await session.next(5_000), 'data:two');
    } finally {
      session.close();
      await beta.restoreLink();
    }
  });

  it('partitions groups of hosts from each other only', async () => {
    const [alpha, beta, gamma] = network.hosts;
    await network.partition([alpha], [beta]);
    try {
      const [across, sideways] = await Promise.all([
        tryConnect(alpha, beta.address, 600),
        tryConnect(alpha, gamma.address, 600),
      ]);
      assert.equal(across.outcome, 'timeout');
      assert.equal(sideways.outcome, 'echo');
    } finally {
      await network.heal();
    }
    assert.equal((await tryConnect(alpha, beta.address)).outcome, 'echo');
  });

  it('killAll() kills every process in a host, detached grandchildren too, and nothing elsewhere', async () => {
    const gamma = network.host('gamma');
    // A process that starts a detached child (own session) which starts a grandchild.
    const tree = `
      const { spawn } = require('node:child_process');
      const grandchild = "require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' }); setInterval(() => {}, 1e9)";
      spawn(process.execPath, ['-e', grandchild], { detached: true, stdio: 'ignore' }).unref();
      setInterval(() => {}, 1e9);`;
    const parent = gamma.spawn(process.execPath, ['-e', tree], { stdio: 'ignore' });
    const exited = new Promise((resolve) => parent.once('exit', (_code, signal) => resolve(signal)));
    // The echo server, plus the tree's three processes.
    await waitFor(() => gamma.pids().length, {
      until: (n) => n >= 4,
      description: 'the process tree to start',
    });
    const alphaPids = network.host('alpha').pids();

    const killed = await gamma.killAll();
    assert.ok(killed >= 4, `killed ${killed}`);
    assert.deepEqual(gamma.pids(), []);
    assert.equal(await exited, 'SIGKILL');
    assert.deepEqual(network.host('alpha').pids(), alphaPids, "other hosts' processes are untouched");
    echo[2] = await startEchoServer(gamma); // for the tests after this one
  });
});

describe('test network: lifecycle', { timeout: 60_000 }, () => {
  it('destroy() kills processes and removes the namespaces, bridge, veths and files', async () => {
    const network = await Network.create({ hosts: 2 });
    const names = [network.switchNamespace, ...network.hosts.map((h) => h.namespace)];
    const sleeper = network
      .host(0)
      .spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    await waitFor(() => network.host(0).pids().length === 1, { description: 'the sleeper to start' });
    const before = await netnsList();
    for (const name of names) assert.match(before, new RegExp(`^${name}\\b`, 'm'));
    assert.match(
      (await network.inSwitch('ip', ['-o', 'link'])).stdout,
      new RegExp(`${network.bridgeName}.*\n.*shv`),
    );

    await network.destroy();

    const after = await netnsList();
    for (const name of names) assert.doesNotMatch(after, new RegExp(`^${name}\\b`, 'm'));
    assert.equal(isProcessAlive(sleeper.pid!), false);
    // Nothing ever lived in the machine's own namespace.
    assert.doesNotMatch((await run('ip', ['-o', 'link'])).stdout, /\bsh[bv]\d+/);
    assert.equal(existsSync(networkClaimPath(network.index)), false);
    for (const host of network.hosts) assert.equal(existsSync(utsFile(host.namespace)), false);
    assert.equal(network.destroyed, true);
    await network.destroy(); // idempotent
    await assert.rejects(network.addHost(), /destroyed/);
  });

  it('runs two networks at once on distinct subnets and names, isolated from each other', async (t) => {
    const [one, two] = await Promise.all([Network.create({ hosts: 2, t }), Network.create({ hosts: 2, t })]);
    assert.notEqual(one.subnet, two.subnet);
    assert.notEqual(one.bridgeName, two.bridgeName);
    assert.notEqual(one.host(0).namespace, two.host(0).namespace);
    await Promise.all([startEchoServer(one.host(1)), startEchoServer(two.host(1))]);
    assert.equal((await tryConnect(one.host(0), one.host(1).address)).outcome, 'echo');
    assert.equal((await tryConnect(two.host(0), two.host(1).address)).outcome, 'echo');
    // Another network's address is not even routable from here.
    const across = await tryConnect(one.host(0), two.host(1).address, 1_000);
    assert.deepEqual([across.outcome, across.code], ['error', 'ENETUNREACH']);
  });

  it('sweepStale() removes what a SIGKILLed run left — and nothing live', async (t) => {
    const live = await Network.create({ hosts: 1, t });
    const crashed = spawn(process.execPath, [CRASHING_RUN, FAKE_SHOALD], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: crashed.stdout! }).once('line', resolve);
      crashed.once('exit', (code) => reject(new Error(`crashing run exited early (${code})`)));
    });
    const left = JSON.parse(line) as { index: number; namespaces: string[]; pids: number[]; dirs: string[] };
    crashed.kill('SIGKILL');
    await new Promise((resolve) => crashed.once('exit', resolve));

    // What a crash leaves: namespaces, processes (in and out of them), data dirs, a claim.
    const leftovers = await netnsList();
    for (const name of left.namespaces) assert.match(leftovers, new RegExp(`^${name}\\b`, 'm'));
    for (const pid of left.pids) assert.equal(isProcessAlive(pid), true, `pid ${pid} outlived its run`);
    for (const dir of left.dirs) assert.equal(existsSync(dir), true);

    const report = sweepStale();
    assert.deepEqual(report.errors, []);
    assert.ok(report.networks.includes(left.index), `swept ${JSON.stringify(report)}`);

    const after = await netnsList();
    for (const name of left.namespaces) assert.doesNotMatch(after, new RegExp(`^${name}\\b`, 'm'));
    for (const pid of left.pids) assert.equal(isProcessAlive(pid), false, `pid ${pid} survived the sweep`);
    for (const dir of left.dirs) assert.equal(existsSync(dir), false, `${dir} survived the sweep`);
    assert.equal(existsSync(networkClaimPath(left.index)), false);
    // Our own live network is untouched.
    assert.match(after, new RegExp(`^${live.host(0).namespace}\\b`, 'm'));
    assert.equal(existsSync(networkClaimPath(live.index)), true);
  });

  it('creates five hosts quickly', async (t) => {
    const started = performance.now();
    const network = await Network.create({ hosts: 5, t });
    const created = performance.now() - started;
    const destroyStarted = performance.now();
    await network.destroy();
    const destroyed = performance.now() - destroyStarted;
    // Measured, not asserted (timing belongs to benchmarks): visible in the test report.
    t.diagnostic(`5 hosts created in ${created.toFixed(0)} ms, destroyed in ${destroyed.toFixed(0)} ms`);
  });
});
