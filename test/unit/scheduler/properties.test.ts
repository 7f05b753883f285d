// Invariants over random clusters (seeded, so a failure names a reproducible seed): whatever the
// nodes and tasks, the scheduler never places a task where it may not run, and spreads what it places.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, Task } from '../../../src/api/types.js';
import type { SchedulingDecision } from '../../../src/manager/scheduler/snapshot.js';
import { GiB, node, running, schedule, tasks } from './fixtures.js';

/** mulberry32: small, fast, good enough to vary test inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface ServicePlan {
  id: string;
  memoryBytes: number;
  maxReplicas: number;
  pending: number;
}

interface Cluster {
  nodes: Node[];
  tasks: Task[];
  services: ServicePlan[];
}

function randomCluster(seed: number, o: { plain?: boolean } = {}): Cluster {
  const random = prng(seed);
  const int = (max: number) => Math.floor(random() * (max + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  const nodes = Array.from({ length: 1 + int(11) }, (_, i) =>
    node(`n${i + 1}`, {
      state: o.plain ? 'ready' : pick(['ready', 'ready', 'ready', 'down', 'unknown'] as const),
      availability: o.plain ? 'active' : pick(['active', 'active', 'active', 'pause', 'drain'] as const),
      memoryBytes: (4 + int(28)) * GiB,
    }),
  );
  const services: ServicePlan[] = Array.from({ length: 1 + int(3) }, (_, i) => ({
    id: `s${i + 1}`,
    memoryBytes: o.plain ? 0 : pick([0, 0, 1, 2]) * GiB,
    maxReplicas: o.plain ? 0 : pick([0, 0, 1, 2, 3]),
    pending: int(40),
  }));
  const all: Task[] = [];
  for (const s of services) {
    if (!o.plain) {
      // Existing tasks on random nodes, within each node's memory.
      for (const n of nodes) {
        const count = pick([0, 0, 0, 1, 2]);
        if (count && s.memoryBytes * count <= memoryLeft(n, all)) {
          all.push(
            ...running(n.ID, count, { service: s.id, memoryBytes: s.memoryBytes }, `${s.id}-on-${n.ID}-`),
          );
        }
      }
    }
    const spec = { service: s.id, memoryBytes: s.memoryBytes, maxReplicas: s.maxReplicas };
    all.push(...tasks(s.pending, spec, `${s.id}-t`));
  }
  return { nodes, tasks: all, services };
}

const memoryOf = (t: Task) => t.Spec.Resources?.Reservations?.MemoryBytes ?? 0;

/** Memory left on a node after the given tasks that run on it. */
function memoryLeft(n: Node, all: readonly Task[]): number {
  const used = all.filter((t) => t.NodeID === n.ID).reduce((sum, t) => sum + memoryOf(t), 0);
  return (n.Description.Resources.MemoryBytes ?? 0) - used;
}

const eligible = (n: Node) => n.Status.State === 'ready' && n.Spec.Availability === 'active';

/** The tasks on each node after applying the decisions. */
function outcome(cluster: Cluster, decisions: readonly SchedulingDecision[]) {
  const byId = new Map(cluster.tasks.map((t) => [t.ID, t]));
  const placed = new Map<string, Task[]>(cluster.nodes.map((n) => [n.ID, []]));
  for (const t of cluster.tasks) if (t.NodeID) placed.get(t.NodeID)?.push(t);
  const received = new Map<string, Set<string>>(); // service → nodes that got one of its tasks
  for (const d of decisions) {
    if (d.kind !== 'assign') continue;
    const t = byId.get(d.taskId)!;
    placed.get(d.nodeId)!.push(t);
    if (!received.has(t.ServiceID)) received.set(t.ServiceID, new Set());
    received.get(t.ServiceID)!.add(d.nodeId);
  }
  const count = (nodeId: string, serviceId: string) =>
    placed.get(nodeId)!.filter((t) => t.ServiceID === serviceId).length;
  const free = (n: Node) =>
    (n.Description.Resources.MemoryBytes ?? 0) - placed.get(n.ID)!.reduce((sum, t) => sum + memoryOf(t), 0);
  return { byId, placed, received, count, free };
}

function checkInvariants(seed: number, cluster: Cluster): void {
  const decisions = schedule({ nodes: cluster.nodes, tasks: cluster.tasks });
  const { byId, received, count, free } = outcome(cluster, decisions);
  const nodesById = new Map(cluster.nodes.map((n) => [n.ID, n]));
  const why = `seed ${seed}`;

  // One decision per pending task, none for the others.
  const pending = cluster.tasks.filter((t) => t.Status.State === 'pending').map((t) => t.ID);
  assert.deepEqual(decisions.map((d) => d.taskId).sort(), pending.sort(), why);

  for (const d of decisions) {
    if (d.kind !== 'assign') continue;
    assert.ok(eligible(nodesById.get(d.nodeId)!), `${why}: ${d.taskId} placed on unavailable ${d.nodeId}`);
  }
  for (const n of cluster.nodes) {
    const gotSome = [...received.values()].some((nodes) => nodes.has(n.ID));
    if (gotSome) assert.ok(free(n) >= 0, `${why}: memory of ${n.ID} overcommitted`);
  }

  for (const s of cluster.services) {
    const canTakeMore = (n: Node) =>
      eligible(n) && free(n) >= s.memoryBytes && (s.maxReplicas === 0 || count(n.ID, s.id) < s.maxReplicas);
    for (const nodeId of received.get(s.id) ?? []) {
      if (s.maxReplicas) assert.ok(count(nodeId, s.id) <= s.maxReplicas, `${why}: max replicas on ${nodeId}`);
      // Water-filling: a node got its last task only while no usable node had fewer of the service.
      for (const other of cluster.nodes.filter(canTakeMore)) {
        assert.ok(
          count(nodeId, s.id) <= count(other.ID, s.id) + 1,
          `${why}: ${s.id} has ${count(nodeId, s.id)} on ${nodeId} but ${count(other.ID, s.id)} on ${other.ID}`,
        );
      }
    }
    const stuck = decisions.filter(
      (d) => d.kind === 'unschedulable' && byId.get(d.taskId)!.ServiceID === s.id,
    );
    if (stuck.length) {
      const usable = cluster.nodes.filter(canTakeMore).map((n) => n.ID);
      assert.deepEqual(usable, [], `${why}: ${s.id} left pending although ${usable.join(', ')} had room`);
    }
  }
}

describe('scheduler invariants on random clusters', () => {
  it('never places on unavailable nodes, never overcommits memory or max replicas, always water-fills', () => {
    for (let seed = 1; seed <= 300; seed++) checkInvariants(seed, randomCluster(seed));
  });

  it('keeps the tasks of each service within 1 of each other across nodes, without limits', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const cluster = randomCluster(seed, { plain: true });
      const decisions = schedule({ nodes: cluster.nodes, tasks: cluster.tasks });
      const { count } = outcome(cluster, decisions);
      for (const s of cluster.services) {
        const counts = cluster.nodes.map((n) => count(n.ID, s.id));
        assert.ok(
          Math.max(...counts) - Math.min(...counts) <= 1,
          `seed ${seed}: ${s.id} spread as ${counts.join(',')}`,
        );
        assert.equal(
          counts.reduce((a, b) => a + b),
          s.pending,
          `seed ${seed}`,
        );
      }
    }
  });
});
