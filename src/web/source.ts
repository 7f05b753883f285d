// What the dashboard reads, and from whom: the manager's control API, seen through the few calls the
// dashboard needs (the daemon hands the manager of the moment over; src/web imports nothing but src/api).
// The ControlAPI class satisfies DashboardSource as it is.

import type {
  ChangedObjects,
  EventMessage,
  EventsRequest,
  LogMessage,
  LogsRequest,
  ObjectsQuery,
  ObjectsRead,
} from '../api/control.js';

export interface DashboardSource {
  /** The IDs each committed write touched, from now until the returned function is called. */
  watchObjects(listener: (changed: ChangedObjects) => void): () => void;
  /** The objects as the Engine API shows them, in one snapshot. */
  readObjects(query: ObjectsQuery): ObjectsRead;
  /** Remembered swarm events of the window, then new ones, until `close`. */
  subscribeEvents(
    request: EventsRequest,
    listener: (event: EventMessage) => void,
  ): { past: EventMessage[]; close: () => void };
  /** A service's log lines (with `follow`, until `signal` aborts). */
  serviceLogs(ref: string, request: LogsRequest, signal: AbortSignal): AsyncIterable<LogMessage>;
}

/** The node's manager, if it is one now, and word when that changes (init, join, leave, restart). */
export interface DashboardSourceProvider {
  /** The control API of this node's manager, or why there is none (a worker, a node in no swarm). */
  current(): { source: DashboardSource } | { unavailable: string };
  /** Calls `listener` after this node's manager started or stopped; returns an unsubscribe. */
  onChange(listener: () => void): () => void;
}
