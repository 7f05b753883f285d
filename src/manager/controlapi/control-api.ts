// The manager's control API: every cluster read and write a client can ask for, over the store.
// The Engine API calls it on managers; it is the only writer of specs.

import {
  failedPrecondition,
  invalidArgument,
  notFound,
  outOfSequence,
  ShoalError,
  unimplemented,
} from '../../api/errors.js';
import { nowTimestamp } from '../../api/time.js';
import type { Filters } from '../../api/filters.js';
import type {
  Cluster,
  Config,
  ConfigSpec,
  Node,
  NodeSpec,
  Secret,
  SecretSpec,
  Service,
  ServiceSpec,
  SwarmSpec,
  Task,
} from '../../api/types.js';
import type {
  ChangedObjects,
  EventMessage,
  EventsRequest,
  LogMessage,
  LogsRequest,
  ObjectsQuery,
  ObjectsRead,
  SwarmUpdateFlags,
} from '../../api/control.js';
import type {
  NetworkCreateRequest,
  NetworkCreateResponse,
  NetworkLookup,
  NetworkResource,
  NetworksPruneReport,
} from '../../api/networks.js';
import type { ObjectStore, ReadTx } from '../../store/objects.js';
import { readHostRoutes } from '../allocator/host.js';
import type { HostPrefix } from '../allocator/networks.js';
import { createNetwork, inspectNetwork, listNetworks, pruneNetworks, removeNetwork } from './networks.js';
import { presentNetworkResource } from './present-network.js';
import { infoCluster, publicCluster, validateSwarmSpec } from './cluster.js';
import { newUnlockKey } from '../../api/unlock-key.js';
import { applyNodeUpdate, checkNodeRemovable, nodeMatchesFilters, validateNodeFilters } from './nodes.js';
import { presentConfig, presentNode, presentSecret, presentService, presentTask } from './present.js';
import { resolveNode, resolveService, resolveTask } from './resolve.js';
import { interpolateDefaults } from './service-spec.js';
import { createService, serviceMatchesFilters, serviceStatus, updateService } from './services.js';
import {
  createSecretOrConfig,
  listSecretsOrConfigs,
  removeSecretOrConfig,
  resolveSecretOrConfig,
  updateSecretOrConfig,
} from './secrets.js';
import { listTasks } from './tasks.js';
import { changedObjects, readObjects } from './live.js';
import { checkSpecSize } from '../limits.js';
import { checkDefaultLogDriver, swarmExecutors } from './honoured.js';

export interface ControlAPIOptions {
  store: ObjectStore;
  /** The node this manager runs on (what `self` means). */
  localNodeId: string;
  /** The orchestrator's dirty check, for the `_up-to-date` task filter. */
  isTaskUpToDate(task: Task, service: Service): boolean;
  /** A new join token for the cluster's root CA (same digest, new secret). */
  newJoinToken(rootCACertPem: string): string;
  /** The log broker: lines of the selected tasks, from whichever nodes run them. */
  subscribeLogs(
    target: { serviceId: string } | { taskIds: string[] },
    request: LogsRequest,
    signal: AbortSignal,
  ): AsyncIterable<LogMessage>;
  /** This manager's routes, which network subnets must not overlap (default: /proc/net/route). */
  hostRoutes?: () => HostPrefix[];
  /** The manager's swarm events: remembered ones in a window, then new ones as they happen (none without). */
  subscribeEvents?(
    request: EventsRequest,
    listener: (event: EventMessage) => void,
  ): { past: EventMessage[]; close: () => void };
}

export class ControlAPI {
  /**
   * Presented tasks by stored task. Stored objects are immutable (every write stores a new object), so
   * an entry stays right for as long as its key lives; listings polled in tight loops reuse them.
   */
  private readonly presentedTasks = new WeakMap<Task, Task>();

  constructor(private readonly options: ControlAPIOptions) {}

  private present(task: Task): Task {
    let presented = this.presentedTasks.get(task);
    if (!presented) {
      presented = presentTask(task);
      this.presentedTasks.set(task, presented);
    }
    return presented;
  }

  private get store(): ObjectStore {
    return this.options.store;
  }

  private cluster(tx: ReadTx): Cluster {
    const cluster = tx.list('cluster')[0];
    if (!cluster) throw notFound('cluster not found');
    return cluster;
  }

