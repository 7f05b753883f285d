// A node's life in a swarm: outside any swarm, manager, or worker; `swarm init`, `join` and `leave`;
// resuming after a restart from what the data directory remembers. It answers the Engine API's
// questions (it is the API's backend), so a worker, a manager and a lone node differ only here.

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateNodeKeyAndCsr, parseJoinToken, type NodeTlsCredentials } from '../api/certs.js';
import type { DispatcherClient } from '../api/dispatcher.js';
import { executorFactory, type ExecutorConfig } from '../agent/executor/factory.js';
import { ClusterClient } from '../agent/transport/cluster-client.js';
import { AGENT_DB_FILE, agentDbProblem } from '../agent/state-db.js';
import { joinCluster } from '../agent/transport/join.js';
import type { CertificateRenewer, CredentialsHolder } from '../agent/transport/renewer.js';
import {
  ALREADY_IN_SWARM,
  INVALID_UNLOCK_KEY,
  SWARM_LOCKED,
  invalidArgument,
  NOT_A_MANAGER,
  isShoalError,
  NOT_IN_SWARM,
  ShoalError,
  unavailable,
  WORKER_NOT_MANAGER,
} from '../api/errors.js';
import { newId } from '../api/ids.js';
import type { NodeAvailability, SwarmSpec } from '../api/types.js';
import type {
  ControlBackend,
  EngineBackend,
  InitRequest,
  JoinRequest,
  SwarmInfo,
  SystemInfo,
} from '../engineapi/backend.js';
import { bootstrapCluster, splitHostPort } from '../manager/bootstrap.js';
import { createRootCA, loadRootCASigner, type RootCAKeyMaterial } from '../manager/ca/rootca.js';
import { signNodeCertificate } from '../manager/ca/signer.js';
import { defaultSwarmSpec, mergeInitSpec, validateSwarmSpec } from '../manager/controlapi/cluster.js';
import { checkDefaultLogDriver } from '../manager/controlapi/honoured.js';
import { Manager } from '../manager/manager.js';
import type { NodeFacts, SwarmMetrics } from '../manager/metrics/swarm-metrics.js';
import type { DashboardSource } from '../web/source.js';
import type { StoreBackendConfig } from '../store/backend.js';
import { DamagedStateError } from '../store/file-errors.js';
import { InvalidUnlockKeyError, SwarmLockedError } from '../store/sealer.js';
import { parseUnlockKey } from '../api/unlock-key.js';
import {
  formatHostPort,
  localAddressTowards,
  parseRemoteAddr,
  resolveAdvertiseAddr,
  resolveListenAddr,
  validateDataPathAddr,
} from './addresses.js';
import { readCertificates, selfSignedRenewal, startRenewal, writeCertificates } from './certificates.js';
import { EtcdMember, etcdCertificateDue, writeEtcdMemberFiles } from './etcd/member.js';
import type { Logger } from './logger.js';
import { NodeRuntime } from './node-runtime.js';
import { SwarmStateFile, type SwarmMembership } from './state.js';
import type { HostFacts } from './sysinfo.js';

/** How often a node whose swarm components failed to start (a full disk, say) tries again. */
const RESUME_RETRY_MS = 5_000;

const LEAVE_LAST_MANAGER =
  'You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ';

export interface SwarmNodeOptions {
  dataDir: string;
  log: Logger;
  serverVersion: string;
  host: HostFacts;
  debug: boolean;
  engineLabels: Record<string, string>;
  /** Which executor runs this node's tasks. */
  executor: ExecutorConfig;
  /** The node's metrics (`--metrics-addr`), which its manager reports to while it runs. */
  metrics?: SwarmMetrics;
  /** The ports of a manager's etcd member (`--etcd-client-port`, `--etcd-peer-port`; 2379 and 2380). */
  etcdPorts?: { clientPort: number; peerPort: number };
}

