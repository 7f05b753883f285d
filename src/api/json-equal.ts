// Equality of JSON values: what the store keeps and the cluster protocol carries. Objects are compared by
// their own enumerable properties only, so a key someone chose (`__proto__`, `toString`, `constructor`
// in labels or options) is compared as the data it is, never looked up on Object.prototype (see own.ts).
//
// Two strictnesses, one comparison:
// - `jsonEqual`: a property set to undefined is the same as a missing one (they are the same thing once
//   a value has crossed the wire or been stored). What the dispatcher and the agent compare.
// - `jsonEqualIgnoringEmpty`: besides, null, an empty array and an object with nothing set are the same as
//   a missing property. Clients send null for "unset", and the docker CLI's read-modify-write sends back
//   `{}` and `[]` where the original spec had nothing — none of that may look like a change that restarts
//   tasks. What the orchestrators compare.

import { ownValue } from './own.js';

/** Deep equality of JSON values; undefined and missing properties are alike. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  return equal(a, b, isUndefined);
}

/** Deep equality of JSON values; undefined, null, `[]` and `{}` (recursively) and missing are alike. */
export function jsonEqualIgnoringEmpty(a: unknown, b: unknown): boolean {
  return equal(a, b, isEmpty);
}

function equal(a: unknown, b: unknown, isUnset: (value: unknown) => boolean): boolean {
  if (a === b) return true;
  if (isUnset(a) || isUnset(b)) return isUnset(a) && isUnset(b);
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => equal(item, b[i], isUnset));
  }
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
  for (const key of keys) {
    if (!equal(ownValue(left, key), ownValue(right, key), isUnset)) return false;
  }
  return true;
}

const isUndefined = (value: unknown): boolean => value === undefined;

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.values(value as Record<string, unknown>).every(isEmpty);
  return false;
}
