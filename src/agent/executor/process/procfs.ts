// Identifies a process by pid *and* start time (field 22 of /proc/<pid>/stat, in clock ticks since boot),
// so a recorded pid that the kernel has since given to another process is never signalled by mistake.

import { readFileSync } from 'node:fs';

/** The process's start time, or undefined if no such process exists. */
export function processStartTime(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is parenthesised and may contain spaces or parentheses: skip past the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field 22 is fields[19].
  const startTime = Number(fields[19]);
  return Number.isFinite(startTime) ? startTime : undefined;
}

export function isSameProcess(pid: number, startTime: number): boolean {
  return pid > 0 && processStartTime(pid) === startTime;
}

/**
 * The task process of a task that has a PID namespace (launch.ts): `pid` is unshare's, which forked the task
 * into the namespace (its pid 1) and waits for it. Undefined while it has not forked yet, or once it is gone.
 */
export function namespaceInit(pid: number): number | undefined {
  let children: string;
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {
    return undefined;
  }
  const first = Number(children.trim().split(' ')[0]);
  return Number.isInteger(first) && first > 0 ? first : undefined;
}

/** Sends a signal, ignoring a process (or group) that is already gone. Returns whether it was delivered. */
export function sendSignal(pidOrNegativePgid: number, signal: NodeJS.Signals | number): boolean {
  try {
    process.kill(pidOrNegativePgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
}
