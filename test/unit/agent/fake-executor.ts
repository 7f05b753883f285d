// A scripted executor: each task's controller records the calls the agent makes, and the test decides
// when the "process" exits and how. Deterministic and instant — no processes.

import {
  ExitError,
  type Controller,
  type Executor,
  type LogLine,
  type LogOptions,
  type RecoveredTask,
  type TaskDependencies,
} from '../../../src/agent/executor/executor.js';
import type { HealthState, NodeDescription, Task } from '../../../src/api/types.js';

export interface ScriptedFailures {
  prepare?: Error;
  start?: Error;
}

export class FakeController implements Controller {
  readonly calls: string[] = [];
  /** Output the task "printed". */
  lines: LogLine[] = [];
  healthState: HealthState | undefined;
  pid = 4242;
  exitCode: number | undefined;
  /** While set, start() waits for it too, like a real start waiting for the first health verdict. */
  startGate: Promise<void> | undefined;
  private exited: { code: number } | undefined;
  private exitWaiters: (() => void)[] = [];

  constructor(
    readonly task: Task,
    private readonly failures: ScriptedFailures = {},
    /** The secrets and configs the agent lets this task use. */
    readonly dependencies?: TaskDependencies,
  ) {}

  /** The process ends with `code`. */
  exit(code: number): void {
    this.exited = { code };
    this.exitCode = code;
    for (const wake of this.exitWaiters.splice(0)) wake();
  }

  get running(): boolean {
    return this.calls.includes('start') && !this.exited;
  }

  async prepare(): Promise<void> {
    this.calls.push('prepare');
    if (this.failures.prepare) throw this.failures.prepare;
  }

  async start(): Promise<void> {
    this.calls.push('start');
    if (this.failures.start) throw this.failures.start;
    await this.startGate;
  }

  async wait(): Promise<void> {
    this.calls.push('wait');
    if (!this.exited) await new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    if (this.exited!.code !== 0) throw new ExitError(this.exited!.code);
  }

  async shutdown(): Promise<void> {
    this.calls.push('shutdown');
    if (!this.exited) this.exit(143);
  }

  async terminate(): Promise<void> {
    this.calls.push('terminate');
    if (!this.exited) this.exit(137);
  }

  async remove(): Promise<void> {
    this.calls.push('remove');
  }

  containerStatus(): { ContainerID?: string; PID?: number; ExitCode?: number } {
    return {
      ContainerID: `proc-${this.task.ID}`,
      ...(this.running ? { PID: this.pid } : {}),
      ...(this.exitCode !== undefined ? { ExitCode: this.exitCode } : {}),
    };
  }

  health(): HealthState | undefined {
    return this.healthState;
  }

  async *logs(options: LogOptions, signal: AbortSignal): AsyncIterable<LogLine> {
    this.calls.push('logs');
    const lines = options.tail !== undefined ? this.lines.slice(-options.tail) : this.lines;
    for (const line of lines) {
      if (line.stream === 'stdout' ? options.stdout : options.stderr) yield line;
    }
    if (!options.follow) return;
    // Following: hold the stream open until the task exits or the reader leaves.
    await new Promise<void>((resolve) => {
      if (this.exited || signal.aborted) return resolve();
      this.exitWaiters.push(resolve);
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }
}

export class FakeExecutor implements Executor {
  readonly controllers = new Map<string, FakeController>();
  /** What `recover()` returns (set by a test before an agent restart). */
  recovered: RecoveredTask[] = [];
  /** Failures to script for tasks created later, by task ID. */
  readonly failures = new Map<string, ScriptedFailures>();
  /** Make every controller call fail for these task IDs at creation. */
  readonly unresolvable = new Set<string>();
  /** Health the controllers of these tasks report from the start. */
  readonly health = new Map<string, HealthState>();
  /** Output of tasks by ID, as their controllers will report it. */
  readonly output = new Map<string, LogLine[]>();
  /** Executor.purge, when a test gives the executor one. */
  purge?: () => Promise<void>;
  /** Executor.watchDescription, when a test gives the executor one. */
  watchDescription?: (listener: () => void) => void;

  async describe(): Promise<NodeDescription> {
    return {
      Hostname: 'fake-host',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 4e9, MemoryBytes: 8 * 2 ** 30 },
      Engine: { EngineVersion: 'fake' },
    };
  }

  controller(task: Task, dependencies?: TaskDependencies): FakeController {
    if (this.unresolvable.has(task.ID)) throw new Error('unsupported task spec');
    // Re-attaching: the same controller (and "process") as before a restart.
    let controller = this.controllers.get(task.ID);
    if (!controller) {
      controller = new FakeController(task, this.failures.get(task.ID), dependencies);
      controller.healthState = this.health.get(task.ID);
      controller.lines = this.output.get(task.ID) ?? [];
      this.controllers.set(task.ID, controller);
    }
    return controller;
  }

  async recover(): Promise<RecoveredTask[]> {
    return this.recovered;
  }

  async close(): Promise<void> {}

  get(taskId: string): FakeController {
    const controller = this.controllers.get(taskId);
    if (!controller) throw new Error(`no controller for ${taskId}`);
    return controller;
  }
}
