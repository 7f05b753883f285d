// Leader election over the KV contract (on etcd, for swarms whose managers share it): one key, held under a
// lease by the leader. Whoever creates the key (compare: it does not exist) leads while it keeps the lease
// alive; the others watch the key and campaign again when it goes away.
//
// Stepping down in time. The leader renews the lease every TTL/3. The lease cannot expire in etcd before
// `sent + TTL`, where `sent` is when the last successful renewal was sent (etcd counts from when it received
// it, which is later), so a leader that has not renewed by then minus a margin stops leading — it tells
// `onChange` before anyone else can have the key. A leader told its lease is gone stops at once.
//
// Fencing. Being told you lead is not enough to write safely: a process paused for longer than the TTL (a
// long GC, a stopped VM) may write after another leader was elected. So every write of the leader carries
// `fence()`: a compare that the key's createRevision is still the one this leader created. When the key
// expired or another leader recreated it, the compare fails and the write is refused by the store itself.

import type { JsonValue, KV, Watch } from './kv.js';
import { LeaseNotFoundError } from './kv.js';

export interface LeaderRecord {
  /** The leader's node ID. */
  nodeId: string;
  /** The leader's cluster address (`ip:port`). */
  addr: string;
}

export interface LeadershipState {
  leading: boolean;
  /** The current leader as last seen (this manager when leading); undefined while there is none. */
  leader: LeaderRecord | undefined;
}

export interface ElectionOptions {
  kv: KV;
  /** The key the leader holds. */
  key: string;
  /** What this manager writes in the key when it leads. */
  self: LeaderRecord;
  /** Lease TTL in seconds: how long a dead leader keeps the key (etcd rounds up to its minimum). */
  ttlSeconds: number;
  /** Told whenever leading or the known leader changes. Must not throw. */
  onChange: (state: LeadershipState) => void;
  /** Told about a failed campaign or renewal (it is retried). */
  onError?: (err: Error) => void;
  /** Milliseconds (tests). */
  now?: () => number;
}

/** Stop leading this long before the lease could have expired. */
const SAFETY_MARGIN_MS = 250;
const RETRY_MS = 250;

export class LeaderElection {
  private state: LeadershipState = { leading: false, leader: undefined };
  private lease = 0;
  /** createRevision of the key this manager created, while leading. */
  private createRevision = 0;
  /** The lease is alive in the store at least until then (ms, `now()`), while leading. */
  private validUntil = 0;
  private renewTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private probing = false;
  private watch: Watch | undefined;
  private watchToken: object | undefined;
  private stopped = true;
  private campaigning = false;
  private readonly now: () => number;

  constructor(private readonly options: ElectionOptions) {
    this.now = options.now ?? Date.now;
  }

  get leading(): boolean {
    return this.state.leading;
  }

  get leader(): LeaderRecord | undefined {
    return this.state.leader;
  }

  /** What every write of the leader must find unchanged (see the top of this file); undefined when not leading. */
  fence(): { key: string; createRevision: number } | undefined {
    if (!this.state.leading) return undefined;
    return { key: this.options.key, createRevision: this.createRevision };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    void this.campaign();
    // A follower cannot tell from the watch alone that the store lost its quorum (nothing is deleted
    // then): it reads the key through the store once per TTL, and a store that does not answer means
    // nobody can lead.
    this.probeTimer = setInterval(() => void this.probe(), this.options.ttlSeconds * 1000);
  }

  private async probe(): Promise<void> {
    if (this.stopped || this.state.leading || this.campaigning || this.probing) return;
    this.probing = true;
    try {
      // A transaction that only reads is a linearizable read, bounded by the backend's write deadline.
      const response = await this.options.kv.txn({ success: [{ type: 'get', key: this.options.key }] });
      const result = response.results[0];
      const entry = result?.type === 'get' ? result.entry : undefined;
      if (this.state.leading) return;
      if (entry) this.set({ leading: false, leader: asRecord(entry.value) });
      else void this.campaign();
    } catch (err) {
      if (!this.state.leading) this.set({ leading: false, leader: undefined });
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.probing = false;
    }
  }

