// What the control API takes and gives besides the objects of types.ts: the flags of a swarm update, and
// the log lines and swarm events it streams. The manager produces them, the Engine API frames them for
// HTTP, so they live here rather than with either.

import type { Filters } from './filters.js';

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
