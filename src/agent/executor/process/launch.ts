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
//
// A task on overlay networks runs in the network namespace the node's networking prepared for it (entered
// with nsenter: Node has no setns) and in UTS, IPC, PID and mount namespaces of its own — a container
// without an image:
//
//   nsenter --net=<netns> -- unshare --uts --ipc --mount --propagation slave --pid --fork --kill-child
//     --mount-proc -- /bin/sh -c NETWORK_JOIN_SCRIPT … (binds its hosts, resolv.conf, hostname over /etc's,
//     then the files step if it has one) …
//
// A PID namespace needs a fork: the recorded pid is unshare's, which waits for the task (pid 1 of its
// namespace) and exits as it does; the runner signals the task itself (`namespaceInit`). Slave propagation
// lets the host's later unmounts (a released network namespace under /run/netns) reach the task's copy.

import { MOUNT_STEP_SCRIPT } from './mounts.js';
import type { LaunchSpec, TaskNetworkLaunch } from './protocol.js';

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

// A task on networks: JOIN_LINES, then the number of binds, the mount program and each bind's source and
// target (its files over /etc's; a target the host lacks is skipped), then the files step's words (its
// count first, 0 for none), then the command.
const NETWORK_BIND_LINES = [
  'n=$1; shift',
  'if [ "$n" -gt 0 ]; then m=$1; shift; fi',
  'while [ "$n" -gt 0 ]; do',
  `  [ ! -e "$2" ] || "$m" --bind "$1" "$2" || exit ${LAUNCH_FAILURE_EXIT_CODE}`,
  '  shift 2; n=$((n - 1))',
  'done',
];
const NETWORK_JOIN_SCRIPT = [...JOIN_LINES, ...NETWORK_BIND_LINES, ...MOUNT_STEP_SCRIPT, 'exec "$@"'].join(
  '\n',
);

/** Absolute paths of the helper programs, found once when the runner starts. */
export interface LaunchTools {
  sh: string;
  unshare?: string;
  nsenter?: string;
  mount?: string;
  setpriv?: string;
  /** util-linux's prlimit: gives tasks back the core limit shoald lowered for itself (core-limit.ts). */
  prlimit?: string;
}

export interface LaunchContext {
  /** cgroup.procs files of the task's cgroups (empty without cgroups). */
  joinFiles: readonly string[];
  /**
   * For a probe: the task's process (for a task on networks, the init of its PID namespace), whose UTS
   * (and mount, and for a task on networks every) namespace the probe enters.
   */
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

  if (spec.network) return networkSpawnCommand(spec, spec.network, command, context, tools);
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
      // Slave, as for a task on networks: the host's later unmounts (a dockerd's container layers, a released
      // network namespace) must reach the task's copy, or the task keeps them busy; the task's own mounts
      // still never reach the host.
      newNamespaces.push('--mount', '--propagation', 'slave');
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

/** A task on overlay networks: its prepared network namespace, and UTS, IPC, PID and mount ones of its own. */
function networkSpawnCommand(
  spec: LaunchSpec,
  network: TaskNetworkLaunch,
  command: string[],
  context: LaunchContext,
  tools: LaunchTools,
): SpawnCommand {
  if (!tools.nsenter || !tools.unshare)
    throw new Error('nsenter and unshare (util-linux) are needed to run a task on networks');
  if (context.enterNamespaceOf !== undefined) {
    // A probe: in every namespace of the task (nsenter forks into its PID namespace).
    const argv = [
      tools.nsenter,
      `--target=${context.enterNamespaceOf}`,
      '--net',
      '--uts',
      '--ipc',
      '--mount',
      '--pid',
      // Its root too, with secrets or configs: a task whose stand-in replaced `/` runs chrooted into it.
      ...(spec.mountNamespace ? ['--root', `--wd=${spec.cwd}`] : []),
      '--',
      ...command,
    ];
    // Counted with the task, as any probe is: the task's cgroups are joined on the host's side, before
    // nsenter (whose fork inherits them).
    if (context.joinFiles.length > 0) {
      argv.unshift(
        tools.sh,
        '-c',
        JOIN_SCRIPT,
        'shoal-launch',
        String(context.joinFiles.length),
        ...context.joinFiles,
        '',
      );
    }
    return { file: argv[0]!, args: argv.slice(1) };
  }
  if (!tools.mount) throw new Error('mount (util-linux) is needed to run a task on networks');
  if (spec.mountNamespace && !context.fileMounts)
    throw new Error("the mounts of the task's secrets and configs are missing");
  const fileMounts = spec.mountNamespace ? (context.fileMounts ?? []) : [];
  const binds = [
    [network.hostsFile, '/etc/hosts'],
    [network.resolvConf, '/etc/resolv.conf'],
    [network.hostnameFile, '/etc/hostname'],
  ];
  const argv = [
    tools.nsenter,
    `--net=${network.netnsPath}`,
    '--',
    tools.unshare,
    '--uts',
    '--ipc',
    '--mount',
    '--propagation',
    'slave',
    '--pid',
    '--fork',
    '--kill-child',
    '--mount-proc',
    '--',
    tools.sh,
    '-c',
    NETWORK_JOIN_SCRIPT,
    'shoal-launch',
    String(context.joinFiles.length),
    ...context.joinFiles,
    spec.hostname ?? '',
    String(binds.length),
    tools.mount,
    ...binds.flat(),
    String(fileMounts.length),
    ...fileMounts,
    ...command,
  ];
  return { file: argv[0]!, args: argv.slice(1) };
}

function setprivPrefix(user: NonNullable<LaunchSpec['user']>, tools: LaunchTools): string[] {
  if (!tools.setpriv) throw new Error('setpriv not found: needed to run a task as another user');
  const groups = user.groups.length > 0 ? `--groups=${user.groups.join(',')}` : '--clear-groups';
  return [tools.setpriv, `--reuid=${user.uid}`, `--regid=${user.gid}`, groups, '--'];
}
