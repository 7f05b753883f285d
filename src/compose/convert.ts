// The loaded Compose configuration turned into swarm objects, as `docker stack deploy` converts it
// (docker/cli cli/compose/convert; stack-semantics.md §8–§10): networks to create (`<stack>_<key>` or their
// `name:`, driver overlay unless said, the stack label), secrets and configs (their files' bytes), and one
// ServiceSpec per service — `command` → Args and `entrypoint` → Command, the stack labels, environment
// sorted, ports, mounts, secrets and configs sorted so that reordering a file changes nothing, every
// `deploy:` key. Pure: files are read and secret/config IDs looked up through what the caller passes.

import type {
  ConfigReference,
  ConfigSpec,
  Mount,
  NetworkAttachmentConfig,
  SecretReference,
  SecretSpec,
  ServiceMode,
  ServiceSpec,
  TaskSpec,
  UpdateConfig as SwarmUpdateConfig,
} from '../api/types.js';
import { ownValue } from '../api/own.js';
import { parseCPUs } from '../api/units.js';
import type {
  Config,
  FileObjectConfig,
  FileReferenceConfig,
  NetworkConfig,
  ServiceConfig,
  ServiceVolumeConfig,
  UpdateConfig,
  VolumeConfig,
} from './types.js';

export const LABEL_NAMESPACE = 'com.docker.stack.namespace';
export const LABEL_IMAGE = 'com.docker.stack.image';
const DEFAULT_NETWORK = 'default';

/** convert.Namespace: `<stack>_<name>`. */
export class Namespace {
  constructor(readonly name: string) {}
  scope(name: string): string {
    return `${this.name}_${name}`;
  }
  descope(name: string): string {
    return name.startsWith(`${this.name}_`) ? name.slice(this.name.length + 1) : name;
  }
}

/** AddStackLabel: the labels given (a copy) with the namespace label. */
function withStackLabel(
  namespace: Namespace,
  labels: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels ?? {})) {
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  out[LABEL_NAMESPACE] = namespace.name;
  return out;
}

// ---------------------------------------------------------------- networks

/** A network to create: network.CreateOptions as the CLI fills it (the driver defaulted to overlay). */
export interface NetworkCreate {
  name: string;
  driver: string;
  options?: Record<string, string>;
  labels: Record<string, string>;
  internal: boolean;
  attachable: boolean;
  ipam?: { driver: string; config?: { subnet: string }[] };
}

export interface StackNetworks {
  /** Sorted by name (Docker iterates a map). */
  create: NetworkCreate[];
  /** External networks' names, to check before anything is created. */
  external: string[];
}

/** getServicesDeclaredNetworks: the networks services use (`default` for a service that lists none). */
export function servicesNetworks(config: Config): Set<string> {
  const used = new Set<string>();
  for (const service of config.services) {
    const names = Object.keys(service.networks ?? {});
    if (names.length === 0) used.add(DEFAULT_NETWORK);
    for (const name of names) used.add(name);
  }
  return used;
}

const zeroNetwork = (): NetworkConfig => ({
  name: '',
  driver: '',
  ipam: { driver: '' },
  external: { name: '', external: false },
  internal: false,
  attachable: false,
});

/** convert.Networks: only the networks services use; an undeclared one is created too (Docker's quirk). */
export function convertNetworks(namespace: Namespace, config: Config): StackNetworks {
  const create = new Map<string, NetworkCreate>();
  const external: string[] = [];
  for (const key of [...servicesNetworks(config)].sort()) {
    const nw = ownValue(config.networks ?? {}, key) ?? zeroNetwork();
    if (nw.external.external) {
      external.push(nw.name);
      continue;
    }
    const spec: NetworkCreate = {
      name: nw.name !== '' ? nw.name : namespace.scope(key),
      driver: nw.driver !== '' ? nw.driver : 'overlay',
      options: nw.driverOpts,
      labels: withStackLabel(namespace, nw.labels),
      internal: nw.internal,
      attachable: nw.attachable,
    };
    if (nw.ipam.driver !== '' || (nw.ipam.config ?? []).length > 0) {
      spec.ipam = { driver: nw.ipam.driver };
      if ((nw.ipam.config ?? []).length > 0)
        spec.ipam.config = nw.ipam.config!.map((c) => ({ subnet: c.subnet }));
    }
    create.set(spec.name, spec);
  }
  return { create: [...create.values()].sort((a, b) => compare(a.name, b.name)), external };
}

