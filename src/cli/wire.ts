// JSON exactly as Docker's Go client writes it. The docker CLI decodes every object it reads into Go
// structs and marshals those structs back, so what it sends (request bodies) and prints (`inspect`)
// has the structs' field order, drops unknown fields and applies the `omitempty` rules: a zero value
// with omitempty is left out, a nil pointer/slice/map without it is `null`, a struct is always there.
// This module holds those struct shapes (moby's api/types/swarm, v28) and the encoder.

import { formatDuration } from '../api/duration.js';
import { setOwn } from '../api/own.js';
import { goJSONString } from './format/gojson.js';
import { goStruct, GO_TYPE } from './format/govalue.js';
import { goTimeString } from './format-helpers.js';
import { formatFloat32 } from '../api/strconv.js';

/** A field shape: a scalar, a struct (ordered fields), a slice, a map (sorted keys) or a pointer. */
export type Shape =
  | 'string'
  | 'bool'
  | 'int'
  | 'float32'
  /** time.Duration: an int on the wire, printed as `1m30s` in templates */
  | 'duration'
  /** time.Time: an RFC 3339 string on the wire, never "empty" (it is a struct) */
  | 'time'
  /** any JSON value, written as given (used for opaque parts such as plugin specs) */
  | 'raw'
  /** []byte: base64 text on the wire; templates see Go's byte list (`{{json}}` of it: the base64 text) */
  | 'bytes'
  | { struct: readonly Field[]; name: string }
  | { slice: Shape }
  | { map: Shape }
  | { ptr: Shape };

export interface Field {
  name: string;
  shape: Shape;
  /** Go's `json:",omitempty"`. */
  omitempty?: boolean;
}

const f = (name: string, shape: Shape, omitempty = false): Field => ({ name, shape, omitempty });
const o = (name: string, shape: Shape): Field => f(name, shape, true);
const struct = (name: string, ...fields: Field[]): Shape => ({ struct: fields, name });
const slice = (shape: Shape): Shape => ({ slice: shape });
const map = (shape: Shape): Shape => ({ map: shape });
const ptr = (shape: Shape): Shape => ({ ptr: shape });

/** A pre-encoded JSON text that the client sends as is. */
export class RawJSON {
  constructor(readonly text: string) {}
  toJSON(): unknown {
    return JSON.parse(this.text) as unknown;
  }
}

// ---------------------------------------------------------------- shapes

const VERSION = struct('swarm.Version', o('Index', 'int'));
const DRIVER = struct('swarm.Driver', o('Name', 'string'), o('Options', map('string')));
const PLATFORM = struct('swarm.Platform', o('Architecture', 'string'), o('OS', 'string'));
const GENERIC_RESOURCE = struct(
  'swarm.GenericResource',
  o(
    'NamedResourceSpec',
    ptr(struct('swarm.NamedGenericResource', o('Kind', 'string'), o('Value', 'string'))),
  ),
  o(
    'DiscreteResourceSpec',
    ptr(struct('swarm.DiscreteGenericResource', o('Kind', 'string'), o('Value', 'int'))),
  ),
);
const PORT_CONFIG = struct(
  'swarm.PortConfig',
  o('Name', 'string'),
  o('Protocol', 'string'),
  o('TargetPort', 'int'),
  o('PublishedPort', 'int'),
  o('PublishMode', 'string'),
);
const NETWORK_ATTACHMENT_CONFIG = struct(
  'swarm.NetworkAttachmentConfig',
  o('Target', 'string'),
  o('Aliases', slice('string')),
  o('DriverOpts', map('string')),
);
const MOUNT = struct(
  'mount.Mount',
  o('Type', 'string'),
  o('Source', 'string'),
  o('Target', 'string'),
  o('ReadOnly', 'bool'),
  o('Consistency', 'string'),
  o(
    'BindOptions',
    ptr(
      struct(
        'mount.BindOptions',
        o('Propagation', 'string'),
        o('NonRecursive', 'bool'),
        o('CreateMountpoint', 'bool'),
        o('ReadOnlyNonRecursive', 'bool'),
        o('ReadOnlyForceRecursive', 'bool'),
      ),
    ),
  ),
  o(
    'VolumeOptions',
    ptr(
      struct(
        'mount.VolumeOptions',
        o('NoCopy', 'bool'),
        o('Labels', map('string')),
        o('Subpath', 'string'),
        o('DriverConfig', ptr(struct('mount.Driver', o('Name', 'string'), o('Options', map('string'))))),
      ),
    ),
  ),
  o('ImageOptions', ptr(struct('mount.ImageOptions', o('Subpath', 'string')))),
  o(
    'TmpfsOptions',
    ptr(
      struct(
        'mount.TmpfsOptions',
        o('SizeBytes', 'int'),
        o('Mode', 'int'),
        o('Options', slice(slice('string'))),
      ),
    ),
  ),
  o('ClusterOptions', ptr(struct('mount.ClusterOptions'))),
);
const HEALTH_CONFIG = struct(
  'container.HealthConfig',
  o('Test', slice('string')),
  o('Interval', 'duration'),
  o('Timeout', 'duration'),
  o('StartPeriod', 'duration'),
  o('StartInterval', 'duration'),
  o('Retries', 'int'),
);
const fileTarget = (name: string): Shape =>
  struct(name, f('Name', 'string'), f('UID', 'string'), f('GID', 'string'), f('Mode', 'int'));
