// One task's controller (the agent's handle on it). It prepares what the process needs, asks the runner to
// start, stop and wait for it, and watches its health; the process itself belongs to the runner, so a new
// daemon's controller for the same task simply picks up where the last one was.
//
// Error texts follow Docker's container controller (daemon/cluster/executor/container/controller.go):
// `starting container failed: …`, `task: non-zero exit (N)`, `task: non-zero exit (N): dockerexec: unhealthy
// container`.

import { mkdir } from 'node:fs/promises';
import { machine } from 'node:os';
import { describeNeed, EXECUTOR_NATURE, specNeeds, unhonoured } from '../../../api/executor-features.js';
import { needsTaskNamespace } from '../../../api/host-ports.js';
import type { ContainerSpec, Driver, HealthState, Task } from '../../../api/types.js';
import {
  ExitError,
  UNHEALTHY_CONTAINER,
  type Controller,
  type TaskNetworkConfig,
  type TaskNetworks,
  type LogLine,
  type LogOptions,
  type TaskDependencies,
} from '../executor.js';
import type { Cgroups, TaskLimits } from './cgroups.js';
import type { RunnerClient } from './client.js';
import { buildEnv, checkWorkingDir, commandLine, resolveExecutable } from './command.js';
import type { Clock } from '../../../api/clock.js';
import { HealthMonitor, healthSettings, type HealthSettings } from './health.js';
import type { ExecutorLog } from './log.js';
import { readTaskLog } from './logreader.js';
import { containerIdFor, taskDir, taskLogFile, type ExecutorPaths } from './paths.js';
import { checkTargets, hostStat } from './mounts.js';
import {
  isNoSuchTaskError,
  type LaunchFile,
  type LaunchSpec,
  type StartResult,
  type TaskInfo,
} from './protocol.js';
import { DEFAULT_STOP_SIGNAL, parseSignal } from './signals.js';
import { parseTimestampMillis } from './timestamps.js';
import { taskFilesWhenReady } from '../task-files.js';
import { expandContainerSpec, type TemplateNode } from '../templates.js';
import { loadExecUser } from './users.js';

/** The manager resolves each task's log driver (the service's, else the swarm's default) onto the task. */
type TaskWithLogDriver = Task & { LogDriver?: Driver };

/** Docker's default StopGracePeriod. */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/** Why a start fails after shutdown, terminate or remove (prefixed with `starting container failed: `). */
const STOPPED_BEFORE_START = 'the task was stopped before its process started';

/** What controllers share, owned by the executor. */
export interface ControllerContext {
  /** The executor's folders, cgroups and runner connection, once set up. */
  ready: () => Promise<{ paths: ExecutorPaths; cgroups: Cgroups; client: RunnerClient }>;
  nodeHostname: string;
  /** Whether a task can get its own hostname (needs root for the UTS namespace). */
  canSetHostname: boolean;
  /** Whether a task can get a mount namespace of its own for its secrets and configs (needs root too). */
  canMountFiles?: boolean;
  log: ExecutorLog;
  clock?: Clock;
  /** Called once the task is removed, so the executor forgets this controller. */
  onRemoved: (taskId: string) => void;
  /**
   * The node's networking: a task on overlay networks runs in the namespace it prepares. Absent (an
   * executor without a node, in tests), such a task is refused.
   */
  networks?: TaskNetworks;
}

