// A rollout: the update supervisor's memory of one service's rolling update (swarmkit's Updater, whose
// goroutines and channels become this record). The loop keeps one per service while the update runs; the
// pure core (supervisor.ts) reads it and returns the next one. Everything here can be rebuilt from the
// store after a manager restart (resume.ts): the store holds UpdateStatus and the tasks; only the moments
// tasks were first seen RUNNING and the failures already counted are approximated or forgotten.

import type { Service } from '../../../api/types.js';
import { rolloutKind, type RolloutConfig, type RolloutKind } from './config.js';

/** A slot a worker took. A slot is dispatched at most once per rollout. */
export interface DispatchedSlot {
  /** The task the worker waits for: the replacement it created, or the clean task it kept. */
  readonly taskId: string | undefined;
  /**
   * Whether the task's early end counts against the rollout: it was created by the rollout (a kept
   * task's does not, as in swarmkit), and nobody else retired it before it came up.
   */
  readonly watched: boolean;
  readonly dispatchedAt: number;
  /** When the task was first seen at or past RUNNING (ms); the worker then sleeps Delay. */
  readonly upAt: number | undefined;
}

export interface Rollout {
  readonly serviceId: string;
  /** What the rollout converges to (see rolloutTarget); a service with another target supersedes it. */
  readonly target: string;
  readonly kind: RolloutKind;
  /**
   * Whether this rollout writes UpdateStatus when it completes. A rollout that starts while the status
   * already says completed only finishes off leftover slots and leaves the status alone.
   */
  readonly reportsCompletion: boolean;
  /** The denominator of the failure ratio: dirty slots when the rollout started. */
  readonly dirtySlotCount: number;
  /** Instance key (slots.ts instanceKey) → the worker's slot. */
  readonly slots: ReadonlyMap<string, DispatchedSlot>;
  /** When the rollout began (ms): the final monitoring period never ends before it plus the period. */
  readonly startedAt: number;
  /** Tasks whose early end was counted, each once. */
  readonly failures: readonly string[];
  /** When the loop must look again (a Delay or the final monitoring period ends), in ms. */
  readonly wakeAt: number | undefined;
}

/**
 * The spec a rollout converges to, and whether it goes there as an update or a rollback. Every
 * UpdateService changes SpecVersion (to the version the client read), and a manual or automatic
 * rollback changes it back, so the version tells rollouts apart without comparing specs.
 */
export function rolloutTarget(service: Readonly<Service>): string {
  return `${rolloutKind(service)}@${service.SpecVersion?.Index ?? 0}`;
}

/** When the worker that took `slot` is free again: Delay after its task came up; undefined = still busy. */
export function workerFreeAt(slot: DispatchedSlot, config: RolloutConfig): number | undefined {
  if (slot.taskId === undefined) return slot.dispatchedAt + config.delayMs;
  return slot.upAt === undefined ? undefined : slot.upAt + config.delayMs;
}
