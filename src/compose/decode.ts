// One validated, interpolated Compose file decoded into the typed configuration, as docker/cli's loader
// does with mapstructure and its transformers (cli/compose/loader/loader.go): short syntaxes expanded
// (ports through nat, volumes through ParseVolume, `- name` secrets and configs, list-or-dict mappings,
// string-or-list commands split shell-style), durations and sizes parsed, `env_file` and `environment`
// resolved against the CLI's environment, bind sources and `file:` paths made absolute against the
// working directory, `external` objects named. What the loader logs as warnings is handed back.

import { isAbsolute, join } from 'node:path';
import { parseDuration } from '../api/duration.js';
import { parseKeyValueFile } from '../api/kvfile.js';
import { parseIP } from '../api/ip.js';
import { parsePortRange, parsePortSpecs } from '../api/nat.js';
import { put } from './put.js';
import { shlexSplit } from '../api/shlex.js';
import { ramInBytes } from '../api/units.js';
import { goSprint } from './gosprint.js';
import { GoTime } from './gotime.js';
import type {
  BuildConfig,
  Config,
  DependsOnCondition,
  DeployConfig,
  External,
  FileObjectConfig,
  FileReferenceConfig,
  HealthCheckConfig,
  LoggingConfig,
  MappingWithEquals,
  NetworkConfig,
  Resources,
  ServiceConfig,
  ServiceNetworkConfig,
  ServicePortConfig,
  ServiceVolumeConfig,
  StringMap,
  UlimitsConfig,
  UpdateConfig,
  VolumeConfig,
} from './types.js';
import type { Lookup } from './interpolate.js';
import type { Tree } from './yaml.js';

/** What decoding needs from outside: the CLI's environment, files, and where warnings go. */
export interface DecodeContext {
  workingDir: string;
  version: string;
  lookup: Lookup;
  readFile: (path: string) => Uint8Array;
  warn: (message: string) => void;
}

export class DecodeError extends Error {
  override name = 'DecodeError';
}

type Dict = Record<string, unknown>;

/**
 * mapstructure collects every decoding error of a service before failing (`decoding failed due to the
 * following error(s):` then one line each, in struct field order); the service being decoded collects here.
 */
let collected: string[] | undefined;

function fail(line: string): void {
  if (collected) collected.push(line);
  else throw new DecodeError(line);
}

/** A transformer's error, under the Go path of the field (`error decoding 'Deploy.Resources.Limits.memory': …`). */
function attempt<T>(path: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof Error) || e instanceof DecodeError) throw e;
    fail(`error decoding '${path}': ${e.message}`);
    return undefined;
  }
}

function collecting<T>(fn: () => T): T {
  const outer = collected;
  collected = [];
  try {
    const value = fn();
    if (collected.length > 0) {
      throw new DecodeError(`decoding failed due to the following error(s):\n\n${collected.join('\n')}`);
    }
    return value;
  } finally {
    collected = outer;
  }
}

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

function dict(v: unknown): Dict {
  return isDict(v) ? v : {};
}

/**
 * A string field. A YAML timestamp there is mapstructure's error, as in Docker (`'User' expected type
 * 'string', got unconvertible type 'time.Time', …`); `field` is the Go field's name.
 */
function str(v: unknown, field = 'value'): string {
  if (v === undefined || v === null) return '';
  if (v instanceof GoTime) {
    fail(`'${field}' expected type 'string', got unconvertible type 'time.Time', value: '${v.goString()}'`);
    return '';
  }
  return typeof v === 'string' ? v : goSprint(v);
}

function num(v: unknown): number {
  return typeof v === 'number' ? Math.trunc(v) : 0;
}

function bool(v: unknown): boolean {
  return v === true;
}

/** An optional uint64 pointer: undefined when absent. */
function optNum(v: unknown): number | undefined {
  return v === undefined || v === null ? undefined : num(v);
}

function strList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => str(x));
  return [str(v)];
}

