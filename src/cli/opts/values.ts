// docker/cli's value types for service and swarm flags (opts.MemBytes, opts.NanoCPUs,
// opts.DurationOpt, Uint64Opt, PortOpt, MountOpt, SecretOpt, ConfigOpt, NetworkOpt, placement
// preferences, ShlexOpt, UlimitOpt…): how each parses a flag value, with Docker's error texts, and the
// type name help shows for it.

import { shlexSplit } from '../../api/shlex.js';
import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { formatDuration, parseDuration } from '../../api/duration.js';
import { setOwn } from '../../api/own.js';
import { parseCPUs, ramInBytes, UnitsError } from '../../api/units.js';
import type { FlagDefinition } from '../flags.js';
import { parseBool, parseFloat, parseIntBig, parseUint } from '../../api/strconv.js';
import { cut, readCSVRecord } from './lists.js';

/** Re-throws units errors as plain errors (their text is the flag-error reason). */
function unitsReason<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof UnitsError) throw new Error(e.message);
    throw e;
  }
}

/** opts.MemBytes (`bytes`): a size with binary suffixes, in bytes. */
export function memBytesFlag(usage: string): FlagDefinition<number> {
  return {
    usage,
    type: 'bytes',
    initial: 0,
    defValue: '0',
    set: (raw) => unitsReason(() => ramInBytes(raw)),
  };
}

/** opts.NanoCPUs (`decimal`): a CPU amount, in nano CPUs. */
export function nanoCPUsFlag(usage: string): FlagDefinition<number> {
  return {
    usage,
    type: 'decimal',
    initial: 0,
    defValue: '',
    set: (raw) => unitsReason(() => parseCPUs(raw)),
  };
}

/** opts.DurationOpt: a duration that stays unset (undefined) unless given. */
export function optionalDurationFlag(usage: string, positive = false): FlagDefinition<number | undefined> {
  return {
    usage,
    type: 'duration',
    initial: undefined,
    defValue: '',
    set: (raw) => {
      const d = parseDuration(raw);
      if (positive && d < 0) throw new Error('duration cannot be negative');
      return d;
    },
  };
}

/** Uint64Opt (`uint`): an unsigned integer that stays unset unless given. */
export function optionalUintFlag(usage: string): FlagDefinition<number | undefined> {
  return { usage, type: 'uint', initial: undefined, defValue: '', set: (raw) => parseUint(raw, 0, 64) };
}

/** The service flags' floatValue (`float`): a float32. */
export function float32Flag(usage: string): FlagDefinition<number> {
  return { usage, type: 'float', initial: 0, defValue: '0', set: (raw) => parseFloat(raw, 32) };
}

/** A pflag duration flag whose default is shown (or not) by its usage text, as Docker's service flags. */
export function durationFlag(usage: string, initialNs = 0): FlagDefinition<number> {
  return {
    usage,
    type: 'duration',
    initial: initialNs,
    defValue: formatDuration(initialNs),
    zeroDefValues: ['0', '0s'],
    set: (raw) => parseDuration(raw),
  };
}

// ---------------------------------------------------------------- ports

export interface PortConfig {
  Name?: string;
  Protocol?: string;
  TargetPort?: number;
  PublishedPort?: number;
  PublishMode?: string;
}

/** nat.ParsePortRange: `80` or `80-90`. */
function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new Error('empty string specified for ports');
  if (!ports.includes('-')) {
    const p = parseUint(ports, 10, 16);
    return [p, p];
  }
  const parts = ports.split('-');
  const start = parseUint(parts[0]!, 10, 16);
  const end = parseUint(parts[1]!, 10, 16);
  if (end < start) throw new Error(`invalid range specified for port: ${ports}`);
  return [start, end];
}

