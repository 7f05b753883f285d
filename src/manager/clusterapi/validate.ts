// Request bodies arriving on the cluster port, checked before anything acts on them. A body comes from
// another host — before the join, from anyone — so it is read as unknown JSON and has to prove it has
// the shape the dispatcher and the CA rely on (a made-up task state would otherwise reach the store).
// Only the fields the receiving code uses are checked; identity never comes from here.

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
import { invalidArgument, type ShoalError } from '../../api/errors.js';
import { TASK_STATE_RANK } from '../../api/taskstate.js';
import type { NodeAvailability, NodeDescription } from '../../api/types.js';

type JsonObject = Record<string, unknown>;

const malformed = (what: string): ShoalError => invalidArgument(`malformed request: ${what}`);

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function object(value: unknown, what: string): JsonObject {
  if (!isObject(value)) throw malformed(`${what} must be an object`);
  return value;
}

function string(value: unknown, what: string): string {
  if (typeof value !== 'string') throw malformed(`${what} must be a string`);
  return value;
}

function optionalString(value: unknown, what: string): string | undefined {
  return value === undefined ? undefined : string(value, what);
}

function array(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw malformed(`${what} must be an array`);
  return value;
}

function nodeDescription(value: unknown): NodeDescription {
  const description = object(value, 'description');
  string(description.Hostname, 'description.Hostname');
  const platform = object(description.Platform, 'description.Platform');
  string(platform.Architecture, 'description.Platform.Architecture');
  string(platform.OS, 'description.Platform.OS');
  object(description.Resources, 'description.Resources');
  string(object(description.Engine, 'description.Engine').EngineVersion, 'description.Engine.EngineVersion');
  return description as unknown as NodeDescription;
}

export function parseSessionRequest(body: unknown): SessionRequest {
  const request = object(body, 'body');
  const sessionId = optionalString(request.sessionId, 'sessionId');
  return {
    ...(sessionId !== undefined && sessionId !== '' ? { sessionId } : {}),
    description: nodeDescription(request.description),
  };
}

export function parseSessionScoped(body: unknown): SessionScopedRequest {
  return { sessionId: string(object(body, 'body').sessionId, 'sessionId') };
}

function taskStatusUpdate(value: unknown, i: number): TaskStatusUpdate {
  const update = object(value, `updates[${i}]`);
  string(update.taskId, `updates[${i}].taskId`);
  const status = object(update.status, `updates[${i}].status`);
  const state = string(status.State, `updates[${i}].status.State`);
  if (!Object.hasOwn(TASK_STATE_RANK, state)) throw malformed(`unknown task state ${JSON.stringify(state)}`);
  string(status.Timestamp, `updates[${i}].status.Timestamp`);
  string(status.Message, `updates[${i}].status.Message`);
  if (update.health !== undefined) object(update.health, `updates[${i}].health`);
  return update as unknown as TaskStatusUpdate;
}

export function parseUpdateTaskStatus(body: unknown): UpdateTaskStatusRequest {
  const { sessionId } = parseSessionScoped(body);
  const updates = array(object(body, 'body').updates, 'updates').map(taskStatusUpdate);
  return { sessionId, updates };
}

function logEntry(value: unknown, i: number): LogEntry {
  const entry = object(value, `entries[${i}]`);
  string(entry.taskId, `entries[${i}].taskId`);
  string(entry.serviceId, `entries[${i}].serviceId`);
  string(entry.timestamp, `entries[${i}].timestamp`);
  string(entry.data, `entries[${i}].data`);
  if (entry.stream !== 'stdout' && entry.stream !== 'stderr') {
    throw malformed(`entries[${i}].stream must be stdout or stderr`);
  }
  return entry as unknown as LogEntry;
}

export function parsePublishLogs(body: unknown): PublishLogsRequest {
  const { sessionId } = parseSessionScoped(body);
  const message = object(object(body, 'body').message, 'message');
  const subscriptionId = string(message.subscriptionId, 'message.subscriptionId');
  if (typeof message.close !== 'boolean') throw malformed('message.close must be a boolean');
  const entries = array(message.entries, 'message.entries').map(logEntry);
  return { sessionId, message: { subscriptionId, entries, close: message.close } };
}

const AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];

export function parseIssueRequest(body: unknown): IssueNodeCertificateRequest {
  const request = object(body, 'body');
  const csr = string(request.csr, 'csr');
  const token = string(request.token, 'token');
  const availability = request.availability ?? 'active';
  if (!AVAILABILITIES.includes(availability as NodeAvailability)) {
    throw invalidArgument(`invalid availability ${JSON.stringify(availability)}`);
  }
  const advertiseAddr = optionalString(request.advertiseAddr, 'advertiseAddr');
  return {
    csr,
    token,
    availability: availability as NodeAvailability,
    ...(request.description !== undefined ? { description: nodeDescription(request.description) } : {}),
    ...(advertiseAddr !== undefined ? { advertiseAddr } : {}),
  };
}

export function parseRenewRequest(body: unknown): RenewNodeCertificateRequest {
  return { csr: string(object(body, 'body').csr, 'csr') };
}