export class ProcessController implements Controller {
  readonly taskId: string;
  private expandedSpec?: ContainerSpec;
  private launch?: LaunchSpec;
  /** The task's secrets and configs, once prepared: in memory only, until the runner has mounted them. */
  private files?: LaunchFile[];
  /** What the runner last told us about the process; undefined until known to have started. */
  private info?: TaskInfo;
  private exitInfo?: Promise<TaskInfo>;
  private monitor?: HealthMonitor;
  private readonly healthCheck: HealthSettings | undefined;
  private unhealthy = false;
  private stopping?: Promise<void>;
  /** The latest prepare: remove waits for it, or its folder and cgroups could appear after the removal. */
  private preparing?: Promise<void>;
  /** The start under way, shared by concurrent callers. */
  private starting?: Promise<void>;
  /** The runner's answer to this controller's `start` request, once one has been sent. */
  private launched?: Promise<StartResult>;
  /**
   * shutdown, terminate or remove was called: no `start` request is sent from then on. A stop may overtake
   * a start (the agent abandons a start when desired state goes to shutdown, without cancelling it), and
   * a process started after its task was stopped would run with nobody left to stop it.
   */
  private stopRequested = false;
  private startAttempted!: () => void;
  /** The release of the task's network, once asked for (releaseNetwork). */
  private networkReleased: Promise<void> | undefined;
  private readonly startAttemptedPromise = new Promise<void>((resolve) => (this.startAttempted = resolve));

  constructor(
    private readonly task: Task,
    private readonly context: ControllerContext,
    private readonly dependencies?: TaskDependencies,
  ) {
    this.taskId = task.ID;
    this.healthCheck = healthSettings(task.Spec.ContainerSpec?.Healthcheck);
  }

  /** The node as swarmkit's templates see it. */
  private get templateNode(): TemplateNode {
    return { hostname: this.context.nodeHostname, os: 'linux', architecture: machine() };
  }

  /** The task's ContainerSpec, with swarmkit's templates expanded (see templates.ts). */
  private get spec(): ContainerSpec {
    this.expandedSpec ??= expandContainerSpec(
      this.task.Spec.ContainerSpec ?? {},
      this.task,
      this.templateNode,
    );
    return this.expandedSpec;
  }

  prepare(): Promise<void> {
    this.preparing = this.prepareTask();
    return this.preparing;
  }

  private async prepareTask(): Promise<void> {
    // What this executor cannot do is refused here, never run without (the managers refuse what no node
    // can honour; a task can still arrive here from a spec the swarm's other nodes could honour).
    const refused = unhonoured(
      'process',
      specNeeds(this.task.Spec, (this.task as TaskWithLogDriver).LogDriver),
    );
    if (refused.length > 0) {
      throw new Error(
        `the process executor cannot honour ${refused.map(describeNeed).join(', ')}: ${EXECUTOR_NATURE.process}`,
      );
    }
    const spec = this.spec;
    const argv = commandLine(spec);
    const { client } = await this.context.ready();
    const existing = await client.request('inspect', { taskId: this.taskId });
    if (existing) {
      // Started by an earlier run of the daemon: already prepared (Docker: the container exists).
      this.info = existing;
      return;
    }
    const user = await loadExecUser(spec.User, spec.Groups);
    // The task's network is ready before its process can start: made here, entered by the launch.
    const network = await this.prepareNetwork();
    try {
      await this.prepareLaunch(spec, argv, user, network);
    } catch (err) {
      // A task that cannot be prepared never runs: its address goes back at once.
      await this.releaseNetwork();
      throw err;
    }
  }

  private async prepareLaunch(
    spec: ContainerSpec,
    argv: string[],
    user: Awaited<ReturnType<typeof loadExecUser>>,
    network: TaskNetworkConfig | undefined,
  ): Promise<void> {
    const { paths, cgroups } = await this.context.ready();
    const hostname = network?.hostname ?? this.ownHostname();
    this.files = await this.prepareFiles();
    this.launch = {
      argv,
      env: buildEnv(spec.Env, { hostname: hostname ?? this.context.nodeHostname, home: user.home }),
      cwd: spec.Dir || '/',
      user:
        spec.User || spec.Groups?.length ? { uid: user.uid, gid: user.gid, groups: user.groups } : undefined,
      hostname,
      ...(network
        ? {
            network: {
              netnsPath: network.netnsPath,
              hostsFile: network.hostsFile,
              resolvConf: network.resolvConf,
              hostnameFile: network.hostnameFile,
            },
          }
        : {}),
      image: spec.Image,
    };
    await mkdir(taskDir(paths, this.taskId), { recursive: true, mode: 0o700 });
    await cgroups.create(this.taskId, this.limits());
  }