  /** Stops campaigning; a leader gives the key up at once (revokes its lease) so another can take over. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.probeTimer);
    this.probeTimer = undefined;
    this.watch?.cancel();
    this.watch = undefined;
    this.watchToken = undefined;
    const lease = this.lease;
    this.stepDown();
    if (lease !== 0) await this.options.kv.revokeLease(lease).catch(() => undefined);
  }

  private async campaign(): Promise<void> {
    if (this.stopped || this.campaigning) return;
    this.campaigning = true;
    const { kv, key, self } = this.options;
    try {
      const lease = await kv.grantLease(this.options.ttlSeconds);
      const sent = this.now();
      const response = await kv.txn({
        compares: [{ key, target: 'createRevision', op: '=', value: 0 }],
        success: [{ type: 'put', key, value: self as unknown as JsonValue, lease }],
        failure: [{ type: 'get', key }],
      });
      if (this.stopped) {
        await kv.revokeLease(lease).catch(() => undefined);
        return;
      }
      if (response.succeeded) {
        this.lease = lease;
        this.createRevision = response.revision;
        this.validUntil = sent + this.options.ttlSeconds * 1000;
        this.armDeadline();
        this.renewTimer = setInterval(() => void this.renew(), (this.options.ttlSeconds * 1000) / 3);
        this.set({ leading: true, leader: self });
        this.follow(response.revision + 1);
        return;
      }
      await kv.revokeLease(lease).catch(() => undefined);
      const held = response.results[0];
      const entry = held?.type === 'get' ? held.entry : undefined;
      if (!entry) {
        // Gone between the compare and now: try again.
        this.retry();
        return;
      }
      const holder = asRecord(entry.value);
      if (holder?.nodeId === self.nodeId) {
        // Held for this node by an earlier run of it (killed before it could give the key up): only one
        // process runs a node (its data dir is locked), so that run is dead. Delete exactly that key — the
        // compare makes sure it is still the one seen — and campaign again.
        await kv.txn({
          compares: [{ key, target: 'createRevision', op: '=', value: entry.createRevision }],
          success: [{ type: 'delete', key }],
        });
        this.retry(0);
        return;
      }
      this.set({ leading: false, leader: asRecord(entry.value) });
      this.follow(entry.modRevision + 1);
    } catch (err) {
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
      this.retry();
    } finally {
      this.campaigning = false;
    }
  }

  /** Watches the key: a new leader's record, or its deletion (then campaign). */
  private follow(fromRevision: number): void {
    this.watch?.cancel();
    // Which watch is current: a backend may deliver before watch() has returned, so not the handle.
    const token = {};
    this.watchToken = token;
    this.watch = this.options.kv.watch(
      this.options.key,
      (batch) => {
        // A watch replaced by a newer one (after a campaign) may still deliver what it had: ignore it.
        if (this.watchToken !== token) return;
        for (const event of batch.events) {
          if (event.key !== this.options.key) continue;
          // What happened to a key before this manager created its own is history, not news.
          if (this.state.leading && event.modRevision <= this.createRevision) continue;
          if (event.type === 'put') {
            if (!this.state.leading) this.set({ leading: false, leader: asRecord(event.value) });
          } else {
            // The key is gone: a leader that has not noticed its lease ended stops now.
            if (this.state.leading) this.stepDown();
            this.set({ leading: false, leader: undefined });
            this.watch?.cancel();
            this.watch = undefined;
            this.watchToken = undefined;
            void this.campaign();
            return;
          }
        }
      },
      {
        fromRevision,
        onError: (err) => {
          if (this.watchToken !== token) return;
          this.options.onError?.(err);
          this.watch = undefined;
          this.watchToken = undefined;
          if (this.state.leading) this.stepDown();
          this.retry();
        },
      },
    );
  }

  private async renew(): Promise<void> {
    const lease = this.lease;
    if (!this.state.leading || lease === 0) return;
    const sent = this.now();
    try {
      await this.options.kv.keepAlive(lease);
      if (this.lease !== lease || !this.state.leading) return;
      this.validUntil = Math.max(this.validUntil, sent + this.options.ttlSeconds * 1000);
      this.armDeadline();
    } catch (err) {
      if (this.lease !== lease) return;
      if (err instanceof LeaseNotFoundError) {
        this.stepDown();
        this.retry();
        return;
      }
      // Not answered (the member unreachable): keep trying until the deadline steps down.
      this.options.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private armDeadline(): void {
    clearTimeout(this.deadlineTimer);
    const delay = Math.max(0, this.validUntil - SAFETY_MARGIN_MS - this.now());
    this.deadlineTimer = setTimeout(() => {
      if (!this.state.leading) return;
      this.stepDown();
      this.retry();
    }, delay);
  }

  private stepDown(): void {
    clearInterval(this.renewTimer);
    clearTimeout(this.deadlineTimer);
    this.renewTimer = undefined;
    this.deadlineTimer = undefined;
    // Best effort: give the key up now rather than when the lease runs out (fails harmlessly if it has).
    if (this.lease !== 0) void this.options.kv.revokeLease(this.lease).catch(() => undefined);
    this.lease = 0;
    this.createRevision = 0;
    if (this.state.leading) this.set({ leading: false, leader: undefined });
  }

  private retry(delayMs = RETRY_MS): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.campaign(), delayMs);
  }

  private set(next: LeadershipState): void {
    const same =
      next.leading === this.state.leading &&
      next.leader?.nodeId === this.state.leader?.nodeId &&
      next.leader?.addr === this.state.leader?.addr;
    this.state = next;
    if (!same) this.options.onChange(next);
  }
}

function asRecord(value: JsonValue): LeaderRecord | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { nodeId, addr } = value as Record<string, JsonValue>;
  return typeof nodeId === 'string' && typeof addr === 'string' ? { nodeId, addr } : undefined;
}
