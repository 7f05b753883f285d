// Timers for delays users configure, which may be long (a 30-day restart delay, a heartbeat period of
// days): Node's setTimeout fires after 1 ms for anything above 2^31-1 ms (about 24.8 days), so long
// delays are waited out in steps.

const LONGEST_TIMEOUT_MS = 2 ** 31 - 1;

/** Calls `fire` once `delayMs` has passed; returns a cancel function. Unref'd unless `keepAlive`. */
export function setLongTimeout(fire: () => void, delayMs: number, keepAlive = false): () => void {
  const deadline = Date.now() + Math.max(0, delayMs);
  let handle: NodeJS.Timeout;
  const arm = (): void => {
    const remaining = deadline - Date.now();
    handle = setTimeout(
      remaining > LONGEST_TIMEOUT_MS ? arm : fire,
      Math.max(0, Math.min(remaining, LONGEST_TIMEOUT_MS)),
    );
    if (!keepAlive) handle.unref();
  };
  arm();
  return () => clearTimeout(handle);
}
