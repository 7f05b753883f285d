// SEAM — the update supervisor's place (§4). swarmkit hands every reconciled service's occupied slots
// to update.Supervisor.Update, which replaces dirty slots as a rolling update (parallelism, delay,
// failure action, monitor, start-first, UpdateStatus). That supervisor is a separate, later piece of
// work (src/manager/orchestrator/update/). Until it exists, the replicated and global orchestrators call
// `updateSlots` below: every dirty slot at once (parallelism = all), stop-first, UpdateStatus untouched.
// The rolling updater replaces the calls to `updateSlots` in replicated/reconcile.ts and
// global/reconcile.ts; it receives the same `(service, slots)` (see `occupiedSlots` there).
//
// Also for the rolling updater: swarmkit replaces an outdated global task found on a node that becomes
// eligible again directly, not through the updater (no UpdateStatus); here both paths come through here.

import { rank } from '../../api/taskstate.js';
import type { Service, Task } from '../../api/types.js';
import { setDesiredState, type OrchestratorAction } from './actions.js';
import { isSlotDirty, isTaskDirty } from './dirty.js';
import { newTask } from './new-task.js';
import { WAIT_FOR_STOP_MS } from './restart/delayed-start.js';
import { isNodeKeyedMode, serviceModeKind } from './service-mode.js';
import type { ReconcileContext } from './snapshot.js';
import type { Slot } from './slots.js';
import { hasStopped, nodeOf } from './task-rules.js';

export function updateSlots(
  service: Readonly<Service>,
  slots: readonly Slot[],
  ctx: ReconcileContext,
): OrchestratorAction[] {
  // A paused update stays paused until the next service update resets UpdateStatus (§4.1).
  const state = service.UpdateStatus?.State;
  if (state === 'paused' || state === 'rollback_paused') return [];
  const nodeOfTask = (task: Readonly<Task>) => nodeOf(ctx.snapshot, task);
  return slots
    .filter((slot) => isSlotDirty(service, slot, nodeOfTask))
    .flatMap((slot) => updateSlot(service, slot, ctx));
}

/** §4.3, stop-first: keep a clean task if the slot has one, else start a replacement after the old stop. */
function updateSlot(service: Readonly<Service>, slot: Slot, ctx: ReconcileContext): OrchestratorAction[] {
  const clean = slot.filter((task) => !isTaskDirty(service, task, nodeOf(ctx.snapshot, task)));
  const kept =
    clean.find((task) => task.DesiredState === 'running') ??
    clean.find((task) => rank(task.DesiredState) < rank('running'));
  const old = slot.filter((task) => task !== kept);
  const actions = old.map((task) => setDesiredState(task.ID, 'shutdown'));
  const waitForStopOf = old.filter((task) => !hasStopped(task)).map((task) => task.ID);
  const startAfterOld = (taskId: string): OrchestratorAction => ({
    kind: 'scheduleStart',
    start: {
      taskId,
      serviceId: service.ID,
      notBefore: ctx.now,
      waitForStopOf,
      stopDeadline: ctx.now + WAIT_FOR_STOP_MS,
    },
  });

  if (kept) {
    if (kept.DesiredState !== 'running' && !ctx.pendingStarts.has(kept.ID))
      actions.push(startAfterOld(kept.ID));
    return actions;
  }
  const nodeKeyed = isNodeKeyedMode(serviceModeKind(service));
  const first = slot[0]!;
  const replacement = newTask(
    service,
    ctx.snapshot.cluster(),
    {
      slot: nodeKeyed ? 0 : (first.Slot ?? 0),
      ...(nodeKeyed && first.NodeID ? { nodeId: first.NodeID } : {}),
      desiredState: waitForStopOf.length === 0 ? 'running' : 'ready',
    },
    ctx.now,
  );
  actions.push({ kind: 'createTask', task: replacement });
  if (waitForStopOf.length > 0) actions.push(startAfterOld(replacement.ID));
  return actions;
}
