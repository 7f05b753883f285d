// Timestamps as the Engine API writes them: Go's RFC 3339 with nanoseconds (`time.RFC3339Nano`), in
// UTC, which drops trailing zeros of the fraction — `.64Z`, not `.640Z`, and no fraction at all for a
// whole second. Clients that parse and print them again (the docker CLI's `inspect`) then print exactly
// what the daemon sent. Docker's times come from Go's clock, with nanoseconds; so do shoal's current
// times (`nowTimestamp`), from the monotonic clock below the wall clock's millisecond.

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
/** Re-anchor to the wall clock this often, so NTP adjustments are followed. */
const REANCHOR_NS = 10_000_000_000n;

let anchorWallNs = 0n;
let anchorHr = -REANCHOR_NS;
let lastNs = 0n;

/**
 * Nanoseconds since the epoch. Date.now() has millisecond resolution, so the monotonic clock supplies the
 * digits below it, from an anchor in the middle of the wall clock's millisecond (the true time lies
 * somewhere in it); the result never goes backwards within a process.
 */
export function nowNanos(): bigint {
  const hr = process.hrtime.bigint();
  if (hr - anchorHr >= REANCHOR_NS) {
    anchorWallNs = BigInt(Date.now()) * NS_PER_MS + NS_PER_MS / 2n;
    anchorHr = hr;
  }
  let ns = anchorWallNs + (hr - anchorHr);
  if (ns <= lastNs) ns = lastNs + 1n;
  lastNs = ns;
  return ns;
}

/** A time in nanoseconds since the epoch, as Go's RFC3339Nano prints it. */
export function formatTimestampNanos(ns: bigint): string {
  const seconds = ns / NS_PER_S - (ns % NS_PER_S < 0n ? 1n : 0n);
  const fraction = ns - seconds * NS_PER_S;
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  const digits = fraction.toString().padStart(9, '0').replace(/0+$/, '');
  return `${whole}${digits ? `.${digits}` : ''}Z`;
}

/** A time in milliseconds since the epoch, as Go's RFC3339Nano prints it. */
export function formatTimestamp(millis: number): string {
  return new Date(millis).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** Current time in the Engine API's timestamp format, with nanoseconds. */
export const nowTimestamp = (): string => formatTimestampNanos(nowNanos());

/** Go's zero time as the Engine API prints it, used where Docker shows an unset timestamp. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
