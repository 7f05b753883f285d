// Test harness for the process executor: a temporary data dir, executors on it, task objects, and a
// cleanup that leaves nothing behind even when a test fails (tasks, runner, cgroups, files).

import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { newId } from '../../../src/api/ids.js';
import type { ContainerSpec, Task, TaskSpec } from '../../../src/api/types.js';
import type { LogLine } from '../../../src/agent/executor/executor.js';
import { Cgroups } from '../../../src/agent/executor/process/cgroups.js';
import { ProcessExecutor } from '../../../src/agent/executor/process/executor.js';
import type { ExecutorLog } from '../../../src/agent/executor/process/log.js';
import { decodeLogRecord } from '../../../src/agent/executor/process/logformat.js';
import { EXECUTOR_DIR_NAME, executorPaths } from '../../../src/agent/executor/process/paths.js';
import type { Controller } from '../../../src/agent/executor/executor.js';

export const MS = 1e6; // nanoseconds per millisecond, for spec durations

export interface CollectingLog extends ExecutorLog {
  lines: string[];
}

export function collectingLog(): CollectingLog {
  const lines: string[] = [];
  const add = (level: string) => (msg: string) => void lines.push(`${level}: ${msg}`);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

export interface Harness {
  dataDir: string;
  executor: ProcessExecutor;
  log: CollectingLog;
  /** Another executor on the same data dir (a restarted daemon). */
  newExecutor(): ProcessExecutor;
  /** Removes everything now (also registered to run after the test). */
  cleanup(): Promise<void>;
}

/** A harness whose cleanup runs after the test (or suite) `t` — also when it fails. */
export function harness(t?: Pick<TestContext, 'after'>, options: { cgroups?: boolean } = {}): Harness {
  const dataDir = mkdtempSync(join(tmpdir(), 'shoal-exec-test-'));
  const log = collectingLog();
  const executors: ProcessExecutor[] = [];
  const newExecutor = (): ProcessExecutor => {
    const executor = new ProcessExecutor({ dataDir, log, runnerIdleExitMs: 5_000, ...options });
    executors.push(executor);
    return executor;
  };
  let cleaned = false;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    await cleanUpDataDir(dataDir, executors);
  };
  const h = { dataDir, log, executor: newExecutor(), newExecutor, cleanup };
  t?.after(cleanup);
  return h;
}

async function cleanUpDataDir(dataDir: string, executors: ProcessExecutor[]): Promise<void> {
  const root = join(dataDir, EXECUTOR_DIR_NAME);
  // The polite way first: the runner kills its tasks and removes their cgroups.
  const last = executors.at(-1);
  if (last && existsSync(join(root, 'runner.sock'))) {
    await withTimeout(last.shutdownRunner({ purge: true }), 5_000).catch(() => {});
  }
  for (const executor of executors) await executor.close().catch(() => {});
  if (existsSync(root)) {
    // Then by force, for whatever a broken test left: our runner by its exact arguments, our cgroups.
    for (const pid of runnerPids(realpathSync(root))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const cgroups = Cgroups.detect(executorPaths(root).scope);
    for (const taskId of cgroups.taskIds()) await cgroups.remove(taskId).catch(() => {});
    try {
      cgroups.removeScope();
    } catch {
      // a process we could not kill; nothing more to do
    }
  }
  await rm(dataDir, { recursive: true, force: true });
}

/** Runner processes serving this executor root (matched on their exact command line). */
export function runnerPids(root: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      const at = argv.indexOf('--root');
      if (argv.some((arg) => arg.endsWith('runner-main.js')) && at !== -1 && argv[at + 1] === root) {
        pids.push(Number(entry));
      }
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

/** The task's cgroup folders (empty when cgroups are unavailable). */
export function taskCgroupDirs(scope: string, taskId: string): string[] {
  return Cgroups.detect(scope).taskDirs(taskId);
}

export function makeTask(container: ContainerSpec, extra: Partial<TaskSpec> = {}, id = newId()): Task {
  const now = new Date().toISOString();
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: now,
    UpdatedAt: now,
    Spec: { ContainerSpec: { Image: 'busybox:latest', ...container }, ...extra },
    ServiceID: 'service1',
    Slot: 1,
    Status: { Timestamp: now, State: 'assigned', Message: 'scheduler assigned task to node' },
    DesiredState: 'running',
  };
}

/** prepare + start. */
export async function run(controller: Controller): Promise<void> {
  await controller.prepare();
  await controller.start();
}

/** How wait() ended: 'ok' or the error's message (and exit code, when there is one). */
export async function outcome(promise: Promise<void>): Promise<{ message: string; exitCode?: number }> {
  try {
    await promise;
    return { message: 'ok' };
  } catch (err) {
    return { message: (err as Error).message, exitCode: (err as { exitCode?: number }).exitCode };
  }
}

export async function collectLogs(
  controller: Controller,
  options: Partial<Parameters<Controller['logs']>[0]> = {},
  signal = new AbortController().signal,
): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  const full = { follow: false, stdout: true, stderr: true, ...options };
  for await (const line of controller.logs(full, signal)) lines.push(line);
  return lines;
}

export const text = (lines: LogLine[]): string[] => lines.map((line) => line.data.toString());

/** The task's log as stored, read directly (without a controller). */
export function readLog(dataDir: string, taskId: string): LogLine[] {
  let content = '';
  try {
    content = readFileSync(join(dataDir, EXECUTOR_DIR_NAME, 'tasks', taskId, 'log.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return content
    .split('\n')
    .map(decodeLogRecord)
    .filter((line): line is LogLine => line !== undefined);
}

/** Whether the process exists and is not a zombie (an orphan's zombie waits for init to reap it). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function waitFor(
  condition: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]);
}
