// Request bodies decoded the way dockerd decodes them: Go's encoding/json (Go 1.19, the toolchain of the
// Docker 20.10 engine we copy) into typed structs. A schema describes the Go type; decoding yields a
// canonical copy (keys renamed to the Go field's JSON name, unknown keys dropped, nulls handled as Go
// handles them) or fails with the text Go's decoder gives, which Docker returns verbatim with a 400.
//
// The rules reproduced here, all from encoding/json's decode.go and scanner.go:
//
// * Keys: an exact match wins, else the first field whose name matches case-insensitively (ASCII case
//   folding, plus `ſ` for `s` and the Kelvin sign for `k`). Keys without a field are ignored.
// * Type mismatches are `UnmarshalTypeError`s. Go records the first one, keeps decoding and returns it at
//   the end; as nothing else can fail once the syntax has been checked, throwing at the first one gives the
//   same answer. Text: `json: cannot unmarshal <what> into Go struct field <Struct>.<path> of type <type>`
//   where <what> is `string`, `number`, `bool`, `array` or `object`, or `number <literal>` when a number
//   does not fit an integer or float field (`-1` into uint64, `1.5` or `1e3` into int64, `1e400` into
//   float64). <Struct> is the name of the struct whose field is being decoded and <path> the JSON names of
//   the fields from the root down to it (map values and slice elements add nothing). At the top level, or
//   inside a map or slice that is not inside any struct, it is `… into Go value of type <type>`. <type> is
//   reflect's `Type.String()` of the target after pointers are followed: `int64`, `time.Duration`,
//   `[]string`, `map[string]string`, `swarm.ServiceMode`, `[]*swarm.SecretReference`.
// * Embedded structs: Go 1.19 sets <Struct> to the type of the struct being decoded and pushes only the
//   promoted field's own name, so a field promoted from an embedded struct is reported under the *outer*
//   struct: `ServiceSpec.Name`, `ServiceSpec.Labels` — not `Annotations.Labels`. dockerd 20.10 confirms it
//   (`json: cannot unmarshal number into Go struct field ServiceSpec.Name of type string`). Go 1.21+ would
//   also push the embedded field's name (`ServiceSpec.Annotations.Name`); 20.10 does not.
// * null: into a pointer, map, slice or interface{} it sets nil (the key is dropped here); into anything
//   else it does nothing. A null map value or slice element therefore becomes the element's zero value
//   (`{"a":null}` into map[string]string is `{"a":""}`).
// * []byte takes a base64 string (std alphabet, padded, CR/LF skipped); a bad one fails with base64's own
//   error (`illegal base64 data at input byte N`), without any field context. It is kept as canonical
//   base64 text.
// * A key given twice decodes into what the first one produced (structs and maps merge, slices are decoded
//   element-wise over the old elements), as Go reuses the existing value.
// * Syntax (`decodeBody`): dockerd reads bodies with json.NewDecoder(r).Decode(&req), which reads exactly
//   one JSON value — anything after it is ignored — and reports a truncated value as `unexpected EOF` and an
//   empty body as io.EOF, which the handlers turn into `got EOF while reading request body`. Other syntax
//   errors are the scanner's `invalid character 'x' looking for beginning of value` etc. Number literals
//   keep their text, so `1.0` into an integer field fails as it does in Go.
//
// Known simplifications: integers beyond ±(2^53−1), which a JS number cannot hold exactly, are refused
// with Go's out-of-range error for the field (Go would take them into int64/uint64 fields) — never stored
// rounded; float32 values are range-checked as float32 but kept as parsed; invalid UTF-8 is replaced per
// WHATWG rather than per byte.

import { isAscii } from 'node:buffer';
import { invalidArgument } from '../api/errors.js';
import { goQuote } from '../api/strconv.js';
import { readBody, type RequestContext } from './http.js';

// ---------------------------------------------------------------- schemas

interface NodeBase {
  /** reflect's `Type.String()` of the value once pointers are followed: what errors print. */
  readonly goType: string;
  /** How the type is spelled inside a composite type name (`*swarm.Driver` for a pointer field). */
  readonly typeRef: string;
  /** Pointer, map, slice, []byte or interface{}: JSON null sets it to nil. */
  readonly nullable: boolean;
}

