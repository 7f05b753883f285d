// The object model, in the Engine API's JSON shapes (field names and nesting as in the Engine API
// swagger). The same objects are stored, sent between nodes and returned to clients, so there is no
// translation layer to keep in sync. Durations are integer nanoseconds, as on the wire.

export type Labels = Record<string, string>;

export interface ObjectVersion {
  Index: number;
}

/** Fields every stored object has. `Version.Index` is the store revision of the last write. */
export interface Meta {
  ID: string;
  Version: ObjectVersion;
  CreatedAt: string;
  UpdatedAt: string;
}

// ---------------------------------------------------------------- cluster

export interface SwarmSpec {
  Name?: string;
  Labels?: Labels;
  Orchestration?: { TaskHistoryRetentionLimit?: number };
  Raft?: {
    SnapshotInterval?: number;
    KeepOldSnapshots?: number;
    LogEntriesForSlowFollowers?: number;
    ElectionTick?: number;
    HeartbeatTick?: number;
  };
  Dispatcher?: { HeartbeatPeriod?: number };
  CAConfig?: {
    NodeCertExpiry?: number;
    ExternalCAs?: unknown[];
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  };
  EncryptionConfig?: { AutoLockManagers?: boolean };
  TaskDefaults?: { LogDriver?: Driver };
}

export interface TLSInfo {
  TrustRoot: string;
  CertIssuerSubject: string;
  CertIssuerPublicKey: string;
}

export interface JoinTokens {
  Worker: string;
  Manager: string;
}

/** The stored cluster object. Secrets (CA key) live here but are stripped before it leaves the manager. */
export interface Cluster extends Meta {
  Spec: SwarmSpec;
  TLSInfo: TLSInfo;
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[] | null;
  SubnetSize: number;
  DataPathPort: number;
  JoinTokens: JoinTokens;
  /** Manager-only material, never returned by the Engine API. */
  RootCA?: RootCAMaterial;
  /**
   * With autolock (`Spec.EncryptionConfig.AutoLockManagers`): the unlock key (`SWMKEY-1-…`) managers wrap
   * their data key under. Manager-only, sealed at rest, returned only by `GET /swarm/unlockkey`.
   */
  UnlockKey?: string;
}

export interface RootCAMaterial {
  /** PEM of the root certificate (the exact bytes the join-token digest is taken over). */
  CACert: string;
  /** PEM of the root key, encrypted at rest by the store layer. */
  CAKey: string;
  /** Node IDs whose certificates are no longer accepted, with the time until which to remember them. */
  BlacklistedCertificates?: Record<string, string>;
}

// ---------------------------------------------------------------- nodes

export type NodeRole = 'worker' | 'manager';
export type NodeAvailability = 'active' | 'pause' | 'drain';
export type NodeState = 'unknown' | 'down' | 'ready' | 'disconnected';
export type Reachability = 'unknown' | 'unreachable' | 'reachable';

export interface NodeSpec {
  Name?: string;
  Labels?: Labels;
  Role?: NodeRole;
  Availability?: NodeAvailability;
}

export interface Platform {
  Architecture: string;
  OS: string;
}

export interface GenericResource {
  NamedResourceSpec?: { Kind: string; Value: string };
  DiscreteResourceSpec?: { Kind: string; Value: number };
}

export interface ResourceObject {
  NanoCPUs?: number;
  MemoryBytes?: number;
  GenericResources?: GenericResource[];
}

export interface EngineDescription {
  EngineVersion: string;
  Labels?: Labels;
  Plugins?: { Type: string; Name: string }[];
}

export interface NodeDescription {
  Hostname: string;
  Platform: Platform;
  Resources: ResourceObject;
  Engine: EngineDescription;
  TLSInfo?: TLSInfo;
}

export interface NodeStatus {
  State: NodeState;
  Message?: string;
  Addr: string;
}

export interface ManagerStatus {
  Leader?: boolean;
  Reachability: Reachability;
  Addr: string;
}

export interface Node extends Meta {
  Spec: NodeSpec;
  Description: NodeDescription;
  Status: NodeStatus;
  ManagerStatus?: ManagerStatus;
  /** Observed role (changes after the certificate does); `Spec.Role` is the desired role. Not in the API. */
  Role?: NodeRole;
  /**
   * The node's own address on each overlay network it has a task on, and on the ingress network (swarmkit's
   * Node.Attachments, written by the allocator). Not in the Engine API's Node.
   */
  Attachments?: NetworkAttachment[];
  /**
   * The node's `--data-path-addr`, as its agent says when it registers: where other nodes send its VXLAN
   * traffic (else `Status.Addr`). Not in the Engine API's Node.
   */
  DataPathAddr?: string;
}

// ---------------------------------------------------------------- services

export interface Driver {
  Name: string;
  Options?: Record<string, string>;
}

export interface Mount {
  Target?: string;
  Source?: string;
  Type?: 'bind' | 'volume' | 'tmpfs' | 'npipe' | 'cluster' | 'image';
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: Record<string, unknown>;
  VolumeOptions?: Record<string, unknown>;
  TmpfsOptions?: Record<string, unknown>;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
  StartInterval?: number;
}

