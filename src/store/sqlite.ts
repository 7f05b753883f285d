// The embedded KV backend: the whole revisioned key-value contract (kv.ts) in one SQLite file, for a swarm
// with a single manager.
//
// Layout. `kv` holds the live keys with etcd's per-key metadata; `events` is the watch history, one row per
// changed key, keyed by (revision, seq); `leases` holds wall-clock expiry times; `state` holds the global
// revision and the compaction point. Every write transaction of the KV is exactly one SQLite transaction
// (BEGIN IMMEDIATE … COMMIT), so the key table, the history and the revision can never disagree. A delete
// event carries the key's last value and the createRevision it had.
//
// Durability. WAL mode with `synchronous=FULL`: a transaction is on disk (the WAL is fsynced) before the
// promise of the write resolves, so an acknowledged write survives `kill -9` and power loss.
//
// Watches. SQLite has no change feed, so watches are served by this object: after each commit the new batch
// is handed to every watcher that is caught up, in revision order; a watcher that starts in the past reads
// the history table until it reaches the live position, and from then on is fed live. Each watcher has a
// single cursor (the next revision it needs), so replay and live delivery can neither skip nor repeat a
// revision. Commits made by *other* connections to the same file (another process, or another SqliteKV in
// this one) are invisible to this object's commit path, so while watches are open the stored revision is
// polled on a short timer (`externalPollMs`, one indexed single-row SELECT) and anything new is read from the
// history. Polling was chosen over `fs.watch` on the WAL file because the WAL is truncated, checkpointed and
// recreated under SQLite's control, which makes inotify events an unreliable signal, while a SELECT is
// exact and costs microseconds.
//
// History retention. The history is compacted automatically so the file does not grow forever: it keeps at
// most the newest `historyRevisions` revisions (default 10,000) and at most `historyBytes` of values
// (default 64 MiB), whichever is less — a revision holds the full value of every key it changed, so a few
// huge objects would otherwise make a huge history. The revision bound is trimmed once the history exceeds
// it by a tenth and the byte bound back to nine tenths of itself, so the cost is amortized over many
// commits; the newest revision is always kept. The byte count lives in the file (`history_sizes`, one row
// per revision, and a running total in `state`), so every connection to the file enforces the same bound.
// A watcher asking for an older revision gets `CompactedError` and must resynchronize from a fresh `range`.
//
// Space. The file is in `auto_vacuum = INCREMENTAL` mode (a file made before that is converted once, with a
// VACUUM, when it is opened), so pages freed by deletes and compactions can be given back to the filesystem.
// That happens off the commit path: after commits, a maintenance pass (a timer) looks at the freelist, and
// when it is large returns it with `PRAGMA incremental_vacuum`, 256 pages (1 MiB) per event-loop turn, so
// no single step holds the event loop for long; then, or whenever the WAL has grown past its limit (a large
// transaction), a TRUNCATE checkpoint shrinks the WAL back to nothing.
//
// Errors. A write that fails because of the disk (SQLITE_FULL, SQLITE_IOERR_*) is reported as a ShoalError
// naming the file and saying the disk is full when it is; SQLite has rolled the transaction back, so the
// store is unchanged and usable as soon as there is space again. Opened with `create: false`, a missing,
// empty or unreadable file is a `DamagedStateError`, never replaced by a new, empty store.
//
// Leases. Expiry times are wall-clock milliseconds in the file, so a lease keeps its deadline across a
// restart. Expired leases are revoked (their keys deleted in one transaction per lease, with watch events)
// by a timer armed for the next deadline, and also before any operation, so a reader never sees a key whose
// lease has already run out even if the timer has not fired yet.

import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';

import { DamagedStateError, fileWriteError, isCorruptionError, isDiskError } from './file-errors.js';

import {
  CompactedError,
  LeaseNotFoundError,
  type Compare,
  type CompareOp,
  type JsonValue,
  type KV,
  type KVEntry,
  type Op,
  type OpResult,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
  type Watch,
  type WatchBatch,
  type WatchEvent,
  type WatchOptions,
} from './kv.js';

/**
 * Bumped when the table layout changes; a file written by a newer layout is refused, not misread.
 * 2: the history's size per revision (`history_sizes`) and in total (`state.history_bytes`).
 */
const SCHEMA_VERSION = 2;

export const DEFAULT_HISTORY_REVISIONS = 10_000;
export const DEFAULT_HISTORY_BYTES = 64 * 1024 * 1024;
export const DEFAULT_EXTERNAL_POLL_MS = 100;
/** The lease timer never sleeps longer than this, so leases granted by other connections are noticed. */
const LEASE_CHECK_MAX_MS = 1_000;
/** A replaying watcher reads the history this many revisions at a time, bounding memory for long replays. */
const REPLAY_PAGE_REVISIONS = 1_000;
/**
 * The WAL is truncated once it has grown past this (SQLite's automatic checkpoints keep it near 4 MiB in
 * normal use, so only a large transaction takes it past). Also SQLite's own `journal_size_limit`.
 */
const WAL_LIMIT_BYTES = 16 * 1024 * 1024;
/** How long after a commit the maintenance pass runs: commits in between share one pass. */
const MAINTENANCE_DELAY_MS = 200;
/** After a maintenance pass failed (a busy or full disk), how long until the next try. */
const MAINTENANCE_RETRY_MS = 5_000;
/** Free pages are given back once there are at least this many, and they are at least 1/8 of the file. */
const VACUUM_MIN_FREE_PAGES = 1_024;
/** Pages given back per step, one step per event-loop turn: a few milliseconds each. */
const VACUUM_STEP_PAGES = 256;
/** Modes of the store file and of its -wal and -shm files (SQLite gives those the main file's mode). */
const FILE_MODE = 0o600;

