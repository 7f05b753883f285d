// bench/scheduler: the scheduler's pure core alone (no store, no IO) on snapshots of 1,000 nodes with 10,000
// and 100,000 pending tasks of one service — the figures swarmkit#193 gives for swarmkit (1.8 s and 22.6 s).
// Also the same with a spread preference and with a constraint, and a pass where every task is placed
// already (the steady state each event costs). Medians of 3 runs after a warm-up.
// Run: npm run bench:scheduler

import { scheduleTasks } from '../src/manager/scheduler/schedule.js';
import type { SchedulingSnapshot } from '../src/manager/scheduler/snapshot.js';
import { node, NOW, service, task, type TaskOptions } from '../test/unit/scheduler/fixtures.js';

const NODES = 1_000;

function snapshot(taskCount: number, o: TaskOptions = {}, placed = false): SchedulingSnapshot {
  const nodes = Array.from({ length: NODES }, (_, i) =>
    node(`node${i}`, { labels: { zone: `z${i % 3}`, tier: i % 2 === 0 ? 'web' : 'db' } }),
  );
  const tasks = Array.from({ length: taskCount }, (_, i) =>
    task(`t${i + 1}`, {
      slot: i + 1,
      ...o,
      ...(placed ? { state: 'running', node: `node${i % NODES}` } : {}),
    }),
  );
  return { nodes, tasks, services: [service('svc', 1)], failures: [], now: NOW };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function time(make: () => SchedulingSnapshot, runs: number): { ms: number; decisions: number } {
  const times: number[] = [];
  let decisions = 0;
  for (let i = 0; i < runs + 1; i++) {
    const snap = make();
    const started = performance.now();
    decisions = scheduleTasks(snap).length;
    if (i > 0) times.push(performance.now() - started);
  }
  return { ms: median(times), decisions };
}

const cases: [string, () => SchedulingSnapshot][] = [];
for (const count of [10_000, 100_000]) {
  cases.push([`${count} pending tasks on ${NODES} nodes`, () => snapshot(count)]);
  cases.push([
    `${count} pending, spread over node.labels.zone`,
    () => snapshot(count, { spread: ['node.labels.zone'] }),
  ]);
  cases.push([
    `${count} pending, constraint node.labels.tier==web`,
    () => snapshot(count, { constraints: ['node.labels.tier==web'] }),
  ]);
  cases.push([`${count} tasks all placed (a pass with nothing to do)`, () => snapshot(count, {}, true)]);
}

const results = cases.map(([name, make]) => {
  const { ms, decisions } = time(make, 3);
  return { case: name, ms: Math.round(ms), decisions };
});
console.table(results);
console.log(JSON.stringify({ bench: 'scheduler', nodes: NODES, results }));
