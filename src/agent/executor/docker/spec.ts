// A task as a container: the Engine API bodies Docker's swarm executor would hand its engine for the task
// (moby daemon/cluster/executor/container/container.go, reached through the Engine API here). Pure
// functions of the task and the node, so that the mapping is tested field by field without an engine.
//
//   POST /volumes/create      volumeCreateRequests(): named volumes with a driver config, created first
//   POST /containers/create?name=<containerName()>   containerCreateBody()
//
// A task on overlay networks gets a sandbox container first (sandboxCreateBody(), named
// sandboxName()), whose network namespace the node's networking attaches; the task's container then joins
// it (joinSandbox()).

import { posix } from 'node:path';
import { ownString, setOwn } from '../../../api/own.js';
import type { ContainerSpec, GenericResource, Labels, Mount, Task } from '../../../api/types.js';
import type { TaskFile } from '../task-files.js';
import { expandContainerSpec, type TemplateNode } from '../templates.js';
import { containerImage } from './image.js';

/** Docker's reserved label namespace for swarm containers. */
export const SYSTEM_LABEL_PREFIX = 'com.docker.swarm';
/** The label every task container carries: how the executor finds its containers (and only those). */
export const TASK_ID_LABEL = `${SYSTEM_LABEL_PREFIX}.task.id`;
export const NODE_ID_LABEL = `${SYSTEM_LABEL_PREFIX}.node.id`;
/**
 * The labels of a task's sandbox container (architecture §6): not the task labels, so that nothing that
 * looks for a task's container (its events, recovery, purge of tasks) ever takes the sandbox for it.
 */
export const SANDBOX_TASK_LABEL = 'shoal.sandbox.task.id';
export const SANDBOX_NODE_LABEL = 'shoal.sandbox.node.id';
/** The image of sandbox containers: busybox's `sleep` holds the namespace. */
export const SANDBOX_IMAGE = 'busybox:latest';

/** moby's ErrImageRequired. */
export const IMAGE_REQUIRED = 'dockerexec: image required';

/** The `Mount` of the Engine API's HostConfig. */
export interface EngineMount {
  Type: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Labels;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HostConfigBody {
  Memory?: number;
  NanoCpus?: number;
  PidsLimit?: number;
  Ulimits: { Name: string; Soft: number; Hard: number }[];
  GroupAdd?: string[];
  PortBindings: Record<string, unknown>;
  Mounts?: EngineMount[];
  ReadonlyRootfs?: boolean;
  Isolation: string;
  Init?: boolean;
  Sysctls?: Record<string, string>;
  CapAdd?: string[];
  CapDrop?: string[];
  OomScoreAdj?: number;
  Dns?: string[];
  DnsSearch?: string[];
  DnsOptions?: string[];
  SecurityOpt?: string[];
  ExtraHosts?: string[];
  LogConfig?: { Type: string; Config?: Record<string, string> };
  /** `none` for a sandbox; `container:<sandbox ID>` for a task on networks (else the engine's default). */
  NetworkMode?: string;
  AutoRemove?: boolean;
  RestartPolicy?: { Name: string };
}

/** The body of `POST /containers/create`: the container's Config with its HostConfig and NetworkingConfig. */
export interface ContainerCreateBody {
  Hostname?: string;
  User?: string;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  Image: string;
  WorkingDir?: string;
  Labels: Labels;
  StopSignal?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  ExposedPorts: Record<string, unknown>;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
    StartInterval?: number;
  };
  HostConfig: HostConfigBody;
  NetworkingConfig: { EndpointsConfig: Record<string, unknown> };
}

/** The body of `POST /volumes/create`. */
export interface VolumeCreateBody {
  Name: string;
  Driver: string;
  DriverOpts?: Record<string, string>;
  Labels?: Labels;
}

type TaskWithLogDriver = Task & { LogDriver?: { Name: string; Options?: Record<string, string> } };

/**
 * The container's name: `<service>.<slot>.<task id>`, the node ID in place of the slot for a global
 * service's task (moby's containerConfig.name()).
 */
export function containerName(task: Task): string {
  if (task.Name) return task.Name;
  const slot = task.Slot ? String(task.Slot) : (task.NodeID ?? '');
  return `${task.ServiceAnnotations?.Name ?? ''}.${slot}.${task.ID}`;
}