/** A Go time.Duration from a YAML string (the schema checked the format where it has one). */
function duration(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  return attempt(path, () => {
    if (typeof v !== 'string') throw new Error(`invalid type ${goTypeName(v)} for duration`);
    return parseDuration(v);
  });
}

function size(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return Math.trunc(v);
  return attempt(path, () => ramInBytes(String(v))) ?? 0;
}

/** The Go type yaml.v3 gives a value, for transformers' `invalid type` errors. */
function goTypeName(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (Array.isArray(v)) return '[]interface {}';
  return 'map[string]interface {}';
}

/** transformMapStringString: values as fmt.Sprint prints them; null as "". */
function stringMap(v: unknown): StringMap | undefined {
  if (!isDict(v)) return undefined;
  const out: StringMap = {};
  for (const [k, value] of Object.entries(v)) put(out, k, value === null ? '' : goSprint(value));
  return out;
}

/** transformMappingOrList with `=`: a list of `K=V` (a bare `K` is "" or, with allowNil, null). */
function mappingOrList(v: unknown, allowNil: true): MappingWithEquals | undefined;
function mappingOrList(v: unknown, allowNil: false): StringMap | undefined;
function mappingOrList(v: unknown, allowNil: boolean): MappingWithEquals | undefined {
  if (v === undefined || v === null) return undefined;
  const out: MappingWithEquals = {};
  if (Array.isArray(v)) {
    for (const entry of v) {
      const text = str(entry);
      const eq = text.indexOf('=');
      if (eq < 0) put(out, text, allowNil ? null : '');
      else put(out, text.slice(0, eq), text.slice(eq + 1));
    }
    return out;
  }
  for (const [k, value] of Object.entries(dict(v))) {
    put(out, k, value === null ? (allowNil ? null : '') : goSprint(value));
  }
  return out;
}

/** transformHostsList: `host:ip` entries (from `host:ip`, `host=ip` or a map), IPv6 brackets dropped. */
function hostsList(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  let pairs: string[];
  if (Array.isArray(v)) {
    pairs = [];
    for (const entry of v) {
      const text = goSprint(entry);
      for (const sep of ['=', ':']) {
        const i = text.indexOf(sep);
        if (i >= 0) {
          pairs.push(`${text.slice(0, i)}:${text.slice(i + 1)}`);
          break;
        }
      }
    }
  } else {
    pairs = Object.entries(dict(v))
      .filter(([, value]) => value !== null)
      .map(([k, value]) => `${k}:${goSprint(value)}`)
      .sort();
  }
  return pairs.map((pair) => {
    const i = pair.indexOf(':');
    const host = i < 0 ? pair : pair.slice(0, i);
    let ip = i < 0 ? '' : pair.slice(i + 1);
    if (ip.length > 2 && ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
    return `${host}:${ip}`;
  });
}

function shellCommand(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return attempt(path, () => shlexSplit(v));
  return (v as unknown[]).map((x, i) => str(x, `${path}[${i}]`));
}

function external(v: unknown): External {
  if (typeof v === 'boolean') return { name: '', external: v };
  if (isDict(v)) return { name: str(v['name']), external: true };
  return { name: '', external: false };
}

/** getExtras: the `x-` keys of a mapping, or undefined when there are none. */
export function extrasOf(v: unknown): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [k, value] of Object.entries(dict(v))) {
    if (k.startsWith('x-')) {
      put(out, k, value);
      any = true;
    }
  }
  return any ? out : undefined;
}

// ---------------------------------------------------------------- ports and volumes