  private leaderId(tx: ReadTx): string | undefined {
    // One manager today: the one whose node object says it leads (set at init/start-up).
    return tx.list('node').find((n) => n.ManagerStatus?.Leader)?.ID ?? this.options.localNodeId;
  }

  // -------------------------------------------------------------- swarm

  async inspectSwarm(): Promise<Cluster> {
    return this.store.view((tx) => publicCluster(this.cluster(tx)));
  }

  /** The `Cluster` section of `/info`, plus node and manager counts. */
  swarmSummary(): { cluster: ReturnType<typeof infoCluster>; nodes: number; managers: number } {
    return this.store.view((tx) => {
      const nodes = tx.list('node');
      return {
        cluster: infoCluster(this.cluster(tx)),
        nodes: nodes.length,
        managers: nodes.filter((n) => n.Spec.Role === 'manager').length,
      };
    });
  }

  async updateSwarm(version: number, spec: SwarmSpec, flags: SwarmUpdateFlags): Promise<void> {
    // Docker's daemon checks the name before anything else; an empty name means `default`.
    if (spec.Name && spec.Name !== 'default') throw invalidArgument('swarm spec must be named "default"');
    checkSpecSize(spec, 'swarm');
    validateSwarmSpec(spec);
    await this.store.update((tx) => {
      const current = this.cluster(tx);
      if (current.Version.Index !== version) throw outOfSequence();
      const ca = spec.CAConfig ?? {};
      if (
        (ca.ForceRotate ?? 0) !== (current.Spec.CAConfig?.ForceRotate ?? 0) ||
        ca.SigningCACert ||
        ca.SigningCAKey
      ) {
        // Without this refusal `docker swarm ca --rotate` would wait forever for a rotation.
        throw unimplemented('root CA rotation is not supported yet by shoal', { status: 400 });
      }
      checkDefaultLogDriver(spec.TaskDefaults?.LogDriver, swarmExecutors(tx.list('node')));
      const next = structuredClone(current);
      next.Spec = { ...structuredClone(spec), Name: current.Spec.Name ?? 'default' };
      const rootCA = current.RootCA?.CACert ?? current.TLSInfo.TrustRoot;
      if (flags.rotateWorkerToken) next.JoinTokens.Worker = this.options.newJoinToken(rootCA);
      if (flags.rotateManagerToken) next.JoinTokens.Manager = this.options.newJoinToken(rootCA);
      // Autolock: a key while it is on (a new one on --rotate), none when it is off. Every manager keeps its
      // data key file wrapped under the current one (Manager.followUnlockKey).
      if (spec.EncryptionConfig?.AutoLockManagers) {
        if (!next.UnlockKey || flags.rotateManagerUnlockKey) next.UnlockKey = newUnlockKey();
      } else {
        if (flags.rotateManagerUnlockKey) {
          throw failedPrecondition('cannot rotate the unlock key: autolock is not turned on');
        }
        delete next.UnlockKey;
      }
      tx.update('cluster', next);
    });
  }

  /**
   * The unlock key with autolock on; without, Docker answers an empty one and its CLI says `no unlock key is
   * set`.
   */
  async unlockKey(): Promise<string> {
    return this.store.view((tx) => {
      const cluster = this.cluster(tx);
      return cluster.Spec.EncryptionConfig?.AutoLockManagers ? (cluster.UnlockKey ?? '') : '';
    });
  }

  // -------------------------------------------------------------- nodes

  async listNodes(filters: Filters): Promise<Node[]> {
    validateNodeFilters(filters);
    return this.store.view((tx) => {
      const leader = this.leaderId(tx);
      return tx
        .list('node')
        .filter((n) => nodeMatchesFilters(n, filters))
        .map((n) => presentNode(n, leader));
    });
  }

  async getNode(ref: string): Promise<Node> {
    return this.store.view((tx) =>
      presentNode(resolveNode(tx, ref, this.options.localNodeId), this.leaderId(tx)),
    );
  }