/** The short `--publish` syntax (`[ip:][published:]target[/proto]`), as go-connections' nat reads it. */
function parseShortPort(raw: string): PortConfig[] {
  const parts = raw.split(':');
  const n = parts.length;
  let containerPort = parts[n - 1]!;
  const hostPort = n >= 2 ? parts[n - 2]! : '';
  const ip = n >= 3 ? parts.slice(0, n - 2).join(':') : '';
  let proto = '';
  if (containerPort !== '' && !containerPort.startsWith('/')) {
    const slash = containerPort.split('/');
    if (slash.length === 1 || slash[1] === '') proto = 'tcp';
    else proto = slash[1]!;
    containerPort = slash[0]!;
  } else {
    containerPort = '';
  }
  const bareIP = ip.startsWith('[') ? ip.replace(/^\[(.*)\]$/, '$1') : ip;
  if (ip !== '' && isIP(bareIP) === 0) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let hostStart = 0;
  let hostEnd = 0;
  if (hostPort !== '') {
    try {
      [hostStart, hostEnd] = parsePortRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw new Error(
      `invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`,
    );
  }
  const protocol = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(protocol)) throw new Error(`invalid proto: ${proto}`);
  if (ip !== '') throw new Error('hostip is not supported');
  const out: PortConfig[] = [];
  for (let i = 0; i <= end - start; i++) {
    // A single target port with a published range publishes every port of the range.
    const published: [number, number] =
      hostPort === '' ? [0, 0] : start === end ? [hostStart, hostEnd] : [hostStart + i, hostStart + i];
    for (let p = published[0]; p <= published[1]; p++) {
      out.push({ Protocol: protocol, TargetPort: start + i, PublishedPort: p, PublishMode: 'ingress' });
    }
  }
  return out;
}

/** opts.PortOpt.Set: the long (`published=8080,target=80,mode=host`) or short syntax. */
export function parsePort(raw: string): PortConfig[] {
  if (!/\w+=\w+(,\w+=\w+)*/.test(raw)) return parseShortPort(raw);
  const port: PortConfig = {};
  for (const field of readCSVRecord(raw)) {
    const [key, val, ok] = cut(field.toLowerCase(), '=');
    if (!ok || key === '') throw new Error(`invalid field: ${field}`);
    switch (key) {
      case 'protocol':
        if (!['tcp', 'udp', 'sctp'].includes(val)) throw new Error(`invalid protocol value '${val}'`);
        port.Protocol = val;
        break;
      case 'mode':
        if (val !== 'ingress' && val !== 'host') {
          throw new Error(`invalid publish mode value (${val}): must be either 'ingress' or 'host'`);
        }
        port.PublishMode = val;
        break;
      case 'target':
        port.TargetPort = parseUint(val, 10, 16);
        break;
      case 'published':
        port.PublishedPort = parseUint(val, 10, 16);
        break;
      default:
        throw new Error(`invalid field key: ${key}`);
    }
  }
  if (!port.TargetPort) throw new Error("missing mandatory field 'target'");
  return [
    {
      Protocol: port.Protocol ?? 'tcp',
      TargetPort: port.TargetPort,
      PublishedPort: port.PublishedPort,
      PublishMode: port.PublishMode ?? 'ingress',
    },
  ];
}

export function portFlag(shorthand: string | undefined, usage: string): FlagDefinition<PortConfig[]> {
  return {
    shorthand,
    usage,
    type: 'port',
    initial: [],
    defValue: '',
    set: (raw, cur) => [...cur, ...parsePort(raw)],
  };
}

// ---------------------------------------------------------------- mounts

export interface MountSpec {
  Type?: string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; NonRecursive?: boolean };
  VolumeOptions?: {
    NoCopy?: boolean;
    Labels?: Record<string, string>;
    Subpath?: string;
    DriverConfig?: { Name?: string; Options?: Record<string, string> };
  };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

