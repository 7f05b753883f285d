// How the runner turns a LaunchSpec into the argv it spawns. Node cannot run code between fork and exec,
// so the steps a container runtime would do there are done by small programs that exec each other, all in
// the same process (same pid, so the recorded pid is the task's):
//
//   [unshare --uts --] /bin/sh -c JOIN_SCRIPT … [setpriv --reuid … --] /path/to/exe args…
//
// The shell joins the task's cgroups *before* anything can fork, so no descendant escapes them, and sets
// the hostname inside the new UTS namespace; setpriv then drops to the task's user (after the cgroup join,
// which needs root). A task with none of these needs is spawned directly.

import type { LaunchSpec } from './protocol.js';

/**
 * The umask task processes (and their health probes) start with: Docker's, whose containers get 022. The
 * runner itself runs with 077 and gives its own files explicit modes anyway.
 */
export const TASK_UMASK = 0o022;

/**
 * Runs `spawnProcess` (a synchronous spawn: the child is forked before it returns) with the task umask,
 * which the child inherits, and restores the runner's own umask right after. Node has no per-spawn
 * umask; going through a shell for it would cost every task an extra exec.
 */
export function withTaskUmask<T>(spawnProcess: () => T): T {
  const runnerUmask = process.umask(TASK_UMASK);
  try {
    return spawnProcess();
  } finally {
    process.umask(runnerUmask);
  }
}

/** Exit status of the launch steps failing, Docker's "the runtime failed" code. */
export const LAUNCH_FAILURE_EXIT_CODE = 125;

// $1: number of cgroup.procs files, then the files, then the hostname ('' for none), then the command.
const JOIN_SCRIPT = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  `  echo 0 > "$1" || exit ${LAUNCH_FAILURE_EXIT_CODE}`,
  '  shift; n=$((n - 1))',
  'done',
  `if [ -n "$1" ]; then printf %s "$1" > /proc/sys/kernel/hostname || exit ${LAUNCH_FAILURE_EXIT_CODE}; fi`,
  'shift',
  'exec "$@"',
].join('\n');

/** Absolute paths of the helper programs, found once when the runner starts. */
export interface LaunchTools {
  sh: string;
  unshare?: string;
  nsenter?: string;
  setpriv?: string;
}

export interface LaunchContext {
  /** cgroup.procs files of the task's cgroups (empty without cgroups). */
  joinFiles: readonly string[];
  /** For a probe: the task's main pid, whose UTS namespace the probe enters. */
  enterNamespaceOf?: number;
}

export interface SpawnCommand {
  file: string;
  args: string[];
}

export function buildSpawnCommand(
  spec: LaunchSpec,
  context: LaunchContext,
  tools: LaunchTools,
): SpawnCommand {
  const [exe] = spec.argv;
  if (exe === undefined) throw new Error('no command specified');
  const command = spec.user ? [...setprivPrefix(spec.user, tools), ...spec.argv] : [...spec.argv];

  const namespacePrefix: string[] = [];
  let hostnameToSet = '';
  if (spec.hostname !== undefined) {
    if (context.enterNamespaceOf !== undefined) {
      if (!tools.nsenter)
        throw new Error('nsenter not found: needed to probe a task that has its own hostname');
      namespacePrefix.push(tools.nsenter, `--target=${context.enterNamespaceOf}`, '--uts', '--');
    } else {
      if (!tools.unshare) throw new Error('unshare not found: needed to give a task its own hostname');
      namespacePrefix.push(tools.unshare, '--uts', '--');
      hostnameToSet = spec.hostname;
    }
  }

  if (context.joinFiles.length === 0 && hostnameToSet === '') {
    const argv = [...namespacePrefix, ...command];
    return { file: argv[0]!, args: argv.slice(1) };
  }
  const argv = [
    ...namespacePrefix,
    tools.sh,
    '-c',
    JOIN_SCRIPT,
    'shoal-launch',
    String(context.joinFiles.length),
    ...context.joinFiles,
    hostnameToSet,
    ...command,
  ];
  return { file: argv[0]!, args: argv.slice(1) };
}

function setprivPrefix(user: NonNullable<LaunchSpec['user']>, tools: LaunchTools): string[] {
  if (!tools.setpriv) throw new Error('setpriv not found: needed to run a task as another user');
  const groups = user.groups.length > 0 ? `--groups=${user.groups.join(',')}` : '--clear-groups';
  return [tools.setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, groups, '--'];
}