  async updateNode(ref: string, version: number, spec: NodeSpec): Promise<void> {
    checkSpecSize(spec, 'node');
    await this.store.update((tx) => {
      const current = resolveNode(tx, ref, this.options.localNodeId);
      const managers = tx.list('node').filter((n) => n.Spec.Role === 'manager').length;
      tx.update('node', applyNodeUpdate(current, version, spec, managers));
    });
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    await this.store.update((tx) => {
      const node = resolveNode(tx, ref, this.options.localNodeId);
      checkNodeRemovable(node, force);
      // swarmkit orphans the node's unfinished tasks and refuses its certificate from now on.
      for (const task of tx.tasksByNode(node.ID)) {
        if (
          task.Status.State === 'complete' ||
          task.Status.State === 'failed' ||
          task.Status.State === 'shutdown'
        )
          continue;
        if (task.Status.State === 'rejected' || task.Status.State === 'orphaned') continue;
        const next = structuredClone(task);
        next.Status = {
          ...next.Status,
          State: 'orphaned',
          Message: 'Task belonged to a node that has been deleted',
          Timestamp: nowTimestamp(),
        };
        tx.update('task', next);
      }
      const cluster = structuredClone(this.cluster(tx));
      if (cluster.RootCA) {
        cluster.RootCA.BlacklistedCertificates = {
          ...(cluster.RootCA.BlacklistedCertificates ?? {}),
          [node.ID]: nowTimestamp(),
        };
        tx.update('cluster', cluster);
      }
      tx.delete('node', node.ID);
    });
  }

  // -------------------------------------------------------------- services

  async listServices(filters: Filters, withStatus: boolean): Promise<Service[]> {
    return this.store.view((tx) =>
      tx
        .list('service')
        .filter((s) => serviceMatchesFilters(s, filters))
        .map((s) => presentService(s, withStatus ? serviceStatus(s, tx.tasksByService(s.ID)) : undefined)),
    );
  }

  async getService(ref: string, insertDefaults: boolean): Promise<Service> {
    return this.store.view((tx) => {
      const service = presentService(resolveService(tx, ref));
      if (insertDefaults) service.Spec = interpolateDefaults(service.Spec);
      return service;
    });
  }

  /** `options.registryAuth`: the `X-Registry-Auth` header, kept with the spec (services.ts). */
  async createService(
    spec: ServiceSpec,
    _apiVersion?: string,
    options: { registryAuth?: string } = {},
  ): Promise<{ ID: string; Warnings?: string[] }> {
    const service = await this.store.update((tx) => createService(tx, spec, options.registryAuth));
    return { ID: service.ID };
  }

  async updateService(
    ref: string,
    version: number,
    spec: ServiceSpec,
    options: { rollback?: string; registryAuth?: string; registryAuthFrom?: string },
  ): Promise<{ Warnings: string[] | null }> {
    if (options.rollback !== undefined && options.rollback !== 'previous' && options.rollback !== '') {
      throw new ShoalError('Unknown', `unrecognized rollback option ${options.rollback}`);
    }
    await this.store.update((tx) => {
      const current = resolveService(tx, ref);
      updateService(tx, current, version, spec, options.rollback === 'previous', {
        registryAuth: options.registryAuth,
        registryAuthFrom: options.registryAuthFrom,
      });
    });
    return { Warnings: null };
  }

  async removeService(ref: string): Promise<void> {
    await this.store.update((tx) => {
      const service = resolveService(tx, ref);
      // Tasks are left for the orchestrator, which sets them to `remove`; the reaper deletes them
      // once stopped, so `stack rm` can watch them shut down.
      tx.delete('service', service.ID);
    });
  }

  // -------------------------------------------------------------- tasks

  async listTasks(filters: Filters): Promise<Task[]> {
    return this.store.view((tx) =>
      listTasks(tx, filters, {
        localNodeId: this.options.localNodeId,
        isUpToDate: this.options.isTaskUpToDate,
      }).map((task) => this.present(task)),
    );
  }

  async getTask(ref: string): Promise<Task> {
    return this.store.view((tx) => presentTask(resolveTask(tx, ref)));
  }

  // -------------------------------------------------------------- secrets and configs (secrets.ts)

  async listSecrets(filters: Filters): Promise<Secret[]> {
    return this.store.view((tx) => listSecretsOrConfigs(tx, 'secret', filters).map(presentSecret));
  }

  async getSecret(ref: string): Promise<Secret> {
    return this.store.view((tx) => presentSecret(resolveSecretOrConfig(tx, 'secret', ref)));
  }

  async createSecret(spec: SecretSpec): Promise<{ ID: string }> {
    const secret = await this.store.update((tx) => createSecretOrConfig(tx, 'secret', spec));
    return { ID: secret.ID };
  }