/** The container's labels: the spec's, then the task's, then Docker's swarm labels over both. */
export function containerLabels(task: Task, spec: ContainerSpec): Labels {
  const labels: Labels = {};
  for (const source of [spec.Labels, task.Labels]) {
    for (const [key, value] of Object.entries(source ?? {})) setOwn(labels, key, value);
  }
  const system: [string, string][] = [
    ['task', ''],
    ['task.id', task.ID],
    ['task.name', containerName(task)],
    ['node.id', task.NodeID ?? ''],
    ['service.id', task.ServiceID],
    ['service.name', task.ServiceAnnotations?.Name ?? ''],
  ];
  for (const [key, value] of system) setOwn(labels, `${SYSTEM_LABEL_PREFIX}.${key}`, value);
  return labels;
}

/**
 * What moby checks of a task before it makes a controller for it (newContainerConfig): an image, and
 * mounts whose targets and sources are of the right form. Throws with moby's texts.
 */
export function validateTask(task: Task): void {
  const spec = task.Spec.ContainerSpec;
  if (!spec?.Image) throw new Error(IMAGE_REQUIRED);
  validateMounts(spec.Mounts ?? []);
}

/** moby's validateMounts (daemon/cluster/executor/container/validate.go), on Linux. */
export function validateMounts(mounts: readonly Mount[]): void {
  for (const mount of mounts) {
    const type = mountType(mount);
    const target = mount.Target ?? '';
    const source = mount.Source ?? '';
    if (!target.startsWith('/') && type !== 'npipe') {
      throw new Error(`invalid mount target, must be an absolute path: ${target}`);
    }
    switch (type) {
      // The container API takes an absolute source for a bind mount and a name for a volume: a
      // source of the other form would silently become the other kind (moby #25253).
      case 'bind':
        if (!source.startsWith('/'))
          throw new Error(`invalid bind mount source, must be an absolute path: ${source}`);
        break;
      case 'volume':
        if (source.startsWith('/'))
          throw new Error(`invalid volume mount source, must not be an absolute path: ${source}`);
        break;
      case 'tmpfs':
        if (source !== '') throw new Error('invalid tmpfs source, source must be empty');
        break;
      case 'npipe':
        if (source === '') throw new Error('invalid npipe source, source must not be empty');
        break;
      default:
        throw new Error(`invalid mount type: ${type}`);
    }
  }
}

/** A mount's type; shoal reads a mount without one as a volume, as the docker CLI's `--mount` does. */
function mountType(mount: Mount): string {
  return mount.Type ?? 'volume';
}

const PROPAGATIONS = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);

/** A service mount as a container mount (moby's convertMount). */
export function engineMount(mount: Mount): EngineMount {
  const converted: EngineMount = { Type: mountType(mount) };
  if (mount.Source !== undefined) converted.Source = mount.Source;
  if (mount.Target !== undefined) converted.Target = mount.Target;
  if (mount.ReadOnly) converted.ReadOnly = true;
  const bind = objectOf(mount.BindOptions);
  if (bind) {
    // swarmkit stores the propagation as an enum whose zero is rprivate: given options, always one.
    const wanted = typeof bind.Propagation === 'string' ? bind.Propagation.toLowerCase() : '';
    converted.BindOptions = { Propagation: PROPAGATIONS.has(wanted) ? wanted : 'rprivate' };
    if (bind.NonRecursive === true) converted.BindOptions.NonRecursive = true;
  }
  const volume = objectOf(mount.VolumeOptions);
  if (volume) {
    converted.VolumeOptions = {};
    if (volume.NoCopy === true) converted.VolumeOptions.NoCopy = true;
    const labels = stringMap(volume.Labels);
    if (labels) converted.VolumeOptions.Labels = labels;
    const driver = objectOf(volume.DriverConfig);
    if (driver) {
      converted.VolumeOptions.DriverConfig = { Name: typeof driver.Name === 'string' ? driver.Name : '' };
      const options = stringMap(driver.Options);
      if (options) converted.VolumeOptions.DriverConfig.Options = options;
    }
  }
  const tmpfs = objectOf(mount.TmpfsOptions);
  if (tmpfs) {
    converted.TmpfsOptions = {};
    if (typeof tmpfs.SizeBytes === 'number' && tmpfs.SizeBytes !== 0)
      converted.TmpfsOptions.SizeBytes = tmpfs.SizeBytes;
    if (typeof tmpfs.Mode === 'number' && tmpfs.Mode !== 0) converted.TmpfsOptions.Mode = tmpfs.Mode;
  }
  return converted;
}

