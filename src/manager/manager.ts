// The manager role on a node: the cluster store (on the backend the configuration names), the control
// API, and the control loops (orchestrators, allocator, scheduler, dispatcher). With the embedded store there is one
// manager and it leads, so the loops start with the manager.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DispatcherClient } from '../api/dispatcher.js';
import { isShoalError, NO_LEADER, unavailable } from '../api/errors.js';
import { parseUnlockKey } from '../api/unlock-key.js';
import type { Service, Task } from '../api/types.js';
import { openStoreBackend, type StoreBackendConfig } from '../store/backend.js';
import { ClusterStore, type WriteFence } from '../store/cluster-store.js';
import { LeaderElection, type LeadershipState } from '../store/election.js';
import { EtcdKV, type EtcdTls } from '../store/etcd/kv.js';
import type { KV } from '../store/kv.js';
import { DamagedStateError } from '../store/file-errors.js';
import { KeyFileSealer, SealedDataError } from '../store/sealer.js';
import type { NodeTlsCredentials } from '../api/certs.js';
import { loadRootCASigner } from './ca/rootca.js';
import { signNodeCertificate } from './ca/signer.js';
import { generateJoinToken } from './ca/tokens.js';
import { ClusterApiServer } from './clusterapi/server.js';
import { Allocator } from './allocator/allocator.js';
import { ControlAPI } from './controlapi/control-api.js';
import { Dispatcher } from './dispatcher/dispatcher.js';
import { ClusterEvents } from './events/source.js';
import { LogBroker } from './logbroker/broker.js';
import { logStreamOptions } from './logbroker/options.js';
import { isTaskDirty } from './orchestrator/dirty.js';
import { Orchestrator } from './orchestrator/orchestrator.js';
import type { ObjectFailure } from './isolation.js';
import type { SwarmMetrics } from './metrics/swarm-metrics.js';
import { Scheduler } from './scheduler/scheduler.js';

const CLUSTER_PORT_RETRY_MS = 5_000;

export interface ManagerLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export interface ManagerOptions {
  /** `<data-dir>/swarm`: the store lives in `manager/` below it. */
  swarmDir: string;
  /** The backend of the cluster store. */
  store: StoreBackendConfig;
  nodeId: string;
  /** This manager's cluster address (`ip:port`). */
  advertiseAddr: string;
  log: ManagerLog;
  /**
   * Create the store and its data key where they are missing (`swarm init`). Without it (a node resuming)
   * both must exist and hold a cluster.
   */
  create?: boolean;
  /** The node's metrics (`--metrics-addr`): the store, the loops and the dispatcher report to them. */
  metrics?: SwarmMetrics;
  /** The unlock key (autolock): opens a data key file wrapped under it. */
  unlockKey?: Buffer;
  /**
   * Lease TTL of the leader election (store on etcd), in seconds (default 1: etcd's minimum with the
   * members' 500 ms election timeout, see daemon/etcd/member.ts).
   */
  leaderTtlSeconds?: number;
}

/** The key the leading manager holds in the store's backend (on etcd; see store/election.ts). */
export const LEADER_KEY = '/election/leader';
export const DEFAULT_LEADER_TTL_SECONDS = 1;
/** How long start() waits to be elected before it carries on as a manager that does not lead. */
const FIRST_ELECTION_WAIT_MS = 10_000;

const notTheLeader = (leader: { nodeId: string; addr: string }): Error =>
  unavailable(
    `this manager is not the leader: writes go to the leader, ${leader.nodeId} at ${leader.addr} (managers do not forward them to it yet)`,
  );

const lostLeadership = (): Error =>
  unavailable('this manager lost its leadership while writing (another manager leads now): try again');

export interface ClusterPortOptions {
  /** Where the cluster port listens (`--listen-addr`). */
  listenAddr: { host: string; port: number };
  clusterId: string;
  /** This manager's own certificate, key and the root CA. */
  credentials: NodeTlsCredentials;
}

