// Timestamps and durations as the orchestrators use them: objects carry RFC 3339 strings and integer
// nanoseconds (as on the wire); the cores compute in milliseconds since the epoch.

import { formatTimestamp } from '../../api/time.js';
import type { Task } from '../../api/types.js';

export const NANOS_PER_MILLI = 1_000_000;

export const nanosToMillis = (nanos: number): number => Math.floor(nanos / NANOS_PER_MILLI);

export const toTimestamp = (millis: number): string => formatTimestamp(millis);

/** Milliseconds since the epoch, or undefined for a missing or unreadable timestamp. */
export function parseTimestamp(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const millis = Date.parse(value);
  return Number.isNaN(millis) ? undefined : millis;
}

/**
 * When the task's current status was written: the manager's clock (AppliedAt) when known, else the
 * agent's status timestamp — swarmkit's TasksByTimestamp order, which trusts manager clocks more.
 */
export function statusTime(task: Readonly<Task>): number {
  return parseTimestamp(task.AppliedAt) ?? parseTimestamp(task.Status.Timestamp) ?? 0;
}

/** When the task object was created (store clock). */
export function creationTime(task: Readonly<Task>): number {
  return parseTimestamp(task.CreatedAt) ?? parseTimestamp(task.Status.Timestamp) ?? 0;
}
