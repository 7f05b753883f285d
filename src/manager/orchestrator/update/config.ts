// Which UpdateConfig a rollout follows, with swarmkit's defaults filled in (api/defaults/service.go).

import type { FailureAction, Service, UpdateConfig, UpdateOrder } from '../../../api/types.js';
import { nanosToMillis } from '../time.js';

/** A rollout towards a new spec, or back to the previous one (which follows `RollbackConfig`). */
export type RolloutKind = 'update' | 'rollback';

export interface RolloutConfig {
  /** Slots replaced at the same time; `Infinity` for a present config with Parallelism 0. */
  readonly parallelism: number;
  /** How long a worker sleeps after finishing a slot, in ms. */
  readonly delayMs: number;
  readonly failureAction: FailureAction;
  /** How long after reaching RUNNING a task's end still counts as a failure, in ms. */
  readonly monitorMs: number;
  readonly maxFailureRatio: number;
  readonly order: UpdateOrder;
}

export const DEFAULT_MONITOR_MS = 5_000;

/** swarmkit's defaults for an absent UpdateConfig or RollbackConfig. */
export const DEFAULT_ROLLOUT_CONFIG: RolloutConfig = {
  parallelism: 1,
  delayMs: 0,
  failureAction: 'pause',
  monitorMs: DEFAULT_MONITOR_MS,
  maxFailureRatio: 0,
  order: 'stop-first',
};

/**
 * A rollback is under way, paused or finished while UpdateStatus says so; everything else (no status
 * yet, updating, paused, completed) belongs to an update.
 */
export function rolloutKind(service: Readonly<Service>): RolloutKind {
  const state = service.UpdateStatus?.State;
  return state === 'rollback_started' || state === 'rollback_paused' || state === 'rollback_completed'
    ? 'rollback'
    : 'update';
}

export function rolloutConfig(service: Readonly<Service>): RolloutConfig {
  const spec = service.Spec;
  return resolveConfig(rolloutKind(service) === 'rollback' ? spec.RollbackConfig : spec.UpdateConfig);
}

/**
 * Only an *absent* config gets parallelism 1: a present one with Parallelism 0 (or unset, which Go
 * decodes as 0) means every dirty slot at once. A monitor of 0 is Docker's "not set" and means 5 s.
 */
export function resolveConfig(config: Readonly<UpdateConfig> | undefined): RolloutConfig {
  if (!config) return DEFAULT_ROLLOUT_CONFIG;
  const parallelism = config.Parallelism ?? 0;
  const monitor = config.Monitor ?? 0;
  return {
    parallelism: parallelism > 0 ? parallelism : Infinity,
    delayMs: nanosToMillis(Math.max(0, config.Delay ?? 0)),
    failureAction: config.FailureAction ?? 'pause',
    monitorMs: monitor > 0 ? nanosToMillis(monitor) : DEFAULT_MONITOR_MS,
    maxFailureRatio: config.MaxFailureRatio ?? 0,
    order: config.Order ?? 'stop-first',
  };
}

/**
 * How long the rollout keeps watching for failures once every worker is done: one monitor period, or
 * Delay + 1 s when the delay is at least as long (newer swarmkit), so the last slot's delay is covered.
 */
export function monitoringTailMs(config: RolloutConfig): number {
  return config.delayMs >= config.monitorMs ? config.delayMs + 1_000 : config.monitorMs;
}