/** container.NetworkMode.IsUserDefined: not default, bridge, host, none or container:…. */
export function isUserDefinedNetwork(name: string): boolean {
  return !['default', 'bridge', 'host', 'none'].includes(name) && !name.startsWith('container:');
}

// ---------------------------------------------------------------- secrets and configs

function objectName(namespace: Namespace, key: string, obj: FileObjectConfig): string {
  return obj.name !== '' ? obj.name : namespace.scope(key);
}

/** convert.Secrets: every non-external secret, used or not, with its file's bytes (or its driver). */
export function convertSecrets(
  namespace: Namespace,
  config: Config,
  readFile: (path: string) => Uint8Array,
): SecretSpec[] {
  const out: SecretSpec[] = [];
  for (const [key, secret] of Object.entries(config.secrets ?? {}).sort(([a], [b]) => compare(a, b))) {
    if (secret.external.external) continue;
    const spec: SecretSpec = {
      Name: objectName(namespace, key, secret),
      Labels: withStackLabel(namespace, secret.labels),
    };
    if (secret.driver !== '') {
      spec.Data = '';
      spec.Driver = { Name: secret.driver, Options: secret.driverOpts };
    } else {
      spec.Data = Buffer.from(readFile(secret.file)).toString('base64');
    }
    if (secret.templateDriver !== '') spec.Templating = { Name: secret.templateDriver };
    out.push(spec);
  }
  return out.sort((a, b) => compare(a.Name ?? '', b.Name ?? ''));
}

/** convert.Configs. */
export function convertConfigs(
  namespace: Namespace,
  config: Config,
  readFile: (path: string) => Uint8Array,
): ConfigSpec[] {
  const out: ConfigSpec[] = [];
  for (const [key, obj] of Object.entries(config.configs ?? {}).sort(([a], [b]) => compare(a, b))) {
    if (obj.external.external) continue;
    const spec: ConfigSpec = {
      Name: objectName(namespace, key, obj),
      Labels: withStackLabel(namespace, obj.labels),
      Data: Buffer.from(readFile(obj.file)).toString('base64'),
    };
    if (obj.templateDriver !== '') spec.Templating = { Name: obj.templateDriver };
    out.push(spec);
  }
  return out.sort((a, b) => compare(a.Name ?? '', b.Name ?? ''));
}

/** A secret or config a service references, before its ID is known. */
export interface FileRef {
  name: string;
  file?: { Name: string; UID: string; GID: string; Mode: number };
  /** A config used as a credential spec (no file). */
  runtime?: boolean;
}

function fileRef(
  namespace: Namespace,
  ref: FileReferenceConfig,
  objects: Readonly<Record<string, FileObjectConfig>> | undefined,
  kind: 'secret' | 'config',
): FileRef {
  const obj = ownValue(objects ?? {}, ref.source);
  if (!obj) throw new Error(`undefined ${kind} "${ref.source}"`);
  return {
    name: objectName(namespace, ref.source, obj),
    file: {
      Name: ref.target !== '' ? ref.target : ref.source,
      UID: ref.uid !== '' ? ref.uid : '0',
      GID: ref.gid !== '' ? ref.gid : '0',
      Mode: ref.mode ?? 0o444,
    },
  };
}

/** What ParseSecrets checks before it looks names up: two references with one target. */
function checkTargets(refs: readonly FileRef[], kind: 'secret' | 'config'): void {
  const seen = new Set<string>();
  for (const ref of refs) {
    if (!ref.file) continue;
    if (seen.has(ref.file.Name)) throw new Error(`duplicate ${kind} target for ${ref.name} not allowed`);
    seen.add(ref.file.Name);
  }
}

/** The secrets a service references (names to look up), or Docker's error. */
export function serviceSecretRefs(namespace: Namespace, service: ServiceConfig, config: Config): FileRef[] {
  const refs = (service.secrets ?? []).map((s) => fileRef(namespace, s, config.secrets, 'secret'));
  checkTargets(refs, 'secret');
  return refs;
}

