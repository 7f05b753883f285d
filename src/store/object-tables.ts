// In-memory tables of cluster objects with the indexes the object store serves: by ID, by name (for the
// kinds whose names are unique), and tasks by service and by node. Used for the committed snapshot and, in a
// write transaction, for the overlay of pending writes. Objects are stored as given, never copied: copying
// is the caller's decision, made once, where it is needed.

import type { AnyObject, ObjectKind, ObjectKinds, Task } from '../api/types.js';
import { OBJECT_KINDS } from '../api/types.js';

/** Kinds whose `Spec.Name` is unique (case-insensitively) within the kind. */
export type NamedKind = 'service' | 'network' | 'secret' | 'config' | 'cluster';

const NAMED_KINDS: ReadonlySet<ObjectKind> = new Set<NamedKind>([
  'service',
  'network',
  'secret',
  'config',
  'cluster',
]);

export function isNamedKind(kind: ObjectKind): kind is NamedKind {
  return NAMED_KINDS.has(kind);
}

/** The index form of an object's name: lowercased `Spec.Name`, or undefined for unnamed objects and kinds. */
export function nameKey(kind: ObjectKind, object: AnyObject): string | undefined {
  if (!isNamedKind(kind)) return undefined;
  const name = (object as ObjectKinds[NamedKind]).Spec?.Name;
  return name ? name.toLowerCase() : undefined;
}

const EMPTY: ReadonlyMap<string, Task> = new Map();

export class ObjectTables {
  private readonly objects = new Map<ObjectKind, Map<string, AnyObject>>(
    OBJECT_KINDS.map((kind) => [kind, new Map()]),
  );
  /** Per named kind: lowercased name → ID. */
  private readonly names = new Map<ObjectKind, Map<string, string>>(
    [...NAMED_KINDS].map((kind) => [kind, new Map()]),
  );
  private readonly tasksByService = new Map<string, Map<string, Task>>();
  private readonly tasksByNode = new Map<string, Map<string, Task>>();

  get<K extends ObjectKind>(kind: K, id: string): ObjectKinds[K] | undefined {
    return this.table(kind).get(id) as ObjectKinds[K] | undefined;
  }

  has(kind: ObjectKind, id: string): boolean {
    return this.table(kind).has(id);
  }

  values<K extends ObjectKind>(kind: K): IterableIterator<ObjectKinds[K]> {
    return this.table(kind).values() as IterableIterator<ObjectKinds[K]>;
  }

  size(kind: ObjectKind): number {
    return this.table(kind).size;
  }

  /** The ID of the object of `kind` holding the (already lowercased) name, if any. */
  idByName(kind: ObjectKind, lowercaseName: string): string | undefined {
    return this.names.get(kind)?.get(lowercaseName);
  }

  tasksOfService(serviceId: string): ReadonlyMap<string, Task> {
    return this.tasksByService.get(serviceId) ?? EMPTY;
  }

  tasksOfNode(nodeId: string): ReadonlyMap<string, Task> {
    return this.tasksByNode.get(nodeId) ?? EMPTY;
  }

  /** Inserts or replaces an object, keeping every index right; returns the object it replaced. */
  set<K extends ObjectKind>(kind: K, object: ObjectKinds[K]): ObjectKinds[K] | undefined {
    const old = this.remove(kind, object.ID);
    this.table(kind).set(object.ID, object);
    const name = nameKey(kind, object);
    if (name !== undefined) this.names.get(kind)!.set(name, object.ID);
    if (kind === 'task') {
      const task = object as Task;
      addToIndex(this.tasksByService, task.ServiceID, task);
      addToIndex(this.tasksByNode, task.NodeID, task);
    }
    return old;
  }

  /** Removes an object and its index entries; returns it. */
  remove<K extends ObjectKind>(kind: K, id: string): ObjectKinds[K] | undefined {
    const table = this.table(kind);
    const old = table.get(id) as ObjectKinds[K] | undefined;
    if (!old) return undefined;
    table.delete(id);
    const name = nameKey(kind, old);
    const names = this.names.get(kind);
    // Only if the entry is this object's: with duplicate names (written around the store) it may not be.
    if (name !== undefined && names?.get(name) === id) names.delete(name);
    if (kind === 'task') {
      const task = old as Task;
      removeFromIndex(this.tasksByService, task.ServiceID, id);
      removeFromIndex(this.tasksByNode, task.NodeID, id);
    }
    return old;
  }

  private table(kind: ObjectKind): Map<string, AnyObject> {
    const table = this.objects.get(kind);
    if (!table) throw new RangeError(`unknown object kind ${String(kind)}`);
    return table;
  }
}

function addToIndex(index: Map<string, Map<string, Task>>, key: string | undefined, task: Task): void {
  if (!key) return;
  let tasks = index.get(key);
  if (!tasks) index.set(key, (tasks = new Map()));
  tasks.set(task.ID, task);
}

function removeFromIndex(index: Map<string, Map<string, Task>>, key: string | undefined, id: string): void {
  if (!key) return;
  const tasks = index.get(key);
  if (!tasks) return;
  tasks.delete(id);
  // Empty buckets are dropped so that the index does not keep every service and node that ever existed.
  if (tasks.size === 0) index.delete(key);
}