/**
 * The volumes to create before the container (moby's createVolumes): a volume mount with a driver
 * config is created with that driver, its options and labels — an existing volume of that name is kept.
 * A mount without a source would make an anonymous volume, which the container makes itself.
 */
export function volumeCreateRequests(spec: ContainerSpec): VolumeCreateBody[] {
  const requests: VolumeCreateBody[] = [];
  for (const mount of spec.Mounts ?? []) {
    if (mountType(mount) !== 'volume' || !mount.Source) continue;
    const converted = engineMount(mount);
    const driver = converted.VolumeOptions?.DriverConfig;
    if (!driver) continue;
    requests.push({
      Name: mount.Source,
      Driver: driver.Name ?? '',
      ...(driver.Options ? { DriverOpts: driver.Options } : {}),
      ...(converted.VolumeOptions?.Labels ? { Labels: converted.VolumeOptions.Labels } : {}),
    });
  }
  return requests;
}

/** swarmkit's genericresource.EnvFormat: `DOCKER_RESOURCE_<KIND>=v1,v2` for the resources assigned. */
export function genericResourceEnv(resources: readonly GenericResource[] | undefined): string[] {
  const byKind = new Map<string, string[]>();
  for (const resource of resources ?? []) {
    const named = resource.NamedResourceSpec;
    const discrete = resource.DiscreteResourceSpec;
    const kind = named?.Kind ?? discrete?.Kind ?? '';
    const value = named ? named.Value : discrete ? String(discrete.Value) : '';
    byKind.set(kind, [...(byKind.get(kind) ?? []), value]);
  }
  return [...byKind].map(
    ([kind, values]) => `DOCKER_RESOURCE_${kind}`.toUpperCase() + `=${values.join(',')}`,
  );
}

/**
 * The security options of the spec's privileges (moby's applyPrivileges): credential spec, SELinux
 * labels, seccomp (a custom profile is the JSON itself), AppArmor and no-new-privileges.
 */
export function securityOptions(privileges: ContainerSpec['Privileges']): string[] {
  const options: string[] = [];
  const p = objectOf(privileges);
  if (!p) return options;
  const credential = objectOf(p.CredentialSpec);
  if (credential) {
    if (typeof credential.File === 'string' && credential.File)
      options.push(`credentialspec=file://${credential.File}`);
    else if (typeof credential.Registry === 'string' && credential.Registry)
      options.push(`credentialspec=registry://${credential.Registry}`);
    else if (typeof credential.Config === 'string' && credential.Config)
      options.push(`credentialspec=config://${credential.Config}`);
  }
  const selinux = objectOf(p.SELinuxContext);
  if (selinux) {
    if (selinux.Disable === true) options.push('label=disable');
    for (const [field, name] of [
      ['User', 'user'],
      ['Role', 'role'],
      ['Level', 'level'],
      ['Type', 'type'],
    ] as const) {
      const value = selinux[field];
      if (typeof value === 'string' && value) options.push(`label=${name}:${value}`);
    }
  }
  const seccomp = objectOf(p.Seccomp);
  if (seccomp) {
    if (seccomp.Mode === 'unconfined') options.push('seccomp=unconfined');
    else if (seccomp.Mode === 'custom') {
      // The Engine API carries the profile as bytes (base64 in JSON); the option takes the JSON itself.
      const profile =
        typeof seccomp.Profile === 'string' ? Buffer.from(seccomp.Profile, 'base64').toString('utf8') : '';
      options.push(`seccomp=${profile}`);
    }
  }
  const apparmor = objectOf(p.AppArmor);
  if (apparmor?.Mode === 'disabled') options.push('apparmor=unconfined');
  if (p.NoNewPrivileges === true) options.push('no-new-privileges=true');
  return options;
}

