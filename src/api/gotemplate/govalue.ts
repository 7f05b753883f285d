// How JavaScript values look to the Go-flavoured formatting code (templates, fmt, json).
//
// Go's text/template and fmt work on typed values; here the data is plain JavaScript, so every value
// is classified into the Go kind it most plausibly stands for:
//
// | JavaScript                                   | Go kind   | Go type name shown in messages      |
// |----------------------------------------------|-----------|-------------------------------------|
// | `undefined`, `null`                          | invalid   | `<nil>` (a nil interface)           |
// | boolean                                      | bool      | `bool`                              |
// | integral number (|x| < 2^63), bigint         | int       | `int`                               |
// | other number (fractions, NaN, ±Inf, huge)    | float     | `float64`                           |
// | string                                       | string    | `string`                            |
// | Array                                        | slice     | `[]string` if all strings, else `[]interface {}` |
// | Map, plain object (`{}` or null prototype)   | map       | `map[string]string` / `map[string]interface {}` |
// | Date                                         | time      | `time.Time`                         |
// | function                                     | func      | `func()`                            |
// | any other object (class instance), or an object carrying `[GO_TYPE]` | struct | the `[GO_TYPE]` value, else the class name |
//
// Maps and structs differ the way Go's do: a missing key of a map evaluates to "no value", a missing
// field of a struct is an error; ranging over a map visits its keys in sorted order; `json` writes a
// plain object's keys in their own order (as Go writes a struct's fields) but a `Map`'s sorted.

/** Give an object this property (own or inherited) to make templates treat it as a Go struct of that type. */
export const GO_TYPE: unique symbol = Symbol.for('shoal.goType');

export type GoKind =
  'invalid' | 'bool' | 'int' | 'float' | 'string' | 'slice' | 'map' | 'struct' | 'time' | 'func';

const INT64_LIMIT = 2 ** 63;

/** Marks `obj` as a Go struct named `typeName` (e.g. `*formatter.serviceContext`) and returns it. */
export function goStruct<T extends object>(obj: T, typeName: string): T {
  Object.defineProperty(obj, GO_TYPE, { value: typeName, enumerable: false, configurable: true });
  return obj;
}

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export function kindOf(v: unknown): GoKind {
  switch (typeof v) {
    case 'undefined':
      return 'invalid';
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) && Math.abs(v) < INT64_LIMIT ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'string';
    case 'function':
      return 'func';
    case 'symbol':
      return 'invalid';
    case 'object':
      break;
  }
  if (v === null) return 'invalid';
  const o = v as Record<PropertyKey, unknown>;
  if (Array.isArray(o)) return 'slice';
  if (o instanceof Map) return 'map';
  if (o instanceof Date) return 'time';
  if (typeof o[GO_TYPE] === 'string') return 'struct';
  return isPlainObject(o) ? 'map' : 'struct';
}

export function isNil(v: unknown): v is null | undefined {
  return v === undefined || v === null;
}

/** Entries of a map-kind value, sorted by key as Go's fmt and text/template sort map keys. */
export function mapEntries(v: object): [unknown, unknown][] {
  const entries: [unknown, unknown][] =
    v instanceof Map ? [...(v as Map<unknown, unknown>).entries()] : Object.entries(v);
  return entries.sort((a, b) => compareKeys(a[0], b[0]));
}

/** Entries of a map-kind value in insertion order (used for JSON of plain objects). */
export function mapEntriesInOrder(v: object): [unknown, unknown][] {
  return v instanceof Map ? [...(v as Map<unknown, unknown>).entries()] : Object.entries(v);
}

function compareKeys(a: unknown, b: unknown): number {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  const sa = String(a);
  const sb = String(b);
  return compareBytes(sa, sb);
}

/** Compares strings by their UTF-8 bytes, as Go compares strings. */
export function compareBytes(a: string, b: string): number {
  if (a === b) return 0;
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return Buffer.compare(ba, bb);
}

/** The entries of a struct-kind value: its own enumerable string keys, in order. */
export function structFields(v: object): [string, unknown][] {
  return Object.entries(v);
}

export function mapLen(v: object): number {
  return v instanceof Map ? v.size : Object.keys(v).length;
}

/** Looks a key up in a map-kind value; `undefined` when absent. */
export function mapGet(v: object, key: unknown): { found: boolean; value: unknown } {
  if (v instanceof Map) {
    return { found: v.has(key), value: v.get(key) };
  }
  const k = String(key);
  if (Object.prototype.hasOwnProperty.call(v, k)) {
    return { found: true, value: (v as Record<string, unknown>)[k] };
  }
  return { found: false, value: undefined };
}

function elementTypeName(values: unknown[]): string {
  if (values.length > 0 && values.every((x) => typeof x === 'string')) return 'string';
  return 'interface {}';
}

/** The Go type name of a value, as `%T` and template error messages show it. */
export function goTypeName(v: unknown): string {
  switch (kindOf(v)) {
    case 'invalid':
      return '<nil>';
    case 'bool':
      return 'bool';
    case 'int':
      return 'int';
    case 'float':
      return 'float64';
    case 'string':
      return 'string';
    case 'func':
      return 'func()';
    case 'time':
      return 'time.Time';
    case 'slice':
      return `[]${elementTypeName(v as unknown[])}`;
    case 'map': {
      const values = mapEntriesInOrder(v as object).map((e) => e[1]);
      return `map[string]${elementTypeName(values)}`;
    }
    case 'struct': {
      const o = v as Record<PropertyKey, unknown>;
      if (typeof o[GO_TYPE] === 'string') return o[GO_TYPE];
      const ctor = (Object.getPrototypeOf(o) as { constructor?: { name?: string } } | null)?.constructor;
      return ctor?.name ? ctor.name : 'struct {}';
    }
  }
}

/** Go's notion of truth, as `if`, `with`, `and`, `or` and `not` use it. */
export function isTrue(v: unknown): boolean {
  switch (kindOf(v)) {
    case 'invalid':
      return false;
    case 'bool':
      return v as boolean;
    case 'int':
    case 'float':
      return typeof v === 'bigint' ? v !== 0n : (v as number) !== 0;
    case 'string':
      return (v as string).length > 0;
    case 'slice':
      return (v as unknown[]).length > 0;
    case 'map':
      return mapLen(v as object) > 0;
    default:
      return true;
  }
}

/** Go's `len`, or undefined when the value has no length. */
export function goLen(v: unknown): number | undefined {
  switch (kindOf(v)) {
    case 'string':
      return Buffer.byteLength(v as string, 'utf8');
    case 'slice':
      return (v as unknown[]).length;
    case 'map':
      return mapLen(v as object);
    default:
      return undefined;
  }
}
