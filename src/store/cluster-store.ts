// The typed object store (contract in objects.ts) over any KV backend.
//
// Keys. Each object is one key, `/objects/<kind>/<id>`, holding the object as JSON. Objects of the kinds
// with unique names also hold a reservation key, `/names/<kind>/<lowercased name>` → ID, written in the same
// transaction. The in-memory copy checks name uniqueness as well, but it can be behind the backend when
// several writers share it (two processes on one SQLite file, managers on etcd); the reservation key makes
// the backend itself refuse a second holder of a name, as swarmkit's single raft writer does.
//
// The in-memory copy. On open, every object is read with one `range`, then a watch from the next revision
// keeps the copy current, whoever writes. The copy is only ever changed by that watch, so it moves from one
// committed revision to the next in order, including for this store's own commits: `update` commits, then
// waits until the watch has delivered its revision. `Version.Index` of an object is always the backend's
// modRevision of its key, never what the stored JSON says, so all objects of one transaction share it.
//
// Sharing. `view`, `list` and events hand out the cached objects themselves: reads cost no copying, and
// callers must clone (`structuredClone`) before changing anything. Writes copy instead: `create` and `update`
// store a deep copy, so a caller that keeps changing its object after the call cannot reach the cache.
//
// Secrets at rest. With a `Sealer`, `secret.Spec.Data`, `cluster.RootCA.CAKey`, `cluster.UnlockKey`, the
// cluster's join tokens (`cluster.JoinTokens.Worker` and `.Manager`, which let anyone join) and registry credentials
// (`ContainerSpec.PullOptions.RegistryAuth` of a service's spec and previous spec, and of a task's spec,
// which copies it) are sealed before they are written and opened when read, so the backend only ever holds
// ciphertext (`{"$sealed": "…"}` in place of the string) and the in-memory copy holds plaintext. A field
// stored in clear (written before it was sealed, or without a sealer) is read as it is, and sealed at its
// next write.
//
// Falling behind. If the watch reports that the history it needs has been compacted (a copy that fell too
// far behind a busy backend), the store reloads everything with a fresh `range` and emits the difference as
// one batch. Any other watch failure leaves the copy stale: the store then refuses further updates.
//
// Handlers. An exception thrown by a watch handler is a bug in that handler: it is reported through
// `onHandlerError` (console.error by default) and the store and the other handlers carry on.

import {
  alreadyExists,
  invalidArgument,
  NO_LEADER,
  notFound,
  outOfSequence,
  unavailable,
} from '../api/errors.js';
import { nowTimestamp } from '../api/time.js';
import type {
  AnyObject,
  Cluster,
  ContainerSpec,
  ObjectKind,
  ObjectKinds,
  Secret,
  Service,
  ServiceSpec,
  Task,
} from '../api/types.js';
import { OBJECT_KINDS } from '../api/types.js';
import {
  CompactedError,
  StoreUnavailableError,
  type Compare,
  type JsonValue,
  type KV,
  type KVEntry,
  type Op,
  type TxnResponse,
  type Watch,
  type WatchBatch,
} from './kv.js';
import { isNamedKind, nameKey, ObjectTables } from './object-tables.js';
import type { ObjectEvent, ObjectEventBatch, ObjectStore, ReadTx, WriteTx } from './objects.js';
import type { Sealer } from './sealer.js';

export const OBJECT_PREFIX = '/objects/';
export const NAME_PREFIX = '/names/';

export function objectKey(kind: ObjectKind, id: string): string {
  return `${OBJECT_PREFIX}${kind}/${id}`;
}

/** The reservation key of a (lowercased) name; encoded so that any name is one path segment. */
export function nameReservationKey(kind: ObjectKind, lowercaseName: string): string {
  return `${NAME_PREFIX}${kind}/${encodeURIComponent(lowercaseName)}`;
}

const KINDS: ReadonlySet<string> = new Set(OBJECT_KINDS);

