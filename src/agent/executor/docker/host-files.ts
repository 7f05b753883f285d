// Where a docker task's secrets and configs are on the host (moby daemon/container_operations_unix.go
// setupSecretDir): a tmpfs of the task's own — mode 0700, nosuid, nodev, noexec — holding one file per
// reference with the reference's owner and mode, remounted read-only once written, from which each file is
// bind-mounted read-only into the container at its target (spec.ts). It is unmounted when the task is
// removed, and everything of the node's when it leaves the swarm.
//
// The tmpfs is mounted outside the daemon's data dir, below /run/shoal/task-files/<scope> (`scope` tells
// daemons with different data dirs apart): secrets are only ever in memory, never below the data dir, not
// even through a mount. The engine must see the host's mounts, so this works only for an engine on this
// host (behind a unix socket); the controller refuses such tasks for another.

import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TaskFile } from '../task-files.js';
import { taskFileMounts, type EngineMount } from './spec.js';

const run = promisify(execFile);

/** Below this, each data dir's tasks' tmpfs mounts. */
export const TASK_FILES_ROOT = '/run/shoal/task-files';

/** The folder of a data dir's task files: stable for the data dir, whatever path led to it. */
export function taskFilesDir(dataDir: string): string {
  let real = dataDir;
  try {
    real = realpathSync(dataDir);
  } catch {
    // not there (yet): its path as given
  }
  return join(TASK_FILES_ROOT, createHash('sha256').update(real).digest('hex').slice(0, 16));
}

/** What the docker executor needs of the place its tasks' files live. */
export interface TaskFileStore {
  /** Makes the task's files (replacing any it had): the mounts that put them into its container. */
  put(taskId: string, files: readonly TaskFile[]): Promise<EngineMount[]>;
  /** Unmounts and deletes the task's files; nothing if it has none. */
  remove(taskId: string): Promise<void>;
  /** Unmounts and deletes every task's files. */
  purge(): Promise<void>;
}

/** Task IDs become a path component: the alphabet swarmkit's IDs use, and nothing that climbs. */
function assertTaskId(taskId: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(taskId))
    throw new Error(`invalid task ID ${JSON.stringify(taskId)}`);
}

export class HostTaskFiles implements TaskFileStore {
  constructor(readonly root: string) {}

  async put(taskId: string, files: readonly TaskFile[]): Promise<EngineMount[]> {
    assertTaskId(taskId);
    const dir = join(this.root, taskId);
    await this.remove(taskId); // what an earlier attempt left
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(dir, { mode: 0o700 });
    try {
      await run('mount', ['-t', 'tmpfs', '-o', 'mode=0700,nosuid,nodev,noexec', 'shoal-task-files', dir]);
    } catch (err) {
      throw new Error(`unable to setup secret mount: ${mountError(err)}`);
    }
    try {
      const mounts = taskFileMounts(files, dir);
      for (const [i, file] of files.entries()) {
        const path = mounts[i]!.Source!;
        try {
          await writeFile(path, file.data, { mode: 0o600, flag: 'wx' });
          await chown(path, file.uid, file.gid);
          await chmod(path, file.mode);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code ?? 'error';
          throw new Error(`error injecting ${file.kind} ${JSON.stringify(file.name)}: ${code}`);
        }
      }
      try {
        await run('mount', ['-o', 'remount,ro', dir]);
      } catch (err) {
        throw new Error(`unable to remount dir as readonly: ${mountError(err)}`);
      }
      return mounts;
    } catch (err) {
      await this.remove(taskId).catch(() => undefined);
      throw err;
    }
  }

  async remove(taskId: string): Promise<void> {
    assertTaskId(taskId);
    const dir = join(this.root, taskId);
    if (await mounted(dir)) {
      try {
        await run('umount', [dir]);
      } catch {
        // Busy (the engine still binds it): detached now, freed when the last user goes.
        await run('umount', ['-l', dir]).catch(() => undefined);
      }
    }
    await rm(dir, { recursive: true, force: true });
  }

  async purge(): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.root);
    } catch {
      return;
    }
    for (const taskId of entries) await this.remove(taskId).catch(() => undefined);
    await rm(this.root, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Whether something is mounted at `dir` (in this process's namespace). */
async function mounted(dir: string): Promise<boolean> {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return true; // cannot tell: try to unmount
  }
  const octal = (path: string): string =>
    path.replace(/[\\ \t\n]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  const wanted = octal(dir);
  return text.split('\n').some((line) => line.split(' ')[4] === wanted);
}

/** mount's own words (its stderr), without the command line. */
function mountError(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  return typeof stderr === 'string' && stderr.trim() ? stderr.trim() : (err as Error).message;
}
