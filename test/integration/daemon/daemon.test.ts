// shoald as an operator runs it: one daemon per data directory and per socket, with clear errors
// otherwise; JSON-lines logs; a clean stop on SIGTERM and SIGINT that leaves tasks running.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, afterEach, before, describe, it } from 'node:test';
import { freePort, ShoalDaemon } from '../../harness/index.js';

const SHOALD = fileURLToPath(new URL('../../../src/daemon/main.js', import.meta.url));

/** Runs a second shoald to completion (it is expected to refuse to start). */
function runShoald(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SHOALD, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('shoald', { timeout: 120_000 }, () => {
  let daemon: ShoalDaemon;
  let scratch: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'shoald-test-'));
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    await daemon?.destroy();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('serves a root-only socket and logs JSON lines', () => {
    assert.equal(statSync(daemon.socketPath).mode & 0o777, 0o600);
    const lines = daemon.logs().trim().split('\n');
    assert.ok(lines.length > 0);
    for (const line of lines) {
      const entry = JSON.parse(line) as { time: string; level: string; msg: string };
      assert.ok(entry.time && entry.level && entry.msg, line);
    }
    assert.ok(lines.some((l) => (JSON.parse(l) as { msg: string }).msg === 'shoald started'));
  });

  it('refuses a second daemon on the same data directory', async () => {
    const res = await runShoald([
      '--data-dir',
      daemon.dataDir,
      '-H',
      `unix://${join(scratch, 'other.sock')}`,
    ]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /another shoald \(pid \d+\) is already using this data directory/);
  });

  it('refuses a second daemon on the same socket', async () => {
    const res = await runShoald(['--data-dir', join(scratch, 'data2'), '-H', `unix://${daemon.socketPath}`]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /another daemon is already listening on/);
    assert.ok(existsSync(daemon.socketPath), 'the first daemon keeps its socket');
    assert.equal((await daemon.api('GET', '/_ping')).status, 200);
  });

  it('stops cleanly on SIGTERM, leaving tasks running for the next start', async () => {
    await daemon.apiOk('POST', '/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
    await daemon.apiOk('POST', '/services/create', {
      Name: 'survivor',
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '3900'] } },
    });
    const runningTask = async (): Promise<
      { ID: string; Status: { State: string; ContainerStatus?: { PID?: number } } }[]
    > =>
      (
        await daemon.apiOk<{ ID: string; Status: { State: string; ContainerStatus?: { PID?: number } } }[]>(
          'GET',
          '/tasks',
        )
      ).filter((t) => t.Status.State === 'running');
    const deadline = Date.now() + 20_000;
    while ((await runningTask()).length === 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    const [task] = await runningTask();
    assert.ok(task, 'the task runs');
    await daemon.stop();
    assert.match(daemon.logs(), /"msg":"shoald stopped"/);
    assert.ok(!existsSync(join(daemon.dataDir, 'shoald.pid')), 'the PID file is removed');
    assert.doesNotThrow(
      () => process.kill(task.Status.ContainerStatus!.PID!, 0),
      'the task process still runs',
    );
    await daemon.start();
    const [again] = await runningTask();
    assert.equal(again?.ID, task.ID, 'the same task, re-adopted');
  });
});
