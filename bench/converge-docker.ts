// bench/converge-docker: the docker executor's convergence on one node's Docker Engine, beside the same
// engine's raw speed. For 1, 10, 50 and 100 replicas: `service create` → every task running (its container
// started), and scaling 100 → 0 → no container running; and, just before each, the engine alone doing the
// same number of `docker run -d` (create + start through the Engine API) and stops, 1, 4 and 8 at a time,
// the best taken. Containers run busybox's `sleep` with an init (so that a stop ends them at once, on both
// sides). Rounds (ROUNDS, default 3) are repeated and their medians reported, since the machine is shared.
// Run: npm run bench:converge-docker   (needs root and Debian's docker.io; builds first)

import { ShoalDaemon, TestDockerd } from '../test/harness/index.js';
import { freePort } from '../test/harness/ports.js';

interface TaskRow {
  DesiredState: string;
  Status: { State: string };
}

const POLL_MS = 10;
const SIZES = [1, 10, 50, 100];
const CONCURRENCY = [1, 4, 8];
const ROUNDS = Number(process.env.ROUNDS ?? 3);

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** Runs `work(i)` for i in [0, count), `concurrency` at a time. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

async function ok<T>(engine: TestDockerd, method: string, path: string, body?: unknown): Promise<T> {
  const res = await engine.api<T>(method, path, body, 120_000);
  if (res.status >= 300 && res.status !== 304)
    throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

/** The engine alone: `count` containers created and started, `concurrency` at a time; then stopped. */
async function raw(
  engine: TestDockerd,
  count: number,
  concurrency: number,
): Promise<{ run: number; stop: number }> {
  const ids: string[] = [];
  const started = performance.now();
  await pool(count, concurrency, async (i) => {
    const created = await ok<{ Id: string }>(engine, 'POST', '/v1.41/containers/create', {
      Image: 'busybox:latest',
      Cmd: ['sleep', String(90000 + i)],
      HostConfig: { Init: true },
    });
    await ok(engine, 'POST', `/v1.41/containers/${created.Id}/start`);
    ids.push(created.Id);
  });
  const run = performance.now() - started;
  const stopping = performance.now();
  await pool(count, concurrency, async (i) => {
    await ok(engine, 'POST', `/v1.41/containers/${ids[i]}/stop?t=10`);
  });
  const stop = performance.now() - stopping;
  await pool(count, 8, async (i) => {
    await ok(engine, 'DELETE', `/v1.41/containers/${ids[i]}?force=1`);
  });
  return { run, stop };
}

async function main(): Promise<void> {
  const engine = await TestDockerd.onLoopback();
  let daemon: ShoalDaemon | undefined;
  try {
    await engine.importBusybox();
    const version = await ok<{ Version: string }>(engine, 'GET', '/version');
    daemon = ShoalDaemon.onLoopback({ extraArgs: ['--executor', 'docker', '--engine-host', engine.apiHost] });
    await daemon.start();
    const shoal = daemon;
    await shoal.apiOk('POST', '/v1.44/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
    const running = async (service: string): Promise<number> => {
      const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
      const tasks = await shoal.apiOk<TaskRow[]>('GET', `/v1.44/tasks?filters=${filters}`);
      return tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
    };
    const runningContainers = async (): Promise<number> =>
      (await engine.containers()).filter((c) => c.State === 'running').length;
    const empty = (): Promise<void> => until(async () => (await engine.containers()).length === 0, 300_000);

    // Each measure side by side with the engine's own, round after round (the machine is shared: a
    // round's neighbours are the fairest comparison), and the median of the rounds reported.
    const samples = new Map<string, { shoal: number[]; engine: number[]; at: number[] }>();
    const record = (name: string, shoalMs: number, engineMs: number, at: number): void => {
      const entry = samples.get(name) ?? { shoal: [], engine: [], at: [] };
      entry.shoal.push(shoalMs);
      entry.engine.push(engineMs);
      entry.at.push(at);
      samples.set(name, entry);
    };
    for (let round = 0; round < ROUNDS; round++) {
      for (const count of SIZES) {
        let best = { run: Infinity, runAt: 0, stop: Infinity, stopAt: 0 };
        for (const concurrency of CONCURRENCY) {
          if (count === 1 && concurrency > 1) continue;
          const { run, stop } = await raw(engine, count, concurrency);
          if (run < best.run) best = { ...best, run, runAt: concurrency };
          if (stop < best.stop) best = { ...best, stop, stopAt: concurrency };
        }
        const name = `bench${count}r${round}`;
        const started = performance.now();
        await shoal.apiOk('POST', '/v1.44/services/create', {
          Name: name,
          TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '86400'], Init: true } },
          Mode: { Replicated: { Replicas: count } },
        });
        await until(async () => (await running(name)) === count, 300_000);
        record(`create ${count} → running`, performance.now() - started, best.run, best.runAt);
        if ((await runningContainers()) !== count) throw new Error(`expected ${count} running containers`);
        if (count === SIZES.at(-1)) {
          const service = await shoal.apiOk<{ Version: { Index: number }; Spec: { Mode: object } }>(
            'GET',
            `/v1.44/services/${name}`,
          );
          const scaling = performance.now();
          await shoal.apiOk('POST', `/v1.44/services/${name}/update?version=${service.Version.Index}`, {
            ...service.Spec,
            Mode: { Replicated: { Replicas: 0 } },
          });
          await until(async () => (await runningContainers()) === 0, 300_000);
          record(`scale ${count} → 0, none running`, performance.now() - scaling, best.stop, best.stopAt);
        }
        await shoal.apiOk('DELETE', `/v1.44/services/${name}`);
        await empty();
      }
    }
    const median = (values: number[]): number =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    console.log(
      `Docker Engine ${version.Version}; median of ${ROUNDS} rounds; engine: the same work through the Engine API, the best of ${CONCURRENCY.join('/')} at a time`,
    );
    console.table(
      [...samples].map(([name, entry]) => ({
        case: name,
        'shoal ms': Math.round(median(entry.shoal)),
        'engine ms': Math.round(median(entry.engine)),
        'engine at': median(entry.at),
        ratio: (median(entry.shoal) / median(entry.engine)).toFixed(2),
        'ratios by round': entry.shoal.map((ms, i) => (ms / entry.engine[i]!).toFixed(2)).join(' '),
      })),
    );
  } finally {
    await daemon?.destroy();
    await engine.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
