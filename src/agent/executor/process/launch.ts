// How the runner turns a LaunchSpec into the argv it spawns. Node cannot run code between fork and exec,
// so the steps a container runtime would do there are done by small programs that exec each other, all in
// the same process (same pid, so the recorded pid is the task's):
//
//   [unshare --uts --mount … --] /bin/sh -c JOIN_SCRIPT … [setpriv --reuid … --] /path/to/exe args…
//
// The shell joins the task's cgroups *before* anything can fork, so no descendant escapes them, and sets
// the hostname inside the new UTS namespace; setpriv then drops to the task's user (after the cgroup join,
// which needs root). A task with none of these needs is spawned directly.
//
// Steps, in order, each with its own words after the script's name:
//   1. cgroups: the count of cgroup.procs files, then the files
//   2. hostname: one word ('' for none)
//   3. files (mounts.ts, only for a task with secrets or configs): a mount namespace of its own
//      (`unshare --mount`), its files mounted there; the count of its words, then the words
//   then the command.
// Probes enter the task's namespaces (nsenter) instead of making new ones, and skip the steps.

import { MOUNT_STEP_SCRIPT } from './mounts.js';
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
const JOIN_LINES = [
  'n=$1; shift',
  'while [ "$n" -gt 0 ]; do',
  `  echo 0 > "$1" || exit ${LAUNCH_FAILURE_EXIT_CODE}`,
  '  shift; n=$((n - 1))',
  'done',
  `if [ -n "$1" ]; then printf %s "$1" > /proc/sys/kernel/hostname || exit ${LAUNCH_FAILURE_EXIT_CODE}; fi`,
  'shift',
];
const JOIN_SCRIPT = [...JOIN_LINES, 'exec "$@"'].join('\n');
/** With the files step (mounts.ts) between the hostname and the command. */
const JOIN_SCRIPT_WITH_FILES = [...JOIN_LINES, ...MOUNT_STEP_SCRIPT, 'exec "$@"'].join('\n');

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
  /** For a probe: the task's main pid, whose UTS (and mount) namespace the probe enters. */
  enterNamespaceOf?: number;
  /**
   * The files step's words (mounts.ts: the tmpfs's path, the working directory, the operations), for a
   * task whose spec has `mountNamespace`; the spawned process then has the runner's socket as fd 3.
   */
  fileMounts?: readonly string[];
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

  const probing = context.enterNamespaceOf !== undefined;
  /** Namespaces the task gets (unshare flags), or the probe enters (nsenter flags). */
  const newNamespaces: string[] = [];
  const enteredNamespaces: string[] = [];
  let hostnameToSet = '';
  if (spec.hostname !== undefined) {
    if (probing) {
      if (!tools.nsenter)
        throw new Error('nsenter not found: needed to probe a task that has its own hostname');
      enteredNamespaces.push('--uts');
    } else {
      if (!tools.unshare) throw new Error('unshare not found: needed to give a task its own hostname');
      newNamespaces.push('--uts');
      hostnameToSet = spec.hostname;
    }
  }
  // The files step (mounts.ts): its own mount namespace, where the task's secrets and configs are.
  let fileMounts: readonly string[] = [];
  if (spec.mountNamespace) {
    if (probing) {
      if (!tools.nsenter)
        throw new Error('nsenter not found: needed to probe a task that has secrets or configs');
      // Its root too: a task whose stand-in replaced `/` runs chrooted into it.
      enteredNamespaces.push('--mount', '--root', `--wd=${spec.cwd}`);
    } else {
      if (!tools.unshare) throw new Error('unshare not found: needed to give a task its secrets and configs');
      if (!context.fileMounts) throw new Error("the mounts of the task's secrets and configs are missing");
      newNamespaces.push('--mount', '--propagation', 'private');
      fileMounts = context.fileMounts;
    }
  }
  const namespacePrefix =
    newNamespaces.length > 0
      ? [tools.unshare!, ...newNamespaces, '--']
      : enteredNamespaces.length > 0
        ? [tools.nsenter!, `--target=${context.enterNamespaceOf}`, ...enteredNamespaces, '--']
        : [];

  if (context.joinFiles.length === 0 && hostnameToSet === '' && fileMounts.length === 0) {
    const argv = [...namespacePrefix, ...command];
    return { file: argv[0]!, args: argv.slice(1) };
  }
  const argv = [
    ...namespacePrefix,
    tools.sh,
    '-c',
    fileMounts.length > 0 ? JOIN_SCRIPT_WITH_FILES : JOIN_SCRIPT,
    'shoal-launch',
    String(context.joinFiles.length),
    ...context.joinFiles,
    hostnameToSet,
    ...(fileMounts.length > 0 ? [String(fileMounts.length), ...fileMounts] : []),
    ...command,
  ];
  return { file: argv[0]!, args: argv.slice(1) };
}

function setprivPrefix(user: NonNullable<LaunchSpec['user']>, tools: LaunchTools): string[] {
  if (!tools.setpriv) throw new Error('setpriv not found: needed to run a task as another user');
  const groups = user.groups.length > 0 ? `--groups=${user.groups.join(',')}` : '--clear-groups';
  return [tools.setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, groups, '--'];
}
