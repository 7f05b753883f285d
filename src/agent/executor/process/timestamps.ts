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

/**
 * A duration in Go's `time.Duration.String()` form (`30s`, `1.5s`, `500ms`, `1m30s`, `1h0m0s`), because
 * Docker writes durations that way into messages we reproduce, e.g. `Health check exceeded timeout (30s)`.
 */
export function formatGoDuration(nanoseconds: number): string {
  const negative = nanoseconds < 0;
  let ns = BigInt(Math.round(Math.abs(nanoseconds)));
  const sign = negative ? '-' : '';
  if (ns === 0n) return '0s';
  if (ns < 1_000_000_000n) {
    // Below one second Go picks the largest unit that keeps an integer part: ns, µs or ms.
    const [unit, size] =
      ns < 1000n
        ? (['ns', 1n] as const)
        : ns < 1_000_000n
          ? (['µs', 1000n] as const)
          : (['ms', NS_PER_MS] as const);
    return sign + fixed(ns, size) + unit;
  }
  let out = '';
  const hours = ns / 3_600_000_000_000n;
  ns -= hours * 3_600_000_000_000n;
  const minutes = ns / 60_000_000_000n;
  ns -= minutes * 60_000_000_000n;
  if (hours > 0n) out += `${hours}h`;
  if (hours > 0n || minutes > 0n) out += `${minutes}m`;
  out += fixed(ns, 1_000_000_000n) + 's';
  return sign + out;
}

/** `value / unit` with the fraction's trailing zeros dropped. */
function fixed(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const rest = value % unit;
  if (rest === 0n) return whole.toString();
  const digits = unit.toString().length - 1;
  return `${whole}.${rest.toString().padStart(digits, '0').replace(/0+$/, '')}`;
}
