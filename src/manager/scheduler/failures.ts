// The "this node keeps failing this service" rule: a node on which a service revision
// failed at least FAILURE_THRESHOLD times within FAILURE_LOOKBACK_MS is tried after every node with
// fewer failures, whatever its task counts, so a crash loop tied to one host moves elsewhere.

import type { TaskFailure } from './snapshot.js';

export const FAILURE_LOOKBACK_MS = 5 * 60 * 1000;
export const FAILURE_THRESHOLD = 5;

const failureKey = (nodeId: string, serviceId: string, specVersion: number | undefined): string =>
  `${nodeId}\u0000${serviceId}\u0000${specVersion ?? ''}`;

/** Failures within the lookback, counted per (node, service, revision). Read-only, built per pass. */
export class RecentFailures {
  private readonly counts = new Map<string, number>();

  constructor(failures: readonly TaskFailure[], now: number) {
    for (const failure of failures) {
      if (now - failure.at > FAILURE_LOOKBACK_MS) continue;
      const key = failureKey(failure.nodeId, failure.serviceId, failure.specVersion);
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    }
  }

  count(nodeId: string, serviceId: string, specVersion: number | undefined): number {
    return this.counts.get(failureKey(nodeId, serviceId, specVersion)) ?? 0;
  }
}

/** The loop's memory of failures. It lives only on the leader, as in swarmkit: a new leader starts afresh. */
export class FailureHistory {
  private failures: TaskFailure[] = [];

  record(failure: TaskFailure): void {
    this.failures.push(failure);
  }

  /** The failures still inside the lookback; older ones are forgotten. */
  recent(now: number): readonly TaskFailure[] {
    if (this.failures.some((f) => now - f.at > FAILURE_LOOKBACK_MS)) {
      this.failures = this.failures.filter((f) => now - f.at <= FAILURE_LOOKBACK_MS);
    }
    return this.failures;
  }
}
