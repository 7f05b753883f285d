// Store benchmark: the SQLite KV and the cluster store on top of it, with the shapes of work a manager
// does — bulk task creation, one-object status updates, reads of large lists, a cold open.
//
//   node dist/bench/store.js [tasks=10000] [updates=1000]
//
// The file lives in os.tmpdir(); on tmpfs fsync is free, so point TMPDIR at a real disk to include it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { newId } from '../src/api/ids.js';
import type { Service, Task } from '../src/api/types.js';
import { ClusterStore } from '../src/store/cluster-store.js';
import { SqliteKV } from '../src/store/sqlite.js';

const taskCount = Number(process.argv[2] ?? 10_000);
const updateCount = Number(process.argv[3] ?? 1_000);
const serviceCount = 100;
const nodeCount = 50;

function report(name: string, ms: number, operations = 1): void {
  const perOp =
    operations > 1
      ? `  (${((ms / operations) * 1000).toFixed(1)} µs/op, ${Math.round((operations / ms) * 1000)}/s)`
      : '';
  console.log(`${name.padEnd(48)} ${ms.toFixed(1).padStart(9)} ms${perOp}`);
}

async function time(name: string, operations: number, work: () => Promise<unknown> | unknown): Promise<void> {
  const start = performance.now();
  await work();
  report(name, performance.now() - start, operations);
}

function makeTask(serviceId: string, slot: number, nodeId: string): Task {
  const now = new Date().toISOString();
  return {
    ID: newId(),
    Version: { Index: 0 },
    CreatedAt: now,
    UpdatedAt: now,
    Name: `svc.${slot}`,
    Labels: { 'com.docker.stack.namespace': 'bench' },
    Spec: {
      ContainerSpec: { Image: 'nginx:1.27', Env: ['A=1', 'B=2'], Labels: { tier: 'web' } },
      Resources: { Limits: { NanoCPUs: 500_000_000 }, Reservations: { MemoryBytes: 64 << 20 } },
      RestartPolicy: { Condition: 'any', Delay: 5_000_000_000, MaxAttempts: 0 },
      Placement: { Constraints: ['node.role==worker'] },
    },
    ServiceID: serviceId,
    Slot: slot,
    NodeID: nodeId,
    Status: { Timestamp: now, State: 'running', Message: 'started' },
    DesiredState: 'running',
    SpecVersion: { Index: 1 },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-store-'));
  const path = join(dir, 'store.db');
  try {
    console.log(
      `SqliteKV + ClusterStore, ${taskCount} tasks, ${updateCount} single updates, file in ${dir}\n`,
    );

    const kv = new SqliteKV(path);
    const store = await ClusterStore.open(kv);
    const services: Service[] = Array.from({ length: serviceCount }, (_, i) => ({
      ID: newId(),
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { Name: `service-${i}` },
    }));
    const nodes = Array.from({ length: nodeCount }, () => newId());
    await time(`create ${serviceCount} services (one txn each)`, serviceCount, async () => {
      for (const service of services) await store.update((tx) => tx.create('service', service));
    });

    const tasks = Array.from({ length: taskCount }, (_, i) =>
      makeTask(services[i % serviceCount]!.ID, i, nodes[i % nodeCount]!),
    );
    await time(`create ${taskCount} tasks in one txn`, taskCount, () =>
      store.update((tx) => {
        for (const task of tasks) tx.create('task', task);
      }),
    );

    await time(`${updateCount} task status updates, one txn each`, updateCount, async () => {
      for (let i = 0; i < updateCount; i++) {
        await store.update((tx) => {
          const task = structuredClone(tx.get('task', tasks[i % taskCount]!.ID)!);
          task.Status = { ...task.Status, Timestamp: new Date().toISOString(), Message: `update ${i}` };
          tx.update('task', task);
        });
      }
    });

    await time(`update all ${taskCount} tasks in one txn`, taskCount, () =>
      store.update((tx) => {
        for (const { ID } of tasks) {
          const task = structuredClone(tx.get('task', ID)!);
          task.DesiredState = 'shutdown';
          tx.update('task', task);
        }
      }),
    );

    const reads = 1_000;
    await time(`list('task') x${reads}`, reads, () => {
      for (let i = 0; i < reads; i++) store.view((tx) => tx.list('task'));
    });
    await time(`tasksByService x${reads * 10}`, reads * 10, () => {
      for (let i = 0; i < reads * 10; i++)
        store.view((tx) => tx.tasksByService(services[i % serviceCount]!.ID));
    });
    await time(`getByName x${reads * 100}`, reads * 100, () => {
      for (let i = 0; i < reads * 100; i++)
        store.view((tx) => tx.getByName('service', `SERVICE-${i % serviceCount}`));
    });

    const kvPuts = 1_000;
    await time(`raw kv.put x${kvPuts}`, kvPuts, async () => {
      for (let i = 0; i < kvPuts; i++) await kv.put(`/bench/${i % 10}`, { i });
    });

    await store.close();
    await kv.close();

    await time(`cold open (${taskCount + serviceCount} objects)`, 1, async () => {
      const reopenedKV = new SqliteKV(path);
      const reopened = await ClusterStore.open(reopenedKV);
      await reopened.close();
      await reopenedKV.close();
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
