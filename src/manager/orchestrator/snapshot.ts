// The read-only view of the cluster that the orchestrators' pure cores take. The loop adapts the
// store's read transaction to it (so a core sees one consistent state without copying the store);
// tests and simulations build one from plain arrays.

import type { Cluster, Node, Service, Task } from '../../api/types.js';
import type { ReadTx } from '../../store/objects.js';
import type { PendingStart } from './actions.js';
import type { Rollout } from './update/rollout.js';

export interface Snapshot {
  cluster(): Readonly<Cluster> | undefined;
  node(id: string): Readonly<Node> | undefined;
  nodes(): readonly Readonly<Node>[];
  service(id: string): Readonly<Service> | undefined;
  services(): readonly Readonly<Service>[];
  task(id: string): Readonly<Task> | undefined;
  tasks(): readonly Readonly<Task>[];
  /** Every task of the service, including those of a service that has been deleted. */
  tasksOfService(serviceId: string): readonly Readonly<Task>[];
  tasksOnNode(nodeId: string): readonly Readonly<Task>[];
}

/** Everything a core needs besides the snapshot: the clock reading and the loop's memory. */
export interface ReconcileContext {
  readonly snapshot: Snapshot;
  /** Milliseconds since the epoch. */
  readonly now: number;
  /** Replacements waiting to be raised, by task ID. */
  readonly pendingStarts: ReadonlyMap<string, PendingStart>;
  /** Rolling updates in progress, by service ID. */
  readonly rollouts: ReadonlyMap<string, Rollout>;
  /**
   * How many tasks the reconcile may create to fill empty slots of replicated services and jobs (the
   * pass's remaining budget); unlimited when absent. Restarts and updates replace existing tasks and
   * are not counted.
   */
  readonly maxNewTasks?: number;
}

export function snapshotOfReadTx(tx: ReadTx): Snapshot {
  return {
    cluster: () => tx.list('cluster')[0],
    node: (id) => tx.get('node', id),
    nodes: () => tx.list('node'),
    service: (id) => tx.get('service', id),
    services: () => tx.list('service'),
    task: (id) => tx.get('task', id),
    tasks: () => tx.list('task'),
    tasksOfService: (id) => tx.tasksByService(id),
    tasksOnNode: (id) => tx.tasksByNode(id),
  };
}

export interface SnapshotObjects {
  readonly cluster?: Cluster;
  readonly nodes?: readonly Node[];
  readonly services?: readonly Service[];
  readonly tasks?: readonly Task[];
}

/** A snapshot over plain arrays (tests, simulations). */
export function snapshotOf(objects: SnapshotObjects): Snapshot {
  const nodes = new Map((objects.nodes ?? []).map((n) => [n.ID, n]));
  const services = new Map((objects.services ?? []).map((s) => [s.ID, s]));
  const tasks = new Map((objects.tasks ?? []).map((t) => [t.ID, t]));
  const allTasks = [...tasks.values()];
  return {
    cluster: () => objects.cluster,
    node: (id) => nodes.get(id),
    nodes: () => [...nodes.values()],
    service: (id) => services.get(id),
    services: () => [...services.values()],
    task: (id) => tasks.get(id),
    tasks: () => allTasks,
    tasksOfService: (id) => allTasks.filter((t) => t.ServiceID === id),
    tasksOnNode: (id) => allTasks.filter((t) => t.NodeID === id),
  };
}
