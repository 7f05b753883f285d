// Request bodies arriving on the cluster port, checked before anything acts on them. A body comes from
// another host — before the join, from anyone; after it, from a node whose certificate may be in
// hostile hands — so it is read as unknown JSON and validated the way a user's request is: exact types
// (strings are strings, counts and sizes are safe non-negative integers, label maps are string → string),
// bounded lengths and counts (PEER_LIMITS), and a bound on what would be stored. What the dispatcher and
// the CA get is built afresh from the validated fields: unknown fields are dropped, and no object of the
// peer's is ever stored as it came (it could carry extra keys, prototype names, or deep nesting). Identity
// never comes from here.
//
// Refusals are InvalidArgument (400) naming the field. Their messages never quote what the peer sent
// beyond a short prefix of an enum value: they are logged and sent back, and must stay small.

import type {
  IssueNodeCertificateRequest,
  LogEntry,
  PublishLogsRequest,
  RenewNodeCertificateRequest,
  SessionRequest,
  SessionScopedRequest,
  TaskStatusUpdate,
  UpdateTaskStatusRequest,
} from '../../api/dispatcher.js';
import { invalidArgument } from '../../api/errors.js';
import { parseIPv4 } from '../../api/ip.js';
import { ownRecord } from '../../api/own.js';
import { malformedRequest as malformed, PEER_LIMITS } from '../../api/peer-limits.js';
import { TASK_STATE_RANK } from '../../api/taskstate.js';
import type {
  ContainerStatus,
  EndpointPortConfig,
  EngineDescription,
  GenericResource,
  HealthState,
  Labels,
  NodeAvailability,
  NodeDescription,
  ResourceObject,
  TaskState,
  TaskStatus,
} from '../../api/types.js';

type JsonObject = Record<string, unknown>;

const L = PEER_LIMITS;

/** A peer's value in an error message: JSON, cut short. */
function quote(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Reads a field of a parsed JSON object: own properties only (JSON.parse makes nothing else). */
const field = (o: JsonObject, name: string): unknown => (Object.hasOwn(o, name) ? o[name] : undefined);

/** An optional field: absent and null both mean "not given" (Go's encoding/json agrees). */
const given = (value: unknown): boolean => value !== undefined && value !== null;

function object(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw malformed(`${what} must be an object`);
  return value;
}

function string(value: unknown, what: string, maxChars: number): string {
  if (typeof value !== 'string') throw malformed(`${what} must be a string`);
  if (value.length > maxChars) throw malformed(`${what} is longer than ${maxChars} characters`);
  return value;
}

function id(value: unknown, what: string): string {
  const text = string(value, what, L.idChars);
  if (text === '') throw malformed(`${what} must not be empty`);
  return text;
}

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value))
    throw malformed(`${what} must be an integer`);
  if (value < min || value > max) throw malformed(`${what} must be between ${min} and ${max}`);
  return value;
}

const INT32_MAX = 2 ** 31 - 1;
const INT32_MIN = -(2 ** 31);

/** A count or size (Go int64 / uint64 in Docker's types): a non-negative safe integer. */
const count = (value: unknown, what: string): number => integer(value, what, 0, Number.MAX_SAFE_INTEGER);

function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw malformed(`${what} must be one of ${allowed.join(', ')}, not ${quote(value)}`);
  }
  return value as T;
}

function array(value: unknown, what: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw malformed(`${what} must be an array`);
  if (value.length > max) throw malformed(`${what} has more than ${max} entries`);
  return value;
}

function boolean(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') throw malformed(`${what} must be a boolean`);
  return value;
}

/** A string → string map of at most `max` entries, copied into a fresh object (own keys only). */
function labels(value: unknown, what: string, max: number): Labels {
  const map = object(value, what);
  const entries = Object.entries(map);
  if (entries.length > max) throw malformed(`${what} has more than ${max} entries`);
  for (const [name, text] of entries) {
    if (name === '') throw malformed(`${what} has an empty label name`);
    if (name.length > L.labelNameChars)
      throw malformed(`${what} has a label name longer than ${L.labelNameChars}`);
    // The name is the peer's: the message names the map, not the label.
    string(text, `a value of ${what}`, L.labelValueChars);
  }
  return ownRecord(entries as [string, string][]);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;

/**
 * A time as Go's encoding/json reads a time.Time (RFC 3339, a real calendar date): the docker CLI
 * decodes every timestamp it is shown, and one it cannot parse breaks the whole listing for everyone.
 */
function timestamp(value: unknown, what: string): string {
  const text = string(value, what, 64);
  const m = RFC3339.exec(text);
  if (!m || !isCalendarTime(m)) throw malformed(`${what} must be an RFC 3339 time`);
  return text;
}

function isCalendarTime(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const zoneHour = Number(m[7] ?? 0);
  const zoneMinute = Number(m[8] ?? 0);
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    zoneHour <= 23 &&
    zoneMinute <= 59
  );
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

/** Throws when `value`, encoded as JSON, is larger than `maxBytes`. */
function bounded<T>(value: T, what: string, maxBytes: number): T {
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > maxBytes) throw malformed(`${what} is ${size} bytes encoded, more than ${maxBytes}`);
  return value;
}

