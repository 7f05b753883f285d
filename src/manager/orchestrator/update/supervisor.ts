// The update supervisor's pure core (swarmkit update.Supervisor and Updater.Run). The replicated and
// global orchestrators hand it the slots they keep; with the rollout the loop remembers for the service
// and the time, it decides what happens now:
// - no rollout for the service's current target: start one if a slot is dirty (UpdateStatus `updating`
//   when none is recorded), or resume the one the store says is in progress (resume.ts);
// - a rollout for another target (the spec was updated or rolled back meanwhile) is superseded: it stops
//   dispatching, and the slots it already replaced are dirty against the new spec like any other;
// - watch the tasks it waits for, and pause or roll back when too many end early (failures.ts);
// - hand dirty slots to free workers — Parallelism at a time, each worker sleeping Delay after its slot's
//   new task came up (slot-update.ts);
// - when no slot is left and every worker is done, keep watching for one more monitoring period, then
//   complete.
// Timers are only needed for Delay and that last period (Rollout.wakeAt); everything else happens on the
// task events that bring the service back here.

import type { Service } from '../../../api/types.js';
import type { OrchestratorAction } from '../actions.js';
import { isSlotDirty } from '../dirty.js';
import { serviceModeKind } from '../service-mode.js';
import type { ReconcileContext } from '../snapshot.js';
import { instanceKey, type Slot } from '../slots.js';
import { nodeOf } from '../task-rules.js';
import { monitoringTailMs, rolloutConfig, rolloutKind, type RolloutConfig } from './config.js';
import { observeRollout } from './failures.js';
import { resumedSlots } from './resume.js';
import { rolloutTarget, workerFreeAt, type DispatchedSlot, type Rollout } from './rollout.js';
import { dispatchSlot, finishStartFirst } from './slot-update.js';
import { completeRollout, startUpdate, stopOnFailure } from './status.js';

export function superviseUpdate(
  service: Readonly<Service>,
  slots: readonly Slot[],
  ctx: ReconcileContext,
): OrchestratorAction[] {
  const remembered = ctx.rollouts.get(service.ID);
  const forget: OrchestratorAction[] = remembered ? [untrack(service)] : [];
  const state = service.UpdateStatus?.State;
  // A paused update does nothing until the next UpdateService resets its status.
  if (state === 'paused' || state === 'rollback_paused') {
    return [...finishStartFirstSlots(service, slots, ctx), ...forget];
  }

  const config = rolloutConfig(service);
  const dirty = slots.filter((slot) => isSlotDirty(service, slot, (task) => nodeOf(ctx.snapshot, task)));
  const actions: OrchestratorAction[] = [];
  let rollout = remembered?.target === rolloutTarget(service) ? remembered : undefined;
  if (!rollout) {
    const beginning = beginRollout(service, slots, dirty, config, ctx);
    actions.push(...beginning.actions);
    if (!beginning.rollout) return [...actions, ...finishStartFirstSlots(service, slots, ctx), ...forget];
    rollout = beginning.rollout;
  }

  const observed = observeRollout(rollout, config, ctx.snapshot, ctx.now);
  if (observed.decisiveFailure !== undefined) {
    return [
      ...actions,
      stopOnFailure(service, rollout.kind, config, observed.decisiveFailure),
      ...finishStartFirstSlots(service, slots, ctx),
      untrack(service),
    ];
  }
  const dispatch = dispatchToFreeWorkers(service, slots, dirty, observed.slots, config, ctx);
  actions.push(...dispatch.actions);
  const next: Rollout = { ...rollout, slots: dispatch.taken, failures: observed.failures, wakeAt: undefined };
  actions.push(...completeOrWait(service, next, dispatch.slotsLeft, config, ctx.now));
  return actions;
}

interface Dispatch {
  readonly actions: readonly OrchestratorAction[];
  /** Every slot a worker took so far, the ones taken now included. */
  readonly taken: ReadonlyMap<string, DispatchedSlot>;
  /** Dirty slots still waiting for a worker. */
  readonly slotsLeft: number;
}

/**
 * Free workers (Parallelism minus those still waiting for their task or sleeping their Delay) take the
 * dirty slots no worker took yet, lowest first. Slots nobody takes now get their start-first replacement
 * finished if it runs.
 */
