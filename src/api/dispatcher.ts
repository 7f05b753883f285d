// The cluster protocol's messages between a node's agent and the managers' dispatcher. They travel
// in-process on a single node and over mutual TLS between hosts; both transports carry these shapes,
// so every message is a plain JSON value (no Buffers, no class instances, no functions).
//
// Identity is never part of a message body: the node ID comes from the transport (the TLS peer
// certificate, or the ID bound to an in-process client), so a node cannot speak for another one.

import type { ErrorCode } from './errors.js';
import { jsonEqual } from './json-equal.js';
import type { NetworkViewUpdate } from './network-view.js';
import { ownValue } from './own.js';
import type {
  Driver,
  HealthState,
  Node,
  NodeAvailability,
  NodeDescription,
  Task,
  TaskStatus,
} from './types.js';

// ---------------------------------------------------------------- session and heartbeat

export interface SessionRequest {
  /** Empty on first registration; the previous session's ID on reconnect. */
  sessionId?: string;
  description: NodeDescription;
  /**
   * The node's `--data-path-addr` (an IP), when it has one: other nodes send this node's VXLAN traffic
   * there instead of to the address the manager sees it at.
   */
  dataPathAddr?: string;
}

/** Sent when a session starts and whenever the node object or the manager set changes. */
export interface SessionMessage {
  sessionId: string;
  node: Node;
  /** Managers' cluster addresses (`host:port`), the one answering first. */
  managers: string[];
  /** Heartbeat period in milliseconds (cluster setting, with jitter applied per response). */
  heartbeatPeriodMs: number;
  /** The root CA certificate (PEM), so nodes notice a root rotation. */
  rootCA?: string;
}

export interface HeartbeatResponse {
  /** When to send the next heartbeat, in milliseconds (the period with jitter). */
  periodMs: number;
}

// ---------------------------------------------------------------- task status

export interface TaskStatusUpdate {
  taskId: string;
  status: TaskStatus;
  /** Health of the task's process as the agent last saw it; stored as `Task.Health`. */
  health?: HealthState;
}

// ---------------------------------------------------------------- assignments

/**
 * A secret a task of the node uses, sent with the first such task and forgotten (`remove-secret`) when no
 * task of the node in a state up to RUNNING uses it any more (swarmkit's assignment set). Its data travels
 * only over the cluster's mutual TLS (or in-process on a manager's own node); the node keeps it in memory.
 */
export interface SecretAssignment {
  ID: string;
  Name: string;
  /** base64 */
  Data: string;
  /** `{"Name": "golang"}`: the data is a template, rendered on the node for each task that uses it. */
  Templating?: Driver;
}

/** A config a task of the node uses, sent and forgotten as secrets are. */
export interface ConfigAssignment {
  ID: string;
  Name: string;
  /** base64 */
  Data: string;
  /** `{"Name": "golang"}`: the data is a template, rendered on the node for each task that uses it. */
  Templating?: Driver;
}

export type AssignmentChange =
  | { action: 'update'; task: Task }
  | { action: 'remove'; taskId: string }
  | { action: 'update-secret'; secret: SecretAssignment }
  | { action: 'remove-secret'; secretId: string }
  | { action: 'update-config'; config: ConfigAssignment }
  | { action: 'remove-config'; configId: string };

export interface AssignmentsMessage {
  /** COMPLETE replaces the node's whole set; INCREMENTAL applies changes on top of the previous one. */
  type: 'complete' | 'incremental';
  /** Sequence this message applies to (`''` for the first COMPLETE) and the one it results in. */
  appliesTo: string;
  resultsIn: string;
  changes: AssignmentChange[];
  /**
   * The node's view of its overlay networks (src/api/network-view.ts): the whole view in a COMPLETE
   * message (absent: none), what changed in an INCREMENTAL one (absent: nothing).
   */
  network?: NetworkViewUpdate;
}

// ---------------------------------------------------------------- logs

/** Which tasks' output a log subscription covers (swarmkit's LogSelector). */
export interface LogSelector {
  serviceIds?: string[];
  taskIds?: string[];
}

/** How to read the output; the same options are applied to every task of the subscription. */
export interface LogStreamOptions {
  follow: boolean;
  /** Lines from the end of each task's output; undefined for all. */
  tail?: number;
  /** Only lines at or after this time (ms since epoch). */
  since?: number;
  /** Only lines before this time (ms since epoch). */
  until?: number;
  stdout: boolean;
  stderr: boolean;
}

/** Manager → agent: start (or, with `close`, stop) publishing the selected tasks' output. */
export interface LogSubscriptionMessage {
  subscriptionId: string;
  selector: LogSelector;
  options: LogStreamOptions;
  /** The subscriber went away: stop publishing for this subscription. */
  close: boolean;
}

/** One line of a task's output. */
export interface LogEntry {
  taskId: string;
  serviceId: string;
  stream: 'stdout' | 'stderr';
  /** Time the line was captured, RFC 3339 with nanoseconds. */
  timestamp: string;
  /** The line's bytes, base64 (output is not necessarily UTF-8). */
  data: string;
}

/** Agent → manager: lines for a subscription; `close` says the node has sent all it has. */
export interface PublishLogsMessage {
  subscriptionId: string;
  entries: LogEntry[];
  close: boolean;
}