function parseObjectKey(key: string): { kind: ObjectKind; id: string } | undefined {
  if (!key.startsWith(OBJECT_PREFIX)) return undefined;
  const slash = key.indexOf('/', OBJECT_PREFIX.length);
  if (slash < 0) return undefined;
  const kind = key.slice(OBJECT_PREFIX.length, slash);
  const id = key.slice(slash + 1);
  // Kinds this version does not know (written by a newer one) are left alone rather than misread.
  if (!KINDS.has(kind) || id === '') return undefined;
  return { kind: kind as ObjectKind, id };
}

/**
 * What keeps a writer that is no longer entitled to write (a deposed leader) from writing: a compare every
 * transaction carries (see election.ts). Without one, the store writes whenever the compares on the objects
 * hold, which is right for a store with one writer (the embedded store, whose data dir is locked).
 */
export interface WriteFence {
  /**
   * The key the writer holds and its createRevision, which must still be the same when the write commits;
   * throws the error to give the caller when this store must not write now.
   */
  current(): { key: string; createRevision: number };
  /** The error for a write the backend refused because the fence's compare failed. */
  refused(): Error;
}

export interface ClusterStoreOptions {
  /** Refuses writes once this store's writer has lost the right to write. */
  fence?: WriteFence;
  /**
   * Seals secret data, the CA key, the join tokens and registry credentials at rest. Without it they are
   * stored as given.
   */
  sealer?: Sealer;
  /** Told about an exception thrown by a watch handler (default: console.error). */
  onHandlerError?: (err: unknown) => void;
}

/** The stored form of a sealed field. An object can never be mistaken for the plaintext string. */
interface SealedField {
  $sealed: string;
}

function isSealed(value: unknown): value is SealedField {
  return typeof value === 'object' && value !== null && typeof (value as SealedField).$sealed === 'string';
}

interface Waiter {
  revision: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * The cluster's objects in a KV backend, with an in-memory copy for reads. See the top of this file.
 * Objects returned by reads are the cached objects: never mutate them, clone first.
 */
export class ClusterStore implements ObjectStore {
  private committed = new ObjectTables();
  private appliedRevision = 0;
  private readonly handlers = new Set<(batch: ObjectEventBatch) => void>();
  private waiters: Waiter[] = [];
  private watchHandle: Watch | undefined;
  /** Serializes `update` calls: each runs against the copy as left by the previous commit. */
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | undefined;
  private resyncing = false;
  private closed = false;

  private constructor(
    private readonly kv: KV,
    private readonly sealer: Sealer | undefined,
    private readonly onHandlerError: (err: unknown) => void,
    private readonly fence: WriteFence | undefined,
  ) {}

  /** Loads every object from `kv` and starts following it. The caller keeps ownership of `kv`. */
  static async open(kv: KV, options: ClusterStoreOptions = {}): Promise<ClusterStore> {
    const store = new ClusterStore(
      kv,
      options.sealer,
      options.onHandlerError ?? ((err) => console.error('cluster store: a watch handler failed:', err)),
      options.fence,
    );
    const { tables, revision } = await store.load();
    store.committed = tables;
    store.appliedRevision = revision;
    store.follow(revision + 1);
    return store;
  }

  get revision(): number {
    return this.appliedRevision;
  }

  view<T>(fn: (tx: ReadTx) => T): T {
    return fn(new SnapshotReader(this.committed));
  }

  update<T>(fn: (tx: WriteTx) => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('cluster store is closed'));
    const result = this.queue.then(() => this.runUpdate(fn));
    this.queue = result.catch(() => undefined);
    return result;
  }

  watch(handler: (batch: ObjectEventBatch) => void): () => void {
    this.handlers.add(handler);
    return () => {
      this.handlers.delete(handler);
    };
  }

