// The process executor: shoal's embedded default, which runs a task's command as a host process. The
// processes belong to a per-node runner (runner-main.ts) that outlives the daemon; this class is the
// daemon's side — it describes the node, hands out controllers and reports what the runner still has
// after a daemon restart.
//
//   const executor = new ProcessExecutor({ dataDir, log });
//   const recovered = await executor.recover();   // starts the runner, or finds the one still running
//   const controller = executor.controller(task); // re-attaches if the runner already has the task
//   …
//   await executor.close();                       // the runner and its tasks keep running
//   await executor.purge();                       // or, leaving the swarm: nothing survives

import { chmod, mkdir } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Labels, NodeDescription, Task, TaskStatus } from '../../../api/types.js';
import type { Controller, Executor, RecoveredTask, TaskDependencies, TaskNetworks } from '../executor.js';
import { Cgroups } from './cgroups.js';
import { RunnerClient } from './client.js';
import { ProcessController } from './controller.js';
import { describeNode } from './describe.js';
import type { Clock } from '../../../api/clock.js';
import type { ExecutorLog } from './log.js';
import { containerIdFor, EXECUTOR_DIR_NAME, executorPaths, type ExecutorPaths } from './paths.js';
import type { HelloResult, TaskInfo } from './protocol.js';

export interface ProcessExecutorOptions {
  /** The daemon's data dir; the executor uses `<dataDir>/process-executor`. */
  dataDir: string;
  /** The node's hostname as reported to managers (default: the host's). */
  hostname?: string;
  engineLabels?: Labels;
  log: ExecutorLog;
  /** How long a runner with no tasks and no clients lingers before exiting (default 60 s). */
  runnerIdleExitMs?: number;
  /**
   * false: run tasks without cgroups (no limits; tasks are tracked by process group). Applies to a runner
   * this executor starts; a runner already serving the data dir keeps its own setting.
   */
  cgroups?: boolean;
  /** Clock for health checks (tests). */
  clock?: Clock;
  /** The node's networking, which prepares the namespace of a task on overlay networks. */
  networks?: TaskNetworks;
}

interface ExecutorState {
  paths: ExecutorPaths;
  cgroups: Cgroups;
  client: RunnerClient;
}

export class ProcessExecutor implements Executor {
  private readonly controllers = new Map<string, ProcessController>();
  private readonly state: Promise<ExecutorState>;

  constructor(private readonly options: ProcessExecutorOptions) {
    this.state = this.setUp();
    // Every operation awaits the set-up and reports its failure; keep it from also being "unhandled".
    this.state.catch(() => {});
  }

  async describe(): Promise<NodeDescription> {
    return describeNode({ hostname: this.options.hostname, engineLabels: this.options.engineLabels });
  }

  controller(task: Task, dependencies?: TaskDependencies): Controller {
    let controller = this.controllers.get(task.ID);
    if (!controller) {
      const root = process.getuid?.() === 0;
      controller = new ProcessController(
        task,
        {
          ready: () => this.state,
          nodeHostname: this.options.hostname ?? osHostname(),
          canSetHostname: root,
          canMountFiles: root,
          log: this.options.log,
          clock: this.options.clock,
          onRemoved: (taskId) => this.controllers.delete(taskId),
          ...(this.options.networks ? { networks: this.options.networks } : {}),
        },
        dependencies,
      );
      this.controllers.set(task.ID, controller);
    }
    return controller;
  }

  async recover(): Promise<RecoveredTask[]> {
    const { client } = await this.state;
    return (await client.request('list', {})).map(recoveredTask);
  }

  /** Closes the connection to the runner; the runner and the tasks keep running. */
  async close(): Promise<void> {
    const state = await this.state.catch(() => undefined);
    state?.client.close();
  }

  /** The runner's identity (pid, scope, cgroup driver), starting it if needed. */
  async runnerInfo(): Promise<HelloResult> {
    const { client } = await this.state;
    return client.hello();
  }

  /**
   * Stops every task and the runner itself — for `swarm leave` and tests, not for a daemon restart.
   * `purge` also deletes the tasks' folders (logs and records) and cgroups.
   */
  async shutdownRunner(options: { purge?: boolean } = {}): Promise<void> {
    const { client } = await this.state;
    await client.request('shutdown', { purge: options.purge ?? false });
    client.close();
  }

  /**
   * Executor.purge, for `swarm leave`: kills every task, deletes everything they left and stops the
   * runner. This executor can do nothing more afterwards.
   */
  async purge(): Promise<void> {
    await this.shutdownRunner({ purge: true });
  }

  private async setUp(): Promise<ExecutorState> {
    const root = join(this.options.dataDir, EXECUTOR_DIR_NAME);
    await mkdir(root, { recursive: true, mode: 0o700 });
    await chmod(root, 0o700); // the runner's socket lives here: root only
    const paths = executorPaths(root);
    await mkdir(paths.tasksDir, { recursive: true, mode: 0o700 });
    const { log, runnerIdleExitMs } = this.options;
    const useCgroups = this.options.cgroups ?? true;
    const cgroups = useCgroups
      ? Cgroups.detect(paths.scope, { warn: (message) => log.warn(message) })
      : Cgroups.disabled(paths.scope);
    const client = new RunnerClient({ paths, log, runnerIdleExitMs, cgroups: useCgroups });
    return { paths, cgroups, client };
  }
}

/** How the agent sees a task the runner reported after a daemon restart. */
export function recoveredTask(info: TaskInfo): RecoveredTask {
  const ContainerID = containerIdFor(info.taskId);
  if (info.state === 'running') {
    return {
      taskId: info.taskId,
      running: true,
      status: { State: 'running', ContainerStatus: { ContainerID, PID: info.pid } },
    };
  }
  const code = info.exitCode ?? 255;
  const status: Pick<TaskStatus, 'State' | 'Err' | 'ContainerStatus'> = {
    State: code === 0 ? 'complete' : 'failed',
    ContainerStatus: { ContainerID, ExitCode: code },
  };
  if (code !== 0) status.Err = `task: non-zero exit (${code})${info.error ? `: ${info.error}` : ''}`;
  return { taskId: info.taskId, running: false, status };
}