/** The configs a service references, the credential spec's config included. */
export function serviceConfigRefs(namespace: Namespace, service: ServiceConfig, config: Config): FileRef[] {
  const refs = (service.configs ?? []).map((c) => fileRef(namespace, c, config.configs, 'config'));
  const cred = service.credentialSpec.config;
  if (cred !== '') {
    const obj = ownValue(config.configs ?? {}, cred);
    if (!obj) throw new Error(`undefined config "${cred}"`);
    refs.push({ name: objectName(namespace, cred, obj), runtime: true });
  }
  checkTargets(refs, 'config');
  return refs;
}

/** ParseSecrets/ParseConfigs after the lookup: references with IDs, sorted by name. */
export function resolveRefs(
  refs: readonly FileRef[],
  ids: ReadonlyMap<string, string>,
  kind: 'secret',
): SecretReference[];
export function resolveRefs(
  refs: readonly FileRef[],
  ids: ReadonlyMap<string, string>,
  kind: 'config',
): ConfigReference[];
export function resolveRefs(
  refs: readonly FileRef[],
  ids: ReadonlyMap<string, string>,
  kind: 'secret' | 'config',
): (SecretReference | ConfigReference)[] {
  const files = refs.filter((r) => !r.runtime);
  // A config used as a credential spec is referenced once, whatever the number of uses.
  const runtime = [...new Map(refs.filter((r) => r.runtime).map((r) => [r.name, r])).values()];
  const out: (SecretReference | ConfigReference)[] = [];
  for (const ref of [...files, ...runtime]) {
    const id = ids.get(ref.name);
    if (id === undefined) throw new Error(`${kind} not found: ${ref.name}`);
    if (kind === 'secret')
      out.push({ File: ref.file, SecretID: id, SecretName: ref.name } as SecretReference);
    else if (ref.runtime) out.push({ Runtime: {}, ConfigID: id, ConfigName: ref.name } as ConfigReference);
    else out.push({ File: ref.file, ConfigID: id, ConfigName: ref.name } as ConfigReference);
  }
  const nameOf = (r: SecretReference | ConfigReference): string =>
    ('SecretName' in r ? r.SecretName : (r as ConfigReference).ConfigName) ?? '';
  return out.sort((a, b) => compare(nameOf(a), nameOf(b)) || compare(a.File?.Name ?? '', b.File?.Name ?? ''));
}

// ---------------------------------------------------------------- services

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** convertEndpointSpec: ports sorted by (published, target, protocol, mode); the mode lower-cased. */
function endpointSpec(service: ServiceConfig): NonNullable<ServiceSpec['EndpointSpec']> {
  const ports = (service.ports ?? []).map((p) => ({
    Protocol: p.protocol,
    TargetPort: p.target,
    PublishedPort: p.published,
    PublishMode: p.mode,
  }));
  ports.sort(
    (a, b) =>
      a.PublishedPort - b.PublishedPort ||
      a.TargetPort - b.TargetPort ||
      compare(a.Protocol, b.Protocol) ||
      compare(a.PublishMode, b.PublishMode),
  );
  return { Mode: service.deploy.endpointMode.toLowerCase() as 'vip' | 'dnsrr', Ports: ports as never };
}

function deployMode(mode: string, replicas: number | undefined): ServiceMode {
  switch (mode) {
    case 'global-job':
      if (replicas !== undefined)
        throw new Error('replicas can only be used with replicated or replicated-job mode');
      return { GlobalJob: {} };
    case 'global':
      if (replicas !== undefined)
        throw new Error('replicas can only be used with replicated or replicated-job mode');
      return { Global: {} };
    case 'replicated-job':
      return { ReplicatedJob: { MaxConcurrent: replicas, TotalCompletions: replicas } };
    case 'replicated':
    case '':
      return { Replicated: { Replicas: replicas } };
    default:
      throw new Error(`unknown mode: ${mode}`);
  }
}