const PRIVILEGES = struct(
  'swarm.Privileges',
  f(
    'CredentialSpec',
    ptr(struct('swarm.CredentialSpec', f('Config', 'string'), f('File', 'string'), f('Registry', 'string'))),
  ),
  f(
    'SELinuxContext',
    ptr(
      struct(
        'swarm.SELinuxContext',
        f('Disable', 'bool'),
        f('User', 'string'),
        f('Role', 'string'),
        f('Type', 'string'),
        f('Level', 'string'),
      ),
    ),
  ),
  o('Seccomp', ptr('raw')),
  o('AppArmor', ptr('raw')),
  f('NoNewPrivileges', 'bool'),
);
const CONTAINER_SPEC = struct(
  'swarm.ContainerSpec',
  o('Image', 'string'),
  o('Labels', map('string')),
  o('Command', slice('string')),
  o('Args', slice('string')),
  o('Hostname', 'string'),
  o('Env', slice('string')),
  o('Dir', 'string'),
  o('User', 'string'),
  o('Groups', slice('string')),
  o('Privileges', ptr(PRIVILEGES)),
  o('Init', ptr('bool')),
  o('StopSignal', 'string'),
  o('TTY', 'bool'),
  o('OpenStdin', 'bool'),
  o('ReadOnly', 'bool'),
  o('Mounts', slice(MOUNT)),
  o('StopGracePeriod', ptr('duration')),
  o('Healthcheck', ptr(HEALTH_CONFIG)),
  o('Hosts', slice('string')),
  o(
    'DNSConfig',
    ptr(
      struct(
        'swarm.DNSConfig',
        o('Nameservers', slice('string')),
        o('Search', slice('string')),
        o('Options', slice('string')),
      ),
    ),
  ),
  o(
    'Secrets',
    slice(
      ptr(
        struct(
          'swarm.SecretReference',
          f('File', ptr(fileTarget('swarm.SecretReferenceFileTarget'))),
          f('SecretID', 'string'),
          f('SecretName', 'string'),
        ),
      ),
    ),
  ),
  o(
    'Configs',
    slice(
      ptr(
        struct(
          'swarm.ConfigReference',
          o('File', ptr(fileTarget('swarm.ConfigReferenceFileTarget'))),
          o('Runtime', ptr(struct('swarm.ConfigReferenceRuntimeTarget'))),
          f('ConfigID', 'string'),
          f('ConfigName', 'string'),
        ),
      ),
    ),
  ),
  o('Isolation', 'string'),
  o('Sysctls', map('string')),
  o('CapabilityAdd', slice('string')),
  o('CapabilityDrop', slice('string')),
  o(
    'Ulimits',
    slice(ptr(struct('container.Ulimit', f('Name', 'string'), f('Hard', 'int'), f('Soft', 'int')))),
  ),
  o('OomScoreAdj', 'int'),
);
const TASK_SPEC = struct(
  'swarm.TaskSpec',
  o('ContainerSpec', ptr(CONTAINER_SPEC)),
  o('PluginSpec', ptr('raw')),
  o('NetworkAttachmentSpec', ptr(struct('swarm.NetworkAttachmentSpec', f('ContainerID', 'string')))),
  o(
    'Resources',
    ptr(
      struct(
        'swarm.ResourceRequirements',
        o(
          'Limits',
          ptr(struct('swarm.Limit', o('NanoCPUs', 'int'), o('MemoryBytes', 'int'), o('Pids', 'int'))),
        ),
        o(
          'Reservations',
          ptr(
            struct(
              'swarm.Resources',
              o('NanoCPUs', 'int'),
              o('MemoryBytes', 'int'),
              o('GenericResources', slice(GENERIC_RESOURCE)),
            ),
          ),
        ),
      ),
    ),
  ),
  o(
    'RestartPolicy',
    ptr(
      struct(
        'swarm.RestartPolicy',
        o('Condition', 'string'),
        o('Delay', ptr('duration')),
        o('MaxAttempts', ptr('int')),
        o('Window', ptr('duration')),
      ),
    ),
  ),
  o(
    'Placement',
    ptr(
      struct(
        'swarm.Placement',
        o('Constraints', slice('string')),
        o(
          'Preferences',
          slice(
            struct(
              'swarm.PlacementPreference',
              f('Spread', ptr(struct('swarm.SpreadOver', f('SpreadDescriptor', 'string')))),
            ),
          ),
        ),
        o('MaxReplicas', 'int'),
        o('Platforms', slice(PLATFORM)),
      ),
    ),
  ),
  o('Networks', slice(NETWORK_ATTACHMENT_CONFIG)),
  o('LogDriver', ptr(DRIVER)),
  f('ForceUpdate', 'int'),
  o('Runtime', 'string'),
);
const UPDATE_CONFIG = struct(
  'swarm.UpdateConfig',
  f('Parallelism', 'int'),
  o('Delay', 'duration'),
  o('FailureAction', 'string'),
  o('Monitor', 'duration'),
  f('MaxFailureRatio', 'float32'),
  f('Order', 'string'),
);
const ENDPOINT_SPEC = struct('swarm.EndpointSpec', o('Mode', 'string'), o('Ports', slice(PORT_CONFIG)));

