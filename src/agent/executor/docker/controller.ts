// One task's controller on the docker executor: the task's container, driven through the Engine API as
// Docker's swarm executor drives its own daemon (moby daemon/cluster/executor/container/controller.go and
// adapter.go): prepare creates its named volumes, pulls a missing image and creates the container; start
// starts it and, with a healthcheck, waits for the engine to find it healthy; wait resolves when it exits.
// What the container does is learnt from the engine's event stream (the executor hands each controller
// the events of its container) and from inspecting it when the stream (re)opens — never by polling.
//
// Error texts are Docker's: `task: non-zero exit (137)`, `task: non-zero exit (137): dockerexec: unhealthy
// container`, `starting container failed: …`, `No such image: …` (the engine's own), moby's mount
// validation texts, and the docker CLI's `Cannot connect to the Docker daemon at …` when the engine is gone.

import { stat } from 'node:fs/promises';
import { describeNeed, EXECUTOR_NATURE, specNeeds, unhonoured } from '../../../api/executor-features.js';
import { needsTaskNamespace } from '../../../api/host-ports.js';
import type { Driver, HealthState, Mount, Task } from '../../../api/types.js';
import {
  ExitError,
  UNHEALTHY_CONTAINER,
  type Controller,
  type LogLine,
  type LogOptions,
  type TaskDependencies,
  type TaskNetworks,
} from '../executor.js';
import type { ExecutorLog } from '../process/log.js';
import { taskFilesWhenReady } from '../task-files.js';
import { expandContainerSpec, type TemplateNode } from '../templates.js';
import type { TaskFileStore } from './host-files.js';
import { isConflict, isNotFound, isUnreachable, type EngineClient } from './client.js';
import type { EngineEvent } from './events.js';
import { containerImage, isImageId, parseImageReference, pullQuery } from './image.js';
import { demultiplex, logsQuery, rawLines } from './logs.js';
import {
  containerCreateBody,
  containerName,
  joinSandbox,
  NODE_ID_LABEL,
  SANDBOX_IMAGE,
  SANDBOX_NODE_LABEL,
  SANDBOX_TASK_LABEL,
  sandboxCreateBody,
  sandboxName,
  TASK_ID_LABEL,
  validateTask,
  volumeCreateRequests,
  type EngineMount,
} from './spec.js';

type TaskWithLogDriver = Task & { LogDriver?: Driver };

/** moby's ErrContainerDestroyed: the container disappeared while the task waited for it. */
export const CONTAINER_DESTROYED = 'dockerexec: container destroyed';

/** Docker's default interval between health checks. */
const DEFAULT_HEALTH_INTERVAL_MS = 30_000;

/** Why a start fails after shutdown, terminate or remove (prefixed with `starting container failed: `). */
const STOPPED_BEFORE_START = 'the task was stopped before its container started';

/** What `GET /containers/{id}/json` says (the fields the controller reads). */
export interface ContainerInspect {
  Id: string;
  Name?: string;
  State?: {
    Status?: string;
    Pid?: number;
    ExitCode?: number;
    Error?: string;
    Health?: { Status?: string; FailingStreak?: number; Log?: HealthState['Log'] | null } | null;
  };
  Config?: {
    Tty?: boolean;
    Labels?: Record<string, string> | null;
    Healthcheck?: { Test?: string[] | null; Interval?: number } | null;
  };
}

/** A container's life, as far as the controller has seen it; it only ever moves forward. */
type Phase = 'created' | 'running' | 'exited' | 'gone';
const RANK: Record<Phase, number> = { created: 0, running: 1, exited: 2, gone: 3 };

interface Observed {
  phase: Phase;
  pid: number;
  exitCode?: number;
  /** The engine's State.Error (a runtime failure), once exited. */
  error?: string;
}

/** The engine's container states, in the controller's phases. */
export function phaseOf(status: string | undefined): Phase {
  switch (status) {
    case 'created':
      return 'created';
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    default:
      return 'exited'; // exited, dead, removing
  }
}

