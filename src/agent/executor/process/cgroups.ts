// Task cgroups. Every task gets `shoal/<scope>/<taskId>` in each hierarchy we use (cgroup v1: memory, cpu and
// pids; cgroup v2: the unified tree). They carry the resource limits and, as important, they are how
// a task's processes are found again: a restarted runner kills whatever is left in them, and stopping a
// task kills every process in it, not only the main one. The scope (one per data dir) keeps daemons that
// share a machine out of each other's tasks.
//
// When no hierarchy is writable the executor still runs tasks, without limits, and falls back to
// process-group kills (see runner.ts); that is logged once.

import { mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendSignal } from './procfs.js';

export type CgroupDriver = 'v1' | 'v2' | 'none';

/** The controllers shoal sets limits with. */
export type CgroupController = 'memory' | 'cpu' | 'pids';
const CONTROLLERS: readonly CgroupController[] = ['memory', 'cpu', 'pids'];

export interface TaskLimits {
  memoryBytes?: number;
  /** Soft limit (Docker's MemoryReservation, from Resources.Reservations.MemoryBytes). */
  memoryReservationBytes?: number;
  nanoCpus?: number;
  pids?: number;
}

/** Docker's CFS period for NanoCPUs. */
export const CPU_PERIOD_US = 100_000;
/** The kernel refuses quotas below 1 ms. */
const MIN_CPU_QUOTA_US = 1_000;

const CGROUP_ROOT = '/sys/fs/cgroup';
const PARENT = 'shoal';

interface Hierarchy {
  /** Mount point of the hierarchy. */
  mount: string;
  /** Controllers usable in it (v2: those enabled for our subtree). */
  controllers: Set<CgroupController>;
}

export interface CgroupsOptions {
  /** Where to look for mounts; a test can point this at a fake. */
  mountsFile?: string;
  warn?: (message: string) => void;
}

export class Cgroups {
  private constructor(
    readonly driver: CgroupDriver,
    private readonly hierarchies: readonly Hierarchy[],
    readonly scope: string,
  ) {}

  /**
   * Finds the cgroup hierarchies and makes sure this scope's folder exists in each. v1 is used when its
   * controllers are mounted (including "hybrid" machines that also mount an empty unified tree), v2 when
   * the unified tree is the only one. Synchronous: done once, at start-up.
   */
  static detect(scope: string, options: CgroupsOptions = {}): Cgroups {
    const warn = options.warn ?? (() => {});
    const mounts = readCgroupMounts(options.mountsFile ?? '/proc/self/mounts');
    const v1 = mounts.filter((m) => m.type === 'cgroup' && m.controllers.size > 0);
    if (v1.length > 0) {
      const usable: Hierarchy[] = [];
      const problems: string[] = [];
      for (const controller of CONTROLLERS) {
        const mount = v1.find((m) => m.controllers.has(controller));
        if (!mount) {
          problems.push(`${controller}: not mounted`);
          continue;
        }
        const existing = usable.find((h) => h.mount === mount.path);
        if (existing) {
          existing.controllers.add(controller);
          continue;
        }
        const error = tryMkdir(join(mount.path, PARENT, scope));
        if (error) problems.push(`${controller}: ${error}`);
        else usable.push({ mount: mount.path, controllers: new Set([controller]) });
      }
      if (usable.length > 0) {
        if (problems.length > 0) warn(`cgroup v1: some controllers are unusable (${problems.join('; ')})`);
        return new Cgroups('v1', usable, scope);
      }
      return Cgroups.none(scope, warn, `no writable cgroup v1 hierarchy (${problems.join('; ')})`);
    }
    const unified =
      mounts.find((m) => m.type === 'cgroup2' && m.path === CGROUP_ROOT) ??
      mounts.find((m) => m.type === 'cgroup2');
    if (unified) return Cgroups.detectV2(unified.path, scope, warn);
    return Cgroups.none(scope, warn, 'no cgroup hierarchy is mounted');
  }