export class SwarmNode implements EngineBackend {
  private readonly stateFile: SwarmStateFile;
  private membership: SwarmMembership | undefined;
  /**
   * Why this node cannot take part in its swarm (its components failed to start, its state is damaged, or
   * the managers removed it): `/info` shows it with LocalNodeState `error`. A start that failed for a
   * reason that may pass is retried; otherwise only `swarm leave` is left to do.
   */
  private nodeError: string | undefined;
  /** The next attempt to start the swarm components after a failure that may pass. */
  private resumeRetry: NodeJS.Timeout | undefined;
  private manager: Manager | undefined;
  /** A manager of an autolocked swarm restarted without its unlock key: waiting for `swarm unlock`. */
  private locked = false;
  /** A manager's etcd member (with the etcd datastore). */
  private etcd: EtcdMember | undefined;
  /** When the member's certificate is renewed next. */
  private etcdRenewal: NodeJS.Timeout | undefined;
  private runtime: NodeRuntime | undefined;
  /** A worker's connection to its manager. */
  private clusterClient: ClusterClient | undefined;
  private renewer: CertificateRenewer | undefined;
  /** Serializes init/join/leave/start/stop so they never interleave. */
  private lifecycle: Promise<unknown> = Promise.resolve();
  /** Told when this node's manager has started or stopped (the dashboard follows the one that runs). */
  private readonly managerListeners = new Set<() => void>();

  constructor(private readonly options: SwarmNodeOptions) {
    this.stateFile = new SwarmStateFile(join(options.dataDir, 'swarm'));
  }

  private get swarmDir(): string {
    return this.stateFile.swarmDir;
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lifecycle.then(fn, fn);
    this.lifecycle = next.catch(() => undefined);
    return next;
  }

  /** Resumes whatever the data directory says this node was doing. */
  start(): Promise<void> {
    return this.serialize(() => this.resume());
  }

  /**
   * Reads the membership and starts the swarm components. Whatever fails, the API keeps being served, so
   * that the operator can see why (`/info`) and `swarm leave --force`. A missing or damaged file is said
   * with its name and left as it is; any other failure (a full disk, an I/O error) is retried every
   * RESUME_RETRY_MS until it passes, so the node recovers without a restart.
   */
  private async resume(): Promise<void> {
    this.resumeRetry = undefined;
    const retrying = this.nodeError !== undefined;
    try {
      this.membership = this.stateFile.read();
    } catch (err) {
      this.membership = undefined;
      this.resumeFailed(err);
      return;
    }
    const m = this.membership;
    if (!m) {
      this.nodeError = undefined;
      this.options.log.info('not part of a swarm');
      return;
    }
    if (!retrying) this.options.log.info('resuming swarm membership', { nodeId: m.nodeId, role: m.role });
    try {
      await this.startComponents(m);
    } catch (err) {
      await this.stopComponents(false).catch(() => undefined);
      if (err instanceof SwarmLockedError) {
        // Autolock: nothing cluster-wide until `swarm unlock` gives the key (tasks keep running).
        this.locked = true;
        this.nodeError = undefined;
        this.options.log.warn(
          'this manager is locked (autolock): run "docker swarm unlock" with the unlock key',
        );
        return;
      }
      this.resumeFailed(err);
      return;
    }
    if (retrying) this.options.log.info('swarm components started', { nodeId: m.nodeId, role: m.role });
    this.nodeError = undefined;
  }

  /** `swarm unlock`: starts the locked manager with its unlock key. */
  unlock(unlockKey: string): Promise<void> {
    return this.serialize(async () => {
      const m = this.membership;
      if (!this.locked || !m) throw unavailable('swarm is not locked');
      const key = parseUnlockKey(unlockKey);
      if (!key) throw invalidArgument('invalid key string');
      try {
        await this.startComponents(m, key);
      } catch (err) {
        await this.stopComponents(false).catch(() => undefined);
        if (err instanceof InvalidUnlockKeyError) throw new ShoalError('Unauthenticated', INVALID_UNLOCK_KEY);
        throw err;
      }
      this.locked = false;
      this.options.log.info('swarm unlocked', { nodeId: m.nodeId });
    });
  }

  private resumeFailed(err: unknown): void {
    const log = this.options.log;
    if (err instanceof DamagedStateError) {
      this.nodeError = damagedStateMessage(err);
      log.error(this.nodeError);
      return;
    }
    const message = `cannot start the swarm components: ${(err as Error).message} (retrying every ${RESUME_RETRY_MS / 1000} s)`;
    // Said once, not at every retry.
    if (message !== this.nodeError) log.error(message, { error: err });
    this.nodeError = message;
    this.resumeRetry = setTimeout(() => void this.serialize(() => this.resume()), RESUME_RETRY_MS);
    this.resumeRetry.unref();
  }

