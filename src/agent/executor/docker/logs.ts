// A container's output as the engine's log stream gives it (`GET /containers/{id}/logs` with timestamps):
// stdout and stderr multiplexed in frames of Docker's stdcopy format (an 8-byte header — stream, three
// zero bytes, a big-endian length — then the payload), or one raw stream for a container with a TTY. Each
// message starts with its RFC 3339 timestamp and a space; a message without a newline is part of a longer
// line (the engine cuts lines at 16 KiB). Turned into the executor's LogLines, with the timestamps in the
// fixed nine-digit form the other executor writes.

import type { LogLine, LogOptions } from '../executor.js';
import type { Query } from './client.js';

const HEADER_BYTES = 8;
const STREAMS: Record<number, LogLine['stream'] | undefined> = { 1: 'stdout', 2: 'stderr' };

/** The query of the logs request for these options. */
export function logsQuery(options: LogOptions): Query {
  return {
    stdout: options.stdout,
    stderr: options.stderr,
    timestamps: true,
    follow: options.follow,
    tail: options.tail === undefined ? 'all' : Math.max(0, options.tail),
    since: options.since === undefined ? undefined : unixTime(options.since),
    until: options.until === undefined ? undefined : unixTime(options.until),
  };
}

/** Milliseconds since the epoch as the Engine API's `since`/`until` (seconds with a nine-digit fraction). */
export function unixTime(ms: number): string {
  const whole = Math.floor(ms / 1000);
  const nanos = Math.round((ms - whole * 1000) * 1e6);
  return `${whole}.${String(nanos).padStart(9, '0')}`;
}

/** An RFC 3339 time as Docker writes it, with exactly nine fractional digits (`…T12:00:00.120000000Z`). */
export function fixedNanos(timestamp: string): string {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!match) return timestamp;
  const [, whole, fraction = '', zone] = match;
  if (zone === 'Z') return `${whole}.${fraction.padEnd(9, '0').slice(0, 9)}Z`;
  // Another zone: convert to UTC (keeping the nanoseconds, which Date would drop).
  const millis = Date.parse(`${whole}${zone}`);
  if (Number.isNaN(millis)) return timestamp;
  return `${new Date(millis).toISOString().slice(0, 19)}.${fraction.padEnd(9, '0').slice(0, 9)}Z`;
}

/** One message's payload (`<timestamp> <text>`) as LogLines: one per line it holds. */
function messageLines(stream: LogLine['stream'], payload: Buffer): LogLine[] {
  const lines: LogLine[] = [];
  let start = 0;
  while (start < payload.length) {
    const newline = payload.indexOf(0x0a, start);
    const end = newline === -1 ? payload.length : newline + 1;
    const piece = payload.subarray(start, end);
    const space = piece.indexOf(0x20);
    if (space > 0) {
      const timestamp = fixedNanos(piece.subarray(0, space).toString('latin1'));
      lines.push({ stream, timestamp, data: Buffer.from(piece.subarray(space + 1)) });
    } else {
      lines.push({ stream, timestamp: '', data: Buffer.from(piece) });
    }
    start = end;
  }
  return lines;
}

/** Reads a multiplexed (stdcopy) log stream. */
export async function* demultiplex(body: AsyncIterable<Buffer>): AsyncIterable<LogLine> {
  let buffered: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    while (buffered.length >= HEADER_BYTES) {
      const size = buffered.readUInt32BE(4);
      if (buffered.length < HEADER_BYTES + size) break;
      const stream = STREAMS[buffered[0]!];
      const payload = buffered.subarray(HEADER_BYTES, HEADER_BYTES + size);
      buffered = buffered.subarray(HEADER_BYTES + size);
      if (stream) yield* messageLines(stream, payload);
    }
  }
}

/** Reads the raw log stream of a container with a TTY (everything is stdout). */
export async function* rawLines(body: AsyncIterable<Buffer>): AsyncIterable<LogLine> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of body) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const last = pending.lastIndexOf(0x0a);
    if (last === -1) continue;
    yield* messageLines('stdout', pending.subarray(0, last + 1));
    pending = pending.subarray(last + 1);
  }
  if (pending.length > 0) yield* messageLines('stdout', pending);
}