export interface SqliteKVOptions {
  /**
   * How many of the newest revisions of watch history automatic compaction keeps (default 10,000).
   * `Infinity` turns automatic compaction off; `compact()` still works.
   */
  historyRevisions?: number;
  /**
   * At most how many bytes of values the watch history keeps (default 64 MiB); the newest revision is
   * kept whatever its size. `Infinity` turns the byte bound off.
   */
  historyBytes?: number;
  /**
   * While watches are open, how often (ms) to look for commits made by other connections to the same file
   * (default 100). 0 turns this off, which is right when this object is the file's only writer.
   */
  externalPollMs?: number;
  /** Wall clock in milliseconds since the epoch, used for lease expiry. Tests replace it. */
  now?: () => number;
  /** How long (ms) to wait for another connection's write lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /**
   * Whether a missing or empty file becomes a new store (default true). With false (a node resuming its
   * swarm), a file that is missing, empty, not a database or not a store is a `DamagedStateError`.
   */
  create?: boolean;
  /**
   * The file may not grow past about this many bytes: writes beyond fail as on a full disk. Tests use it to
   * fill the "disk" without filling one.
   */
  maxFileBytes?: number;
}

interface KeyRow {
  key: string;
  value: string;
  create_revision: number;
  mod_revision: number;
  version: number;
  lease: number;
}

interface StateRow {
  revision: number;
  compact_revision: number;
  history_bytes: number;
}

interface LeaseRow {
  id: number;
  ttl_ms: number;
  expires_at: number;
}

interface EventRow {
  revision: number;
  type: 'put' | 'delete';
  key: string;
  value: string;
  create_revision: number;
}

/** One changed key as recorded in the history; the value stays JSON text until a watcher needs it. */
interface EventRecord {
  type: 'put' | 'delete';
  key: string;
  value: string;
  modRevision: number;
  createRevision: number;
}

interface Watcher {
  readonly prefix: string;
  readonly onBatch: (batch: WatchBatch) => void;
  readonly onError: ((err: Error) => void) | undefined;
  /** The next revision this watcher needs; everything before it has been delivered (or filtered out). */
  nextRevision: number;
  active: boolean;
}

const SCHEMA = `
  CREATE TABLE state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL,
    compact_revision INTEGER NOT NULL,
    history_bytes INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO state (id, revision, compact_revision) VALUES (1, 0, 0);
  CREATE TABLE kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    create_revision INTEGER NOT NULL,
    mod_revision INTEGER NOT NULL,
    version INTEGER NOT NULL,
    lease INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE INDEX kv_by_lease ON kv (lease) WHERE lease != 0;
  CREATE TABLE events (
    revision INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('put', 'delete')),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    create_revision INTEGER NOT NULL,
    PRIMARY KEY (revision, seq)
  ) WITHOUT ROWID;
  -- The bytes of values each revision of the history holds, so the byte bound never reads the values.
  CREATE TABLE history_sizes (
    revision INTEGER PRIMARY KEY,
    bytes INTEGER NOT NULL
  );
  -- AUTOINCREMENT so that a revoked lease's ID is never handed out again.
  CREATE TABLE leases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ttl_ms INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  CREATE INDEX leases_by_expiry ON leases (expires_at);
`;

/** From schema 1: the history's sizes, computed once from the history itself. */
const MIGRATE_1_TO_2 = `
  ALTER TABLE state ADD COLUMN history_bytes INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE history_sizes (
    revision INTEGER PRIMARY KEY,
    bytes INTEGER NOT NULL
  );
  INSERT INTO history_sizes (revision, bytes)
    SELECT revision, SUM(length(CAST(value AS BLOB))) FROM events GROUP BY revision;
  UPDATE state SET history_bytes = (SELECT COALESCE(SUM(bytes), 0) FROM history_sizes) WHERE id = 1;
`;

const KEY_COLUMNS = 'key, value, create_revision, mod_revision, version, lease';
const EVENT_COLUMNS = 'revision, type, key, value, create_revision';

/** Every statement, prepared once: preparing is a large share of the cost of a small SQLite query. */
class Statements {
  readonly getState;
  readonly setRevision;
  readonly setCompactRevision;
  readonly insertHistorySize;
  readonly historySizesNewestFirst;
  readonly deleteHistorySizesBefore;
  readonly recountHistoryBytes;
  readonly getKey;
  readonly rangeBounded;
  readonly rangeFrom;
  readonly upsertKey;
  readonly deleteKey;
  readonly deleteBounded;
  readonly deleteFrom;
  readonly keysOfLease;
  readonly insertEvent;
  readonly eventsBounded;
  readonly eventsFrom;
  readonly deleteEventsBefore;
  readonly getLease;
  readonly insertLease;
  readonly refreshLease;
  readonly deleteLease;
  readonly dueLeases;
  readonly nextLeaseExpiry;

