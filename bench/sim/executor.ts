// A simulated executor for the scale benchmark (not a product executor): its tasks "run" at once or after a
// set delay, can be made to fail, and cost nothing but a timer, so one process can hold the tasks of
// hundreds of nodes. It describes itself as the process executor does (the same engine labels), so the
// managers place on it whatever they would place on a process-executor node.

import type { HealthState, NodeDescription, Task } from '../../src/api/types.js';
import type { Controller, Executor, LogLine, RecoveredTask } from '../../src/agent/executor/executor.js';
import { ExitError } from '../../src/agent/executor/executor.js';
import { processEngineLabels } from '../../src/agent/executor/process/describe.js';

export interface SimulatedBehaviour {
  /** Milliseconds from start() to the task running. */
  readonly startDelayMs: number;
  /** Share of tasks, [0, 1], that exit with code 1 right after starting. */
  readonly failRate: number;
}

export class SimulatedExecutor implements Executor {
  constructor(
    private readonly hostname: string,
    private readonly behaviour: () => SimulatedBehaviour,
  ) {}

  describe(): Promise<NodeDescription> {
    return Promise.resolve({
      Hostname: this.hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 1024 ** 3 },
      Engine: { EngineVersion: 'simulated', Labels: processEngineLabels({}), Plugins: [] },
    });
  }

  controller(task: Task): Controller {
    return new SimulatedController(task, this.behaviour());
  }

  recover(): Promise<RecoveredTask[]> {
    return Promise.resolve([]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

class SimulatedController implements Controller {
  private exitCode: number | undefined;
  private running = false;
  private settle: ((code: number) => void) | undefined;
  private readonly exited: Promise<number>;

  constructor(
    private readonly task: Task,
    private readonly behaviour: SimulatedBehaviour,
  ) {
    this.exited = new Promise((resolve) => (this.settle = resolve));
  }

  prepare(): Promise<void> {
    return Promise.resolve();
  }

  async start(): Promise<void> {
    if (this.behaviour.startDelayMs > 0) await new Promise((r) => setTimeout(r, this.behaviour.startDelayMs));
    this.running = true;
    if (Math.random() < this.behaviour.failRate) setImmediate(() => this.exit(1));
  }

  async wait(): Promise<void> {
    const code = await this.exited;
    if (code !== 0) throw new ExitError(code);
  }

  shutdown(): Promise<void> {
    this.exit(0);
    return Promise.resolve();
  }

  terminate(): Promise<void> {
    this.exit(137);
    return Promise.resolve();
  }

  remove(): Promise<void> {
    this.exit(0);
    return Promise.resolve();
  }

  containerStatus(): { ContainerID?: string; PID?: number; ExitCode?: number } {
    return { ContainerID: `sim-${this.task.ID}`, ExitCode: this.running ? undefined : this.exitCode };
  }

  health(): HealthState | undefined {
    return undefined;
  }

  // eslint-disable-next-line require-yield
  async *logs(): AsyncIterable<LogLine> {
    return;
  }

  private exit(code: number): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = code;
    this.running = false;
    this.settle?.(code);
  }
}
