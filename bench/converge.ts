// bench/converge: time from `service create` to all replicas running, for 1, 10, 100 and 500 replicas,
// and from scaling 500 → 0 to no task process left, on a one-node swarm with the process executor.
// Also 100 replicas while another client lists tasks in a tight loop (what `docker stack rm` does), to
// show that polling does not slow the cluster down.
// Run: npm run bench:converge   (needs root, builds first)

import { readdirSync, readFileSync } from 'node:fs';
import { ShoalDaemon } from '../test/harness/index.js';
import { freePort } from '../test/harness/ports.js';

interface TaskRow {
  DesiredState: string;
  Status: { State: string };
}

const POLL_MS = 10;

function processesWith(marker: string): number {
  let n = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').includes(marker)) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function main(): Promise<void> {
  const daemon = ShoalDaemon.onLoopback();
  await daemon.start();
  try {
    await daemon.apiOk('POST', '/v1.44/swarm/init', {
      ListenAddr: `127.0.0.1:${await freePort()}`,
      AdvertiseAddr: '127.0.0.1',
    });
    const running = async (service: string): Promise<number> => {
      const filters = encodeURIComponent(JSON.stringify({ service: { [service]: true } }));
      const tasks = await daemon.apiOk<TaskRow[]>('GET', `/v1.44/tasks?filters=${filters}`);
      return tasks.filter((t) => t.DesiredState === 'running' && t.Status.State === 'running').length;
    };
    const results: { case: string; ms: number; perTaskMs: number }[] = [];
    for (const replicas of [1, 10, 100, 500]) {
      const name = `bench${replicas}`;
      const marker = `sleep 86${String(replicas).padStart(3, '0')}`;
      const started = performance.now();
      await daemon.apiOk('POST', '/v1.44/services/create', {
        Name: name,
        TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: marker.split(' ') } },
        Mode: { Replicated: { Replicas: replicas } },
      });
      await until(async () => (await running(name)) === replicas, 120_000);
      const ms = performance.now() - started;
      results.push({ case: `create ${replicas} → running`, ms, perTaskMs: ms / replicas });
      if (processesWith(marker) !== replicas) throw new Error(`expected ${replicas} processes`);
      if (replicas !== 500) await daemon.apiOk('DELETE', `/v1.44/services/${name}`);
    }
    {
      // A second client hammering the task list, as `docker stack rm` does, while 100 replicas start.
      let polling = true;
      let polls = 0;
      const poller = (async () => {
        while (polling) {
          await daemon.apiOk('GET', '/v1.44/tasks');
          polls++;
        }
      })();
      const name = 'polled100';
      const started = performance.now();
      await daemon.apiOk('POST', '/v1.44/services/create', {
        Name: name,
        TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '87100'] } },
        Mode: { Replicated: { Replicas: 100 } },
      });
      await until(async () => (await running(name)) === 100, 120_000);
      const ms = performance.now() - started;
      polling = false;
      await poller;
      results.push({ case: `create 100 → running, ${polls} task lists meanwhile`, ms, perTaskMs: ms / 100 });
      await daemon.apiOk('DELETE', `/v1.44/services/${name}`);
    }
    const service = await daemon.apiOk<{ Version: { Index: number }; Spec: { Mode: object } }>(
      'GET',
      '/v1.44/services/bench500',
    );
    const started = performance.now();
    await daemon.apiOk('POST', `/v1.44/services/bench500/update?version=${service.Version.Index}`, {
      ...service.Spec,
      Mode: { Replicated: { Replicas: 0 } },
    });
    await until(async () => processesWith('sleep 86500') === 0, 120_000);
    const ms = performance.now() - started;
    results.push({ case: 'scale 500 → 0, processes gone', ms, perTaskMs: ms / 500 });
    console.table(
      results.map((r) => ({ case: r.case, ms: Math.round(r.ms), 'ms/task': r.perTaskMs.toFixed(2) })),
    );
  } finally {
    await daemon.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