export interface StringNode extends NodeBase {
  readonly kind: 'string';
}
export interface BoolNode extends NodeBase {
  readonly kind: 'bool';
}
export interface IntNode extends NodeBase {
  readonly kind: 'int';
  readonly signed: boolean;
  readonly min: bigint;
  readonly max: bigint;
  /** `min` and `max` as doubles, for the fast path (exact where it matters: at most 15 digits). */
  readonly minNumber: number;
  readonly maxNumber: number;
}
export interface FloatNode extends NodeBase {
  readonly kind: 'float';
  readonly bits: 32 | 64;
}
export interface BytesNode extends NodeBase {
  readonly kind: 'bytes';
}
export interface InterfaceNode extends NodeBase {
  readonly kind: 'interface';
}
export interface SliceNode extends NodeBase {
  readonly kind: 'slice';
  readonly elem: SchemaNode;
}
export interface MapNode extends NodeBase {
  readonly kind: 'map';
  readonly elem: SchemaNode;
}
export interface StructField {
  /** The JSON name: the canonical key of the decoded object. */
  readonly name: string;
  readonly schema: SchemaNode;
}
export interface StructNode extends NodeBase {
  readonly kind: 'struct';
  /** reflect's `Type.Name()`: the struct name errors print before the field path. */
  readonly name: string;
  /** Fields in Go's order, promoted fields of embedded structs included. */
  readonly fields: readonly StructField[];
  readonly exact: ReadonlyMap<string, StructField>;
  readonly folded: ReadonlyMap<string, StructField>;
}

export type SchemaNode =
  StringNode | BoolNode | IntNode | FloatNode | BytesNode | InterfaceNode | SliceNode | MapNode | StructNode;

/** A Go type to decode into; `T` is the TypeScript shape of the decoded (canonical) value. */
export type Schema<T = unknown> = SchemaNode & { readonly __decoded?: T };

/** The TypeScript type a schema decodes to. */
export type Decoded<S> = S extends Schema<infer T> ? T : never;

/** A Go string, or a named string type such as `swarm.NodeAvailability`. */
export const str = (goType = 'string'): Schema<string> => ({
  kind: 'string',
  goType,
  typeRef: goType,
  nullable: false,
});

export const bool = (goType = 'bool'): Schema<boolean> => ({
  kind: 'bool',
  goType,
  typeRef: goType,
  nullable: false,
});

const intNode = (goType: string, signed: boolean, bits: number): Schema<number> => {
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
  return {
    kind: 'int',
    goType,
    typeRef: goType,
    nullable: false,
    signed,
    min,
    max,
    minNumber: Number(min),
    maxNumber: Number(max),
  };
};

/** Go's int64, or a named int64 type. */
export const int64 = (goType = 'int64'): Schema<number> => intNode(goType, true, 64);
/** Go's int (64 bits on the platforms dockerd runs on). */
export const int = (goType = 'int'): Schema<number> => intNode(goType, true, 64);
/** time.Duration: int64 nanoseconds on the wire. */
export const duration = (): Schema<number> => intNode('time.Duration', true, 64);
export const uint64 = (goType = 'uint64'): Schema<number> => intNode(goType, false, 64);
/** Go's uint32, or a named one such as `fs.FileMode` (os.FileMode). */
export const uint32 = (goType = 'uint32'): Schema<number> => intNode(goType, false, 32);
export const uint8 = (goType = 'uint8'): Schema<number> => intNode(goType, false, 8);

export const float64 = (goType = 'float64'): Schema<number> => ({
  kind: 'float',
  goType,
  typeRef: goType,
  nullable: false,
  bits: 64,
});

export const float32 = (goType = 'float32'): Schema<number> => ({
  kind: 'float',
  goType,
  typeRef: goType,
  nullable: false,
  bits: 32,
});

/** Go's []byte: base64 text on the wire; decoded to canonical base64 text. */
export const bytes = (): Schema<string> => ({
  kind: 'bytes',
  goType: '[]uint8',
  typeRef: '[]uint8',
  nullable: true,
});

/** Go's interface{}: any JSON value, passed through as plain JSON (numbers become float64). */
export const iface = (): Schema<unknown> => ({
  kind: 'interface',
  goType: 'interface {}',
  typeRef: 'interface {}',
  nullable: true,
});

/** A Go slice `[]T`; the type name is derived from the element's unless given. */
export const slice = <T>(elem: Schema<T>, goType = `[]${elem.typeRef}`): Schema<T[]> => ({
  kind: 'slice',
  goType,
  typeRef: goType,
  nullable: true,
  elem,
});

