// The decoder (encoding/json's decode.go): a scanned JSON value into a schema's type, with Go's type
// errors, null handling, base64 for []byte, and repeated keys merged as Go merges them.

import { invalidArgument } from '../../api/errors.js';
import { readBody, type RequestContext } from '../http.js';
import { JsonNumber, JsonObject, Parser } from './scanner.js';
import {
  type BytesNode,
  foldKey,
  type IntNode,
  type Schema,
  type SchemaNode,
  type StructNode,
  uint8,
} from './schema.js';

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
