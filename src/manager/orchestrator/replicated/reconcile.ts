// Reconciling a replicated service (swarmkit replicated/services.go and tasks.go): keep exactly
// `Replicas` occupied slots, replace tasks that stopped or lost their node in their own slot, and hand
// the kept slots to the update supervisor.

import type { Service, Task } from '../../../api/types.js';
import { deleteTask, setDesiredState, type OrchestratorAction } from '../actions.js';
import { newTask } from '../new-task.js';
import { restartTask } from '../restart/restart.js';
import { desiredReplicas } from '../service-mode.js';
import type { ReconcileContext } from '../snapshot.js';
import { groupTasks, updatableTasks, type Slot } from '../slots.js';
import { hasStopped, isInvalidNode, isRunnable, neverAssigned, nodeOf } from '../task-rules.js';
import { superviseUpdate } from '../update/supervisor.js';
import { chooseSlotsToKeep, lowestFreeSlots } from './slots.js';

export interface ReplicatedSlots {
  /** Slot number → the tasks that keep it occupied. */
  readonly occupied: ReadonlyMap<number, Slot>;
  /** Slot number → all tasks of a slot nothing keeps occupied. */
  readonly dead: ReadonlyMap<number, readonly Readonly<Task>[]>;
  /** Slot number → every task of the slot (its history), for restart decisions. */
  readonly all: ReadonlyMap<number, readonly Readonly<Task>[]>;
}

export function replicatedSlots(
  service: Readonly<Service>,
  tasks: readonly Readonly<Task>[],
): ReplicatedSlots {
  const all = groupTasks(tasks, (task) => task.Slot ?? 0);
  const occupied = new Map<number, Slot>();
  const dead = new Map<number, readonly Readonly<Task>[]>();
  for (const [number, slotTasks] of all) {
    const updatable = updatableTasks(slotTasks, service, 'replicated');
    if (updatable.length > 0) occupied.set(number, updatable);
    else dead.set(number, slotTasks);
  }
  return { occupied, dead, all };
}

export function reconcileReplicatedService(
  service: Readonly<Service>,
  ctx: ReconcileContext,
): OrchestratorAction[] {
  const { occupied, dead, all } = replicatedSlots(service, ctx.snapshot.tasksOfService(service.ID));
  const replicas = desiredReplicas(service);
  const actions: OrchestratorAction[] = [];
  const reusedDeadSlots = new Set<number>();

  let kept: number[];
  if (occupied.size > replicas) {
    const { keep, remove } = chooseSlotsToKeep(occupied, replicas);
    for (const number of remove) {
      for (const task of occupied.get(number)!) actions.push(setDesiredState(task.ID, 'remove'));
    }
    kept = keep;
  } else {
    kept = [...occupied.keys()];
    const missing = Math.min(replicas - occupied.size, ctx.maxNewTasks ?? Number.POSITIVE_INFINITY);
    for (const number of lowestFreeSlots(new Set(occupied.keys()), missing)) {
      if (dead.has(number)) reusedDeadSlots.add(number);
      actions.push({
        kind: 'createTask',
        task: newTask(service, ctx.snapshot.cluster(), { slot: number, desiredState: 'running' }, ctx.now),
      });
    }
  }

  // swarmkit deletes the tasks of dead slots it does not reuse. shoal waits until each has stopped (or
  // never reached a node), so an agent is never left running a task the store has forgotten.
  for (const [number, tasks] of dead) {
    if (reusedDeadSlots.has(number)) continue;
    for (const task of tasks) if (hasStopped(task) || neverAssigned(task)) actions.push(deleteTask(task));
  }

  const toUpdate: Slot[] = [];
  for (const number of kept) {
    const slot = occupied.get(number)!;
    const broken = slot.filter(
      (task) =>
        isRunnable(task) &&
        (hasStopped(task) || (!!task.NodeID && isInvalidNode(nodeOf(ctx.snapshot, task)))),
    );
    if (broken.length === 0) {
      toUpdate.push(slot);
      continue;
    }
    // The replacement is made from the current spec, so the updater has nothing to do in this slot now.
    for (const task of broken) {
      actions.push(
        ...restartTask({ task, service, mode: 'replicated', instanceTasks: all.get(number) ?? [] }, ctx),
      );
    }
  }
  // The update supervisor replaces the dirty ones among them, as a rolling update (update/).
  actions.push(...superviseUpdate(service, toUpdate, ctx));
  return actions;
}