  private cancelResumeRetry(): void {
    clearTimeout(this.resumeRetry);
    this.resumeRetry = undefined;
  }

  /** Stops the components; tasks keep running and are re-adopted at the next start. */
  stop(): Promise<void> {
    return this.serialize(async () => {
      this.cancelResumeRetry();
      await this.stopComponents(false);
    });
  }

  /** Stops everything this node runs for the swarm; `removeTasks` also stops its tasks (leaving). */
  private async stopComponents(removeTasks: boolean): Promise<void> {
    this.renewer?.stop();
    this.renewer = undefined;
    if (removeTasks) await this.runtime?.leave();
    else await this.runtime?.stop();
    this.runtime = undefined;
    this.clusterClient?.close();
    this.clusterClient = undefined;
    const hadManager = this.manager !== undefined;
    await this.manager?.stop();
    this.manager = undefined;
    // The store's member goes last: the manager may write until it has stopped.
    clearTimeout(this.etcdRenewal);
    this.etcdRenewal = undefined;
    await this.etcd?.stop();
    this.etcd = undefined;
    if (hadManager) this.managerChanged();
  }

  private async startComponents(membership: SwarmMembership, unlockKey?: Buffer): Promise<void> {
    const credentials = readCertificates(this.swarmDir);
    const log = this.options.log;
    const agentDir = NodeRuntime.stateDir(this.options.dataDir);
    const agentProblem = agentDbProblem(agentDir);
    if (agentProblem) {
      throw new DamagedStateError({
        kind: 'agent-db',
        what: 'the agent database',
        file: join(agentDir, AGENT_DB_FILE),
        problem: agentProblem,
      });
    }
    let dispatcher: DispatcherClient;
    if (membership.role === 'manager') {
      const manager = await Manager.open({
        swarmDir: this.swarmDir,
        store: await this.storeBackend(membership),
        nodeId: membership.nodeId,
        advertiseAddr: membership.advertiseAddr,
        log: log.with({ component: 'manager' }),
        ...(unlockKey && { unlockKey }),
        ...(this.options.metrics ? { metrics: this.options.metrics } : {}),
      });
      this.manager = manager;
      await manager.start({
        listenAddr: resolveListenAddr(membership.listenAddr),
        clusterId: membership.clusterId,
        credentials,
      });
      this.managerChanged();
      if (this.etcd) await this.renewEtcdCertificate(manager, membership);
      // The manager's own agent talks to it in-process; its certificate serves the cluster port.
      let current = credentials;
      const holder: CredentialsHolder = {
        get credentials() {
          return current;
        },
        setCredentials(next: NodeTlsCredentials) {
          current = next;
          manager.setClusterCredentials(next);
        },
      };
      this.renewer = startRenewal({
        swarmDir: this.swarmDir,
        holder,
        renew: selfSignedRenewal(
          () => current,
          (csr) => manager.signOwnCertificate(csr),
          { nodeId: membership.nodeId, clusterId: membership.clusterId },
        ),
        log: log.with({ component: 'certificates' }),
      });
      dispatcher = manager.localDispatcherClient(membership.nodeId);
    } else {
      const client = new ClusterClient({ managerAddr: membership.remoteManagers[0]!, credentials });
      this.clusterClient = client;
      this.renewer = startRenewal({
        swarmDir: this.swarmDir,
        holder: client,
        log: log.with({ component: 'certificates' }),
      });
      dispatcher = client;
    }
    this.runtime = new NodeRuntime({
      dataDir: this.options.dataDir,
      executor: this.options.executor,
      nodeId: membership.nodeId,
      log: log.with({ component: 'agent' }),
      engineLabels: this.options.engineLabels,
      serverVersion: this.options.serverVersion,
      dispatcher,
      ...(membership.dataPathAddr ? { dataPathAddr: membership.dataPathAddr } : {}),
      underlayAddr:
        membership.dataPathAddr ?? membership.advertiseAddr.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
      onRemoved: (message) => {
        // Removed by the managers (`node rm`): the agent stops this node's tasks; the node stays in
        // error until it leaves, as Docker's does.
        this.nodeError = message;
        log.error('this node was removed from the swarm', { message });
      },
    });
    await this.runtime.start();
  }