/** swarm.ServiceSpec: the body of `POST /services/create` and `/services/{id}/update`. */
export const SERVICE_SPEC: Shape = struct(
  'swarm.ServiceSpec',
  o('Name', 'string'),
  f('Labels', map('string')),
  o('TaskTemplate', TASK_SPEC),
  o(
    'Mode',
    struct(
      'swarm.ServiceMode',
      o('Replicated', ptr(struct('swarm.ReplicatedService', o('Replicas', ptr('int'))))),
      o('Global', ptr(struct('swarm.GlobalService'))),
      o(
        'ReplicatedJob',
        ptr(struct('swarm.ReplicatedJob', o('MaxConcurrent', ptr('int')), o('TotalCompletions', ptr('int')))),
      ),
      o('GlobalJob', ptr(struct('swarm.GlobalJob'))),
    ),
  ),
  o('UpdateConfig', ptr(UPDATE_CONFIG)),
  o('RollbackConfig', ptr(UPDATE_CONFIG)),
  o('Networks', slice(NETWORK_ATTACHMENT_CONFIG)),
  o('EndpointSpec', ptr(ENDPOINT_SPEC)),
);

/** swarm.Service: what `service inspect` prints. */
export const SERVICE: Shape = struct(
  'swarm.Service',
  f('ID', 'string'),
  o('Version', VERSION),
  o('CreatedAt', 'time'),
  o('UpdatedAt', 'time'),
  o('Spec', SERVICE_SPEC),
  o('PreviousSpec', ptr(SERVICE_SPEC)),
  o(
    'Endpoint',
    struct(
      'swarm.Endpoint',
      o('Spec', ENDPOINT_SPEC),
      o('Ports', slice(PORT_CONFIG)),
      o(
        'VirtualIPs',
        slice(struct('swarm.EndpointVirtualIP', o('NetworkID', 'string'), o('Addr', 'string'))),
      ),
    ),
  ),
  o(
    'UpdateStatus',
    ptr(
      struct(
        'swarm.UpdateStatus',
        o('State', 'string'),
        o('StartedAt', ptr('time')),
        o('CompletedAt', ptr('time')),
        o('Message', 'string'),
      ),
    ),
  ),
  o(
    'ServiceStatus',
    ptr(
      struct(
        'swarm.ServiceStatus',
        f('RunningTasks', 'int'),
        f('DesiredTasks', 'int'),
        f('CompletedTasks', 'int'),
      ),
    ),
  ),
  o('JobStatus', ptr(struct('swarm.JobStatus', f('JobIteration', VERSION), o('LastExecution', 'time')))),
);