/** What controllers share, owned by the executor. */
export interface DockerControllerContext {
  client: EngineClient;
  nodeId: string;
  log: ExecutorLog;
  /** Resolves once the engine's event stream is open; rejects with the engine's error while it is down. */
  ready(): Promise<void>;
  /** The node as templates see it (the engine's hostname and platform). */
  templateNode(): Promise<TemplateNode>;
  /** The task's container, if the executor knows it (found at recovery, or created by this run). */
  knownContainer(taskId: string): string | undefined;
  /** Remembers the task's container. */
  registerContainer(taskId: string, containerId: string): void;
  /** Looks the task's container up on the engine, by its labels (this node's containers only). */
  findContainer(taskId: string): Promise<string | undefined>;
  /** Images this executor created containers from (so taken to be on the engine). */
  imageKnown(image: string): boolean;
  rememberImage(image: string): void;
  forgetImage(image: string): void;
  /** Bind mount sources can be checked on this host (the engine runs here, behind a unix socket). */
  localEngine: boolean;
  /** Where tasks' secret and config files are kept on the host (a tmpfs per task, host-files.ts). */
  taskFiles?: TaskFileStore;
  /**
   * The engine runs no health checks by itself, and the executor must (Podman without systemd: it
   * schedules them with systemd timers).
   */
  drivesHealthchecks(): boolean;
  /** A removal the engine could not do: retried once it answers again. */
  deferRemoval(taskId: string, containerId: string): void;
  /** The task is removed: the executor forgets this controller. */
  onRemoved(taskId: string): void;
  /**
   * The node's networking: a task on overlay networks gets a sandbox container whose namespace it attaches
   * (architecture §6). Absent (an executor without a node, in tests), such a task is refused.
   */
  networks?: TaskNetworks;
}

export class DockerController implements Controller {
  readonly taskId: string;
  private containerId: string | undefined;
  private observed: Observed | undefined;
  private tty = false;
  /** The container has a healthcheck of its own (the spec's, or its image's). */
  private healthchecked = false;
  private healthState: HealthState | undefined;
  private unhealthy = false;
  /** The engine went away while this controller depended on it. */
  private lost: Error | undefined;
  private listeners = new Set<() => void>();
  private preparing: Promise<void> | undefined;
  private starting: Promise<void> | undefined;
  /** The engine's answer to this controller's start request, once one was sent. */
  private launched: Promise<unknown> | undefined;
  private stopping: Promise<void> | undefined;
  private stopRequested = false;
  /** Operations waiting on the container (start, wait): after an outage, a container nobody waits on is killed. */
  private pending = 0;
  private refreshingHealth: Promise<void> | undefined;
  /** The task's mounts with their templates expanded, once prepared by this controller. */
  private mounts: Mount[] | undefined;
  /** The next health check the executor runs for an engine that does not (Podman without systemd). */
  private healthTimer: NodeJS.Timeout | undefined;
  private healthInterval = DEFAULT_HEALTH_INTERVAL_MS;
  private disposed = false;
  private healthAgain = false;
  /** The task's files on the host are being (or have been) unmounted. */
  private filesReleased: Promise<void> | undefined;
  /** The release of the sandbox and network once the container stopped or could not be made. */
  private sandboxReleased: Promise<void> | undefined;

  constructor(
    private readonly task: Task,
    private readonly context: DockerControllerContext,
    private readonly dependencies?: TaskDependencies,
  ) {
    this.taskId = task.ID;
    this.containerId = context.knownContainer(task.ID);
  }

  // ------------------------------------------------------------------------------------------- lifecycle

  prepare(): Promise<void> {
    this.preparing = this.prepareContainer();
    return this.preparing;
  }

  start(): Promise<void> {
    this.starting ??= this.track(this.startContainer()).finally(() => (this.starting = undefined));
    return this.starting;
  }

  wait(): Promise<void> {
    return this.track(this.waitForExit());
  }

  shutdown(): Promise<void> {
    this.stopping ??= this.stopContainer().finally(() => (this.stopping = undefined));
    return this.stopping;
  }

  async terminate(): Promise<void> {
    this.stopRequested = true;
    await this.launched?.catch(() => undefined);
    const id = await this.container();
    if (!id || this.finished()) return;
    await this.context.client.request('POST', `/containers/${id}/kill`, { accept: [404, 409] });
    await this.inspect().catch(() => undefined);
  }

