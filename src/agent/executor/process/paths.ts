// Where the process executor keeps things. Everything lives under one folder of the daemon's data dir, so
// two daemons with different data dirs (as the test harness runs them) never share a runner, a task or a
// cgroup: the cgroup scope is derived from the same folder.

import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';

/** Name of the executor's folder inside the daemon's data dir. */
export const EXECUTOR_DIR_NAME = 'process-executor';

/** Longest unix socket path Linux accepts (sun_path is 108 bytes including the terminating NUL). */
const MAX_SOCKET_PATH = 107;

export interface ExecutorPaths {
  /** `<dataDir>/process-executor`, mode 0700. */
  readonly root: string;
  /** Identifies this node's runner and cgroups among others on the same machine. */
  readonly scope: string;
  /** The runner's control socket (0600). */
  readonly socket: string;
  /** The runner's own stdout/stderr. */
  readonly runnerLog: string;
  readonly tasksDir: string;
}

/**
 * The layout for an executor root that already exists (the scope hashes its real path, so a symlinked or
 * relative data dir still maps to the same scope).
 */
export function executorPaths(root: string): ExecutorPaths {
  const real = realpathSync(root);
  const scope = scopeFor(real);
  let socket = join(real, 'runner.sock');
  // A deep data dir can exceed the socket path limit; fall back to a short root-only place keyed by scope.
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) socket = join('/run', `shoal-runner-${scope}.sock`);
  return { root: real, scope, socket, runnerLog: join(real, 'runner.log'), tasksDir: join(real, 'tasks') };
}

export function scopeFor(realRoot: string): string {
  return createHash('sha256').update(realRoot).digest('hex').slice(0, 16);
}

export const taskDir = (paths: ExecutorPaths, taskId: string): string => join(paths.tasksDir, taskId);
export const taskLogFile = (paths: ExecutorPaths, taskId: string): string =>
  join(paths.tasksDir, taskId, 'log.jsonl');
export const taskStateFile = (paths: ExecutorPaths, taskId: string): string =>
  join(paths.tasksDir, taskId, 'state.json');

/** Task IDs become path components (task dir, cgroup), so only a safe alphabet is accepted. */
export function isValidTaskId(taskId: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(taskId);
}

export function assertValidTaskId(taskId: string): void {
  if (!isValidTaskId(taskId)) throw new Error(`invalid task ID ${JSON.stringify(taskId)}`);
}

/** A stable 64-hex "container ID" per task, shaped like Docker's, so tools that expect one are content. */
export function containerIdFor(taskId: string): string {
  return createHash('sha256').update(`shoal-process-task\0${taskId}`).digest('hex');
}