/** swarm.NodeSpec: the body of `POST /nodes/{id}/update`. */
export const NODE_SPEC: Shape = struct(
  'swarm.NodeSpec',
  o('Name', 'string'),
  f('Labels', map('string')),
  o('Role', 'string'),
  o('Availability', 'string'),
);

const TLS_INFO = struct(
  'swarm.TLSInfo',
  o('TrustRoot', 'string'),
  o('CertIssuerSubject', 'string'),
  o('CertIssuerPublicKey', 'string'),
);

/** swarm.Node: what `node inspect` prints. */
export const NODE: Shape = struct(
  'swarm.Node',
  f('ID', 'string'),
  o('Version', VERSION),
  o('CreatedAt', 'time'),
  o('UpdatedAt', 'time'),
  o('Spec', NODE_SPEC),
  o(
    'Description',
    struct(
      'swarm.NodeDescription',
      o('Hostname', 'string'),
      o('Platform', PLATFORM),
      o(
        'Resources',
        struct(
          'swarm.Resources',
          o('NanoCPUs', 'int'),
          o('MemoryBytes', 'int'),
          o('GenericResources', slice(GENERIC_RESOURCE)),
        ),
      ),
      o(
        'Engine',
        struct(
          'swarm.EngineDescription',
          o('EngineVersion', 'string'),
          o('Labels', map('string')),
          o('Plugins', slice(struct('swarm.PluginDescription', o('Type', 'string'), o('Name', 'string')))),
        ),
      ),
      o('TLSInfo', TLS_INFO),
      o('CSIInfo', slice('raw')),
    ),
  ),
  o('Status', struct('swarm.NodeStatus', o('State', 'string'), o('Message', 'string'), o('Addr', 'string'))),
  o(
    'ManagerStatus',
    ptr(struct('swarm.ManagerStatus', o('Leader', 'bool'), o('Reachability', 'string'), o('Addr', 'string'))),
  ),
);

/** swarm.SecretSpec: the body of `POST /secrets/create`. */
export const SECRET_SPEC: Shape = struct(
  'swarm.SecretSpec',
  o('Name', 'string'),
  f('Labels', map('string')),
  o('Data', 'bytes'),
  o('Driver', ptr(DRIVER)),
  o('Templating', ptr(DRIVER)),
);

/** swarm.Secret: what `secret inspect` prints. */
export const SECRET: Shape = struct(
  'swarm.Secret',
  f('ID', 'string'),
  o('Version', VERSION),
  o('CreatedAt', 'time'),
  o('UpdatedAt', 'time'),
  f('Spec', SECRET_SPEC),
);

