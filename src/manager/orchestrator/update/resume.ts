// Picking up a rolling update that the store says is in progress but the loop has no memory of — after a
// manager restart or a leader change (swarmkit simply starts a fresh updater over the slots still dirty).
// Dirty slots are recomputed by the supervisor; this finds the slots a worker of the previous leader
// still held: those whose task of the new spec is not up yet (the worker is blocked on it), or came up so
// recently that its Delay, or the monitoring of it, is not over.

import type { Service, Task } from '../../../api/types.js';
import { serviceModeKind, type ServiceModeKind } from '../service-mode.js';
import type { Snapshot } from '../snapshot.js';
import { groupByInstance, instanceKey, type Slot } from '../slots.js';
import { isRunnable } from '../task-rules.js';
import { creationTime, statusTime } from '../time.js';
import { monitoringTailMs, type RolloutConfig } from './config.js';
import type { DispatchedSlot } from './rollout.js';
import { isUp } from './slot-update.js';

export function resumedSlots(
  service: Readonly<Service>,
  slots: readonly Slot[],
  config: RolloutConfig,
  snapshot: Snapshot,
  now: number,
): Map<string, DispatchedSlot> {
  const mode = serviceModeKind(service);
  const specVersion = service.SpecVersion?.Index;
  const resumed = new Map<string, DispatchedSlot>();
  let firstOfSpec: ReadonlySet<string> | undefined;
  for (const slot of slots) {
    const task = slot.length === 1 ? slot[0]! : undefined;
    // A slot holding several tasks is dirty and simply dispatched again.
    if (!task || !isRunnable(task) || specVersion === undefined || task.SpecVersion?.Index !== specVersion)
      continue;
    const upAt = isUp(task) ? Math.min(now, statusTime(task)) : undefined;
    if (upAt !== undefined && now >= upAt + config.delayMs + monitoringTailMs(config)) continue;
    // Only the first task of the new spec in an instance was made by the rollout; later ones are
    // restarts, whose failures the update does not count.
    firstOfSpec ??= firstTasksOfSpec(snapshot.tasksOfService(service.ID), specVersion, mode);
    resumed.set(instanceKey(task, mode), {
      taskId: task.ID,
      watched: firstOfSpec.has(task.ID),
      dispatchedAt: Math.min(now, creationTime(task)),
      upAt,
    });
  }
  return resumed;
}

function firstTasksOfSpec(
  tasks: readonly Readonly<Task>[],
  specVersion: number,
  mode: ServiceModeKind,
): Set<string> {
  const first = new Set<string>();
  const ofSpec = tasks.filter((task) => task.SpecVersion?.Index === specVersion);
  for (const instance of groupByInstance(ofSpec, mode).values()) {
    const oldest = instance.reduce((a, b) => (creationTime(b) < creationTime(a) ? b : a));
    first.add(oldest.ID);
  }
  return first;
}