  constructor(db: Database.Database) {
    this.getState = db.prepare<[], StateRow>(
      'SELECT revision, compact_revision, history_bytes FROM state WHERE id = 1',
    );
    this.setRevision = db.prepare<[number, number]>(
      'UPDATE state SET revision = ?, history_bytes = history_bytes + ? WHERE id = 1',
    );
    this.setCompactRevision = db.prepare<[number]>('UPDATE state SET compact_revision = ? WHERE id = 1');
    this.insertHistorySize = db.prepare<[number, number]>(
      'INSERT INTO history_sizes (revision, bytes) VALUES (?, ?)',
    );
    this.historySizesNewestFirst = db.prepare<[], { revision: number; bytes: number }>(
      'SELECT revision, bytes FROM history_sizes ORDER BY revision DESC',
    );
    this.deleteHistorySizesBefore = db.prepare<[number]>('DELETE FROM history_sizes WHERE revision < ?');
    this.recountHistoryBytes = db.prepare(
      'UPDATE state SET history_bytes = (SELECT COALESCE(SUM(bytes), 0) FROM history_sizes) WHERE id = 1',
    );
    this.getKey = db.prepare<[string], KeyRow>(`SELECT ${KEY_COLUMNS} FROM kv WHERE key = ?`);
    this.rangeBounded = db.prepare<[string, string], KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM kv WHERE key >= ? AND key < ? ORDER BY key`,
    );
    this.rangeFrom = db.prepare<[string], KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM kv WHERE key >= ? ORDER BY key`,
    );
    this.upsertKey = db.prepare<[string, string, number, number, number, number]>(
      `INSERT INTO kv (${KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET
         value = excluded.value, mod_revision = excluded.mod_revision,
         version = excluded.version, lease = excluded.lease`,
    );
    this.deleteKey = db.prepare<[string]>('DELETE FROM kv WHERE key = ?');
    this.deleteBounded = db.prepare<[string, string]>('DELETE FROM kv WHERE key >= ? AND key < ?');
    this.deleteFrom = db.prepare<[string]>('DELETE FROM kv WHERE key >= ?');
    this.keysOfLease = db.prepare<[number], KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM kv WHERE lease = ? ORDER BY key`,
    );
    this.insertEvent = db.prepare<[number, number, string, string, string, number]>(
      'INSERT INTO events (revision, seq, type, key, value, create_revision) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.eventsBounded = db.prepare<[number, number, string, string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
       WHERE revision >= ? AND revision <= ? AND key >= ? AND key < ? ORDER BY revision, seq`,
    );
    this.eventsFrom = db.prepare<[number, number, string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM events
       WHERE revision >= ? AND revision <= ? AND key >= ? ORDER BY revision, seq`,
    );
    this.deleteEventsBefore = db.prepare<[number]>('DELETE FROM events WHERE revision < ?');
    this.getLease = db.prepare<[number], LeaseRow>('SELECT id, ttl_ms, expires_at FROM leases WHERE id = ?');
    this.insertLease = db.prepare<[number, number]>('INSERT INTO leases (ttl_ms, expires_at) VALUES (?, ?)');
    this.refreshLease = db.prepare<[number, number]>('UPDATE leases SET expires_at = ? WHERE id = ?');
    this.deleteLease = db.prepare<[number]>('DELETE FROM leases WHERE id = ?');
    this.dueLeases = db.prepare<[number], { id: number }>(
      'SELECT id FROM leases WHERE expires_at <= ? ORDER BY expires_at, id',
    );
    this.nextLeaseExpiry = db.prepare<[], { at: number | null }>('SELECT MIN(expires_at) AS at FROM leases');
  }

  range(prefix: string): KeyRow[] {
    const end = prefixEnd(prefix);
    return end === undefined ? this.rangeFrom.all(prefix) : this.rangeBounded.all(prefix, end);
  }

  deleteRange(prefix: string): void {
    const end = prefixEnd(prefix);
    if (end === undefined) this.deleteFrom.run(prefix);
    else this.deleteBounded.run(prefix, end);
  }

  events(from: number, to: number, prefix: string): EventRow[] {
    const end = prefixEnd(prefix);
    return end === undefined
      ? this.eventsFrom.all(from, to, prefix)
      : this.eventsBounded.all(from, to, prefix, end);
  }
}

/**
 * The writes of one KV transaction, applied inside the SQLite transaction. The new revision is taken
 * lazily, on the first change, so a transaction that changes nothing leaves the revision alone.
 */
class TxnWriter {
  readonly events: EventRecord[] = [];
  /** UTF-8 bytes of the values recorded in the history by this transaction. */
  bytes = 0;
  private newRevision = 0;

  constructor(
    private readonly stmts: Statements,
    private readonly baseRevision: number,
  ) {}

  /** The store revision once this transaction commits. */
  get revision(): number {
    return this.newRevision || this.baseRevision;
  }

  get changed(): boolean {
    return this.events.length > 0;
  }

  apply(op: Op): OpResult {
    switch (op.type) {
      case 'put':
        return this.put(op.key, op.value, op.lease ?? 0);
      case 'delete': {
        const row = this.stmts.getKey.get(op.key);
        if (row) this.remove([row]);
        return { type: 'delete', deleted: row ? 1 : 0 };
      }
      case 'deletePrefix': {
        const rows = this.stmts.range(op.prefix);
        if (rows.length > 0) {
          this.recordDeletes(rows);
          this.stmts.deleteRange(op.prefix);
        }
        return { type: 'delete', deleted: rows.length };
      }
      case 'get': {
        const row = this.stmts.getKey.get(op.key);
        return row ? { type: 'get', entry: toEntry(row) } : { type: 'get' };
      }
      case 'range':
        return { type: 'range', entries: this.stmts.range(op.prefix).map(toEntry) };
    }
  }

  /** Deletes the given (existing) keys one by one, recording an event for each. */
  remove(rows: readonly KeyRow[]): void {
    this.recordDeletes(rows);
    for (const row of rows) this.stmts.deleteKey.run(row.key);
  }

  private put(key: string, value: JsonValue, lease: number): OpResult {
    const json = serialize(value);
    if (lease !== 0 && !this.stmts.getLease.get(lease)) throw new LeaseNotFoundError(lease);
    const prev = this.stmts.getKey.get(key);
    const revision = this.nextRevision();
    const createRevision = prev ? prev.create_revision : revision;
    this.stmts.upsertKey.run(key, json, createRevision, revision, prev ? prev.version + 1 : 1, lease);
    this.record({ type: 'put', key, value: json, modRevision: revision, createRevision });
    return putResult(prev);
  }

  private recordDeletes(rows: readonly KeyRow[]): void {
    const revision = this.nextRevision();
    for (const row of rows) {
      this.record({
        type: 'delete',
        key: row.key,
        value: row.value,
        modRevision: revision,
        createRevision: row.create_revision,
      });
    }
  }

  private record(event: EventRecord): void {
    this.stmts.insertEvent.run(
      event.modRevision,
      this.events.length,
      event.type,
      event.key,
      event.value,
      event.createRevision,
    );
    this.bytes += Buffer.byteLength(event.value, 'utf8');
    this.events.push(event);
  }

  private nextRevision(): number {
    if (this.newRevision === 0) this.newRevision = this.baseRevision + 1;
    return this.newRevision;
  }
}

interface CommitOutcome<T> {
  value: T;
  revision: number;
  /** The changes of the transaction, if it changed anything. */
  events?: EventRecord[];
}

export class SqliteKV implements KV {
  /** The file this store lives in (or `:memory:`). */
  readonly path: string;

  private readonly db: Database.Database;
  private readonly stmts: Statements;
  private readonly now: () => number;
  private readonly historyRevisions: number;
  /** How far past `historyRevisions` the history may grow before a compaction trims it back. */
  private readonly compactionSlack: number;
  private readonly historyBytes: number;
  private readonly busyTimeoutMs: number;
  private readonly externalPollMs: number;
  private readonly writeTransaction: Database.Transaction<(work: () => unknown) => unknown>;
  private readonly readTransaction: Database.Transaction<(work: () => unknown) => unknown>;

  private readonly watchers = new Set<Watcher>();
  /** The newest revision known to be committed, by this connection or another; watchers are fed up to it. */
  private knownRevision: number;
  /** Batches committed through this object and not yet fed to every watcher: spares a history read. */
  private readonly localBatches = new Map<number, EventRecord[]>();
  private pumping = false;
  private pumpScheduled = false;
  /** Earliest lease deadline known to this object (ms); operations check it before touching keys. */
  private nextLeaseExpiry = Infinity;
  private leaseTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private maintenanceTimer: NodeJS.Timeout | undefined;
  /** Giving free pages back, until the freelist is empty. */
  private vacuuming = false;
  /** Pages were given back since the last checkpoint: the file itself shrinks only when one completes. */
  private vacuumedSinceCheckpoint = false;
  private closed = false;

  constructor(path: string, options: SqliteKVOptions = {}) {
    const historyRevisions = options.historyRevisions ?? DEFAULT_HISTORY_REVISIONS;
    if (!(historyRevisions >= 1)) throw new RangeError('historyRevisions must be at least 1');
    const historyBytes = options.historyBytes ?? DEFAULT_HISTORY_BYTES;
    if (!(historyBytes >= 1)) throw new RangeError('historyBytes must be at least 1');
    this.path = path;
    this.now = options.now ?? Date.now;
    this.historyRevisions = historyRevisions;
    this.compactionSlack = Number.isFinite(historyRevisions)
      ? Math.max(1, Math.floor(historyRevisions / 10))
      : 0;
    this.historyBytes = historyBytes;
    this.busyTimeoutMs = options.busyTimeoutMs ?? 5_000;
    this.externalPollMs = path === ':memory:' ? 0 : (options.externalPollMs ?? DEFAULT_EXTERNAL_POLL_MS);
    const create = options.create ?? true;

    if (path !== ':memory:') prepareFile(path, create);
    try {
      this.db = new Database(path, { timeout: this.busyTimeoutMs, fileMustExist: !create });
    } catch (err) {
      throw this.openError(err);
    }
    try {
      this.setUp(create, options.maxFileBytes);
      this.stmts = new Statements(this.db);
    } catch (err) {
      this.db.close();
      throw this.openError(err);
    }
    this.writeTransaction = this.db.transaction((work: () => unknown) => work());
    this.readTransaction = this.db.transaction((work: () => unknown) => work());
    this.knownRevision = this.stmts.getState.get()!.revision;
    // Leases persisted by an earlier run keep their deadlines: expire the overdue ones promptly.
    this.updateNextLeaseExpiry();
    // A file from before the bounds (or opened with smaller ones) is brought within them now, before a
    // conversion copies it, and space an earlier run left free is given back.
    this.trimToBounds();
    this.enableIncrementalVacuum();
    this.scheduleMaintenance();
  }

  async revision(): Promise<number> {
    this.beforeOperation();
    return this.currentRevision();
  }

  async get(key: string): Promise<KVEntry | undefined> {
    this.beforeOperation();
    const row = this.stmts.getKey.get(key);
    return row ? toEntry(row) : undefined;
  }

  async range(prefix: string): Promise<RangeResponse> {
    this.beforeOperation();
    // One read transaction so the entries and the revision describe the same snapshot.
    return this.read(() => {
      const revision = this.stmts.getState.get()!.revision;
      return { entries: this.stmts.range(prefix).map(toEntry), revision };
    });
  }

  async put(key: string, value: JsonValue, lease?: number): Promise<number> {
    const response = await this.txn({ success: [{ type: 'put', key, value, lease }] });
    return response.revision;
  }

  async delete(key: string): Promise<number> {
    const response = await this.txn({ success: [{ type: 'delete', key }] });
    const result = response.results[0];
    return result?.type === 'delete' ? result.deleted : 0;
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    this.beforeOperation();
    const compares = request.compares ?? [];
    const success = request.success ?? [];
    const failure = request.failure ?? [];
    for (const compare of compares) validateCompare(compare);
    validateOps(success);
    validateOps(failure);

    const execute = (writer: TxnWriter) => {
      const succeeded = compares.every((compare) =>
        compareHolds(compare, this.stmts.getKey.get(compare.key)),
      );
      const results = (succeeded ? success : failure).map((op) => writer.apply(op));
      return { succeeded, results };
    };
    if (!hasWrites(success) && !hasWrites(failure)) {
      // Read-only: a deferred transaction takes no write lock, so it never waits for another writer.
      const response = this.read(() => {
        const writer = new TxnWriter(this.stmts, this.stmts.getState.get()!.revision);
        return { ...execute(writer), revision: writer.revision };
      });
      this.observeRevision(response.revision);
      return response;
    }
    const outcome = this.commit(execute);
    return { ...outcome.value, revision: outcome.revision };
  }

  watch(prefix: string, onBatch: (batch: WatchBatch) => void, options: WatchOptions = {}): Watch {
    this.assertOpen();
    const { fromRevision } = options;
    if (fromRevision !== undefined && !(Number.isSafeInteger(fromRevision) && fromRevision >= 0)) {
      throw new RangeError(`invalid watch revision ${fromRevision}`);
    }
    // Commits by other connections since the last look count as the past: a watch without a start
    // revision begins after them, as it would against a server.
    this.observeRevision(this.currentRevision(), { deferPump: true });
    const watcher: Watcher = {
      prefix,
      onBatch,
      onError: options.onError,
      // As in etcd, revision 0 means "from now".
      nextRevision: fromRevision ? fromRevision : this.knownRevision + 1,
      active: true,
    };
    this.watchers.add(watcher);
    this.startPolling();
    // History is replayed from a microtask, never inside watch(), so the callback can already use the
    // returned handle (e.g. to cancel itself).
    if (watcher.nextRevision <= this.knownRevision) this.schedulePump();
    return {
      cancel: () => {
        watcher.active = false;
        this.watchers.delete(watcher);
        this.stopPollingIfIdle();
      },
    };
  }

  async grantLease(ttlSeconds: number): Promise<number> {
    this.beforeOperation();
    if (!(ttlSeconds > 0 && Number.isFinite(ttlSeconds))) {
      throw new RangeError(`invalid lease TTL ${ttlSeconds}`);
    }
    const ttlMs = Math.max(1, Math.round(ttlSeconds * 1000));
    const id = this.write(() =>
      Number(this.stmts.insertLease.run(ttlMs, this.now() + ttlMs).lastInsertRowid),
    );
    this.updateNextLeaseExpiry();
    return id;
  }

  async keepAlive(lease: number): Promise<number> {
    this.beforeOperation();
    const ttlMs = this.write(() => {
      const row = this.stmts.getLease.get(lease);
      if (!row) throw new LeaseNotFoundError(lease);
      this.stmts.refreshLease.run(this.now() + row.ttl_ms, lease);
      return row.ttl_ms;
    });
    this.updateNextLeaseExpiry();
    return ttlMs / 1000;
  }

  async revokeLease(lease: number): Promise<void> {
    this.beforeOperation();
    if (!this.revoke(lease)) throw new LeaseNotFoundError(lease);
    this.updateNextLeaseExpiry();
  }

  async compact(revision: number): Promise<void> {
    this.beforeOperation();
    this.write(() => {
      const state = this.stmts.getState.get()!;
      if (revision > state.revision) {
        throw new RangeError(
          `required revision ${revision} is a future revision (current is ${state.revision})`,
        );
      }
      // Compacting at or below the current compaction point is a no-op rather than an error: automatic and
      // explicit compaction may race, and both want the same outcome.
      if (revision > state.compact_revision) this.trimHistory(revision);
    });
    this.scheduleMaintenance();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.leaseTimer);
    clearTimeout(this.maintenanceTimer);
    clearInterval(this.pollTimer);
    for (const watcher of this.watchers) watcher.active = false;
    this.watchers.clear();
    this.localBatches.clear();
    this.db.close();
  }

  // ------------------------------------------------------------------ transactions

  private read<T>(work: () => T): T {
    try {
      return this.readTransaction.deferred(work) as T;
    } catch (err) {
      throw isCorruptionError(err) ? this.storeError(err) : err;
    }
  }

  /**
   * Runs `work` in BEGIN IMMEDIATE, i.e. holding the write lock from the start (no upgrade deadlocks). A
   * failure rolls everything back; one caused by the disk is said in words that name the file.
   */
  private write<T>(work: () => T): T {
    try {
      return this.writeTransaction.immediate(work) as T;
    } catch (err) {
      throw this.storeError(err);
    }
  }

  /** The error to report for a failed SQLite call: the disk's and damage's in words, the rest as is. */
  private storeError(err: unknown): unknown {
    if (isDiskError(err)) return fileWriteError(STORE_WHAT, this.path, err);
    if (isCorruptionError(err)) return this.damaged(`is damaged (${(err as Error).message})`, err);
    return err;
  }

  /** The error for a failure while opening the file. */
  private openError(err: unknown): unknown {
    if (err instanceof DamagedStateError) return err;
    if ((err as { code?: unknown }).code === 'SQLITE_CANTOPEN' && !existsSync(this.path)) {
      return this.damaged('is missing', err);
    }
    if (isCorruptionError(err)) {
      return this.damaged(`is not a database or is corrupt (${(err as Error).message})`, err);
    }
    return this.storeError(err);
  }

  private damaged(problem: string, cause?: unknown): DamagedStateError {
    return new DamagedStateError(
      { kind: 'cluster-store', what: STORE_WHAT, file: this.path, problem },
      { cause },
    );
  }

  /**
   * Runs a KV write transaction: takes the next revision if `work` changes anything, compacts the history
   * when it has grown past its bound, and after the commit feeds the batch to the watchers.
   */
  private commit<T>(work: (writer: TxnWriter) => T): CommitOutcome<T> {
    const outcome = this.write((): CommitOutcome<T> => {
      const state = this.stmts.getState.get()!;
      const writer = new TxnWriter(this.stmts, state.revision);
      const value = work(writer);
      if (!writer.changed) return { value, revision: state.revision };
      this.stmts.setRevision.run(writer.revision, writer.bytes);
      this.stmts.insertHistorySize.run(writer.revision, writer.bytes);
      this.enforceHistoryBounds({
        revision: writer.revision,
        compact_revision: state.compact_revision,
        history_bytes: state.history_bytes + writer.bytes,
      });
      return { value, revision: writer.revision, events: writer.events };
    });
    if (outcome.events) {
      this.localBatches.set(outcome.revision, outcome.events);
      this.scheduleMaintenance();
    }
    this.observeRevision(outcome.revision);
    return outcome;
  }

  /**
   * Compacts the history when it holds more revisions or more bytes than its bounds allow (with the slack
   * that amortizes the cost). Must run inside a write transaction.
   */
  private enforceHistoryBounds(state: StateRow): void {
    let cut = state.compact_revision;
    if (state.revision - state.compact_revision > this.historyRevisions + this.compactionSlack) {
      cut = state.revision - this.historyRevisions + 1;
    }
    if (state.history_bytes > this.historyBytes) {
      cut = Math.max(cut, this.byteBoundCut(state.revision, Math.floor(this.historyBytes * 0.9)));
    }
    if (cut > state.compact_revision) this.trimHistory(cut);
  }

  /** The oldest revision to keep for the history to hold at most `target` bytes (the newest always is). */
  private byteBoundCut(newest: number, target: number): number {
    let cut = newest;
    let kept = 0;
    for (const row of this.stmts.historySizesNewestFirst.iterate()) {
      if (row.revision !== newest && kept + row.bytes > target) break;
      kept += row.bytes;
      cut = row.revision;
    }
    return cut;
  }

  /** Drops history before `revision`. Must run inside a write transaction. */
  private trimHistory(revision: number): void {
    this.stmts.deleteEventsBefore.run(revision);
    this.stmts.deleteHistorySizesBefore.run(revision);
    this.stmts.setCompactRevision.run(revision);
    this.stmts.recountHistoryBytes.run();
  }

  /** Brings the history within its bounds now, if it is not (best effort: a full disk waits for a commit). */
  private trimToBounds(): void {
    const state = this.stmts.getState.get()!;
    const overRevisions =
      state.revision - state.compact_revision > this.historyRevisions + this.compactionSlack;
    if (!overRevisions && state.history_bytes <= this.historyBytes) return;
    try {
      this.write(() => this.enforceHistoryBounds(this.stmts.getState.get()!));
    } catch {
      // Nothing is lost by waiting: the next commit enforces the bounds as part of its transaction.
    }
  }

  private currentRevision(): number {
    return this.stmts.getState.get()!.revision;
  }

  /**
   * Settings, schema and conversions of a freshly opened connection. The file is only read until it is
   * known to be a store (or allowed to become one), so a damaged or foreign file is never written to.
   */
  private setUp(create: boolean, maxFileBytes: number | undefined): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === 0 && !create) {
      throw this.damaged('holds no cluster store (it is an empty or foreign SQLite database)');
    }
    // Only possible before the first table exists; older files are converted below.
    if (version === 0 && this.path !== ':memory:') this.db.pragma('auto_vacuum = INCREMENTAL');
    this.db.pragma('journal_mode = WAL');
    // FULL: the WAL is fsynced at every commit, so an acknowledged write is durable, not just ordered.
    this.db.pragma('synchronous = FULL');
    // Keeps the WAL from staying at its high-water mark after a checkpoint of a large transaction.
    this.db.pragma(`journal_size_limit = ${WAL_LIMIT_BYTES}`);
    if (maxFileBytes !== undefined) {
      const pageSize = this.db.pragma('page_size', { simple: true }) as number;
      this.db.pragma(`max_page_count = ${Math.max(1, Math.floor(maxFileBytes / pageSize))}`);
    }
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version === SCHEMA_VERSION) return;
    if (version > SCHEMA_VERSION) {
      throw new Error(
        `${this.path}: store schema version ${version} is newer than this program supports (${SCHEMA_VERSION})`,
      );
    }
    this.db
      .transaction(() => {
        // Re-read under the write lock: another process may have migrated the schema meanwhile.
        const current = this.db.pragma('user_version', { simple: true }) as number;
        if (current === 0) this.db.exec(SCHEMA);
        else if (current === 1) this.db.exec(MIGRATE_1_TO_2);
        else return;
        this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })
      .immediate();
  }

  /**
   * Converts a file made before the store used incremental auto-vacuum, once: the mode of a file that has
   * tables changes only with a VACUUM. Best effort: VACUUM needs room for a copy of the file (and no other
   * writer), and a file that cannot be converted now works as it is and is converted at a later open.
   */
  private enableIncrementalVacuum(): void {
    if (this.path === ':memory:') return;
    if ((this.db.pragma('auto_vacuum', { simple: true }) as number) === AUTO_VACUUM_INCREMENTAL) return;
    try {
      this.db.pragma('auto_vacuum = INCREMENTAL');
      this.db.exec('VACUUM');
      // The compacted copy is in the WAL: the file shrinks when the maintenance pass checkpoints it.
      this.vacuumedSinceCheckpoint = true;
    } catch {
      // See above: tried again at the next open.
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`store ${this.path} is closed`);
  }

  private beforeOperation(): void {
    this.assertOpen();
    this.expireDueLeases();
  }

  // ------------------------------------------------------------------ watches

  /** Notes that the store has reached `revision` and brings the watchers up to it. */
  private observeRevision(revision: number, options: { deferPump?: boolean } = {}): void {
    if (revision <= this.knownRevision) {
      // Nothing new for the watchers; drop what a no-watcher commit left behind.
      if (!this.pumping) this.localBatches.clear();
      return;
    }
    this.knownRevision = revision;
    if (options.deferPump) this.schedulePump();
    else this.pump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  /**
   * Feeds every watcher up to `knownRevision`. Callbacks may commit (re-entering here): the guard makes the
   * outer loop pick such commits up after the current batch, so every watcher still sees revisions in order.
   */
  private pump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    try {
      let progressed = true;
      while (progressed && !this.closed) {
        progressed = false;
        for (const watcher of this.watchers) {
          if (!watcher.active || watcher.nextRevision > this.knownRevision) continue;
          try {
            this.advance(watcher);
          } catch (err) {
            // Reading the history failed (I/O error): this watcher cannot continue without a gap. The
            // commit that led here has happened regardless, so the error must not reach its caller.
            this.endWatch(watcher, err instanceof Error ? err : new Error(String(err)));
          }
          progressed = true;
        }
      }
    } finally {
      this.pumping = false;
      this.localBatches.clear();
    }
  }

  /** Delivers the next batch to a watcher from memory if it was committed here, else a page of history. */
  private advance(watcher: Watcher): void {
    const local = this.localBatches.get(watcher.nextRevision);
    if (local) {
      this.deliver(watcher, watcher.nextRevision, local);
      return;
    }
    const from = watcher.nextRevision;
    const to = Math.min(this.knownRevision, from + REPLAY_PAGE_REVISIONS - 1);
    const history = this.read(() => {
      const compactRevision = this.stmts.getState.get()!.compact_revision;
      if (from < compactRevision) return new CompactedError(from, compactRevision);
      return this.stmts.events(from, to, watcher.prefix);
    });
    if (history instanceof CompactedError) {
      this.endWatch(watcher, history);
      return;
    }
    let batch: EventRecord[] = [];
    for (let i = 0; i < history.length && watcher.active; i++) {
      const row = history[i]!;
      batch.push({
        type: row.type,
        key: row.key,
        value: row.value,
        modRevision: row.revision,
        createRevision: row.create_revision,
      });
      if (history[i + 1]?.revision !== row.revision) {
        this.deliver(watcher, row.revision, batch);
        batch = [];
      }
    }
    // Revisions in the page without matching keys are passed over as a whole.
    if (watcher.active && watcher.nextRevision <= to) watcher.nextRevision = to + 1;
  }

  private deliver(watcher: Watcher, revision: number, records: readonly EventRecord[]): void {
    watcher.nextRevision = revision + 1;
    const events: WatchEvent[] = [];
    for (const record of records) {
      if (!record.key.startsWith(watcher.prefix)) continue;
      // Parsed per watcher: each gets its own objects, so no watcher can change what another sees.
      events.push({
        type: record.type,
        key: record.key,
        value: JSON.parse(record.value) as JsonValue,
        modRevision: record.modRevision,
        createRevision: record.createRevision,
      });
    }
    if (events.length === 0) return;
    try {
      watcher.onBatch({ revision, events });
    } catch (err) {
      // A watcher that cannot take a batch would otherwise silently miss it: end it and say why.
      this.endWatch(watcher, err instanceof Error ? err : new Error(String(err)));
    }
  }

  private endWatch(watcher: Watcher, err: Error): void {
    if (!watcher.active) return;
    watcher.active = false;
    this.watchers.delete(watcher);
    this.stopPollingIfIdle();
    try {
      watcher.onError?.(err);
    } catch {
      // The watch is over either way; an error handler that throws has nobody left to tell.
    }
  }

  private startPolling(): void {
    if (this.pollTimer || this.externalPollMs <= 0) return;
    this.pollTimer = setInterval(() => {
      if (this.closed) return;
      this.observeRevision(this.currentRevision());
    }, this.externalPollMs);
    this.pollTimer.unref();
  }

  private stopPollingIfIdle(): void {
    if (this.watchers.size > 0 || !this.pollTimer) return;
    clearInterval(this.pollTimer);
    this.pollTimer = undefined;
  }

  // ------------------------------------------------------------------ space

  /** Runs `maintain` soon, once for all commits until then. */
  private scheduleMaintenance(delayMs = MAINTENANCE_DELAY_MS): void {
    if (this.maintenanceTimer || this.closed || this.path === ':memory:') return;
    this.maintenanceTimer = setTimeout(() => {
      this.maintenanceTimer = undefined;
      this.maintain();
    }, delayMs);
    this.maintenanceTimer.unref();
  }

  /**
   * One bounded piece of giving space back (see "Space" at the top of this file): a vacuum step while the
   * freelist is large, then a TRUNCATE checkpoint if pages were given back or the WAL is past its limit.
   * Never waits for another connection's lock: a busy or failing file is simply tried again later.
   */
  private maintain(): void {
    if (this.closed) return;
    this.db.pragma('busy_timeout = 0');
    try {
      const free = this.db.pragma('freelist_count', { simple: true }) as number;
      if (!this.vacuuming && free >= VACUUM_MIN_FREE_PAGES) {
        const pages = this.db.pragma('page_count', { simple: true }) as number;
        this.vacuuming =
          free * 8 >= pages &&
          (this.db.pragma('auto_vacuum', { simple: true }) as number) === AUTO_VACUUM_INCREMENTAL;
      }
      if (this.vacuuming && free > 0) {
        this.db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`);
        this.vacuumedSinceCheckpoint = true;
        this.scheduleMaintenance(0);
        return;
      }
      this.vacuuming = false;
      if (this.vacuumedSinceCheckpoint || walSize(this.path) > WAL_LIMIT_BYTES) {
        const [result] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        if (result?.busy) {
          this.scheduleMaintenance(MAINTENANCE_RETRY_MS);
          return;
        }
        this.vacuumedSinceCheckpoint = false;
      }
    } catch {
      this.scheduleMaintenance(MAINTENANCE_RETRY_MS);
    } finally {
      if (!this.closed) this.db.pragma(`busy_timeout = ${this.busyTimeoutMs}`);
    }
  }

  // ------------------------------------------------------------------ leases

  /** Revokes a lease in one transaction; false if it does not exist or was renewed after `dueAt`. */
  private revoke(lease: number, dueAt?: number): boolean {
    const outcome = this.commit((writer) => {
      const row = this.stmts.getLease.get(lease);
      if (!row) return false;
      // Another connection may have renewed the lease since it was found due.
      if (dueAt !== undefined && row.expires_at > dueAt) return false;
      writer.remove(this.stmts.keysOfLease.all(lease));
      this.stmts.deleteLease.run(lease);
      return true;
    });
    return outcome.value;
  }

  private expireDueLeases(): void {
    const now = this.now();
    if (now < this.nextLeaseExpiry) return;
    for (const { id } of this.stmts.dueLeases.all(now)) this.revoke(id, now);
    this.updateNextLeaseExpiry();
  }

  private updateNextLeaseExpiry(): void {
    this.nextLeaseExpiry = this.stmts.nextLeaseExpiry.get()?.at ?? Infinity;
    this.rearmLeaseTimer();
  }

  private rearmLeaseTimer(): void {
    clearTimeout(this.leaseTimer);
    if (this.closed) return;
    const wait = Math.min(Math.max(this.nextLeaseExpiry - this.now(), 0), LEASE_CHECK_MAX_MS);
    this.leaseTimer = setTimeout(() => {
      if (this.closed) return;
      try {
        this.expireDueLeases();
        // Picks up leases granted or renewed by other connections.
        this.updateNextLeaseExpiry();
      } catch {
        // A busy database (another writer holding the lock past the timeout): try again next round.
        this.rearmLeaseTimer();
      }
    }, wait + 1);
    this.leaseTimer.unref();
  }
}