// ---------------------------------------------------------------- node descriptions

function genericResource(value: unknown, what: string): GenericResource {
  const resource = object(value, what);
  const named = field(resource, 'NamedResourceSpec');
  const discrete = field(resource, 'DiscreteResourceSpec');
  if (given(named) === given(discrete)) {
    throw malformed(`${what} must have exactly one of NamedResourceSpec and DiscreteResourceSpec`);
  }
  if (given(named)) {
    const spec = object(named, `${what}.NamedResourceSpec`);
    return {
      NamedResourceSpec: {
        Kind: string(field(spec, 'Kind'), `${what}.NamedResourceSpec.Kind`, L.shortTextChars),
        Value: string(field(spec, 'Value'), `${what}.NamedResourceSpec.Value`, L.shortTextChars),
      },
    };
  }
  const spec = object(discrete, `${what}.DiscreteResourceSpec`);
  return {
    DiscreteResourceSpec: {
      Kind: string(field(spec, 'Kind'), `${what}.DiscreteResourceSpec.Kind`, L.shortTextChars),
      Value: count(field(spec, 'Value'), `${what}.DiscreteResourceSpec.Value`),
    },
  };
}

function resources(value: unknown, what: string): ResourceObject {
  const r = object(value, what);
  const out: ResourceObject = {};
  if (given(field(r, 'NanoCPUs'))) out.NanoCPUs = count(field(r, 'NanoCPUs'), `${what}.NanoCPUs`);
  if (given(field(r, 'MemoryBytes'))) out.MemoryBytes = count(field(r, 'MemoryBytes'), `${what}.MemoryBytes`);
  if (given(field(r, 'GenericResources'))) {
    out.GenericResources = array(
      field(r, 'GenericResources'),
      `${what}.GenericResources`,
      L.genericResources,
    ).map((item, i) => genericResource(item, `${what}.GenericResources[${i}]`));
  }
  return out;
}

function engine(value: unknown, what: string): EngineDescription {
  const e = object(value, what);
  const out: EngineDescription = {
    EngineVersion: string(field(e, 'EngineVersion'), `${what}.EngineVersion`, L.shortTextChars),
  };
  if (given(field(e, 'Labels'))) out.Labels = labels(field(e, 'Labels'), `${what}.Labels`, L.engineLabels);
  if (given(field(e, 'Plugins'))) {
    out.Plugins = array(field(e, 'Plugins'), `${what}.Plugins`, L.plugins).map((item, i) => {
      const plugin = object(item, `${what}.Plugins[${i}]`);
      return {
        Type: string(field(plugin, 'Type'), `${what}.Plugins[${i}].Type`, L.shortTextChars),
        Name: string(field(plugin, 'Name'), `${what}.Plugins[${i}].Name`, L.shortTextChars),
      };
    });
  }
  return out;
}

/**
 * What a node says about itself, as it will be stored. TLSInfo is not the node's to say (the CA knows
 * the node's certificate) and is dropped with every other unknown field.
 */
export function parseNodeDescription(value: unknown, what = 'description'): NodeDescription {
  const d = object(value, what);
  const platform = object(field(d, 'Platform'), `${what}.Platform`);
  const description: NodeDescription = {
    Hostname: string(field(d, 'Hostname'), `${what}.Hostname`, L.hostnameChars),
    Platform: {
      Architecture: string(
        field(platform, 'Architecture'),
        `${what}.Platform.Architecture`,
        L.shortTextChars,
      ),
      OS: string(field(platform, 'OS'), `${what}.Platform.OS`, L.shortTextChars),
    },
    Resources: resources(field(d, 'Resources'), `${what}.Resources`),
    Engine: engine(field(d, 'Engine'), `${what}.Engine`),
  };
  return bounded(description, what, L.descriptionBytes);
}

