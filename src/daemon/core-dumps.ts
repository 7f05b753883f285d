// shoald's memory holds secrets (sealed at rest, open while in use): a core dump of it would write them to
// disk. At start it lowers its own soft RLIMIT_CORE to 0 (the hard limit stays, so tasks can have theirs
// back: see agent/executor/process/core-limit.ts) with util-linux's prlimit on its own pid, since Node has no
// setrlimit. A machine whose soft limit is 0 already (Debian's default) needs nothing.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { TASK_CORE_LIMIT_ENV } from '../agent/executor/process/core-limit.js';
import { findProgram } from '../agent/executor/process/tools.js';

/** The soft limit on core files of this process, as /proc/self/limits says it (`unlimited` or bytes). */
export function softCoreLimit(limitsText: string): string | undefined {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max core file size'));
  return line?.slice('Max core file size'.length).trim().split(/\s+/)[0];
}

export interface CoreDumpLog {
  warn(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * Lowers this process's soft core limit to 0, and records the one it had for the task runner's tasks (in
 * the environment the runner inherits). Says so when it cannot; the daemon goes on.
 */
export function disableCoreDumps(log: CoreDumpLog): void {
  let soft: string | undefined;
  try {
    soft = softCoreLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return; // not Linux's /proc: nothing to read, nothing done
  }
  if (soft === undefined || soft === '0') return;
  const prlimit = findProgram('prlimit');
  try {
    if (!prlimit) throw new Error('prlimit (util-linux) not found');
    execFileSync(prlimit, ['--pid', String(process.pid), '--core=0:'], { stdio: 'ignore' });
    process.env[TASK_CORE_LIMIT_ENV] = soft;
  } catch (err) {
    log.warn(
      'could not turn off core dumps of shoald; a crash could write secrets held in memory to a core file',
      {
        error: (err as Error).message,
      },
    );
  }
}