  /**
   * The task's secrets and configs (task-files.ts), checked against the host: a target no mount can serve
   * is refused now, so that the task is rejected with the reason (mounts.ts). Nothing is written.
   */
  private async prepareFiles(): Promise<LaunchFile[] | undefined> {
    const files = await taskFilesWhenReady(this.task, this.dependencies, this.templateNode);
    if (files.length === 0) return undefined;
    if (!this.context.canMountFiles) {
      throw new Error(
        'cannot give the task its secrets and configs: a mount namespace of its own needs root',
      );
    }
    checkTargets(files, hostStat);
    return files.map(({ kind, name, target, uid, gid, mode, data }) => ({
      kind,
      name,
      target,
      uid,
      gid,
      mode,
      data: data.toString('base64'),
    }));
  }

  start(): Promise<void> {
    this.starting ??= this.startProcess()
      .catch(async (err: unknown) => {
        // It did not start, or ended while starting: the task is over, and its address goes back.
        await this.releaseNetwork();
        throw err;
      })
      .finally(() => {
        this.starting = undefined;
        this.startAttempted();
      });
    return this.starting;
  }

  async wait(): Promise<void> {
    await this.watchHealthOfAdoptedProcess();
    const ended = await this.exited();
    await this.releaseNetwork();
    this.failIfUnsuccessful(ended);
  }

