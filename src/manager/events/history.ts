// The manager's memory of swarm events and the streams that follow them (dockerd's daemon/events.Events):
// the newest EVENT_HISTORY_LIMIT events in arrival order, replayed for `since`/`until`, and listeners that
// receive every new event their filters let through.
//
// dockerd keeps 256 events, shared with its container, image and network events, so that on a busy engine
// swarm events drop out within minutes; shoal keeps 1,024, all of them swarm events (an event is a few
// hundred bytes: at most about half a MiB). History lives in memory only: a restarted manager starts empty,
// as a restarted dockerd does.

import type { Filters } from '../../api/filters.js';
import type { EventMessage, EventsRequest } from '../../api/control.js';
import { eventMatches } from './filter.js';

export const EVENT_HISTORY_LIMIT = 1024;

type Listener = (event: EventMessage) => void;

interface Subscriber {
  filters: Filters;
  listener: Listener;
}

export interface EventHistoryOptions {
  /** How many events to remember (default EVENT_HISTORY_LIMIT). */
  limit?: number;
  /** Told about an exception thrown by a listener (which stays subscribed). */
  onListenerError?: (err: unknown) => void;
}

export class EventHistory {
  private readonly limit: number;
  /** A ring: `size` events from `start`, oldest first. */
  private readonly ring: (EventMessage | undefined)[];
  private start = 0;
  private size = 0;
  private readonly subscribers = new Set<Subscriber>();
  private readonly onListenerError: (err: unknown) => void;

  constructor(options: EventHistoryOptions = {}) {
    this.limit = Math.max(1, options.limit ?? EVENT_HISTORY_LIMIT);
    this.ring = new Array<EventMessage | undefined>(this.limit);
    this.onListenerError = options.onListenerError ?? (() => undefined);
  }

  /** Remembers an event (forgetting the oldest when full) and hands it to every listener it matches. */
  publish(event: EventMessage): void {
    if (this.size < this.limit) {
      this.ring[(this.start + this.size) % this.limit] = event;
      this.size++;
    } else {
      this.ring[this.start] = event;
      this.start = (this.start + 1) % this.limit;
    }
    for (const subscriber of [...this.subscribers]) {
      if (!eventMatches(subscriber.filters, event)) continue;
      try {
        subscriber.listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /**
   * The remembered events of the request's window, then every new matching event to `listener` until
   * `close()`. Both happen in one synchronous step, so no event is missed or sent twice in between.
   */
  subscribe(request: EventsRequest, listener: Listener): { past: EventMessage[]; close: () => void } {
    const past = this.replay(request);
    const subscriber: Subscriber = { filters: request.filters, listener };
    this.subscribers.add(subscriber);
    return { past, close: () => void this.subscribers.delete(subscriber) };
  }

  /** How many streams follow the events now. */
  get listenerCount(): number {
    return this.subscribers.size;
  }

  /**
   * dockerd's loadBufferedEvents: nothing unless `since` or `until` is given; else, walking back from the
   * newest, the events up to `until`, stopping at the first one older than `since` (events arrive nearly,
   * not exactly, in time order — a removal is stamped when it is seen, an update when it is written).
   */
  replay(request: EventsRequest): EventMessage[] {
    const { since, until, filters } = request;
    if (since === undefined && until === undefined) return [];
    const out: EventMessage[] = [];
    for (let i = this.size - 1; i >= 0; i--) {
      const event = this.ring[(this.start + i) % this.limit]!;
      if (since !== undefined && event.timeNano < since) break;
      if (until !== undefined && until > 0n && event.timeNano > until) continue;
      if (eventMatches(filters, event)) out.push(event);
    }
    return out.reverse();
  }
}