  // -------------------------------------------------------------- etcd

  private get etcdDir(): string {
    return join(this.swarmDir, 'etcd');
  }

  private etcdPorts(): { clientPort: number; peerPort: number } {
    return this.options.etcdPorts ?? { clientPort: 2379, peerPort: 2380 };
  }

  /**
   * The cluster store's backend, as the swarm's membership records it. With etcd, this manager's member is
   * started (and supervised from then on) if it does not run yet.
   */
  private async storeBackend(membership: SwarmMembership): Promise<StoreBackendConfig> {
    if (membership.datastore === 'embedded') return { kind: 'embedded' };
    if (!this.etcd) {
      const member = this.newEtcdMember(membership);
      await member.start();
      this.etcd = member;
    }
    return { kind: 'etcd', ...this.etcd.clientOptions() };
  }

  private newEtcdMember(membership: SwarmMembership): EtcdMember {
    const ports = membership.etcd ?? this.etcdPorts();
    return new EtcdMember({
      dir: this.etcdDir,
      name: membership.nodeId,
      host: splitHostPort(membership.advertiseAddr)[0],
      clientPort: ports.clientPort,
      peerPort: ports.peerPort,
      log: this.options.log.with({ component: 'etcd' }),
    });
  }

  /**
   * `swarm init --force-new-cluster` on a manager of a swarm on etcd: its member is started once as the only
   * member of a new cluster on its own copy of the state (`etcd --force-new-cluster`), then the manager
   * starts as before — services, secrets and nodes kept, tasks left running. For when the other managers are
   * gone for good and the swarm has lost its quorum.
   */
  private async forceNewCluster(membership: SwarmMembership): Promise<string> {
    this.cancelResumeRetry();
    this.options.log.warn("forcing a new cluster from this manager's copy of the state");
    await this.stopComponents(false);
    try {
      const member = this.newEtcdMember(membership);
      await member.start({ forceNewCluster: true });
      this.etcd = member;
      await this.startComponents(membership);
    } catch (err) {
      await this.stopComponents(false).catch(() => undefined);
      this.resumeFailed(err);
      throw err;
    }
    this.nodeError = undefined;
    return membership.nodeId;
  }

  /**
   * Issues the member a new certificate once its current one is past half its life — now, and then on a
   * timer for as long as the manager runs. etcd reads its files at every handshake, so the running member
   * takes it without a restart; the store's client reconnects with it.
   */
  private async renewEtcdCertificate(manager: Manager, membership: SwarmMembership): Promise<void> {
    const member = this.etcd;
    if (!member) return;
    const due = etcdCertificateDue(readFileSync(join(this.etcdDir, 'tls', 'member.crt'), 'utf8'));
    if (Date.now() >= due.getTime()) {
      const { keyPem, csrPem } = await generateNodeKeyAndCsr();
      const { certPem, rootCAPem } = await manager.signOwnCertificate(csrPem, {
        ipAddresses: etcdIps(splitHostPort(membership.advertiseAddr)[0]),
      });
      writeEtcdMemberFiles(this.etcdDir, { caPem: rootCAPem, certPem, keyPem });
      manager.setStoreTls(member.clientTls());
      this.options.log.info('etcd member certificate renewed');
      return this.renewEtcdCertificate(manager, membership);
    }
    clearTimeout(this.etcdRenewal);
    // setTimeout takes at most 2^31 − 1 ms (24.8 days): a later due date is looked at again then.
    const delay = Math.min(due.getTime() - Date.now(), 2 ** 31 - 1);
    this.etcdRenewal = setTimeout(() => {
      if (this.manager !== manager || this.etcd !== member) return;
      this.renewEtcdCertificate(manager, membership).catch((err: unknown) => {
        this.options.log.error('cannot renew the etcd member certificate; retrying in a minute', {
          error: err,
        });
        this.etcdRenewal = setTimeout(
          () => void this.renewEtcdCertificate(manager, membership).catch(() => undefined),
          60_000,
        );
        this.etcdRenewal.unref();
      });
    }, delay);
    this.etcdRenewal.unref();
  }

  // -------------------------------------------------------------- the dashboard and the metrics

