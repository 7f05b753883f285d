// bench/scale: one real manager (shoald, process executor, drained so it runs no task itself) and a fleet of
// simulated nodes (bench/sim/) speaking the real cluster protocol. Reports, each with the manager's CPU and
// RSS: nodes joining and Ready; what their heartbeats cost in steady state; a service of N replicas created
// → all running and scaled to 0, for each N; 100 nodes killed at once → their tasks running elsewhere; the
// latency of what `docker service ls`, `docker service ps` and `docker node ls` call, while the fleet
// churns; store size.
// Run: npm run bench:scale   (needs root; SHOAL_SCALE_NODES=1000, SHOAL_SCALE_TASKS=10000,100000,
// SHOAL_SCALE_SERVICES=1000 and SHOAL_SCALE_PROCESSES=4 by default; SHOAL_SCALE_PROFILE=<dir> for a CPU
// profile of the manager)

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ShoalDaemon } from '../test/harness/index.js';
import { freePort } from '../test/harness/ports.js';
import { SimulatedFleet } from './sim/fleet.js';

const NODES = Number(process.env.SHOAL_SCALE_NODES ?? 1_000);
const TASK_COUNTS = (process.env.SHOAL_SCALE_TASKS ?? '10000,100000').split(',').map(Number);
const SERVICES = Number(process.env.SHOAL_SCALE_SERVICES ?? 1_000);
const PROCESSES = Number(process.env.SHOAL_SCALE_PROCESSES ?? 4);
const KILLED = Math.min(100, Math.floor(NODES / 10));
const TICKS = 100; // USER_HZ on Linux

/** Where a phase started: the manager's store writes and CPU, the fleet's CPU, the time. */
interface Mark {
  writes: number;
  cpu: number;
  fleetCpu: number;
  at: number;
}

interface ServiceRow {
  ID: string;
  Spec: { Name: string };
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number };
}

function cpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return 0;
  }
}

