// The metrics over a real (in-memory SQLite) store: swarmkit's gauges follow the store change by change
// and match a recount, the latencies of a task's way to RUNNING are observed, the observers feed the
// histograms, and the whole exposition is valid Prometheus text.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Node, Task, TaskState } from '../../../src/api/types.js';
import { SwarmMetrics } from '../../../src/manager/metrics/swarm-metrics.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { parseExposition, sampleValue, type MetricFamily } from '../support/prometheus-text.js';

function node(id: string, state: Node['Status']['State']): Node {
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Role: 'worker', Availability: 'active' },
    Status: { State: state },
  } as Node;
}

function task(id: string, state: TaskState): Task {
  const createdAt = new Date().toISOString();
  return {
    ID: id,
    Version: { Index: 0 },
    CreatedAt: createdAt,
    UpdatedAt: createdAt,
    Spec: { ContainerSpec: { Image: 'busybox' } },
    ServiceID: 's1',
    Slot: 1,
    Status: { State: state, Message: '', Timestamp: createdAt },
    DesiredState: 'running',
  };
}

describe('swarm metrics', () => {
  let store: ClusterStore;
  let metrics: SwarmMetrics;
  let now: number;
  const scrape = async (): Promise<Map<string, MetricFamily>> =>
    parseExposition((await metrics.render()).body);

  beforeEach(async () => {
    store = await ClusterStore.open(new SqliteKV(':memory:'));
    now = Date.parse('2030-01-01T00:00:10Z');
    metrics = new SwarmMetrics({ defaultMetrics: false, now: () => now });
  });
  afterEach(() => store.close());

  it('counts nodes and tasks by state from the watch, as a recount would', async () => {
    await store.update((tx) => {
      tx.create('node', node('n1', 'ready'));
      tx.create('task', task('t1', 'running'));
    });
    const detach = metrics.attach(store);
    await store.update((tx) => {
      tx.create('node', node('n2', 'down'));
      tx.create('task', task('t2', 'pending'));
      tx.create('task', task('t3', 'failed'));
    });
    await store.update((tx) => {
      const t2 = structuredClone(tx.get('task', 't2')!);
      t2.Status.State = 'assigned';
      tx.update('task', t2);
      tx.delete('task', 't3');
      const n1 = structuredClone(tx.get('node', 'n1')!);
      n1.Status.State = 'down';
      tx.update('node', n1);
    });
    let families = await scrape();
    assert.equal(sampleValue(families, 'swarm_manager_nodes', { state: 'down' }), 2);
    assert.equal(sampleValue(families, 'swarm_manager_nodes', { state: 'ready' }), 0);
    assert.equal(sampleValue(families, 'swarm_manager_tasks_total', { state: 'running' }), 1);
    assert.equal(sampleValue(families, 'swarm_manager_tasks_total', { state: 'assigned' }), 1);
    assert.equal(sampleValue(families, 'swarm_manager_tasks_total', { state: 'failed' }), 0);
    // Every state is there, as swarmkit sets them all to 0 first.
    assert.equal(families.get('swarm_manager_tasks_total')?.samples.length, 15);
    detach();
    families = await scrape();
    assert.equal(sampleValue(families, 'swarm_manager_nodes', { state: 'down' }), 0);
  });

  it("observes a task's scheduling delay and start latency when it runs", async () => {
    metrics.attach(store);
    await store.update((tx) => tx.create('task', task('t1', 'pending')));
    // The store stamps CreatedAt: the manager's clock is set from it.
    now = Date.parse(store.view((tx) => tx.get('task', 't1')!.CreatedAt)) + 1000;
    const move = (state: TaskState) =>
      store.update((tx) => {
        const t = structuredClone(tx.get('task', 't1')!);
        t.Status.State = state;
        tx.update('task', t);
      });
    await move('assigned');
    now += 250;
    await move('running');
    const families = await scrape();
    assert.equal(sampleValue(families, 'swarm_dispatcher_scheduling_delay_seconds_count'), 1);
    assert.equal(sampleValue(families, 'swarm_dispatcher_scheduling_delay_seconds_sum'), 1.25);
    assert.equal(sampleValue(families, 'shoal_task_start_latency_seconds_count'), 1);
    assert.equal(sampleValue(families, 'shoal_task_start_latency_seconds_sum'), 0.25);
  });

  it('times store transactions, loop passes and API requests, and averages heartbeats', async () => {
    const timed = metrics.timedStore(store);
    await timed.update((tx) => tx.create('node', node('n1', 'ready')));
    timed.view((tx) => tx.list('node'));
    metrics.reconcileObserver('orchestrator')()();
    metrics.schedulerObserver()()();
    metrics.observeApiRequest({ method: 'GET', route: '/services/{id}', status: 404, seconds: 0.002 });
    for (let i = 0; i < 20; i++) metrics.heartbeat();
    now += 1000;
    metrics.setNodeFacts(() => ({ nodeId: 'n1', swarmId: 'c1', manager: true, leader: true }));
    const families = await scrape();
    assert.equal(sampleValue(families, 'swarm_store_write_tx_latency_seconds_count'), 1);
    assert.equal(sampleValue(families, 'swarm_store_read_tx_latency_seconds_count'), 1);
    assert.equal(
      sampleValue(families, 'shoal_reconcile_pass_duration_seconds_count', { loop: 'orchestrator' }),
      1,
    );
    assert.equal(sampleValue(families, 'shoal_scheduler_pass_duration_seconds_count'), 1);
    assert.equal(
      sampleValue(families, 'shoal_api_request_duration_seconds_count', {
        method: 'GET',
        route: '/services/{id}',
        code: '404',
      }),
      1,
    );
    assert.equal(sampleValue(families, 'shoal_dispatcher_heartbeats_total'), 20);
    assert.equal(sampleValue(families, 'shoal_dispatcher_heartbeats_per_second'), 2);
    assert.equal(sampleValue(families, 'swarm_node_info', { swarm_id: 'c1', node_id: 'n1' }), 1);
    assert.equal(sampleValue(families, 'swarm_node_manager'), 1);
    assert.equal(sampleValue(families, 'swarm_manager_leader'), 1);
    assert.equal(families.get('swarm_manager_nodes')?.help, 'The number of nodes');
  });

  it('with the default process metrics, the exposition still parses', async () => {
    const full = new SwarmMetrics();
    assert.ok(parseExposition((await full.render()).body).has('process_cpu_seconds_total'));
  });
});
