// Reconnect backoff after a failed session, as swarmkit's agent: the bound grows as 100 ms + twice the
// previous one, up to 8 s, and the actual wait is random below it so that nodes cut off together do
// not all come back in the same instant. A successful registration resets it.

export const INITIAL_SESSION_BACKOFF_MS = 100;
export const MAX_SESSION_BACKOFF_MS = 8_000;

export function nextBackoff(previousMs: number): number {
  return Math.min(INITIAL_SESSION_BACKOFF_MS + 2 * previousMs, MAX_SESSION_BACKOFF_MS);
}

/** The wait before the next attempt: uniform in [0, backoff); `random` returns values in [0, 1). */
export function backoffDelay(backoffMs: number, random: () => number): number {
  return Math.floor(random() * backoffMs);
}
