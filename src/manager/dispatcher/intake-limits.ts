// How much each node may send the dispatcher, per second. Every node has its own token buckets, so a
// node whose certificate is in hostile hands (or whose agent is broken) can flood only its own budget:
// it gets refusals, and everyone else is served as usual. A refusal is `rateLimited` (Unavailable with
// HTTP status 429): the agent keeps what it was sending and tries again a moment later, on the same
// session (src/agent/reporter.ts, src/agent/log-publisher.ts).
//
// The numbers leave a well-behaved agent far from the bounds: it sends at most 1024 status updates per
// call, one call at a time, and re-reports all its tasks once per new session, so 1,000 or even 10,000
// tasks re-reported after a reconnect fit in one burst (and cost no status bytes: what the store
// already has changes nothing); a status change is a few hundred bytes, health reports come at most
// every 2 s per task; log lines go out in batches of at most 1000, one batch at a time per
// subscription, and 4 MiB/s is some 25,000 lines a second for `docker service logs` (a node that
// has more to send waits; nothing is dropped). Log data is only parsed and passed on, never stored,
// but parsing it is the manager's CPU: a flood of it is bounded like the rest.

import type { PublishLogsMessage } from '../../api/dispatcher.js';
import type { Clock } from '../../api/clock.js';
import { rateLimited } from '../../api/peer-limits.js';

export interface BucketLimit {
  /** What may be spent at once, from a full bucket. */
  burst: number;
  /** What comes back per second. */
  perSecond: number;
}

export interface NodeIntakeLimits {
  /** Task status updates (a call costs its number of updates, at least 1). */
  statusUpdates: BucketLimit;
  /** Bytes (JSON) of the status updates that change their task: what the node adds to the store. */
  statusBytes: BucketLimit;
  /** Log bytes: each line's data, plus LOG_ENTRY_COST per line and LOG_CALL_COST per call. */
  logBytes: BucketLimit;
  /** Session streams opened (new registrations and reconnects of the same session alike). */
  sessions: BucketLimit;
}

export const DEFAULT_NODE_INTAKE_LIMITS: NodeIntakeLimits = {
  statusUpdates: { burst: 10_000, perSecond: 2_000 },
  statusBytes: { burst: 16 * 2 ** 20, perSecond: 2 ** 20 },
  logBytes: { burst: 32 * 2 ** 20, perSecond: 4 * 2 ** 20 },
  sessions: { burst: 20, perSecond: 1 },
};

/** What a log line costs beyond its data (IDs, timestamp, framing), and what a call costs on its own. */
export const LOG_ENTRY_COST = 256;
export const LOG_CALL_COST = 1024;

/** A token bucket: `burst` tokens when full, refilled continuously at `perSecond`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly limit: BucketLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.updatedAt = now;
  }

  /** Spends `cost` tokens if there are that many; false (and nothing spent) otherwise. */
  take(cost: number, now: number): boolean {
    this.refill(now);
    if (cost > this.tokens) return false;
    this.tokens -= cost;
    return true;
  }

  /** Whether the bucket is full again (then it can be forgotten: a new one is the same). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.limit.burst;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed / 1000) * this.limit.perSecond);
  }
}

type BucketName = keyof NodeIntakeLimits;

/** Buckets of nodes idle this long, full again by then, are dropped when the next call comes. */
const SWEEP_INTERVAL_MS = 60_000;

export class NodeIntake {
  private readonly buckets = new Map<string, Map<BucketName, TokenBucket>>();
  private lastSweep: number;

  constructor(
    private readonly clock: Clock,
    private readonly limits: NodeIntakeLimits = DEFAULT_NODE_INTAKE_LIMITS,
  ) {
    this.lastSweep = clock.now();
  }

  /** Refuses the call when the node has sent more status updates than its budget allows. */
  statusUpdates(nodeId: string, updates: number): void {
    if (this.take(nodeId, 'statusUpdates', Math.max(1, updates))) return;
    const { burst, perSecond } = this.limits.statusUpdates;
    throw rateLimited(
      `node ${nodeId} exceeded its rate limit of ${perSecond} task status updates per second (burst ${burst}); retry later`,
    );
  }

  /**
   * Refuses the call when the statuses that would change the store exceed the node's budget: status
   * changes are every node's right, but one rewriting its tasks' texts in a loop would fill the store's
   * history (every write is kept there for a while).
   */
  statusBytes(nodeId: string, bytes: number): void {
    if (bytes === 0 || this.take(nodeId, 'statusBytes', bytes)) return;
    const { burst, perSecond } = this.limits.statusBytes;
    throw rateLimited(
      `node ${nodeId} exceeded its rate limit of ${perSecond} bytes of task status changes per second (burst ${burst}); retry later`,
    );
  }

  /** Refuses the call when the node has published more log data than its budget allows. */
  logs(nodeId: string, message: PublishLogsMessage): void {
    let cost = LOG_CALL_COST;
    for (const entry of message.entries) cost += entry.data.length + LOG_ENTRY_COST;
    if (this.take(nodeId, 'logBytes', cost)) return;
    const { burst, perSecond } = this.limits.logBytes;
    throw rateLimited(
      `node ${nodeId} exceeded its rate limit of ${perSecond} bytes of logs per second (burst ${burst}); retry later`,
    );
  }

  /** Refuses a session stream when the node opens them faster than a reconnecting agent would. */
  session(nodeId: string): void {
    if (this.take(nodeId, 'sessions', 1)) return;
    throw rateLimited(`node ${nodeId} exceeded its rate limit of session streams; retry later`);
  }

  forget(nodeId: string): void {
    this.buckets.delete(nodeId);
  }

  /** Nodes with a bucket that is not full (for tests: idle nodes cost nothing). */
  get tracked(): number {
    return this.buckets.size;
  }

  private take(nodeId: string, name: BucketName, cost: number): boolean {
    const now = this.clock.now();
    this.sweep(now);
    let node = this.buckets.get(nodeId);
    if (!node) this.buckets.set(nodeId, (node = new Map()));
    let bucket = node.get(name);
    if (!bucket) node.set(name, (bucket = new TokenBucket(this.limits[name], now)));
    return bucket.take(cost, now);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [nodeId, node] of this.buckets) {
      for (const [name, bucket] of node) if (bucket.isFull(now)) node.delete(name);
      if (node.size === 0) this.buckets.delete(nodeId);
    }
  }
}
