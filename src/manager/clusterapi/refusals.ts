// The manager's record of calls it refused because of what they carried: a malformed or oversized
// message (InvalidArgument) or a node over its rate limits. Such refusals say a node is broken or
// hostile, so they are logged — but a flood of them must not become a flood of log lines, so each
// caller (node, or address before the join) gets at most one line per interval, which counts the
// refusals it stands for. Lines carry the call, who made it and the refusal's message (which never
// holds more than a short prefix of what the peer sent; see validate.ts), never the request itself.

import { isShoalError } from '../../api/errors.js';
import { isRateLimited } from '../../api/peer-limits.js';
import type { DispatcherLog } from '../dispatcher/log.js';
import type { StreamSink } from '../dispatcher/server.js';
import type { Caller } from './routes.js';

export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/** Callers remembered at most; past it the oldest are forgotten (their next refusal is logged again). */
const MAX_CALLERS = 4096;

interface CallerRecord {
  loggedAt: number;
  suppressed: number;
}

export class RefusalLog {
  private readonly callers = new Map<string, CallerRecord>();

  constructor(
    private readonly log: DispatcherLog,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = REFUSAL_LOG_INTERVAL_MS,
  ) {}

  /** Notes a failed call; logs it if it is a refusal of the message and the caller's interval allows. */
  note(call: string, caller: Caller, err: unknown): void {
    const rateLimited = isRateLimited(err);
    if (!rateLimited && !(isShoalError(err) && err.code === 'InvalidArgument')) return;
    const node = caller.identity?.nodeId;
    const key = node ?? `addr:${caller.addr}`;
    const now = this.now();
    const record = this.callers.get(key);
    if (record && now - record.loggedAt < this.intervalMs) {
      record.suppressed++;
      return;
    }
    this.callers.delete(key);
    if (this.callers.size >= MAX_CALLERS) this.callers.delete(this.callers.keys().next().value!);
    this.callers.set(key, { loggedAt: now, suppressed: 0 });
    this.log.warn(
      rateLimited
        ? 'cluster API: refused a call over the rate limit'
        : 'cluster API: refused a malformed call',
      {
        call,
        ...(node !== undefined ? { node } : {}),
        addr: caller.addr,
        error: (err as Error).message,
        ...(record && record.suppressed > 0 ? { refusedSinceLastLine: record.suppressed } : {}),
      },
    );
  }

  /** The sink of a stream, noting the refusal it may end with. */
  watch<T>(call: string, caller: Caller, sink: StreamSink<T>): StreamSink<T> {
    return {
      send: (message) => sink.send(message),
      end: (err) => {
        if (err !== undefined) this.note(call, caller, err);
        sink.end(err);
      },
    };
  }
}
