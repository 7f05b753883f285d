// The Go types dockerd decodes request bodies into, as schemas for decode.ts. Field names are the JSON
// names Go uses (the struct field name or its json tag), which are also the keys of src/api/types.ts.
// Go type names are those of Docker 20.10 (moby api/types/swarm, mount, container, network; API 1.41),
// whose messages we copy; fields added by later API versions (up to the latest swagger) are included
// with their newer types so that they survive a round trip.
//
// Error paths follow Go 1.19: fields promoted from an embedded struct (`Annotations` in every spec,
// `NetworkCreate` in the network create request) are reported under the outer struct, e.g.
// `json: cannot unmarshal number into Go struct field ServiceSpec.Labels of type string`.

import type {
  ConfigReference,
  ConfigSpec,
  ContainerSpec,
  Driver,
  EndpointPortConfig,
  EndpointSpec,
  GenericResource,
  HealthConfig,
  IPAMConfig,
  Labels,
  Mount,
  NetworkAttachmentConfig,
  NodeSpec,
  Placement,
  ResourceObject,
  RestartPolicy,
  SecretReference,
  SecretSpec,
  ServiceMode,
  ServiceSpec,
  SwarmSpec,
  TaskSpec,
  UpdateConfig,
} from '../api/types.js';
import type { InitRequest, JoinRequest } from './backend.js';
import {
  bool,
  bytes,
  duration,
  float32,
  int,
  int64,
  labels,
  ptr,
  slice,
  str,
  struct,
  uint32,
  uint64,
  type Schema,
} from './decode.js';

type Part<T> = NonNullable<T>;

// ---------------------------------------------------------------- shared

/** swarm.Annotations, embedded in every spec. */
const annotations = struct<{ Name?: string; Labels?: Labels }>('swarm.Annotations', {
  Name: str(),
  Labels: labels(),
});

/** swarm.Driver (log drivers, secret drivers, templating). */
const driver = struct<Driver>('swarm.Driver', { Name: str(), Options: labels() });

const stringList = (): Schema<string[]> => slice(str());

// ---------------------------------------------------------------- swarm

/** swarm.Spec: the body of `POST /swarm/update`, and `Spec` of the init request. */
export const SwarmSpecSchema = struct<SwarmSpec>(
  'swarm.Spec',
  {
    Orchestration: struct<Part<SwarmSpec['Orchestration']>>('swarm.OrchestrationConfig', {
      TaskHistoryRetentionLimit: ptr(int64()),
    }),
    Raft: struct<Part<SwarmSpec['Raft']>>('swarm.RaftConfig', {
      SnapshotInterval: uint64(),
      KeepOldSnapshots: ptr(uint64()),
      LogEntriesForSlowFollowers: uint64(),
      ElectionTick: int(),
      HeartbeatTick: int(),
    }),
    Dispatcher: struct<Part<SwarmSpec['Dispatcher']>>('swarm.DispatcherConfig', {
      HeartbeatPeriod: duration(),
    }),
    CAConfig: struct<Part<SwarmSpec['CAConfig']>>('swarm.CAConfig', {
      NodeCertExpiry: duration(),
      ExternalCAs: slice(
        ptr(
          struct<{ Protocol?: string; URL?: string; Options?: Labels; CACert?: string }>('swarm.ExternalCA', {
            Protocol: str('swarm.ExternalCAProtocol'),
            URL: str(),
            Options: labels(),
            CACert: str(),
          }),
        ),
      ),
      SigningCACert: str(),
      SigningCAKey: str(),
      ForceRotate: uint64(),
    }),
    TaskDefaults: struct<Part<SwarmSpec['TaskDefaults']>>('swarm.TaskDefaults', { LogDriver: ptr(driver) }),
    EncryptionConfig: struct<Part<SwarmSpec['EncryptionConfig']>>('swarm.EncryptionConfig', {
      AutoLockManagers: bool(),
    }),
  },
  { embed: [annotations] },
);

/** swarm.InitRequest, plus shoal's `Datastore`. `DefaultAddrPool` is []string as in 20.10. */
export const InitRequestSchema = struct<InitRequest>('swarm.InitRequest', {
  ListenAddr: str(),
  AdvertiseAddr: str(),
  DataPathAddr: str(),
  DataPathPort: uint32(),
  ForceNewCluster: bool(),
  Spec: SwarmSpecSchema,
  AutoLockManagers: bool(),
  Availability: str('swarm.NodeAvailability'),
  DefaultAddrPool: stringList(),
  SubnetSize: uint32(),
  Datastore: str(),
});