  /** Lets updates already accepted finish, then stops following the backend. Does not close the KV. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    this.watchHandle?.cancel();
    this.watchHandle = undefined;
    this.handlers.clear();
    this.rejectWaiters(new Error('cluster store is closed'));
  }

  // ------------------------------------------------------------------ writing

  private async runUpdate<T>(fn: (tx: WriteTx) => T): Promise<T> {
    if (this.failure) throw this.failure;
    const tx = new StoreTransaction(this.committed);
    let result: T;
    try {
      result = fn(tx);
    } finally {
      tx.finish();
    }
    if (isThenable(result)) {
      throw new TypeError('store update callbacks must be synchronous: they run against one snapshot');
    }
    const changes = tx.changes();
    if (changes.length === 0) return result;

    const { compares, success, claims } = this.plan(changes);
    const fence = this.fence?.current();
    const response = await this.kv
      .txn({
        compares: fence
          ? [{ key: fence.key, target: 'createRevision', op: '=', value: fence.createRevision }, ...compares]
          : compares,
        success,
        // Only read on failure, to tell a name taken by another writer from a stale version (and, with a
        // fence, a write refused because this writer was deposed: its key is read last).
        failure: [
          ...[...claims.keys()].map((key): Op => ({ type: 'get', key })),
          ...(fence ? [{ type: 'get', key: fence.key } as const] : []),
        ],
      })
      .catch((err: unknown) => {
        // The backend without quorum or not answering: to the user, as Docker says it, the swarm has no
        // leader. (The write may still have been applied; the watch will tell the copy.)
        if (err instanceof StoreUnavailableError) throw unavailable(NO_LEADER, { cause: err });
        throw err;
      });
    if (!response.succeeded) {
      if (fence) {
        const held = response.results.at(-1);
        const entry = held?.type === 'get' ? held.entry : undefined;
        if ((entry?.createRevision ?? 0) !== fence.createRevision) throw this.fence!.refused();
      }
      throw conflictError(response, claims);
    }
    await this.waitFor(response.revision);
    return result;
  }

  /**
   * The backend transaction for a set of changes: compare-and-swap on every written object (its modRevision,
   * or absence for a new one) and on every newly claimed name (absence), plus the puts and deletes.
   */
  private plan(changes: readonly Change[]): {
    compares: Compare[];
    success: Op[];
    claims: Map<string, string>;
  } {
    const compares: Compare[] = [];
    const success: Op[] = [];
    const claims = new Map<string, string>();
    const releases = new Set<string>();
    for (const { kind, id, base, next } of changes) {
      const key = objectKey(kind, id);
      compares.push(
        base
          ? { key, target: 'modRevision', op: '=', value: base.Version.Index }
          : { key, target: 'createRevision', op: '=', value: 0 },
      );
      success.push(next ? { type: 'put', key, value: this.encode(kind, next) } : { type: 'delete', key });
      const oldName = base && nameKey(kind, base);
      const newName = next && nameKey(kind, next);
      if (oldName === newName) continue;
      if (oldName !== undefined) releases.add(nameReservationKey(kind, oldName));
      if (newName !== undefined) claims.set(nameReservationKey(kind, newName), id);
    }
    for (const [key, id] of claims) {
      // A name handed from one object to another within the transaction is simply overwritten (the backend
      // refuses a put and a delete of one key in a transaction); the releasing object's own compare guards it.
      if (!releases.delete(key)) compares.push({ key, target: 'createRevision', op: '=', value: 0 });
      success.push({ type: 'put', key, value: id });
    }
    for (const key of releases) success.push({ type: 'delete', key });
    return { compares, success, claims };
  }

  private encode(kind: ObjectKind, object: AnyObject): JsonValue {
    const sealer = this.sealer;
    if (sealer && kind === 'secret') {
      const secret = object as Secret;
      if (typeof secret.Spec?.Data === 'string') {
        return toJson({ ...secret, Spec: { ...secret.Spec, Data: seal(sealer, secret.Spec.Data) } });
      }
    }
    if (sealer && kind === 'cluster') {
      const cluster = object as Cluster;
      const { RootCA: rootCA, JoinTokens: tokens } = cluster;
      const sealIfText = (field: unknown) => (typeof field === 'string' ? seal(sealer, field) : field);
      return toJson({
        ...cluster,
        ...(rootCA && { RootCA: { ...rootCA, CAKey: sealIfText(rootCA.CAKey) } }),
        ...(cluster.UnlockKey !== undefined && { UnlockKey: sealIfText(cluster.UnlockKey) }),
        ...(tokens && {
          JoinTokens: { ...tokens, Worker: sealIfText(tokens.Worker), Manager: sealIfText(tokens.Manager) },
        }),
      });
    }
    if (sealer && kind === 'service') {
      const service = object as Service;
      const seal = (spec: ServiceSpec) => mapServiceAuth(spec, (auth) => sealText(sealer, auth));
      return toJson({
        ...service,
        Spec: seal(service.Spec),
        ...(service.PreviousSpec && { PreviousSpec: seal(service.PreviousSpec) }),
      });
    }
    if (sealer && kind === 'task') {
      const task = object as Task;
      const container = mapRegistryAuth(task.Spec?.ContainerSpec, (auth) => sealText(sealer, auth));
      if (container !== task.Spec?.ContainerSpec) {
        return toJson({ ...task, Spec: { ...task.Spec, ContainerSpec: container } });
      }
    }
    return toJson(object);
  }