/** The mount of one service volume (convert.Volumes). */
function volumeMount(
  volume: ServiceVolumeConfig,
  stackVolumes: Readonly<Record<string, VolumeConfig>>,
  namespace: Namespace,
): Mount {
  const base: Mount & Record<string, unknown> = {
    Type: volume.type as Mount['Type'],
    Target: volume.target,
    ReadOnly: volume.readOnly,
    Source: volume.source,
    Consistency: volume.consistency,
  };
  const incompatible = (opt: string, type: string): Error =>
    new Error(`${opt} options are incompatible with type ${type}`);
  switch (volume.type) {
    case 'volume':
    case '': {
      if (volume.image) throw new Error('images options are incompatible with type volume');
      if (volume.tmpfs) throw incompatible('tmpfs', 'volume');
      if (volume.bind) throw incompatible('bind', 'volume');
      if (volume.cluster) throw incompatible('cluster', 'volume');
      if (volume.source === '') return base;
      const stackVolume = ownValue(stackVolumes, volume.source);
      if (!stackVolume) throw new Error(`undefined volume "${volume.source}"`);
      base.Source = stackVolume.name !== '' ? stackVolume.name : namespace.scope(volume.source);
      const options: Record<string, unknown> = {};
      if (volume.volume) {
        options['NoCopy'] = volume.volume.nocopy;
        options['Subpath'] = volume.volume.subpath;
      }
      base.VolumeOptions = options;
      if (stackVolume.external.external) return base;
      options['Labels'] = withStackLabel(namespace, stackVolume.labels);
      if (stackVolume.driver !== '' || stackVolume.driverOpts !== undefined) {
        options['DriverConfig'] = { Name: stackVolume.driver, Options: stackVolume.driverOpts };
      }
      return base;
    }
    case 'image':
      if (volume.source === '') throw new Error('invalid image source, source cannot be empty');
      if (volume.volume) throw incompatible('volume', 'image');
      if (volume.bind) throw incompatible('bind', 'image');
      if (volume.tmpfs) throw incompatible('tmpfs', 'image');
      if (volume.cluster) throw incompatible('cluster', 'image');
      if (volume.image) base['ImageOptions'] = { Subpath: volume.image.subpath };
      return base;
    case 'bind':
      if (volume.source === '') throw new Error('invalid bind source, source cannot be empty');
      if (volume.volume) throw incompatible('volume', 'bind');
      if (volume.image) throw incompatible('image', 'bind');
      if (volume.tmpfs) throw incompatible('tmpfs', 'bind');
      if (volume.cluster) throw incompatible('cluster', 'bind');
      if (volume.bind) base.BindOptions = { Propagation: volume.bind.propagation };
      return base;
    case 'tmpfs':
      if (volume.source !== '') throw new Error('invalid tmpfs source, source must be empty');
      if (volume.bind) throw incompatible('bind', 'tmpfs');
      if (volume.volume) throw incompatible('volume', 'tmpfs');
      if (volume.image) throw incompatible('image', 'tmpfs');
      if (volume.cluster) throw incompatible('cluster', 'tmpfs');
      if (volume.tmpfs) base.TmpfsOptions = { SizeBytes: volume.tmpfs.size };
      return base;
    case 'npipe':
      if (volume.source === '') throw new Error('invalid npipe source, source cannot be empty');
      if (volume.volume) throw incompatible('volume', 'npipe');
      if (volume.image) throw incompatible('image', 'npipe');
      if (volume.tmpfs) throw incompatible('tmpfs', 'npipe');
      if (volume.bind) base.BindOptions = { Propagation: volume.bind.propagation };
      return base;
    case 'cluster': {
      if (volume.source === '') throw new Error('invalid cluster source, source cannot be empty');
      if (volume.tmpfs) throw incompatible('tmpfs', 'cluster');
      if (volume.bind) throw incompatible('bind', 'cluster');
      if (volume.volume) throw incompatible('volume', 'cluster');
      base['ClusterOptions'] = {};
      if (!volume.source.startsWith('group:')) {
        const stackVolume = ownValue(stackVolumes, volume.source);
        if (!stackVolume) throw new Error(`undefined volume "${volume.source}"`);
        base.Source = stackVolume.name !== '' ? stackVolume.name : namespace.scope(volume.source);
      }
      return base;
    }
    default:
      throw new Error('volume type must be volume, bind, tmpfs, npipe, or cluster');
  }
}

function resources(service: ServiceConfig): NonNullable<TaskSpec['Resources']> {
  const source = service.deploy.resources;
  const out: NonNullable<TaskSpec['Resources']> = {};
  if (source.limits) {
    out.Limits = {
      NanoCPUs: source.limits.cpus !== '' ? parseCPUs(source.limits.cpus) : 0,
      MemoryBytes: source.limits.memory,
      Pids: source.limits.pids,
    };
  }
  if (source.reservations) {
    const generic = source.reservations.genericResources?.map((g) =>
      g.discreteResourceSpec
        ? { DiscreteResourceSpec: { Kind: g.discreteResourceSpec.kind, Value: g.discreteResourceSpec.value } }
        : {},
    );
    out.Reservations = {
      NanoCPUs: source.reservations.cpus !== '' ? parseCPUs(source.reservations.cpus) : 0,
      MemoryBytes: source.reservations.memory,
      GenericResources: generic as never,
    };
  }
  return out;
}