export const JoinRequestSchema = struct<JoinRequest>('swarm.JoinRequest', {
  ListenAddr: str(),
  AdvertiseAddr: str(),
  DataPathAddr: str(),
  RemoteAddrs: stringList(),
  JoinToken: str(),
  Availability: str('swarm.NodeAvailability'),
});

/** The body of `POST /swarm/unlock`. */
export interface UnlockRequest {
  UnlockKey?: string;
}

export const UnlockRequestSchema = struct<UnlockRequest>('swarm.UnlockRequest', { UnlockKey: str() });

// ---------------------------------------------------------------- nodes

export const NodeSpecSchema = struct<NodeSpec>(
  'swarm.NodeSpec',
  { Role: str('swarm.NodeRole'), Availability: str('swarm.NodeAvailability') },
  { embed: [annotations] },
);

// ---------------------------------------------------------------- services

const mount = struct<Mount>(
  'mount.Mount',
  {
    Type: str('mount.Type'),
    Source: str(),
    Target: str(),
    ReadOnly: bool(),
    Consistency: str('mount.Consistency'),
    BindOptions: ptr(
      struct<Record<string, unknown>>('mount.BindOptions', {
        Propagation: str('mount.Propagation'),
        NonRecursive: bool(),
        CreateMountpoint: bool(),
        ReadOnlyNonRecursive: bool(),
        ReadOnlyForceRecursive: bool(),
      }),
    ),
    VolumeOptions: ptr(
      struct<Record<string, unknown>>('mount.VolumeOptions', {
        NoCopy: bool(),
        Labels: labels(),
        Subpath: str(),
        DriverConfig: ptr(struct<Driver>('mount.Driver', { Name: str(), Options: labels() })),
      }),
    ),
    TmpfsOptions: ptr(
      struct<Record<string, unknown>>('mount.TmpfsOptions', {
        SizeBytes: int64(),
        Mode: uint32('fs.FileMode'),
        Options: slice(stringList()),
      }),
    ),
  },
  {
    extra: {
      ImageOptions: ptr(struct<{ Subpath?: string }>('mount.ImageOptions', { Subpath: str() })),
      ClusterOptions: ptr(struct<Record<string, never>>('mount.ClusterOptions', {})),
    },
  },
);

const healthConfig = struct<HealthConfig>('container.HealthConfig', {
  Test: stringList(),
  Interval: duration(),
  Timeout: duration(),
  StartPeriod: duration(),
  StartInterval: duration(),
  Retries: int(),
});

const fileTarget = (goType: string): Schema<Part<SecretReference['File']>> =>
  struct<Part<SecretReference['File']>>(goType, {
    Name: str(),
    UID: str(),
    GID: str(),
    Mode: uint32('fs.FileMode'),
  });

const privileges = struct<Record<string, unknown>>('swarm.Privileges', {
  CredentialSpec: ptr(
    struct<Record<string, unknown>>('swarm.CredentialSpec', { Config: str(), File: str(), Registry: str() }),
  ),
  SELinuxContext: ptr(
    struct<Record<string, unknown>>('swarm.SELinuxContext', {
      Disable: bool(),
      User: str(),
      Role: str(),
      Type: str(),
      Level: str(),
    }),
  ),
  Seccomp: ptr(
    struct<Record<string, unknown>>('swarm.SeccompOpts', {
      Mode: str('swarm.SeccompMode'),
      Profile: bytes(),
    }),
  ),
  AppArmor: ptr(struct<Record<string, unknown>>('swarm.AppArmorOpts', { Mode: str('swarm.AppArmorMode') })),
  NoNewPrivileges: bool(),
});