  private waitFor(revision: number): Promise<void> {
    if (this.appliedRevision >= revision) return Promise.resolve();
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ revision, resolve, reject }));
  }

  // ------------------------------------------------------------------ following the backend

  private async load(): Promise<{ tables: ObjectTables; revision: number }> {
    const { entries, revision } = await this.kv.range(OBJECT_PREFIX);
    const tables = new ObjectTables();
    for (const entry of entries) {
      const decoded = this.decodeEntry(entry);
      if (decoded) tables.set(decoded.kind, decoded.object);
    }
    return { tables, revision };
  }

  private follow(fromRevision: number): void {
    this.watchHandle = this.kv.watch(OBJECT_PREFIX, (batch) => this.apply(batch), {
      fromRevision,
      onError: (err) => this.onWatchError(err),
    });
  }

  /** Applies one committed transaction to the copy. Decodes everything first, so a bad value changes nothing. */
  private apply(batch: WatchBatch): void {
    const decoded = batch.events.map(
      (event): { kind: ObjectKind; id: string; object?: AnyObject } | undefined =>
        event.type === 'put' ? this.decodeEntry(event) : parseObjectKey(event.key),
    );
    const events: ObjectEvent[] = [];
    for (const item of decoded) {
      if (!item) continue;
      if (item.object) {
        const old = this.committed.set(item.kind, item.object);
        events.push(
          old
            ? makeEvent('update', item.kind, item.object, old)
            : makeEvent('create', item.kind, item.object),
        );
      } else {
        const old = this.committed.remove(item.kind, item.id);
        if (old) events.push(makeEvent('delete', item.kind, old));
      }
    }
    this.appliedRevision = batch.revision;
    if (events.length > 0) this.notify({ revision: batch.revision, events });
    this.resolveWaiters();
  }

  private decodeEntry(
    entry: Pick<KVEntry, 'key' | 'value' | 'modRevision'>,
  ): { kind: ObjectKind; id: string; object: AnyObject } | undefined {
    const ref = parseObjectKey(entry.key);
    if (!ref) return undefined;
    const { value } = entry;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`${entry.key}: stored value is not an object`);
    }
    // A shallow copy: the identity fields come from the key and its revision, whatever the JSON says.
    const object = { ...value, ID: ref.id, Version: { Index: entry.modRevision } } as unknown as AnyObject;
    if (ref.kind === 'secret') {
      const secret = object as Secret;
      if (isSealed(secret.Spec?.Data))
        secret.Spec = { ...secret.Spec, Data: this.unseal(entry.key, secret.Spec.Data) };
    } else if (ref.kind === 'service') {
      const service = object as Service;
      const open = (spec: ServiceSpec) => mapServiceAuth(spec, (auth) => this.openText(entry.key, auth));
      if (service.Spec) service.Spec = open(service.Spec);
      if (service.PreviousSpec) service.PreviousSpec = open(service.PreviousSpec);
    } else if (ref.kind === 'task') {
      const task = object as Task;
      const container = mapRegistryAuth(task.Spec?.ContainerSpec, (auth) => this.openText(entry.key, auth));
      if (container !== task.Spec?.ContainerSpec) task.Spec = { ...task.Spec, ContainerSpec: container };
    } else if (ref.kind === 'cluster') {
      const cluster = object as Cluster;
      if (cluster.RootCA && isSealed(cluster.RootCA.CAKey)) {
        cluster.RootCA = { ...cluster.RootCA, CAKey: this.unseal(entry.key, cluster.RootCA.CAKey) };
      }
      if (isSealed(cluster.UnlockKey)) cluster.UnlockKey = this.unseal(entry.key, cluster.UnlockKey);
      const tokens = cluster.JoinTokens;
      if (tokens && (isSealed(tokens.Worker) || isSealed(tokens.Manager))) {
        const open = (field: string) => (isSealed(field) ? this.unseal(entry.key, field) : field);
        cluster.JoinTokens = { ...tokens, Worker: open(tokens.Worker), Manager: open(tokens.Manager) };
      }
    }
    return { ...ref, object };
  }

  /** A field that may be sealed (or stored in clear by an older version), as plaintext. */
  private openText(key: string, field: unknown): unknown {
    return isSealed(field) ? this.unseal(key, field) : field;
  }

  private unseal(key: string, field: SealedField): string {
    if (!this.sealer)
      throw new Error(`${key}: the store holds sealed data, and no sealer was given to read it`);
    return this.sealer.open(field.$sealed).toString('utf8');
  }

  private onWatchError(err: Error): void {
    if (this.closed) return;
    this.watchHandle = undefined;
    if (err instanceof CompactedError && !this.resyncing) {
      void this.resync();
      return;
    }
    this.fail(err);
  }

  /** Reloads the whole copy after falling behind the backend's history; emits the difference as one batch. */
  private async resync(): Promise<void> {
    this.resyncing = true;
    try {
      const { tables, revision } = await this.load();
      if (this.closed) return;
      const events = diff(this.committed, tables);
      this.committed = tables;
      this.appliedRevision = revision;
      this.follow(revision + 1);
      if (events.length > 0) this.notify({ revision, events });
      this.resolveWaiters();
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.resyncing = false;
    }
  }

  private fail(err: Error): void {
    this.failure = new Error(`cluster store stopped following the backend: ${err.message}`, { cause: err });
    this.watchHandle?.cancel();
    this.watchHandle = undefined;
    this.rejectWaiters(this.failure);
  }

  private notify(batch: ObjectEventBatch): void {
    for (const handler of [...this.handlers]) {
      try {
        handler(batch);
      } catch (err) {
        // A handler that throws has a bug: say so, but an uncaught exception would take the whole daemon
        // down for one handler's mistake. The store and the other handlers carry on.
        try {
          this.onHandlerError(err);
        } catch {
          // A reporter that throws has nobody left to tell.
        }
      }
    }
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const waiting: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.revision <= this.appliedRevision) waiter.resolve();
      else waiting.push(waiter);
    }
    this.waiters = waiting;
  }

  private rejectWaiters(err: Error): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(err);
  }
}

