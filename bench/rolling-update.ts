// bench/rolling-update: time to roll 50 replicas with parallelism 5 and no delay, stop-first and
// start-first, against the time one task takes to be replaced (stop + start) on its own, for two kinds
// of task: `instant` (a `sleep`: stops and starts in a few ms, so the figure is pure orchestration) and
// `realistic` (takes 0.5 s to stop after SIGTERM and 0.5 s to become healthy).
// Goal (issue 5): within 10% of batches × single-replacement time.
// Run: npm run bench:rolling-update   (needs root, builds first)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShoalDaemon } from '../test/harness/index.js';
import { freePort } from '../test/harness/ports.js';

interface TaskRow {
  DesiredState: string;
  Status: { State: string };
  Spec: { ContainerSpec?: { Env?: string[] } };
}

interface ServiceRow {
  Version: { Index: number };
  Spec: Record<string, unknown> & { TaskTemplate: { ContainerSpec: { Env?: string[] } } };
}

const REPLICAS = 50;

interface TaskKind {
  name: string;
  containerSpec(scratch: string): Record<string, unknown>;
}

const KINDS: TaskKind[] = [
  { name: 'instant', containerSpec: () => ({ Image: 'busybox', Args: ['sleep', '86400'] }) },
  {
    name: 'realistic',
    containerSpec: (scratch) => ({
      Image: 'busybox',
      Args: [
        'sh',
        '-c',
        // Ready half a second after start; on SIGTERM, half a second to shut down. Idle otherwise.
        `trap 'sleep 0.5; exit 0' TERM; (sleep 0.5; touch ${scratch}/$TASK) & sleep 86400 & wait`,
      ],
      // Probed every 100 ms while starting (start interval), every 30 s once healthy, as a real
      // service would be configured.
      Healthcheck: {
        Test: ['CMD-SHELL', `test -e ${scratch}/$TASK`],
        Interval: 30e9,
        StartPeriod: 10e9,
        StartInterval: 100e6,
        Retries: 3,
      },
      StopGracePeriod: 5e9,
    }),
  },
];
const PARALLELISM = 5;
const RUNS = 3;

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'shoal-bench-'));
  const daemon = ShoalDaemon.onLoopback();
  await daemon.start();
  try {
    await daemon.apiOk('POST', '/v1.44/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
    const tasksOf = async (name: string): Promise<TaskRow[]> => {
      const filters = encodeURIComponent(JSON.stringify({ service: { [name]: true } }));
      return daemon.apiOk<TaskRow[]>('GET', `/v1.44/tasks?filters=${filters}`);
    };
    const runningWith = async (name: string, env: string): Promise<number> =>
      (await tasksOf(name)).filter(
        (t) =>
          t.DesiredState === 'running' &&
          t.Status.State === 'running' &&
          (t.Spec.ContainerSpec?.Env ?? []).includes(env),
      ).length;
    const waitFor = async (check: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 300_000;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error('timed out');
        // Poll gently: the benchmark must not load the daemon it measures.
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    /** Creates `name`, then times an env change until every replica runs the new spec. */
    const timeUpdate = async (
      kind: TaskKind,
      name: string,
      replicas: number,
      order: 'stop-first' | 'start-first',
    ): Promise<number> => {
      await daemon.apiOk('POST', '/v1.44/services/create', {
        Name: name,
        TaskTemplate: {
          ContainerSpec: { ...kind.containerSpec(scratch), Env: ['V=1', 'TASK={{.Task.ID}}'] },
        },
        Mode: { Replicated: { Replicas: replicas } },
        UpdateConfig: {
          Parallelism: PARALLELISM,
          Delay: 0,
          Order: order,
          FailureAction: 'pause',
          Monitor: 5e9,
        },
      });
      await waitFor(async () => (await runningWith(name, 'V=1')) === replicas);
      const service = await daemon.apiOk<ServiceRow>('GET', `/v1.44/services/${name}`);
      const spec = structuredClone(service.Spec);
      spec.TaskTemplate.ContainerSpec.Env = ['V=2', 'TASK={{.Task.ID}}'];
      const started = performance.now();
      await daemon.apiOk('POST', `/v1.44/services/${name}/update?version=${service.Version.Index}`, spec);
      await waitFor(async () => (await runningWith(name, 'V=2')) === replicas);
      const ms = performance.now() - started;
      await daemon.apiOk('DELETE', `/v1.44/services/${name}`);
      return ms;
    };
    const median = (values: number[]): number =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

    const rows: Record<string, string | number>[] = [];
    const batches = Math.ceil(REPLICAS / PARALLELISM);
    for (const kind of KINDS) {
      const single: number[] = [];
      for (let i = 0; i < RUNS; i++)
        single.push(await timeUpdate(kind, `${kind.name}-one${i}`, 1, 'stop-first'));
      const oneTask = median(single);
      rows.push({
        tasks: kind.name,
        case: 'one task replaced (stop + start)',
        ms: Math.round(oneTask),
        goal: '',
        ratio: '',
      });
      for (const order of ['stop-first', 'start-first'] as const) {
        const runs: number[] = [];
        for (let i = 0; i < RUNS; i++)
          runs.push(await timeUpdate(kind, `${kind.name}-${order}-${i}`, REPLICAS, order));
        const ms = median(runs);
        const goal = batches * oneTask;
        rows.push({
          tasks: kind.name,
          case: `${REPLICAS} replicas, parallelism ${PARALLELISM}, ${order}`,
          ms: Math.round(ms),
          goal: `≤ ${Math.round(goal * 1.1)} (${batches} × ${Math.round(oneTask)} + 10%)`,
          ratio: (ms / goal).toFixed(2),
        });
      }
    }
    console.table(rows);
  } finally {
    await daemon.destroy();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
