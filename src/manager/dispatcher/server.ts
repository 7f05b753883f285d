// The dispatcher as a transport sees it: every call carries the caller's identity (`Peer`), which the
// transport takes from where it can be trusted — the TLS peer certificate, or the node ID an
// in-process client was created for — never from the message body.

import type {
  HeartbeatResponse,
  LogSubscriptionMessage,
  PublishLogsMessage,
  AssignmentsMessage,
  SessionMessage,
  SessionRequest,
  StreamHandle,
  TaskStatusUpdate,
} from '../../api/dispatcher.js';

export interface Peer {
  nodeId: string;
  /** The node's address as the manager sees it (IP, no port); becomes `Node.Status.Addr`. */
  addr: string;
}

/** Where a server-side stream delivers; `end` is called at most once, and nothing is sent after it. */
export interface StreamSink<T> {
  send(message: T): void;
  end(err?: Error): void;
}

export interface DispatcherServer {
  session(peer: Peer, request: SessionRequest, sink: StreamSink<SessionMessage>): StreamHandle;
  heartbeat(peer: Peer, sessionId: string): Promise<HeartbeatResponse>;
  updateTaskStatus(peer: Peer, sessionId: string, updates: TaskStatusUpdate[]): Promise<void>;
  assignments(peer: Peer, sessionId: string, sink: StreamSink<AssignmentsMessage>): StreamHandle;
  logSubscriptions(peer: Peer, sessionId: string, sink: StreamSink<LogSubscriptionMessage>): StreamHandle;
  publishLogs(peer: Peer, sessionId: string, message: PublishLogsMessage): Promise<void>;
}

/**
 * The log broker's side facing the nodes. The dispatcher checks the session, then hands the node's
 * subscription stream and published lines to it.
 */
export interface NodeLogChannel {
  /** Registers the node's subscription stream; active subscriptions for the node are sent at once. */
  listen(nodeId: string, send: (message: LogSubscriptionMessage) => void): StreamHandle;
  publish(nodeId: string, message: PublishLogsMessage): Promise<void>;
}