  /** This node's manager's control API for the dashboard, or why this node serves no dashboard now. */
  dashboardSource(): { source: DashboardSource } | { unavailable: string } {
    if (this.manager) return { source: this.manager.controlApi };
    if (this.nodeError) return { unavailable: this.nodeError };
    if (this.membership)
      return { unavailable: 'this node is a swarm worker: the dashboard is served by the managers' };
    return {
      unavailable: 'this node is not part of a swarm: the dashboard shows a swarm, served by its managers',
    };
  }

  /** Calls `listener` whenever this node's manager has started or stopped; returns an unsubscribe. */
  onManagerChange(listener: () => void): () => void {
    this.managerListeners.add(listener);
    return () => void this.managerListeners.delete(listener);
  }

  /** What the metrics say about this node (swarm_node_info, swarm_node_manager, swarm_manager_leader). */
  nodeFacts(): NodeFacts {
    const m = this.membership;
    return {
      nodeId: m?.nodeId ?? '',
      swarmId: m?.clusterId ?? '',
      manager: m?.role === 'manager',
      leader: this.manager?.leading ?? false,
    };
  }

  private managerChanged(): void {
    for (const listener of [...this.managerListeners]) {
      try {
        listener();
      } catch (err) {
        this.options.log.error('a listener of manager changes failed', { error: err });
      }
    }
  }

  // -------------------------------------------------------------- EngineBackend

  async swarmInfo(): Promise<SwarmInfo> {
    const m = this.membership;
    if (this.locked && m) {
      return {
        NodeID: m.nodeId,
        NodeAddr: '',
        LocalNodeState: 'locked',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      };
    }
    if (this.nodeError) {
      return {
        // Unknown when the state file itself is what is damaged.
        NodeID: m?.nodeId ?? '',
        NodeAddr: '',
        LocalNodeState: 'error',
        ControlAvailable: false,
        Error: this.nodeError,
        RemoteManagers: null,
      };
    }
    if (!m) {
      return {
        NodeID: '',
        NodeAddr: '',
        LocalNodeState: 'inactive',
        ControlAvailable: false,
        Error: '',
        RemoteManagers: null,
      };
    }
    const info: SwarmInfo = {
      NodeID: m.nodeId,
      NodeAddr: m.advertiseAddr.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
      LocalNodeState: 'active',
      ControlAvailable: m.role === 'manager',
      Error: this.manager?.clusterPortError ?? '',
      RemoteManagers:
        m.role === 'manager'
          ? [{ NodeID: m.nodeId, Addr: m.advertiseAddr }]
          : m.remoteManagers.map((addr) => ({ NodeID: '', Addr: addr })),
    };
    if (this.manager) {
      const summary = this.manager.controlApi.swarmSummary();
      info.Nodes = summary.nodes;
      info.Managers = summary.managers;
      info.Cluster = summary.cluster;
    }
    return info;
  }

  async systemInfo(): Promise<SystemInfo> {
    const host = this.options.host;
    const description = await NodeRuntime.describe(this.options.executor, this.options.engineLabels);
    const containers = this.runtime?.taskCounts() ?? { total: 0, running: 0, paused: 0, stopped: 0 };
    return {
      name: host.hostname,
      ncpu: host.ncpu,
      memTotal: host.memTotal,
      kernelVersion: host.kernelVersion,
      operatingSystem: host.operatingSystem,
      osVersion: host.osVersion,
      architecture: host.architecture,
      dataRoot: this.options.dataDir,
      debug: this.options.debug,
      labels: Object.entries(description.Engine?.Labels ?? {}).map(([k, v]) => `${k}=${v}`),
      plugins: pluginsByType(description.Engine?.Plugins ?? []),
      driver: executorFactory(this.options.executor).storageDriver,
      containers,
      serverVersion: this.options.serverVersion,
    };
  }

  control(): ControlBackend {
    if (this.locked) throw unavailable(SWARM_LOCKED);
    if (this.nodeError) throw unavailable(this.nodeError);
    if (!this.membership) throw unavailable(NOT_A_MANAGER);
    if (!this.manager) throw unavailable(WORKER_NOT_MANAGER);
    return this.manager.controlApi;
  }

