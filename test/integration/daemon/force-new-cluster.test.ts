// `docker swarm init --force-new-cluster` on the manager of a swarm on the embedded store: as Docker's on a
// one-manager swarm, it succeeds and keeps everything (the swarm already is a one-manager cluster). On etcd:
// etcd-swarm.test.ts.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { freePort, ShoalDaemon } from '../../harness/index.js';

describe('swarm init --force-new-cluster on the embedded store', { timeout: 120_000 }, () => {
  let daemon: ShoalDaemon;

  before(async () => {
    daemon = ShoalDaemon.onLoopback();
    await daemon.start();
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(() => daemon?.destroy());

  it('succeeds on its manager and keeps services and the node ID', async () => {
    const init = await daemon.docker([
      'swarm',
      'init',
      '--listen-addr',
      `127.0.0.1:${await freePort()}`,
      '--advertise-addr',
      '127.0.0.1',
    ]);
    assert.equal(init.code, 0, init.stderr);
    const nodeId = (await daemon.docker(['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim();
    const created = await daemon.docker([
      'service',
      'create',
      '--detach',
      '--name',
      'kept',
      'busybox',
      'sleep',
      '3600',
    ]);
    assert.equal(created.code, 0, created.stderr);

    const forced = await daemon.docker(['swarm', 'init', '--force-new-cluster']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.match(
      forced.stdout,
      new RegExp(`Swarm initialized: current node \\(${nodeId}\\) is now a manager\\.`),
    );
    assert.equal((await daemon.docker(['service', 'ls', '--format', '{{.Name}}'])).stdout.trim(), 'kept');
    // Without the flag, init is refused as before.
    const again = await daemon.docker(['swarm', 'init']);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /This node is already part of a swarm/);
  });
});
