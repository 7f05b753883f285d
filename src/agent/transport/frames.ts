// Reading a server stream: newline-delimited JSON frames, which may arrive split across or packed
// into HTTP/2 DATA frames in any way.

import type { StreamFrame } from '../../api/dispatcher.js';
import { ShoalError } from '../../api/errors.js';

export class FrameDecoder<T> {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  /** `maxLineBytes` bounds one frame (a COMPLETE assignments set is the largest). */
  constructor(private readonly maxLineBytes: number) {}

  /** The frames completed by `chunk`, in order. Throws on a frame that is not JSON or too long. */
  push(chunk: Uint8Array): StreamFrame<T>[] {
    this.pending += this.decoder.decode(chunk, { stream: true });
    const frames: StreamFrame<T>[] = [];
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      if (line.trim() !== '') frames.push(parseFrame<T>(line));
    }
    // Characters, not bytes, but close enough for a guard against a runaway peer.
    if (this.pending.length > this.maxLineBytes) {
      throw new ShoalError('Internal', `stream frame larger than ${this.maxLineBytes} bytes`);
    }
    return frames;
  }

  /** Whether a partial frame is left over (the stream was cut mid-frame). */
  get hasPartialFrame(): boolean {
    return this.pending.trim() !== '';
  }
}

function parseFrame<T>(line: string): StreamFrame<T> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ShoalError('Internal', 'malformed stream frame from manager: not JSON');
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const frame = value as Record<string, unknown>;
    if ('message' in frame || frame.end === true || 'error' in frame) return frame as StreamFrame<T>;
  }
  throw new ShoalError('Internal', 'malformed stream frame from manager');
}