// ------------------------------------------------------------------ helpers

const STORE_WHAT = 'the cluster store';
const AUTO_VACUUM_INCREMENTAL = 2;

/**
 * Checks the file before SQLite sees it. Resuming (`create` false), a missing or empty file is damage:
 * SQLite would take either for a new, empty database. Creating, the file is made here rather than by SQLite
 * so that it is private from the start; SQLite gives its -wal and -shm files the mode of the main file, and
 * files made by an earlier version get the right mode now.
 */
function prepareFile(path: string, create: boolean): void {
  const size = fileSize(path);
  if (!create) {
    const problem =
      size === undefined ? 'is missing' : size === 0 && !fileSize(`${path}-wal`) ? 'is empty' : '';
    if (problem) {
      throw new DamagedStateError({ kind: 'cluster-store', what: STORE_WHAT, file: path, problem });
    }
  } else if (size === undefined) {
    closeSync(openSync(path, 'a', FILE_MODE));
  }
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    try {
      if ((statSync(file).mode & 0o777) !== FILE_MODE) chmodSync(file, FILE_MODE);
    } catch {
      // Missing (the -wal and -shm come and go), or a filesystem that refuses: nothing to fix here.
    }
  }
}

function fileSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function walSize(path: string): number {
  return fileSize(`${path}-wal`) ?? 0;
}