  async updateSecret(ref: string, version: number, spec: SecretSpec): Promise<void> {
    await this.store.update((tx) => updateSecretOrConfig(tx, 'secret', ref, version, spec));
  }

  async removeSecret(ref: string): Promise<void> {
    await this.store.update((tx) => removeSecretOrConfig(tx, 'secret', ref));
  }

  async listConfigs(filters: Filters): Promise<Config[]> {
    return this.store.view((tx) => listSecretsOrConfigs(tx, 'config', filters).map(presentConfig));
  }

  async getConfig(ref: string): Promise<Config> {
    return this.store.view((tx) => presentConfig(resolveSecretOrConfig(tx, 'config', ref)));
  }

  async createConfig(spec: ConfigSpec): Promise<{ ID: string }> {
    const config = await this.store.update((tx) => createSecretOrConfig(tx, 'config', spec));
    return { ID: config.ID };
  }

  async updateConfig(ref: string, version: number, spec: ConfigSpec): Promise<void> {
    await this.store.update((tx) => updateSecretOrConfig(tx, 'config', ref, version, spec));
  }

  async removeConfig(ref: string): Promise<void> {
    await this.store.update((tx) => removeSecretOrConfig(tx, 'config', ref));
  }

  // -------------------------------------------------------------- networks (networks.ts)

  private routes(): HostPrefix[] {
    return (this.options.hostRoutes ?? readHostRoutes)();
  }

  async listNetworks(filters: Filters): Promise<NetworkResource[]> {
    return this.store.view((tx) => listNetworks(tx, filters).map(presentNetworkResource));
  }

  async getNetwork(ref: string, lookup: NetworkLookup): Promise<NetworkResource> {
    return this.store.view((tx) => presentNetworkResource(inspectNetwork(tx, ref, lookup)));
  }

  async createNetwork(request: NetworkCreateRequest): Promise<NetworkCreateResponse> {
    const routes = this.routes();
    const network = await this.store.update((tx) => createNetwork(tx, request, routes));
    return { Id: network.ID, Warning: '' };
  }

  async removeNetwork(ref: string): Promise<void> {
    await this.store.update((tx) => removeNetwork(tx, ref));
  }

  async pruneNetworks(filters: Filters): Promise<NetworksPruneReport> {
    const removed = await this.store.update((tx) => pruneNetworks(tx, filters, Date.now()));
    return { NetworksDeleted: removed.length > 0 ? removed : null };
  }

  // -------------------------------------------------------------- logs

  // Resolved before the first line, so that an unknown service or task is a 404, not a broken stream.
  serviceLogs(ref: string, request: LogsRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    const serviceId = this.store.view((tx) => resolveService(tx, ref).ID);
    return this.options.subscribeLogs({ serviceId }, request, signal);
  }

  taskLogs(ref: string, request: LogsRequest, signal: AbortSignal): AsyncIterable<LogMessage> {
    const taskId = this.store.view((tx) => resolveTask(tx, ref).ID);
    return this.options.subscribeLogs({ taskIds: [taskId] }, request, signal);
  }

  // -------------------------------------------------------------- events

  subscribeEvents(
    request: EventsRequest,
    listener: (event: EventMessage) => void,
  ): { past: EventMessage[]; close: () => void } {
    return this.options.subscribeEvents?.(request, listener) ?? { past: [], close: () => undefined };
  }

  // -------------------------------------------------------------- live views (live.ts)

  /**
   * Calls `listener` with the IDs of the nodes, services and tasks each committed write touched, from now
   * until the returned function is called. Cheap: read the objects with readObjects() when needed.
   */
  watchObjects(listener: (changed: ChangedObjects) => void): () => void {
    return this.store.watch((batch) => {
      const changed = changedObjects(batch);
      if (changed) listener(changed);
    });
  }

  /** Nodes, services (with their status) and tasks as the Engine API shows them, in one snapshot. */
  readObjects(query: ObjectsQuery): ObjectsRead {
    return this.store.view((tx) =>
      readObjects(tx, query, {
        revision: this.store.revision,
        leaderId: this.leaderId(tx),
        present: (task) => this.present(task),
        isUpToDate: this.options.isTaskUpToDate,
      }),
    );
  }
}
