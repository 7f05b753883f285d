// The revisioned key-value contract every backend implements (embedded SQLite now, etcd later).
// It mirrors etcd's model so that the etcd backend is a thin adapter: a single global revision that
// grows with every write transaction, per-key create/mod revisions, compare-and-swap transactions,
// watches that can resume from a past revision, and leases that delete their keys when they expire.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface KVEntry {
  key: string;
  value: JsonValue;
  /** Revision of the transaction that created the key (since its last deletion). */
  createRevision: number;
  /** Revision of the transaction that last wrote the key. */
  modRevision: number;
  /** Number of writes since creation (1 after the first put). */
  version: number;
  /** Lease the key is attached to, 0 for none. */
  lease: number;
}

export type CompareTarget = 'value' | 'version' | 'createRevision' | 'modRevision';
export type CompareOp = '=' | '!=' | '<' | '>';

/** A condition on one key. A missing key has version/createRevision/modRevision 0 and no value. */
export interface Compare {
  key: string;
  target: CompareTarget;
  op: CompareOp;
  value: JsonValue;
}

export type Op =
  | { type: 'put'; key: string; value: JsonValue; lease?: number }
  | { type: 'delete'; key: string }
  | { type: 'deletePrefix'; prefix: string }
  | { type: 'get'; key: string }
  | { type: 'range'; prefix: string };

export type OpResult =
  | { type: 'put'; prev?: KVEntry }
  | { type: 'delete'; deleted: number }
  | { type: 'get'; entry?: KVEntry }
  | { type: 'range'; entries: KVEntry[] };

export interface TxnRequest {
  compares?: Compare[];
  success?: Op[];
  failure?: Op[];
}

export interface TxnResponse {
  succeeded: boolean;
  /** Store revision after the transaction (unchanged if it wrote nothing). */
  revision: number;
  results: OpResult[];
}

export interface RangeResponse {
  entries: KVEntry[];
  revision: number;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  key: string;
  /** The new value for puts, the last value for deletes. */
  value: JsonValue;
  modRevision: number;
  createRevision: number;
}

/** All events of one transaction are delivered together, in revision order. */
export interface WatchBatch {
  revision: number;
  events: WatchEvent[];
}

export interface Watch {
  cancel(): void;
}

export interface WatchOptions {
  /**
   * Deliver every event with revision >= fromRevision before live ones. Without it the watch starts
   * after the current revision.
   */
  fromRevision?: number;
  /** Called once if the watch ends abnormally (e.g. `compacted` when fromRevision is too old). */
  onError?: (err: Error) => void;
}

export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compactRevision: number,
  ) {
    super(`required revision ${requested} has been compacted (oldest available is ${compactRevision})`);
    this.name = 'CompactedError';
  }
}

/** A lease that does not exist (never granted, revoked, or expired). */
export class LeaseNotFoundError extends Error {
  constructor(readonly lease: number) {
    super(`requested lease ${lease} not found`);
    this.name = 'LeaseNotFoundError';
  }
}

/**
 * The backend did not answer in time, or has no quorum (etcd's members lost their majority). A write that
 * fails so may still have been applied; reading again tells.
 */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

export interface KV {
  /** The current store revision (0 for an empty, never-written store). */
  revision(): Promise<number>;
  get(key: string): Promise<KVEntry | undefined>;
  range(prefix: string): Promise<RangeResponse>;
  /** Writes one key; resolves with the revision of the write. */
  put(key: string, value: JsonValue, lease?: number): Promise<number>;
  /** Deletes one key; resolves with the number of keys deleted (0 or 1). */
  delete(key: string): Promise<number>;
  txn(request: TxnRequest): Promise<TxnResponse>;
  watch(prefix: string, onBatch: (batch: WatchBatch) => void, options?: WatchOptions): Watch;
  /** Grants a lease of `ttlSeconds`; keys put with it are deleted when it expires or is revoked. */
  grantLease(ttlSeconds: number): Promise<number>;
  /** Refreshes a lease; rejects if the lease has expired. Returns the TTL in seconds. */
  keepAlive(lease: number): Promise<number>;
  revokeLease(lease: number): Promise<void>;
  /** Drops watch history older than `revision`. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
