// Plays the rest of the cluster around the orchestrators in loop tests: a scheduler that places pending
// tasks, and agents that move their tasks towards the desired state — one step at a time, through the
// store, like the real components. A test can make the agents fail a task when they start it (a command
// that exits at once) or keep it STARTING forever (a healthcheck that never passes: the executor reports
// RUNNING only once a task is healthy).

import { rank } from '../../../../src/api/taskstate.js';
import type { Node, Task, TaskState } from '../../../../src/api/types.js';
import type { ObjectStore, WriteTx } from '../../../../src/store/objects.js';

/** What the agent does when it starts a task. */
export type StartOutcome = 'runs' | 'fails' | 'stays-starting';

export class SimulatedCluster {
  /** Decides, per task, how starting it ends (default: it runs). */
  startOutcome: (task: Task) => StartOutcome = () => 'runs';

  constructor(
    private readonly store: ObjectStore,
    private readonly random: () => number = Math.random,
  ) {}

  tasks(serviceId?: string): Task[] {
    return this.store.view((tx) => (serviceId ? tx.tasksByService(serviceId) : tx.list('task')));
  }

  task(id: string): Task | undefined {
    return this.store.view((tx) => tx.get('task', id));
  }

  node(id: string): Node | undefined {
    return this.store.view((tx) => tx.get('node', id));
  }

  async changeNode(id: string, change: (node: Node) => void): Promise<void> {
    await this.store.update((tx) => {
      const node = structuredClone(tx.get('node', id)!);
      change(node);
      tx.update('node', node);
    });
  }

  /** Sets a task's observed state, as its agent would report it. */
  async report(taskId: string, state: TaskState): Promise<void> {
    await this.store.update((tx) => setState(tx, tx.get('task', taskId)!, state));
  }

  /** One round of scheduling and agent progress. Returns whether anything changed. */
  async step(): Promise<boolean> {
    return this.store.update((tx) => {
      let changed = false;
      const nodes = tx.list('node');
      const usable = nodes.filter((n) => n.Status.State === 'ready' && n.Spec.Availability === 'active');
      for (const task of tx.list('task')) {
        const next = this.nextState(tx, task, usable);
        if (!next) continue;
        changed = true;
        if (next.nodeId) setState(tx, { ...task, NodeID: next.nodeId }, next.state);
        else setState(tx, task, next.state);
      }
      return changed;
    });
  }

  private nextState(
    tx: WriteTx,
    task: Task,
    usable: Node[],
  ): { state: TaskState; nodeId?: string } | undefined {
    const desired = task.DesiredState;
    const state = task.Status.State;
    if (state === 'pending') {
      // The scheduler moves a pending task that is no longer wanted to SHUTDOWN.
      if (rank(desired) > rank('complete')) return { state: 'shutdown' };
      if (task.NodeID) return usable.some((n) => n.ID === task.NodeID) ? { state: 'assigned' } : undefined;
      if (usable.length === 0) return undefined;
      return { state: 'assigned', nodeId: usable[Math.floor(this.random() * usable.length)]!.ID };
    }
    if (!task.NodeID || rank(state) < rank('assigned') || rank(state) > rank('running')) return undefined;
    const node = tx.get('node', task.NodeID);
    // An agent on a node that is not up reports nothing.
    if (!node || node.Status.State !== 'ready') return undefined;
    if (rank(desired) >= rank('shutdown')) return { state: 'shutdown' };
    if (desired === 'ready') return rank(state) < rank('ready') ? { state: 'ready' } : undefined;
    if (rank(state) < rank('running')) {
      switch (this.startOutcome(task)) {
        case 'runs':
          return { state: 'running' };
        case 'fails':
          return { state: 'failed' };
        case 'stays-starting':
          return state === 'starting' ? undefined : { state: 'starting' };
      }
    }
    if (desired === 'complete') return { state: 'complete' };
    return undefined;
  }
}

function setState(tx: WriteTx, task: Task, state: TaskState): void {
  tx.update('task', {
    ...task,
    Status: { ...task.Status, State: state, Timestamp: new Date().toISOString() },
  });
}
