// The harness's test dockerd: started in a namespace of its own (loopback) or in a test host, with its
// own state, a busybox image, and nothing left behind when it is destroyed — its containers included.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cgroupTreeDirs, pidsInCgroupTree } from '../../harness/cgroups.js';
import { dockerdMissing, Network, TestDockerd } from '../../harness/index.js';
import { pidsUsingDir } from '../../harness/procs.js';

function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(dir));
}

describe('test dockerd', { timeout: 180_000, skip: dockerdMissing() }, () => {
  const engines: TestDockerd[] = [];
  after(async () => {
    for (const engine of engines) await engine.destroy();
  });

  it('runs containers from an imported busybox, and leaves nothing when destroyed', async () => {
    const engine = await TestDockerd.onLoopback();
    engines.push(engine);
    await engine.importBusybox(['busybox:latest', 'busybox:2']);
    const run = await engine.docker(['run', '-d', '--name', 'probe', 'busybox:2', 'sleep', '1000']);
    assert.equal(run.code, 0, run.stderr);
    const hostname = await engine.docker([
      'run',
      '--rm',
      'busybox',
      'sh',
      '-c',
      'hostname; ls /bin/sh; id -u nobody',
    ]);
    assert.equal(hostname.code, 0, hostname.stderr);
    assert.match(hostname.stdout, /\/bin\/sh\n65534\n$/);
    assert.ok(pidsInCgroupTree(engine.cgroupParent).length > 0, 'the container runs in the engine’s cgroup');
    assert.ok(mountsBelow(engine.workDir).length > 0);

    await engine.destroy();
    assert.deepEqual(pidsInCgroupTree(engine.cgroupParent), []);
    assert.deepEqual(cgroupTreeDirs(engine.cgroupParent), []);
    assert.deepEqual(pidsUsingDir(engine.workDir), []);
    assert.deepEqual(mountsBelow(engine.workDir), []);
    assert.equal(existsSync(engine.workDir), false);
  });

  it('runs in a test host with its hostname, and stops and starts again on the same state', async () => {
    const network = await Network.create({ hosts: ['node-a'] });
    after(() => network.destroy());
    const engine = await TestDockerd.onHost(network.host('node-a'));
    engines.push(engine);
    await engine.importBusybox();
    const info = await engine.api<{ Name: string }>('GET', '/info');
    assert.equal(info.body.Name, 'node-a');
    assert.equal((await engine.docker(['create', '--name', 'kept', 'busybox', 'true'])).code, 0);
    await engine.stop();
    assert.equal(engine.running, false);
    await engine.start();
    const names = (await engine.containers()).map((c) => c.Names[0]);
    assert.deepEqual(names, ['/kept']);
    assert.ok(existsSync(join(engine.workDir, 'data')));
  });
});
