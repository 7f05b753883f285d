// One subscription feeds every browser. While at least one page is open, the hub follows the manager's
// store (the IDs each write touched) and its swarm events; it collects what changed for a short window,
// reads those objects once, compares them with what the pages already have and sends the differences — one
// serialized message written to every page. A page that opens gets the whole picture once, then the
// differences. No page makes the hub read anything: ten browsers cost what one does, less the writes.
//
// When the node's manager starts or stops (init, leave, a restart of its components), the hub starts over
// with the new one and every page gets a new picture — or word that this node serves no dashboard now.

import type { ChangedObjects, ObjectsRead } from '../api/control.js';
import { Filters } from '../api/filters.js';
import type { DashboardSource, DashboardSourceProvider } from './source.js';
import {
  eventView,
  nodeView,
  serviceView,
  taskView,
  type EventView,
  type NodeView,
  type ServiceView,
  type TaskView,
} from './views.js';

/** How long changes are collected before one message goes out (ms). */
const DEFAULT_BATCH_MS = 40;
/** How many events a page gets when it opens. */
const RECENT_EVENTS = 200;
/** A page that has this much unsent is cut off (it reconnects and starts over with a picture). */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** A comment line this often keeps idle connections (and proxies between) open. */
const KEEPALIVE_MS = 20_000;

/** Where a page's messages go (an SSE response). */
export interface HubClient {
  /** Writes one server-sent event; false when the page cannot keep up and was cut off. */
  send(event: string, data: string): boolean;
  /** Writes a comment (keep-alive). */
  ping(): void;
}

export interface Snapshot {
  revision: number;
  nodes: NodeView[];
  services: ServiceView[];
  tasks: TaskView[];
  events: EventView[];
}

export interface Diff {
  revision: number;
  upsert: { nodes: NodeView[]; services: ServiceView[]; tasks: TaskView[] };
  remove: { nodes: string[]; services: string[]; tasks: string[] };
  events: EventView[];
}

type Kind = 'nodes' | 'services' | 'tasks';

interface Entry<V> {
  view: V;
  json: string;
}

export interface HubOptions {
  batchMs?: number;
  onError?: (message: string, error: unknown) => void;
}