/** The `restart:` fallback (opts.ParseRestartPolicy), used only without `deploy.restart_policy`. */
function restartPolicy(service: ServiceConfig): TaskSpec['RestartPolicy'] {
  const source = service.deploy.restartPolicy;
  if (source) {
    return {
      Condition: source.condition as never,
      Delay: source.delay,
      MaxAttempts: source.maxAttempts,
      Window: source.window,
    };
  }
  const restart = service.restart;
  if (restart === '') return undefined;
  const colon = restart.indexOf(':');
  const name = colon < 0 ? restart : restart.slice(0, colon);
  const count = colon < 0 ? '' : restart.slice(colon + 1);
  if (colon >= 0 && name === '') {
    throw new Error('invalid restart policy format: no policy provided before colon');
  }
  let attempts = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) {
      throw new Error('invalid restart policy format: maximum retry count must be an integer');
    }
    attempts = Number(count);
  }
  if (attempts < 0) throw new Error('invalid restart policy: maximum retry count cannot be negative');
  // A count of 0 (or none) sends no MaxAttempts: the engine's "unlimited".
  const maxAttempts = attempts > 0 ? attempts : undefined;
  switch (name) {
    case 'no':
    case '':
      return undefined;
    case 'always':
    case 'unless-stopped':
      return { Condition: 'any', MaxAttempts: maxAttempts };
    case 'on-failure':
      return { Condition: 'on-failure', MaxAttempts: maxAttempts };
    default:
      throw new Error(
        `invalid restart policy: unknown policy '${name}' (must be one of 'no', 'always', 'on-failure', or 'unless-stopped')`,
      );
  }
}

/** toNetipAddrSlice: nameservers that parse as IP addresses, in their canonical form; others dropped. */
function nameservers(dns: readonly string[] | undefined): string[] | undefined {
  if (!dns || dns.length === 0) return undefined;
  const out: string[] = [];
  for (const ip of dns) {
    if (/^(\d{1,3})(\.\d{1,3}){3}$/.test(ip)) {
      const parts = ip.split('.');
      if (parts.every((p) => Number(p) <= 255 && (p === '0' || !p.startsWith('0')))) out.push(ip);
      continue;
    }
    if (!ip.includes(':')) continue;
    const [addr, zone] = ip.split('%', 2) as [string, string | undefined];
    try {
      const host = new URL(`http://[${addr}]/`).hostname.slice(1, -1);
      out.push(zone !== undefined ? `${host}%${zone}` : host);
    } catch {
      // not an address
    }
  }
  return out;
}

function healthcheck(service: ServiceConfig): Record<string, unknown> | undefined {
  const h = service.healthCheck;
  if (!h) return undefined;
  if (h.disable) {
    if ((h.test ?? []).length !== 0) throw new Error("test and disable can't be set at the same time");
    return { Test: ['NONE'] };
  }
  return {
    Test: h.test,
    Interval: h.interval ?? 0,
    Timeout: h.timeout ?? 0,
    StartPeriod: h.startPeriod ?? 0,
    StartInterval: h.startInterval ?? 0,
    Retries: h.retries ?? 0,
  };
}

function updateConfig(source: UpdateConfig | undefined): SwarmUpdateConfig | undefined {
  if (!source) return undefined;
  return {
    Parallelism: source.parallelism ?? 1,
    Delay: source.delay,
    FailureAction: source.failureAction as never,
    Monitor: source.monitor,
    MaxFailureRatio: source.maxFailureRatio,
    Order: source.order as never,
  };
}

