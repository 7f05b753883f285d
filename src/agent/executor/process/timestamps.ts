// Wall-clock time with nanosecond resolution, formatted as Docker formats log timestamps: RFC 3339 in UTC
// with exactly nine fractional digits (fixed width, so timestamps sort and compare as strings).

// The clock is the Engine API's (nanoseconds since the epoch, never going backwards within a process).
import { nowNanos } from '../../../api/time.js';

const NS_PER_MS = 1_000_000n;

/** `2024-05-01T12:00:00.123456789Z` */
export function formatNanos(ns: bigint): string {
  const ms = ns / NS_PER_MS;
  const iso = new Date(Number(ms)).toISOString(); // …:SS.mmmZ
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

export const nowTimestampNanos = (): string => formatNanos(nowNanos());

/** A millisecond time in the same fixed format, for comparing with stored timestamps as strings. */
export const formatMillis = (ms: number): string => formatNanos(BigInt(Math.floor(ms)) * NS_PER_MS);

/** Milliseconds since the epoch of an RFC 3339 timestamp (sub-millisecond digits are dropped). */
export function parseTimestampMillis(timestamp: string): number {
  return Date.parse(timestamp.replace(/\.(\d{3})\d*Z$/, '.$1Z'));
}
