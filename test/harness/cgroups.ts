// The cgroups a shoald's task runner made for its tasks (`<hierarchy>/shoal/<scope>/<taskId>`, the
// scope derived from the data dir). Killing a host leaves them behind, empty; cleanup removes them, and
// the processes still in them are part of "everything this daemon started".

import { existsSync, readdirSync, readFileSync, realpathSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { EXECUTOR_DIR_NAME, scopeFor } from '../../src/agent/executor/process/paths.js';
import { isProcessAlive } from './procs.js';

/** Where shoal's cgroup folders live inside every hierarchy (src/agent/executor/process/cgroups.ts). */
const CGROUP_PARENT = 'shoal';

/** The executor scope of a data dir, or undefined when the dir no longer exists. */
export function executorScope(dataDir: string): string | undefined {
  try {
    const root = join(realpathSync(dataDir), EXECUTOR_DIR_NAME);
    return scopeFor(existsSync(root) ? realpathSync(root) : root);
  } catch {
    return undefined;
  }
}

function cgroupMounts(): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return [];
  }
  const mounts: string[] = [];
  for (const line of text.split('\n')) {
    const [, path, type] = line.split(' ');
    if ((type === 'cgroup' || type === 'cgroup2') && path) mounts.push(path.replace(/\\040/g, ' '));
  }
  return mounts;
}

/** The scope's folders that exist, one per hierarchy. */
export function scopeCgroupDirs(scope: string): string[] {
  return cgroupMounts()
    .map((mount) => join(mount, CGROUP_PARENT, scope))
    .filter((dir) => existsSync(dir));
}

/**
 * A test dockerd's cgroup tree (`--cgroup-parent /<parent>`: `<hierarchy>/<parent>/<container id>`), one
 * per hierarchy, the deepest folders first.
 */
export function cgroupTreeDirs(parent: string): string[] {
  const dirs: string[] = [];
  const walk = (dir: string): void => {
    for (const child of childDirs(dir)) walk(child);
    dirs.push(dir);
  };
  for (const mount of cgroupMounts()) {
    const root = join(mount, parent);
    if (existsSync(root)) walk(root);
  }
  return dirs;
}

/** Live processes anywhere in a cgroup tree (a test dockerd's containers). */
export function pidsInCgroupTree(parent: string): number[] {
  const pids = new Set<number>();
  for (const dir of cgroupTreeDirs(parent)) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) {
        if (line !== '' && isProcessAlive(Number(line))) pids.add(Number(line));
      }
    } catch {
      // removed meanwhile
    }
  }
  return [...pids];
}

/** Removes a cgroup tree's (empty) folders; best effort. */
export function removeCgroupTree(parent: string): void {
  for (const dir of cgroupTreeDirs(parent)) tryRmdir(dir);
}

function childDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  } catch {
    return [];
  }
}

/** Live processes in the scope's cgroups (its task cgroups and the scope itself). */
export function pidsInScope(scopeDirs: readonly string[]): number[] {
  const pids = new Set<number>();
  for (const dir of scopeDirs) {
    for (const group of [dir, ...childDirs(dir)]) {
      try {
        for (const line of readFileSync(join(group, 'cgroup.procs'), 'utf8').split('\n')) {
          if (line !== '' && isProcessAlive(Number(line))) pids.add(Number(line));
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

/** Removes the (empty) task cgroups and the scope folders; best effort. */
export function removeScope(scope: string): void {
  for (const dir of scopeCgroupDirs(scope)) {
    for (const group of childDirs(dir)) tryRmdir(group);
    tryRmdir(dir);
  }
  // A data dir too deep for a unix socket path puts the runner's socket here (paths.ts).
  rmSync(join('/run', `shoal-runner-${scope}.sock`), { force: true });
}

function tryRmdir(dir: string): void {
  try {
    rmdirSync(dir); // cgroup folders go with rmdir, never by deleting their files
  } catch {
    // not empty yet or already gone: nothing more we can do here
  }
}