/** toServicePortConfigs: one short port spec as the ingress port configs it publishes. */
function shortPorts(spec: string, ctx: DecodeContext): ServicePortConfig[] {
  const bindings = parsePortSpecs([spec]);
  const out: ServicePortConfig[] = [];
  for (const port of [...bindings.keys()].sort()) {
    const slash = port.indexOf('/');
    const proto = port.slice(slash + 1).toLowerCase();
    const target = Number(port.slice(0, slash).split('-')[0]);
    for (const binding of bindings.get(port)!) {
      const ip = parseIP(binding.hostIP);
      if (ip && ip.value !== 0n) {
        const host = binding.hostIP.includes(':') ? `[${binding.hostIP}]` : binding.hostIP;
        ctx.warn(
          `ignoring IP-address (${host}:${binding.hostPort}:${port}) service will listen on '0.0.0.0'`,
        );
      }
      let start = 0;
      let end = 0;
      if (binding.hostPort !== '') {
        try {
          [start, end] = parsePortRange(binding.hostPort);
        } catch {
          throw new Error(
            `invalid hostport binding (${binding.hostPort}) for port (${port.slice(0, slash)})`,
          );
        }
      }
      for (let p = start; p <= end; p++) {
        out.push({ mode: 'ingress', target, published: p, protocol: proto });
      }
    }
  }
  return out;
}

function ports(v: unknown, ctx: DecodeContext): ServicePortConfig[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return attempt('Ports', () => portList(v, ctx));
}

function portList(v: unknown[], ctx: DecodeContext): ServicePortConfig[] {
  const out: ServicePortConfig[] = [];
  for (const entry of v) {
    if (typeof entry === 'number') {
      if (!Number.isInteger(entry)) throw new Error('invalid type float64 for port');
      out.push(...shortPorts(String(entry), ctx));
    } else if (typeof entry === 'string') out.push(...shortPorts(entry, ctx));
    else {
      const d = dict(entry);
      out.push({
        mode: str(d['mode']),
        target: num(d['target']),
        published: num(d['published']),
        protocol: str(d['protocol']),
      });
    }
  }
  return out;
}

const PROPAGATIONS = ['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave'];

function isWindowsDrive(buffer: string[], char: string): boolean {
  return char === ':' && buffer.length === 1 && /\p{L}/u.test(buffer[0]!);
}

function isFilePath(source: string): boolean {
  if ('./~'.includes(source[0]!)) return true;
  const chars = [...source];
  if (chars.length === 1) return false;
  if (source.startsWith('\\\\')) return true;
  return isWindowsDrive([chars[0]!], chars[1]!);
}

/** loader.ParseVolume: `[source:]target[:options]`. */
export function parseVolume(spec: string): ServiceVolumeConfig {
  const volume: ServiceVolumeConfig = {
    type: '',
    source: '',
    target: '',
    readOnly: false,
    consistency: '',
  };
  const chars = [...spec];
  if (spec.length === 0) throw new Error('invalid empty volume spec');
  if (Buffer.byteLength(spec) <= 2) {
    volume.target = spec;
    volume.type = 'volume';
    return volume;
  }
  const populateType = (): void => {
    volume.type = volume.source !== '' && isFilePath(volume.source) ? 'bind' : 'volume';
  };
  let buffer: string[] = [];
  const END = '\0end';
  for (const char of [...chars, END]) {
    if (char !== END && isWindowsDrive(buffer, char)) {
      buffer.push(char);
    } else if (char === ':' || char === END) {
      const text = buffer.join('');
      let err: string | undefined;
      if (buffer.length === 0) err = 'empty section between colons';
      else if (volume.source === '' && char === END) volume.target = text;
      else if (volume.source === '') volume.source = text;
      else if (volume.target === '') volume.target = text;
      else if (char === ':') err = 'too many colons';
      else {
        for (const option of text.split(',')) {
          if (option === 'ro') volume.readOnly = true;
          else if (option === 'rw') volume.readOnly = false;
          else if (option === 'nocopy') volume.volume = { nocopy: true, subpath: '' };
          else if (PROPAGATIONS.includes(option)) volume.bind = { propagation: option };
        }
      }
      if (err) {
        populateType();
        throw new Error(`invalid spec: ${spec}: ${err}`);
      }
      buffer = [];
    } else {
      buffer.push(char);
    }
  }
  populateType();
  return volume;
}