export function parseSessionRequest(body: unknown): SessionRequest {
  const request = object(body, 'body');
  const sessionId = given(field(request, 'sessionId'))
    ? string(field(request, 'sessionId'), 'sessionId', L.idChars)
    : undefined;
  const dataPathAddr = given(field(request, 'dataPathAddr'))
    ? string(field(request, 'dataPathAddr'), 'dataPathAddr', L.addrChars)
    : undefined;
  if (dataPathAddr !== undefined && dataPathAddr !== '' && parseIPv4(dataPathAddr) === undefined) {
    throw malformed('dataPathAddr is not an IPv4 address');
  }
  return {
    ...(sessionId !== undefined && sessionId !== '' ? { sessionId } : {}),
    description: parseNodeDescription(field(request, 'description')),
    ...(dataPathAddr ? { dataPathAddr } : {}),
  };
}

export function parseSessionScoped(body: unknown): SessionScopedRequest {
  return { sessionId: string(field(object(body, 'body'), 'sessionId'), 'sessionId', L.idChars) };
}

// ---------------------------------------------------------------- task statuses

const PROTOCOLS: readonly NonNullable<EndpointPortConfig['Protocol']>[] = ['tcp', 'udp', 'sctp'];
const PUBLISH_MODES: readonly NonNullable<EndpointPortConfig['PublishMode']>[] = ['ingress', 'host'];
const HEALTH_STATES: readonly HealthState['Status'][] = ['starting', 'healthy', 'unhealthy', 'none'];

function containerStatus(value: unknown, what: string): ContainerStatus {
  const c = object(value, what);
  const out: ContainerStatus = {};
  if (given(field(c, 'ContainerID'))) {
    out.ContainerID = string(field(c, 'ContainerID'), `${what}.ContainerID`, L.idChars);
  }
  if (given(field(c, 'PID'))) out.PID = integer(field(c, 'PID'), `${what}.PID`, 0, INT32_MAX);
  if (given(field(c, 'ExitCode'))) {
    out.ExitCode = integer(field(c, 'ExitCode'), `${what}.ExitCode`, INT32_MIN, INT32_MAX);
  }
  return out;
}

function port(value: unknown, what: string): EndpointPortConfig {
  const p = object(value, what);
  const out: EndpointPortConfig = {};
  if (given(field(p, 'Name'))) out.Name = string(field(p, 'Name'), `${what}.Name`, L.shortTextChars);
  if (given(field(p, 'Protocol'))) out.Protocol = oneOf(field(p, 'Protocol'), `${what}.Protocol`, PROTOCOLS);
  if (given(field(p, 'TargetPort')))
    out.TargetPort = integer(field(p, 'TargetPort'), `${what}.TargetPort`, 0, 65535);
  if (given(field(p, 'PublishedPort'))) {
    out.PublishedPort = integer(field(p, 'PublishedPort'), `${what}.PublishedPort`, 0, 65535);
  }
  if (given(field(p, 'PublishMode'))) {
    out.PublishMode = oneOf(field(p, 'PublishMode'), `${what}.PublishMode`, PUBLISH_MODES);
  }
  return out;
}

function taskStatus(value: unknown, what: string): TaskStatus {
  const s = object(value, what);
  const state = field(s, 'State');
  if (typeof state !== 'string' || !Object.hasOwn(TASK_STATE_RANK, state)) {
    throw malformed(`unknown task state ${quote(state)}`);
  }
  const status: TaskStatus = {
    Timestamp: timestamp(field(s, 'Timestamp'), `${what}.Timestamp`),
    State: state as TaskState,
    Message: string(field(s, 'Message'), `${what}.Message`, L.statusMessageChars),
  };
  if (given(field(s, 'Err'))) status.Err = string(field(s, 'Err'), `${what}.Err`, L.statusErrChars);
  if (given(field(s, 'ContainerStatus'))) {
    status.ContainerStatus = containerStatus(field(s, 'ContainerStatus'), `${what}.ContainerStatus`);
  }
  if (given(field(s, 'PortStatus'))) {
    const portStatus = object(field(s, 'PortStatus'), `${what}.PortStatus`);
    const ports = field(portStatus, 'Ports');
    status.PortStatus = given(ports)
      ? {
          Ports: array(ports, `${what}.PortStatus.Ports`, L.portsPerStatus).map((item, i) =>
            port(item, `${what}.PortStatus.Ports[${i}]`),
          ),
        }
      : {};
  }
  return status;
}