  init(request: InitRequest): Promise<string> {
    return this.serialize(async () => {
      const current = this.membership;
      if (request.ForceNewCluster && current?.role === 'manager' && current.datastore === 'etcd') {
        return this.forceNewCluster(current);
      }
      // The embedded store has exactly one manager: its swarm already is a one-manager cluster made from its
      // own state, which is what Docker's --force-new-cluster makes. (A damaged store is refused below.)
      if (request.ForceNewCluster && current?.role === 'manager' && !this.nodeError && this.manager) {
        this.options.log.info(
          '--force-new-cluster: this swarm is already a one-manager cluster on the embedded store',
        );
        return current.nodeId;
      }
      // A node in error keeps what it has (damaged or not) until `swarm leave --force`.
      if (this.membership || this.nodeError) throw unavailable(ALREADY_IN_SWARM);
      // Docker's order: addresses (400), the spec's name (400), then the rest (500, as Docker finds
      // those only while creating the swarm — unlike Docker, nothing is left behind when they fail).
      const listen = resolveListenAddr(request.ListenAddr);
      const advertise = resolveAdvertiseAddr(request.AdvertiseAddr, listen);
      const dataPathAddr = validateDataPathAddr(request.DataPathAddr);
      if (request.Spec?.Name && request.Spec.Name !== 'default') {
        throw invalidArgument('swarm spec must be named "default"');
      }
      const datastore = request.Datastore || 'embedded';
      if (datastore !== 'embedded' && datastore !== 'auto' && datastore !== 'etcd') {
        throw invalidArgument(`invalid datastore "${datastore}": use embedded or etcd`);
      }
      const availability = parseAvailability(request.Availability);
      const dataPathPort = request.DataPathPort || 4789;
      if (dataPathPort < 1024 || dataPathPort > 49151) {
        throw new ShoalError(
          'Unknown',
          `Datapath port number is not in valid range (1024-49151) : ${dataPathPort}`,
        );
      }
      const { pools, subnetSize } = validateAddressPools(request.DefaultAddrPool, request.SubnetSize);
      const spec: SwarmSpec = mergeInitSpec(defaultSwarmSpec(), request.Spec);
      try {
        validateSwarmSpec(spec);
        checkDefaultLogDriver(spec.TaskDefaults?.LogDriver, new Set([this.options.executor.kind]));
      } catch (err) {
        if (!isShoalError(err)) throw err;
        throw new ShoalError('Unknown', `error updating cluster settings: ${err.apiMessage()}`);
      }

      const nodeId = newId();
      const clusterId = newId();
      const membership: SwarmMembership = {
        nodeId,
        clusterId,
        role: 'manager',
        advertiseAddr: formatHostPort(advertise),
        listenAddr: formatHostPort(listen),
        remoteManagers: [],
        // `auto` is the embedded store: a swarm moves to etcd when it gets a second manager (not built yet).
        datastore: datastore === 'etcd' ? 'etcd' : 'embedded',
        ...(datastore === 'etcd' && { etcd: this.etcdPorts() }),
        ...(dataPathAddr ? { dataPathAddr } : {}),
      };
      // Not in a swarm, so anything under the swarm directory is a leftover of a crash mid-init.
      this.stateFile.clear();
      mkdirSync(this.swarmDir, { recursive: true, mode: 0o700 });
      try {
        const { keyPem, csrPem } = await generateNodeKeyAndCsr();
        // With etcd, the root CA comes first: the member's certificate is issued from it before the store
        // exists. (With the embedded store, bootstrapCluster makes it.)
        let rootCA: RootCAKeyMaterial | undefined;
        if (membership.datastore === 'etcd') {
          rootCA = await createRootCA();
          const member = await generateNodeKeyAndCsr();
          const certPem = await signNodeCertificate({
            csrPem: member.csrPem,
            nodeId,
            role: 'manager',
            clusterId,
            expirySeconds: (spec.CAConfig?.NodeCertExpiry ?? 0) / 1e9,
            rootCA: await loadRootCASigner(rootCA),
            ipAddresses: etcdIps(advertise.host),
          });
          writeEtcdMemberFiles(this.etcdDir, { caPem: rootCA.CACert, certPem, keyPem: member.keyPem });
        }
        const manager = await Manager.open({
          swarmDir: this.swarmDir,
          store: await this.storeBackend(membership),
          nodeId,
          advertiseAddr: membership.advertiseAddr,
          log: this.options.log.with({ component: 'manager' }),
          create: true,
        });
        try {
          // With etcd, writes are the leader's: the new swarm's only manager is elected first.
          if (!(await manager.campaign()))
            throw new Error('the new manager was not elected leader of its etcd store');
          const description = await NodeRuntime.describe(this.options.executor, this.options.engineLabels);
          const { rootCACertPem, nodeCertPem } = await bootstrapCluster(manager.store, {
            clusterId,
            nodeId,
            spec,
            description,
            advertiseAddr: membership.advertiseAddr,
            availability,
            defaultAddrPool: pools,
            subnetSize,
            dataPathPort,
            csrPem,
            ...(rootCA && { rootCA }),
          });
          writeCertificates(this.swarmDir, { rootCAPem: rootCACertPem, certPem: nodeCertPem, keyPem });
        } finally {
          await manager.stop();
        }
        NodeRuntime.createState(this.options.dataDir);
        // The state file is written last: a crash before this point leaves no half-made swarm behind.
        this.stateFile.write(membership);
      } catch (err) {
        await this.etcd?.stop().catch(() => undefined);
        this.etcd = undefined;
        this.stateFile.clear();
        throw err;
      }
      this.membership = membership;
      await this.startComponents(membership);
      const portError = this.manager?.clusterPortError;
      if (portError) {
        // As Docker's init: a cluster port that cannot be opened fails the init (and leaves no swarm).
        await this.stopComponents(true);
        this.stateFile.clear();
        this.membership = undefined;
        throw new ShoalError('Unknown', portError);
      }
      await this.manager?.waitForNodeReady(nodeId, 5000);
      this.options.log.info('swarm initialized', { nodeId, clusterId });
      return nodeId;
    });
  }