/**
 * The smallest string greater than every string that starts with `prefix`, or undefined if there is none
 * (empty prefix, or one made only of U+10FFFF). SQLite compares TEXT as UTF-8 bytes, and UTF-8 byte order is
 * code point order, so incrementing the last code point gives the exclusive upper bound of the prefix.
 */
export function prefixEnd(prefix: string): string | undefined {
  const codePoints = Array.from(prefix, (char) => char.codePointAt(0)!);
  while (codePoints.length > 0) {
    let last = codePoints.pop()! + 1;
    if (last === 0xd800) last = 0xe000; // surrogates are not characters and cannot be encoded in UTF-8
    if (last <= 0x10ffff) {
      codePoints.push(last);
      return String.fromCodePoint(...codePoints);
    }
  }
  return undefined;
}

function toEntry(row: KeyRow): KVEntry {
  return {
    key: row.key,
    value: JSON.parse(row.value) as JsonValue,
    createRevision: row.create_revision,
    modRevision: row.mod_revision,
    version: row.version,
    lease: row.lease,
  };
}

/** A put's result; the previous entry is parsed only if somebody reads it (bulk writers never do). */
function putResult(prev: KeyRow | undefined): OpResult {
  const result = { type: 'put' } as OpResult;
  if (!prev) return result;
  let entry: KVEntry | undefined;
  return Object.defineProperty(result, 'prev', { enumerable: true, get: () => (entry ??= toEntry(prev)) });
}

