// Heartbeat timing. The period is a cluster setting (`Spec.Dispatcher.HeartbeatPeriod`, 5 s by
// default); each heartbeat response carries it with a little jitter so that nodes which registered
// together do not stay in lock-step.

import type { Cluster } from '../../api/types.js';

export const DEFAULT_HEARTBEAT_PERIOD_MS = 5_000;

/** A node is down after this many periods without a heartbeat. */
export const HEARTBEAT_EXPIRY_PERIODS = 3;

/** After a dispatcher (re)start, nodes have this many periods to reconnect before they are down. */
export const UNKNOWN_GRACE_PERIODS = 6;

/** Tasks of a node that stays down this long are orphaned (their resources freed). */
export const ORPHAN_AFTER_MS = 24 * 60 * 60 * 1000;

/** swarmkit jitters 5 s by ±0.5 s; the same ±10 % for any period. */
const JITTER_FRACTION = 0.1;

/** The control API refuses shorter periods; one stored by an older version is read as this. */
export const MIN_HEARTBEAT_PERIOD_MS = 1_000;

export function heartbeatPeriodMs(cluster: Cluster | undefined): number {
  const ns = cluster?.Spec.Dispatcher?.HeartbeatPeriod;
  if (ns === undefined || !Number.isFinite(ns) || ns <= 0) return DEFAULT_HEARTBEAT_PERIOD_MS;
  return Math.max(MIN_HEARTBEAT_PERIOD_MS, Math.round(ns / 1e6));
}

/** The period with uniform jitter in [−10 %, +10 %); `random` returns values in [0, 1). */
export function jittered(periodMs: number, random: () => number): number {
  return Math.floor(periodMs * (1 - JITTER_FRACTION + 2 * JITTER_FRACTION * random()));
}