function serviceVolumes(v: unknown): ServiceVolumeConfig[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((entry, i) => {
    if (typeof entry === 'string') {
      return (
        attempt(`Volumes[${i}]`, () => parseVolume(entry)) ?? {
          type: '',
          source: '',
          target: '',
          readOnly: false,
          consistency: '',
        }
      );
    }
    const d = dict(entry);
    const out: ServiceVolumeConfig = {
      type: str(d['type']),
      source: str(d['source']),
      target: str(d['target']),
      readOnly: bool(d['read_only']),
      consistency: str(d['consistency']),
    };
    if (isDict(d['bind'])) out.bind = { propagation: str(d['bind']['propagation']) };
    if (isDict(d['volume'])) {
      out.volume = { nocopy: bool(d['volume']['nocopy']), subpath: str(d['volume']['subpath']) };
    }
    if (isDict(d['image'])) out.image = { subpath: str(d['image']['subpath']) };
    if (isDict(d['tmpfs'])) out.tmpfs = { size: num(d['tmpfs']['size']) };
    if (isDict(d['cluster'])) out.cluster = {};
    return out;
  });
}

function fileReferences(v: unknown): FileReferenceConfig[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.map((entry) => {
    if (typeof entry === 'string') return { source: entry, target: '', uid: '', gid: '' };
    const d = dict(entry);
    const ref: FileReferenceConfig = {
      source: str(d['source']),
      target: str(d['target']),
      uid: str(d['uid']),
      gid: str(d['gid']),
    };
    if (typeof d['mode'] === 'number') ref.mode = Math.trunc(d['mode']) >>> 0;
    return ref;
  });
}

// ---------------------------------------------------------------- deploy and friends

function updateConfig(v: unknown, path: string): UpdateConfig | undefined {
  if (!isDict(v)) return undefined;
  return {
    parallelism: optNum(v['parallelism']),
    delay: duration(v['delay'], `${path}.Delay`) ?? 0,
    failureAction: str(v['failure_action']),
    monitor: duration(v['monitor'], `${path}.Monitor`) ?? 0,
    maxFailureRatio: typeof v['max_failure_ratio'] === 'number' ? Math.fround(v['max_failure_ratio']) : 0,
    order: str(v['order']),
  };
}

function resources(v: unknown): Resources {
  const d = dict(v);
  const out: Resources = {};
  if (isDict(d['limits'])) {
    const l = d['limits'];
    out.limits = {
      cpus: str(l['cpus']),
      memory: size(l['memory'], 'Deploy.Resources.Limits.memory'),
      pids: num(l['pids']),
    };
  }
  if (isDict(d['reservations'])) {
    const r = d['reservations'];
    out.reservations = {
      cpus: str(r['cpus']),
      memory: size(r['memory'], 'Deploy.Resources.Reservations.memory'),
    };
    if (Array.isArray(r['generic_resources'])) {
      out.reservations.genericResources = r['generic_resources'].map((g) => {
        const spec = dict(g)['discrete_resource_spec'];
        return isDict(spec)
          ? { discreteResourceSpec: { kind: str(spec['kind']), value: num(spec['value']) } }
          : {};
      });
    }
  }
  return out;
}

function deploy(v: unknown): DeployConfig {
  const d = dict(v);
  const placement = dict(d['placement']);
  const restart = d['restart_policy'];
  return {
    mode: str(d['mode']),
    replicas: optNum(d['replicas']),
    labels: mappingOrList(d['labels'], false),
    updateConfig: updateConfig(d['update_config'], 'Deploy.update_config'),
    rollbackConfig: updateConfig(d['rollback_config'], 'Deploy.rollback_config'),
    resources: resources(d['resources']),
    restartPolicy: isDict(restart)
      ? {
          condition: str(restart['condition']),
          delay: duration(restart['delay'], 'Deploy.restart_policy.Delay'),
          maxAttempts: optNum(restart['max_attempts']),
          window: duration(restart['window'], 'Deploy.restart_policy.Window'),
        }
      : undefined,
    placement: {
      constraints: strList(placement['constraints']),
      preferences: Array.isArray(placement['preferences'])
        ? placement['preferences'].map((p) => ({ spread: str(dict(p)['spread']) }))
        : undefined,
      maxReplicas: num(placement['max_replicas_per_node']),
    },
    endpointMode: str(d['endpoint_mode']),
  };
}