/** swarm.ConfigSpec: the body of `POST /configs/create`. */
export const CONFIG_SPEC: Shape = struct(
  'swarm.ConfigSpec',
  o('Name', 'string'),
  f('Labels', map('string')),
  o('Data', 'bytes'),
  o('Templating', ptr(DRIVER)),
);

/** swarm.Config: what `config inspect` prints. */
export const CONFIG: Shape = struct(
  'swarm.Config',
  f('ID', 'string'),
  o('Version', VERSION),
  o('CreatedAt', 'time'),
  o('UpdatedAt', 'time'),
  f('Spec', CONFIG_SPEC),
);

/** swarm.Spec: the body of `POST /swarm/update` and part of `/swarm/init`. */
export const SWARM_SPEC: Shape = struct(
  'swarm.Spec',
  o('Name', 'string'),
  f('Labels', map('string')),
  o('Orchestration', struct('swarm.OrchestrationConfig', o('TaskHistoryRetentionLimit', ptr('int')))),
  o(
    'Raft',
    struct(
      'swarm.RaftConfig',
      o('SnapshotInterval', 'int'),
      o('KeepOldSnapshots', ptr('int')),
      o('LogEntriesForSlowFollowers', 'int'),
      f('ElectionTick', 'int'),
      f('HeartbeatTick', 'int'),
    ),
  ),
  o('Dispatcher', struct('swarm.DispatcherConfig', o('HeartbeatPeriod', 'duration'))),
  o(
    'CAConfig',
    struct(
      'swarm.CAConfig',
      o('NodeCertExpiry', 'duration'),
      o(
        'ExternalCAs',
        slice(
          ptr(
            struct(
              'swarm.ExternalCA',
              f('Protocol', 'string'),
              f('URL', 'string'),
              o('Options', map('string')),
              f('CACert', 'string'),
            ),
          ),
        ),
      ),
      o('SigningCACert', 'string'),
      o('SigningCAKey', 'string'),
      o('ForceRotate', 'int'),
    ),
  ),
  o('TaskDefaults', struct('swarm.TaskDefaults', o('LogDriver', ptr(DRIVER)))),
  o('EncryptionConfig', struct('swarm.EncryptionConfig', f('AutoLockManagers', 'bool'))),
);

/** swarm.InitRequest, with shoal's `Datastore` extension appended when set. */
export const INIT_REQUEST: Shape = struct(
  'swarm.InitRequest',
  f('ListenAddr', 'string'),
  f('AdvertiseAddr', 'string'),
  f('DataPathAddr', 'string'),
  f('DataPathPort', 'int'),
  f('ForceNewCluster', 'bool'),
  f('Spec', SWARM_SPEC),
  f('AutoLockManagers', 'bool'),
  f('Availability', 'string'),
  f('DefaultAddrPool', slice('string')),
  f('SubnetSize', 'int'),
  o('Datastore', 'string'),
);

/** swarm.JoinRequest. */
export const JOIN_REQUEST: Shape = struct(
  'swarm.JoinRequest',
  f('ListenAddr', 'string'),
  f('AdvertiseAddr', 'string'),
  f('DataPathAddr', 'string'),
  f('RemoteAddrs', slice('string')),
  f('JoinToken', 'string'),
  f('Availability', 'string'),
);

// ---------------------------------------------------------------- encoding

