// What the Engine API needs from the daemon. The daemon implements it; the API layer stays a thin
// translation of HTTP to these calls, so a worker, a manager and a node outside any swarm differ only
// in what the backend answers.

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
} from '../api/types.js';
import type { Filters } from '../api/filters.js';
import type {
  NetworkCreateRequest,
  NetworkCreateResponse,
  NetworkLookup,
  NetworkResource,
  NetworksPruneReport,
} from '../api/networks.js';
import type {
  EventMessage,
  EventsRequest,
  LogMessage,
  LogsRequest,
  SwarmUpdateFlags,
} from '../api/control.js';

export type LocalNodeState = 'inactive' | 'pending' | 'active' | 'error' | 'locked';

export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: LocalNodeState;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: Omit<Cluster, 'JoinTokens' | 'RootCA'>;
}

export interface InitRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  DataPathPort?: number;
  ForceNewCluster?: boolean;
  Spec?: SwarmSpec;
  AutoLockManagers?: boolean;
  Availability?: string;
  DefaultAddrPool?: string[] | null;
  SubnetSize?: number;
  /** shoal extension: `embedded` (default) or `etcd`. */
  Datastore?: string;
}

export interface JoinRequest {
  ListenAddr?: string;
  AdvertiseAddr?: string;
  DataPathAddr?: string;
  RemoteAddrs?: string[];
  JoinToken?: string;
  Availability?: string;
}

export interface ServiceCreateResult {
  ID: string;
  Warnings?: string[];
}

export interface ServiceCreateOptions {
  /**
   * The `X-Registry-Auth` header (`--with-registry-auth`): registry credentials, base64url JSON, kept with
   * the spec for the nodes that pull its image. Never shown by the API.
   */
  registryAuth?: string;
}

export interface ServiceUpdateOptions {
  /** `previous` for `docker service rollback`. */
  rollback?: string;
  /**
   * Whose credentials the new spec keeps when no `registryAuth` is given: `spec` (the current one; also
   * when empty) or `previous-spec`.
   */
  registryAuthFrom?: string;
  /** The `X-Registry-Auth` header: new registry credentials for the spec. */
  registryAuth?: string;
}

/** The swarm control API, available on managers only. Methods throw ShoalError. */
export interface ControlBackend {
  inspectSwarm(): Promise<Cluster>;
  updateSwarm(version: number, spec: SwarmSpec, flags: SwarmUpdateFlags): Promise<void>;
  unlockKey(): Promise<string>;

  listNodes(filters: Filters): Promise<Node[]>;
  getNode(ref: string): Promise<Node>;
  updateNode(ref: string, version: number, spec: NodeSpec): Promise<void>;
  removeNode(ref: string, force: boolean): Promise<void>;

  listServices(filters: Filters, withStatus: boolean): Promise<Service[]>;
  getService(ref: string, insertDefaults: boolean): Promise<Service>;
  createService(
    spec: ServiceSpec,
    apiVersion: string,
    options?: ServiceCreateOptions,
  ): Promise<ServiceCreateResult>;
  updateService(
    ref: string,
    version: number,
    spec: ServiceSpec,
    options: ServiceUpdateOptions,
    apiVersion: string,
  ): Promise<{ Warnings: string[] | null }>;
  removeService(ref: string): Promise<void>;

  listTasks(filters: Filters): Promise<Task[]>;
  getTask(ref: string): Promise<Task>;

  /** Secrets never with their data; configs with theirs. `ref` is an ID, a name or an ID prefix. */
  listSecrets(filters: Filters): Promise<Secret[]>;
  getSecret(ref: string): Promise<Secret>;
  createSecret(spec: SecretSpec): Promise<{ ID: string }>;
  updateSecret(ref: string, version: number, spec: SecretSpec): Promise<void>;
  removeSecret(ref: string): Promise<void>;
  listConfigs(filters: Filters): Promise<Config[]>;
  getConfig(ref: string): Promise<Config>;
  createConfig(spec: ConfigSpec): Promise<{ ID: string }>;
  updateConfig(ref: string, version: number, spec: ConfigSpec): Promise<void>;
  removeConfig(ref: string): Promise<void>;

  /** Swarm networks (the overlay networks of the swarm; shoal has no local networks). */
  listNetworks(filters: Filters): Promise<NetworkResource[]>;
  getNetwork(ref: string, lookup: NetworkLookup): Promise<NetworkResource>;
  createNetwork(request: NetworkCreateRequest): Promise<NetworkCreateResponse>;
  removeNetwork(ref: string): Promise<void>;
  pruneNetworks(filters: Filters): Promise<NetworksPruneReport>;

  /** Streams log lines of a service's or a task's tasks until done (or `signal` aborts, with follow). */
  serviceLogs(ref: string, request: LogsRequest, signal: AbortSignal): AsyncIterable<LogMessage>;
  taskLogs(ref: string, request: LogsRequest, signal: AbortSignal): AsyncIterable<LogMessage>;

  /**
   * The remembered events in the request's window (none without `since` or `until`), and from now on every
   * new matching event to `listener`, synchronously, until the returned `close` is called.
   */
  subscribeEvents(
    request: EventsRequest,
    listener: (event: EventMessage) => void,
  ): { past: EventMessage[]; close: () => void };
}

export interface SystemInfo {
  name: string;
  ncpu: number;
  memTotal: number;
  kernelVersion: string;
  operatingSystem: string;
  osVersion: string;
  architecture: string;
  dataRoot: string;
  debug: boolean;
  labels: string[];
  containers: { total: number; running: number; paused: number; stopped: number };
  serverVersion: string;
  /** What the node's executor offers, by plugin type (`Log: ['json-file']`), as `/info` lists them. */
  plugins: { Volume: string[]; Network: string[]; Log: string[] };
  /** The storage driver `/info` reports: which executor runs this node's tasks. */
  driver: string;
}

export interface EngineBackend {
  /** For the `Swarm` ping header and `/info`. */
  swarmInfo(): Promise<SwarmInfo>;
  systemInfo(): Promise<SystemInfo>;
  init(request: InitRequest): Promise<string>;
  join(request: JoinRequest): Promise<void>;
  leave(force: boolean): Promise<void>;
  /** `POST /swarm/unlock`: starts a locked manager with its unlock key (`SWMKEY-1-…`). */
  unlock(unlockKey: string): Promise<void>;
  /** The control API; throws Docker's 503 errors when this node is not an active manager. */
  control(): ControlBackend;
}
