// A swarm on etcd with workers, each a host (network namespace) of its own, driven by the real docker CLI:
// workers join and run tasks as on the embedded store; the manager's etcd member, killed with SIGKILL,
// comes back without disturbing the workers' tasks; what is not built yet (a second manager: promotion,
// joining with the manager token) is refused with a clear message.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { TestCluster, waitFor } from '../../harness/index.js';

interface TaskRow {
  ID: string;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string };
}

describe('a swarm on etcd with workers', { timeout: 300_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    cluster = await TestCluster.create({ hosts: ['manager', 'worker1', 'worker2', 'extra'] });
    await cluster.init('manager', { Datastore: 'etcd', Spec: { Dispatcher: { HeartbeatPeriod: 1e9 } } });
    await cluster.join(['worker1', 'worker2']);
    await cluster.waitForNodes({ count: 3 });
  });
  afterEach((t) => cluster.reportOnFailure(t));
  after(() => cluster?.destroy());

  const docker = async (...args: string[]): Promise<string> => {
    const { stdout, stderr, code } = await cluster.manager.docker(args, { timeoutMs: 120_000 });
    assert.equal(code, 0, `docker ${args.join(' ')} failed (${code}): ${stderr}`);
    return stdout;
  };
  const running = async (service: string): Promise<TaskRow[]> =>
    (
      await cluster.manager.apiOk<TaskRow[]>(
        'GET',
        `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
      )
    ).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');

  it('runs a service on the workers, undisturbed while the manager’s etcd member is killed and restarted', async () => {
    await docker(
      'service',
      'create',
      '--detach',
      '--name',
      'web',
      '--replicas',
      '4',
      '--constraint',
      'node.role==worker',
      'busybox',
      'sleep',
      '3600',
    );
    const before = await waitFor(() => running('web'), {
      until: (tasks) => tasks.length === 4,
      timeoutMs: 60_000,
    });
    assert.equal(new Set(before.map((t) => t.NodeID)).size, 2, 'spread over both workers');

    const pidFile = join(cluster.manager.dataDir, 'swarm', 'etcd', 'etcd.pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(pid, 'SIGKILL');
    // The manager's member comes back, the workers' sessions with it; writes go through again.
    await waitFor(
      async () => (await cluster.manager.docker(['service', 'scale', '--detach', 'web=5'])).code === 0,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    assert.notEqual(Number(readFileSync(pidFile, 'utf8')), pid);
    const after = await waitFor(() => running('web'), {
      until: (tasks) => tasks.length === 5,
      timeoutMs: 60_000,
    });
    const ids = new Set(after.map((t) => t.ID));
    for (const task of before) assert.ok(ids.has(task.ID), `task ${task.ID} was replaced`);
    await cluster.waitForNodes({ count: 3 });
  });

  it('refuses what needs a second manager: promotion and joining with the manager token', async () => {
    const nodes = await cluster.nodes();
    const worker = nodes.find(
      (node) => (node as unknown as { Spec: { Role: string } }).Spec.Role === 'worker',
    )!;
    const promote = await cluster.manager.docker(['node', 'promote', worker.ID]);
    assert.notEqual(promote.code, 0);
    assert.match(
      promote.stderr,
      /promoting a worker to manager is not supported yet: shoal runs one manager per swarm/,
    );

    const token = await cluster.joinToken('manager');
    const extra = cluster.daemon('extra');
    const joined = await extra.docker(['swarm', 'join', '--token', token, `${cluster.manager.address}:2377`]);
    assert.notEqual(joined.code, 0);
    assert.match(
      joined.stderr,
      /joining as a manager is not supported yet: shoal runs one manager per swarm/,
    );
    assert.equal((await cluster.nodes()).length, 3, 'no node was added');
  });
});
