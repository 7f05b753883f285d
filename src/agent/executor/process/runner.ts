// The runner's task table: it spawns task processes, captures their output, records how they end and
// enforces stop signals and grace periods. It is the parent of every task process on the node, so it is
// the one that learns their exit status; the daemon is only its client and may come and go.
//
// Per-task work on the start path is kept to a directory, a file open, one spawn and one small state write:
// starting hundreds of tasks is bounded by fork/exec, not by the runner.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { setOwn } from '../../../api/own.js';
import type { Cgroups } from './cgroups.js';
import { resolveExecutable } from './command.js';
import { buildSpawnCommand, withTaskUmask, type LaunchTools } from './launch.js';
import { TaskLogWriter } from './logwriter.js';
import { hostStat, planMounts, writeTaskFiles, type MountPlan } from './mounts.js';
import { containerIdFor, taskDir, taskLogFile, type ExecutorPaths, assertValidTaskId } from './paths.js';
import { runProbeProcess } from './probe.js';
import { namespaceInit, processStartTime, isSameProcess, sendSignal } from './procfs.js';
import {
  NO_SUCH_TASK_PREFIX,
  type LaunchFile,
  type LaunchSpec,
  type ProbeResult,
  type ProbeSpec,
  type StartResult,
  type TaskInfo,
} from './protocol.js';
import { exitCodeOf, parseSignal } from './signals.js';
import { infoOf, loadTaskStates, writeTaskState, type TaskRecord } from './statefile.js';
import { nowTimestampNanos } from './timestamps.js';
import { TASK_CORE_LIMIT_ENV, withTaskCoreLimit } from './core-limit.js';

/** How long to wait for a task's pipes to close after its main process exited (see onExit). */
const PIPE_DRAIN_TIMEOUT_MS = 2000;

/** Docker's code for a container whose status was lost while nobody watched it. */
const EXIT_CODE_UNKNOWN = 255;
const LOST_WHILE_UNSUPERVISED = 'task runner stopped unexpectedly';

/**
 * How many tombstones are kept (the oldest go first). A start request lags its task's stop by moments, not
 * by thousands of later stops; the bound keeps a long-lived runner's memory flat.
 */
const MAX_TOMBSTONES = 10_000;

export interface RunnerOptions {
  paths: ExecutorPaths;
  cgroups: Cgroups;
  tools: LaunchTools;
  log: (message: string) => void;
}

type SpawnedChild = ChildProcess & { pid: number };

interface RunnerTask {
  record: TaskRecord;
  child?: ChildProcess;
  /**
   * The main process has been reaped (the record still says running while its output drains). From then
   * on its pid may be reused, so nothing is sent to the pid or its group any more.
   */
  mainExited: boolean;
  /** Resolves with the final record once the process has exited and its logs and state are written. */
  exited: Promise<TaskInfo>;
  markExited: (info: TaskInfo) => void;
  /** State writes are chained so a later write never lands before an earlier one. */
  persisted: Promise<void>;
  stopDeadline?: number;
  stopTimer?: NodeJS.Timeout;
  probes: Set<ChildProcess>;
}

export class Runner {
  private readonly tasks = new Map<string, RunnerTask>();
  /**
   * Task IDs stopped, killed or removed while the runner had no process for them, and removed tasks: a
   * later `start` of one is refused. A stop can overtake its task's start (the daemon gave up on the
   * start without cancelling it); started after that, the process would run with nobody to stop it.
   * A backstop, kept in memory only: the controller itself never sends a start after a stop.
   */
  private readonly tombstones = new Set<string>();
  /** Starts under way (a task with files is recorded only once they are written). */
  private readonly starting = new Map<string, Promise<StartResult>>();

  constructor(private readonly options: RunnerOptions) {}

