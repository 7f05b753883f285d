// Replacing one slot (swarmkit Updater.worker, updateTask and useExistingTask): what a worker does
// when it takes a dirty slot, and how a start-first slot is finished once its new task runs.

import { atLeast, rank } from '../../../api/taskstate.js';
import type { Service, Task } from '../../../api/types.js';
import { setDesiredState, type OrchestratorAction } from '../actions.js';
import { isTaskDirty } from '../dirty.js';
import { newTask } from '../new-task.js';
import { WAIT_FOR_STOP_MS } from '../restart/delayed-start.js';
import { isNodeKeyedMode, serviceModeKind } from '../service-mode.js';
import type { ReconcileContext } from '../snapshot.js';
import type { Slot } from '../slots.js';
import { hasStopped, isRunnable, nodeOf } from '../task-rules.js';
import type { RolloutConfig } from './config.js';
import type { DispatchedSlot } from './rollout.js';

export interface SlotDispatch {
  readonly actions: readonly OrchestratorAction[];
  readonly dispatched: DispatchedSlot;
}

/** Observed at or past RUNNING. STARTING is not up: a task with a healthcheck stays there until healthy. */
export const isUp = (task: Readonly<Task>): boolean => atLeast(task.Status.State, 'running');

const isObservedRunning = (task: Readonly<Task>): boolean => task.Status.State === 'running';

/**
 * A worker takes `slot`. If the slot already holds a task of the new spec, that task is kept and the
 * others go; otherwise a replacement is created with desired READY and:
 * - stop-first: the old tasks are shut down in the same transaction, and the replacement is raised to
 *   RUNNING once they stopped (or their node is down, or a minute passed) by the restart machinery;
 * - start-first: the replacement is raised at once, and the old tasks are shut down only when it is
 *   observed RUNNING (finishStartFirst) — if it fails instead, they keep running.
 * Either way the worker then waits for the task to be up, with no timeout.
 */
export function dispatchSlot(
  service: Readonly<Service>,
  slot: Slot,
  config: RolloutConfig,
  ctx: ReconcileContext,
): SlotDispatch {
  const clean = slot.filter((task) => !isTaskDirty(service, task, nodeOf(ctx.snapshot, task)));
  const kept =
    clean.find((task) => task.DesiredState === 'running') ??
    clean.find((task) => rank(task.DesiredState) < rank('running'));
  if (kept) return keepCleanTask(service, slot, kept, config, ctx);

  const startFirst = config.order === 'start-first';
  const old = slot.filter(isRunnable);
  const waitForStopOf = startFirst ? [] : old.filter((task) => !hasStopped(task)).map((task) => task.ID);
  const nodeKeyed = isNodeKeyedMode(serviceModeKind(service));
  const first = slot[0]!;
  const replacement = newTask(
    service,
    ctx.snapshot.cluster(),
    {
      slot: nodeKeyed ? 0 : (first.Slot ?? 0),
      ...(nodeKeyed && first.NodeID ? { nodeId: first.NodeID } : {}),
      // swarmkit creates it READY and raises it in a second step when nothing has to stop first; shoal
      // creates it with the state it would be raised to.
      desiredState: waitForStopOf.length === 0 ? 'running' : 'ready',
    },
    ctx.now,
  );
  const actions: OrchestratorAction[] = [{ kind: 'createTask', task: replacement }];
  if (!startFirst) {
    actions.push(...old.map((task) => setDesiredState(task.ID, 'shutdown')));
    if (waitForStopOf.length > 0) actions.push(startAfterStop(service, replacement.ID, waitForStopOf, ctx));
  }
  return {
    actions,
    dispatched: { taskId: replacement.ID, watched: true, dispatchedAt: ctx.now, upAt: undefined },
  };
}

/**
 * The slot holds a task of the new spec already (a replacement made by the restart supervisor, or left
 * by an earlier rollout): keep it, retire the others, and start it if it is still waiting.
 */
function keepCleanTask(
  service: Readonly<Service>,
  slot: Slot,
  kept: Readonly<Task>,
  config: RolloutConfig,
  ctx: ReconcileContext,
): SlotDispatch {
  const others = slot.filter((task) => task !== kept && isRunnable(task));
  const startFirst = config.order === 'start-first';
  const actions: OrchestratorAction[] = [];
  if (!startFirst || isObservedRunning(kept)) {
    actions.push(...others.map((task) => setDesiredState(task.ID, 'shutdown')));
  }
  if (kept.DesiredState !== 'running' && !ctx.pendingStarts.has(kept.ID)) {
    const waitForStopOf = startFirst ? [] : others.filter((task) => !hasStopped(task)).map((task) => task.ID);
    actions.push(
      waitForStopOf.length === 0
        ? setDesiredState(kept.ID, 'running')
        : startAfterStop(service, kept.ID, waitForStopOf, ctx),
    );
  }
  return {
    actions,
    dispatched: {
      taskId: kept.ID,
      watched: false,
      dispatchedAt: ctx.now,
      upAt: isUp(kept) ? ctx.now : undefined,
    },
  };
}

/**
 * A start-first slot whose new task is observed RUNNING: the old tasks go now. Applied to every slot the
 * supervisor sees, paused or not, as swarmkit's workers finish the slots they hold after a pause.
 */
export function finishStartFirst(
  service: Readonly<Service>,
  slot: Slot,
  ctx: ReconcileContext,
): OrchestratorAction[] {
  if (slot.length < 2) return [];
  const up = slot.find(
    (task) =>
      task.DesiredState === 'running' &&
      isObservedRunning(task) &&
      !isTaskDirty(service, task, nodeOf(ctx.snapshot, task)),
  );
  if (!up) return [];
  return slot
    .filter((task) => task !== up && isRunnable(task))
    .map((task) => setDesiredState(task.ID, 'shutdown'));
}

/** The restart machinery's delayed start, with no delay: raise `taskId` once the old tasks stopped. */
function startAfterStop(
  service: Readonly<Service>,
  taskId: string,
  waitForStopOf: readonly string[],
  ctx: ReconcileContext,
): OrchestratorAction {
  return {
    kind: 'scheduleStart',
    start: {
      taskId,
      serviceId: service.ID,
      notBefore: ctx.now,
      waitForStopOf,
      stopDeadline: ctx.now + WAIT_FOR_STOP_MS,
    },
  };
}
