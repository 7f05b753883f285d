// The agent's dispatcher client over the network: HTTP/2 with mutual TLS to a manager's cluster port.
// The manager is verified against the cluster's root CA under the name `swarm-manager` (every manager
// certificate carries it); the node presents its own certificate, which is all the manager knows it
// by. The agent's session logic is the same as with the in-process client.

import { clientTlsOptions, MANAGER_SERVER_NAME, type NodeTlsCredentials } from '../../api/certs.js';
import {
  CLUSTER_API_PATHS,
  type AssignmentsMessage,
  type DispatcherClient,
  type HealthCheckResponse,
  type HeartbeatResponse,
  type LogSubscriptionMessage,
  type NodeCertificateResponse,
  type PublishLogsMessage,
  type PublishLogsRequest,
  type RenewNodeCertificateRequest,
  type SessionMessage,
  type SessionRequest,
  type SessionScopedRequest,
  type StreamHandle,
  type TaskStatusUpdate,
  type UpdateTaskStatusRequest,
} from '../../api/dispatcher.js';
import { HEARTBEAT_TIMEOUT_MS } from '../session.js';
import { managerUrl } from './address.js';
import { DEFAULT_CONNECTION_SETTINGS, ManagerConnection, type ConnectionSettings } from './connection.js';

export interface ClusterClientOptions {
  /** The manager's cluster address, `host:port`. */
  managerAddr: string;
  /** The node's certificate and key, and the root CA managers must chain to. */
  credentials: NodeTlsCredentials;
  /** Deadline of a heartbeat call (swarmkit's 5 s by default). */
  heartbeatTimeoutMs?: number;
  /** Deadline of the other unary calls (publishLogs has none). */
  callTimeoutMs?: number;
  connection?: Partial<ConnectionSettings>;
}

/** Status reports, certificate renewals: small answers that come at once or not at all. */
export const DEFAULT_CALL_TIMEOUT_MS = 30_000;

export class ClusterClient implements DispatcherClient {
  private managerAddr: string;
  private credentialsInUse: NodeTlsCredentials;
  private readonly heartbeatTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly connection: ManagerConnection;

  constructor(options: ClusterClientOptions) {
    this.managerAddr = options.managerAddr;
    managerUrl(this.managerAddr); // fail early on a malformed address
    this.credentialsInUse = options.credentials;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS;
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.connection = new ManagerConnection(
      () => ({
        url: managerUrl(this.managerAddr),
        tls: clientTlsOptions(this.credentialsInUse, MANAGER_SERVER_NAME),
      }),
      { ...DEFAULT_CONNECTION_SETTINGS, ...options.connection },
    );
  }

  /** The credentials new connections present. */
  get credentials(): NodeTlsCredentials {
    return this.credentialsInUse;
  }

  /**
   * Presents `credentials` from now on (after a renewal). The current connection is retired
   * gracefully: streams open on it carry on, new calls go over a new connection.
   */
  setCredentials(credentials: NodeTlsCredentials): void {
    this.credentialsInUse = credentials;
    this.connection.reconnect();
  }

  /** Talks to another manager from the next connection on (e.g. from the session's manager list). */
  setManagerAddr(managerAddr: string): void {
    managerUrl(managerAddr);
    if (managerAddr === this.managerAddr) return;
    this.managerAddr = managerAddr;
    this.connection.reconnect();
  }

  /** Ends every call and stream and refuses new ones. */
  close(): void {
    this.connection.close();
  }

  // ---------------------------------------------------------------- dispatcher

  session(
    request: SessionRequest,
    onMessage: (message: SessionMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    return this.connection.stream(CLUSTER_API_PATHS.session, request, onMessage, onEnd);
  }

  heartbeat(sessionId: string): Promise<HeartbeatResponse> {
    const body: SessionScopedRequest = { sessionId };
    return this.connection.unary(CLUSTER_API_PATHS.heartbeat, body, this.heartbeatTimeoutMs);
  }

  async updateTaskStatus(sessionId: string, updates: TaskStatusUpdate[]): Promise<void> {
    const body: UpdateTaskStatusRequest = { sessionId, updates };
    await this.connection.unary(CLUSTER_API_PATHS.updateTaskStatus, body, this.callTimeoutMs);
  }

  assignments(
    sessionId: string,
    onMessage: (message: AssignmentsMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    const body: SessionScopedRequest = { sessionId };
    return this.connection.stream(CLUSTER_API_PATHS.assignments, body, onMessage, onEnd);
  }

  logSubscriptions(
    sessionId: string,
    onMessage: (message: LogSubscriptionMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    const body: SessionScopedRequest = { sessionId };
    return this.connection.stream(CLUSTER_API_PATHS.logSubscriptions, body, onMessage, onEnd);
  }

  /**
   * No deadline: the manager answers once its log queue has room for the batch, which takes as long as
   * the slowest `service logs -f` reader makes it — the backpressure that keeps the manager's memory
   * bounded. A deadline would make the agent give up on a follow subscription the manager keeps open.
   * A lost connection still ends the call (and the session, which the agent opens again).
   */
  async publishLogs(sessionId: string, message: PublishLogsMessage): Promise<void> {
    const body: PublishLogsRequest = { sessionId, message };
    await this.connection.unary(CLUSTER_API_PATHS.publishLogs, body);
  }

  // ---------------------------------------------------------------- beyond the dispatcher

  /** Asks for a certificate for a new key (see renewCertificate, which makes the key and checks the answer). */
  renewNodeCertificate(csrPem: string): Promise<NodeCertificateResponse> {
    const body: RenewNodeCertificateRequest = { csr: csrPem };
    return this.connection.unary(CLUSTER_API_PATHS.renewNodeCertificate, body, this.callTimeoutMs);
  }

  /** The manager-only health check (swarmkit's Health.Check); a worker's certificate is refused. */
  health(): Promise<HealthCheckResponse> {
    return this.connection.unary(CLUSTER_API_PATHS.health, {}, this.callTimeoutMs);
  }
}