const containerSpec = struct<ContainerSpec>('swarm.ContainerSpec', {
  Image: str(),
  Labels: labels(),
  Command: stringList(),
  Args: stringList(),
  Hostname: str(),
  Env: stringList(),
  Dir: str(),
  User: str(),
  Groups: stringList(),
  Privileges: ptr(privileges),
  Init: ptr(bool()),
  StopSignal: str(),
  TTY: bool(),
  OpenStdin: bool(),
  ReadOnly: bool(),
  Mounts: slice(mount),
  StopGracePeriod: ptr(duration()),
  // Go's field is `Healthcheck` (the swagger says `HealthCheck`; keys match case-insensitively).
  Healthcheck: ptr(healthConfig),
  Hosts: stringList(),
  DNSConfig: ptr(
    struct<Part<ContainerSpec['DNSConfig']>>('swarm.DNSConfig', {
      Nameservers: stringList(),
      Search: stringList(),
      Options: stringList(),
    }),
  ),
  Secrets: slice(
    ptr(
      struct<SecretReference>('swarm.SecretReference', {
        File: ptr(fileTarget('swarm.SecretReferenceFileTarget')),
        SecretID: str(),
        SecretName: str(),
      }),
    ),
  ),
  Configs: slice(
    ptr(
      struct<ConfigReference>('swarm.ConfigReference', {
        File: ptr(fileTarget('swarm.ConfigReferenceFileTarget')),
        Runtime: ptr(struct<Record<string, never>>('swarm.ConfigReferenceRuntimeTarget', {})),
        ConfigID: str(),
        ConfigName: str(),
      }),
    ),
  ),
  Isolation: str('container.Isolation'),
  Sysctls: labels(),
  CapabilityAdd: stringList(),
  CapabilityDrop: stringList(),
  Ulimits: slice(
    ptr(
      struct<Part<ContainerSpec['Ulimits']>[number]>('units.Ulimit', {
        Name: str(),
        Hard: int64(),
        Soft: int64(),
      }),
    ),
  ),
  OomScoreAdj: int64(),
});

/** runtime.PluginSpec: its JSON names are lower-case (json tags of the generated protobuf type). */
const pluginSpec = struct<Record<string, unknown>>('runtime.PluginSpec', {
  name: str(),
  remote: str(),
  privileges: slice(
    ptr(
      struct<Record<string, unknown>>('runtime.PluginPrivilege', {
        name: str(),
        description: str(),
        value: stringList(),
      }),
    ),
  ),
  disabled: bool(),
  env: stringList(),
});

const genericResources = slice(
  struct<GenericResource>('swarm.GenericResource', {
    NamedResourceSpec: ptr(
      struct<Part<GenericResource['NamedResourceSpec']>>('swarm.NamedGenericResource', {
        Kind: str(),
        Value: str(),
      }),
    ),
    DiscreteResourceSpec: ptr(
      struct<Part<GenericResource['DiscreteResourceSpec']>>('swarm.DiscreteGenericResource', {
        Kind: str(),
        Value: int64(),
      }),
    ),
  }),
);

type Resources = Part<TaskSpec['Resources']>;

const resourceRequirements = struct<Resources>(
  'swarm.ResourceRequirements',
  {
    Limits: ptr(
      struct<Part<Resources['Limits']>>('swarm.Limit', {
        NanoCPUs: int64(),
        MemoryBytes: int64(),
        Pids: int64(),
      }),
    ),
    Reservations: ptr(
      struct<ResourceObject>('swarm.Resources', {
        NanoCPUs: int64(),
        MemoryBytes: int64(),
        GenericResources: genericResources,
      }),
    ),
  },
  { extra: { SwapBytes: ptr(int64()), MemorySwappiness: ptr(int64()) } },
);

const restartPolicy = struct<RestartPolicy>('swarm.RestartPolicy', {
  Condition: str('swarm.RestartPolicyCondition'),
  Delay: ptr(duration()),
  MaxAttempts: ptr(uint64()),
  Window: ptr(duration()),
});

const placement = struct<Placement>('swarm.Placement', {
  Constraints: stringList(),
  Preferences: slice(
    struct<Part<Placement['Preferences']>[number]>('swarm.PlacementPreference', {
      Spread: ptr(struct<{ SpreadDescriptor: string }>('swarm.SpreadOver', { SpreadDescriptor: str() })),
    }),
  ),
  MaxReplicas: uint64(),
  Platforms: slice(
    struct<Part<Placement['Platforms']>[number]>('swarm.Platform', { Architecture: str(), OS: str() }),
  ),
});

const networkAttachments = slice(
  struct<NetworkAttachmentConfig>('swarm.NetworkAttachmentConfig', {
    Target: str(),
    Aliases: stringList(),
    DriverOpts: labels(),
  }),
);

