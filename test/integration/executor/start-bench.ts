// Benchmark (not a test; belongs under bench/ once that folder takes TypeScript): how long the process
// executor takes to start N tasks, from the first prepare() to every task's process running its own program.
//
//   node .build/exec/test/integration/executor/start-bench.js [N …]     (default: 100 500)

import { readFileSync } from 'node:fs';
import { harness, makeTask, run } from './helpers.js';

async function measure(count: number): Promise<void> {
  const h = harness();
  try {
    await h.executor.runnerInfo(); // the runner is up before the clock starts, as on a running node
    const limits = { Resources: { Limits: { MemoryBytes: 64 * 1024 * 1024 } } };
    const controllers = Array.from({ length: count }, () =>
      h.executor.controller(makeTask({ Command: ['sleep', '1000'] }, limits)),
    );
    const started = performance.now();
    await Promise.all(controllers.map((controller) => run(controller)));
    const allStarted = performance.now() - started;
    // start() returns once the process exists; count it running when it has exec'd `sleep`.
    const running = (): number =>
      controllers.filter((controller) => {
        try {
          return readFileSync(`/proc/${controller.containerStatus().PID}/comm`, 'utf8').trim() === 'sleep';
        } catch {
          return false;
        }
      }).length;
    while (running() < count) await new Promise((resolve) => setTimeout(resolve, 5));
    const allRunning = performance.now() - started;
    const stopping = performance.now();
    await Promise.all(controllers.map((controller) => controller.remove()));
    const allRemoved = performance.now() - stopping;
    console.log(
      `${count} tasks: start() resolved for all in ${allStarted.toFixed(0)} ms, ` +
        `all running in ${allRunning.toFixed(0)} ms; stopped and removed in ${allRemoved.toFixed(0)} ms`,
    );
  } finally {
    await h.cleanup();
  }
}

const counts = process.argv.slice(2).map(Number);
for (const count of counts.length > 0 ? counts : [100, 500]) await measure(count);