// ------------------------------------------------------------------ reading

function requireNamedKind(kind: ObjectKind): void {
  if (!isNamedKind(kind)) throw new RangeError(`objects of kind ${kind} have no unique name to look up`);
}

/** Reads of the committed copy. */
class SnapshotReader implements ReadTx {
  constructor(private readonly tables: ObjectTables) {}

  get<K extends ObjectKind>(kind: K, id: string): ObjectKinds[K] | undefined {
    return this.tables.get(kind, id);
  }

  list<K extends ObjectKind>(kind: K): ObjectKinds[K][] {
    return [...this.tables.values(kind)];
  }

  getByName<K extends ObjectKind>(kind: K, name: string): ObjectKinds[K] | undefined {
    requireNamedKind(kind);
    const id = this.tables.idByName(kind, name.toLowerCase());
    return id === undefined ? undefined : this.tables.get(kind, id);
  }

  tasksByService(serviceId: string): Task[] {
    return [...this.tables.tasksOfService(serviceId).values()];
  }

  tasksByNode(nodeId: string): Task[] {
    return [...this.tables.tasksOfNode(nodeId).values()];
  }
}

/** One object written by a transaction: its committed state (`base`) and the state to commit (`next`). */
interface Change {
  kind: ObjectKind;
  id: string;
  base: AnyObject | undefined;
  next: AnyObject | undefined;
}

/**
 * A write transaction: the committed copy with this transaction's pending writes laid over it. Reads look
 * at the overlay first, so a transaction sees its own writes; the committed copy is not touched until the
 * backend has accepted the commit and the watch delivers it.
 */