/** opts.MountOpt.Set. */
export function parseMount(raw: string): MountSpec {
  const mount: MountSpec = { Type: 'volume' };
  const volume = (): NonNullable<MountSpec['VolumeOptions']> => {
    mount.VolumeOptions ??= { Labels: {} };
    mount.VolumeOptions.DriverConfig ??= {};
    return mount.VolumeOptions;
  };
  const bind = (): NonNullable<MountSpec['BindOptions']> => (mount.BindOptions ??= {});
  const tmpfs = (): NonNullable<MountSpec['TmpfsOptions']> => (mount.TmpfsOptions ??= {});
  const setOnMap = (target: Record<string, string>, value: string): void => {
    const [k, v] = cut(value, '=');
    if (k !== '') setOwn(target, k, v);
  };
  for (const field of readCSVRecord(raw)) {
    const [rawKey, val, ok] = cut(field, '=');
    const key = rawKey.toLowerCase();
    if (!ok) {
      if (key === 'readonly' || key === 'ro') mount.ReadOnly = true;
      else if (key === 'volume-nocopy') volume().NoCopy = true;
      else if (key === 'bind-nonrecursive') bind().NonRecursive = true;
      else throw new Error(`invalid field '${field}' must be a key=value pair`);
      continue;
    }
    const boolValue = (what: string): boolean => {
      try {
        return parseBool(val);
      } catch {
        throw new Error(`invalid value for ${what}: ${val}`);
      }
    };
    switch (key) {
      case 'type':
        mount.Type = val.toLowerCase();
        break;
      case 'source':
      case 'src':
        mount.Source = val === '.' || val.startsWith('./') ? resolvePath(val) : val;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.Target = val;
        break;
      case 'readonly':
      case 'ro':
        mount.ReadOnly = boolValue(key);
        break;
      case 'consistency':
        mount.Consistency = val.toLowerCase();
        break;
      case 'bind-propagation':
        bind().Propagation = val.toLowerCase();
        break;
      case 'bind-nonrecursive':
        bind().NonRecursive = boolValue(key);
        break;
      case 'volume-driver':
        volume().DriverConfig!.Name = val;
        break;
      case 'volume-opt':
        setOnMap((volume().DriverConfig!.Options ??= {}), val);
        break;
      case 'volume-subpath':
        volume().Subpath = val;
        break;
      case 'volume-label':
        setOnMap(volume().Labels!, val);
        break;
      case 'volume-nocopy':
        volume().NoCopy = boolValue('volume-nocopy');
        break;
      case 'tmpfs-size':
        try {
          tmpfs().SizeBytes = ramInBytes(val);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode':
        try {
          tmpfs().Mode = parseUint(val, 8, 32);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (!mount.Type) throw new Error('type is required');
  if (!mount.Target) throw new Error('target is required');
  if (mount.VolumeOptions && mount.Type !== 'volume') {
    throw new Error(`cannot mix 'volume-*' options with mount type '${mount.Type}'`);
  }
  if (mount.BindOptions && mount.Type !== 'bind') {
    throw new Error(`cannot mix 'bind-*' options with mount type '${mount.Type}'`);
  }
  if (mount.TmpfsOptions && mount.Type !== 'tmpfs') {
    throw new Error(`cannot mix 'tmpfs-*' options with mount type '${mount.Type}'`);
  }
  return mount;
}

export function mountFlag(usage: string): FlagDefinition<MountSpec[]> {
  return { usage, type: 'mount', initial: [], defValue: '', set: (raw, cur) => [...cur, parseMount(raw)] };
}

// ---------------------------------------------------------------- secrets and configs

/** A secret or config reference as the user named it (its ID is looked up before sending). */
export interface FileReference {
  name: string;
  file: { Name: string; UID: string; GID: string; Mode: number };
}

/** opts.SecretOpt / opts.ConfigOpt .Set: `name` or `source=…,target=…,uid=…,gid=…,mode=…`. */
export function parseFileReference(raw: string, kind: 'secret' | 'config'): FileReference {
  const fields = readCSVRecord(raw);
  const ref: FileReference = { name: '', file: { Name: '', UID: '0', GID: '0', Mode: 0o444 } };
  if (fields.length === 1 && !fields[0]!.includes('=')) {
    ref.name = fields[0]!;
    ref.file.Name = fields[0]!;
    return ref;
  }
  for (const field of fields) {
    const [key, val, ok] = cut(field, '=');
    if (!ok || key === '') throw new Error(`invalid field '${field}' must be a key=value pair`);
    switch (key.toLowerCase()) {
      case 'source':
      case 'src':
        ref.name = val;
        break;
      case 'target':
        ref.file.Name = val;
        break;
      case 'uid':
        ref.file.UID = val;
        break;
      case 'gid':
        ref.file.GID = val;
        break;
      case 'mode':
        try {
          ref.file.Mode = parseUint(val, 0, 32);
        } catch (e) {
          throw new Error(`invalid mode specified: ${(e as Error).message}`);
        }
        break;
      default:
        throw new Error(`invalid field in ${kind} request: ${key}`);
    }
  }
  if (ref.name === '') throw new Error('source is required');
  if (ref.file.Name === '') ref.file.Name = ref.name;
  return ref;
}

export function fileReferenceFlag(kind: 'secret' | 'config', usage: string): FlagDefinition<FileReference[]> {
  return {
    usage,
    type: kind,
    initial: [],
    defValue: '',
    set: (raw, cur) => [...cur, parseFileReference(raw, kind)],
  };
}

// ---------------------------------------------------------------- networks

export interface NetworkAttachment {
  Target: string;
  Aliases?: string[];
  DriverOpts?: Record<string, string>;
}

/** opts.NetworkOpt.Set: `name` or `name=…,alias=…,driver-opt=k=v`. */
export function parseNetwork(raw: string): NetworkAttachment {
  if (!/\w+=\w+(,\w+=\w+)*/.test(raw)) return { Target: raw };
  const net: NetworkAttachment = { Target: '', Aliases: [] };
  for (const field of readCSVRecord(raw)) {
    const [rawKey, val, ok] = cut(field.toLowerCase(), '=');
    const key = rawKey.trim();
    if (!ok || key === '') throw new Error(`invalid field ${field}`);
    switch (key) {
      case 'name':
        net.Target = val;
        break;
      case 'alias':
        net.Aliases!.push(val);
        break;
      case 'driver-opt': {
        const [k, v, has] = cut(val, '=');
        if (!has || k === '') throw new Error('invalid key value pair format in driver options');
        setOwn((net.DriverOpts ??= {}), k.trim().toLowerCase(), v.trim().toLowerCase());
        break;
      }
      case 'ip':
      case 'ip6':
      case 'link-local-ip':
      case 'gw-priority':
        throw new Error(`network ${key} is not supported for services`);
      default:
        throw new Error(`invalid field key ${key}`);
    }
  }
  if (net.Target === '') throw new Error('network name/id is not specified');
  return net;
}

export function networkFlag(usage: string): FlagDefinition<NetworkAttachment[]> {
  return {
    usage,
    type: 'network',
    initial: [],
    defValue: '',
    set: (raw, cur) => [...cur, parseNetwork(raw)],
  };
}

// ---------------------------------------------------------------- placement preferences

export interface PlacementPreference {
  Spread: { SpreadDescriptor: string };
}

/** placementPrefOpts.Set: `spread=<descriptor>`, the only strategy Docker knows. */
export function parsePlacementPref(raw: string): PlacementPreference {
  const [strategy, arg, ok] = cut(raw, '=');
  if (!ok || strategy === '')
    throw new Error('placement preference must be of the format "<strategy>=<arg>"');
  if (strategy !== 'spread')
    throw new Error(`unsupported placement preference ${strategy} (only spread is supported)`);
  return { Spread: { SpreadDescriptor: arg } };
}

export function placementPrefFlag(usage: string): FlagDefinition<PlacementPreference[]> {
  return {
    usage,
    type: 'pref',
    initial: [],
    defValue: '',
    set: (raw, cur) => [...cur, parsePlacementPref(raw)],
  };
}

// ---------------------------------------------------------------- shell words

export { shlexSplit };

/** ShlexOpt (`command`): shell words, unset unless given. */
export function commandFlag(usage: string): FlagDefinition<string[] | undefined> {
  return { usage, type: 'command', initial: undefined, defValue: '', set: (raw) => shlexSplit(raw) };
}

// ---------------------------------------------------------------- ulimits, generic resources, credential specs

export interface Ulimit {
  Name: string;
  Hard: number;
  Soft: number;
}

const ULIMIT_NAMES = new Set([
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
]);

/** go-units ParseUlimit: `name=soft[:hard]`. */
export function parseUlimit(raw: string): Ulimit {
  const [name, limits, ok] = cut(raw, '=');
  if (!ok) throw new Error(`invalid ulimit argument: ${raw}`);
  if (!ULIMIT_NAMES.has(name)) throw new Error(`invalid ulimit type: ${name}`);
  const parts = limits.split(':');
  if (parts.length > 2) {
    throw new Error(`too many limit value arguments - ${limits}, can only have up to two, \`soft[:hard]\``);
  }
  const hardRaw = parts.length === 2 ? parseIntBig(parts[1]!, 10, 64) : undefined;
  const soft = parseIntBig(parts[0]!, 10, 64);
  const hard = hardRaw ?? soft;
  if (hard !== -1n && soft > hard)
    throw new Error(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
  return { Name: name, Hard: Number(hard), Soft: Number(soft) };
}

/** opts.UlimitOpt: one limit per name, listed by name. */
export function ulimitFlag(usage: string): FlagDefinition<Ulimit[]> {
  return {
    usage,
    type: 'ulimit',
    initial: [],
    defValue: '[]',
    set: (raw, cur) => {
      const u = parseUlimit(raw);
      return [...cur.filter((x) => x.Name !== u.Name), u].sort((a, b) =>
        a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0,
      );
    },
  };
}

export interface GenericResource {
  NamedResourceSpec?: { Kind: string; Value: string };
  DiscreteResourceSpec?: { Kind: string; Value: number };
}

/** ValidateSingleGenericResource + ParseGenericResources: `kind=value` (a number makes it discrete). */
export function parseGenericResource(raw: string): GenericResource {
  const [kind, value, ok] = cut(raw, '=');
  if (!ok || kind === '' || value === '') {
    throw new Error(`invalid generic-resource format \`${raw}\` expected \`name=value\``);
  }
  if (/^-?\d+$/.test(value)) return { DiscreteResourceSpec: { Kind: kind, Value: Number(value) } };
  return { NamedResourceSpec: { Kind: kind, Value: value } };
}

export interface CredentialSpec {
  Config?: string;
  File?: string;
  Registry?: string;
}

/** credentialSpecOpt.Set: `config://`, `file://` or `registry://` (empty removes it). */
export function credentialSpecFlag(
  usage: string,
): FlagDefinition<{ source: string; value?: CredentialSpec } | undefined> {
  return {
    usage,
    type: 'credential-spec',
    initial: undefined,
    defValue: '',
    set: (raw) => {
      for (const [prefix, key] of [
        ['config://', 'Config'],
        ['file://', 'File'],
        ['registry://', 'Registry'],
      ] as const) {
        if (raw.startsWith(prefix)) return { source: raw, value: { [key]: raw.slice(prefix.length) } };
      }
      if (raw === '') return { source: raw, value: {} };
      throw new Error(
        'invalid credential spec: value must be prefixed with "config://", "file://", or "registry://"',
      );
    },
  };
}

// ---------------------------------------------------------------- swarm flag types

/** opts.ParseTCPAddr for `--listen-addr`: fills a missing host or port from `0.0.0.0:2377`. */
export function parseNodeAddr(raw: string, defaultAddr = '0.0.0.0:2377'): string {
  let addr = raw;
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(addr);
  if (scheme) {
    if (scheme[1] !== 'tcp') throw new Error(`unsupported proto '${scheme[1]}'`);
    addr = addr.slice(scheme[0].length);
  }
  if (addr.includes('/') && addr.slice(addr.indexOf('/')) !== '/')
    throw new Error(`invalid bind address (${raw}): should not contain a path element`);
  addr = addr.replace(/\/$/, '');
  const [defHost, defPort] = splitHostPort(defaultAddr);
  let [host, port] = splitHostPort(addr);
  if (host === '') host = defHost;
  if (port === '') port = defPort;
  else if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`invalid port ${port} in ${raw}`);
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function splitHostPort(addr: string): [string, string] {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    return [addr.slice(1, end), addr.slice(end + 2)];
  }
  const colon = addr.lastIndexOf(':');
  if (colon < 0 || addr.indexOf(':') !== colon) return [addr, ''];
  return [addr.slice(0, colon), addr.slice(colon + 1)];
}

export function nodeAddrFlag(usage: string, initial = '0.0.0.0:2377'): FlagDefinition<string> {
  return { usage, type: 'node-addr', initial, defValue: initial, set: (raw, cur) => parseNodeAddr(raw, cur) };
}

/** The canonical network of an IPv4 or IPv6 CIDR (Go's net.ParseCIDR, then IPNet.String()). */
export function parseCIDR(raw: string): string {
  const s = raw.trim();
  const slash = s.indexOf('/');
  const invalid = (): Error => new Error(`invalid CIDR address: ${s}`);
  if (slash < 0) throw invalid();
  const ip = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bitsText)) throw invalid();
  const bits = Number(bitsText);
  if (isIP(ip) === 4) {
    if (bits > 32) throw invalid();
    const octets = ip.split('.').map(Number);
    const n = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const net = (n & mask) >>> 0;
    return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${bits}`;
  }
  if (isIP(ip) === 6) {
    if (bits > 128) throw invalid();
    return `${ip}/${bits}`;
  }
  throw invalid();
}

/** The ipNetSlice flag of `swarm init --default-addr-pool` (comma-separated CIDRs, repeatable). */
export function ipNetSliceFlag(usage: string): FlagDefinition<string[]> {
  return {
    usage,
    type: 'ipNetSlice',
    initial: [],
    defValue: '[]',
    zeroDefValues: [],
    set: (raw, cur) => [...cur, ...readCSVRecord(raw).map(parseCIDR)],
  };
}

/** PEMFile (`pem-file`): the contents of a PEM file. */
export function pemFileFlag(usage: string): FlagDefinition<{ path: string; contents: string } | undefined> {
  return {
    usage,
    type: 'pem-file',
    initial: undefined,
    defValue: '',
    set: (raw) => {
      let contents: string;
      try {
        contents = readFileSync(raw, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new Error(
          `open ${raw}: ${code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
        );
      }
      if (!/-----BEGIN [^-]+-----/.test(contents)) throw new Error('file contents must be in PEM format');
      return { path: raw, contents };
    },
  };
}

