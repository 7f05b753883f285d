// bench/failover: time from a kill -9 of a worker host to all of its tasks running on other nodes,
// with heartbeat periods of 1 s and 5 s; and the time for four nodes (one manager, three workers) to
// form a swarm. Goal (issue 4): rescheduled within 3 heartbeat periods + 1 s.
// Run: npm run bench:failover   (needs root, builds first)

import { TestCluster } from '../test/harness/index.js';

interface TaskRow {
  NodeID?: string;
  DesiredState: string;
  Status: { State: string };
}

const REPLICAS = 8;

async function measure(heartbeatS: number): Promise<{ formMs: number; failoverMs: number; downMs: number }> {
  const cluster = await TestCluster.create({ hosts: ['manager', 'worker1', 'worker2', 'worker3'] });
  try {
    const formStarted = performance.now();
    await cluster.init('manager', { Spec: { Dispatcher: { HeartbeatPeriod: heartbeatS * 1e9 } } });
    await cluster.join(['worker1', 'worker2', 'worker3']);
    await cluster.waitForNodes();
    const formMs = performance.now() - formStarted;

    await cluster.manager.apiOk('POST', '/services/create', {
      Name: 'bench',
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '86400'] } },
      Mode: { Replicated: { Replicas: REPLICAS } },
    });
    const filters = encodeURIComponent(JSON.stringify({ service: { bench: true } }));
    const running = async (): Promise<TaskRow[]> =>
      (await cluster.manager.apiOk<TaskRow[]>('GET', `/tasks?filters=${filters}`)).filter(
        (t) => t.DesiredState === 'running' && t.Status.State === 'running',
      );
    const poll = async (check: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 120_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await poll(async () => (await running()).length === REPLICAS);
    const nodes = await cluster.nodes();
    const victim = nodes.find((n) => n.Description?.Hostname === 'worker1')!.ID;

    const killed = performance.now();
    await cluster.daemon('worker1').killHost();
    let downMs = 0;
    await poll(async () => {
      const node = await cluster.manager.apiOk<{ Status: { State: string } }>('GET', `/nodes/${victim}`);
      if (!downMs && node.Status.State === 'down') downMs = performance.now() - killed;
      const tasks = await running();
      return tasks.length === REPLICAS && tasks.every((t) => t.NodeID !== victim);
    });
    return { formMs, failoverMs: performance.now() - killed, downMs };
  } finally {
    await cluster.destroy();
  }
}

async function main(): Promise<void> {
  const rows: Record<string, string | number>[] = [];
  for (const heartbeatS of [1, 5]) {
    const r = await measure(heartbeatS);
    rows.push({
      heartbeat: `${heartbeatS}s`,
      'form 4-node swarm (ms)': Math.round(r.formMs),
      'worker down after (ms)': Math.round(r.downMs),
      'tasks running elsewhere after (ms)': Math.round(r.failoverMs),
      'goal (ms)': `≤ ${3 * heartbeatS * 1000 + 1000}`,
    });
  }
  console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