export class DashboardHub {
  private readonly clients = new Set<HubClient>();
  private readonly batchMs: number;
  private readonly onError: (message: string, error: unknown) => void;
  private unwatchProvider: (() => void) | undefined;
  private source: DashboardSource | undefined;
  private unavailable: string | undefined;
  private stopFollowing: (() => void) | undefined;
  private nodes = new Map<string, Entry<NodeView>>();
  private services = new Map<string, Entry<ServiceView>>();
  private tasks = new Map<string, Entry<TaskView>>();
  private revision = 0;
  private events: EventView[] = [];
  private dirty = { nodes: new Set<string>(), services: new Set<string>(), tasks: new Set<string>() };
  private newEvents: EventView[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  /** Messages sent to pages (tests and the log). */
  private sent = 0;

  constructor(
    private readonly provider: DashboardSourceProvider,
    options: HubOptions = {},
  ) {
    this.batchMs = options.batchMs ?? DEFAULT_BATCH_MS;
    this.onError = options.onError ?? (() => undefined);
  }

  get clientCount(): number {
    return this.clients.size;
  }

  get messagesSent(): number {
    return this.sent;
  }

  /** A page opened: it gets the picture now, then every difference, until remove(). */
  add(client: HubClient): void {
    this.clients.add(client);
    if (this.clients.size === 1) this.start();
    this.greet(client);
  }

  remove(client: HubClient): void {
    if (!this.clients.delete(client)) return;
    if (this.clients.size === 0) this.stop();
  }

  /** Closes the hub: no more messages (the server closes the connections). */
  close(): void {
    this.clients.clear();
    this.stop();
  }

  private start(): void {
    this.unwatchProvider = this.provider.onChange(() => this.restart());
    this.follow();
    this.keepalive = setInterval(() => {
      for (const client of this.clients) client.ping();
    }, KEEPALIVE_MS);
    this.keepalive.unref();
  }

  private stop(): void {
    this.unwatchProvider?.();
    this.unwatchProvider = undefined;
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    this.unfollow();
  }

  /** The node's manager changed: start over, and give every page the new picture. */
  private restart(): void {
    this.unfollow();
    this.follow();
    for (const client of this.clients) this.greet(client);
  }

  /** Follows the current manager, if any: its writes and events first, then one read of everything. */
  private follow(): void {
    const current = this.provider.current();
    if ('unavailable' in current) {
      this.unavailable = current.unavailable;
      return;
    }
    const source = current.source;
    this.source = source;
    this.unavailable = undefined;
    try {
      const unwatch = source.watchObjects((changed) => this.changed(changed));
      const subscription = source.subscribeEvents({ since: 0n, filters: Filters.empty() }, (event) => {
        this.newEvents.push(eventView(event));
        this.schedule();
      });
      this.stopFollowing = () => {
        unwatch();
        subscription.close();
      };
      this.events = subscription.past.slice(-RECENT_EVENTS).map(eventView);
      this.load(source.readObjects('all'));
    } catch (error) {
      // A manager stopping while we subscribe: wait for the provider's word.
      this.onError('the dashboard cannot follow the manager', error);
      this.unfollow();
      this.unavailable = 'the manager is not available';
    }
  }

  private unfollow(): void {
    this.stopFollowing?.();
    this.stopFollowing = undefined;
    this.source = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.nodes = new Map();
    this.services = new Map();
    this.tasks = new Map();
    this.events = [];
    this.newEvents = [];
    this.dirty = { nodes: new Set(), services: new Set(), tasks: new Set() };
  }

  private greet(client: HubClient): void {
    if (this.unavailable !== undefined || !this.source) {
      client.send('unavailable', JSON.stringify({ message: this.unavailable ?? 'not following a manager' }));
      return;
    }
    const snapshot: Snapshot = {
      revision: this.revision,
      nodes: [...this.nodes.values()].map((e) => e.view),
      services: [...this.services.values()].map((e) => e.view),
      tasks: [...this.tasks.values()].map((e) => e.view),
      events: this.events,
    };
    if (client.send('snapshot', JSON.stringify(snapshot))) this.sent++;
  }

  private load(read: ObjectsRead): void {
    this.revision = read.revision;
    for (const node of read.nodes) this.nodes.set(node.ID, entry(nodeView(node)));
    for (const service of read.services) this.services.set(service.ID, entry(serviceView(service)));
    for (const reading of read.tasks)
      this.tasks.set(reading.task.ID, entry(taskView(reading, this.serviceName(reading.task.ServiceID))));
  }

  private changed(changed: ChangedObjects): void {
    for (const id of changed.nodes) this.dirty.nodes.add(id);
    for (const id of changed.services) this.dirty.services.add(id);
    for (const id of changed.tasks) this.dirty.tasks.add(id);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      try {
        this.flush();
      } catch (error) {
        this.onError('the dashboard could not read the changes', error);
      }
    }, this.batchMs);
  }

  /** Reads what changed, works out the differences, and sends them to every page in one message. */
  private flush(): void {
    const source = this.source;
    if (!source) return;
    const dirty = this.dirty;
    this.dirty = { nodes: new Set(), services: new Set(), tasks: new Set() };
    const diff: Diff = {
      revision: this.revision,
      upsert: { nodes: [], services: [], tasks: [] },
      remove: { nodes: [], services: [], tasks: [] },
      events: this.newEvents,
    };
    this.newEvents = [];

    // A task's change moves its service's counts; a service's change may make its tasks out of date (or
    // rename them): both are read again.
    const services = new Set(dirty.services);
    for (const id of dirty.tasks) {
      const known = this.tasks.get(id);
      if (known) services.add(known.view.service);
    }
    const first = source.readObjects({
      nodes: [...dirty.nodes],
      services: [],
      tasks: [...dirty.tasks],
    });
    for (const reading of first.tasks) services.add(reading.task.ServiceID);
    const tasks = new Set<string>();
    if (dirty.services.size > 0) {
      for (const [id, known] of this.tasks) if (dirty.services.has(known.view.service)) tasks.add(id);
      for (const reading of first.tasks) tasks.delete(reading.task.ID);
    }
    const second = source.readObjects({ nodes: [], services: [...services], tasks: [...tasks] });
    diff.revision = this.revision = Math.max(first.revision, second.revision);

    for (const node of first.nodes) this.upsert(this.nodes, node.ID, nodeView(node), diff, 'nodes');
    this.drop(this.nodes, first.missing.nodes, diff, 'nodes');
    for (const service of second.services)
      this.upsert(this.services, service.ID, serviceView(service), diff, 'services');
    this.drop(this.services, second.missing.services, diff, 'services');
    for (const reading of [...first.tasks, ...second.tasks]) {
      const view = taskView(reading, this.serviceName(reading.task.ServiceID));
      this.upsert(this.tasks, reading.task.ID, view, diff, 'tasks');
    }
    this.drop(this.tasks, [...first.missing.tasks, ...second.missing.tasks], diff, 'tasks');

    if (diff.events.length > 0) this.events = [...this.events, ...diff.events].slice(-RECENT_EVENTS);
    const count =
      diff.upsert.nodes.length +
      diff.upsert.services.length +
      diff.upsert.tasks.length +
      diff.remove.nodes.length +
      diff.remove.services.length +
      diff.remove.tasks.length +
      diff.events.length;
    if (count === 0) return;
    const data = JSON.stringify(diff);
    for (const client of [...this.clients]) if (client.send('diff', data)) this.sent++;
  }

  private upsert<V>(map: Map<string, Entry<V>>, id: string, view: V, diff: Diff, kind: Kind): void {
    const next = entry(view);
    const known = map.get(id);
    if (known?.json === next.json) return;
    map.set(id, next);
    (diff.upsert[kind] as V[]).push(view);
  }

  private drop<V>(map: Map<string, Entry<V>>, ids: readonly string[], diff: Diff, kind: Kind): void {
    for (const id of ids) if (map.delete(id)) diff.remove[kind].push(id);
  }

  private serviceName(id: string): string | undefined {
    return this.services.get(id)?.view.name;
  }
}

function entry<V>(view: V): Entry<V> {
  return { view, json: JSON.stringify(view) };
}

export { MAX_BUFFERED_BYTES };
