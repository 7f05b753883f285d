// Time for the orchestrators' loop. Only user-configured waits go through `setTimer` (restart delay,
// the one-minute wait for an old task to stop), so tests drive them with a fake clock.

import { setLongTimeout } from '../../api/timers.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fire` after `delayMs`; returns a function that cancels it. */
  setTimer(delayMs: number, fire: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  // Unref'd: a pending restart must not keep a stopping daemon alive.
  setTimer: (delayMs, fire) => setLongTimeout(fire, delayMs),
};
