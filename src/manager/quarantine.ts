// Failure isolation for the control loops. A control loop handles many objects per pass; when the work for
// one of them throws (a spec nothing anticipated, a bug), that object is set aside — logged once with its
// ID, retried with exponential backoff — while the loop carries on with every other object. An object that
// changes (a new version: the user fixed or updated it) is retried at once.

export const QUARANTINE_FIRST_RETRY_MS = 1_000;
export const QUARANTINE_MAX_RETRY_MS = 60_000;

interface Held {
  /** The object's version when it failed; another version is not held. */
  readonly version: number;
  readonly retryAt: number;
  readonly failures: number;
}

export interface QuarantineEntry {
  readonly id: string;
  readonly retryAt: number;
  readonly failures: number;
}

export class Quarantine {
  private readonly held = new Map<string, Held>();

  /**
   * Records a failure of `id` at `version`; returns when to retry and whether this is the first failure
   * in a row (callers log the first at error level, later ones quietly).
   */
  fail(id: string, version: number, now: number): { retryAt: number; first: boolean } {
    const previous = this.held.get(id);
    const failures = previous && previous.version === version ? previous.failures + 1 : 1;
    const backoff = Math.min(QUARANTINE_FIRST_RETRY_MS * 2 ** (failures - 1), QUARANTINE_MAX_RETRY_MS);
    const retryAt = now + backoff;
    this.held.set(id, { version, retryAt, failures });
    return { retryAt, first: failures === 1 };
  }

  /** Whether `id` at `version` must be left alone at `now`. */
  isHeld(id: string, version: number, now: number): boolean {
    const held = this.held.get(id);
    if (!held) return false;
    if (held.version !== version) {
      this.held.delete(id);
      return false;
    }
    return now < held.retryAt;
  }

  /** The work for `id` succeeded (or the object is gone): forget its failures. */
  clear(id: string): void {
    this.held.delete(id);
  }

  /** The earliest retry time still ahead, for the loop's timer. */
  nextRetryAt(now: number): number | undefined {
    let next: number | undefined;
    for (const held of this.held.values()) {
      if (held.retryAt > now && (next === undefined || held.retryAt < next)) next = held.retryAt;
    }
    return next;
  }

  /** Objects whose retry time has come, so the loop can put them back in scope. */
  due(now: number): string[] {
    const ids: string[] = [];
    for (const [id, held] of this.held) if (held.retryAt <= now) ids.push(id);
    return ids;
  }

  entries(): QuarantineEntry[] {
    return [...this.held].map(([id, held]) => ({ id, retryAt: held.retryAt, failures: held.failures }));
  }

  get size(): number {
    return this.held.size;
  }
}
