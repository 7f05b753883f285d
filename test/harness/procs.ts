// Finding and killing processes through /proc: by network namespace, by the data dir they were started
// with, by cgroup. Everything here is synchronous on purpose: the same code runs from
// `process.on('exit')`, where no callback or promise would ever run.

import { readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat): tells a reused pid apart. */
  startTime: number;
}

/** Field 3 (state) and 22 (starttime) of /proc/<pid>/stat, or undefined when the process is gone. */
function readStat(pid: number): { state: string; startTime: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0] ?? '';
  const startTime = Number(fields[19]);
  return { state, startTime };
}

export function processIdentity(pid: number): ProcessIdentity | undefined {
  const stat = readStat(pid);
  return stat ? { pid, startTime: stat.startTime } : undefined;
}

export function selfIdentity(): ProcessIdentity {
  const identity = processIdentity(process.pid);
  if (!identity) throw new Error('cannot read /proc/self/stat');
  return identity;
}

/** Whether the process runs (a zombie does not count); with a start time, whether it is that same process. */
export function isProcessAlive(pid: number, startTime?: number): boolean {
  const stat = readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime === undefined || stat.startTime === startTime;
}

function allPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry)) pids.push(Number(entry));
  }
  return pids;
}

/** The inode that identifies a namespace, from its bind-mount file (e.g. /run/netns/<name>). */
export function namespaceInode(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch {
    return undefined;
  }
}

/** Live processes whose network namespace is the one with this inode (what `ip netns pids` does). */
export function pidsInNetworkNamespace(inode: number): number[] {
  const wanted = `net:[${inode}]`;
  return allPids().filter((pid) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/net`) === wanted && isProcessAlive(pid);
    } catch {
      return false; // exited, or a zombie (whose namespace links are gone)
    }
  });
}

/**
 * Live processes started with `dir` (or a path inside it) as an argument — shoald's `--data-dir <dir>`
 * and its task runner's `--root <dir>/process-executor`. Our data dirs are fresh random temp paths, so
 * nothing else on the machine can match.
 */
export function pidsUsingDir(dir: string): number[] {
  const dirs = new Set([dir]);
  try {
    dirs.add(realpathSync(dir));
  } catch {
    // already deleted: the given path is all we have
  }
  const isInside = (path: string): boolean => {
    for (const d of dirs) if (path === d || path.startsWith(`${d}/`)) return true;
    return false;
  };
  // `--root <dir>` and `--root=<dir>` alike.
  const matches = (arg: string): boolean => isInside(arg) || isInside(arg.slice(arg.indexOf('=') + 1));
  return allPids().filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.some(matches) && isProcessAlive(pid);
    } catch {
      return false;
    }
  });
}

/** A process's command line, for messages. */
export function describeProcess(pid: number): string {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return `${pid} (${argv.join(' ').slice(0, 200)})`;
  } catch {
    return `${pid} (gone)`;
  }
}

/** Blocks the thread (no event loop needed, so it works in exit handlers). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * SIGKILLs what `list` returns, again and again, until it returns nothing (a process may fork while we
 * kill its parent) or `timeoutMs` passes. Returns the processes still there at the end (empty on
 * success). Never signals this process, its parent or init, whatever `list` says.
 */
export function killUntilGone(list: () => number[], timeoutMs = 5_000): number[] {
  const spared = new Set([process.pid, process.ppid, 1]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = list().filter((pid) => !spared.has(pid));
    if (pids.length === 0) return [];
    if (Date.now() > deadline) return pids;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    sleepSync(5);
  }
}