function health(value: unknown, what: string): HealthState {
  const h = object(value, what);
  return {
    Status: oneOf(field(h, 'Status'), `${what}.Status`, HEALTH_STATES),
    FailingStreak: count(field(h, 'FailingStreak'), `${what}.FailingStreak`),
    Log: array(field(h, 'Log'), `${what}.Log`, L.healthLogEntries).map((item, i) => {
      const entry = object(item, `${what}.Log[${i}]`);
      return {
        Start: timestamp(field(entry, 'Start'), `${what}.Log[${i}].Start`),
        End: timestamp(field(entry, 'End'), `${what}.Log[${i}].End`),
        ExitCode: integer(field(entry, 'ExitCode'), `${what}.Log[${i}].ExitCode`, INT32_MIN, INT32_MAX),
        Output: string(field(entry, 'Output'), `${what}.Log[${i}].Output`, L.healthOutputChars),
      };
    }),
  };
}

function taskStatusUpdate(value: unknown, i: number): TaskStatusUpdate {
  const what = `updates[${i}]`;
  const update = object(value, what);
  const out: TaskStatusUpdate = {
    taskId: id(field(update, 'taskId'), `${what}.taskId`),
    status: taskStatus(field(update, 'status'), `${what}.status`),
  };
  if (given(field(update, 'health'))) out.health = health(field(update, 'health'), `${what}.health`);
  return bounded(out, what, L.statusUpdateBytes);
}

export function parseUpdateTaskStatus(body: unknown): UpdateTaskStatusRequest {
  const { sessionId } = parseSessionScoped(body);
  const updates = array(field(object(body, 'body'), 'updates'), 'updates', L.statusUpdatesPerCall).map(
    taskStatusUpdate,
  );
  return { sessionId, updates };
}

// ---------------------------------------------------------------- logs

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function logEntry(value: unknown, i: number): LogEntry {
  const what = `entries[${i}]`;
  const entry = object(value, what);
  const data = string(field(entry, 'data'), `${what}.data`, L.logDataChars);
  if (data.length % 4 !== 0 || !BASE64.test(data)) throw malformed(`${what}.data must be base64`);
  return {
    taskId: id(field(entry, 'taskId'), `${what}.taskId`),
    serviceId: id(field(entry, 'serviceId'), `${what}.serviceId`),
    stream: oneOf(field(entry, 'stream'), `${what}.stream`, ['stdout', 'stderr'] as const),
    timestamp: timestamp(field(entry, 'timestamp'), `${what}.timestamp`),
    data,
  };
}

export function parsePublishLogs(body: unknown): PublishLogsRequest {
  const { sessionId } = parseSessionScoped(body);
  const message = object(field(object(body, 'body'), 'message'), 'message');
  return {
    sessionId,
    message: {
      subscriptionId: id(field(message, 'subscriptionId'), 'message.subscriptionId'),
      entries: array(field(message, 'entries'), 'message.entries', L.logEntriesPerCall).map(logEntry),
      close: boolean(field(message, 'close'), 'message.close'),
    },
  };
}

// ---------------------------------------------------------------- certificates

const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];

export function parseIssueRequest(body: unknown): IssueNodeCertificateRequest {
  const request = object(body, 'body');
  const csr = string(field(request, 'csr'), 'csr', L.csrChars);
  const token = string(field(request, 'token'), 'token', L.tokenChars);
  const availability = given(field(request, 'availability')) ? field(request, 'availability') : 'active';
  if (typeof availability !== 'string' || !(AVAILABILITIES as readonly string[]).includes(availability)) {
    throw invalidArgument(`invalid availability ${quote(availability)}`);
  }
  const advertiseAddr = given(field(request, 'advertiseAddr'))
    ? string(field(request, 'advertiseAddr'), 'advertiseAddr', L.addrChars)
    : undefined;
  const description = field(request, 'description');
  return {
    csr,
    token,
    availability: availability as NodeAvailability,
    ...(given(description) ? { description: parseNodeDescription(description) } : {}),
    ...(advertiseAddr !== undefined ? { advertiseAddr } : {}),
  };
}

export function parseRenewRequest(body: unknown): RenewNodeCertificateRequest {
  return { csr: string(field(object(body, 'body'), 'csr'), 'csr', L.csrChars) };
}