function healthcheck(v: unknown): HealthCheckConfig | undefined {
  if (!isDict(v)) return undefined;
  const test = v['test'];
  return {
    test:
      typeof test === 'string'
        ? ['CMD-SHELL', test]
        : Array.isArray(test)
          ? test.map((x) => str(x))
          : undefined,
    timeout: duration(v['timeout'], 'HealthCheck.Timeout'),
    interval: duration(v['interval'], 'HealthCheck.Interval'),
    retries: optNum(v['retries']),
    startPeriod: duration(v['start_period'], 'HealthCheck.start_period'),
    startInterval: duration(v['start_interval'], 'HealthCheck.start_interval'),
    disable: bool(v['disable']),
  };
}

function build(v: unknown): BuildConfig {
  if (typeof v === 'string') return { context: v };
  const d = dict(v);
  const out: BuildConfig = {};
  if (d['context'] !== undefined) out.context = str(d['context']);
  if (d['dockerfile'] !== undefined) out.dockerfile = str(d['dockerfile']);
  if (d['args'] !== undefined) out.args = mappingOrList(d['args'], true);
  if (d['labels'] !== undefined) out.labels = mappingOrList(d['labels'], false);
  if (d['cache_from'] !== undefined) out.cacheFrom = strList(d['cache_from']);
  if (d['extra_hosts'] !== undefined) out.extraHosts = hostsList(d['extra_hosts']);
  if (d['network'] !== undefined) out.network = str(d['network']);
  if (d['target'] !== undefined) out.target = str(d['target']);
  return out;
}

function serviceNetworks(v: unknown): Record<string, ServiceNetworkConfig | null> | undefined {
  if (v === undefined || v === null) return undefined;
  const out: Record<string, ServiceNetworkConfig | null> = {};
  if (Array.isArray(v)) {
    for (const name of v) put(out, str(name), null);
    return out;
  }
  for (const [name, config] of Object.entries(dict(v))) {
    if (!isDict(config)) {
      put(out, name, null);
      continue;
    }
    put(out, name, {
      aliases: strList(config['aliases']),
      driverOpts: stringMap(config['driver_opts']),
      ipv4Address: str(config['ipv4_address']),
      ipv6Address: str(config['ipv6_address']),
    });
  }
  return out;
}

function ulimits(v: unknown): Record<string, UlimitsConfig> | undefined {
  if (!isDict(v)) return undefined;
  const out: Record<string, UlimitsConfig> = {};
  for (const [name, value] of Object.entries(v)) {
    if (typeof value === 'number') put(out, name, { single: Math.trunc(value), soft: 0, hard: 0 });
    else {
      const d = dict(value);
      put(out, name, { single: 0, soft: num(d['soft']), hard: num(d['hard']) });
    }
  }
  return out;
}

function logging(v: unknown): LoggingConfig | undefined {
  if (!isDict(v)) return undefined;
  return { driver: str(v['driver']), options: stringMap(v['options']) };
}

/** The long `depends_on` syntax (accepted only with `x-shoal: {depends_on: true}`). */
function dependsOn(v: unknown): { names?: string[]; conditions?: Record<string, DependsOnCondition> } {
  if (Array.isArray(v)) return { names: v.map((x) => str(x)) };
  if (!isDict(v)) return {};
  const conditions: Record<string, DependsOnCondition> = {};
  for (const [name, spec] of Object.entries(v)) {
    const d = dict(spec);
    const entry: DependsOnCondition = { condition: str(d['condition']) };
    if (typeof d['required'] === 'boolean') entry.required = d['required'];
    if (typeof d['restart'] === 'boolean' || typeof d['restart'] === 'string') entry.restart = d['restart'];
    put(conditions, name, entry);
  }
  return { names: Object.keys(conditions), conditions };
}