export interface ExternalCA {
  Protocol: string;
  URL: string;
  Options?: Record<string, string>;
  CACert?: string;
}

/** ExternalCAOption.Set: `protocol=cfssl,url=…[,cacert=file][,k=v]`. */
export function parseExternalCA(raw: string): ExternalCA {
  const ca: ExternalCA = { Protocol: '', URL: '', Options: {} };
  let hasProtocol = false;
  let hasURL = false;
  for (const field of readCSVRecord(raw)) {
    const [key, value, ok] = cut(field, '=');
    if (!ok) throw new Error(`invalid field '${field}' must be a key=value pair`);
    switch (key) {
      case 'protocol':
        hasProtocol = true;
        if (value.toLowerCase() !== 'cfssl') throw new Error(`unrecognized external CA protocol ${value}`);
        ca.Protocol = 'cfssl';
        break;
      case 'url':
        hasURL = true;
        ca.URL = value;
        break;
      case 'cacert': {
        let contents: string;
        try {
          contents = readFileSync(value, 'utf8');
        } catch (e) {
          throw new Error(`unable to read CA cert for external CA: open ${value}: ${(e as Error).message}`);
        }
        if (!/-----BEGIN [^-]+-----/.test(contents))
          throw new Error('CA cert for external CA must be in PEM format');
        ca.CACert = contents;
        break;
      }
      default:
        setOwn(ca.Options!, key, value);
    }
  }
  if (!hasProtocol) throw new Error('the external-ca option needs a protocol= parameter');
  if (!hasURL) throw new Error('the external-ca option needs a url= parameter');
  return ca;
}

export function externalCAFlag(usage: string): FlagDefinition<ExternalCA[]> {
  return {
    usage,
    type: 'external-ca',
    initial: [],
    defValue: '',
    set: (raw, cur) => [...cur, parseExternalCA(raw)],
  };
}
