// The docker executor: a node's tasks as containers on its container engine (the Docker Engine, or Podman's
// Docker-compatible service), as a Docker Swarm node runs them. This class is the node's side of the
// engine: it describes the node from the engine, follows the engine's events for this node's task
// containers (and only those: every call and the event stream are filtered by the `com.docker.swarm.task.id`
// label and this node's `com.docker.swarm.node.id`), hands out one controller per task, finds the
// containers an earlier daemon run left (`recover()`), and removes them all when the node leaves
// (`purge()`). Containers belong to the engine: they outlive shoald, and the next run re-adopts them.
//
//   const executor = new DockerExecutor({ engineHost: 'unix:///var/run/docker.sock', nodeId, log });
//   const recovered = await executor.recover();   // this node's containers, running or exited
//   const controller = executor.controller(task); // re-attaches to the task's container if it exists
//   …
//   await executor.close();                       // containers keep running
//   await executor.purge();                       // or, leaving the swarm: every task container removed

import { existsSync } from 'node:fs';
import { hostname as osHostname, machine } from 'node:os';
import type { Labels, NodeDescription, Task, TaskStatus } from '../../../api/types.js';
import {
  ExecutorUnavailableError,
  type Controller,
  type Executor,
  type RecoveredTask,
  type TaskDependencies,
  type TaskNetworks,
} from '../executor.js';
import type { ExecutorLog } from '../process/log.js';
import type { TemplateNode } from '../templates.js';
import { EngineClient, isUnreachable, parseEngineHost } from './client.js';
import { DockerController, phaseOf, type ContainerInspect } from './controller.js';
import { describeFromInfo, describeWithoutEngine, engineInfo } from './describe.js';
import { EngineMonitor, type EngineEvent } from './events.js';
import { HostTaskFiles, taskFilesDir, type TaskFileStore } from './host-files.js';
import { NODE_ID_LABEL, SANDBOX_NODE_LABEL, SANDBOX_TASK_LABEL, TASK_ID_LABEL } from './spec.js';

export interface DockerExecutorOptions {
  /** `unix:///var/run/docker.sock`, or `tcp://host:port`. */
  engineHost: string;
  /** The daemon's data dir: its tasks' secret and config files are kept in tmpfs mounts named after it. */
  dataDir?: string;
  /** Where tasks' secret and config files are kept (default: tmpfs mounts on the host, host-files.ts). */
  taskFiles?: TaskFileStore;
  /** This node's ID: its containers are those labelled with it. */
  nodeId: string;
  /** shoald's `--label`s, added to the engine's in the node description. */
  engineLabels?: Labels;
  log: ExecutorLog;
  /** The node's networking: tasks on overlay networks join the namespaces it prepares. */
  networks?: TaskNetworks;
}

/** A container of this node as `GET /containers/json` lists it. */
interface ContainerSummary {
  Id: string;
  State?: string;
  Labels?: Record<string, string> | null;
}

export class DockerExecutor implements Executor {
  readonly client: EngineClient;
  private readonly monitor: EngineMonitor;
  private readonly controllers = new Map<string, DockerController>();
  /** Task ID → its container, for containers found at recovery or created by this run. */
  private readonly containers = new Map<string, string>();
  /** Containers whose removal the engine could not do when asked (it was down): removed when it is back. */
  private readonly deferredRemovals = new Map<string, string>();
  private description: NodeDescription | undefined;
  private readonly descriptionListeners = new Set<() => void>();
  /** Images containers were created from (by the name used): no need to look for them again. */
  private readonly images = new Set<string>();
  private closed = false;
  /** The engine was down since the stream last opened: the tasks waiting on it failed. */
  private outage = false;
  private systemd: boolean | undefined;
  private readonly taskFiles: TaskFileStore | undefined;

  constructor(private readonly options: DockerExecutorOptions) {
    if (!options.nodeId) throw new Error('the docker executor needs the node ID');
    this.taskFiles =
      options.taskFiles ?? (options.dataDir ? new HostTaskFiles(taskFilesDir(options.dataDir)) : undefined);
    this.client = new EngineClient(parseEngineHost(options.engineHost));
    this.monitor = new EngineMonitor({
      client: this.client,
      filters: { type: ['container'], label: [`${NODE_ID_LABEL}=${options.nodeId}`, TASK_ID_LABEL] },
      log: options.log,
      onEvent: (event) => this.onEvent(event),
      onConnected: (again) => {
        if (again) void this.engineBack();
      },
      onDown: (err) => this.engineDown(err),
    });
    this.monitor.start();
  }

  /** The engine's address, as the user gave it. */
  get engineHost(): string {
    return this.client.address.display;
  }