// ---------------------------------------------------------------- environment and paths

/** Go's filepath.Join(dir, file) unless file is absolute. */
export function absPath(workingDir: string, file: string): string {
  return isAbsolute(file) ? file : join(workingDir, file);
}

function isWindowsAbs(path: string): boolean {
  return /^[a-zA-Z]:[\\/]/.test(path) || path.startsWith('\\\\');
}

/** os.Open's error as Go words it. */
export function goOpenError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : (err as Error).message;
  return new Error(`open ${path}: ${reason}`);
}

function updateEnvironment(environment: MappingWithEquals, vars: MappingWithEquals, lookup: Lookup): void {
  for (const [key, value] of Object.entries(vars)) {
    const fromEnv = lookup(key);
    // A variable without a value, or with an empty one, takes the CLI's value when it has one.
    if ((value === null || value === '') && fromEnv !== undefined) put(environment, key, fromEnv);
    else put(environment, key, value);
  }
}

function resolveEnvironment(service: ServiceConfig, ctx: DecodeContext): void {
  const environment: MappingWithEquals = {};
  if (service.envFile && service.envFile.length > 0) {
    const lines: string[] = [];
    for (const file of service.envFile) {
      const path = absPath(ctx.workingDir, file);
      let data: Uint8Array;
      try {
        data = ctx.readFile(path);
      } catch (e) {
        throw goOpenError(path, e);
      }
      try {
        lines.push(...parseKeyValueFile(data, ctx.lookup));
      } catch (e) {
        throw new Error(`invalid env file (${path}): ${(e as Error).message}`);
      }
    }
    updateEnvironment(environment, mappingOrList(lines, true)!, ctx.lookup);
  }
  updateEnvironment(environment, service.environment ?? {}, ctx.lookup);
  service.environment = environment;
}

function resolveVolumePaths(volumes: ServiceVolumeConfig[] | undefined, ctx: DecodeContext): void {
  for (const volume of volumes ?? []) {
    if (volume.type !== 'bind') continue;
    if (volume.source === '') {
      throw new Error('invalid mount config for type "bind": field Source must not be empty');
    }
    let path = volume.source;
    if (path.startsWith('~')) {
      const home = ctx.lookup('HOME');
      if (home === undefined) ctx.warn("cannot expand '~', because the environment lacks HOME");
      else path = path.replace('~', home);
    }
    if (!path.startsWith('/') && !isWindowsAbs(path)) path = absPath(ctx.workingDir, path);
    volume.source = path;
  }
}

// ---------------------------------------------------------------- services

export function loadService(name: string, d: Dict, ctx: DecodeContext): ServiceConfig {
  const service = collecting(() => decodeService(name, d, ctx));
  resolveEnvironment(service, ctx);
  resolveVolumePaths(service.volumes, ctx);
  return service;
}

