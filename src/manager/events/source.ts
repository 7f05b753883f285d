// The manager's swarm events: every committed store write of a node, service, network, secret or config,
// turned into Docker's event (derive.ts) and kept in the history that `GET /events` reads (history.ts).
// It follows the store from the moment the manager opens it, so the writes of the manager's own start-up
// (its node becoming ready) are the first events, as with dockerd, whose watch starts with the manager.

import type { EventMessage, EventsRequest } from '../../api/control.js';
import type { ObjectStore } from '../../store/objects.js';
import { deriveEvent } from './derive.js';
import { EventHistory, type EventHistoryOptions } from './history.js';

export interface ClusterEventsOptions extends EventHistoryOptions {
  /** The clock for removals, in milliseconds since the epoch (tests freeze it). */
  now?: () => number;
}

export class ClusterEvents {
  private readonly history: EventHistory;
  private unwatch: (() => void) | undefined;

  constructor(store: ObjectStore, options: ClusterEventsOptions = {}) {
    this.history = new EventHistory(options);
    const now = options.now ?? Date.now;
    this.unwatch = store.watch((batch) => {
      const at = now();
      for (const change of batch.events) {
        const event = deriveEvent(change, at);
        if (event) this.history.publish(event);
      }
    });
  }

  subscribe(
    request: EventsRequest,
    listener: (event: EventMessage) => void,
  ): { past: EventMessage[]; close: () => void } {
    return this.history.subscribe(request, listener);
  }

  /** Stops following the store; streams already open stay open (and receive nothing more). */
  close(): void {
    this.unwatch?.();
    this.unwatch = undefined;
  }
}
