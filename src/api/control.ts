// What the control API takes and gives besides the objects of types.ts: the flags of a swarm update, and
// the log lines and swarm events it streams. The manager produces them, the Engine API frames them for
// HTTP, so they live here rather than with either.

import type { Filters } from './filters.js';
import type { Node, Service, Task } from './types.js';

export interface SwarmUpdateFlags {
  rotateWorkerToken: boolean;
  rotateManagerToken: boolean;
  rotateManagerUnlockKey: boolean;
}

export interface LogsRequest {
  follow: boolean;
  stdout: boolean;
  stderr: boolean;
  timestamps: boolean;
  details: boolean;
  /** `all` or a number of lines per task. */
  tail: string;
  /** Unix seconds (may be fractional), 0 for none. */
  since: number;
  until: number;
}

/** One log line on its way to the client, with the context `details=1` prefixes. */
export interface LogMessage {
  stream: 'stdout' | 'stderr';
  timestamp: string;
  line: Buffer;
  context: { nodeId: string; serviceId: string; taskId: string };
}

/** A swarm event as `GET /events` sends it: Docker's events.Message (swarm events carry no legacy fields). */
export interface EventMessage {
  Type: 'service' | 'node' | 'secret' | 'config' | 'network';
  Action: 'create' | 'update' | 'remove';
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'swarm';
  /** Unix seconds. */
  time: number;
  /** Unix nanoseconds (a bigint: it does not fit a JS number exactly). */
  timeNano: bigint;
}

/** What `GET /events` asks for: a window in Unix nanoseconds (either end optional) and the filters. */
export interface EventsRequest {
  since?: bigint;
  until?: bigint;
  filters: Filters;
}

/**
 * What one committed store write changed that a live view of the swarm follows: the IDs of the nodes,
 * services and tasks written (created, updated or removed). Readers coalesce them and read the objects
 * when they need them (`ObjectsRead`), so a burst of writes to one task costs one read.
 */
export interface ChangedObjects {
  revision: number;
  nodes: string[];
  services: string[];
  tasks: string[];
}

/** Which objects to read: IDs by kind, or every node, service and task. */
export type ObjectsQuery = { nodes: string[]; services: string[]; tasks: string[] } | 'all';

/** A task as the Engine API shows it, with what a live view adds: whether it runs the service's current
 * spec (the `_up-to-date` task filter's answer) and the health its node reports. */
export interface TaskReading {
  task: Task;
  upToDate: boolean;
  health?: 'starting' | 'healthy' | 'unhealthy' | 'none';
}

/**
 * Objects as the Engine API shows them (services with their ServiceStatus), read in one snapshot, and the
 * IDs asked for that no longer exist.
 */
export interface ObjectsRead {
  revision: number;
  nodes: Node[];
  services: Service[];
  tasks: TaskReading[];
  missing: { nodes: string[]; services: string[]; tasks: string[] };
}
