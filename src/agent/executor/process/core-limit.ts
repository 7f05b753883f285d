// Core dumps hold a process's memory, and shoald's and the task runner's memory holds secrets: shoald lowers
// its own soft RLIMIT_CORE to 0 at start (src/daemon/core-dumps.ts), and the runner, started by it, inherits
// that. Tasks must not: the runner launches each with the soft limit shoald found, through util-linux's
// prlimit (Node cannot set its own limits), so a task dumps core exactly as it would have without shoal.

/** The soft core limit shoald started with (`unlimited` or a number of bytes), for the runner's tasks. */
export const TASK_CORE_LIMIT_ENV = 'SHOAL_TASK_CORE_LIMIT';

/**
 * The command, launched with the soft core limit restored when shoald lowered it: `prlimit --core=<soft>:
 * -- <command>` (the trailing colon leaves the hard limit as it is).
 */
export function withTaskCoreLimit(
  command: { file: string; args: string[] },
  limit: string | undefined,
  prlimit: string | undefined,
): { file: string; args: string[] } {
  if (!limit || !prlimit || !/^(unlimited|\d+)$/.test(limit)) return command;
  return { file: prlimit, args: [`--core=${limit}:`, '--', command.file, ...command.args] };
}