export class Manager {
  readonly controlApi: ControlAPI;
  readonly dispatcher: Dispatcher;
  /** Swarm events for `GET /events`, from the start of the control loops (see start()). */
  private events: ClusterEvents | undefined;
  private readonly logBroker: LogBroker;
  private readonly orchestrator: Orchestrator;
  private readonly allocator: Allocator;
  private readonly scheduler: Scheduler;
  private started = false;
  /** Whether the control loops run (they do on the leader only). */
  private loopsRunning = false;
  /** Starts and stops of the loops as leadership comes and goes, one after another. */
  private leadershipChain: Promise<void> = Promise.resolve();
  /** Told once the first campaign is decided: true when this manager leads, false when another does. */
  /** The unlock key the data key file is wrapped under (null: in clear; undefined: not looked at yet). */
  private appliedUnlockKey: string | null | undefined;
  private unwatchUnlockKey: (() => void) | undefined;
  private campaignDecided: ((won: boolean) => void) | undefined;
  private clusterPort: ClusterApiServer | undefined;
  private portError: string | undefined;
  private portRetry: ReturnType<typeof setTimeout> | undefined;
  private portOpening: Promise<void> | undefined;
  private detachMetrics: (() => void) | undefined;

  private constructor(
    private readonly kv: KV,
    readonly store: ClusterStore,
    private readonly options: ManagerOptions,
    /** With a store several managers share (etcd): who leads. Without, this manager is the only one. */
    private readonly election: LeaderElection | undefined,
    /** The data key's file, kept wrapped under the unlock key while autolock is on. */
    private readonly sealer: KeyFileSealer,
  ) {
    const { log, metrics } = options;
    // With metrics, the components' reads and writes are timed; the store is the same.
    const timed = metrics?.timedStore(store) ?? store;
    this.controlApi = new ControlAPI({
      store: timed,
      localNodeId: options.nodeId,
      isTaskUpToDate: (task: Task, service: Service) => {
        const node = task.NodeID ? store.view((tx) => tx.get('node', task.NodeID!)) : undefined;
        return !isTaskDirty(service, task, node);
      },
      newJoinToken: (rootCA) => generateJoinToken(rootCA),
      subscribeLogs: (target, request, signal) =>
        this.logBroker.subscribe(target, logStreamOptions(request), signal),
      subscribeEvents: (request, listener) =>
        this.events?.subscribe(request, listener) ?? { past: [], close: () => undefined },
    });
    this.orchestrator = new Orchestrator(timed, {
      onError: (error) => log.error('orchestrator pass failed', { error: String(error) }),
      onObjectError: objectErrorLogger(log, 'orchestrator'),
      observePass: metrics?.reconcileObserver('orchestrator'),
    });
    this.allocator = new Allocator(timed, {
      onError: (error) => log.error('allocator pass failed', { error: String(error) }),
      onObjectError: objectErrorLogger(log, 'allocator'),
      observePass: metrics?.reconcileObserver('allocator'),
    });
    this.scheduler = new Scheduler(timed, {
      onError: (error) => log.error('scheduler pass failed', { error: String(error) }),
      onObjectError: objectErrorLogger(log, 'scheduler'),
      observePass: metrics?.schedulerObserver(),
    });
    this.logBroker = new LogBroker({ store: timed, log });
    this.dispatcher = new Dispatcher({
      store: timed,
      ...(metrics ? { onHeartbeat: () => metrics.heartbeat() } : {}),
      managerNodeId: options.nodeId,
      managerAddr: options.advertiseAddr,
      logs: this.logBroker,
      log,
    });
  }