export interface SecretReference {
  File?: { Name: string; UID: string; GID: string; Mode: number };
  SecretID: string;
  SecretName: string;
}

export interface ConfigReference {
  File?: { Name: string; UID: string; GID: string; Mode: number };
  Runtime?: Record<string, never>;
  ConfigID: string;
  ConfigName: string;
}

export interface ContainerSpec {
  Image?: string;
  Labels?: Labels;
  Command?: string[];
  Args?: string[];
  Hostname?: string;
  Env?: string[];
  Dir?: string;
  User?: string;
  Groups?: string[];
  Privileges?: Record<string, unknown>;
  TTY?: boolean;
  OpenStdin?: boolean;
  ReadOnly?: boolean;
  Mounts?: Mount[];
  StopSignal?: string;
  StopGracePeriod?: number;
  /** Go decodes JSON keys case-insensitively; the docker CLI sends `Healthcheck`. */
  Healthcheck?: HealthConfig;
  Hosts?: string[];
  DNSConfig?: { Nameservers?: string[]; Search?: string[]; Options?: string[] };
  Secrets?: SecretReference[];
  Configs?: ConfigReference[];
  Isolation?: string;
  Init?: boolean | null;
  Sysctls?: Record<string, string>;
  CapabilityAdd?: string[];
  CapabilityDrop?: string[];
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  OomScoreAdj?: number;
  /**
   * Not part of the Engine API's JSON: the registry credentials of `--with-registry-auth` (the
   * `X-Registry-Auth` header of service create/update, base64url JSON), kept with the spec as swarmkit
   * keeps them (ContainerSpec.PullOptions), sealed at rest, stripped from everything the API returns, and
   * used by the node that pulls the task's image.
   */
  PullOptions?: { RegistryAuth?: string };
}

export type RestartCondition = 'none' | 'on-failure' | 'any';

export interface RestartPolicy {
  Condition?: RestartCondition;
  Delay?: number;
  MaxAttempts?: number;
  Window?: number;
}

export interface Placement {
  Constraints?: string[];
  Preferences?: { Spread: { SpreadDescriptor: string } }[];
  MaxReplicas?: number;
  Platforms?: { Architecture?: string; OS?: string }[];
}

export interface NetworkAttachmentConfig {
  Target: string;
  Aliases?: string[];
  DriverOpts?: Record<string, string>;
}

export interface TaskSpec {
  PluginSpec?: Record<string, unknown>;
  ContainerSpec?: ContainerSpec;
  NetworkAttachmentSpec?: { ContainerID: string };
  Resources?: {
    Limits?: ResourceObject & { Pids?: number };
    Reservations?: ResourceObject;
  };
  RestartPolicy?: RestartPolicy;
  Placement?: Placement;
  ForceUpdate?: number;
  Runtime?: string;
  Networks?: NetworkAttachmentConfig[];
  LogDriver?: Driver;
}

export type FailureAction = 'continue' | 'pause' | 'rollback';
export type UpdateOrder = 'stop-first' | 'start-first';

export interface UpdateConfig {
  Parallelism?: number;
  Delay?: number;
  FailureAction?: FailureAction;
  Monitor?: number;
  MaxFailureRatio?: number;
  Order?: UpdateOrder;
}

export interface ServiceMode {
  Replicated?: { Replicas?: number };
  Global?: Record<string, never>;
  ReplicatedJob?: { MaxConcurrent?: number; TotalCompletions?: number };
  GlobalJob?: Record<string, never>;
}

export interface EndpointPortConfig {
  Name?: string;
  Protocol?: 'tcp' | 'udp' | 'sctp';
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: 'ingress' | 'host';
}

export interface EndpointSpec {
  Mode?: 'vip' | 'dnsrr';
  Ports?: EndpointPortConfig[];
}

export interface ServiceSpec {
  Name?: string;
  Labels?: Labels;
  TaskTemplate?: TaskSpec;
  Mode?: ServiceMode;
  UpdateConfig?: UpdateConfig;
  RollbackConfig?: UpdateConfig;
  Networks?: NetworkAttachmentConfig[];
  EndpointSpec?: EndpointSpec;
}

export type UpdateState =
  'updating' | 'paused' | 'completed' | 'rollback_started' | 'rollback_paused' | 'rollback_completed';

export interface UpdateStatus {
  State?: UpdateState;
  StartedAt?: string;
  CompletedAt?: string;
  Message?: string;
}

export interface Endpoint {
  Spec?: EndpointSpec;
  Ports?: EndpointPortConfig[];
  VirtualIPs?: { NetworkID: string; Addr: string }[];
}

export interface Service extends Meta {
  Spec: ServiceSpec;
  PreviousSpec?: ServiceSpec;
  Endpoint?: Endpoint;
  UpdateStatus?: UpdateStatus;
  ServiceStatus?: { RunningTasks: number; DesiredTasks: number; CompletedTasks: number };
  JobStatus?: { JobIteration: ObjectVersion; LastExecution?: string };
  /** Fast path of the "is this task outdated" check; copied into tasks. Not in the API. */
  SpecVersion?: ObjectVersion;
  PreviousSpecVersion?: ObjectVersion;
}