function serialize(value: JsonValue): string {
  const json = JSON.stringify(value) as string | undefined;
  if (json === undefined) throw new TypeError('value is not representable as JSON');
  return json;
}

function hasWrites(ops: readonly Op[]): boolean {
  return ops.some((op) => op.type === 'put' || op.type === 'delete' || op.type === 'deletePrefix');
}

/**
 * Refuses what etcd refuses, so code tested against SQLite does not break on etcd: an empty key, and a key
 * written twice by one branch (two puts, or a put of a key the same branch deletes).
 */
function validateOps(ops: readonly Op[]): void {
  const puts = new Set<string>();
  const deletedKeys = new Set<string>();
  const deletedPrefixes: string[] = [];
  for (const op of ops) {
    switch (op.type) {
      case 'put':
        if (op.key === '') throw new RangeError('key is empty');
        if (op.lease !== undefined && !(Number.isSafeInteger(op.lease) && op.lease >= 0)) {
          throw new RangeError(`invalid lease ${op.lease}`);
        }
        if (puts.has(op.key)) throw new RangeError(`duplicate key given in txn request: ${op.key}`);
        puts.add(op.key);
        break;
      case 'delete':
      case 'get':
        if (op.key === '') throw new RangeError('key is empty');
        if (op.type === 'delete') deletedKeys.add(op.key);
        break;
      case 'deletePrefix':
        deletedPrefixes.push(op.prefix);
        break;
      case 'range':
        break;
    }
  }
  for (const key of puts) {
    if (deletedKeys.has(key) || deletedPrefixes.some((prefix) => key.startsWith(prefix))) {
      throw new RangeError(`duplicate key given in txn request: ${key}`);
    }
  }
}

