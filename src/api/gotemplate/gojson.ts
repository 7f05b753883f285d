// Go's encoding/json output (compact) for JavaScript values, as Docker's `{{json .}}` prints it.
//
// - Plain objects keep their own key order (as Go writes a struct's fields); `Map`s are written with
//   sorted keys (as Go writes maps). Properties whose value is `undefined` are left out.
// - Struct-kind objects (class instances, see govalue.ts) without a `toJSON` method are written the
//   way Docker's formatter.MarshalJSON writes its list contexts: every exported (capitalised) getter,
//   zero-argument method and own property except `FullHeader`, with sorted keys.
// - Strings are escaped as Go does: `\"`, `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, other control characters
//   as `\u00XX`, U+2028/U+2029 as `\u2028`/`\u2029`, lone surrogates as `\ufffd`; `<`, `>`, `&` as
//   `\u003c`, `\u003e`, `\u0026` unless `escapeHTML` is false (Docker's `json` template function turns
//   it off; json.Marshal keeps it on).
// - Numbers as Go writes float64 (JavaScript's shortest form, exponent from 1e21 and below 1e-6);
//   NaN and ±Inf are an error, as in Go (`json: unsupported value: NaN`).

import { GO_TYPE, kindOf, mapEntries, mapEntriesInOrder } from './govalue.js';

export interface GoJSONOptions {
  /** Escape `<`, `>` and `&` (json.Marshal: true; Docker's `json` template function: false). */
  escapeHTML?: boolean;
  /** Indent as json.MarshalIndent(v, prefix, indent) does (Docker's inspect uses 4 spaces). */
  indent?: string;
  prefix?: string;
}

export class GoJSONError extends Error {}

const hex4 = (n: number): string => n.toString(16).padStart(4, '0');

/** A JSON string literal as Go writes it. */
export function goJSONString(s: string, escapeHTML = true): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c !== 0x22 && c !== 0x5c && c < 0x7f) {
      if (escapeHTML && (c === 0x3c || c === 0x3e || c === 0x26)) out += '\\u00' + hex4(c).slice(2);
      else out += s[i];
      continue;
    }
    switch (c) {
      case 0x22:
        out += '\\"';
        continue;
      case 0x5c:
        out += '\\\\';
        continue;
      case 0x0a:
        out += '\\n';
        continue;
      case 0x0d:
        out += '\\r';
        continue;
      case 0x09:
        out += '\\t';
        continue;
      case 0x08:
        out += '\\b';
        continue;
      case 0x0c:
        out += '\\f';
        continue;
    }
    if (c < 0x20) {
      out += '\\u' + hex4(c);
      continue;
    }
    if (c === 0x2028 || c === 0x2029) {
      out += '\\u' + hex4(c);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += s[i]! + s[i + 1]!;
        i++;
        continue;
      }
      out += '\\ufffd';
      continue;
    }
    if (c >= 0xdc00 && c <= 0xdfff) {
      out += '\\ufffd';
      continue;
    }
    out += s[i];
  }
  return out + '"';
}

function numberJSON(n: number): string {
  if (!Number.isFinite(n))
    throw new GoJSONError(
      `json: unsupported value: ${String(n).replace('Infinity', '+Inf').replace('-+', '-')}`,
    );
  if (Object.is(n, -0)) return '-0';
  // JavaScript already writes the shortest form, with an exponent where Go uses one (>= 1e21, < 1e-6).
  return String(n);
}

/** The fields Docker's formatter.MarshalJSON takes from a list context: exported zero-argument methods. */
export function contextFields(obj: object): [string, unknown][] {
  const names = new Set<string>();
  for (
    let o: object | null = obj;
    o && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name === 'FullHeader' || !/^\p{Lu}/u.test(name)) continue;
      names.add(name);
    }
  }
  const out: [string, unknown][] = [];
  for (const name of [...names].sort()) {
    const v = (obj as Record<string, unknown>)[name];
    if (typeof v === 'function') {
      if (v.length !== 0) continue;
      out.push([name, (v as () => unknown).call(obj)]);
    } else {
      out.push([name, v]);
    }
  }
  return out;
}

interface EncodeState {
  escapeHTML: boolean;
  seen: Set<object>;
  indent: string | undefined;
  prefix: string;
}

function encode(v: unknown, st: EncodeState, depth: number): string {
  const { escapeHTML, seen } = st;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  switch (kindOf(v)) {
    case 'invalid':
    case 'func':
      return 'null';
    case 'bool':
      return v ? 'true' : 'false';
    case 'int':
    case 'float':
      return typeof v === 'bigint' ? v.toString() : numberJSON(v as number);
    case 'string':
      return goJSONString(v as string, escapeHTML);
    case 'time':
      return goJSONString((v as Date).toISOString(), escapeHTML);
    default:
      break;
  }
  const obj = v as object;
  if (seen.has(obj)) throw new GoJSONError('json: unsupported value: encountered a cycle');
  seen.add(obj);
  try {
    const kind = kindOf(v);
    const open = (items: string[], o: string, c: string): string => {
      if (items.length === 0) return o + c;
      if (st.indent === undefined) return o + items.join(',') + c;
      const nl = '\n' + st.prefix;
      const inner = nl + st.indent.repeat(depth + 1);
      return o + inner + items.join(',' + inner) + nl + st.indent.repeat(depth) + c;
    };
    if (kind === 'slice') {
      return open(
        (v as unknown[]).map((e) => encode(e, st, depth + 1)),
        '[',
        ']',
      );
    }
    let entries: [unknown, unknown][];
    // Docker's list contexts marshal themselves with json.Marshal (formatter.MarshalJSON), which
    // escapes HTML characters whatever the outer encoder's setting: `*:80->80/tcp` comes out as
    // `*:80-\u003e80/tcp` even from the `json` template function.
    let inner = st;
    if (kind === 'map') entries = obj instanceof Map ? mapEntries(obj) : mapEntriesInOrder(obj);
    else if (typeof (obj as Record<PropertyKey, unknown>)[GO_TYPE] === 'string' && isPlainProto(obj))
      entries = mapEntriesInOrder(obj);
    else {
      entries = contextFields(obj);
      if (!st.escapeHTML) inner = { ...st, escapeHTML: true };
    }
    const parts: string[] = [];
    for (const [k, e] of entries) {
      if (e === undefined) continue;
      const sep = inner.indent === undefined ? ':' : ': ';
      parts.push(goJSONString(String(k), inner.escapeHTML) + sep + encode(e, inner, depth + 1));
    }
    return open(parts, '{', '}');
  } finally {
    seen.delete(obj);
  }
}

function isPlainProto(o: object): boolean {
  const p = Object.getPrototypeOf(o) as unknown;
  return p === Object.prototype || p === null;
}

/** Go's json.Marshal (compact). Throws GoJSONError for values Go cannot encode (NaN, ±Inf, cycles). */
export function goJSON(v: unknown, options: GoJSONOptions = {}): string {
  return encode(
    v,
    {
      escapeHTML: options.escapeHTML ?? true,
      seen: new Set(),
      indent: options.indent,
      prefix: options.prefix ?? '',
    },
    0,
  );
}
