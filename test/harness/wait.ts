// Polling for distributed state: clusters converge, they do not answer at once. A timeout says what was
// awaited and what was last seen, because "timed out" alone makes a failing cluster test undiagnosable.

import { inspect } from 'node:util';
import { DockerCliMissingError } from './docker.js';

export interface WaitOptions<T> {
  /** Give up after this long. Default 10 s. */
  timeoutMs?: number;
  /** Pause between attempts. Default 50 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("worker1 to be down"). */
  description?: string;
  /** When the value is good enough. Default: any truthy value. */
  until?: (value: T) => boolean;
  /** Stop waiting (rejects with the signal's reason). */
  signal?: AbortSignal;
}

export class WaitTimeoutError extends Error {
  override name = 'WaitTimeoutError';
  constructor(
    message: string,
    /** The last value seen (undefined if every attempt threw). */
    readonly lastValue: unknown,
    /** The last attempt's error, if it threw. */
    readonly lastError: unknown,
    readonly elapsedMs: number,
    readonly attempts: number,
  ) {
    super(message);
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INTERVAL_MS = 50;

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

const show = (value: unknown): string => inspect(value, { depth: 6, breakLength: 120, maxArrayLength: 30 });

/**
 * Calls `fn` until its value satisfies `until` (default: truthy) and returns that value. An attempt that
 * throws counts as "not yet" — except a DockerCliMissingError, thrown at once. On timeout, throws a
 * WaitTimeoutError naming `description` with the last value or error.
 *
 *   const node = await waitFor(() => manager.apiOk<Node>('GET', `/nodes/${id}`), {
 *     until: (n) => n.Status.State === 'down', description: 'worker1 to be marked down', timeoutMs: 20_000 });
 */
export async function waitFor<T>(fn: () => T | Promise<T>, options: WaitOptions<T> = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const until = options.until ?? ((value: T) => Boolean(value));
  const started = Date.now();
  let attempts = 0;
  let lastValue: T | undefined;
  let lastError: unknown;
  let sawValue = false;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      lastValue = value;
      lastError = undefined;
      sawValue = true;
      if (until(value)) return value;
    } catch (err) {
      // A missing test dependency will not appear by waiting: say so now, not at the timeout.
      if (err instanceof DockerCliMissingError) throw err;
      lastError = err;
    }
    const elapsed = Date.now() - started;
    if (elapsed >= timeoutMs) {
      const what = options.description ?? 'a condition';
      const last =
        lastError !== undefined
          ? `last attempt threw: ${lastError instanceof Error ? lastError.message : show(lastError)}`
          : sawValue
            ? `last value: ${show(lastValue)}`
            : 'no attempt finished';
      throw new WaitTimeoutError(
        `timed out after ${elapsed} ms (${attempts} attempts) waiting for ${what}; ${last}`,
        lastValue,
        lastError,
        elapsed,
        attempts,
      );
    }
    await sleep(Math.min(intervalMs, Math.max(0, timeoutMs - elapsed)), options.signal);
  }
}

/**
 * Retries an assertion until it passes. On timeout rethrows the assertion's own last error (so the test
 * report keeps its diff), its message prefixed with how long it was retried and `description`.
 *
 *   await eventually(async () => {
 *     const nodes = await manager.apiOk<Node[]>('GET', '/nodes');
 *     assert.deepEqual(nodes.map((n) => n.Status.State), ['ready', 'ready', 'ready', 'ready']);
 *   }, { description: 'all nodes ready' });
 */
export async function eventually<T>(
  assertion: () => T | Promise<T>,
  options: Omit<WaitOptions<T>, 'until'> = {},
): Promise<T> {
  try {
    return await waitFor(
      async () => {
        // A wrapper object: the assertion passing is what counts, not its return value's truthiness.
        return { value: await assertion() };
      },
      { ...options, until: () => true },
    ).then((wrapped) => wrapped.value);
  } catch (err) {
    if (!(err instanceof WaitTimeoutError) || !(err.lastError instanceof Error)) throw err;
    const failure = err.lastError;
    const what = options.description ? ` (${options.description})` : '';
    const prefix = `eventually${what}: still failing after ${err.elapsedMs} ms (${err.attempts} attempts): `;
    failure.message = prefix + failure.message;
    throw failure;
  }
}
