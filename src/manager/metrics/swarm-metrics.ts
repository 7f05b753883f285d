// The node's Prometheus metrics (`shoald --metrics-addr`), through prom-client: the swarm_* metrics dockerd
// exports from swarmkit, where shoal has what they measure, with swarmkit's names, labels and help texts,
// and shoal's own (shoal_*). One SwarmMetrics lives as long as the daemon; the manager of the moment
// attaches to it while it runs (attach()), so a node that becomes a manager, or stops being one, keeps one
// registry.
//
// What swarmkit exports and shoal does not: swarm_store_lookup_latency_seconds, batch_latency and
// memory_store_lock_duration (no such operations: reads are synchronous views of an in-memory copy, writes
// are transactions), swarm_raft_* (no raft), swarm_manager_configs/secrets/... are here.
//
// Gauges of the store's contents are counts kept from the watch (store-counts.ts) and set when scraped;
// histograms are observed where the work happens, through observers the manager injects into its loops
// (src/manager/pass-observer.ts), its dispatcher and its store (timedStore), and the daemon into the
// Engine API (observeApiRequest).

import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ObjectEventBatch, ObjectStore, ReadTx, WriteTx } from '../../store/objects.js';
import type { PassObserver } from '../pass-observer.js';
import { NODE_STATES, StoreCounts, TASK_STATES } from './store-counts.js';

/** go-metrics' default buckets (Prometheus' DefBuckets), which swarmkit's timers use. */
const DEFAULT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Store operations and loop passes are fast: finer buckets below 5 ms. */
const FAST_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, ...DEFAULT_BUCKETS];
/** How long the heartbeat rate is averaged over. */
const HEARTBEAT_WINDOW_S = 10;

/** What the node says about itself at a scrape (swarm_node_*, swarm_manager_leader). */
export interface NodeFacts {
  /** Empty outside a swarm. */
  nodeId: string;
  swarmId: string;
  manager: boolean;
  leader: boolean;
}

export interface ApiRequestObservation {
  method: string;
  /** The route's template (`/services/{id}/update`), never the path: IDs would make a series each. */
  route: string;
  status: number;
  seconds: number;
}

export class SwarmMetrics {
  readonly registry = new Registry();
  private counts: StoreCounts | undefined;
  private nodeFacts: () => NodeFacts | Promise<NodeFacts> = () => ({
    nodeId: '',
    swarmId: '',
    manager: false,
    leader: false,
  });
  private readonly storeWrite: Histogram;
  private readonly storeRead: Histogram;
  private readonly schedulingDelay: Histogram;
  private readonly reconcilePass: Histogram<'loop'>;
  private readonly schedulerPass: Histogram;
  private readonly heartbeats: Counter;
  private readonly apiLatency: Histogram<'method' | 'route' | 'code'>;
  private readonly taskStart: Histogram;
  /** Heartbeats per whole second, for the last HEARTBEAT_WINDOW_S seconds. */
  private readonly heartbeatSeconds = new Map<number, number>();