  async remove(): Promise<void> {
    this.stopRequested = true;
    // As Docker's controller: a container still running is stopped first, and a failure to do so is no
    // reason not to remove it.
    await this.shutdown().catch((err: unknown) =>
      this.context.log.debug('docker executor: shutdown before removal failed', { taskId: this.taskId, err }),
    );
    await this.preparing?.catch(() => undefined);
    const id = await this.container().catch(() => this.containerId);
    if (id) {
      try {
        await this.context.client.removeContainer(id, { volumes: true });
      } catch (err) {
        if (isUnreachable(err)) this.context.deferRemoval(this.taskId, id);
        throw err;
      }
    }
    if (hasFiles(this.task)) await this.releaseFiles(true);
    await this.removeSandbox();
    this.context.onRemoved(this.taskId);
  }

  containerStatus(): { ContainerID?: string; PID?: number; ExitCode?: number } {
    const observed = this.observed;
    return {
      ...(this.containerId ? { ContainerID: this.containerId } : {}),
      ...(observed?.phase === 'running' && observed.pid > 0 ? { PID: observed.pid } : {}),
      ...(observed?.exitCode !== undefined ? { ExitCode: observed.exitCode } : {}),
    };
  }

  health(): HealthState | undefined {
    return this.healthchecked ? this.healthState : undefined;
  }

  async *logs(options: LogOptions, signal: AbortSignal): AsyncIterable<LogLine> {
    await this.context.ready();
    const id = await this.container();
    if (!id) return;
    if (!this.observed) await this.inspect();
    if (options.follow) {
      // As Docker's: following a task's logs waits for its container to be started.
      await this.until(
        () => this.observed !== undefined && RANK[this.observed.phase] >= RANK.running,
        signal,
      );
      if (signal.aborted) return;
    }
    const response = await this.context.client.stream('GET', `/containers/${id}/logs`, {
      query: logsQuery(options),
      signal,
    });
    try {
      yield* this.tty ? rawLines(response) : demultiplex(response);
    } finally {
      response.destroy();
    }
  }

  // ------------------------------------------------------------------------------- driven by the executor

  /** An event of this task's container, from the engine's stream. */
  onEvent(event: EngineEvent): void {
    const action = event.Action ?? '';
    const attributes = event.Actor?.Attributes ?? {};
    const id = event.Actor?.ID ?? event.id;
    if (id && !this.containerId && action === 'create') this.containerId = id;
    if (id && this.containerId && id !== this.containerId) return; // another container of the same task: not ours
    if (action === 'start') this.observe({ phase: 'running', pid: 0 });
    else if (action === 'die') {
      const exitCode = Number(attributes.exitCode);
      this.observe({ phase: 'exited', pid: 0, ...(Number.isInteger(exitCode) ? { exitCode } : {}) });
    } else if (action === 'destroy') this.observe({ phase: 'gone', pid: 0 });
    else if (action.startsWith('health_status')) {
      const status = action.slice(action.indexOf(':') + 1).trim();
      if (status === 'healthy' || status === 'unhealthy' || status === 'starting') {
        this.healthState = { ...(this.healthState ?? { FailingStreak: 0, Log: [] }), Status: status };
        this.notify();
      }
      this.refreshHealth();
    } else if (action === 'exec_die' && this.healthchecked) {
      // A health probe ended (or an exec of the user's): the probe's result is in the container's state.
      this.refreshHealth();
    }
  }

  /** The engine stopped answering: whatever waits on it fails with `err`. */
  engineLost(err: Error): void {
    this.lost = err;
    this.notify();
  }

  /**
   * The engine's event stream is open again: look at the container once more, since events may have been
   * missed. Resolves to whether a container of this task runs that no one waits on any more (after an
   * outage: its task failed with the engine, and the executor kills it).
   */
  async resync(): Promise<boolean> {
    this.lost = undefined;
    if (!this.containerId) return false;
    await this.inspect().catch(() => undefined);
    return this.pending === 0 && this.observed?.phase === 'running';
  }

  /** The executor closes (the daemon stops): the controller schedules nothing more. */
  dispose(): void {
    this.disposed = true;
    clearTimeout(this.healthTimer);
    this.healthTimer = undefined;
  }

  // ------------------------------------------------------------------------------------------- internals