/** A Go map with string keys, `map[string]T`. */
export const map = <T>(
  elem: Schema<T>,
  goType = `map[string]${elem.typeRef}`,
): Schema<Record<string, T>> => ({
  kind: 'map',
  goType,
  typeRef: goType,
  nullable: true,
  elem,
});

/** `map[string]string`, the type of every `Labels`. */
export const labels = (): Schema<Record<string, string>> => map(str());

/** A pointer `*T`: errors name `T`, null sets nil. */
export const ptr = <T>(schema: Schema<T>): Schema<T> => ({
  ...schema,
  typeRef: `*${schema.goType}`,
  nullable: true,
});

/** The fields of a struct decoding to `T`: each key must be a property of `T`. */
export type StructFields<T> = { readonly [K in keyof T]?: Schema };

export interface StructOptions {
  /** Embedded (anonymous) struct fields, e.g. `Annotations`: their fields are promoted. */
  readonly embed?: readonly Schema[];
  /** Fields Go has that the TypeScript type does not list (newer API fields kept for round trips). */
  readonly extra?: Readonly<Record<string, Schema>>;
}

/**
 * A Go struct named `goType` (`package.Name`, as reflect prints it). `fields` are keyed by their JSON
 * names, which become the canonical keys of the decoded object.
 */
export function struct<T>(goType: string, fields: StructFields<T>, options: StructOptions = {}): Schema<T> {
  const own: StructField[] = [];
  for (const [name, schema] of Object.entries({ ...fields, ...options.extra })) {
    if (schema) own.push({ name, schema: schema as SchemaNode });
  }
  const ownNames = new Set(own.map((f) => f.name));
  const promoted: StructField[] = [];
  for (const embedded of options.embed ?? []) {
    if (embedded.kind !== 'struct') throw new TypeError(`${goType}: only structs can be embedded`);
    // Fields of the outer struct hide promoted ones of the same name (Go's dominance rule).
    for (const f of embedded.fields) if (!ownNames.has(f.name)) promoted.push(f);
  }
  const all = [...promoted, ...own];
  const exact = new Map<string, StructField>();
  const folded = new Map<string, StructField>();
  for (const f of all) {
    exact.set(f.name, f);
    const key = foldKey(f.name);
    if (!folded.has(key)) folded.set(key, f);
  }
  return {
    kind: 'struct',
    goType,
    typeRef: goType,
    nullable: false,
    name: goType.slice(goType.lastIndexOf('.') + 1),
    fields: all,
    exact,
    folded,
  };
}

/**
 * Case folding as Go 1.19 matches keys to field names (field names are ASCII): ASCII letters fold, the
 * long s `ſ` matches `s` and the Kelvin sign matches `k`; nothing else matches an ASCII letter.
 * `toLowerCase` maps the Kelvin sign to `k`; no other non-ASCII character lowers to plain ASCII.
 */
function foldKey(key: string): string {
  const lower = key.toLowerCase();
  return lower.includes('\u017f') ? lower.replace(/\u017f/g, 's') : lower;
}

// ---------------------------------------------------------------- decoding

/** A number as written in the request (Go converts integers from the literal text). */
class JsonNumber {
  constructor(readonly text: string) {}
}

/** An object with its keys in request order, repeated keys kept. */
class JsonObject {
  constructor(
    readonly keys: string[],
    readonly values: unknown[],
  ) {}
}

interface ErrorContext {
  struct: string;
  path: string[];
}

export interface DecodeOptions {
  /**
   * `decoder` (default): json.NewDecoder(body).Decode, what dockerd's handlers use — the first JSON value
   * is read and the rest ignored; an empty body fails with `got EOF while reading request body`, a
   * truncated one with `unexpected EOF`. `unmarshal`: json.Unmarshal — data after the value is a syntax
   * error and truncation is `unexpected end of JSON input`.
   */
  mode?: 'decoder' | 'unmarshal';
}

/**
 * Decodes a request body into `schema`'s type as dockerd would, throwing `invalidArgument` with Go's
 * message on a syntax or type error.
 */
export function decodeBody<T>(body: Buffer | string, schema: Schema<T>, options: DecodeOptions = {}): T {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const value = new Parser(buf, options.mode ?? 'decoder').parse();
  return decodeAs(value, schema);
}