  /**
   * Gives back the task's network namespace, its interfaces and addresses once its process has ended or
   * could not start, as Docker releases a sandbox when its container stops: the managers hand the task's
   * addresses out again as soon as it is past RUNNING, and a dead task's namespace on this node must not
   * answer for a new one. Once per controller; remove() makes sure (after a daemon restart too).
   */
  private releaseNetwork(): Promise<void> {
    const networks = this.context.networks;
    if (!networks || !needsTaskNamespace(this.task)) return Promise.resolve();
    this.networkReleased ??= networks.releaseTaskNetwork(this.taskId).catch((err: unknown) => {
      this.networkReleased = undefined; // remove() tries again
      this.context.log.warn(`task ${this.taskId}: releasing its network failed: ${(err as Error).message}`);
    });
    return this.networkReleased;
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.stopWith(async () => {
      // Straight from the task: stopping must not depend on templates expanding.
      const { StopSignal, StopGracePeriod: grace } = this.task.Spec.ContainerSpec ?? {};
      const signal = parseSignal(StopSignal || DEFAULT_STOP_SIGNAL);
      const graceMs = grace === undefined ? DEFAULT_STOP_GRACE_MS : grace / 1e6;
      return (await this.runner()).request('stop', { taskId: this.taskId, signal, graceMs });
    }).finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  terminate(): Promise<void> {
    return this.stopWith(async () => (await this.runner()).request('kill', { taskId: this.taskId }));
  }

  async remove(): Promise<void> {
    this.monitor?.stop();
    // As Docker's controller does: a task still running is shut down before it is removed.
    await this.shutdown();
    await this.preparing?.catch(() => undefined);
    await (await this.runner()).request('remove', { taskId: this.taskId });
    await this.releaseNetwork();
    this.context.onRemoved(this.taskId);
  }

  containerStatus(): { ContainerID?: string; PID?: number; ExitCode?: number } {
    const info = this.info;
    return {
      ContainerID: containerIdFor(this.taskId),
      PID: info?.state === 'running' ? info.pid : undefined,
      ExitCode: info?.state === 'exited' ? info.exitCode : undefined,
    };
  }

  health(): HealthState | undefined {
    return this.monitor?.state();
  }

  async *logs(options: LogOptions, signal: AbortSignal): AsyncIterable<LogLine> {
    const { paths, client } = await this.context.ready();
    let finished: Promise<unknown> = Promise.resolve();
    if (options.follow) {
      // Like Docker, following a task that has not started waits for it to start.
      if (!this.info && !(await client.request('inspect', { taskId: this.taskId }))) {
        await Promise.race([this.startAttemptedPromise, aborted(signal)]);
      }
      finished = this.exited().catch(() => undefined);
    }
    yield* readTaskLog(taskLogFile(paths, this.taskId), options, signal, finished);
  }

  private async startProcess(): Promise<void> {
    if (this.stopRequested && !this.info)
      throw new Error(`starting container failed: ${STOPPED_BEFORE_START}`);
    if (!this.launch && !this.info) await this.prepare();
    // Started by an earlier daemon run (prepare found it): re-adopt the process, never start a second one.
    const info = this.info ?? (await this.launchProcess());
    if (info.state !== 'running' || !this.healthCheck) return;
    // With a healthcheck the task counts as running only once healthy, as swarmkit's
    // container executor does (its start waits for the first healthy verdict). That holds
    // for a re-adopted process too: its earlier verdicts went with the daemon that watched them, so a task
    // that was still starting then must be found healthy again before it is reported running.
    const monitor = this.monitor ?? this.watchHealth(this.healthCheck, info.startedAt);
    const first = await Promise.race([
      monitor.firstVerdict(),
      this.exited().then((ended) => ({ exited: ended })),
    ]);
    if (first === 'healthy') return;
    // Unhealthy (the monitor is shutting the task down) or exited during start: report how it ended.
    const ended = typeof first === 'object' ? first.exited : await this.exited();
    this.failIfUnsuccessful(ended);
  }

  /** Asks the runner to start the prepared process — unless a stop came first. */
  private async launchProcess(): Promise<StartResult> {
    const launch = this.launch!;
    try {
      await checkWorkingDir(launch.cwd);
      const [name = '', ...args] = launch.argv;
      const exe = await resolveExecutable(name, launch.env, launch.cwd);
      const client = await this.runner();
      const files = this.files;
      // A runner outlives daemon upgrades: one older than what this task needs would start it without.
      const needed = [
        ...(files ? [['task-files', 'secrets and configs'] as const] : []),
        ...(launch.network ? [['task-networks', 'networks'] as const] : []),
      ];
      if (needed.length > 0) {
        const hello = await client.hello();
        const missing = needed.filter(([feature]) => !hello.features?.includes(feature));
        if (missing.length > 0) {
          throw new Error(
            `the task runner (pid ${hello.pid}) predates ${missing.map(([, what]) => what).join(' and ')}: stop it (its tasks stop too) so that this daemon starts a new one`,
          );
        }
      }
      // No await between this check and sending the request: a stop either sees `launched` (and waits
      // for the answer before it looks for the process) or has been requested before this point.
      if (this.stopRequested) throw new Error(STOPPED_BEFORE_START);
      this.launched = client.request('start', {
        taskId: this.taskId,
        launch: { ...launch, argv: [exe, ...args] },
        ...(files ? { files } : {}),
      });
      const started = await this.launched;
      this.info = started;
      // The runner has them in the task's tmpfs now: this daemon forgets them.
      this.files = undefined;
      return started;
    } catch (err) {
      throw new Error(`starting container failed: ${(err as Error).message}`);
    }
  }

  /**
   * After a daemon restart the agent goes straight to wait() for a task it knew as running: its health is
   * checked from now on, as the daemon that started it did.
   */
  private async watchHealthOfAdoptedProcess(): Promise<void> {
    if (!this.healthCheck || this.monitor) return;
    const info = this.info ?? (await (await this.runner()).request('inspect', { taskId: this.taskId }));
    if (!info) return; // not started: exited() reports that
    this.info = info;
    if (info.state === 'running' && !this.monitor) this.watchHealth(this.healthCheck, info.startedAt);
  }

  private watchHealth(settings: HealthSettings, startedAt: string): HealthMonitor {
    const monitor = new HealthMonitor({
      settings,
      taskStartedMs: parseTimestampMillis(startedAt),
      clock: this.context.clock,
      runProbe: async (argv, timeoutMs) =>
        (await this.runner()).request('probe', { taskId: this.taskId, argv, timeoutMs }),
      onStatus: (status) => {
        if (status !== 'unhealthy') return;
        // Docker stops an unhealthy task (gracefully) and reports it failed.
        this.unhealthy = true;
        this.context.log.info(`task ${this.taskId} is unhealthy; shutting it down`);
        this.shutdown().catch((err: Error) =>
          this.context.log.warn(`task ${this.taskId}: shutdown after unhealthy failed: ${err.message}`),
        );
      },
    });
    this.monitor = monitor;
    monitor.start();
    void this.exited().then(
      () => monitor.stop(),
      () => monitor.stop(),
    );
    return monitor;
  }

  /** How the process ended, once it has (one `wait` request per controller, shared). */
  private exited(): Promise<TaskInfo> {
    this.exitInfo ??= this.runner()
      .then((client) => client.request('wait', { taskId: this.taskId }))
      .then(
        (info) => {
          this.info = info;
          return info;
        },
        (err: Error) => {
          this.exitInfo = undefined; // e.g. not started yet: a later call asks again
          throw err;
        },
      );
    return this.exitInfo;
  }

  private failIfUnsuccessful(info: TaskInfo): void {
    const code = info.exitCode ?? 255;
    const cause = this.unhealthy ? UNHEALTHY_CONTAINER : info.error;
    if (code === 0) {
      // Docker would call an unhealthy task that exits 0 on its stop signal complete; a task stopped for
      // being unhealthy has failed, whatever its exit code, so that restart policies apply.
      if (this.unhealthy) throw new Error(UNHEALTHY_CONTAINER);
      return;
    }
    throw new ExitError(code, cause ? `task: non-zero exit (${code}): ${cause}` : undefined);
  }

  private async stopWith(request: () => Promise<TaskInfo>): Promise<void> {
    this.stopRequested = true;
    // A `start` request already sent may create the process after this stop looked for it: wait for
    // its answer (success or not) first. Only the request, not the health verdict a start then awaits.
    await this.launched?.catch(() => undefined);
    if (this.info?.state === 'exited') return;
    try {
      this.info = await request();
    } catch (err) {
      // Never started: nothing to stop. The runner now keeps a tombstone for the task ID, so a start
      // request from anywhere (another controller, a later daemon) will not start it either.
      if (isNoSuchTaskError(err)) return;
      throw err;
    }
  }

  startedMessage(): string {
    const image = this.task.Spec.ContainerSpec?.Image;
    return `started (process executor: the command runs from the host's filesystem${image ? `, image ${image} not used` : ''})`;
  }

  /** The task's namespace on its overlay networks or for its published ports (undefined: neither). */
  private async prepareNetwork(): Promise<TaskNetworkConfig | undefined> {
    if (!needsTaskNamespace(this.task)) return undefined;
    const networks = this.context.networks;
    if (!networks)
      throw new Error("the process executor cannot attach the task's networks: this node runs no networking");
    if (!this.context.canSetHostname)
      throw new Error("cannot attach the task's networks: network namespaces need root");
    return networks.prepareTaskNetwork(this.task, this.spec.Hostname ? { hostname: this.spec.Hostname } : {});
  }

  private ownHostname(): string | undefined {
    const wanted = this.spec.Hostname;
    if (!wanted) return undefined;
    if (this.context.canSetHostname) return wanted;
    throw new Error(`cannot set the task's hostname ${wanted}: a UTS namespace needs root`);
  }

  private async runner(): Promise<RunnerClient> {
    return (await this.context.ready()).client;
  }

  private limits(): TaskLimits {
    const resources = this.task.Spec.Resources;
    return {
      memoryBytes: resources?.Limits?.MemoryBytes,
      memoryReservationBytes: resources?.Reservations?.MemoryBytes,
      nanoCpus: resources?.Limits?.NanoCPUs,
      pids: resources?.Limits?.Pids,
    };
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