/** swarmkit's hosts entries (`IP name [aliases…]`) as the engine's ExtraHosts (`name:IP`); aliases are dropped. */
export function extraHosts(hosts: readonly string[] | undefined): string[] {
  const result: string[] = [];
  for (const entry of hosts ?? []) {
    const parts = entry.split(/\s+/).filter(Boolean);
    if (parts.length > 1) result.push(`${parts[1]}:${parts[0]}`);
  }
  return result;
}

/**
 * The mounts of a task's secret and config files (task-files.ts), kept in the task's tmpfs `dir` on the
 * host (host-files.ts) as `<kind>.<n>` in the order of the files: each bound read-only at its target, as
 * moby's container.SecretMounts binds them from its secrets directory.
 */
export function taskFileMounts(
  files: readonly Pick<TaskFile, 'kind' | 'target'>[],
  dir: string,
): EngineMount[] {
  return files.map((file, i) => ({
    Type: 'bind',
    Source: posix.join(dir, `${file.kind}.${i}`),
    Target: file.target,
    ReadOnly: true,
  }));
}

/**
 * The container for the task on this node: the spec with its templates expanded, mapped field by field as
 * moby's containerConfig.config() and hostConfig() do, plus the mounts of its secret and config files
 * (`fileMounts`, after the spec's mounts). The engine's default network is used (shoal has no overlay
 * networks yet) and no port is published (the control API refuses published ports).
 */
export function containerCreateBody(
  task: Task,
  node: TemplateNode,
  fileMounts: readonly EngineMount[] = [],
): ContainerCreateBody {
  const spec = expandContainerSpec(task.Spec.ContainerSpec ?? {}, task, node);
  const env = [...(spec.Env ?? []), ...genericResourceEnv(task.AssignedGenericResources)];
  const host = hostConfig(task, spec);
  if (fileMounts.length > 0) host.Mounts = [...(host.Mounts ?? []), ...fileMounts];
  const body: ContainerCreateBody = {
    Image: containerImage(spec.Image ?? ''),
    Labels: containerLabels(task, spec),
    ExposedPorts: {},
    HostConfig: host,
    NetworkingConfig: { EndpointsConfig: {} },
  };
  if (spec.Hostname) body.Hostname = spec.Hostname;
  if (spec.User) body.User = spec.User;
  if (env.length > 0) body.Env = env;
  if (spec.Dir) body.WorkingDir = spec.Dir;
  if (spec.StopSignal) body.StopSignal = spec.StopSignal;
  if (spec.TTY) body.Tty = true;
  if (spec.OpenStdin) body.OpenStdin = true;
  if (spec.Command?.length) {
    // Command replaces the image's whole invocation: it is the entrypoint, Args its arguments.
    body.Entrypoint = [...spec.Command];
    if (spec.Args?.length) body.Cmd = [...spec.Args];
  } else if (spec.Args?.length) {
    // Arguments to the image's entrypoint.
    body.Cmd = [...spec.Args];
  }
  const health = spec.Healthcheck;
  if (health) {
    body.Healthcheck = {
      ...(health.Test !== undefined ? { Test: [...health.Test] } : {}),
      Interval: health.Interval ?? 0,
      Timeout: health.Timeout ?? 0,
      Retries: health.Retries ?? 0,
      StartPeriod: health.StartPeriod ?? 0,
      StartInterval: health.StartInterval ?? 0,
    };
  }
  return body;
}

/** The task's sandbox container's name: its container's, with `.sandbox`. */
export function sandboxName(task: Task): string {
  return `${containerName(task)}.sandbox`;
}

/**
 * The sandbox of a task on overlay networks: a container that only holds a network namespace (no network
 * of the engine's, `NetworkMode: none`) with the task's hostname — the task's container shares both.
 */
export function sandboxCreateBody(task: Task, nodeId: string, hostname: string): ContainerCreateBody {
  return {
    Hostname: hostname,
    Image: SANDBOX_IMAGE,
    Entrypoint: ['sleep'],
    Cmd: ['2147483647'],
    Labels: { [SANDBOX_TASK_LABEL]: task.ID, [SANDBOX_NODE_LABEL]: nodeId },
    ExposedPorts: {},
    HostConfig: {
      Ulimits: [],
      PortBindings: {},
      Isolation: 'default',
      NetworkMode: 'none',
      RestartPolicy: { Name: 'no' },
    },
    NetworkingConfig: { EndpointsConfig: {} },
  };
}