// ---------------------------------------------------------------- the client

/** A server-to-client stream as its client holds it. */
export interface StreamHandle {
  close(): void;
}

/** The dispatcher as seen by an agent, whatever the transport. Calls reject with ShoalError. */
export interface DispatcherClient {
  /**
   * Opens a session. Messages arrive on `onMessage` until the session ends; `onEnd` is called once
   * with the reason (error) or undefined when closed by the caller. The other streams behave the same.
   */
  session(
    request: SessionRequest,
    onMessage: (message: SessionMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle;
  heartbeat(sessionId: string): Promise<HeartbeatResponse>;
  updateTaskStatus(sessionId: string, updates: TaskStatusUpdate[]): Promise<void>;
  assignments(
    sessionId: string,
    onMessage: (message: AssignmentsMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle;
  /** Log subscriptions the managers want this node to serve (swarmkit's ListenSubscriptions). */
  logSubscriptions(
    sessionId: string,
    onMessage: (message: LogSubscriptionMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle;
  /** Sends captured output for a subscription (swarmkit's PublishLogs). Resolves when accepted. */
  publishLogs(sessionId: string, message: PublishLogsMessage): Promise<void>;
}

// ---------------------------------------------------------------- the network transport (port 2377)
//
// Between hosts the protocol runs over HTTP/2 with mutual TLS (src/manager/clusterapi is the server,
// src/agent/transport the client). Every call is a POST to one of these paths with a JSON body. A
// unary call answers 200 with a JSON body, or an error status with a `WireError` body. A streamed call
// answers 200 and then newline-delimited `StreamFrame`s; the caller's identity is never in a body.

export const CLUSTER_API_PATHS = {
  /** No client certificate needed: how a joining node learns (and pins) the root CA. */
  rootCACertificate: '/shoal.CA/GetRootCACertificate',
  /** No client certificate needed: a join token and a CSR buy a node certificate. */
  issueNodeCertificate: '/shoal.NodeCA/IssueNodeCertificate',
  /** A node's own certificate buys a new one (new key), with the role the store holds. */
  renewNodeCertificate: '/shoal.NodeCA/RenewNodeCertificate',
  /** Managers only (swarmkit's Health service). */
  health: '/shoal.Health/Check',
  session: '/shoal.Dispatcher/Session',
  heartbeat: '/shoal.Dispatcher/Heartbeat',
  updateTaskStatus: '/shoal.Dispatcher/UpdateTaskStatus',
  assignments: '/shoal.Dispatcher/Assignments',
  logSubscriptions: '/shoal.LogBroker/ListenSubscriptions',
  publishLogs: '/shoal.LogBroker/PublishLogs',
} as const;

export type ClusterApiPath = (typeof CLUSTER_API_PATHS)[keyof typeof CLUSTER_API_PATHS];

export const JSON_CONTENT_TYPE = 'application/json';
export const STREAM_CONTENT_TYPE = 'application/x-ndjson';

/** A ShoalError on the wire; the response's HTTP status is the error's `status`. */
export interface WireError {
  code: ErrorCode;
  message: string;
  rpc: boolean;
}

/**
 * One line of a streamed response. A stream the server ends carries exactly one `end` (closed
 * normally) or `error` frame last; a stream that stops without one was cut.
 */
export type StreamFrame<T> = { message: T } | { end: true } | { error: WireError };

export interface SessionScopedRequest {
  sessionId: string;
}

export interface UpdateTaskStatusRequest extends SessionScopedRequest {
  updates: TaskStatusUpdate[];
}

export interface PublishLogsRequest extends SessionScopedRequest {
  message: PublishLogsMessage;
}

export interface RootCACertificateResponse {
  /** The root CA bundle, the exact bytes the join token's digest covers. */
  certificate: string;
}

export interface IssueNodeCertificateRequest {
  /** PEM CSR; only its public key is used. */
  csr: string;
  token: string;
  availability: NodeAvailability;
  description?: NodeDescription;
  /** The node's `--advertise-addr` (`host:port`); a manager's would become its ManagerStatus.Addr. */
  advertiseAddr?: string;
}

export interface RenewNodeCertificateRequest {
  csr: string;
}

export interface NodeCertificateResponse {
  nodeId: string;
  /** The signed node certificate (PEM). */
  certificate: string;
  /** The root CA bundle the certificate chains to. */
  rootCA: string;
}

export interface HealthCheckResponse {
  status: 'SERVING';
}

// ---------------------------------------------------------------- comparisons both ends agree on

/** Fields of a task that the agent reports or the store stamps; changes to them alone mean nothing to the agent. */
const REPORTED_OR_STAMPED = new Set(['Status', 'Version', 'CreatedAt', 'UpdatedAt', 'AppliedAt', 'Health']);

/**
 * Whether two versions of a task are the same as far as running it goes (swarmkit's TasksEqualStable):
 * the dispatcher sends an update only when this is false, and the agent ignores an update when it is
 * true.
 */
export function sameTaskForAgent(a: Task, b: Task): boolean {
  const left = a as unknown as Record<string, unknown>;
  const right = b as unknown as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    if (REPORTED_OR_STAMPED.has(key)) continue;
    if (!jsonEqual(ownValue(left, key), ownValue(right, key))) return false;
  }
  return true;
}