  join(request: JoinRequest): Promise<void> {
    return this.serialize(async () => {
      if (this.membership || this.nodeError) throw unavailable(ALREADY_IN_SWARM);
      const listen = resolveListenAddr(request.ListenAddr);
      const dataPathAddr = validateDataPathAddr(request.DataPathAddr);
      const remoteAddrs = (request.RemoteAddrs ?? []).map((addr) => parseRemoteAddr(addr));
      if (remoteAddrs.length === 0) throw invalidArgument('at least 1 RemoteAddr is required to join');
      const remotes = remoteAddrs.map(formatHostPort);
      // Without a hint, a joining node advertises the address it reaches its manager from.
      const advertise =
        request.AdvertiseAddr || (listen.host !== '0.0.0.0' && listen.host !== '::')
          ? resolveAdvertiseAddr(request.AdvertiseAddr, listen)
          : { host: await localAddressTowards(remoteAddrs[0]!), port: listen.port };
      const availability = parseAvailability(request.Availability);
      parseJoinToken(request.JoinToken ?? '');
      const description = await NodeRuntime.describe(this.options.executor, this.options.engineLabels);
      const joined = await joinCluster({
        managerAddr: remotes[0]!,
        token: request.JoinToken!,
        availability,
        description,
        advertiseAddr: formatHostPort(advertise),
      });
      const membership: SwarmMembership = {
        nodeId: joined.nodeId,
        clusterId: joined.clusterId,
        role: joined.role,
        advertiseAddr: formatHostPort(advertise),
        listenAddr: formatHostPort(listen),
        remoteManagers: remotes,
        datastore: 'embedded',
        ...(dataPathAddr ? { dataPathAddr } : {}),
      };
      // Not in a swarm, so anything under the swarm directory is a leftover of a crash mid-join.
      this.stateFile.clear();
      mkdirSync(this.swarmDir, { recursive: true, mode: 0o700 });
      try {
        writeCertificates(this.swarmDir, joined);
        NodeRuntime.createState(this.options.dataDir);
        this.stateFile.write(membership);
      } catch (err) {
        this.stateFile.clear();
        throw err;
      }
      this.membership = membership;
      await this.startComponents(membership);
      await this.runtime?.waitForSession(10_000);
      this.options.log.info('joined the swarm', {
        nodeId: joined.nodeId,
        role: joined.role,
        manager: remotes[0],
      });
    });
  }