  private async prepareContainer(): Promise<void> {
    const task = this.task as TaskWithLogDriver;
    // What this executor cannot do is refused, never run without.
    const refused = unhonoured('docker', specNeeds(task.Spec, task.LogDriver));
    if (refused.length > 0) {
      throw new Error(
        `the docker executor cannot honour ${refused.map(describeNeed).join(', ')}: ${EXECUTOR_NATURE.docker}`,
      );
    }
    validateTask(task);
    await this.context.ready();
    if (this.containerId) {
      // Created by an earlier run of the daemon (Docker: the container exists, the task is prepared).
      await this.inspect();
      return;
    }
    const node = await this.context.templateNode();
    try {
      await this.createContainer(task, node);
    } catch (err) {
      // A task that cannot be created never runs: its secrets leave the host and its address goes back
      // now, not when the task is removed from the store.
      if (hasFiles(task)) await this.releaseFiles(true);
      await this.releaseSandbox();
      throw err;
    }
  }

  private async createContainer(task: TaskWithLogDriver, node: TemplateNode): Promise<void> {
    let body = containerCreateBody(task, node, await this.putFiles(node));
    // On overlay networks, or publishing ports: the sandbox first, its namespace attached; the container
    // joins it.
    if (needsTaskNamespace(task)) {
      const networks = this.context.networks;
      if (!networks)
        throw new Error(
          "the docker executor cannot attach the task's networks: this node runs no networking",
        );
      if (!this.context.localEngine)
        throw new Error(
          "the docker executor attaches a task's networks only with an engine on this host (a unix socket)",
        );
      const hostname = body.Hostname || task.ID.slice(0, 12);
      const sandbox = await this.ensureSandbox(hostname);
      const files = await networks.prepareTaskNetwork(task, { adoptPid: sandbox.pid, hostname });
      if (files) body = joinSandbox(body, sandbox.id, files);
    }
    // The mounts as the container gets them: templates in their sources expanded.
    this.mounts = expandContainerSpec(task.Spec.ContainerSpec ?? {}, task, node).Mounts ?? [];
    const { client } = this.context;
    for (const volume of volumeCreateRequests({ Mounts: this.mounts })) {
      await client.request('POST', '/volumes/create', { body: volume, change: true });
    }
    // An image this executor has created containers from is taken to be there still (one request less
    // per task); if the engine says otherwise, it is looked for (and pulled) as any other.
    const known = this.context.imageKnown(body.Image);
    if (!known) await this.ensureImage();
    const name = containerName(task);
    const create = async (): Promise<string> =>
      (
        await client.request<{ Id: string }>('POST', '/containers/create', {
          change: true,
          query: { name },
          body,
        })
      ).body.Id;
    let id: string;
    try {
      try {
        id = await create();
      } catch (err) {
        if (!known || !isNotFound(err)) throw err;
        this.context.forgetImage(body.Image);
        await this.ensureImage();
        id = await create();
      }
    } catch (err) {
      // Created by an earlier attempt whose answer was lost: that container is this task's.
      if (!isConflict(err)) throw err;
      const existing = await this.inspectByName(name);
      if (!existing) throw err;
      id = existing.Id;
    }
    this.context.rememberImage(body.Image);
    this.containerId = id;
    this.context.registerContainer(this.taskId, id);
    this.observe({ phase: 'created', pid: 0 });
  }

  /**
   * The task's secrets and configs (task-files.ts), put in a tmpfs of the task's on the host: the mounts
   * that bind them into its container. The engine must be on this host to see them.
   */
  private async putFiles(node: TemplateNode): Promise<EngineMount[]> {
    const files = await taskFilesWhenReady(this.task, this.dependencies, node);
    if (files.length === 0) return [];
    const { taskFiles, localEngine, client } = this.context;
    if (!localEngine || !taskFiles) {
      throw new Error(
        `cannot give the task its secrets and configs: the engine at ${client.address.display} is not on this host, and secrets are bind-mounted from this host's memory`,
      );
    }
    return taskFiles.put(this.taskId, files);
  }

