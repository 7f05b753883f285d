// Watching the tasks a rollout waits for (swarmkit's failedTaskWatch and the worker's wait for
// RUNNING): when each came up, and which ended too early — before running, or within Monitor of it.

import type { Snapshot } from '../snapshot.js';
import { hasStopped, isLostNode, isRunnable } from '../task-rules.js';
import type { RolloutConfig } from './config.js';
import type { DispatchedSlot, Rollout } from './rollout.js';
import { isUp } from './slot-update.js';

export interface Observation {
  readonly slots: ReadonlyMap<string, DispatchedSlot>;
  /** Every failure counted so far, the new ones last. */
  readonly failures: readonly string[];
  /** The failure that crossed MaxFailureRatio in this observation, if one did. */
  readonly decisiveFailure: string | undefined;
}

/**
 * Notes when each awaited task came up (at or past RUNNING — a task that failed releases its worker too)
 * and counts the early ends of tasks the rollout created. Each task counts once. With FailureAction
 * CONTINUE nothing is counted at all, as swarmkit does not even watch.
 */
export function observeRollout(
  rollout: Rollout,
  config: RolloutConfig,
  snapshot: Snapshot,
  now: number,
): Observation {
  const counting = config.failureAction !== 'continue';
  const counted = new Set(rollout.failures);
  const failures = [...rollout.failures];
  let decisiveFailure: string | undefined;
  const slots = new Map<string, DispatchedSlot>();
  for (const [key, slot] of rollout.slots) {
    if (slot.taskId === undefined) {
      slots.set(key, slot);
      continue;
    }
    const task = snapshot.task(slot.taskId);
    // Deleted (its service scaled down, its node removed): nothing left to wait for.
    if (!task) {
      slots.set(key, slot.upAt === undefined ? { ...slot, upAt: now } : slot);
      continue;
    }
    // Retired before it came up — the restart supervisor replaced it because its node went down or was
    // drained. That is not the new spec failing, and its agent may never report again: swarmkit's worker
    // waits for it until the node is declared gone, 24 hours later; shoal lets the worker go.
    if (slot.upAt === undefined && !isUp(task) && !isRunnable(task)) {
      slots.set(key, { ...slot, upAt: now, watched: false });
      continue;
    }
    // Lost with its node (the node was removed, or down so long its tasks were orphaned) before it came
    // up: the same, not a failure of the new spec. `orphaned` ranks above `running`, so the check above
    // does not see it.
    const lostWithNode =
      task.Status.State === 'orphaned' ||
      (task.NodeID !== undefined && isLostNode(snapshot.node(task.NodeID)));
    if (slot.upAt === undefined && lostWithNode && task.Status.State !== 'running') {
      slots.set(key, { ...slot, upAt: now, watched: false });
      continue;
    }
    const failedEarly = hasStopped(task) && (slot.upAt === undefined || now - slot.upAt <= config.monitorMs);
    if (counting && slot.watched && failedEarly && !counted.has(task.ID)) {
      counted.add(task.ID);
      failures.push(task.ID);
      if (decisiveFailure === undefined && exceedsRatio(failures.length, rollout, config)) {
        decisiveFailure = task.ID;
      }
    }
    slots.set(key, slot.upAt === undefined && isUp(task) ? { ...slot, upAt: now } : slot);
  }
  return { slots, failures, decisiveFailure };
}

/** failures / dirty slots > MaxFailureRatio: with the default ratio 0, the first failure. */
function exceedsRatio(failures: number, rollout: Rollout, config: RolloutConfig): boolean {
  return failures / Math.max(1, rollout.dirtySlotCount) > config.maxFailureRatio;
}
