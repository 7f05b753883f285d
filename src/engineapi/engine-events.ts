// The node's engine's own events (containers, images, volumes, local networks, plugins, the daemon), read
// from its `GET /events` for the merged stream of shoal's `GET /events` (routes/events.ts). The engine
// applies the client's filters itself: they are dockerd's, and shoal has already refused keys dockerd does
// not know. Each event is passed on as the engine wrote it (one JSON line), with its exact `timeNano` for
// ordering.
//
// - `past(since, until)`: the events the engine remembers in a window that has ended (`until` in the past:
//   the engine answers them and closes).
// - `follow(since, until)`: new events as they happen. If the engine's stream breaks (the engine stopped
//   or restarted), it is opened again every second with `since` just after the last event seen, so events
//   the engine remembered meanwhile are not lost; the stream ends at `until`.

import type { IncomingMessage } from 'node:http';
import { systemClock, type Clock, type Timer } from '../api/clock.js';
import type { EngineProxy, ProxyLog } from './engine-proxy.js';

export interface EngineEvent {
  /** The event as the engine wrote it, with its newline. */
  line: string;
  /** Unix nanoseconds (0 if the engine gave none). */
  timeNano: bigint;
}

export interface EngineEventsRequest {
  /** The API version the client asked for (the proxy lowers it to the engine's when needed). */
  version: string;
  /** The client's `filters` parameter as it sent it (already validated). */
  filters: string | null;
}

const RECONNECT_MS = 1_000;

export class EngineEvents {
  private readonly clock: Clock;
  private readonly reconnectMs: number;

  constructor(
    private readonly proxy: EngineProxy,
    private readonly log: ProxyLog,
    options: { clock?: Clock; reconnectMs?: number } = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.reconnectMs = options.reconnectMs ?? RECONNECT_MS;
  }

  /** The engine's remembered events from `since` to `until` (which has passed); none if it cannot say. */
  async past(
    request: EngineEventsRequest,
    since: bigint | undefined,
    until: bigint,
    signal: AbortSignal,
  ): Promise<EngineEvent[]> {
    if (since !== undefined && since > until) return [];
    const events: EngineEvent[] = [];
    try {
      const answer = await this.proxy.request('GET', eventsPath(request, since, until), { signal });
      if (!(await this.accepted(answer))) return [];
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          answer.destroy();
          resolve();
        };
        signal.addEventListener('abort', stop, { once: true });
        readLines(answer, (event) => events.push(event));
        answer.on('close', () => {
          signal.removeEventListener('abort', stop);
          resolve();
        });
      });
    } catch (err) {
      if (!signal.aborted) this.unavailable(err);
    }
    return events;
  }

  /**
   * Passes each new event of the engine to `onEvent` until `close()` or the end of the window. `since`
   * asks the engine to replay what it remembers from then on first (undefined: new events only).
   */
  follow(
    request: EngineEventsRequest,
    since: bigint | undefined,
    until: bigint | undefined,
    onEvent: (event: EngineEvent) => void,
  ): { close: () => void } {
    const abort = new AbortController();
    let closed = false;
    let current: IncomingMessage | undefined;
    let retry: Timer | undefined;
    let broken = false;
    // Where a new connection resumes: just after the newest event seen, or from when we began.
    let resumeFrom = since ?? BigInt(this.clock.now()) * 1_000_000n;
    let first = true;

    const connect = async (): Promise<void> => {
      retry = undefined;
      if (closed || (until !== undefined && resumeFrom > until)) return;
      const from = first ? since : resumeFrom;
      first = false;
      let answer: IncomingMessage;
      try {
        answer = await this.proxy.request('GET', eventsPath(request, from, until), { signal: abort.signal });
      } catch (err) {
        if (closed) return;
        if (!broken) this.unavailable(err);
        broken = true;
        retry = this.clock.setTimer(this.reconnectMs, () => void connect());
        return;
      }
      if (closed) {
        answer.destroy();
        return;
      }
      if (!(await this.accepted(answer))) return;
      if (broken) this.log('info', 'the engine events stream is back', { engine: this.proxy.address });
      broken = false;
      current = answer;
      readLines(answer, (event) => {
        if (event.timeNano >= resumeFrom) resumeFrom = event.timeNano + 1n;
        if (!closed) onEvent(event);
      });
      answer.on('close', () => {
        current = undefined;
        if (closed) return;
        if (until !== undefined && answer.complete) return; // the engine ended the window
        this.log('warn', 'the engine events stream broke; reconnecting', { engine: this.proxy.address });
        broken = true;
        retry = this.clock.setTimer(this.reconnectMs, () => void connect());
      });
    };
    void connect();
    return {
      close: () => {
        closed = true;
        abort.abort();
        retry?.cancel();
        current?.destroy();
      },
    };
  }

  /** True for a 200; otherwise logs what the engine said and consumes the answer. */
  private async accepted(answer: IncomingMessage): Promise<boolean> {
    if (answer.statusCode === 200) return true;
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    this.log('warn', 'the engine refused its events stream', {
      engine: this.proxy.address,
      status: answer.statusCode,
      answer: Buffer.concat(chunks).toString('utf8').trim().slice(0, 500),
    });
    return false;
  }

  private unavailable(err: unknown): void {
    this.log('warn', "the engine's events are not available", {
      engine: this.proxy.address,
      error: err instanceof Error ? err.message : String(err),
    });
  }
}

function eventsPath(
  request: EngineEventsRequest,
  since: bigint | undefined,
  until: bigint | undefined,
): string {
  const query = new URLSearchParams();
  if (since !== undefined) query.set('since', unixSeconds(since));
  if (until !== undefined) query.set('until', unixSeconds(until));
  if (request.filters !== null && request.filters !== '') query.set('filters', request.filters);
  const text = query.toString();
  return `/v${request.version}/events${text ? `?${text}` : ''}`;
}

/** Unix nanoseconds as the `seconds.nanoseconds` dockerd reads (it takes no RFC 3339 times). */
export function unixSeconds(nanos: bigint): string {
  const n = nanos < 0n ? 0n : nanos;
  return `${n / 1_000_000_000n}.${String(n % 1_000_000_000n).padStart(9, '0')}`;
}

const TIME_NANO = /"timeNano":(\d+)/;

/** Calls `onEvent` for each complete line of an events stream. */
function readLines(answer: IncomingMessage, onEvent: (event: EngineEvent) => void): void {
  let buffer = '';
  answer.setEncoding('utf8');
  answer.on('data', (chunk: string) => {
    buffer += chunk;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl + 1);
      buffer = buffer.slice(nl + 1);
      if (line.trim() === '') continue;
      const m = TIME_NANO.exec(line);
      onEvent({ line, timeNano: m ? BigInt(m[1]!) : 0n });
    }
  });
  answer.on('error', () => undefined);
}
