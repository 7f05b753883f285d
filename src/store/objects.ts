// The typed object store: the cluster's objects (see api/types.ts) kept in a KV backend, with an
// in-memory copy on every manager for cheap reads, indexes, optimistic concurrency and change events.
//
// Reads are synchronous against the in-memory copy, so a control loop sees one consistent snapshot for
// the length of a synchronous callback. Writes are transactions: the callback runs against the snapshot
// plus its own pending writes, then the batch is committed to the backend with compare-and-swap on every
// written key. All objects written by one transaction get the same `Version.Index` (the backend revision
// of the commit), as in swarmkit.

import type { ObjectKind, ObjectKinds, Task } from '../api/types.js';

export interface ReadTx {
  get<K extends ObjectKind>(kind: K, id: string): ObjectKinds[K] | undefined;
  list<K extends ObjectKind>(kind: K): ObjectKinds[K][];
  /** Case-insensitive lookup by `Spec.Name` (services, networks, secrets, configs, cluster). */
  getByName<K extends ObjectKind>(kind: K, name: string): ObjectKinds[K] | undefined;
  tasksByService(serviceId: string): Task[];
  tasksByNode(nodeId: string): Task[];
}

export interface WriteTx extends ReadTx {
  /**
   * Adds a new object. `ID` must be set; `CreatedAt`/`UpdatedAt` are stamped. Fails with AlreadyExists
   * if the ID exists, or if a named kind's name is taken (case-insensitive).
   */
  create<K extends ObjectKind>(kind: K, object: ObjectKinds[K]): void;
  /**
   * Replaces an object. `object.Version.Index` must equal the stored version, else `update out of
   * sequence`. `UpdatedAt` is stamped. Control loops avoid conflicts by re-reading the object in the
   * same transaction.
   */
  update<K extends ObjectKind>(kind: K, object: ObjectKinds[K]): void;
  /** Removes an object; NotFound if it does not exist. */
  delete(kind: ObjectKind, id: string): void;
}

export type ObjectEvent = {
  [K in ObjectKind]:
    | { action: 'create'; kind: K; object: ObjectKinds[K] }
    | { action: 'update'; kind: K; object: ObjectKinds[K]; old: ObjectKinds[K] }
    | { action: 'delete'; kind: K; object: ObjectKinds[K] };
}[ObjectKind];

/** The events of one committed transaction. */
export interface ObjectEventBatch {
  revision: number;
  events: ObjectEvent[];
}

export interface ObjectStore {
  /** Runs `fn` against the current snapshot. Returned objects must not be mutated: clone before changing. */
  view<T>(fn: (tx: ReadTx) => T): T;
  /**
   * Runs `fn` in a write transaction and commits what it wrote. Transactions are serialized. If `fn`
   * throws, nothing is written. Resolves after the in-memory copy reflects the commit.
   */
  update<T>(fn: (tx: WriteTx) => T): Promise<T>;
  /** Calls `handler` after every commit (from any writer), in revision order. Returns an unsubscribe. */
  watch(handler: (batch: ObjectEventBatch) => void): () => void;
  /** Revision of the newest commit reflected in the in-memory copy. */
  readonly revision: number;
  close(): Promise<void>;
}