  /**
   * The node as its engine describes it. While the engine does not answer, the last description (or, if
   * there never was one, the host's facts): the node stays in the swarm and its tasks fail with the
   * engine's error rather than the node going down.
   */
  async describe(): Promise<NodeDescription> {
    try {
      this.description = describeFromInfo(await engineInfo(this.client), this.options.engineLabels);
    } catch (err) {
      if (!this.description) {
        this.options.log.warn('docker executor: cannot describe the node from its engine', {
          engine: this.engineHost,
          error: (err as Error).message,
        });
      }
      return this.description ?? describeWithoutEngine(this.options.engineLabels);
    }
    return this.description;
  }

  watchDescription(listener: () => void): void {
    this.descriptionListeners.add(listener);
  }

  controller(task: Task, dependencies?: TaskDependencies): Controller {
    let controller = this.controllers.get(task.ID);
    if (!controller) {
      controller = new DockerController(
        task,
        {
          client: this.client,
          nodeId: this.options.nodeId,
          log: this.options.log,
          ready: () => this.monitor.ready(),
          templateNode: () => this.templateNode(),
          knownContainer: (taskId) => this.containers.get(taskId),
          registerContainer: (taskId, containerId) => this.containers.set(taskId, containerId),
          findContainer: (taskId) => this.findContainer(taskId),
          imageKnown: (image) => this.images.has(image),
          rememberImage: (image) => this.images.add(image),
          forgetImage: (image) => this.images.delete(image),
          localEngine: this.client.address.socketPath !== undefined,
          ...(this.taskFiles ? { taskFiles: this.taskFiles } : {}),
          drivesHealthchecks: () => this.drivesHealthchecks(),
          deferRemoval: (taskId, containerId) => this.deferredRemovals.set(containerId, taskId),
          onRemoved: (taskId) => {
            this.controllers.delete(taskId);
            this.containers.delete(taskId);
          },
          ...(this.options.networks ? { networks: this.options.networks } : {}),
        },
        dependencies,
      );
      this.controllers.set(task.ID, controller);
    }
    return controller;
  }

  /** This node's task containers: running ones are re-adopted, exited ones reported with their exit codes. */
  async recover(): Promise<RecoveredTask[]> {
    try {
      await this.monitor.ready();
    } catch (err) {
      throw new ExecutorUnavailableError((err as Error).message);
    }
    const recovered: RecoveredTask[] = [];
    for (const summary of await this.listContainers()) {
      const taskId = summary.Labels?.[TASK_ID_LABEL];
      if (!taskId) continue;
      this.containers.set(taskId, summary.Id);
      const phase = phaseOf(summary.State);
      if (phase === 'running') {
        recovered.push({
          taskId,
          running: true,
          status: { State: 'running', ContainerStatus: { ContainerID: summary.Id } },
        });
      } else if (phase === 'exited') {
        const inspected = await this.inspect(summary.Id);
        if (inspected) recovered.push(exitedTask(taskId, inspected));
      } else {
        recovered.push({ taskId, running: false }); // created, never started: the task resumes where it was
      }
    }
    return recovered;
  }