  leave(force: boolean): Promise<void> {
    return this.serialize(async () => {
      const m = this.membership;
      if (!m && !this.nodeError) throw unavailable(NOT_IN_SWARM);
      if (!m && !force) {
        throw unavailable(`${this.nodeError}. Use \`--force\` to leave the swarm and remove its state.`);
      }
      if (m?.role === 'manager' && !force) throw unavailable(LEAVE_LAST_MANAGER);
      this.cancelResumeRetry();
      // Leaving stops this node's tasks (Docker removes their containers) and forgets the swarm.
      const running = this.runtime !== undefined;
      await this.stopComponents(true);
      // A node in error runs no agent, but its tasks may still run under the task runner.
      if (!running) {
        await NodeRuntime.purgeNetworking(
          this.options.dataDir,
          this.options.log.with({ component: 'agent' }),
        );
        await NodeRuntime.purgeTasks({
          nodeId: m?.nodeId,
          dataDir: this.options.dataDir,
          executor: this.options.executor,
          engineLabels: this.options.engineLabels,
          log: this.options.log.with({ component: 'agent' }),
        });
      }
      this.stateFile.clear();
      this.membership = undefined;
      this.nodeError = undefined;
      this.locked = false;
      this.managerChanged();
      this.options.log.info('left the swarm', { nodeId: m?.nodeId ?? '' });
    });
  }
}

/** What `/info` says about a damaged file: what it means for the node, and what to do. */
function damagedStateMessage(err: DamagedStateError): string {
  const consequences: Record<DamagedStateError['kind'], string> = {
    'swarm-state': "this node's swarm membership is lost",
    certificate: 'this node cannot prove its identity to the swarm',
    'cluster-store': "this node's swarm state is lost",
    'data-key': "the cluster's secrets, CA key and join tokens cannot be read",
    'agent-db': "this node's record of its tasks is lost",
  };
  // What a Docker user would try first, which cannot help here yet.
  const forceNewCluster =
    err.kind === 'cluster-store' || err.kind === 'data-key'
      ? ' ("docker swarm init --force-new-cluster" cannot recover a one-manager embedded store)'
      : '';
  return `${err.message}: ${consequences[err.kind]}; run "docker swarm leave --force", then init or join again${forceNewCluster}`;
}

/** `--availability` at init/join; Docker finds a bad value while joining, hence the 500. */
function parseAvailability(value: string | undefined): NodeAvailability {
  if (value === undefined || value === '') return 'active';
  const lower = value.toLowerCase();
  if (lower === 'active' || lower === 'pause' || lower === 'drain') return lower;
  throw new ShoalError('Unknown', `invalid Availability: "${value}"`);
}

/** `--default-addr-pool` and `--default-addr-pool-mask-length`, with libnetwork's checks and texts. */
function validateAddressPools(
  pools: string[] | null | undefined,
  subnetSize: number | undefined,
): { pools: string[] | null; subnetSize: number } {
  const size = subnetSize || 24;
  // Docker ignores the subnet size when no pool is given.
  if (!pools || pools.length === 0) return { pools: null, subnetSize: size };
  if (!Number.isInteger(size) || size < 1 || size > 32) {
    throw new ShoalError('Unknown', `subnet size is out of range: ${subnetSize}`);
  }
  for (const pool of pools) {
    const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(pool);
    if (!m || m[1]!.split('.').some((p) => Number(p) > 255) || Number(m[2]) > 32) {
      throw new ShoalError('Unknown', `invalid base pool ${pool}: invalid CIDR address: ${pool}`);
    }
    if (Number(m[2]) > size) {
      throw new ShoalError('Unknown', `invalid CIDR: "${pool}". Subnet size is too small for pool: ${size}`);
    }
  }
  return { pools: [...pools], subnetSize: size };
}

/** Plugins as `/info` lists them: names by type. */
function pluginsByType(plugins: readonly { Type: string; Name: string }[]): SystemInfo['plugins'] {
  const byType = { Volume: [] as string[], Network: [] as string[], Log: [] as string[] };
  for (const plugin of plugins) {
    if (plugin.Type === 'Volume' || plugin.Type === 'Network' || plugin.Type === 'Log')
      byType[plugin.Type].push(plugin.Name);
  }
  return byType;
}

/** The addresses an etcd member's certificate names: where peers and this manager reach it. */
function etcdIps(advertiseHost: string): string[] {
  return [...new Set([advertiseHost, '127.0.0.1'])];
}