function validateCompare(compare: Compare): void {
  if (compare.key === '') throw new RangeError('key is empty');
  if (compare.target !== 'value' && typeof compare.value !== 'number') {
    throw new TypeError(`compare on ${compare.target} of ${compare.key} needs a number`);
  }
}

/**
 * Whether a compare holds against a key's row. As in etcd, a missing key has version and revisions 0, and
 * any compare on the value of a missing key fails (there is no value to compare). Values compare by their
 * JSON text, byte-wise, which is what etcd does with the stored bytes; equal objects therefore need equal
 * key order.
 */
function compareHolds(compare: Compare, row: KeyRow | undefined): boolean {
  let order: number;
  switch (compare.target) {
    case 'value':
      if (!row) return false;
      order = Buffer.compare(Buffer.from(row.value), Buffer.from(serialize(compare.value)));
      break;
    case 'version':
      order = Math.sign((row?.version ?? 0) - (compare.value as number));
      break;
    case 'createRevision':
      order = Math.sign((row?.create_revision ?? 0) - (compare.value as number));
      break;
    case 'modRevision':
      order = Math.sign((row?.mod_revision ?? 0) - (compare.value as number));
      break;
  }
  return holds(compare.op, order);
}

function holds(op: CompareOp, order: number): boolean {
  switch (op) {
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '>':
      return order > 0;
  }
}
