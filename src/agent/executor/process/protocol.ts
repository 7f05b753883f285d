// The runner's control protocol: newline-delimited JSON over a unix socket. A request carries an id and the
// response echoes it, so one connection carries many requests at once (starting 500 tasks is 500 requests
// in flight, not 500 round trips). Long requests (`wait`, `stop`, `probe`) simply answer later.
// Every operation is idempotent, which lets the client resend whatever was in flight after reconnecting to
// a restarted runner.

import { StringDecoder } from 'node:string_decoder';
import type { CgroupDriver } from './cgroups.js';

/** Bumped on incompatible changes; the client refuses a runner that speaks another version. */
export const PROTOCOL_VERSION = 1;

/** Everything the runner needs to start a task's process; resolved by the daemon (see command.ts). */
export interface LaunchSpec {
  /** argv[0] is the absolute path of the executable. */
  argv: string[];
  env: string[];
  cwd: string;
  /** Absent: run as the runner's user (root). */
  user?: { uid: number; gid: number; groups: number[] };
  /** Set: the task gets its own UTS namespace with this hostname. */
  hostname?: string;
  /**
   * Set: the task runs in this network namespace (prepared by the node's networking before the start), in
   * IPC, PID and mount namespaces of its own (its /proc that of its PID namespace), with these files bound
   * over /etc/hosts, /etc/resolv.conf and /etc/hostname. Its probes enter all of them.
   */
  network?: TaskNetworkLaunch;
  /**
   * Set: the task runs in a mount namespace of its own, holding its secrets and configs (mounts.ts); the
   * `start` request carries the files. Its probes enter that namespace.
   */
  mountNamespace?: boolean;
  /** Recorded for humans only: the process executor never pulls images. */
  image?: string;
}

export interface TaskNetworkLaunch {
  netnsPath: string;
  hostsFile: string;
  resolvConf: string;
  hostnameFile: string;
}

/**
 * One of a task's secret or config files (task-files.ts), as the `start` request carries it to the runner.
 * The runner keeps it only until the task's tmpfs holds it: it is never in the task's state file, a log
 * line or an error.
 */
export interface LaunchFile {
  kind: 'secret' | 'config';
  name: string;
  /** Where the task sees it: absolute and clean. */
  target: string;
  uid: number;
  gid: number;
  mode: number;
  /** base64 */
  data: string;
}

/**
 * What a runner can do beyond protocol 1, in `hello`: a runner without `task-files` runs no task that has
 * files, one without `task-networks` no task on networks.
 */
export const RUNNER_FEATURES = ['task-files', 'task-networks'] as const;

export type TaskRunState = 'running' | 'exited';

/** What the runner knows about a task's process. */
export interface TaskInfo {
  taskId: string;
  pid: number;
  /** RFC 3339 with nanoseconds. */
  startedAt: string;
  state: TaskRunState;
  /** Docker's exit code: the process's code, or 128 + signal number. */
  exitCode?: number;
  /** The signal that ended the process, if one did. */
  signal?: string;
  finishedAt?: string;
  /** Set when the exit code is not the process's own, e.g. it was lost while no runner supervised it. */
  error?: string;
}

export interface StartResult extends TaskInfo {
  /** The task had been started before (by an earlier daemon run): this is its existing process. */
  alreadyStarted: boolean;
}

export interface ProbeSpec {
  taskId: string;
  /** argv[0] as in LaunchSpec. */
  argv: string[];
  timeoutMs: number;
}

export interface ProbeResult {
  /** -1 when the probe timed out or could not run. */
  exitCode: number;
  /** stdout and stderr together, at most PROBE_OUTPUT_LIMIT bytes, `...` appended when cut. */
  output: string;
  start: string;
  end: string;
  timedOut: boolean;
}

export interface HelloResult {
  version: number;
  pid: number;
  scope: string;
  cgroups: CgroupDriver;
  /** RUNNER_FEATURES of the runner (absent from runners before secrets and configs). */
  features?: string[];
}

type NoParams = Record<string, never>;

/** Each operation's parameters and result. */
export interface RunnerOps {
  hello: { params: NoParams; result: HelloResult };
  list: { params: NoParams; result: TaskInfo[] };
  inspect: { params: { taskId: string }; result: TaskInfo | null };
  /**
   * Starts the task, or returns the existing record: a task ID is never started twice. Refused for a task
   * ID that was stopped, killed or removed before it started (see Runner's tombstones).
   */
  start: { params: { taskId: string; launch: LaunchSpec; files?: LaunchFile[] }; result: StartResult };
  /** Answers when the task's process has exited. */
  wait: { params: { taskId: string }; result: TaskInfo };
  /**
   * Sends `signal` to the main process, SIGKILLs everything after `graceMs`; answers once exited. For a
   * task without a process: fails with NO_SUCH_TASK_PREFIX (as `kill` does), and the task never starts.
   */
  stop: { params: { taskId: string; signal: string; graceMs: number }; result: TaskInfo };
  /** SIGKILLs every process of the task; answers once exited. */
  kill: { params: { taskId: string }; result: TaskInfo };
  /** Forgets an exited task and deletes its folder and cgroups. */
  remove: { params: { taskId: string }; result: null };
  /** Runs a health probe in the task's environment. */
  probe: { params: ProbeSpec; result: ProbeResult };
  /** Kills every task and exits; `purge` also deletes their cgroups and the scope's. */
  shutdown: { params: { purge: boolean }; result: null };
}

export type RunnerOp = keyof RunnerOps;

/** How the runner's answer about a task ID it has no process for begins (Docker's text). */
export const NO_SUCH_TASK_PREFIX = 'No such container: ';

/** The runner's refusal for a task it has no process for (never started, or removed). */
export function isNoSuchTaskError(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith(NO_SUCH_TASK_PREFIX);
}

export interface RequestMessage {
  id: number;
  op: RunnerOp;
  params: unknown;
}

export type ResponseMessage =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

export const encodeMessage = (message: RequestMessage | ResponseMessage): string =>
  JSON.stringify(message) + '\n';

/** Splits a byte stream into parsed messages. */
export class MessageDecoder {
  // StringDecoder keeps a multi-byte character that straddles two chunks intact.
  private readonly utf8 = new StringDecoder('utf8');
  private partial = '';

  push(chunk: Buffer): unknown[] {
    const lines = (this.partial + this.utf8.write(chunk)).split('\n');
    this.partial = lines.pop() ?? '';
    return lines.filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as unknown);
  }
}

/** Gathers many small writes made in one turn of the event loop into one socket write. */
export class WriteBatcher {
  private queued: string[] = [];

  constructor(private readonly write: (data: string, written?: () => void) => void) {}

  send(data: string): void {
    this.queued.push(data);
    if (this.queued.length === 1) setImmediate(() => this.flush());
  }

  /** Writes what is queued now; `written` is called once it has been handed to the kernel. */
  flush(written?: () => void): void {
    if (this.queued.length === 0) {
      written?.();
      return;
    }
    const data = this.queued.join('');
    this.queued = [];
    this.write(data, written);
  }
}