/** Reads the request body and decodes it into `schema`'s type (see `decodeBody`). */
export async function readBodyAs<T>(ctx: Pick<RequestContext, 'req'>, schema: Schema<T>): Promise<T> {
  return decodeBody(await readBody(ctx.req), schema);
}

/**
 * Decodes an already parsed JSON value (from `JSON.parse`, or any plain data) into `schema`'s type.
 * Number literals are taken as `String(n)`, so `1.0` reads as `1` here; use `decodeBody` on raw bodies.
 */
export function decodeAs<T>(value: unknown, schema: Schema<T>): T {
  if (value === null || value === undefined) return zeroOf(schema) as T;
  return decodeValue(schema, value, undefined, { struct: '', path: [] }) as T;
}

function zeroOf(node: SchemaNode): unknown {
  if (node.nullable) return null;
  switch (node.kind) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'int':
    case 'float':
      return 0;
    default:
      return {};
  }
}

/** What Go calls a JSON value in type errors. */
function describe(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'bool';
    case 'number':
    case 'bigint':
      return 'number';
    default:
      if (v instanceof JsonNumber) return 'number';
      return Array.isArray(v) ? 'array' : 'object';
  }
}

function typeError(ctx: ErrorContext, what: string, goType: string): never {
  const into =
    ctx.struct !== '' || ctx.path.length > 0
      ? `Go struct field ${ctx.struct}.${ctx.path.join('.')}`
      : 'Go value';
  throw invalidArgument(`json: cannot unmarshal ${what} into ${into} of type ${goType}`);
}

function numberText(v: unknown): string | undefined {
  if (v instanceof JsonNumber) return v.text;
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return undefined;
}

const isObjectValue = (v: unknown): v is object =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumber);

/** Own-property read, so that keys such as `constructor` never see the prototype. */
const own = (o: object, key: string): unknown =>
  Object.hasOwn(o, key) ? (o as Record<string, unknown>)[key] : undefined;

/** Sets an own property even for `__proto__`. */
function setOwn(o: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    o[key] = value;
  }
}

/** Iterates the entries of a parsed object, in request order. */
function forEachEntry(v: object, fn: (key: string, value: unknown) => void): void {
  if (v instanceof JsonObject) {
    const { keys, values } = v;
    for (let i = 0; i < keys.length; i++) fn(keys[i]!, values[i]);
    return;
  }
  const rec = v as Record<string, unknown>;
  for (const key of Object.keys(rec)) {
    const value = rec[key];
    if (value !== undefined) fn(key, value);
  }
}

/** Decodes a non-null JSON value; `existing` is what an earlier occurrence of the same key produced. */
function decodeValue(node: SchemaNode, v: unknown, existing: unknown, ctx: ErrorContext): unknown {
  switch (node.kind) {
    case 'string':
      return typeof v === 'string' ? v : typeError(ctx, describe(v), node.goType);
    case 'bool':
      return typeof v === 'boolean' ? v : typeError(ctx, describe(v), node.goType);
    case 'int': {
      // Fast path: the parser gives short integer literals as numbers (they print back as written).
      if (typeof v === 'number' && Number.isSafeInteger(v) && v >= node.minNumber && v <= node.maxNumber) {
        return v + 0;
      }
      const text = numberText(v);
      return text === undefined ? typeError(ctx, describe(v), node.goType) : parseInteger(node, text, ctx);
    }
    case 'float': {
      const text = numberText(v);
      if (text === undefined) return typeError(ctx, describe(v), node.goType);
      const x = typeof v === 'number' ? v : Number(text);
      if (!Number.isFinite(x) || (node.bits === 32 && !Number.isFinite(Math.fround(x)))) {
        typeError(ctx, `number ${text}`, node.goType);
      }
      return x;
    }
    case 'bytes':
      return decodeBytes(node, v, ctx);
    case 'interface':
      return toPlain(v, ctx);
    case 'slice': {
      if (!Array.isArray(v)) return typeError(ctx, describe(v), node.goType);
      const prev = Array.isArray(existing) ? (existing as unknown[]) : undefined;
      const elem = node.elem;
      const out = new Array<unknown>(v.length);
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        const old = prev?.[i];
        if (item === null || item === undefined) {
          out[i] = elem.nullable ? null : (old ?? zeroOf(elem));
        } else {
          out[i] = decodeValue(elem, item, old, ctx);
        }
      }
      return out;
    }
    case 'map': {
      if (!isObjectValue(v)) return typeError(ctx, describe(v), node.goType);
      const out = (isObjectValue(existing) ? existing : {}) as Record<string, unknown>;
      const elem = node.elem;
      // Go decodes every map value into a fresh zero element, so old entries are replaced, not merged.
      forEachEntry(v, (key, item) => {
        setOwn(out, key, item === null ? zeroOf(elem) : decodeValue(elem, item, undefined, ctx));
      });
      return out;
    }
    case 'struct': {
      if (!isObjectValue(v)) return typeError(ctx, describe(v), node.goType);
      const out = (isObjectValue(existing) ? existing : {}) as Record<string, unknown>;
      if (v instanceof JsonObject) {
        const { keys, values } = v;
        for (let i = 0; i < keys.length; i++) decodeField(node, out, keys[i]!, values[i], ctx);
      } else {
        forEachEntry(v, (key, item) => decodeField(node, out, key, item, ctx));
      }
      return out;
    }
  }
}

