// The cluster protocol's messages between a node's agent and the managers' dispatcher. They travel
// in-process on a single node and over mutual TLS between hosts; both transports carry these shapes.

import type { Node, NodeDescription, Task, TaskStatus } from './types.js';

export interface SessionRequest {
  /** Empty on first registration; the previous session's ID on reconnect. */
  sessionId?: string;
  description: NodeDescription;
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
  periodMs: number;
}

export interface TaskStatusUpdate {
  taskId: string;
  status: TaskStatus;
}

export type AssignmentChange =
  | { action: 'update'; task: Task }
  | { action: 'remove'; taskId: string }
  | { action: 'update-secret'; secret: { ID: string; Name: string; Data: string } }
  | { action: 'remove-secret'; secretId: string }
  | { action: 'update-config'; config: { ID: string; Name: string; Data: string } }
  | { action: 'remove-config'; configId: string };

export interface AssignmentsMessage {
  /** COMPLETE replaces the node's whole set; INCREMENTAL applies changes on top of the previous one. */
  type: 'complete' | 'incremental';
  /** Sequence this message applies to (`''` for the first COMPLETE) and the one it results in. */
  appliesTo: string;
  resultsIn: string;
  changes: AssignmentChange[];
}

/** The dispatcher as seen by an agent, whatever the transport. Calls reject with ShoalError. */
export interface DispatcherClient {
  /**
   * Opens a session. Messages arrive on `onMessage` until the session ends; `onEnd` is called once
   * with the reason (error) or undefined when closed by the caller.
   */
  session(
    request: SessionRequest,
    onMessage: (message: SessionMessage) => void,
    onEnd: (err?: Error) => void,
  ): { close(): void };
  heartbeat(sessionId: string): Promise<HeartbeatResponse>;
  updateTaskStatus(sessionId: string, updates: TaskStatusUpdate[]): Promise<void>;
  assignments(
    sessionId: string,
    onMessage: (message: AssignmentsMessage) => void,
    onEnd: (err?: Error) => void,
  ): { close(): void };
}