function isNil(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

/** Go's omitempty test for a value of the given shape. */
function isEmpty(v: unknown, shape: Shape): boolean {
  // Structs (time.Time included) are never empty to encoding/json, even when absent here.
  if (shape === 'time' || (typeof shape === 'object' && 'struct' in shape)) return false;
  if (isNil(v)) return true;
  if (typeof shape === 'string') {
    if (shape === 'string' || shape === 'bytes') return v === '';
    if (shape === 'bool') return v === false;
    if (shape === 'int' || shape === 'float32' || shape === 'duration') return v === 0;
    return false; // time.Time is a struct: never empty
  }
  if ('slice' in shape) return Array.isArray(v) && v.length === 0;
  if ('map' in shape) return typeof v === 'object' && Object.keys(v as object).length === 0;
  return false; // pointers (non-nil) and structs are never empty
}

function encodeScalar(
  v: unknown,
  shape: 'string' | 'bool' | 'int' | 'float32' | 'duration' | 'time' | 'raw' | 'bytes',
): string {
  switch (shape) {
    case 'string':
    case 'bytes':
      return goJSONString(isNil(v) ? '' : String(v));
    case 'time':
      return goJSONString(isNil(v) || v === '' ? GO_ZERO_TIME : String(v));
    case 'bool':
      return v === true ? 'true' : 'false';
    case 'duration':
    case 'int':
      return isNil(v) ? '0' : typeof v === 'bigint' ? v.toString() : String(Math.trunc(Number(v)));
    case 'float32':
      return isNil(v) ? '0' : float32JSON(Number(v));
    case 'raw':
      return isNil(v) ? 'null' : JSON.stringify(v);
  }
}

/** Go's zero time.Time as encoding/json writes it. */
const GO_ZERO_TIME = '0001-01-01T00:00:00Z';

/** encoding/json's float32 output: the shortest decimal that reads back as the same float32. */
function float32JSON(v: number): string {
  const s = formatFloat32(v);
  // JSON uses an exponent only from 1e21 and below 1e-6, unlike %v.
  const n = Number(s);
  return Math.abs(n) >= 1e-6 && Math.abs(n) < 1e21 ? String(n) : s.replace('e+0', 'e+').replace('e-0', 'e-');
}

/** Encodes `v` as Go marshals a value of `shape` (compact). */
export function encodeGo(v: unknown, shape: Shape): string {
  if (typeof shape === 'string') return encodeScalar(v, shape);
  if ('ptr' in shape) return isNil(v) ? 'null' : encodeGo(v, shape.ptr);
  if ('slice' in shape) {
    if (!Array.isArray(v)) return 'null';
    return `[${v.map((e) => encodeGo(e, shape.slice)).join(',')}]`;
  }
  if ('map' in shape) {
    if (isNil(v) || typeof v !== 'object') return 'null';
    const entries = Object.entries(v as Record<string, unknown>).sort((a, b) =>
      Buffer.compare(Buffer.from(a[0]), Buffer.from(b[0])),
    );
    return `{${entries.map(([k, e]) => `${goJSONString(k)}:${encodeGo(e, shape.map)}`).join(',')}}`;
  }
  const obj = (isNil(v) || typeof v !== 'object' ? {} : v) as Record<string, unknown>;
  const parts: string[] = [];
  for (const field of shape.struct) {
    const value = obj[field.name];
    if (field.omitempty && isEmpty(value, field.shape)) continue;
    parts.push(`${goJSONString(field.name)}:${encodeGo(value, field.shape)}`);
  }
  return `{${parts.join(',')}}`;
}

/** The value re-read through the struct shape: what the Go CLI holds after decoding it. */
export function normalizeGo<T>(v: unknown, shape: Shape): T {
  return JSON.parse(encodeGo(v, shape)) as T;
}

/** A request body: the value encoded as Go would encode the struct. */
export function goBody(v: unknown, shape: Shape): RawJSON {
  return new RawJSON(encodeGo(v, shape));
}

/** Go's json.Indent (as MarshalIndent uses it): newlines and `indent` per level; `{}`/`[]` stay short. */
export function indentJSON(text: string, indent = '    ', prefix = ''): string {
  let out = '';
  let depth = 0;
  let inString = false;
  let needIndent = false;
  const newline = (): string => '\n' + prefix + indent.repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[++i];
      } else if (c === '"') {
        inString = false;
      }
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') continue;
    if (needIndent && c !== ']' && c !== '}') {
      needIndent = false;
      depth++;
      out += newline();
    }
    switch (c) {
      case '"':
        inString = true;
        out += c;
        break;
      case '{':
      case '[':
        out += c;
        needIndent = true;
        break;
      case ',':
        out += c + newline();
        break;
      case ':':
        out += ': ';
        break;
      case '}':
      case ']':
        if (needIndent) {
          needIndent = false;
        } else {
          depth--;
          out += newline();
        }
        out += c;
        break;
      default:
        out += c;
    }
  }
  return out;
}

