// What the agent needs from whatever runs tasks. Modelled on swarmkit's agent/exec: the executor
// describes the node and makes one controller per task; the agent drives each controller through
// prepare → start → wait, and shutdown/terminate/remove when the manager says so.

import type { ConfigAssignment, SecretAssignment } from '../../api/dispatcher.js';
import type { HealthState, NodeDescription, Task, TaskStatus } from '../../api/types.js';

/**
 * The secrets and configs one task may use (swarmkit's restricted DependencyGetter): those its spec
 * references, as the managers sent them, kept in the agent's memory. A lookup of anything else, or of
 * one the node does not have, throws with swarmkit's text.
 */
export interface TaskDependencies {
  secret(id: string): SecretAssignment;
  config(id: string): ConfigAssignment;
  /**
   * Resolves once the node has the managers' first complete set of assignments since the daemon started:
   * until then, a task resumed from the state DB may be missing what the managers will send again.
   */
  ready(): Promise<void>;
  /** Whether the first complete set has arrived (a missing secret then stays missing). */
  readonly complete: boolean;
}

export interface Executor {
  /** What this node offers (hostname, platform, CPUs, memory, engine labels). */
  describe(): Promise<NodeDescription>;
  /**
   * A controller for the task, re-attaching to a process of an earlier daemon run if one exists.
   * `dependencies`: the secrets and configs the task may use (none when absent).
   */
  controller(task: Task, dependencies?: TaskDependencies): Controller;
  /**
   * Tasks that were running under an earlier daemon run (found at start-up): their last known status,
   * so the agent can re-adopt or report them. Rejects with an ExecutorUnavailableError when what runs the
   * tasks cannot be asked (a container engine that is down): the agent then reports the tasks it knew as
   * running failed with that error.
   */
  recover(): Promise<RecoveredTask[]>;
  /**
   * Optional. Calls `listener` when what `describe()` answers may have changed (the container engine came
   * back, perhaps upgraded): the agent describes the node again and registers anew if it did.
   */
  watchDescription?(listener: () => void): void;
  /**
   * Optional. Kills and deletes every task this executor runs or remembers, whether the agent knows of it
   * or not — the backstop of `swarm leave`, after the agent removed its tasks one by one. The executor
   * need not be usable afterwards.
   */
  purge?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The node's networking as executors use it (src/agent/network, architecture §7): a task's network namespace
 * with one interface per overlay network, made before its process starts, and released when it is removed.
 */
export interface TaskNetworks {
  /**
   * Attaches the task to its overlay networks; undefined for a task on none (it runs on the host's network).
   * `adoptPid`: attach that process's network namespace (a sandbox container's) instead of a new one;
   * `hostname`: the task's, its spec's templates expanded (default: the spec's, else the task ID's first 12).
   */
  prepareTaskNetwork(
    task: Task,
    options?: { adoptPid?: number; hostname?: string },
  ): Promise<TaskNetworkConfig | undefined>;
  /** Removes the task's namespace and interfaces (nothing when it has none). */
  releaseTaskNetwork(taskId: string): Promise<void>;
}

/** What a task runs with on its networks. */
export interface TaskNetworkConfig {
  /** The task's network namespace (`/run/netns/sh-<scope>-t-<task ID>`). */
  netnsPath: string;
  /** Its /etc/hosts, /etc/resolv.conf and /etc/hostname, to be bound over the task's own. */
  hostsFile: string;
  resolvConf: string;
  hostnameFile: string;
  /** The spec's hostname, else the first 12 characters of the task ID. */
  hostname: string;
}

export interface RecoveredTask {
  taskId: string;
  /** Still running: the controller re-attaches. Exited: the status says how it ended. */
  running: boolean;
  status?: Pick<TaskStatus, 'State' | 'Err' | 'ContainerStatus'>;
}

/** What runs the tasks cannot be reached (the container engine is down); the message says which and why. */
export class ExecutorUnavailableError extends Error {
  override name = 'ExecutorUnavailableError';
  readonly unavailable = true;
}

/** Docker's ErrContainerUnhealthy text: the cause of the failure of a task stopped for being unhealthy. */
export const UNHEALTHY_CONTAINER = 'dockerexec: unhealthy container';

/** Error from a controller with Docker's text, e.g. `task: non-zero exit (1)`. */
export class ExitError extends Error {
  constructor(
    readonly exitCode: number,
    message = `task: non-zero exit (${exitCode})`,
  ) {
    super(message);
    this.name = 'ExitError';
  }
}

export interface LogOptions {
  follow: boolean;
  /** Number of lines from the end, or undefined for all. */
  tail?: number;
  /** Only lines at or after this time (ms since epoch). */
  since?: number;
  /** Only lines before this time (ms since epoch). */
  until?: number;
  stdout: boolean;
  stderr: boolean;
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  /** Time the line was captured, RFC 3339 with nanoseconds. */
  timestamp: string;
  /** The line including its trailing newline (a last partial line may lack it). */
  data: Buffer;
}

export interface Controller {
  /** Creates what the task needs (directories, cgroups, files). Idempotent. */
  prepare(): Promise<void>;
  /** Starts the process. Resolves once it runs — and, with a healthcheck, once it is healthy. */
  start(): Promise<void>;
  /** Resolves when the process exits 0; rejects with ExitError (or another error) otherwise. */
  wait(): Promise<void>;
  /** Stops gracefully: stop signal, then SIGKILL after the grace period. Idempotent. */
  shutdown(): Promise<void>;
  /** Kills at once. */
  terminate(): Promise<void>;
  /** Frees everything the task left on the node (logs stay until this). */
  remove(): Promise<void>;
  /** Live details for task status (PID, exit code). */
  containerStatus(): { ContainerID?: string; PID?: number; ExitCode?: number };
  /** Health as last observed, if the task has a healthcheck. */
  health(): HealthState | undefined;
  /**
   * Optional: the task status message once it runs, when Docker's `started` would hide something the user
   * must know (the process executor runs the command from the host, not from the image).
   */
  startedMessage?(): string;
  /** Reads the task's captured output. Ends when the task stops (follow) or at the end (no follow). */
  logs(options: LogOptions, signal: AbortSignal): AsyncIterable<LogLine>;
}
