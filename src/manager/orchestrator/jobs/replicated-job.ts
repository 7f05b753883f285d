// Reconciling a replicated job (swarmkit jobs/replicated/reconciler.go): run tasks in slots
// 0..TotalCompletions-1, at most MaxConcurrent at a time, until every slot has completed.

import type { Service, Task } from '../../../api/types.js';
import type { OrchestratorAction } from '../actions.js';
import { newTask } from '../new-task.js';
import { lowestFreeSlots } from '../replicated/slots.js';
import { restartTask } from '../restart/restart.js';
import { shouldRestart } from '../restart/policy.js';
import { jobIteration, replicatedJobParameters } from '../service-mode.js';
import type { ReconcileContext } from '../snapshot.js';
import { groupTasks, newestTask } from '../slots.js';
import { desiredAtMost, isInvalidNode, nodeOf, observedAfter } from '../task-rules.js';
import { isCurrentIteration, removeOldIterations } from './iterations.js';

export interface ReplicatedJobProgress {
  /** Slots with a completed task of this iteration. */
  readonly completed: ReadonlySet<number>;
  /** Slots with a task still working towards completion (including failed ones awaiting restart). */
  readonly active: ReadonlyMap<number, readonly Readonly<Task>[]>;
  /** Slots whose task failed and may not be restarted (restart policy). */
  readonly givenUp: ReadonlySet<number>;
}

/** The current iteration's tasks by slot, and what state each slot is in. */
export function replicatedJobProgress(tasks: readonly Readonly<Task>[]): {
  progress: ReplicatedJobProgress;
  bySlot: Map<number, Readonly<Task>[]>;
} {
  const bySlot = groupTasks(tasks, (task) => task.Slot ?? 0);
  const completed = new Set<number>();
  const active = new Map<number, readonly Readonly<Task>[]>();
  const givenUp = new Set<number>();
  for (const [slot, slotTasks] of bySlot) {
    if (slotTasks.some((task) => task.Status.State === 'complete')) {
      completed.add(slot);
      continue;
    }
    const working = slotTasks.filter((task) => desiredAtMost(task, 'complete'));
    if (working.length > 0) {
      active.set(slot, working);
      continue;
    }
    // swarmkit counts such a slot as free and refills it at once, which turns restart condition NONE
    // (or an exhausted MaxAttempts) into an endless loop without delay; shoal keeps it, like a
    // replicated service keeps a slot whose task may not be restarted.
    const newest = newestTask(slotTasks);
    if (newest && newest.DesiredState !== 'remove' && !shouldRestart(newest, 'replicated-job', slotTasks)) {
      givenUp.add(slot);
    }
  }
  return { progress: { completed, active, givenUp }, bySlot };
}

export function reconcileReplicatedJob(
  service: Readonly<Service>,
  ctx: ReconcileContext,
): OrchestratorAction[] {
  const tasks = ctx.snapshot.tasksOfService(service.ID);
  const actions = removeOldIterations(service, tasks, 'unfinished');
  const { progress, bySlot } = replicatedJobProgress(
    tasks.filter((task) => isCurrentIteration(service, task)),
  );
  const { maxConcurrent, totalCompletions } = replicatedJobParameters(service);

  const running = progress.active.size;
  const wanted = Math.min(
    maxConcurrent - running,
    totalCompletions - progress.completed.size - running - progress.givenUp.size,
    ctx.maxNewTasks ?? Number.POSITIVE_INFINITY,
  );
  const occupied = new Set([...progress.completed, ...progress.active.keys(), ...progress.givenUp]);
  for (const slot of lowestFreeSlots(occupied, Math.max(0, wanted), 0)) {
    const task = newTask(
      service,
      ctx.snapshot.cluster(),
      { slot, desiredState: 'complete', jobIteration: jobIteration(service) },
      ctx.now,
    );
    actions.push({ kind: 'createTask', task });
  }

  // Failed tasks are restarted per policy. shoal also replaces a job task whose node went down or was
  // drained, in its slot (swarmkit leaves it until the node's tasks are orphaned, 24 hours later).
  for (const [slot, working] of progress.active) {
    for (const task of working) {
      const failed = observedAfter(task, 'complete');
      const nodeGone = !!task.NodeID && isInvalidNode(nodeOf(ctx.snapshot, task));
      if (!failed && !nodeGone) continue;
      actions.push(
        ...restartTask({ task, service, mode: 'replicated-job', instanceTasks: bySlot.get(slot) ?? [] }, ctx),
      );
    }
  }
  return actions;
}