  /**
   * Opens the store; loops start with `start()`. Only with `create` are a missing store and data key made:
   * a node resuming its swarm that finds either missing, empty or unreadable, or a store without a cluster,
   * gets a `DamagedStateError` naming the file, and the file is left as it was found — replacing it would
   * silently turn the node into the manager of a new, empty cluster.
   */
  static async open(options: ManagerOptions): Promise<Manager> {
    const dir = join(options.swarmDir, 'manager');
    const create = options.create ?? false;
    if (create) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const keyPath = join(dir, 'store.key');
    const { kv, location: storePath } = await openStoreBackend(options.store, dir, create);
    // A store several managers share has an election, and every write is fenced by its leadership.
    let election: LeaderElection | undefined;
    let fence: WriteFence | undefined;
    if (options.store.kind === 'etcd') {
      const elected = new LeaderElection({
        kv,
        key: LEADER_KEY,
        self: { nodeId: options.nodeId, addr: options.advertiseAddr },
        ttlSeconds: options.leaderTtlSeconds ?? DEFAULT_LEADER_TTL_SECONDS,
        onChange: (state) => manager?.onLeadership(state),
        onError: (err) => options.log.debug('leader election', { error: err.message }),
      });
      election = elected;
      fence = {
        current: () => {
          const held = elected.fence();
          if (held) return held;
          const leader = elected.leader;
          // Another manager leads: writes are its. Forwarding them is not built yet, so say where to go.
          if (leader && leader.nodeId !== options.nodeId) throw notTheLeader(leader);
          throw unavailable(NO_LEADER);
        },
        refused: lostLeadership,
      };
    }
    let manager: Manager | undefined;
    try {
      // With autolock the key file holds the data key wrapped under the unlock key: without the right one
      // this throws SwarmLockedError or InvalidUnlockKeyError, and the node stays locked.
      const sealer = create
        ? KeyFileSealer.loadOrCreate(keyPath)
        : KeyFileSealer.load(keyPath, options.unlockKey);
      const store = await ClusterStore.open(kv, {
        sealer,
        ...(fence && { fence }),
        onHandlerError: (err) =>
          options.log.error('a cluster store watch handler failed', {
            error: err instanceof Error ? (err.stack ?? err.message) : String(err),
          }),
      }).catch((err: unknown) => {
        if (!(err instanceof SealedDataError)) throw err;
        throw new DamagedStateError(
          {
            kind: 'data-key',
            what: 'the data key',
            file: keyPath,
            problem: `does not open the sealed data in the cluster store ${storePath}`,
          },
          { cause: err },
        );
      });
      if (!create && store.view((tx) => tx.list('cluster').length === 0)) {
        await store.close();
        throw new DamagedStateError({
          kind: 'cluster-store',
          what: 'the cluster store',
          file: storePath,
          problem: 'holds no cluster',
        });
      }
      manager = new Manager(kv, store, options, election, sealer);
      return manager;
    } catch (err) {
      await kv.close();
      throw err;
    }
  }