// ---------------------------------------------------------------- typed views for templates

/** A time.Duration as a template sees it: printed as `1m30s`, encoded as its nanoseconds. */
export class GoDuration {
  constructor(readonly nanoseconds: number) {}
  String(): string {
    return formatDuration(this.nanoseconds);
  }
  toJSON(): number {
    return this.nanoseconds;
  }
}
Object.defineProperty(GoDuration.prototype, GO_TYPE, { value: 'time.Duration' });

/** A time.Time as a template sees it: printed as `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export class GoTime {
  constructor(readonly rfc3339: string) {}
  String(): string {
    return goTimeString(this.rfc3339);
  }
  toJSON(): string {
    return this.rfc3339;
  }
}
Object.defineProperty(GoTime.prototype, GO_TYPE, { value: 'time.Time' });

/** A []byte as a template sees it: its bytes (`[104 105]`), JSON-encoded as base64 (nil when empty). */
function goBytes(base64: string): number[] {
  const bytes = [...Buffer.from(base64, 'base64')];
  Object.defineProperty(bytes, 'toJSON', { value: () => (base64 === '' ? null : base64), enumerable: false });
  return bytes;
}

/** An empty slice or map that JSON-encodes as null, like a nil one in Go. */
function nilValue<T extends object>(empty: T): T {
  Object.defineProperty(empty, 'toJSON', { value: () => null, enumerable: false });
  return empty;
}

/**
 * The value as the docker CLI's templates see it after decoding into the Go struct: every field of a
 * struct present (zero values filled in), structs typed (a misspelt field is an error naming the Go
 * type, as in Docker), durations and times printed the Go way; `{{json …}}` of a struct gives what
 * json.Marshal would.
 */
export function goView(v: unknown, shape: Shape): unknown {
  if (typeof shape === 'string') {
    switch (shape) {
      case 'string':
        return isNil(v) ? '' : String(v);
      case 'bool':
        return v === true;
      case 'int':
      case 'float32':
        return isNil(v) ? 0 : Number(v);
      case 'duration':
        return new GoDuration(isNil(v) ? 0 : Number(v));
      case 'time':
        return new GoTime(isNil(v) || v === '' ? GO_ZERO_TIME : String(v));
      case 'raw':
        return v;
      case 'bytes':
        return goBytes(isNil(v) ? '' : String(v));
    }
  }
  if ('ptr' in shape) return isNil(v) ? null : goView(v, shape.ptr);
  // A nil slice or map prints as `[]` / `map[]` but encodes as `null`.
  if ('slice' in shape) return Array.isArray(v) ? v.map((e) => goView(e, shape.slice)) : nilValue([]);
  if ('map' in shape) {
    if (isNil(v) || typeof v !== 'object') return nilValue({});
    const out: Record<string, unknown> = {};
    // Map keys are the daemon's data (labels): `__proto__` is a key like any other.
    for (const [k, e] of Object.entries(v)) setOwn(out, k, goView(e, shape.map));
    return out;
  }
  const obj = (isNil(v) || typeof v !== 'object' ? {} : v) as Record<string, unknown>;
  const view: Record<string, unknown> = {};
  for (const field of shape.struct) view[field.name] = goView(obj[field.name], field.shape);
  Object.defineProperty(view, 'toJSON', {
    value: () => JSON.parse(encodeGo(obj, shape)) as unknown,
    enumerable: false,
  });
  return goStruct(view, shape.name);
}