  private static detectV2(mount: string, scope: string, warn: (message: string) => void): Cgroups {
    const scopeDir = join(mount, PARENT, scope);
    const error = tryMkdir(scopeDir);
    if (error) return Cgroups.none(scope, warn, `cgroup v2 at ${mount} is not writable (${error})`);
    // Controllers must be enabled in every ancestor's subtree_control to reach the task cgroups. Failing
    // here (e.g. a delegated tree whose root has processes) still leaves us membership, i.e. kill-all.
    const available = readWords(join(mount, 'cgroup.controllers'));
    for (const dir of [mount, join(mount, PARENT), scopeDir]) {
      for (const controller of CONTROLLERS) {
        if (!available.has(controller)) continue;
        try {
          writeFileSync(join(dir, 'cgroup.subtree_control'), `+${controller}`);
        } catch {
          // Reported below through what ended up enabled.
        }
      }
    }
    const enabled = readWords(join(scopeDir, 'cgroup.subtree_control'));
    const controllers = new Set(CONTROLLERS.filter((c) => enabled.has(c)));
    const missing = CONTROLLERS.filter((c) => !controllers.has(c));
    if (missing.length > 0) warn(`cgroup v2: controllers not available to tasks: ${missing.join(', ')}`);
    return new Cgroups('v2', [{ mount, controllers }], scope);
  }

  /** No cgroups at all, by choice (`cgroups: false`): tasks run without limits, tracked by process group. */
  static disabled(scope: string): Cgroups {
    return new Cgroups('none', [], scope);
  }

  private static none(scope: string, warn: (message: string) => void, reason: string): Cgroups {
    warn(`cgroups unavailable: tasks that ask for resource limits are rejected (${reason})`);
    return new Cgroups('none', [], scope);
  }

  get enabled(): boolean {
    return this.driver !== 'none';
  }

  /** The task's folder in each hierarchy. */
  taskDirs(taskId: string): string[] {
    return this.hierarchies.map((h) => join(h.mount, PARENT, this.scope, taskId));
  }

  /** The files a process writes `0` to in order to move itself into the task's cgroups. */
  joinFiles(taskId: string): string[] {
    return this.taskDirs(taskId).map((dir) => join(dir, 'cgroup.procs'));
  }

  /**
   * Creates the task's cgroups and writes its limits. Idempotent. A limit this node cannot apply (its
   * controller is unavailable) fails the task rather than being ignored.
   */
  async create(taskId: string, limits: TaskLimits): Promise<void> {
    const missing = requiredControllers(limits).filter(
      (controller) => !this.hierarchies.some((h) => h.controllers.has(controller)),
    );
    if (missing.length > 0) {
      throw new Error(
        `cannot apply the task's resource limits: cgroup controller ${missing.join(', ')} is not available on this node`,
      );
    }
    await Promise.all(this.taskDirs(taskId).map((dir) => mkdir(dir, { recursive: true })));
    const writes: Promise<void>[] = [];
    const set = (controller: CgroupController, file: string, value: string): void => {
      const hierarchy = this.hierarchies.find((h) => h.controllers.has(controller))!;
      writes.push(writeFile(join(hierarchy.mount, PARENT, this.scope, taskId, file), value));
    };
    const v2 = this.driver === 'v2';
    if (limits.memoryBytes)
      set('memory', v2 ? 'memory.max' : 'memory.limit_in_bytes', String(limits.memoryBytes));
    if (limits.memoryReservationBytes) {
      const file = v2 ? 'memory.low' : 'memory.soft_limit_in_bytes';
      set('memory', file, String(limits.memoryReservationBytes));
    }
    if (limits.nanoCpus) {
      const quota = Math.max(MIN_CPU_QUOTA_US, Math.round((limits.nanoCpus * CPU_PERIOD_US) / 1e9));
      if (v2) set('cpu', 'cpu.max', `${quota} ${CPU_PERIOD_US}`);
      else {
        // The period first: the kernel checks the quota against it.
        await writesDone(writes);
        set('cpu', 'cpu.cfs_period_us', String(CPU_PERIOD_US));
        await writesDone(writes);
        set('cpu', 'cpu.cfs_quota_us', String(quota));
      }
    }
    if (limits.pids) set('pids', 'pids.max', String(limits.pids));
    await writesDone(writes);
  }

  /** Process IDs in the task's cgroup (empty when it has none or does not exist). */
  pids(taskId: string): number[] {
    const hierarchy = this.membershipHierarchy();
    if (!hierarchy) return [];
    let text: string;
    try {
      text = readFileSync(join(hierarchy.mount, PARENT, this.scope, taskId, 'cgroup.procs'), 'utf8');
    } catch {
      return [];
    }
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map(Number);
  }

