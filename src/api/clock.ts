// Time for everything that waits: the dispatcher's heartbeats and expiries, the agent's backoff and
// certificate renewal, the orchestrators' restart and update delays, health-check probes. All of it goes
// through a `Clock`, so tests drive a manager, an agent or a health monitor with one fake clock
// (test/unit/support/fake-clock.ts) instead of waiting.
//
// Many delays are set by users and may be long (a 30-day restart delay, a heartbeat period of days): Node's
// setTimeout fires after 1 ms for anything above 2^31-1 ms (about 24.8 days), so the system clock waits
// long delays out in steps. Its timers are unref'd: a pending restart or heartbeat must not keep a stopping
// daemon alive (the daemon's sockets keep it running while it serves).

import { formatTimestamp, nowTimestamp } from './time.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fire` once after `ms`; the returned timer cancels it. */
  setTimer(ms: number, fire: () => void): Timer;
  /** The current time as an Engine API timestamp, to the nanosecond (default: `now()`, to the millisecond). */
  timestamp?(): string;
}

export interface Timer {
  cancel(): void;
}

const LONGEST_TIMEOUT_MS = 2 ** 31 - 1;

/** Calls `fire` once `delayMs` has passed, however long that is; returns a cancel function. Unref'd. */
function setLongTimeout(fire: () => void, delayMs: number): () => void {
  const deadline = Date.now() + Math.max(0, delayMs);
  let handle: NodeJS.Timeout;
  const arm = (): void => {
    const remaining = deadline - Date.now();
    handle = setTimeout(
      remaining > LONGEST_TIMEOUT_MS ? arm : fire,
      Math.max(0, Math.min(remaining, LONGEST_TIMEOUT_MS)),
    );
    handle.unref();
  };
  arm();
  return () => clearTimeout(handle);
}

export const systemClock: Clock = {
  now: () => Date.now(),
  timestamp: nowTimestamp,
  setTimer: (ms, fire) => ({ cancel: setLongTimeout(fire, ms) }),
};

/** The clock's current time as an Engine API timestamp. */
export const clockTimestamp = (clock: Clock): string => clock.timestamp?.() ?? formatTimestamp(clock.now());