function serviceNetworks(
  service: ServiceConfig,
  networks: Readonly<Record<string, NetworkConfig>>,
  namespace: Namespace,
): NetworkAttachmentConfig[] {
  let declared = service.networks ?? {};
  if (Object.keys(declared).length === 0) declared = { [DEFAULT_NETWORK]: null };
  const out: NetworkAttachmentConfig[] = [];
  for (const [key, attachment] of Object.entries(declared)) {
    const nw = ownValue(networks, key);
    if (!nw && key !== DEFAULT_NETWORK) throw new Error(`undefined network "${key}"`);
    const target = nw && nw.name !== '' ? nw.name : namespace.scope(key);
    const config: NetworkAttachmentConfig & { DriverOpts?: Record<string, string> } = {
      Target: target,
      Aliases: attachment?.aliases ? [...attachment.aliases] : undefined,
      DriverOpts: attachment?.driverOpts,
    };
    if (isUserDefinedNetwork(target)) config.Aliases = [...(config.Aliases ?? []), service.name];
    out.push(config);
  }
  return out.sort((a, b) => compare(a.Target, b.Target));
}

/** opts.EffectiveCapAddCapDrop: normalized, sorted; adding wins over dropping; ALL trumps the rest. */
function effectiveCaps(
  add: readonly string[] | undefined,
  drop: readonly string[] | undefined,
): [string[], string[]] {
  const normalize = (c: string): string => {
    const cap = c.trim().toUpperCase();
    if (cap === 'ALL' || cap === 'RESET') return cap;
    return cap.startsWith('CAP_') ? cap : `CAP_${cap}`;
  };
  let addCaps = new Set((add ?? []).map(normalize));
  let dropCaps = new Set((drop ?? []).map(normalize));
  if (addCaps.has('ALL')) addCaps = new Set(['ALL']);
  if (dropCaps.has('ALL')) dropCaps = new Set(['ALL']);
  const capDrop = [...dropCaps].filter((c) => !addCaps.has(c) && c !== 'RESET').sort();
  const capAdd = [...addCaps].filter((c) => c !== 'RESET').sort();
  return [capAdd, capDrop];
}

function ulimits(service: ServiceConfig): { Name: string; Soft: number; Hard: number }[] {
  return Object.entries(service.ulimits ?? {})
    .map(([name, u]) =>
      u.single !== 0
        ? { Name: name, Soft: u.single, Hard: u.single }
        : { Name: name, Soft: u.soft, Hard: u.hard },
    )
    .sort((a, b) => compare(a.Name, b.Name));
}

/** convertEnvironment: `K=V` (or a bare `K` without a value), sorted. */
function environment(service: ServiceConfig): string[] | undefined {
  const entries = Object.entries(service.environment ?? {});
  if (entries.length === 0) return undefined;
  return entries.map(([k, v]) => (v === null ? k : `${k}=${v}`)).sort();
}

/** convertCredentialSpec: one of config, file or registry; a config's name becomes its ID. */
function credentialSpec(
  namespace: Namespace,
  service: ServiceConfig,
  configs: readonly ConfigReference[],
): Record<string, string> | undefined {
  const spec = service.credentialSpec;
  const given = [
    spec.config !== '' ? '"Config"' : '',
    spec.file !== '' ? '"File"' : '',
    spec.registry !== '' ? '"Registry"' : '',
  ].filter(Boolean);
  if (given.length === 0) return undefined;
  if (given.length === 2)
    throw new Error(`invalid credential spec: cannot specify both ${given[0]} and ${given[1]}`);
  if (given.length > 2) {
    throw new Error(
      `invalid credential spec: cannot specify both ${given.slice(0, -1).join(', ')}, and ${given[2]}`,
    );
  }
  const out = { Config: spec.config, File: spec.file, Registry: spec.registry };
  if (spec.config !== '') {
    const match =
      configs.find((c) => c.ConfigName === spec.config) ??
      configs.find((c) => c.ConfigName === namespace.scope(spec.config));
    if (!match) {
      throw new Error(
        `invalid credential spec: spec specifies config ${spec.config}, but no such config can be found`,
      );
    }
    out.Config = match.ConfigID;
  }
  return out;
}