  /**
   * Starts the control loops and, when `port` is given, the cluster port other nodes join and talk
   * to (mutual TLS). Without it only the local node's agent can reach this manager.
   */
  async start(port?: ClusterPortOptions): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.detachMetrics = this.options.metrics?.attach(this.store);
    this.followUnlockKey();
    this.unwatchUnlockKey = this.store.watch((batch) => {
      if (batch.events.some((event) => event.kind === 'cluster')) this.followUnlockKey();
    });
    if (this.election) {
      // The loops start when this manager is elected, and stop when it is not any more.
      if (this.election.leading) await this.startLoops();
      else if (!(await this.campaign())) {
        this.options.log.info('another manager leads, or none yet: serving as a manager that does not lead', {
          leader: this.election.leader?.nodeId ?? '',
        });
      }
      await this.leadershipChain;
    } else {
      await this.startLoops();
    }
    if (port) {
      this.clusterPort = new ClusterApiServer({
        listenAddr: port.listenAddr,
        store: this.store,
        dispatcher: this.dispatcher,
        credentials: port.credentials,
        clusterId: port.clusterId,
        log: this.options.log,
      });
      await this.openClusterPort(port);
    }
    this.options.log.info('manager started', { nodeId: this.options.nodeId });
  }

  /**
   * Campaigns (with a store several managers share) and resolves with true once this manager leads, with
   * false once another one is seen leading, or after `timeoutMs`. Without start(), no loop runs: `swarm
   * init` writes the cluster's first objects so.
   */
  async campaign(timeoutMs = FIRST_ELECTION_WAIT_MS): Promise<boolean> {
    const election = this.election;
    if (!election) return true;
    if (election.leading) return true;
    const decided = new Promise<boolean>((resolve) => (this.campaignDecided = resolve));
    election.start();
    let timer: NodeJS.Timeout | undefined;
    const won = await Promise.race([
      decided,
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.campaignDecided = undefined;
    return won;
  }

  /**
   * Keeps the data key file as the cluster says: wrapped under the unlock key while autolock is on (a
   * rotated key rewraps it), in clear when it is off. A manager restarted with a wrapped file is locked
   * until `swarm unlock` gives the key.
   */
  private followUnlockKey(): void {
    const cluster = this.store.view((tx) => tx.list('cluster')[0]);
    if (!cluster) return;
    const wanted = cluster.Spec.EncryptionConfig?.AutoLockManagers ? (cluster.UnlockKey ?? null) : null;
    if (wanted === this.appliedUnlockKey) return;
    const key = wanted === null ? undefined : parseUnlockKey(wanted);
    if (wanted !== null && !key) {
      this.options.log.error(
        'the cluster holds an unlock key that does not parse; the data key stays as it is',
      );
      return;
    }
    try {
      this.sealer.rewrap(key);
      this.appliedUnlockKey = wanted;
      this.options.log.info(
        key ? 'data key wrapped under the unlock key (autolock)' : 'data key stored in clear (autolock off)',
      );
    } catch (err) {
      this.options.log.error('cannot rewrite the data key file', { error: String(err) });
    }
  }

  /** Whether this manager leads: runs the control loops and may write. */
  get leading(): boolean {
    return this.election ? this.election.leading : true;
  }

  private onLeadership(state: LeadershipState): void {
    this.leadershipChain = this.leadershipChain.then(async () => {
      try {
        if (state.leading && this.started && this.election?.leading) {
          this.options.log.info('elected leader: starting the control loops');
          await this.startLoops().catch(async (err: unknown) => {
            // Half started (a write refused as leadership changed again, the store not answering): stop
            // what started, and try again shortly if this manager still leads.
            await this.stopLoops();
            this.retryLoops();
            throw err;
          });
        } else if (!state.leading && this.loopsRunning) {
          this.options.log.warn('not the leader any more: stopping the control loops', {
            leader: state.leader?.nodeId ?? '',
          });
          await this.stopLoops();
        }
      } catch (err) {
        this.options.log.error('changing leadership failed', { error: String(err) });
      }
      if (state.leading) this.campaignDecided?.(true);
      else if (state.leader && state.leader.nodeId !== this.options.nodeId) this.campaignDecided?.(false);
    });
  }

  private retryLoops(): void {
    setTimeout(() => {
      if (this.started && this.election?.leading && !this.loopsRunning) {
        const leader = this.election.leader;
        this.onLeadership({ leading: true, leader });
      }
    }, 1_000).unref();
  }

  /** The leader's work: dispatcher, allocator, orchestrators, scheduler (and, from the first time, events). */
  private async startLoops(): Promise<void> {
    if (this.loopsRunning) return;
    this.loopsRunning = true;
    await this.dispatcher.start();
    // The allocator first: tasks a previous leader left NEW get their addresses, and nodes theirs on the
    // ingress network, before anything else — and before events start, as swarmkit's allocator makes
    // these writes while its manager starts, before dockerd's watch of the store connects.
    await this.allocator.start();
    // Events start here, as dockerd's store watch connects once its manager runs: the dispatcher's
    // start-up write (every node moved to "unknown") is not one, the node becoming ready is the first.
    this.events ??= new ClusterEvents(this.store, {
      onListenerError: (error) => this.options.log.error('an event stream failed', { error: String(error) }),
    });
    await this.orchestrator.start();
    this.scheduler.start();
  }

  private async stopLoops(): Promise<void> {
    if (!this.loopsRunning) return;
    this.loopsRunning = false;
    await this.scheduler.stop();
    await this.orchestrator.stop();
    await this.allocator.stop();
    this.logBroker.stop();
    await this.dispatcher.stop();
  }

  /** Why the cluster port is not open (e.g. the address is in use), for `/info`'s Swarm.Error. */
  get clusterPortError(): string | undefined {
    return this.portError;
  }

  /**
   * Opens the cluster port, retrying in the background if it cannot: the manager and this node's own
   * tasks keep working meanwhile (only other nodes cannot reach it), and `/info` says why.
   */
  private async openClusterPort(port: ClusterPortOptions): Promise<void> {
    const attempt = this.clusterPort!.start();
    // stop() waits for an attempt under way, so that a port opened just then is closed too.
    this.portOpening = attempt.then(
      () => undefined,
      () => undefined,
    );
    try {
      await attempt;
      this.portError = undefined;
    } catch (err) {
      const address = `${port.listenAddr.host}:${port.listenAddr.port}`;
      this.portError = `manager stopped: failed to listen on remote API address: ${(err as Error).message}`;
      this.options.log.error('cannot open the cluster port; retrying', { address, error: String(err) });
      this.portRetry = setTimeout(() => {
        if (this.started && this.clusterPort) void this.openClusterPort(port);
      }, CLUSTER_PORT_RETRY_MS);
      this.portRetry.unref();
    }
  }

  /** Reaches the store's etcd with a renewed client certificate (a store on etcd; otherwise nothing to do). */
  setStoreTls(tls: EtcdTls): void {
    if (this.kv instanceof EtcdKV) this.kv.setTls(tls);
  }

  /** Serves new cluster connections with renewed credentials (open ones keep theirs). */
  setClusterCredentials(credentials: NodeTlsCredentials): void {
    this.clusterPort?.setCredentials(credentials);
  }

  /**
   * Signs a certificate for this manager's own new key, with its role from the store — the renewal
   * path of a manager, which holds the CA and need not ask anyone.
   */
  async signOwnCertificate(
    csrPem: string,
    options: { ipAddresses?: readonly string[] } = {},
  ): Promise<{ certPem: string; rootCAPem: string }> {
    const { cluster, node } = this.store.view((tx) => ({
      cluster: tx.list('cluster')[0],
      node: tx.get('node', this.options.nodeId),
    }));
    if (!cluster?.RootCA || !node) throw new Error('this manager has no CA material or node object');
    const certPem = await signNodeCertificate({
      csrPem,
      nodeId: node.ID,
      role: node.Role ?? node.Spec.Role ?? 'manager',
      clusterId: cluster.ID,
      expirySeconds: (cluster.Spec.CAConfig?.NodeCertExpiry ?? 0) / 1e9,
      rootCA: await loadRootCASigner(cluster.RootCA),
      ...(options.ipAddresses && { ipAddresses: options.ipAddresses }),
    });
    return { certPem, rootCAPem: cluster.RootCA.CACert };
  }

  async stop(): Promise<void> {
    if (this.started) {
      this.started = false;
      clearTimeout(this.portRetry);
      await this.portOpening;
      await this.clusterPort?.stop();
      this.clusterPort = undefined;
      await this.leadershipChain;
      // The loops write what they have queued while this manager still leads; then it gives the lead up.
      await this.stopLoops();
      await this.election?.stop();
      this.unwatchUnlockKey?.();
      this.unwatchUnlockKey = undefined;
      this.detachMetrics?.();
      this.detachMetrics = undefined;
    }
    // Elected without starting (swarm init's first writes).
    await this.election?.stop();
    this.events?.close();
    await this.store.close();
    await this.kv.close();
  }

  /**
   * Resolves once the node's agent has registered (status `ready`), or after `timeoutMs` regardless:
   * `swarm init` answers when the new node is usable, as Docker's does.
   */
  async waitForNodeReady(nodeId: string, timeoutMs: number): Promise<void> {
    const ready = (): boolean => this.store.view((tx) => tx.get('node', nodeId)?.Status.State === 'ready');
    if (ready()) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const unwatch = this.store.watch(() => {
        if (ready()) done();
      });
      function done(): void {
        clearTimeout(timer);
        unwatch();
        resolve();
      }
    });
  }

  localDispatcherClient(nodeId: string): DispatcherClient {
    return this.dispatcher.localClient(nodeId);
  }
}

/**
 * A control loop's failure on one object: the first in a row is an error with the stack (a bug or a spec
 * nothing anticipated), the retries that fail again are debug lines.
 */
function objectErrorLogger(
  log: ManagerLog,
  loop: string,
): (failure: ObjectFailure, retryAt: number, first: boolean) => void {
  return (failure, retryAt, first) => {
    const error = failure.error instanceof Error ? failure.error : new Error(String(failure.error));
    // A refusal (a service above the limits) explains itself; anything else is a bug worth its stack.
    const expected = isShoalError(error);
    const fields = {
      [failure.kind === 'node' ? 'nodeId' : 'serviceId']: failure.id,
      error: first && !expected ? (error.stack ?? error.message) : error.message,
      retryAt: new Date(retryAt).toISOString(),
    };
    if (first) log.error(`${loop}: ${failure.kind} set aside after a failure; others carry on`, fields);
    else log.debug(`${loop}: ${failure.kind} failed again`, fields);
  };
}