function decodeField(
  node: StructNode,
  out: Record<string, unknown>,
  key: string,
  item: unknown,
  ctx: ErrorContext,
): void {
  const field = node.exact.get(key) ?? node.folded.get(foldKey(key));
  if (field === undefined) return;
  const name = field.name;
  const outerStruct = ctx.struct;
  ctx.struct = node.name;
  ctx.path.push(name);
  if (item === null) {
    if (field.schema.nullable && Object.hasOwn(out, name)) delete out[name];
  } else {
    out[name] = decodeValue(field.schema, item, own(out, name), ctx);
  }
  ctx.path.pop();
  ctx.struct = outerStruct;
}

const SIGNED_INTEGER = /^-?\d+$/;
const UNSIGNED_INTEGER = /^\d+$/;

/** strconv.ParseInt / ParseUint of the literal, with the field's range check. */
function parseInteger(node: IntNode, text: string, ctx: ErrorContext): number {
  if (!(node.signed ? SIGNED_INTEGER : UNSIGNED_INTEGER).test(text)) {
    return typeError(ctx, `number ${text}`, node.goType);
  }
  const digits = text.charCodeAt(0) === 45 ? text.length - 1 : text.length;
  if (digits <= 15) {
    // Exact as a double; every bound is either exact (uint32, uint8) or far outside 15 digits.
    const n = Number(text);
    if (n < node.minNumber || n > node.maxNumber) typeError(ctx, `number ${text}`, node.goType);
    return n + 0; // -0 → 0
  }
  const big = BigInt(text);
  // Beyond ±(2^53−1) a JS number is no longer exact: such a value is refused with the error Go gives for
  // a number its field cannot hold, rather than stored rounded (see "Known simplifications" above).
  if (big < node.min || big > node.max || big > MAX_EXACT || big < -MAX_EXACT) {
    typeError(ctx, `number ${text}`, node.goType);
  }
  return Number(big);
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

function decodeBytes(node: BytesNode, v: unknown, ctx: ErrorContext): string {
  if (typeof v === 'string') {
    const decoded = goBase64Decode(Buffer.from(v, 'utf8'));
    if (typeof decoded === 'number') throw invalidArgument(`illegal base64 data at input byte ${decoded}`);
    return decoded.toString('base64');
  }
  if (Array.isArray(v)) {
    // A JSON array of numbers also decodes into []byte, element by element.
    const elem = BYTE;
    const out = Buffer.alloc(v.length);
    for (let i = 0; i < v.length; i++) {
      const item: unknown = v[i];
      out[i] = item === null || item === undefined ? 0 : (decodeValue(elem, item, undefined, ctx) as number);
    }
    return out.toString('base64');
  }
  return typeError(ctx, describe(v), node.goType);
}

const BYTE = uint8();

const BASE64_VALUES = (() => {
  const table = new Int16Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * base64.StdEncoding.Decode: the decoded bytes, or the offset Go's CorruptInputError reports. Works in
 * 4-character quanta, skipping CR and LF, requiring padding, rejecting data after the padding.
 */
function goBase64Decode(src: Uint8Array): Buffer | number {
  const out = Buffer.alloc(Math.floor((src.length * 3) / 4) + 3);
  let n = 0;
  let si = 0;
  const len = src.length;
  const isNewline = (c: number | undefined): boolean => c === 0x0a || c === 0x0d;
  while (si < len) {
    const quantum = [0, 0, 0, 0];
    let dlen = 4;
    let trailing = -1;
    for (let j = 0; j < 4; j++) {
      if (si === len) {
        if (j === 0) return out.subarray(0, n);
        return si - j;
      }
      const c = src[si]!;
      si++;
      const value = BASE64_VALUES[c]!;
      if (value >= 0) {
        quantum[j] = value;
        continue;
      }
      if (isNewline(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d) return si - 1;
      // Padding: only after two or three characters, and `==` after two.
      if (j < 2) return si - 1;
      if (j === 2) {
        while (si < len && isNewline(src[si])) si++;
        if (si === len) return len;
        if (src[si] !== 0x3d) return si - 1;
        si++;
      }
      while (si < len && isNewline(src[si])) si++;
      if (si < len) trailing = si;
      dlen = j;
      break;
    }
    const word = (quantum[0]! << 18) | (quantum[1]! << 12) | (quantum[2]! << 6) | quantum[3]!;
    out[n++] = (word >> 16) & 0xff;
    if (dlen >= 3) out[n++] = (word >> 8) & 0xff;
    if (dlen === 4) out[n++] = word & 0xff;
    if (trailing >= 0) return trailing;
  }
  return out.subarray(0, n);
}

/**
 * A JSON value as Go stores it in an interface{}: objects and arrays copied, numbers as float64. Walks
 * depth-first in request order without recursion (nesting can reach 10000 levels).
 */
function toPlain(v: unknown, ctx: ErrorContext): unknown {
  const scalar = (x: unknown): unknown => {
    const text = numberText(x);
    if (text === undefined) return x === undefined ? null : x;
    const f = typeof x === 'number' ? x : Number(text);
    if (!Number.isFinite(f)) typeError(ctx, `number ${text}`, 'float64');
    return f;
  };
  const container = (x: unknown): unknown[] | Record<string, unknown> | undefined =>
    Array.isArray(x) ? new Array<unknown>(x.length) : isObjectValue(x) ? {} : undefined;
  const root = container(v);
  if (root === undefined) return scalar(v);
  interface Frame {
    keys: string[] | undefined;
    values: unknown[];
    out: unknown[] | Record<string, unknown>;
    next: number;
  }
  const frameOf = (src: unknown, out: unknown[] | Record<string, unknown>): Frame => {
    if (Array.isArray(src)) return { keys: undefined, values: src, out, next: 0 };
    if (src instanceof JsonObject) return { keys: src.keys, values: src.values, out, next: 0 };
    const rec = src as Record<string, unknown>;
    const keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
    return { keys, values: keys.map((k) => rec[k]), out, next: 0 };
  };
  const stack: Frame[] = [frameOf(v, root)];
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.values.length) {
      stack.pop();
      continue;
    }
    const i = frame.next++;
    const item = frame.values[i];
    const child = container(item);
    const value = child ?? scalar(item);
    if (frame.keys === undefined) (frame.out as unknown[])[i] = value;
    else setOwn(frame.out as Record<string, unknown>, frame.keys[i]!, value);
    if (child !== undefined) stack.push(frameOf(item, child));
  }
  return root;
}

// ---------------------------------------------------------------- parsing

const MAX_DEPTH = 10000;

/**
 * Strings shorter than this are cut from the body decoded once as a whole (much faster than decoding each
 * one). V8 copies such short substrings; longer ones would be slices that keep the whole body alive for as
 * long as the decoded spec lives, so those are decoded from the buffer on their own.
 */
const SHORT_STRING = 13;

interface ArrayFrame {
  readonly object: false;
  readonly values: unknown[];
}
interface ObjectFrame {
  readonly object: true;
  readonly keys: string[];
  readonly values: unknown[];
}

/**
 * A JSON parser with the syntax errors of Go's scanner. Iterative (Go allows 10000 levels of nesting,
 * more than the JS stack takes). Produces `JsonObject`s and, for numbers that would not print back as
 * written, `JsonNumber`s.
 */
class Parser {
  private i = 0;
  /** The whole body as a string when it is pure ASCII (offsets in it are byte offsets). */
  private readonly ascii: string | undefined;

  constructor(
    private readonly b: Buffer,
    private readonly mode: 'decoder' | 'unmarshal',
  ) {
    this.ascii = isAscii(b) ? b.toString('latin1') : undefined;
  }

  parse(): unknown {
    const b = this.b;
    this.skipSpace();
    if (this.i >= b.length) {
      throw invalidArgument(
        this.mode === 'decoder' ? 'got EOF while reading request body' : 'unexpected end of JSON input',
      );
    }
    const stack: (ArrayFrame | ObjectFrame)[] = [];
    let value: unknown;
    for (;;) {
      // A value starts here.
      this.skipSpace();
      if (this.i >= b.length) this.eof();
      const c = b[this.i]!;
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (stack.length >= MAX_DEPTH) this.syntax(c, 'exceeded max depth');
        this.i++;
        this.skipSpace();
        if (this.i >= b.length) this.eof();
        if (c === 0x5b) {
          if (b[this.i] === 0x5d /* ] */) {
            this.i++;
            value = [];
          } else {
            stack.push({ object: false, values: [] });
            continue;
          }
        } else if (b[this.i] === 0x7d /* } */) {
          this.i++;
          value = new JsonObject([], []);
        } else {
          stack.push({ object: true, keys: [this.objectKey()], values: [] });
          continue;
        }
      } else if (c === 0x22 /* " */) {
        value = this.string();
      } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
        value = this.number();
      } else if (c === 0x74 /* t */) {
        value = this.literal('true', true);
      } else if (c === 0x66 /* f */) {
        value = this.literal('false', false);
      } else if (c === 0x6e /* n */) {
        value = this.literal('null', null);
      } else {
        this.syntax(c, 'looking for beginning of value');
      }

      // A value is complete: store it in its container, closing containers that end here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return this.finish(value);
        top.values.push(value);
        this.skipSpace();
        if (this.i >= b.length) this.eof();
        const d = b[this.i]!;
        if (d === 0x2c /* , */) {
          this.i++;
          if (top.object) {
            this.skipSpace();
            if (this.i >= b.length) this.eof();
            top.keys.push(this.objectKey());
          }
          break;
        }
        if (top.object ? d === 0x7d : d === 0x5d) {
          this.i++;
          stack.pop();
          value = top.object ? new JsonObject(top.keys, top.values) : top.values;
          continue;
        }
        this.syntax(d, top.object ? 'after object key:value pair' : 'after array element');
      }
    }
  }

  private finish(value: unknown): unknown {
    if (this.mode === 'unmarshal') {
      this.skipSpace();
      if (this.i < this.b.length) this.syntax(this.b[this.i]!, 'after top-level value');
    }
    return value;
  }

  /** An object key and its colon; `i` is at the opening quote (or whatever stands there instead). */
  private objectKey(): string {
    const b = this.b;
    if (b[this.i] !== 0x22) this.syntax(b[this.i]!, 'looking for beginning of object key string');
    const key = this.string();
    this.skipSpace();
    if (this.i >= b.length) this.eof();
    if (b[this.i] !== 0x3a /* : */) this.syntax(b[this.i]!, 'after object key');
    this.i++;
    return key;
  }

  private skipSpace(): void {
    const b = this.b;
    let i = this.i;
    while (i < b.length) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.i = i;
  }

  private string(): string {
    const b = this.b;
    const start = this.i + 1;
    let j = start;
    let escaped = false;
    for (;;) {
      if (j >= b.length) this.eof();
      const c = b[j]!;
      if (c === 0x22) break;
      if (c === 0x5c /* \ */) {
        escaped = true;
        j++;
        if (j >= b.length) this.eof('in string escape code');
        const e = b[j]!;
        if (e === 0x75 /* u */) {
          for (let k = 0; k < 4; k++) {
            j++;
            if (j >= b.length) this.eof('in \\u hexadecimal character escape');
            if (hexValue(b[j]!) < 0) this.syntax(b[j]!, 'in \\u hexadecimal character escape');
          }
        } else if (!SIMPLE_ESCAPES.has(e)) {
          this.syntax(e, 'in string escape code');
        }
        j++;
        continue;
      }
      if (c < 0x20) this.syntax(c, 'in string literal');
      j++;
    }
    this.i = j + 1;
    if (escaped) return unescape(b, start, j);
    return this.ascii !== undefined && j - start < SHORT_STRING
      ? this.ascii.slice(start, j)
      : b.toString('utf8', start, j);
  }

  private number(): unknown {
    const b = this.b;
    const start = this.i;
    let i = start;
    const digit = (at: number): boolean => at < b.length && b[at]! >= 0x30 && b[at]! <= 0x39;
    let integer = true;
    if (b[i] === 0x2d) {
      i++;
      if (i >= b.length) this.eof('in numeric literal');
      if (!digit(i)) this.syntax(b[i]!, 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (digit(i)) i++;
    if (i < b.length && b[i] === 0x2e /* . */) {
      integer = false;
      i++;
      if (i >= b.length) this.eof('after decimal point in numeric literal');
      if (!digit(i)) this.syntax(b[i]!, 'after decimal point in numeric literal');
      while (digit(i)) i++;
    }
    if (i < b.length && (b[i] === 0x65 || b[i] === 0x45) /* e E */) {
      integer = false;
      i++;
      if (i < b.length && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      if (i >= b.length) this.eof('in exponent of numeric literal');
      if (!digit(i)) this.syntax(b[i]!, 'in exponent of numeric literal');
      while (digit(i)) i++;
    }
    this.i = i;
    const text = this.ascii !== undefined ? this.ascii.slice(start, i) : b.toString('latin1', start, i);
    // Short integers print back exactly as written (JSON has no leading zeros); `-0` does not.
    if (integer && i - start <= 15 && text !== '-0') return Number(text);
    return new JsonNumber(text);
  }

  private literal(word: string, value: boolean | null): boolean | null {
    const b = this.b;
    for (let k = 1; k < word.length; k++) {
      const at = this.i + k;
      const context = `in literal ${word} (expecting '${word[k]}')`;
      if (at >= b.length) this.eof(context);
      if (b[at] !== word.charCodeAt(k)) this.syntax(b[at]!, context);
    }
    this.i += word.length;
    return value;
  }

  private syntax(c: number, context: string): never {
    throw invalidArgument(`invalid character ${quoteChar(c)} ${context}`);
  }

  /**
   * The input ends inside a value. The Decoder says `unexpected EOF`; Unmarshal feeds the scanner a space,
   * which fails with `context` in the states that cannot take one, else says `unexpected end of JSON input`.
   */
  private eof(context?: string): never {
    if (this.mode === 'decoder') throw invalidArgument('unexpected EOF');
    throw invalidArgument(
      context === undefined ? 'unexpected end of JSON input' : `invalid character ' ' ${context}`,
    );
  }
}

// b f n r t \ / "
const SIMPLE_ESCAPES = new Set([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22]);

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const hex4 = (b: Buffer, at: number): number =>
  (hexValue(b[at]!) << 12) | (hexValue(b[at + 1]!) << 8) | (hexValue(b[at + 2]!) << 4) | hexValue(b[at + 3]!);

/**
 * The text of a (validated) string literal with escapes, as Go's unquote produces it: a surrogate escape
 * not followed by its partner becomes U+FFFD.
 */
function unescape(b: Buffer, start: number, end: number): string {
  let out = '';
  let run = start;
  let j = start;
  while (j < end) {
    if (b[j] !== 0x5c) {
      j++;
      continue;
    }
    if (j > run) out += b.toString('utf8', run, j);
    const e = b[j + 1]!;
    j += 2;
    switch (e) {
      case 0x62:
        out += '\b';
        break;
      case 0x66:
        out += '\f';
        break;
      case 0x6e:
        out += '\n';
        break;
      case 0x72:
        out += '\r';
        break;
      case 0x74:
        out += '\t';
        break;
      case 0x75: {
        const r = hex4(b, j);
        j += 4;
        if (r >= 0xd800 && r < 0xe000) {
          if (r < 0xdc00 && j + 6 <= end && b[j] === 0x5c && b[j + 1] === 0x75) {
            const r2 = hex4(b, j + 2);
            if (r2 >= 0xdc00 && r2 < 0xe000) {
              out += String.fromCharCode(r, r2);
              j += 6;
              break;
            }
          }
          out += '\ufffd';
        } else {
          out += String.fromCharCode(r);
        }
        break;
      }
      default: // " \ /
        out += String.fromCharCode(e);
    }
    run = j;
  }
  if (run < end) out += b.toString('utf8', run, end);
  return out;
}

/** Go's quoteChar: the byte as a rune, quoted like strconv.Quote but between single quotes. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  return `'${goQuote(String.fromCharCode(c)).slice(1, -1)}'`;
}