/** convert.Service: one service's spec (secrets and configs already resolved to IDs). */
export function convertService(
  namespace: Namespace,
  service: ServiceConfig,
  config: Config,
  secrets: SecretReference[],
  configs: ConfigReference[],
): ServiceSpec {
  const endpoint = endpointSpec(service);
  const mode = deployMode(service.deploy.mode, service.deploy.replicas);
  const mounts = (service.volumes ?? []).map((v) => volumeMount(v, config.volumes ?? {}, namespace));
  const res = resources(service);
  const restart = restartPolicy(service);
  const health = healthcheck(service);
  const networks = serviceNetworks(service, config.networks ?? {}, namespace);
  const dns =
    (service.dns ?? []).length > 0 || (service.dnsSearch ?? []).length > 0
      ? { Nameservers: nameservers(service.dns), Search: service.dnsSearch }
      : undefined;
  const cred = credentialSpec(namespace, service, configs);
  const [capAdd, capDrop] = effectiveCaps(service.capAdd, service.capDrop);
  const labels = withStackLabel(namespace, service.deploy.labels);
  labels[LABEL_IMAGE] = service.image;
  const hosts = (service.extraHosts ?? []).flatMap((entry) => {
    const colon = entry.indexOf(':');
    return colon < 0 ? [] : [`${entry.slice(colon + 1)} ${entry.slice(0, colon)}`];
  });
  const placement = service.deploy.placement;
  return {
    Name: namespace.scope(service.name),
    Labels: labels,
    TaskTemplate: {
      ContainerSpec: {
        Image: service.image,
        Command: service.entrypoint,
        Args: service.command,
        Hostname: service.hostname,
        Hosts: hosts,
        DNSConfig: dns,
        Healthcheck: health as never,
        Env: environment(service),
        Labels: withStackLabel(namespace, service.labels),
        Dir: service.workingDir,
        User: service.user,
        Mounts: mounts,
        StopGracePeriod: service.stopGracePeriod,
        StopSignal: service.stopSignal,
        TTY: service.tty,
        OpenStdin: service.stdinOpen,
        Secrets: secrets,
        Configs: configs,
        ReadOnly: service.readOnly,
        Privileges: { CredentialSpec: cred, SELinuxContext: undefined, NoNewPrivileges: false },
        Isolation: service.isolation,
        Init: service.init,
        Sysctls: service.sysctls,
        CapabilityAdd: capAdd,
        CapabilityDrop: capDrop,
        Ulimits: ulimits(service),
        OomScoreAdj: service.oomScoreAdj,
      },
      LogDriver: service.logging
        ? { Name: service.logging.driver, Options: service.logging.options }
        : undefined,
      Resources: res,
      RestartPolicy: restart,
      Placement: {
        Constraints: placement.constraints,
        Preferences: (placement.preferences ?? []).map((p) => ({
          Spread: { SpreadDescriptor: p.spread },
        })) as never,
        MaxReplicas: placement.maxReplicas,
      },
      Networks: networks,
      ForceUpdate: 0,
    },
    EndpointSpec: endpoint,
    Mode: mode,
    UpdateConfig: updateConfig(service.deploy.updateConfig),
    RollbackConfig: updateConfig(service.deploy.rollbackConfig),
  };
}

/** Everything a stack deploys, for a caller that knows the secrets' and configs' IDs (tests, diff). */
export interface StackObjects {
  networks: StackNetworks;
  secrets: SecretSpec[];
  configs: ConfigSpec[];
  /** By service key, in name order. */
  services: { key: string; spec: ServiceSpec }[];
}

export interface ConvertInputs {
  readFile: (path: string) => Uint8Array;
  /** IDs of secrets and configs by name (created ones and external ones). */
  secretIDs: ReadonlyMap<string, string>;
  configIDs: ReadonlyMap<string, string>;
}

/** convert.Services: every service's spec; errors as `service <key>: …`. */
export function convertServices(
  namespace: Namespace,
  config: Config,
  secretIDs: ReadonlyMap<string, string>,
  configIDs: ReadonlyMap<string, string>,
): { key: string; spec: ServiceSpec }[] {
  return config.services.map((service) => {
    try {
      const secrets = resolveRefs(serviceSecretRefs(namespace, service, config), secretIDs, 'secret');
      const configs = resolveRefs(serviceConfigRefs(namespace, service, config), configIDs, 'config');
      return { key: service.name, spec: convertService(namespace, service, config, secrets, configs) };
    } catch (e) {
      throw new Error(`service ${service.name}: ${(e as Error).message}`);
    }
  });
}

/** The whole stack, as a pure function of the loaded configuration. */
export function convertStack(config: Config, stack: string, inputs: ConvertInputs): StackObjects {
  const namespace = new Namespace(stack);
  return {
    networks: convertNetworks(namespace, config),
    secrets: convertSecrets(namespace, config, inputs.readFile),
    configs: convertConfigs(namespace, config, inputs.readFile),
    services: convertServices(namespace, config, inputs.secretIDs, inputs.configIDs),
  };
}