/** Transform: the service's keys in Go's field order (so that errors come in Docker's order). */
function decodeService(name: string, d: Dict, ctx: DecodeContext): ServiceConfig {
  const deps = dependsOn(d['depends_on']);
  const service: ServiceConfig = {
    name,
    build: d['build'] !== undefined ? build(d['build']) : {},
    capAdd: strList(d['cap_add']),
    capDrop: strList(d['cap_drop']),
    cgroupnsMode: str(d['cgroupns_mode']),
    cgroupParent: str(d['cgroup_parent']),
    command: shellCommand(d['command'], 'Command'),
    configs: fileReferences(d['configs']),
    containerName: str(d['container_name'], 'ContainerName'),
    credentialSpec: {
      config: str(dict(d['credential_spec'])['config']),
      file: str(dict(d['credential_spec'])['file']),
      registry: str(dict(d['credential_spec'])['registry']),
    },
    dependsOn: deps.names,
    deploy: deploy(d['deploy']),
    devices: strList(d['devices']),
    dns: strList(d['dns']),
    dnsSearch: strList(d['dns_search']),
    domainName: str(d['domainname']),
    entrypoint: shellCommand(d['entrypoint'], 'Entrypoint'),
    environment: mappingOrList(d['environment'], true),
    envFile: strList(d['env_file']),
    expose: Array.isArray(d['expose']) ? d['expose'].map(goSprint) : undefined,
    externalLinks: strList(d['external_links']),
    extraHosts: hostsList(d['extra_hosts']),
    hostname: str(d['hostname'], 'Hostname'),
    healthCheck: healthcheck(d['healthcheck']),
    image: str(d['image'], 'Image'),
    init: typeof d['init'] === 'boolean' ? d['init'] : undefined,
    ipc: str(d['ipc']),
    isolation: str(d['isolation'], 'Isolation'),
    labels: mappingOrList(d['labels'], false),
    links: strList(d['links']),
    logging: logging(d['logging']),
    macAddress: str(d['mac_address']),
    networkMode: str(d['network_mode']),
    networks: serviceNetworks(d['networks']),
    pid: str(d['pid']),
    ports: ports(d['ports'], ctx),
    privileged: bool(d['privileged']),
    readOnly: bool(d['read_only']),
    restart: str(d['restart'], 'Restart'),
    secrets: fileReferences(d['secrets']),
    securityOpt: strList(d['security_opt']),
    shmSize: str(d['shm_size']),
    stdinOpen: bool(d['stdin_open']),
    stopGracePeriod: duration(d['stop_grace_period'], 'stop_grace_period'),
    stopSignal: str(d['stop_signal'], 'StopSignal'),
    sysctls: mappingOrList(d['sysctls'], false),
    tmpfs: strList(d['tmpfs']),
    tty: bool(d['tty']),
    ulimits: ulimits(d['ulimits']),
    user: str(d['user'], 'User'),
    oomScoreAdj: num(d['oom_score_adj']),
    usernsMode: str(d['userns_mode']),
    volumes: serviceVolumes(d['volumes']),
    workingDir: str(d['working_dir'], 'WorkingDir'),
    extras: extrasOf(d),
  };
  if (deps.conditions) service.dependsOnConditions = deps.conditions;
  return service;
}

// ---------------------------------------------------------------- top-level objects

/** versions.GreaterThanOrEqualTo for `3.N` versions. */
function versionAtLeast(version: string, than: string): boolean {
  const a = version.split('.').map(Number);
  const b = than.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}

function loadNetworks(source: Dict, ctx: DecodeContext): Record<string, NetworkConfig> {
  const out: Record<string, NetworkConfig> = {};
  for (const name of Object.keys(source).sort()) {
    const d = dict(source[name]);
    const ipam = dict(d['ipam']);
    const network: NetworkConfig = {
      name: str(d['name']),
      driver: str(d['driver']),
      driverOpts: stringMap(d['driver_opts']),
      ipam: {
        driver: str(ipam['driver']),
        config: Array.isArray(ipam['config'])
          ? ipam['config'].map((c) => ({ subnet: str(dict(c)['subnet']) }))
          : undefined,
      },
      external: external(d['external']),
      internal: bool(d['internal']),
      attachable: bool(d['attachable']),
      labels: mappingOrList(d['labels'], false),
    };
    if (network.external.external) {
      if (network.external.name !== '') {
        if (network.name !== '') {
          throw new Error(
            `network ${name}: network.external.name and network.name conflict; only use network.name`,
          );
        }
        if (versionAtLeast(ctx.version, '3.5')) {
          ctx.warn(`network ${name}: network.external.name is deprecated in favor of network.name`);
        }
        network.name = network.external.name;
        network.external.name = '';
      } else if (network.name === '') {
        network.name = name;
      }
      // Docker keeps the `x-` keys of external networks only.
      network.extras = extrasOf(d);
    }
    put(out, name, network);
  }
  return out;
}