// ---------------------------------------------------------------- tasks

/** Task states, in the order the state machine moves through them (see taskstate.ts for their ranks). */
export type TaskState =
  | 'new'
  | 'allocated'
  | 'pending'
  | 'assigned'
  | 'accepted'
  | 'preparing'
  | 'ready'
  | 'starting'
  | 'running'
  | 'complete'
  | 'shutdown'
  | 'failed'
  | 'rejected'
  | 'remove'
  | 'orphaned';

export interface ContainerStatus {
  ContainerID?: string;
  PID?: number;
  ExitCode?: number;
}

export interface TaskStatus {
  Timestamp: string;
  State: TaskState;
  Message: string;
  Err?: string;
  ContainerStatus?: ContainerStatus;
  PortStatus?: { Ports?: EndpointPortConfig[] };
}

export interface HealthState {
  Status: 'starting' | 'healthy' | 'unhealthy' | 'none';
  FailingStreak: number;
  Log: { Start: string; End: string; ExitCode: number; Output: string }[];
}

export interface Task extends Meta {
  Name?: string;
  Labels?: Labels;
  Spec: TaskSpec;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  AssignedGenericResources?: GenericResource[];
  Status: TaskStatus;
  DesiredState: TaskState;
  /** The task's address on each of its networks, with a copy of the network (written by the allocator). */
  NetworksAttachments?: NetworkAttachment[];
  JobIteration?: ObjectVersion;
  // Not in the API's Task, kept for the orchestrators and `service ps`:
  ServiceAnnotations?: { Name: string; Labels?: Labels };
  SpecVersion?: ObjectVersion;
  Endpoint?: Endpoint;
  /** Manager clock when the last status was written (swarmkit's AppliedAt). */
  AppliedAt?: string;
  /** The log driver the task uses: the service's, else the cluster default (swarmkit's resolution). */
  LogDriver?: Driver;
  /** Health of the task's process, reported by the agent when a healthcheck exists. */
  Health?: HealthState;
}

// ---------------------------------------------------------------- networks, secrets, configs

/** The Engine's network.IPAMConfig: one subnet of `POST /networks/create` and of `GET /networks`. */
export interface IPAMConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** A driver as swarm networks name it: both fields may be absent (the ingress network's `{}`). */
export interface NetworkDriver {
  Name?: string;
  Options?: Record<string, string>;
}

/** swarm.IPAMConfig: one subnet of a swarm network (the Engine's network.IPAMConfig says `IPRange`). */
export interface SwarmIPAMConfig {
  Subnet?: string;
  Range?: string;
  Gateway?: string;
}

export interface IPAMOptions {
  Driver?: NetworkDriver;
  Configs?: SwarmIPAMConfig[];
}

export interface NetworkSpec {
  Name: string;
  Labels?: Labels;
  DriverConfiguration?: NetworkDriver;
  IPv6Enabled?: boolean;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  IPAMOptions?: IPAMOptions;
}

/**
 * A swarm network (swarm.Network). `IPAMOptions` (the subnets with their gateways) and `DriverState` (the
 * overlay's options, with `com.docker.network.driver.overlay.vxlanid_list`) are the allocation, written with
 * the network; a network without them is not allocated yet.
 */
export interface Network extends Meta {
  Spec: NetworkSpec;
  DriverState?: NetworkDriver;
  IPAMOptions?: IPAMOptions;
}

/**
 * A task's (or a node's) place on a network (swarm.NetworkAttachment): a copy of the network as allocated
 * when the attachment was made, and the addresses (`10.0.1.3/24`). `Aliases` and `DriverAttachmentOpts`
 * come from the service's `--network` options; swarmkit keeps them here, Docker's API does not show them.
 */
export interface NetworkAttachment {
  Network: Network;
  Addresses?: string[];
  Aliases?: string[];
  DriverAttachmentOpts?: Record<string, string>;
}

export interface SecretSpec {
  Name?: string;
  Labels?: Labels;
  /** base64 */
  Data?: string;
  Driver?: Driver;
  Templating?: Driver;
}

export interface Secret extends Meta {
  Spec: SecretSpec;
}

export interface ConfigSpec {
  Name?: string;
  Labels?: Labels;
  /** base64 */
  Data?: string;
  Templating?: Driver;
}

export interface Config extends Meta {
  Spec: ConfigSpec;
}

// ---------------------------------------------------------------- the store's view of them

/** Every kind of object the cluster store holds, and its shape. */
export interface ObjectKinds {
  cluster: Cluster;
  node: Node;
  service: Service;
  task: Task;
  network: Network;
  secret: Secret;
  config: Config;
}

export type ObjectKind = keyof ObjectKinds;
export type AnyObject = ObjectKinds[ObjectKind];

export const OBJECT_KINDS: readonly ObjectKind[] = [
  'cluster',
  'node',
  'service',
  'task',
  'network',
  'secret',
  'config',
];