function rssMB(pid: number): number {
  const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Math.round(Number(line?.[1] ?? 0) / 1024);
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  // SHOAL_SCALE_PROFILE=<dir>: the manager writes a V8 CPU profile there when it stops.
  const profileDir = process.env.SHOAL_SCALE_PROFILE;
  const metricsPort = await freePort();
  const daemon = ShoalDaemon.onLoopback({
    extraArgs: ['--metrics-addr', `127.0.0.1:${metricsPort}`],
    ...(profileDir
      ? { nodeArgs: ['--enable-source-maps', '--cpu-prof', `--cpu-prof-dir=${profileDir}`] }
      : {}),
  });
  // Store write transactions so far, from the manager's own metrics.
  const writeTransactions = async (): Promise<number> => {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return Number(/^swarm_store_write_tx_latency_seconds_count (\d+)/m.exec(text)?.[1] ?? NaN);
  };
  await daemon.start();
  const pid = daemon.pid!;
  const rows: Record<string, string | number>[] = [];
  let fleet: SimulatedFleet | undefined;
  const record = async (what: string, figures: Record<string, string | number>, since?: Mark) => {
    const row: Record<string, string | number> = { what, ...figures };
    if (since) {
      const seconds = (performance.now() - since.at) / 1000;
      row['manager CPU (share of a core)'] = Number(((cpuSeconds(pid) - since.cpu) / seconds).toFixed(2));
      if (fleet)
        row['fleet CPU (cores)'] = Number(
          ((fleet.cpuSeconds(cpuSeconds) - since.fleetCpu) / seconds).toFixed(2),
        );
    }
    row['manager RSS (MB)'] = rssMB(pid);
    if (since) row['store writes'] = (await writeTransactions()) - since.writes;
    rows.push(row);
    console.log(JSON.stringify(row));
  };
  const mark = async (): Promise<Mark> => ({
    writes: await writeTransactions(),
    cpu: cpuSeconds(pid),
    fleetCpu: fleet?.cpuSeconds(cpuSeconds) ?? 0,
    at: performance.now(),
  });
  const timed = async <T>(call: () => Promise<T>): Promise<[T, number]> => {
    const started = performance.now();
    const result = await call();
    return [result, performance.now() - started];
  };
  const storeMB = () => {
    const size = (file: string) => {
      try {
        return statSync(join(daemon.dataDir, 'swarm', 'manager', file)).size;
      } catch {
        return 0;
      }
    };
    return Number(((size('store.db') + size('store.db-wal')) / 1024 ** 2).toFixed(1));
  };

  // `docker service ls` calls GET /services?status=true; a loop keeps calling it through a phase.
  const watchServiceLs = () => {
    const latencies: number[] = [];
    let stop = false;
    const loop = (async () => {
      while (!stop) {
        const [, ms] = await timed(() => daemon.apiOk('GET', '/v1.44/services?status=true'));
        latencies.push(ms);
        await sleep(200);
      }
    })();
    return async () => {
      stop = true;
      await loop;
      return { p50: Math.round(percentile(latencies, 50)), max: Math.round(Math.max(...latencies)) };
    };
  };

  try {
    await daemon.apiOk('POST', '/v1.44/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
    const swarm = await daemon.apiOk<{ JoinTokens: { Worker: string } }>('GET', '/v1.44/swarm');
    const info = await daemon.apiOk<{ Swarm: { NodeID: string; RemoteManagers: { Addr: string }[] } }>(
      'GET',
      '/v1.44/info',
    );
    const self = await daemon.apiOk<{ Version: { Index: number }; Spec: object }>(
      'GET',
      `/v1.44/nodes/${info.Swarm.NodeID}`,
    );
    await daemon.apiOk('POST', `/v1.44/nodes/${info.Swarm.NodeID}/update?version=${self.Version.Index}`, {
      ...self.Spec,
      Availability: 'drain',
    });
    const managerAddr = info.Swarm.RemoteManagers[0]!.Addr;

    const readyNodes = async () =>
      (await daemon.apiOk<{ Status: { State: string } }[]>('GET', '/v1.44/nodes')).filter(
        (n) => n.Status.State === 'ready',
      ).length;
    let since = await mark();
    fleet = await SimulatedFleet.join({
      managerAddr,
      token: swarm.JoinTokens.Worker,
      nodes: NODES,
      processes: PROCESSES,
    });
    while ((await readyNodes()) < NODES + 1) await sleep(250);
    await record(
      `${NODES} nodes joined and Ready`,
      { seconds: Number(((performance.now() - since.at) / 1000).toFixed(1)) },
      since,
    );

    await sleep(6_000);
    since = await mark();
    const stopLs = watchServiceLs();
    const nodeLs: number[] = [];
    for (let i = 0; i < 10; i++) {
      nodeLs.push((await timed(() => daemon.apiOk('GET', '/v1.44/nodes')))[1]);
      await sleep(2_000);
    }
    const ls = await stopLs();
    await record(
      `steady state: ${NODES} nodes heartbeating (5 s period), 20 s`,
      {
        'service ls p50/max (ms)': `${ls.p50}/${ls.max}`,
        'node ls p50 (ms)': Math.round(percentile(nodeLs, 50)),
      },
      since,
    );

    const services = async () => daemon.apiOk<ServiceRow[]>('GET', '/v1.44/services?status=true');
    const running = async (name: string) =>
      (await services()).find((s) => s.Spec.Name === name)?.ServiceStatus?.RunningTasks ?? 0;
    const waitFor = async (check: () => Promise<boolean>, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out');
        await sleep(250);
      }
    };
    const killedIds = new Set<string>();
    for (const count of TASK_COUNTS) {
      const name = `scale${count}`;
      since = await mark();
      const stop = watchServiceLs();
      const created = await daemon.apiOk<{ ID: string }>('POST', '/v1.44/services/create', {
        Name: name,
        TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '86400'] } },
        Mode: { Replicated: { Replicas: count } },
      });
      await waitFor(async () => (await running(name)) === count, 30 * 60_000);
      const seconds = (performance.now() - since.at) / 1000;
      const during = await stop();
      const filters = encodeURIComponent(JSON.stringify({ service: { [name]: true } }));
      const [, psMs] = await timed(() => daemon.apiOk('GET', `/v1.44/tasks?filters=${filters}`));
      const [, nodeLsMs] = await timed(() => daemon.apiOk('GET', '/v1.44/nodes'));
      await record(
        `${count} replicas created → all running`,
        {
          seconds: Number(seconds.toFixed(1)),
          'service ls p50/max (ms)': `${during.p50}/${during.max}`,
          'service ps (ms)': Math.round(psMs),
          'node ls (ms)': Math.round(nodeLsMs),
          'store (MB)': storeMB(),
        },
        since,
      );

      if (count === TASK_COUNTS[0] && KILLED > 0) {
        const victims = fleet.hostnames.slice(0, KILLED);
        since = await mark();
        await fleet.kill(victims);
        const nodes = await daemon.apiOk<{ ID: string; Description: { Hostname: string } }[]>(
          'GET',
          '/v1.44/nodes',
        );
        const victimIds = new Set<string>(
          nodes.filter((n) => victims.includes(n.Description.Hostname)).map((n) => n.ID),
        );
        await waitFor(async () => {
          const tasks = await daemon.apiOk<
            { NodeID?: string; DesiredState: string; Status: { State: string } }[]
          >('GET', `/v1.44/tasks?filters=${filters}`);
          const live = tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running');
          return live.length === count && live.every((t) => !victimIds.has(t.NodeID ?? ''));
        }, 10 * 60_000);
        for (const id of victimIds) killedIds.add(id);
        await record(
          `${KILLED} nodes killed at once → their tasks running elsewhere`,
          {
            seconds: Number(((performance.now() - since.at) / 1000).toFixed(1)),
          },
          since,
        );
      }

      since = await mark();
      const service = await daemon.apiOk<{ Version: { Index: number }; Spec: Record<string, unknown> }>(
        'GET',
        `/v1.44/services/${created.ID}`,
      );
      await daemon.apiOk('POST', `/v1.44/services/${created.ID}/update?version=${service.Version.Index}`, {
        ...service.Spec,
        Mode: { Replicated: { Replicas: 0 } },
      });
      // Tasks of nodes that died stay RUNNING (desired SHUTDOWN) in `service ls`'s count, as in swarmkit:
      // done is when no task on a live node still runs.
      await waitFor(async () => {
        const tasks = await daemon.apiOk<{ NodeID?: string; Status: { State: string } }[]>(
          'GET',
          `/v1.44/tasks?filters=${filters}`,
        );
        return tasks.every((t) => t.Status.State !== 'running' || killedIds.has(t.NodeID ?? ''));
      }, 30 * 60_000);
      await record(
        `scale ${count} → 0`,
        { seconds: Number(((performance.now() - since.at) / 1000).toFixed(1)), 'store (MB)': storeMB() },
        since,
      );
      await daemon.apiOk('DELETE', `/v1.44/services/${created.ID}`);
    }

    if (SERVICES > 0) {
      since = await mark();
      for (let i = 0; i < SERVICES; i++) {
        await daemon.apiOk('POST', '/v1.44/services/create', {
          Name: `svc${i}`,
          TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '86400'] } },
          Mode: { Replicated: { Replicas: 1 } },
        });
      }
      const createdIn = (performance.now() - since.at) / 1000;
      await waitFor(
        async () => (await services()).every((s) => s.ServiceStatus?.RunningTasks === 1),
        10 * 60_000,
      );
      const ls: number[] = [];
      for (let i = 0; i < 10; i++) ls.push((await timed(services))[1]);
      await record(
        `${SERVICES} services of 1 replica`,
        {
          'created (s)': Number(createdIn.toFixed(1)),
          'all running (s)': Number(((performance.now() - since.at) / 1000).toFixed(1)),
          'service ls p50/max (ms)': `${Math.round(percentile(ls, 50))}/${Math.round(Math.max(...ls))}`,
        },
        since,
      );
    }
  } finally {
    fleet?.close();
    if (profileDir) await daemon.stop();
    await daemon.destroy();
  }
  console.table(rows);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