  /** Stops following the engine; the containers keep running. */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers.values()) controller.dispose();
    this.monitor.close();
    this.client.close();
  }

  /** For `swarm leave`: removes every container of this node's tasks (and sandboxes), known to the agent or not. */
  async purge(): Promise<void> {
    const containers = [...(await this.listContainers()), ...(await this.listSandboxes())];
    await Promise.all(
      containers.map((container) => this.client.removeContainer(container.Id, { volumes: true })),
    );
    this.containers.clear();
    this.deferredRemovals.clear();
    await this.taskFiles?.purge();
  }

  // ------------------------------------------------------------------------------------------- internals

  private onEvent(event: EngineEvent): void {
    const attributes = event.Actor?.Attributes ?? {};
    // The stream is filtered by the engine; checked again, since nothing else may ever be touched.
    if (attributes[NODE_ID_LABEL] !== this.options.nodeId) return;
    const taskId = attributes[TASK_ID_LABEL];
    if (!taskId) return;
    const id = event.Actor?.ID ?? event.id;
    if (event.Action === 'destroy' && id && this.containers.get(taskId) === id)
      this.containers.delete(taskId);
    this.controllers.get(taskId)?.onEvent(event);
  }

  /** The engine stopped answering: every task waiting on it fails now, with its error. */
  private engineDown(err: Error): void {
    this.outage = true;
    this.images.clear(); // the engine may come back without them
    for (const controller of this.controllers.values()) controller.engineLost(err);
  }

  /**
   * The engine's stream is open again after it broke: look at every container again (changes while the
   * stream was down were not seen); after an outage, also kill the containers of tasks that failed with
   * the engine meanwhile (a failed task's container must not run), finish the removals it could not do,
   * and have the node described again.
   */
  private async engineBack(): Promise<void> {
    const log = this.options.log;
    const outage = this.outage;
    this.outage = false;
    await Promise.all(
      [...this.controllers.values()].map(async (controller) => {
        if (!(await controller.resync()) || !outage) return;
        log.warn('docker executor: killing the container of a task that failed while the engine was away', {
          taskId: controller.taskId,
        });
        await controller
          .terminate()
          .catch((err: unknown) => log.warn('docker executor: kill failed', { err }));
      }),
    );
    for (const [containerId, taskId] of [...this.deferredRemovals]) {
      try {
        await this.client.removeContainer(containerId, { volumes: true });
        this.deferredRemovals.delete(containerId);
      } catch (err) {
        log.warn('docker executor: removing a container failed', { taskId, err });
      }
    }
    if (this.closed) return;
    for (const listener of this.descriptionListeners) listener();
  }

  /** This node's task containers (all states), by their labels. */
  private async listContainers(): Promise<ContainerSummary[]> {
    const filters = { label: [`${NODE_ID_LABEL}=${this.options.nodeId}`, TASK_ID_LABEL] };
    const { body } = await this.client.request<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: true, filters: JSON.stringify(filters) },
    });
    // Filtered by the engine, and checked again.
    return (body ?? []).filter(
      (container) =>
        container.Labels?.[NODE_ID_LABEL] === this.options.nodeId &&
        Boolean(container.Labels?.[TASK_ID_LABEL]),
    );
  }

  /** This node's sandbox containers (tasks on networks), by their labels. */
  private async listSandboxes(): Promise<ContainerSummary[]> {
    const filters = { label: [`${SANDBOX_NODE_LABEL}=${this.options.nodeId}`, SANDBOX_TASK_LABEL] };
    const { body } = await this.client.request<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: true, filters: JSON.stringify(filters) },
    });
    return (body ?? []).filter(
      (container) =>
        container.Labels?.[SANDBOX_NODE_LABEL] === this.options.nodeId &&
        Boolean(container.Labels?.[SANDBOX_TASK_LABEL]),
    );
  }

  private async findContainer(taskId: string): Promise<string | undefined> {
    const filters = { label: [`${NODE_ID_LABEL}=${this.options.nodeId}`, `${TASK_ID_LABEL}=${taskId}`] };
    const { body } = await this.client.request<ContainerSummary[]>('GET', '/containers/json', {
      query: { all: true, filters: JSON.stringify(filters) },
    });
    const found = (body ?? []).find(
      (container) =>
        container.Labels?.[NODE_ID_LABEL] === this.options.nodeId &&
        container.Labels?.[TASK_ID_LABEL] === taskId,
    );
    if (found) this.containers.set(taskId, found.Id);
    return found?.Id;
  }

  private async inspect(id: string): Promise<ContainerInspect | undefined> {
    try {
      return (await this.client.request<ContainerInspect>('GET', `/containers/${id}/json`)).body;
    } catch (err) {
      if (isUnreachable(err)) throw err;
      return undefined;
    }
  }

  /**
   * Whether the executor runs health checks itself: Podman schedules them with systemd timers, so on a
   * host booted without systemd (no /run/systemd/system) they would never run.
   */
  private drivesHealthchecks(): boolean {
    if (!this.client.libpod || this.client.address.socketPath === undefined) return false;
    this.systemd ??= existsSync('/run/systemd/system');
    return !this.systemd;
  }

  private async templateNode(): Promise<TemplateNode> {
    const description = this.description ?? (await this.describe());
    return {
      hostname: description.Hostname || osHostname(),
      os: description.Platform.OS || 'linux',
      architecture: description.Platform.Architecture || machine(),
    };
  }
}

/** How the agent sees a container that exited while no daemon watched it. */
function exitedTask(taskId: string, inspected: ContainerInspect): RecoveredTask {
  const code = inspected.State?.ExitCode ?? 0;
  const status: Pick<TaskStatus, 'State' | 'Err' | 'ContainerStatus'> = {
    State: code === 0 ? 'complete' : 'failed',
    ContainerStatus: { ContainerID: inspected.Id, PID: 0, ExitCode: code },
  };
  const cause = inspected.State?.Error;
  if (code !== 0) status.Err = `task: non-zero exit (${code})${cause ? `: ${cause}` : ''}`;
  return { taskId, running: false, status };
}
