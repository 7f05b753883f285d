// Maps keyed by what users and peers choose (labels, env, options, filters…) are plain JSON objects, so
// a key such as `toString`, `constructor` or `__proto__` must never reach Object.prototype: reading
// `labels[key]` would find a function, `key in labels` would say yes, and `labels[key] = v` with
// `__proto__` would change the object's prototype instead of adding a label. Every lookup or assignment
// by such a key goes through these helpers, which see own properties only.

/** A string-keyed map as JSON carries it (labels, env, options). */
export type OwnRecord<T> = Record<string, T>;

/** Whether `key` is an own property of `record` (false for a missing record). */
export function hasOwnKey(record: object | null | undefined, key: string): boolean {
  return record !== null && record !== undefined && Object.hasOwn(record, key);
}

/** The value of the own property `key`, or undefined: never what the prototype has under that name. */
export function ownValue<T>(record: Readonly<OwnRecord<T>> | null | undefined, key: string): T | undefined {
  return hasOwnKey(record, key) ? record![key] : undefined;
}

/**
 * The own property `key` if it is a string, else undefined. For maps read from the store or a peer,
 * whose values are strings by contract but were written by someone else.
 */
export function ownString(record: object | null | undefined, key: string): string | undefined {
  const value = hasOwnKey(record, key) ? (record as Record<string, unknown>)[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Sets the own property `key`, `__proto__` included (a plain assignment would set the prototype). */
export function setOwn<T>(record: OwnRecord<T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
}

/** A plain object with these entries as own properties, later keys winning (as `Object.fromEntries`). */
export function ownRecord<T>(entries: Iterable<readonly [string, T]>): OwnRecord<T> {
  const record: OwnRecord<T> = {};
  for (const [key, value] of entries) setOwn(record, key, value);
  return record;
}

/** `Object.assign(target, ...sources)` for maps: copies own entries without running setters. */
export function assignOwn<T>(
  target: OwnRecord<T>,
  ...sources: (Readonly<OwnRecord<T>> | undefined)[]
): OwnRecord<T> {
  for (const source of sources) {
    if (source) for (const [key, value] of Object.entries(source)) setOwn(target, key, value);
  }
  return target;
}
