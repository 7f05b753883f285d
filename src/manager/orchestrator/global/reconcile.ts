// Reconciling a global service (swarmkit global/global.go): one task per eligible node that meets
// the placement constraints. Global tasks never move: on a drained or down node they are shut down, on a
// deleted node they are deleted, and a paused node keeps what it runs but gets nothing new.

import type { Node, Service, Task } from '../../../api/types.js';
import { deleteTask, setDesiredState, type OrchestratorAction } from '../actions.js';
import { newTask } from '../new-task.js';
import { restartTask } from '../restart/restart.js';
import type { ReconcileContext } from '../snapshot.js';
import { groupTasks, updatableTasks, type Slot } from '../slots.js';
import { hasStopped, isInvalidNode, isRunnable, nodeSatisfies, serviceConstraints } from '../task-rules.js';
import { superviseUpdate } from '../update/supervisor.js';

const tasksByNode = (tasks: readonly Readonly<Task>[]) => groupTasks(tasks, (task) => task.NodeID ?? '');

/** Eligible = neither drained nor down; UNKNOWN, DISCONNECTED and PAUSE nodes count. */
export const isEligibleNode = (node: Readonly<Node>): boolean => !isInvalidNode(node);

/** Node ID → the tasks occupying the service's instance there (what the update supervisor is handed). */
export function globalSlots(service: Readonly<Service>, tasks: readonly Readonly<Task>[]): Map<string, Slot> {
  const slots = new Map<string, Slot>();
  for (const [nodeId, nodeTasks] of tasksByNode(tasks)) {
    const updatable = updatableTasks(nodeTasks, service, 'global');
    if (updatable.length > 0) slots.set(nodeId, updatable);
  }
  return slots;
}

export function reconcileGlobalService(
  service: Readonly<Service>,
  ctx: ReconcileContext,
): OrchestratorAction[] {
  const constraints = serviceConstraints(service);
  const byNode = tasksByNode(ctx.snapshot.tasksOfService(service.ID));
  const actions: OrchestratorAction[] = [];
  const shutDown = (tasks: readonly Readonly<Task>[]): void => {
    for (const task of tasks) if (isRunnable(task)) actions.push(setDesiredState(task.ID, 'shutdown'));
  };
  const toUpdate: Slot[] = [];

  for (const node of ctx.snapshot.nodes()) {
    const history = byNode.get(node.ID) ?? [];
    byNode.delete(node.ID);
    if (!isEligibleNode(node) || !nodeSatisfies(constraints, node)) {
      shutDown(history);
      continue;
    }
    const slot = updatableTasks(history, service, 'global');
    const stopped = slot.filter((task) => isRunnable(task) && hasStopped(task));
    if (node.Spec.Availability === 'pause') {
      // Paused: nothing new on this node, not even a restart (swarmkit shuts a failed task down).
      shutDown(stopped);
      continue;
    }
    if (slot.length === 0) {
      actions.push({
        kind: 'createTask',
        task: newTask(
          service,
          ctx.snapshot.cluster(),
          { slot: 0, nodeId: node.ID, desiredState: 'running' },
          ctx.now,
        ),
      });
      continue;
    }
    if (stopped.length > 0) {
      for (const task of stopped) {
        actions.push(...restartTask({ task, service, mode: 'global', instanceTasks: history }, ctx));
      }
      continue;
    }
    toUpdate.push(slot);
  }

  // Left over: tasks on nodes that no longer exist (deleted with the node, as swarmkit does) and tasks
  // that never had a node (not made by this orchestrator; shut down).
  for (const [nodeId, tasks] of byNode) {
    if (nodeId === '') shutDown(tasks);
    else for (const task of tasks) actions.push(deleteTask(task));
  }

  // The update supervisor replaces the dirty ones among them, as a rolling update (update/). swarmkit
  // replaces an outdated task found on a node that becomes eligible again (e.g. un-paused) directly, with
  // no UpdateStatus; here it goes through the supervisor too, which leaves a completed status alone.
  actions.push(...superviseUpdate(service, toUpdate, ctx));
  return actions;
}