const taskSpec = struct<TaskSpec>('swarm.TaskSpec', {
  ContainerSpec: ptr(containerSpec),
  PluginSpec: ptr(pluginSpec),
  NetworkAttachmentSpec: ptr(
    struct<Part<TaskSpec['NetworkAttachmentSpec']>>('swarm.NetworkAttachmentSpec', { ContainerID: str() }),
  ),
  Resources: ptr(resourceRequirements),
  RestartPolicy: ptr(restartPolicy),
  Placement: ptr(placement),
  Networks: networkAttachments,
  LogDriver: ptr(driver),
  ForceUpdate: uint64(),
  Runtime: str('swarm.RuntimeType'),
});

const serviceMode = struct<ServiceMode>('swarm.ServiceMode', {
  Replicated: ptr(
    struct<Part<ServiceMode['Replicated']>>('swarm.ReplicatedService', { Replicas: ptr(uint64()) }),
  ),
  Global: ptr(struct<Record<string, never>>('swarm.GlobalService', {})),
  ReplicatedJob: ptr(
    struct<Part<ServiceMode['ReplicatedJob']>>('swarm.ReplicatedJob', {
      MaxConcurrent: ptr(uint64()),
      TotalCompletions: ptr(uint64()),
    }),
  ),
  GlobalJob: ptr(struct<Record<string, never>>('swarm.GlobalJob', {})),
});

const updateConfig = struct<UpdateConfig>('swarm.UpdateConfig', {
  Parallelism: uint64(),
  Delay: duration(),
  FailureAction: str(),
  Monitor: duration(),
  MaxFailureRatio: float32(),
  Order: str(),
});

const endpointSpec = struct<EndpointSpec>('swarm.EndpointSpec', {
  Mode: str('swarm.ResolutionMode'),
  Ports: slice(
    struct<EndpointPortConfig>('swarm.PortConfig', {
      Name: str(),
      Protocol: str('swarm.PortConfigProtocol'),
      TargetPort: uint32(),
      PublishedPort: uint32(),
      PublishMode: str('swarm.PortConfigPublishMode'),
    }),
  ),
});

/** swarm.ServiceSpec: the body of `POST /services/create` and `POST /services/{id}/update`. */
export const ServiceSpecSchema = struct<ServiceSpec>(
  'swarm.ServiceSpec',
  {
    TaskTemplate: taskSpec,
    Mode: serviceMode,
    UpdateConfig: ptr(updateConfig),
    RollbackConfig: ptr(updateConfig),
    Networks: networkAttachments,
    EndpointSpec: ptr(endpointSpec),
  },
  { embed: [annotations] },
);

// ---------------------------------------------------------------- secrets and configs

export const SecretSpecSchema = struct<SecretSpec>(
  'swarm.SecretSpec',
  { Data: bytes(), Driver: ptr(driver), Templating: ptr(driver) },
  { embed: [annotations] },
);

export const ConfigSpecSchema = struct<ConfigSpec>(
  'swarm.ConfigSpec',
  { Data: bytes(), Templating: ptr(driver) },
  { embed: [annotations] },
);

// ---------------------------------------------------------------- networks

/** The body of `POST /networks/create` (types.NetworkCreateRequest, which embeds types.NetworkCreate). */
export interface NetworkCreateRequest {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Options?: Labels;
    Config?: IPAMConfig[];
  };
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string };
  Options?: Labels;
  Labels?: Labels;
}

const networkCreate = struct<NetworkCreateRequest>('types.NetworkCreate', {
  CheckDuplicate: bool(),
  Driver: str(),
  Scope: str(),
  EnableIPv6: bool(),
  IPAM: ptr(
    struct<Part<NetworkCreateRequest['IPAM']>>('network.IPAM', {
      Driver: str(),
      Options: labels(),
      Config: slice(
        struct<IPAMConfig>('network.IPAMConfig', {
          Subnet: str(),
          IPRange: str(),
          Gateway: str(),
          AuxiliaryAddresses: labels(),
        }),
      ),
    }),
  ),
  Internal: bool(),
  Attachable: bool(),
  Ingress: bool(),
  ConfigOnly: bool(),
  ConfigFrom: ptr(struct<{ Network?: string }>('network.ConfigReference', { Network: str() })),
  Options: labels(),
  Labels: labels(),
  // API 1.47+.
  EnableIPv4: ptr(bool()),
});

export const NetworkCreateRequestSchema = struct<NetworkCreateRequest>(
  'types.NetworkCreateRequest',
  { Name: str() },
  { embed: [networkCreate] },
);