  /**
   * Loads the records of an earlier runner. Tasks that were running then have been without a supervisor
   * (their output pipes are gone with it): whatever is left of them is killed, and they are recorded as
   * ended, so each task ID keeps exactly one outcome and is never started again.
   */
  async recover(): Promise<void> {
    const { cgroups, paths } = this.options;
    const lost: RunnerTask[] = [];
    for (const record of loadTaskStates(paths.tasksDir)) {
      const task = this.track(record);
      if (record.state === 'exited') task.markExited(infoOf(record));
      else lost.push(task);
    }
    // All kills first, then all waits: hundreds of leftovers cost one wait, not one each.
    const outcomes = await Promise.all(
      lost.map(async ({ record }) => {
        if (cgroups.enabled) {
          const alive = cgroups.pids(record.taskId).length > 0;
          await cgroups.killAllAndWait(record.taskId);
          return alive;
        }
        const alive =
          record.processStartTime !== undefined && isSameProcess(record.pid, record.processStartTime);
        if (alive) killProcessGroup(record.pid);
        return alive;
      }),
    );
    await Promise.all(
      lost.map(async (task, i) => {
        const alive = outcomes[i]!;
        Object.assign(task.record, {
          state: 'exited',
          exitCode: alive ? 128 + 9 : EXIT_CODE_UNKNOWN,
          finishedAt: nowTimestampNanos(),
          error: LOST_WHILE_UNSUPERVISED,
        } satisfies Partial<TaskRecord>);
        this.options.log(
          `task ${task.record.taskId}: ${alive ? 'killed leftover processes' : 'found gone'} after a runner restart`,
        );
        await this.persist(task);
        task.markExited(infoOf(task.record));
      }),
    );
    // Processes in cgroups of tasks without a record (a runner that died between spawn and first state
    // write) have no supervisor either.
    for (const taskId of cgroups.taskIds()) {
      if (cgroups.killAll(taskId)) this.options.log(`task ${taskId}: killed unrecorded leftover processes`);
    }
  }

  get runningCount(): number {
    let count = 0;
    for (const task of this.tasks.values()) if (task.record.state === 'running') count++;
    return count;
  }

  list(): TaskInfo[] {
    return [...this.tasks.values()].map((task) => infoOf(task.record));
  }

  inspect(taskId: string): TaskInfo | null {
    const task = this.tasks.get(taskId);
    return task ? infoOf(task.record) : null;
  }

  /**
   * Starts the task's process. With `files` (its secrets and configs), the process gets a mount namespace
   * of its own where they are mounted (mounts.ts) before its command runs; the start fails, and nothing
   * is left running, if that cannot be done. The files are never written anywhere but the task's tmpfs.
   */
  async start(taskId: string, spec: LaunchSpec, files?: readonly LaunchFile[]): Promise<StartResult> {
    assertValidTaskId(taskId);
    const existing = this.tasks.get(taskId);
    if (existing) {
      await existing.persisted;
      return { ...infoOf(existing.record), alreadyStarted: true };
    }
    // The same start again (a client resending after a lost connection) while the first is still writing
    // the task's files: one process, whose answer both get.
    const starting = this.starting.get(taskId);
    if (starting) return { ...(await starting), alreadyStarted: true };
    const started = this.startNew(taskId, spec, files);
    this.starting.set(taskId, started);
    try {
      return await started;
    } finally {
      this.starting.delete(taskId);
    }
  }