class StoreTransaction implements WriteTx {
  private readonly pending = new ObjectTables();
  /** Per kind: ID → the committed object when this transaction first wrote it (undefined: it did not exist). */
  private readonly touched = new Map<ObjectKind, Map<string, AnyObject | undefined>>();
  private finished = false;

  constructor(private readonly base: ObjectTables) {}

  get<K extends ObjectKind>(kind: K, id: string): ObjectKinds[K] | undefined {
    return this.touched.get(kind)?.has(id) ? this.pending.get(kind, id) : this.base.get(kind, id);
  }

  list<K extends ObjectKind>(kind: K): ObjectKinds[K][] {
    const touched = this.touched.get(kind);
    if (!touched) return [...this.base.values(kind)];
    const objects: ObjectKinds[K][] = [];
    for (const object of this.base.values(kind)) if (!touched.has(object.ID)) objects.push(object);
    for (const object of this.pending.values(kind)) objects.push(object);
    return objects;
  }

  getByName<K extends ObjectKind>(kind: K, name: string): ObjectKinds[K] | undefined {
    requireNamedKind(kind);
    const lowercaseName = name.toLowerCase();
    const pendingId = this.pending.idByName(kind, lowercaseName);
    if (pendingId !== undefined) return this.pending.get(kind, pendingId);
    const id = this.base.idByName(kind, lowercaseName);
    // A committed holder that this transaction rewrote no longer has the name (else it would be pending).
    if (id === undefined || this.touched.get(kind)?.has(id)) return undefined;
    return this.base.get(kind, id);
  }

  tasksByService(serviceId: string): Task[] {
    return this.tasksOf(this.base.tasksOfService(serviceId), this.pending.tasksOfService(serviceId));
  }

  tasksByNode(nodeId: string): Task[] {
    return this.tasksOf(this.base.tasksOfNode(nodeId), this.pending.tasksOfNode(nodeId));
  }

  create<K extends ObjectKind>(kind: K, object: ObjectKinds[K]): void {
    this.assertOpen();
    if (!object.ID) throw invalidArgument('object ID is required');
    if (this.get(kind, object.ID)) throw alreadyExists('object already exists');
    const copy = structuredClone(object);
    const now = nowTimestamp();
    copy.Version = { Index: 0 };
    copy.CreatedAt = now;
    copy.UpdatedAt = now;
    this.checkName(kind, copy);
    this.write(kind, copy);
  }

  update<K extends ObjectKind>(kind: K, object: ObjectKinds[K]): void {
    this.assertOpen();
    const current = this.get(kind, object.ID);
    if (!current) throw notFound(`${kind} ${object.ID} not found`);
    if (object.Version?.Index !== current.Version.Index) throw outOfSequence();
    const copy = structuredClone(object);
    // The version stays the committed one until the commit assigns a new one, so that a transaction can
    // update the same object twice; the creation time is not the caller's to change.
    copy.Version = { Index: current.Version.Index };
    copy.CreatedAt = current.CreatedAt;
    copy.UpdatedAt = nowTimestamp();
    this.checkName(kind, copy);
    this.write(kind, copy);
  }

  delete(kind: ObjectKind, id: string): void {
    this.assertOpen();
    if (!this.get(kind, id)) throw notFound(`${kind} ${id} not found`);
    this.touch(kind, id);
    this.pending.remove(kind, id);
  }

  /** Called when the transaction's callback returns: later use of the transaction is a bug. */
  finish(): void {
    this.finished = true;
  }

  changes(): Change[] {
    const changes: Change[] = [];
    for (const [kind, touched] of this.touched) {
      for (const [id, base] of touched) {
        const next = this.pending.get(kind, id);
        // Created and deleted again within the transaction: nothing to write.
        if (base || next) changes.push({ kind, id, base, next });
      }
    }
    return changes;
  }

  private write<K extends ObjectKind>(kind: K, object: ObjectKinds[K]): void {
    this.touch(kind, object.ID);
    this.pending.set(kind, object);
  }

  private touch(kind: ObjectKind, id: string): void {
    let touched = this.touched.get(kind);
    if (!touched) this.touched.set(kind, (touched = new Map()));
    if (!touched.has(id)) touched.set(id, this.base.get(kind, id));
  }

