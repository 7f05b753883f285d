// The counts behind the swarm_manager_* gauges, kept from the store's watch as swarmkit's metrics
// collector keeps them (manager/metrics/collector.go): every object counted once when the manager starts,
// then each committed change moves a count by one. A scrape reads the counts; it never walks the tasks.
//
// Also from the watch: the two latencies of a task's way to RUNNING — from its creation (NEW), swarmkit's
// scheduling delay, and from its assignment to a node, shoal's task start latency — observed on the
// manager's clock when the store says the task runs.

import { isTerminal, TASK_STATE_RANK } from '../../api/taskstate.js';
import type { NodeState, TaskState } from '../../api/types.js';
import type { ObjectEvent, ObjectEventBatch, ReadTx } from '../../store/objects.js';

/** swarmkit's NodeStatus states, lower-cased as its metrics label them. */
export const NODE_STATES: readonly NodeState[] = ['unknown', 'down', 'ready', 'disconnected'];

/** swarmkit's task states, lower-cased as its metrics label them, in their order. */
export const TASK_STATES = (Object.keys(TASK_STATE_RANK) as TaskState[]).sort(
  (a, b) => TASK_STATE_RANK[a] - TASK_STATE_RANK[b],
);

export interface TaskLatencies {
  /** Seconds from a task's creation to RUNNING (swarm_dispatcher_scheduling_delay_seconds). */
  schedulingDelay(seconds: number): void;
  /** Seconds from a task's assignment to a node to RUNNING (shoal_task_start_latency_seconds). */
  startLatency(seconds: number): void;
}

export class StoreCounts {
  readonly nodes = new Map<string, number>();
  readonly tasks = new Map<string, number>();
  services = 0;
  networks = 0;
  secrets = 0;
  configs = 0;
  /** When each task not yet running was assigned (ms since the epoch), for the start latency. */
  private readonly assignedAt = new Map<string, number>();

  constructor(
    private readonly latencies: TaskLatencies,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts what the store holds now (once, when the manager starts). */
  load(tx: ReadTx): void {
    this.nodes.clear();
    this.tasks.clear();
    this.assignedAt.clear();
    for (const node of tx.list('node')) this.add(this.nodes, node.Status?.State ?? 'unknown', 1);
    for (const task of tx.list('task')) this.add(this.tasks, task.Status.State, 1);
    this.services = tx.list('service').length;
    this.networks = tx.list('network').length;
    this.secrets = tx.list('secret').length;
    this.configs = tx.list('config').length;
  }

  apply(batch: ObjectEventBatch): void {
    for (const event of batch.events) this.applyEvent(event);
  }

  private applyEvent(event: ObjectEvent): void {
    const delta = event.action === 'create' ? 1 : event.action === 'delete' ? -1 : 0;
    switch (event.kind) {
      case 'node': {
        const state = event.object.Status?.State ?? 'unknown';
        if (event.action === 'update') {
          const old = event.old.Status?.State ?? 'unknown';
          if (old !== state) {
            this.add(this.nodes, old, -1);
            this.add(this.nodes, state, 1);
          }
        } else {
          this.add(this.nodes, state, delta);
        }
        return;
      }
      case 'task':
        this.taskEvent(event);
        return;
      case 'service':
        this.services += delta;
        return;
      case 'network':
        this.networks += delta;
        return;
      case 'secret':
        this.secrets += delta;
        return;
      case 'config':
        this.configs += delta;
        return;
      default:
        return;
    }
  }

  private taskEvent(event: Extract<ObjectEvent, { kind: 'task' }>): void {
    const task = event.object;
    const state = task.Status.State;
    if (event.action === 'delete') {
      this.add(this.tasks, state, -1);
      this.assignedAt.delete(task.ID);
      return;
    }
    const old = event.action === 'update' ? event.old.Status.State : undefined;
    if (old === state) return;
    if (old !== undefined) this.add(this.tasks, old, -1);
    this.add(this.tasks, state, 1);
    const now = this.now();
    if (state === 'assigned') {
      this.assignedAt.set(task.ID, now);
    } else if (state === 'running') {
      const created = Date.parse(task.CreatedAt);
      if (Number.isFinite(created)) this.latencies.schedulingDelay(Math.max(0, now - created) / 1000);
      const assigned = this.assignedAt.get(task.ID);
      if (assigned !== undefined) this.latencies.startLatency(Math.max(0, now - assigned) / 1000);
      this.assignedAt.delete(task.ID);
    } else if (isTerminal(state)) {
      this.assignedAt.delete(task.ID);
    }
  }

  private add(counts: Map<string, number>, state: string, delta: number): void {
    if (delta === 0) return;
    const next = (counts.get(state) ?? 0) + delta;
    if (next === 0) counts.delete(state);
    else counts.set(state, next);
  }
}