function loadVolumes(source: Dict, ctx: DecodeContext): Record<string, VolumeConfig> {
  const out: Record<string, VolumeConfig> = {};
  for (const name of Object.keys(source).sort()) {
    const d = dict(source[name]);
    const volume: VolumeConfig = {
      name: str(d['name']),
      driver: str(d['driver']),
      driverOpts: stringMap(d['driver_opts']),
      external: external(d['external']),
      labels: mappingOrList(d['labels'], false),
    };
    if (isDict(d['x-cluster-spec'])) volume.spec = d['x-cluster-spec'];
    if (volume.external.external) {
      const conflict = (key: string): Error =>
        new Error(`conflicting parameters "external" and "${key}" specified for volume "${name}"`);
      if (volume.driver !== '') throw conflict('driver');
      if (Object.keys(volume.driverOpts ?? {}).length > 0) throw conflict('driver_opts');
      if (Object.keys(volume.labels ?? {}).length > 0) throw conflict('labels');
      if (volume.external.name !== '') {
        if (volume.name !== '') {
          throw new Error(
            `volume ${name}: volume.external.name and volume.name conflict; only use volume.name`,
          );
        }
        if (versionAtLeast(ctx.version, '3.4')) {
          ctx.warn(`volume ${name}: volume.external.name is deprecated in favor of volume.name`);
        }
        volume.name = volume.external.name;
        volume.external.name = '';
      } else if (volume.name === '') {
        volume.name = name;
      }
      volume.extras = extrasOf(d);
    }
    put(out, name, volume);
  }
  return out;
}

function loadFileObjects(
  source: Dict,
  kind: 'secret' | 'config',
  ctx: DecodeContext,
): Record<string, FileObjectConfig> {
  const out: Record<string, FileObjectConfig> = {};
  for (const name of Object.keys(source).sort()) {
    const d = dict(source[name]);
    const obj: FileObjectConfig = {
      name: str(d['name']),
      file: str(d['file']),
      external: external(d['external']),
      labels: mappingOrList(d['labels'], false),
      driver: str(d['driver']),
      driverOpts: stringMap(d['driver_opts']),
      templateDriver: str(d['template_driver']),
    };
    if (obj.external.external) {
      if (obj.external.name !== '') {
        if (obj.name !== '') {
          throw new Error(
            `${kind} ${name}: ${kind}.external.name and ${kind}.name conflict; only use ${kind}.name`,
          );
        }
        if (versionAtLeast(ctx.version, '3.5')) {
          ctx.warn(`${kind} ${name}: ${kind}.external.name is deprecated in favor of ${kind}.name`);
        }
        obj.name = obj.external.name;
        obj.external.name = '';
      } else if (obj.name === '') {
        obj.name = name;
      }
    } else if (obj.driver !== '') {
      if (obj.file !== '') {
        throw new Error(`${kind} ${name}: ${kind}.driver and ${kind}.file conflict; only use ${kind}.driver`);
      }
    } else {
      obj.file = absPath(ctx.workingDir, obj.file);
    }
    obj.extras = extrasOf(d);
    put(out, name, obj);
  }
  return out;
}

/** loadSections: one file's typed configuration. */
export function loadSections(tree: Tree, filename: string, ctx: DecodeContext): Config {
  const services = dict(tree['services']);
  const config: Config = {
    filename,
    version: ctx.version,
    services: Object.keys(services).map((name) => loadService(name, dict(services[name]), ctx)),
    networks: loadNetworks(dict(tree['networks']), ctx),
    volumes: loadVolumes(dict(tree['volumes']), ctx),
    secrets: loadFileObjects(dict(tree['secrets']), 'secret', ctx),
    configs: loadFileObjects(dict(tree['configs']), 'config', ctx),
    extras: extrasOf(tree),
  };
  return config;
}
