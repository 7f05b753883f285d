// Three hosts in the netns harness, each with its own dockerd and shoald on the docker executor: a
// replicated service spreads over them, each node runs its tasks as containers on its own engine with
// Docker's names and labels, a worker's shoald killed with kill -9 re-adopts its containers, and a
// worker whose engine stops fails its tasks (which the swarm places elsewhere) and rejoins the work when
// its engine is back.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerdMissing, eventually, TestCluster } from '../../harness/index.js';

interface TaskRow {
  ID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  Status: { State: string; Err?: string; ContainerStatus?: { ContainerID?: string } };
}

interface NodeRow {
  ID: string;
  Description: { Hostname: string; Engine: { EngineVersion: string; Labels?: Record<string, string> } };
}

describe(
  'docker executor on three hosts, each with its own engine',
  { timeout: 600_000, skip: dockerdMissing() },
  () => {
    let cluster: TestCluster;
    const nodeIds = new Map<string, string>();

    before(async () => {
      cluster = await TestCluster.create({ hosts: ['manager', 'worker1', 'worker2'], dockerEngines: true });
      await cluster.form('manager');
      const nodes = (await cluster.waitForNodes()) as unknown as NodeRow[];
      for (const node of nodes) nodeIds.set(node.Description.Hostname, node.ID);
    });
    afterEach((t) => cluster.reportOnFailure(t));
    after(() => cluster?.destroy());

    const tasks = (service: string): Promise<TaskRow[]> =>
      cluster.manager.apiOk<TaskRow[]>(
        'GET',
        `/tasks?filters=${encodeURIComponent(JSON.stringify({ service: { [service]: true } }))}`,
      );
    const running = async (service: string): Promise<TaskRow[]> =>
      (await tasks(service)).filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
    /** The running containers of a node's engine that belong to shoal tasks, by name. */
    const shoalContainers = async (host: string): Promise<Map<string, { id: string; node: string }>> => {
      const list = await cluster.engine(host).containers();
      return new Map(
        list
          .filter((c) => c.State === 'running' && c.Labels['com.docker.swarm.task.id'])
          .map((c) => [c.Names[0]!.slice(1), { id: c.Id, node: c.Labels['com.docker.swarm.node.id']! }]),
      );
    };

    it('describes every node from its own engine', async () => {
      const nodes = await cluster.manager.apiOk<NodeRow[]>('GET', '/nodes');
      for (const node of nodes) {
        assert.equal(node.Description.Engine.Labels?.['shoal.executor'], 'docker');
        assert.match(node.Description.Engine.EngineVersion, /^20\.10\./);
      }
      assert.deepEqual(nodes.map((n) => n.Description.Hostname).sort(), ['manager', 'worker1', 'worker2']);
    });

    it('runs two containers of a six-replica service on each node’s engine, with Docker’s names and labels', async () => {
      const { code, stderr } = await cluster.manager.docker(
        ['service', 'create', '--name', 'web', '--replicas', '6', '--init', 'busybox', 'sleep', '3600'],
        { timeoutMs: 180_000 },
      );
      assert.equal(code, 0, stderr);
      const rows = await running('web');
      assert.equal(rows.length, 6);
      for (const host of ['manager', 'worker1', 'worker2']) {
        const nodeId = nodeIds.get(host)!;
        const mine = rows.filter((t) => t.NodeID === nodeId);
        assert.equal(mine.length, 2, `${host} runs two tasks`);
        const containers = await shoalContainers(host);
        assert.equal(containers.size, 2, `${host}'s engine runs exactly its two containers`);
        for (const task of mine) {
          const container = containers.get(`web.${task.Slot}.${task.ID}`);
          assert.ok(container, `web.${task.Slot}.${task.ID} runs on ${host}'s engine`);
          assert.equal(container.id, task.Status.ContainerStatus?.ContainerID);
          assert.equal(container.node, nodeId);
        }
      }
    });

    it('re-adopts a worker’s containers after its shoald is killed with kill -9', async () => {
      const before = await shoalContainers('worker1');
      await cluster.daemon('worker1').kill();
      await cluster.daemon('worker1').start();
      await eventually(
        async () => {
          const rows = (await running('web')).filter((t) => t.NodeID === nodeIds.get('worker1'));
          assert.equal(rows.length, 2);
        },
        { timeoutMs: 30_000, description: 'worker1 running its two tasks again' },
      );
      assert.deepEqual(await shoalContainers('worker1'), before, 'the same containers');
    });

    it('fails the tasks of a worker whose engine stops, and runs tasks there again once it is back', async () => {
      const workerId = nodeIds.get('worker2')!;
      const lost = (await running('web')).filter((t) => t.NodeID === workerId).map((t) => t.ID);
      await cluster.engine('worker2').stop();
      await eventually(
        async () => {
          const all = await tasks('web');
          for (const id of lost)
            assert.ok(
              all.some((t) => t.ID === id && t.Status.State === 'failed'),
              `${id} failed`,
            );
          assert.equal((await running('web')).length, 6, 'the service runs its six replicas elsewhere');
        },
        { timeoutMs: 60_000, description: 'the lost tasks failed and replaced' },
      );
      await cluster.engine('worker2').start();
      // Scaling up: the new tasks go to the least loaded node, worker2, whose engine answers again.
      const { code, stderr } = await cluster.manager.docker(['service', 'scale', 'web=8'], {
        timeoutMs: 180_000,
      });
      assert.equal(code, 0, stderr);
      await eventually(
        async () => {
          assert.equal((await running('web')).filter((t) => t.NodeID === workerId).length, 2);
          assert.equal((await shoalContainers('worker2')).size, 2);
        },
        { timeoutMs: 60_000, description: 'worker2 running tasks again' },
      );
    });
  },
);