  constructor(options: { defaultMetrics?: boolean; now?: () => number } = {}) {
    const registry = this.registry;
    const now = options.now ?? Date.now;
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

    // swarmkit's node/node.go
    const facts = async (): Promise<NodeFacts> => this.nodeFacts();
    new Gauge({
      name: 'swarm_node_info',
      help: 'Information related to the swarm',
      labelNames: ['swarm_id', 'node_id'],
      registers: [registry],
      async collect() {
        this.reset();
        const f = await facts();
        if (f.nodeId) this.set({ swarm_id: f.swarmId, node_id: f.nodeId }, 1);
      },
    });
    new Gauge({
      name: 'swarm_node_manager',
      help: 'Whether this node is a manager or not',
      registers: [registry],
      async collect() {
        this.set((await facts()).manager ? 1 : 0);
      },
    });
    // swarmkit's manager/manager.go
    new Gauge({
      name: 'swarm_manager_leader',
      help: 'Indicates if this manager node is a leader',
      registers: [registry],
      async collect() {
        this.set((await facts()).leader ? 1 : 0);
      },
    });
    // swarmkit's manager/metrics/collector.go: every state always present, 0 when none.
    const counts = (): StoreCounts | undefined => this.counts;
    new Gauge({
      name: 'swarm_manager_nodes',
      help: 'The number of nodes',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        for (const state of NODE_STATES) this.set({ state }, counts()?.nodes.get(state) ?? 0);
      },
    });
    new Gauge({
      name: 'swarm_manager_tasks_total',
      help: 'The number of tasks in the cluster object store',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        for (const state of TASK_STATES) this.set({ state }, counts()?.tasks.get(state) ?? 0);
      },
    });
    for (const kind of ['services', 'networks', 'secrets', 'configs'] as const) {
      new Gauge({
        name: `swarm_manager_${kind}_total`,
        help: `The number of ${kind} in the cluster object store`,
        registers: [registry],
        collect() {
          this.set(counts()?.[kind] ?? 0);
        },
      });
    }
    // swarmkit's manager/state/store/memory.go (its store is raft's; shoal's is SQLite with an in-memory copy)
    this.storeWrite = new Histogram({
      name: 'swarm_store_write_tx_latency_seconds',
      help: 'Raft store write tx latency.',
      buckets: FAST_BUCKETS,
      registers: [registry],
    });
    this.storeRead = new Histogram({
      name: 'swarm_store_read_tx_latency_seconds',
      help: 'Raft store read tx latency.',
      buckets: FAST_BUCKETS,
      registers: [registry],
    });
    // swarmkit's manager/dispatcher/dispatcher.go
    this.schedulingDelay = new Histogram({
      name: 'swarm_dispatcher_scheduling_delay_seconds',
      help: 'Scheduling delay is the time a task takes to go from NEW to RUNNING state.',
      buckets: DEFAULT_BUCKETS,
      registers: [registry],
    });

    // shoal's own
    this.reconcilePass = new Histogram({
      name: 'shoal_reconcile_pass_duration_seconds',
      help: 'Duration of one pass of a reconciling control loop (orchestrator, allocator), writes included.',
      labelNames: ['loop'],
      buckets: FAST_BUCKETS,
      registers: [registry],
    });
    this.schedulerPass = new Histogram({
      name: 'shoal_scheduler_pass_duration_seconds',
      help: 'Duration of one scheduler pass, writes included.',
      buckets: FAST_BUCKETS,
      registers: [registry],
    });
    this.heartbeats = new Counter({
      name: 'shoal_dispatcher_heartbeats_total',
      help: 'Heartbeats the dispatcher accepted from nodes.',
      registers: [registry],
    });
    const seconds = this.heartbeatSeconds;
    new Gauge({
      name: 'shoal_dispatcher_heartbeats_per_second',
      help: `Heartbeats the dispatcher accepted per second, averaged over the last ${HEARTBEAT_WINDOW_S} s.`,
      registers: [registry],
      collect() {
        const current = Math.floor(now() / 1000);
        let total = 0;
        for (const [second, count] of seconds) {
          if (second <= current - HEARTBEAT_WINDOW_S) seconds.delete(second);
          else if (second < current) total += count;
        }
        this.set(total / HEARTBEAT_WINDOW_S);
      },
    });
    this.apiLatency = new Histogram({
      name: 'shoal_api_request_duration_seconds',
      help: 'Engine API requests shoal answers itself (not streams), by method, route and status code.',
      labelNames: ['method', 'route', 'code'],
      buckets: DEFAULT_BUCKETS,
      registers: [registry],
    });
    this.taskStart = new Histogram({
      name: 'shoal_task_start_latency_seconds',
      help: 'Time a task takes from its assignment to a node to RUNNING, as the manager sees it.',
      buckets: DEFAULT_BUCKETS,
      registers: [registry],
    });
    this.now = now;
  }

  private readonly now: () => number;

  /** Where swarm_node_* and swarm_manager_leader come from (the daemon knows its membership). */
  setNodeFacts(facts: () => NodeFacts | Promise<NodeFacts>): void {
    this.nodeFacts = facts;
  }

  /**
   * Follows a manager's store: counts what it holds now, then every change, until the returned function is
   * called (the manager stops), after which the swarm_manager_* gauges read 0 again, as swarmkit resets them.
   */
  attach(store: ObjectStore): () => void {
    const counts = new StoreCounts(
      {
        schedulingDelay: (s) => this.schedulingDelay.observe(s),
        startLatency: (s) => this.taskStart.observe(s),
      },
      this.now,
    );
    // Loading and watching in one synchronous step: no commit falls in between.
    store.view((tx) => counts.load(tx));
    const unwatch = store.watch((batch) => counts.apply(batch));
    this.counts = counts;
    return () => {
      unwatch();
      if (this.counts === counts) this.counts = undefined;
    };
  }

  /** The store with its reads and writes timed (swarm_store_*_tx_latency_seconds). */
  timedStore(store: ObjectStore): ObjectStore {
    return new TimedStore(store, this.storeRead, this.storeWrite);
  }

  /** An observer for a reconciling loop's passes. */
  reconcileObserver(loop: 'orchestrator' | 'allocator'): PassObserver {
    return this.passObserver(this.reconcilePass.labels({ loop }));
  }

  /** An observer for the scheduler's passes. */
  schedulerObserver(): PassObserver {
    return this.passObserver(this.schedulerPass);
  }

  /** A heartbeat the dispatcher accepted. */
  heartbeat(): void {
    this.heartbeats.inc();
    const second = Math.floor(this.now() / 1000);
    this.heartbeatSeconds.set(second, (this.heartbeatSeconds.get(second) ?? 0) + 1);
  }

  observeApiRequest(observation: ApiRequestObservation): void {
    this.apiLatency.observe(
      { method: observation.method, route: observation.route, code: String(observation.status) },
      observation.seconds,
    );
  }

  /** The exposition, in Prometheus' text format. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private passObserver(histogram: { observe(value: number): void }): PassObserver {
    return () => {
      const start = performance.now();
      return () => histogram.observe((performance.now() - start) / 1000);
    };
  }
}

/** An ObjectStore whose transactions are timed; everything else is the store's. */
class TimedStore implements ObjectStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly read: Histogram,
    private readonly write: Histogram,
  ) {}

  view<T>(fn: (tx: ReadTx) => T): T {
    const start = performance.now();
    try {
      return this.store.view(fn);
    } finally {
      this.read.observe((performance.now() - start) / 1000);
    }
  }

  async update<T>(fn: (tx: WriteTx) => T): Promise<T> {
    const start = performance.now();
    try {
      return await this.store.update(fn);
    } finally {
      this.write.observe((performance.now() - start) / 1000);
    }
  }

  watch(handler: (batch: ObjectEventBatch) => void): () => void {
    return this.store.watch(handler);
  }

  get revision(): number {
    return this.store.revision;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
