// The task log file format: one JSON object per line,
//   {"s":"stdout","t":"2024-05-01T12:00:00.123456789Z","l":"hello\n"}
// `s` is the stream, `t` the capture time (RFC 3339, nine fractional digits), `l` the line as text
// including its newline. Output that is not valid UTF-8 is kept byte-exact as base64 in `b` instead of `l`.
// A record without a trailing newline is a partial line: a line longer than MAX_LINE_BYTES (split as
// Docker's log copier splits them) or the last output before the stream closed.

import { isUtf8 } from 'node:buffer';
import type { LogLine } from '../executor.js';

export type LogStream = LogLine['stream'];

/** Docker's log copier buffer: longer lines are stored as several partial records. */
export const MAX_LINE_BYTES = 16 * 1024;

interface LogRecord {
  s: LogStream;
  t: string;
  l?: string;
  b?: string;
}

/** One record as a line of the log file (with its newline). */
export function encodeLogRecord(stream: LogStream, timestamp: string, data: Buffer): string {
  const record: LogRecord = isUtf8(data)
    ? { s: stream, t: timestamp, l: data.toString('utf8') }
    : { s: stream, t: timestamp, b: data.toString('base64') };
  return JSON.stringify(record) + '\n';
}

/** Parses one line of a log file (without its newline); undefined for a line that is not a record. */
export function decodeLogRecord(line: string): LogLine | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Partial<LogRecord>;
  if ((record.s !== 'stdout' && record.s !== 'stderr') || typeof record.t !== 'string') return undefined;
  let data: Buffer;
  if (typeof record.l === 'string') data = Buffer.from(record.l, 'utf8');
  else if (typeof record.b === 'string') data = Buffer.from(record.b, 'base64');
  else return undefined;
  return { stream: record.s, timestamp: record.t, data };
}

/**
 * Cuts a byte stream into lines. Each returned buffer is a whole line including its `\n`, or a piece of
 * MAX_LINE_BYTES of a longer line; `end()` returns what is left without a newline. Returned buffers may be
 * views into the pushed chunk: use them before the chunk is reused.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(0x0a, start);
      const room = this.maxLineBytes - this.pendingBytes;
      if (newline !== -1 && newline - start < room) {
        lines.push(this.take(chunk.subarray(start, newline + 1)));
        start = newline + 1;
      } else if (chunk.length - start >= room) {
        lines.push(this.take(chunk.subarray(start, start + room)));
        start += room;
      } else {
        this.pending.push(chunk.subarray(start));
        this.pendingBytes += chunk.length - start;
        break;
      }
    }
    return lines;
  }

  end(): Buffer | undefined {
    if (this.pendingBytes === 0) return undefined;
    return this.take(Buffer.alloc(0));
  }

  private take(tail: Buffer): Buffer {
    if (this.pendingBytes === 0) return tail; // a view into the caller's chunk
    const line = Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingBytes = 0;
    return line;
  }
}
