// Per-object failure isolation inside a pass: the work for one service (or node) runs on its own, and if
// it throws, its actions are dropped and the failure is reported to the loop — which sets the object aside
// with backoff (src/manager/quarantine.ts) — while the pass goes on with every other object.

export interface ObjectFailure {
  readonly kind: 'service' | 'node';
  readonly id: string;
  /** The object's `Version.Index` when it failed (0 for one that no longer exists). */
  readonly version: number;
  readonly error: unknown;
}

/** Which objects the loop has set aside for now. */
export type HeldCheck = (kind: ObjectFailure['kind'], id: string, version: number) => boolean;

/**
 * Runs `work` for one object. Its actions are returned if it succeeds; if it throws, nothing is returned
 * and the failure goes to `failures` — or, without a list to report to, the error propagates.
 */
export function isolate<T>(
  object: Omit<ObjectFailure, 'error'>,
  failures: ObjectFailure[] | undefined,
  work: () => T[],
): T[] {
  if (!failures) return work();
  try {
    return work();
  } catch (error) {
    failures.push({ ...object, error });
    return [];
  }
}