  private async startNew(
    taskId: string,
    spec: LaunchSpec,
    files?: readonly LaunchFile[],
  ): Promise<StartResult> {
    if (this.tombstones.has(taskId)) {
      throw new Error(`task ${taskId} was stopped or removed before it started; it will not be started`);
    }
    const { paths, cgroups, tools } = this.options;
    mkdirSync(taskDir(paths, taskId), { recursive: true, mode: 0o700 });
    let launch = spec;
    let mounts: { plan: MountPlan<LaunchFile>; stage: string; words: string[] } | undefined;
    if (files && files.length > 0) {
      // The tmpfs's mount point: an empty directory on the host; the tmpfs is in the task's namespace only.
      const stage = join(taskDir(paths, taskId), 'files');
      mkdirSync(stage, { recursive: true, mode: 0o700 });
      const plan = planMounts(files, stage, hostStat);
      mounts = { plan, stage, words: [stage, launch.cwd, ...plan.ops] };
      launch = { ...launch, mountNamespace: true };
    }
    const command = withTaskCoreLimit(
      buildSpawnCommand(
        launch,
        { joinFiles: cgroups.joinFiles(taskId), ...(mounts ? { fileMounts: mounts.words } : {}) },
        tools,
      ),
      process.env[TASK_CORE_LIMIT_ENV],
      tools.prlimit,
    );
    const logWriter = new TaskLogWriter(taskLogFile(paths, taskId), (err) =>
      this.options.log(`task ${taskId}: writing log failed: ${err.message}`),
    );
    // With files, fd 3 is the files step's line to the runner (a socket pair).
    const stdio: StdioOptions = mounts ? ['ignore', 'pipe', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe'];
    let child: ChildProcess;
    try {
      child = withTaskUmask(() =>
        spawn(command.file, command.args, {
          cwd: launch.cwd,
          env: envObject(launch.env),
          detached: true, // own session and process group: the daemon's and runner's signals do not reach it
          stdio,
        }),
      );
    } catch (err) {
      await logWriter.close(); // e.g. an argument with a NUL byte: refused before anything ran
      throw err;
    }
    if (child.pid === undefined) {
      // Spawn failed (the error event follows); nothing was started, so nothing is recorded.
      const error = await new Promise<Error>((resolve) => child.once('error', resolve));
      await logWriter.close();
      throw new Error(error.message);
    }
    if (mounts) {
      const capturing = Promise.all([
        logWriter.capture(child.stdout!, 'stdout'),
        logWriter.capture(child.stderr!, 'stderr'),
      ]);
      try {
        await writeTaskFiles(child.pid, child.stdio[3] as Socket, mounts.stage, mounts.plan, () =>
          child.exitCode !== null || child.signalCode !== null ? 'the task exited' : undefined,
        );
        // A stop or removal that came while the files were written found no task and buried it: the task
        // must not go on running unrecorded.
        if (this.tombstones.has(taskId)) {
          throw new Error(`task ${taskId} was stopped or removed while it was starting; it will not run`);
        }
      } catch (err) {
        // Nothing of the task may run on without its files: it is killed, and never recorded as started.
        const exited = new Promise<void>((resolve) =>
          child.exitCode !== null || child.signalCode !== null
            ? resolve()
            : child.once('exit', () => resolve()),
        );
        killProcessGroup(child.pid);
        if (cgroups.enabled) cgroups.killAll(taskId);
        await exited;
        await Promise.race([capturing, new Promise((resolve) => setTimeout(resolve, PIPE_DRAIN_TIMEOUT_MS))]);
        await logWriter.close();
        throw err;
      }
      return this.started(taskId, child as SpawnedChild, launch, logWriter, capturing);
    }
    return this.started(taskId, child as SpawnedChild, launch, logWriter);
  }

  /** Records a spawned task's process and follows its output and exit. */
  private async started(
    taskId: string,
    child: SpawnedChild,
    launch: LaunchSpec,
    logWriter: TaskLogWriter,
    capturing?: Promise<unknown>,
  ): Promise<StartResult> {
    const record: TaskRecord = {
      taskId,
      pid: child.pid,
      startedAt: nowTimestampNanos(),
      state: 'running',
      processStartTime: processStartTime(child.pid),
      launch,
    };
    const task = this.track(record);
    task.child = child;
    const captured =
      capturing ??
      Promise.all([logWriter.capture(child.stdout!, 'stdout'), logWriter.capture(child.stderr!, 'stderr')]);
    if (child.exitCode !== null || child.signalCode !== null) {
      // Exited while its files were being mounted (the exit event has been and gone).
      void this.onExit(task, child.exitCode, child.signalCode, captured, logWriter);
    } else {
      child.once('exit', (code, signal) => void this.onExit(task, code, signal, captured, logWriter));
    }
    await this.persist(task);
    return { ...infoOf(record), alreadyStarted: false };
  }

  wait(taskId: string): Promise<TaskInfo> {
    return this.get(taskId).exited;
  }

  /** Docker's stop: the stop signal to the main process, then SIGKILL to all of the task's processes. */
  stop(taskId: string, signal: string, graceMs: number): Promise<TaskInfo> {
    const task = this.getOrBury(taskId);
    if (task.record.state !== 'running' || task.mainExited) return task.exited;
    sendSignal(mainProcess(task.record), parseSignal(signal));
    const deadline = Date.now() + Math.max(0, graceMs);
    // A second stop never extends the first one's deadline.
    if (task.stopDeadline === undefined || deadline < task.stopDeadline) {
      clearTimeout(task.stopTimer);
      task.stopDeadline = deadline;
      task.stopTimer = setTimeout(() => this.killTask(task), Math.max(0, graceMs));
    }
    return task.exited;
  }

  kill(taskId: string): Promise<TaskInfo> {
    const task = this.getOrBury(taskId);
    if (task.record.state === 'running') this.killTask(task);
    return task.exited;
  }

  /** Forgets an exited task and deletes its folder (logs included) and cgroups; it is never started again. */
  async remove(taskId: string): Promise<void> {
    assertValidTaskId(taskId);
    const task = this.tasks.get(taskId);
    if (task?.record.state === 'running') {
      throw new Error(
        `You cannot remove a running container ${containerIdFor(taskId)}. Stop the container before attempting removal or force remove`,
      );
    }
    this.bury(taskId);
    if (task) {
      await task.exited;
      await task.persisted;
      this.tasks.delete(taskId);
    }
    await this.options.cgroups.remove(taskId);
    await rm(taskDir(this.options.paths, taskId), { recursive: true, force: true });
  }

  /** Runs a health probe with the task's environment, user, working dir, cgroups and hostname. */
  async probe(spec: ProbeSpec): Promise<ProbeResult> {
    const task = this.get(spec.taskId);
    if (task.record.state !== 'running')
      throw new Error(`container ${containerIdFor(spec.taskId)} is not running`);
    const start = nowTimestampNanos();
    let argv: string[];
    try {
      const [name = '', ...args] = spec.argv;
      argv = [await resolveExecutable(name, task.record.launch.env, task.record.launch.cwd), ...args];
    } catch (err) {
      // Docker's text when the exec of a probe cannot start.
      const output = `OCI runtime exec failed: exec failed: unable to start container process: ${(err as Error).message}: unknown`;
      return { exitCode: -1, output, start, end: nowTimestampNanos(), timedOut: false };
    }
    const launch = { ...task.record.launch, argv };
    const command = buildSpawnCommand(
      launch,
      { joinFiles: this.options.cgroups.joinFiles(spec.taskId), enterNamespaceOf: mainProcess(task.record) },
      this.options.tools,
    );
    const probe = runProbeProcess(command, {
      env: envObject(launch.env),
      cwd: launch.cwd,
      timeoutMs: spec.timeoutMs,
    });
    if (probe.child) task.probes.add(probe.child);
    try {
      return await probe.result;
    } finally {
      if (probe.child) task.probes.delete(probe.child);
    }
  }

  /**
   * Kills every running task and waits for them. `purge` (the node leaves the swarm) also deletes every
   * task's folder and all cgroups of this scope, so that nothing of the tasks survives, not even a record
   * for the next runner to report.
   */
  async shutdown(purge: boolean): Promise<void> {
    const running = [...this.tasks.values()].filter((task) => task.record.state === 'running');
    for (const task of running) this.killTask(task);
    await Promise.all(running.map((task) => task.exited));
    if (!purge) return;
    await Promise.all([...this.tasks.values()].map((task) => task.persisted));
    for (const taskId of this.tasks.keys()) this.bury(taskId);
    this.tasks.clear();
    const { cgroups, paths } = this.options;
    const folders = await readdir(paths.tasksDir).catch(() => []);
    await Promise.all(
      folders.map((name) => rm(join(paths.tasksDir, name), { recursive: true, force: true })),
    );
    for (const taskId of cgroups.taskIds()) await cgroups.remove(taskId);
    cgroups.removeScope();
  }

  private get(taskId: string): RunnerTask {
    const task = this.tasks.get(taskId);
    if (!task) throw noSuchTask(taskId);
    return task;
  }

  /** The task, or — for a task ID without a process — a tombstone and the "no such container" error. */
  private getOrBury(taskId: string): RunnerTask {
    const task = this.tasks.get(taskId);
    if (task) return task;
    assertValidTaskId(taskId);
    this.bury(taskId);
    throw noSuchTask(taskId);
  }

  private bury(taskId: string): void {
    this.tombstones.delete(taskId); // re-inserted as the newest
    this.tombstones.add(taskId);
    if (this.tombstones.size > MAX_TOMBSTONES) {
      const oldest = this.tombstones.values().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
  }

  private track(record: TaskRecord): RunnerTask {
    let markExited!: (info: TaskInfo) => void;
    const exited = new Promise<TaskInfo>((resolve) => (markExited = resolve));
    const task: RunnerTask = {
      record,
      mainExited: false,
      exited,
      markExited,
      persisted: Promise.resolve(),
      probes: new Set(),
    };
    this.tasks.set(record.taskId, task);
    return task;
  }

  private persist(task: RunnerTask): Promise<void> {
    const snapshot: TaskRecord = { ...task.record };
    const dir = taskDir(this.options.paths, task.record.taskId);
    task.persisted = task.persisted
      .then(() => writeTaskState(dir, snapshot))
      .catch((err: Error) =>
        this.options.log(`task ${task.record.taskId}: writing state failed: ${err.message}`),
      );
    return task.persisted;
  }

  private killTask(task: RunnerTask): void {
    const { cgroups } = this.options;
    if (cgroups.enabled) cgroups.killAll(task.record.taskId);
    if (!task.mainExited) killProcessGroup(task.record.pid);
  }

  /**
   * The main process is gone. Like a container whose init exits, the rest of the task goes with it; then
   * the output still in the pipes is written, and only then is the exit recorded and announced, so that
   * whoever learns of the exit finds the complete log.
   */
  private async onExit(
    task: RunnerTask,
    code: number | null,
    signal: NodeJS.Signals | null,
    captured: Promise<unknown>,
    logWriter: TaskLogWriter,
  ): Promise<void> {
    const finishedAt = nowTimestampNanos();
    clearTimeout(task.stopTimer);
    this.killTask(task); // the group's id is still the task's right after the reap: no pid reuse yet
    task.mainExited = true;
    for (const probe of task.probes) if (probe.pid !== undefined) sendSignal(-probe.pid, 'SIGKILL');
    // A process that escaped the task's cgroup or group may still hold the pipes: do not wait for it forever.
    let drainTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      captured,
      new Promise<void>((resolve) => {
        drainTimer = setTimeout(() => {
          task.child?.stdout?.destroy();
          task.child?.stderr?.destroy();
          resolve();
        }, PIPE_DRAIN_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(drainTimer);
    await logWriter.close();
    Object.assign(task.record, {
      state: 'exited',
      exitCode: exitCodeOf(code, signal),
      signal: signal ?? undefined,
      finishedAt,
    } satisfies Partial<TaskRecord>);
    task.child = undefined;
    await this.persist(task);
    task.markExited(infoOf(task.record));
  }
}

function noSuchTask(taskId: string): Error {
  return new Error(`${NO_SUCH_TASK_PREFIX}${containerIdFor(taskId)} (task ${taskId})`);
}

/**
 * The task's own process: the recorded pid, or for a task with a PID namespace the namespace's init that
 * unshare forked (before it has, unshare itself: it blocks SIGTERM and SIGINT, and takes the task with it
 * on any other signal that ends it).
 */
function mainProcess(record: TaskRecord): number {
  return (record.launch.network && namespaceInit(record.pid)) || record.pid;
}

/** SIGKILL to the task's process group (its pid is the group's id: tasks are spawned detached). */
function killProcessGroup(pid: number): void {
  sendSignal(-pid, 'SIGKILL');
}

function envObject(env: readonly string[]): NodeJS.ProcessEnv {
  const result: NodeJS.ProcessEnv = {};
  for (const entry of env) {
    const equals = entry.indexOf('=');
    // A variable named `__proto__` is the user's too: an own entry, not the object's prototype.
    if (equals > 0) setOwn(result, entry.slice(0, equals), entry.slice(equals + 1));
  }
  return result;
}