/** Where the node's networking wrote a task's files, to be bound over the container's. */
export interface SandboxFiles {
  hostsFile: string;
  resolvConf: string;
  hostnameFile: string;
}

/**
 * The task's container in its sandbox's network namespace (`NetworkMode: container:<sandbox>`): the engine
 * then takes the hostname from the sandbox and refuses one of the container's own, and DNS options and extra
 * hosts with it ("conflicting options") — they are in the node's files, bound over /etc's instead.
 */
export function joinSandbox(
  body: ContainerCreateBody,
  sandboxId: string,
  files: SandboxFiles,
): ContainerCreateBody {
  const {
    Dns: _dns,
    DnsSearch: _search,
    DnsOptions: _options,
    ExtraHosts: _hosts,
    ...host
  } = body.HostConfig;
  const { Hostname: _hostname, ...rest } = body;
  const bind = (Source: string, Target: string): EngineMount => ({ Type: 'bind', Source, Target });
  return {
    ...rest,
    HostConfig: {
      ...host,
      NetworkMode: `container:${sandboxId}`,
      Mounts: [
        ...(host.Mounts ?? []),
        bind(files.hostsFile, '/etc/hosts'),
        bind(files.resolvConf, '/etc/resolv.conf'),
        bind(files.hostnameFile, '/etc/hostname'),
      ],
    },
  };
}

function hostConfig(task: TaskWithLogDriver, spec: ContainerSpec): HostConfigBody {
  const limits = task.Spec.Resources?.Limits;
  const host: HostConfigBody = {
    Ulimits: (spec.Ulimits ?? []).map(({ Name, Soft, Hard }) => ({ Name, Soft, Hard })),
    PortBindings: {},
    Isolation: spec.Isolation || 'default',
  };
  // Limits only: reservations are the scheduler's business, as in Docker.
  if (limits?.MemoryBytes && limits.MemoryBytes > 0) host.Memory = limits.MemoryBytes;
  if (limits?.NanoCPUs && limits.NanoCPUs > 0) host.NanoCpus = limits.NanoCPUs;
  if (limits?.Pids && limits.Pids > 0) host.PidsLimit = limits.Pids;
  if (spec.Groups?.length) host.GroupAdd = [...spec.Groups];
  if (spec.Mounts?.length) host.Mounts = spec.Mounts.map(engineMount);
  if (spec.ReadOnly) host.ReadonlyRootfs = true;
  if (typeof spec.Init === 'boolean') host.Init = spec.Init;
  if (spec.Sysctls && Object.keys(spec.Sysctls).length > 0) host.Sysctls = { ...spec.Sysctls };
  if (spec.CapabilityAdd?.length) host.CapAdd = [...spec.CapabilityAdd];
  if (spec.CapabilityDrop?.length) host.CapDrop = [...spec.CapabilityDrop];
  if (spec.OomScoreAdj) host.OomScoreAdj = spec.OomScoreAdj;
  const dns = spec.DNSConfig;
  if (dns?.Nameservers?.length) host.Dns = [...dns.Nameservers];
  if (dns?.Search?.length) host.DnsSearch = [...dns.Search];
  if (dns?.Options?.length) host.DnsOptions = [...dns.Options];
  const security = securityOptions(spec.Privileges);
  if (security.length > 0) host.SecurityOpt = security;
  const hosts = extraHosts(spec.Hosts);
  if (hosts.length > 0) host.ExtraHosts = hosts;
  const driver = task.LogDriver;
  if (driver?.Name) {
    host.LogConfig = { Type: driver.Name, ...(driver.Options ? { Config: { ...driver.Options } } : {}) };
  }
  return host;
}

function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A copy of a map's string values (own entries only), or undefined when it is not a map. */
function stringMap(value: unknown): Record<string, string> | undefined {
  const map = objectOf(value);
  if (!map) return undefined;
  const result: Record<string, string> = {};
  for (const key of Object.keys(map)) {
    const item = ownString(map, key);
    if (item !== undefined) setOwn(result, key, item);
  }
  return result;
}