  /** SIGKILLs every process in the task's cgroup. Returns whether there was any. */
  killAll(taskId: string): boolean {
    let found = false;
    // A process can fork while we read the list, so read again until it stays empty (bounded: a fork bomb
    // is held back by pids.max, and stragglers are caught by the caller's wait-until-empty).
    for (let round = 0; round < 10; round++) {
      const pids = this.pids(taskId);
      if (pids.length === 0) break;
      found = true;
      if (round === 0 && this.driver === 'v2' && this.tryCgroupKill(taskId)) continue;
      for (const pid of pids) sendSignal(pid, 'SIGKILL');
    }
    return found;
  }

  /** Resolves once the task's cgroup has no processes (killing them again as needed) or the time is up. */
  async killAllAndWait(taskId: string, timeoutMs = 2000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.killAll(taskId)) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    return true;
  }

  /** Kills what is left and deletes the task's cgroups. */
  async remove(taskId: string): Promise<void> {
    if (!this.enabled) return;
    await this.killAllAndWait(taskId);
    for (const dir of this.taskDirs(taskId)) removeDir(dir);
  }

  /** Task IDs that have a cgroup in this scope. */
  taskIds(): string[] {
    const hierarchy = this.membershipHierarchy();
    if (!hierarchy) return [];
    try {
      return readdirSync(join(hierarchy.mount, PARENT, this.scope), { withFileTypes: true })
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return [];
    }
  }

  /** Deletes the scope's folders (they must be empty of task cgroups). */
  removeScope(): void {
    for (const hierarchy of this.hierarchies) removeDir(join(hierarchy.mount, PARENT, this.scope));
  }

  private membershipHierarchy(): Hierarchy | undefined {
    // Every task process joins every hierarchy, so any one lists them; pids is the cheapest to read.
    return this.hierarchies.find((h) => h.controllers.has('pids')) ?? this.hierarchies[0];
  }

  private tryCgroupKill(taskId: string): boolean {
    const hierarchy = this.hierarchies[0];
    if (!hierarchy) return false;
    try {
      writeFileSync(join(hierarchy.mount, PARENT, this.scope, taskId, 'cgroup.kill'), '1');
      return true;
    } catch {
      return false; // cgroup.kill is Linux ≥ 5.14
    }
  }
}

interface CgroupMount {
  type: 'cgroup' | 'cgroup2';
  path: string;
  controllers: Set<CgroupController>;
}

function readCgroupMounts(mountsFile: string): CgroupMount[] {
  let text: string;
  try {
    text = readFileSync(mountsFile, 'utf8');
  } catch {
    return [];
  }
  const mounts: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const [, path, type, options] = line.split(' ');
    if ((type !== 'cgroup' && type !== 'cgroup2') || path === undefined) continue;
    const words = new Set((options ?? '').split(','));
    const controllers = new Set(CONTROLLERS.filter((c) => type === 'cgroup' && words.has(c)));
    mounts.push({ type, path: unescapeMountPath(path), controllers });
  }
  return mounts;
}

/** /proc/mounts escapes spaces and a few other characters as octal. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function readWords(file: string): Set<string> {
  try {
    return new Set(readFileSync(file, 'utf8').split(/\s+/).filter(Boolean));
  } catch {
    return new Set();
  }
}

function tryMkdir(dir: string): string | undefined {
  try {
    mkdirSync(dir, { recursive: true });
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

function removeDir(dir: string): void {
  try {
    rmdirSync(dir); // cgroup folders are removed with rmdir, never by deleting their files
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw err;
  }
}

async function writesDone(writes: Promise<void>[]): Promise<void> {
  await Promise.all(writes.splice(0));
}

/** The controllers a task's limits need. */
function requiredControllers(limits: TaskLimits): CgroupController[] {
  const controllers: CgroupController[] = [];
  if (limits.memoryBytes || limits.memoryReservationBytes) controllers.push('memory');
  if (limits.nanoCpus) controllers.push('cpu');
  if (limits.pids) controllers.push('pids');
  return controllers;
}
