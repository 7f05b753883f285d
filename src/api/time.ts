// Timestamps as the Engine API writes them: Go's RFC 3339 with nanoseconds (`time.RFC3339Nano`), in
// UTC, which drops trailing zeros of the fraction — `.64Z`, not `.640Z`, and no fraction at all for a
// whole second. Clients that parse and print them again (the docker CLI's `inspect`) then print exactly
// what the daemon sent.

/** A time in milliseconds since the epoch, as Go's RFC3339Nano prints it. */
export function formatTimestamp(millis: number): string {
  return new Date(millis).toISOString().replace(/\.?0+Z$/, 'Z');
}

/** Current time in the Engine API's timestamp format. */
export const nowTimestamp = (): string => formatTimestamp(Date.now());

/** Go's zero time as the Engine API prints it, used where Docker shows an unset timestamp. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