  private checkName(kind: ObjectKind, object: AnyObject): void {
    const name = nameKey(kind, object);
    if (name === undefined) return;
    const holder = this.getByName(kind, name);
    if (holder && holder.ID !== object.ID) throw alreadyExists('name conflicts with an existing object');
  }

  private tasksOf(committed: ReadonlyMap<string, Task>, pending: ReadonlyMap<string, Task>): Task[] {
    const touched = this.touched.get('task');
    if (!touched) return [...committed.values()];
    const tasks: Task[] = [];
    for (const task of committed.values()) if (!touched.has(task.ID)) tasks.push(task);
    for (const task of pending.values()) tasks.push(task);
    return tasks;
  }

  private assertOpen(): void {
    if (this.finished) throw new Error('store transaction used after its callback returned');
  }
}

// ------------------------------------------------------------------ helpers

function makeEvent(action: 'create' | 'delete', kind: ObjectKind, object: AnyObject): ObjectEvent;
function makeEvent(action: 'update', kind: ObjectKind, object: AnyObject, old: AnyObject): ObjectEvent;
function makeEvent(
  action: ObjectEvent['action'],
  kind: ObjectKind,
  object: AnyObject,
  old?: AnyObject,
): ObjectEvent {
  // The kind and the objects always match (they come from one key), which the union cannot see.
  return (old ? { action, kind, object, old } : { action, kind, object }) as ObjectEvent;
}

/** The events that turn `before` into `after`, for a reload; unchanged objects have an unchanged version. */
function diff(before: ObjectTables, after: ObjectTables): ObjectEvent[] {
  const events: ObjectEvent[] = [];
  for (const kind of OBJECT_KINDS) {
    for (const object of after.values(kind)) {
      const old = before.get(kind, object.ID);
      if (!old) events.push(makeEvent('create', kind, object));
      else if (old.Version.Index !== object.Version.Index)
        events.push(makeEvent('update', kind, object, old));
    }
    for (const old of before.values(kind)) {
      if (!after.has(kind, old.ID)) events.push(makeEvent('delete', kind, old));
    }
  }
  return events;
}

/** Why a commit's compares failed: a claimed name now held by another object, else a stale version. */
function conflictError(response: TxnResponse, claims: ReadonlyMap<string, string>): Error {
  let index = 0;
  for (const id of claims.values()) {
    const result = response.results[index++];
    if (result?.type === 'get' && result.entry && result.entry.value !== id) {
      return alreadyExists('name conflicts with an existing object');
    }
  }
  return outOfSequence();
}

function seal(sealer: Sealer, plaintext: string): SealedField {
  return { $sealed: sealer.seal(Buffer.from(plaintext, 'utf8')) };
}

/** Seals a field that is plaintext; anything else (already sealed, not a string) stays as it is. */
function sealText(sealer: Sealer, field: unknown): unknown {
  return typeof field === 'string' ? seal(sealer, field) : field;
}

/**
 * The container spec with `PullOptions.RegistryAuth` replaced by `transform(it)`, copied along the path so
 * that the original (a cached object) is untouched; the same object when it holds no credentials.
 */
function mapRegistryAuth(
  container: ContainerSpec | undefined,
  transform: (auth: unknown) => unknown,
): ContainerSpec | undefined {
  const auth: unknown = container?.PullOptions?.RegistryAuth;
  if (auth === undefined || auth === null) return container;
  return {
    ...container,
    PullOptions: { ...container!.PullOptions, RegistryAuth: transform(auth) as string },
  };
}

/** A service spec with its container spec's registry credentials transformed (see mapRegistryAuth). */
function mapServiceAuth(spec: ServiceSpec, transform: (auth: unknown) => unknown): ServiceSpec {
  const template = spec.TaskTemplate;
  const container = mapRegistryAuth(template?.ContainerSpec, transform);
  return container === template?.ContainerSpec
    ? spec
    : { ...spec, TaskTemplate: { ...template, ContainerSpec: container } };
}

/** Objects are JSON shapes by construction (api/types.ts); this is where the type system is told so. */
function toJson(object: object): JsonValue {
  return object as unknown as JsonValue;
}

function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