  /**
   * Pulls the task's image unless the engine has it (moby always tries, and goes on with the image it
   * has when the registry cannot be reached; shoal asks the engine first, so a node offline from its
   * registry runs what it has without a failed pull each time). A failed pull is logged — never its
   * credentials — and the create that follows fails with the engine's `No such image: …` if the image
   * is missing, as with Docker.
   */
  private async ensureImage(): Promise<void> {
    const spec = this.task.Spec.ContainerSpec ?? {};
    const raw = spec.Image ?? '';
    if (isImageId(raw)) return;
    const image = containerImage(raw);
    const { client, log } = this.context;
    try {
      await client.request('GET', `/images/${image}/json`);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const reference = parseImageReference(raw);
    if (!reference) return; // the engine words what is wrong with it, at create
    const auth = spec.PullOptions?.RegistryAuth;
    try {
      const response = await client.stream('POST', '/images/create', {
        query: pullQuery(reference),
        ...(auth ? { headers: { 'X-Registry-Auth': auth } } : {}),
      });
      const failure = await pullOutcome(response);
      if (failure) throw new Error(failure);
      log.info('docker executor: pulled image', { taskId: this.taskId, image });
    } catch (err) {
      if (isUnreachable(err)) throw err;
      log.error('docker executor: pulling image failed', {
        taskId: this.taskId,
        image,
        error: (err as Error).message,
      });
    }
  }

  private async startContainer(): Promise<void> {
    if (this.stopRequested && !this.containerId)
      throw new Error(`starting container failed: ${STOPPED_BEFORE_START}`);
    await this.context.ready();
    if (!this.containerId) await (this.preparing ?? this.prepare());
    const id = this.containerId!;
    // Just created (or inspected) by prepare: no need to ask the engine again.
    const phase = this.observed?.phase ?? phaseOf((await this.inspect()).State?.Status);
    if (phase === 'created') {
      // moby checks bind sources again at start: they may have gone since the container was created.
      await this.checkBindSources();
      // No await between this check and sending the request: a stop either sees `launched` (and waits
      // for the answer) or was requested before this point.
      if (this.stopRequested) throw new Error(`starting container failed: ${STOPPED_BEFORE_START}`);
      this.launched = this.context.client.request('POST', `/containers/${id}/start`, {
        accept: [304],
        change: true,
      });
      try {
        await this.launched;
      } catch (err) {
        if (isUnreachable(err)) throw err;
        throw new Error(`starting container failed: ${(err as Error).message}`);
      }
      await this.inspect();
    }
    if (!this.healthchecked) return;
    this.driveHealthchecks();
    // With a healthcheck the task is running only once the engine finds it healthy (moby's Start waits for
    // the health_status event); unhealthy first, it is stopped and fails.
    await this.until(() => {
      const status = this.healthState?.Status;
      return status === 'healthy' || status === 'unhealthy' || this.finished();
    });
    if (this.healthState?.Status === 'unhealthy' && !this.finished()) await this.stopUnhealthy();
    if (this.finished()) this.failIfUnsuccessful({ zeroIsSuccess: !this.unhealthy });
  }

  private async waitForExit(): Promise<void> {
    if (this.lost) throw this.lost;
    await this.context.ready();
    const id = await this.container();
    if (!id) throw new Error(`No such container: ${containerName(this.task)}`);
    if (!this.observed) await this.inspect();
    if (this.healthchecked) this.driveHealthchecks();
    for (;;) {
      await this.until(
        () =>
          this.finished() ||
          (this.healthchecked && this.healthState?.Status === 'unhealthy' && !this.unhealthy),
      );
      if (this.finished()) break;
      // Turned unhealthy while running: Docker's controller stops it, and the task fails.
      await this.stopUnhealthy();
    }
    this.failIfUnsuccessful({ zeroIsSuccess: !this.unhealthy });
  }

  private async stopUnhealthy(): Promise<void> {
    this.unhealthy = true;
    this.context.log.info(`task ${this.taskId} is unhealthy; shutting it down`);
    await this.shutdown().catch((err: unknown) =>
      this.context.log.warn(`task ${this.taskId}: shutdown after unhealthy failed`, { err }),
    );
    await this.until(() => this.finished());
  }

  /** Throws how the container ended, unless it ended well (or the engine went away first). */
  private failIfUnsuccessful(options: { zeroIsSuccess: boolean }): void {
    if (this.lost && !this.finished()) throw this.lost;
    const observed = this.observed!;
    if (observed.phase === 'gone' && observed.exitCode === undefined) throw new Error(CONTAINER_DESTROYED);
    const code = observed.exitCode ?? 0;
    const cause = this.unhealthy ? UNHEALTHY_CONTAINER : observed.error;
    if (code === 0) {
      // An unhealthy task that exits 0 on its stop signal has still failed (as the process executor
      // decides), so that restart policies apply.
      if (!options.zeroIsSuccess) throw new Error(UNHEALTHY_CONTAINER);
      return;
    }
    throw new ExitError(code, cause ? `task: non-zero exit (${code}): ${cause}` : undefined);
  }

  private async stopContainer(): Promise<void> {
    this.stopRequested = true;
    // A start request already sent may start the container after this stop looked at it: wait for its
    // answer first (not for the health verdict the start then waits for).
    await this.launched?.catch(() => undefined);
    const id = await this.container();
    if (!id || this.finished()) return;
    // Docker stops with the grace period as the engine's stop timeout, in whole seconds.
    const grace = this.task.Spec.ContainerSpec?.StopGracePeriod;
    const seconds = grace === undefined ? undefined : Math.trunc(grace / 1e9);
    await this.context.client.request('POST', `/containers/${id}/stop`, {
      query: { t: seconds },
      accept: [304, 404],
    });
    await this.inspect().catch(() => undefined);
  }

  /** The task's container ID: known, or looked up by its labels (a task of an earlier daemon run). */
  private async container(): Promise<string | undefined> {
    if (this.containerId) return this.containerId;
    const known = this.context.knownContainer(this.taskId) ?? (await this.context.findContainer(this.taskId));
    if (known) this.containerId = known;
    return known;
  }

  private async inspect(): Promise<ContainerInspect> {
    const id = this.containerId!;
    let inspected: ContainerInspect;
    try {
      inspected = (await this.context.client.request<ContainerInspect>('GET', `/containers/${id}/json`)).body;
    } catch (err) {
      if (isNotFound(err)) this.observe({ phase: 'gone', pid: 0 });
      throw err;
    }
    this.learn(inspected);
    return inspected;
  }

  /**
   * The task's sandbox, running: the one an earlier attempt made (started again if it stopped), else a new
   * one (busybox pulled if the engine lacks it). Its process holds the network namespace being attached.
   */
  private async ensureSandbox(hostname: string): Promise<{ id: string; pid: number }> {
    const { client, nodeId } = this.context;
    const name = sandboxName(this.task);
    const inspect = async (ref: string): Promise<ContainerInspect | undefined> => {
      try {
        const found = (await client.request<ContainerInspect>('GET', `/containers/${ref}/json`)).body;
        const labels = found.Config?.Labels ?? {};
        return labels[SANDBOX_TASK_LABEL] === this.taskId && labels[SANDBOX_NODE_LABEL] === nodeId
          ? found
          : undefined;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    let sandbox = await inspect(name);
    if (!sandbox) {
      await this.ensureSandboxImage();
      try {
        await client.request('POST', '/containers/create', {
          change: true,
          query: { name },
          body: sandboxCreateBody(this.task, nodeId, hostname),
        });
      } catch (err) {
        if (!isConflict(err)) throw err; // else made by an earlier attempt whose answer was lost
      }
      sandbox = await inspect(name);
      if (!sandbox) throw new Error(`the task's sandbox container ${name} is not this task's`);
    }
    if (phaseOf(sandbox.State?.Status) !== 'running') {
      await client.request('POST', `/containers/${sandbox.Id}/start`, { accept: [304], change: true });
      sandbox = await inspect(sandbox.Id);
    }
    const pid = sandbox?.State?.Pid ?? 0;
    if (!sandbox || pid <= 0) throw new Error(`the task's sandbox container ${name} is not running`);
    return { id: sandbox.Id, pid };
  }

  private async ensureSandboxImage(): Promise<void> {
    const { client } = this.context;
    try {
      await client.request('GET', `/images/${SANDBOX_IMAGE}/json`);
      return;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const response = await client.stream('POST', '/images/create', {
      query: { fromImage: 'busybox', tag: 'latest' },
    });
    const failure = await pullOutcome(response);
    if (failure) throw new Error(`pulling ${SANDBOX_IMAGE} for the task's sandbox failed: ${failure}`);
  }

  /**
   * The task's sandbox and network namespace, once its container has stopped or could not be made: the
   * managers hand its addresses out again as soon as it is past RUNNING. Once; a failure is logged and
   * the task's removal (removeSandbox) makes sure.
   */
  private releaseSandbox(): Promise<void> {
    if (!needsTaskNamespace(this.task)) return Promise.resolve();
    this.sandboxReleased ??= this.removeSandbox().catch((err: unknown) => {
      this.sandboxReleased = undefined;
      this.context.log.warn("docker executor: releasing the task's sandbox and network failed", {
        taskId: this.taskId,
        error: (err as Error).message,
      });
    });
    return this.sandboxReleased;
  }

  /** Removes the task's sandbox containers and releases its network namespace. */
  private async removeSandbox(): Promise<void> {
    if (!needsTaskNamespace(this.task)) return;
    const { client, nodeId } = this.context;
    const filters = { label: [`${SANDBOX_TASK_LABEL}=${this.taskId}`, `${SANDBOX_NODE_LABEL}=${nodeId}`] };
    const { body } = await client.request<{ Id: string; Labels?: Record<string, string> | null }[]>(
      'GET',
      '/containers/json',
      { query: { all: true, filters: JSON.stringify(filters) } },
    );
    for (const sandbox of body ?? []) {
      // Filtered by the engine, and checked again: nothing else is ever touched.
      if (
        sandbox.Labels?.[SANDBOX_TASK_LABEL] !== this.taskId ||
        sandbox.Labels[SANDBOX_NODE_LABEL] !== nodeId
      )
        continue;
      await client.removeContainer(sandbox.Id);
    }
    await this.context.networks?.releaseTaskNetwork(this.taskId);
  }

  /** A container named `name` that belongs to this task on this node, if there is one. */
  private async inspectByName(name: string): Promise<ContainerInspect | undefined> {
    try {
      const found = (await this.context.client.request<ContainerInspect>('GET', `/containers/${name}/json`))
        .body;
      const labels = found.Config?.Labels ?? {};
      if (labels[TASK_ID_LABEL] !== this.taskId || labels[NODE_ID_LABEL] !== this.context.nodeId)
        return undefined;
      this.containerId = found.Id;
      this.learn(found);
      return found;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** What an inspection says: the container's configuration, state and health. */
  private learn(inspected: ContainerInspect): void {
    this.tty = inspected.Config?.Tty === true;
    const test = inspected.Config?.Healthcheck?.Test ?? [];
    this.healthchecked = test.length > 0 && test[0] !== 'NONE';
    const interval = inspected.Config?.Healthcheck?.Interval;
    this.healthInterval = interval ? interval / 1e6 : DEFAULT_HEALTH_INTERVAL_MS;
    const state = inspected.State ?? {};
    const phase = phaseOf(state.Status);
    this.observe({
      phase,
      pid: state.Pid ?? 0,
      ...(phase === 'exited' ? { exitCode: state.ExitCode ?? 0 } : {}),
      ...(phase === 'exited' && state.Error ? { error: state.Error } : {}),
    });
    const health = state.Health;
    if (this.healthchecked && health?.Status) {
      const status = health.Status;
      this.healthState = {
        Status: status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : 'none',
        FailingStreak: health.FailingStreak ?? 0,
        Log: (health.Log ?? []).map(({ Start, End, ExitCode, Output }) => ({ Start, End, ExitCode, Output })),
      };
      this.notify();
    }
  }

  /** Moves the observed state forward (never back: an older inspection must not undo a newer event). */
  private observe(next: Observed): void {
    const current = this.observed;
    if (current && RANK[next.phase] < RANK[current.phase]) return;
    if (current && next.phase === current.phase) {
      this.observed = {
        phase: current.phase,
        pid: next.pid || current.pid,
        ...((next.exitCode ?? current.exitCode) !== undefined
          ? { exitCode: next.exitCode ?? current.exitCode }
          : {}),
        ...((next.error ?? current.error) !== undefined ? { error: next.error ?? current.error } : {}),
      };
    } else {
      this.observed = {
        ...next,
        ...(next.exitCode === undefined && current?.exitCode !== undefined
          ? { exitCode: current.exitCode }
          : {}),
      };
    }
    // As moby unmounts a container's secrets and releases its sandbox when it stops: nothing needs them.
    if (this.finished()) {
      if (hasFiles(this.task)) void this.releaseFiles();
      void this.releaseSandbox();
    }
    this.notify();
  }

  /**
   * Unmounts and deletes the task's secret and config files on the host (once; `again` makes sure, for a
   * removal, after any release under way). A failure is logged: the next removal of the task retries.
   */
  private releaseFiles(again = false): Promise<void> {
    const release = async (): Promise<void> => {
      await this.context.taskFiles?.remove(this.taskId).catch((err: unknown) =>
        this.context.log.warn("docker executor: removing the task's secret and config files failed", {
          taskId: this.taskId,
          error: (err as Error).message,
        }),
      );
    };
    if (!this.filesReleased) this.filesReleased = release();
    else if (again) this.filesReleased = this.filesReleased.then(release);
    return this.filesReleased;
  }

  /** Re-reads the container's health (one inspection at a time; a request meanwhile makes one more). */
  private refreshHealth(): void {
    if (!this.containerId) return;
    if (this.refreshingHealth) {
      this.healthAgain = true;
      return;
    }
    this.refreshingHealth = this.inspect()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.refreshingHealth = undefined;
        if (this.healthAgain) {
          this.healthAgain = false;
          this.refreshHealth();
        }
      });
  }

  /**
   * Runs the container's health check every interval when the engine does not (Podman schedules them
   * with systemd timers, which a host without systemd does not have): `GET /libpod/containers/{id}/
   * healthcheck`, what the timer runs. The result comes back as the container's health, with its event.
   */
  private driveHealthchecks(): void {
    if (this.healthTimer || this.disposed || !this.containerId || !this.context.drivesHealthchecks()) return;
    const id = this.containerId;
    const over = (): boolean => this.finished() || this.stopRequested || this.disposed;
    const next = (): void => {
      this.healthTimer = setTimeout(() => {
        if (over()) {
          this.healthTimer = undefined;
          return;
        }
        this.context.client
          .requestLibpod('GET', `/containers/${id}/healthcheck`)
          .catch((err: unknown) =>
            this.context.log.debug('docker executor: running a health check failed', {
              taskId: this.taskId,
              err,
            }),
          )
          .finally(() => {
            if (this.disposed) return;
            this.refreshHealth();
            if (!over()) next();
            else this.healthTimer = undefined;
          });
      }, this.healthInterval);
      this.healthTimer.unref();
    };
    next();
  }

  private finished(): boolean {
    const phase = this.observed?.phase;
    return phase === 'exited' || phase === 'gone';
  }

  /** moby's checkMounts: a bind mount's source must (still) exist when the container starts. */
  private async checkBindSources(): Promise<void> {
    if (!this.context.localEngine) return;
    for (const mount of this.mounts ?? []) {
      if (mount.Type !== 'bind' || !mount.Source) continue;
      try {
        await stat(mount.Source);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new Error(
            `starting container failed: invalid bind mount source, source path not found: ${mount.Source}`,
          );
        }
      }
    }
  }

  /** Resolves when `condition` holds; rejects when the engine is lost first; returns early on `signal`. */
  private until(condition: () => boolean, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (condition() || signal?.aborted) done(resolve);
        else if (this.lost) done(() => reject(this.lost));
      };
      const done = (settle: () => void): void => {
        this.listeners.delete(check);
        signal?.removeEventListener('abort', check);
        settle();
      };
      this.listeners.add(check);
      signal?.addEventListener('abort', check, { once: true });
      check();
    });
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Counts the operation as waiting on the container while it runs. */
  private track<T>(operation: Promise<T>): Promise<T> {
    this.pending++;
    return operation.finally(() => this.pending--);
  }
}

/** Reads a pull's progress stream to its end; the error it ends with, if any. */
async function pullOutcome(response: AsyncIterable<Buffer | string>): Promise<string | undefined> {
  let pending = '';
  let failure: string | undefined;
  const consider = (line: string): void => {
    if (line.trim() === '') return;
    try {
      const message = JSON.parse(line) as { error?: unknown; errorDetail?: { message?: unknown } };
      if (typeof message.error === 'string') failure = message.error;
      else if (typeof message.errorDetail?.message === 'string') failure = message.errorDetail.message;
    } catch {
      // progress output that is not JSON: nothing to learn from it
    }
  };
  for await (const chunk of response) {
    pending += chunk.toString();
    let newline: number;
    while ((newline = pending.indexOf('\n')) !== -1) {
      consider(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
    }
  }
  consider(pending);
  return failure;
}

/** Whether the task's spec references secrets or configs. */
function hasFiles(task: Task): boolean {
  const container = task.Spec.ContainerSpec;
  return (container?.Secrets?.length ?? 0) > 0 || (container?.Configs?.length ?? 0) > 0;
}