function dispatchToFreeWorkers(
  service: Readonly<Service>,
  slots: readonly Slot[],
  dirty: readonly Slot[],
  alreadyTaken: ReadonlyMap<string, DispatchedSlot>,
  config: RolloutConfig,
  ctx: ReconcileContext,
): Dispatch {
  const mode = serviceModeKind(service);
  const keyOf = (slot: Slot): string => instanceKey(slot[0]!, mode);
  const taken = new Map(alreadyTaken);
  let busy = 0;
  for (const slot of taken.values()) if (isBusy(slot, config, ctx.now)) busy++;
  const waiting = dirty.filter((slot) => !taken.has(keyOf(slot))).sort(bySlotOrder);
  const dispatching = waiting.slice(0, Math.max(0, config.parallelism - busy));

  const actions: OrchestratorAction[] = [];
  for (const slot of dispatching) {
    const dispatch = dispatchSlot(service, slot, config, ctx);
    actions.push(...dispatch.actions);
    taken.set(keyOf(slot), dispatch.dispatched);
  }
  const dispatchedNow = new Set(dispatching);
  for (const slot of slots) {
    if (!dispatchedNow.has(slot)) actions.push(...finishStartFirst(service, slot, ctx));
  }
  return { actions, taken, slotsLeft: waiting.length - dispatching.length };
}

/**
 * Once no slot is left and every worker is done, the rollout keeps watching for one more monitoring
 * period, then completes (writing the status only if it owns it). Until then, the loop is asked to look
 * again when the next worker wakes up from its Delay, or when that period ends.
 */
function completeOrWait(
  service: Readonly<Service>,
  rollout: Rollout,
  slotsLeft: number,
  config: RolloutConfig,
  now: number,
): OrchestratorAction[] {
  let lastFreeAt = rollout.startedAt;
  let nextFreeAt: number | undefined;
  let allFree = slotsLeft === 0;
  for (const slot of rollout.slots.values()) {
    const freeAt = workerFreeAt(slot, config);
    if (freeAt === undefined || freeAt > now) allFree = false;
    if (freeAt === undefined) continue;
    if (freeAt > now) nextFreeAt = Math.min(nextFreeAt ?? freeAt, freeAt);
    else lastFreeAt = Math.max(lastFreeAt, freeAt);
  }
  if (!allFree) return [track({ ...rollout, wakeAt: nextFreeAt })];
  const monitoringEnds = lastFreeAt + monitoringTailMs(config);
  if (now < monitoringEnds) return [track({ ...rollout, wakeAt: monitoringEnds })];
  return [
    ...(rollout.reportsCompletion ? [completeRollout(service, rollout.kind, now)] : []),
    untrack(service),
  ];
}

interface Beginning {
  readonly actions: readonly OrchestratorAction[];
  /** Undefined when there is nothing to roll out. */
  readonly rollout: Rollout | undefined;
}

/**
 * A rollout for the service's current target. With nothing dirty, an update the store still shows in
 * progress is completed at once (swarmkit does the same when a new leader finds nothing left to do).
 */
function beginRollout(
  service: Readonly<Service>,
  slots: readonly Slot[],
  dirty: readonly Slot[],
  config: RolloutConfig,
  ctx: ReconcileContext,
): Beginning {
  const state = service.UpdateStatus?.State;
  const inProgress = state === 'updating' || state === 'rollback_started';
  const kind = rolloutKind(service);
  const resumed: ReadonlyMap<string, DispatchedSlot> = inProgress
    ? resumedSlots(service, slots, config, ctx.snapshot, ctx.now)
    : new Map();
  if (dirty.length === 0 && resumed.size === 0) {
    return { actions: inProgress ? [completeRollout(service, kind, ctx.now)] : [], rollout: undefined };
  }
  return {
    // Only a service without an UpdateStatus starts an update; one already completed gets its leftover
    // slots replaced without a new status (swarmkit writes `update completed` again).
    actions: state === undefined ? [startUpdate(service, ctx.now)] : [],
    rollout: {
      serviceId: service.ID,
      target: rolloutTarget(service),
      kind,
      reportsCompletion: state === undefined || inProgress,
      // Resumed slots are clean, so never among the dirty ones.
      dirtySlotCount: dirty.length + resumed.size,
      slots: resumed,
      startedAt: ctx.now,
      failures: [],
      wakeAt: undefined,
    },
  };
}

const track = (rollout: Rollout): OrchestratorAction => ({
  kind: 'trackRollout',
  serviceId: rollout.serviceId,
  rollout,
});

const untrack = (service: Readonly<Service>): OrchestratorAction => ({
  kind: 'trackRollout',
  serviceId: service.ID,
  rollout: undefined,
});

function isBusy(slot: DispatchedSlot, config: RolloutConfig, now: number): boolean {
  const freeAt = workerFreeAt(slot, config);
  return freeAt === undefined || freeAt > now;
}

/** Lowest slot number first (nodes by ID for global services): Docker updates slots 1, 2, 3… (G.3). */
function bySlotOrder(a: Slot, b: Slot): number {
  const [x, y] = [a[0]!, b[0]!];
  return (x.Slot ?? 0) - (y.Slot ?? 0) || compareStrings(x.NodeID ?? '', y.NodeID ?? '');
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function finishStartFirstSlots(
  service: Readonly<Service>,
  slots: readonly Slot[],
  ctx: ReconcileContext,
): OrchestratorAction[] {
  return slots.flatMap((slot) => finishStartFirst(service, slot, ctx));
}
