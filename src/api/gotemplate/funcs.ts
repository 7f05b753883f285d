// The functions a template can call: Go's builtins (text/template/funcs.go) and those Docker's CLI adds
// (docker/cli templates), with Go-like typed parameters.

import { formatValue, sprint, sprintf, sprintln } from './gofmt.js';
import { goJSON, GoJSONError } from './gojson.js';
import {
  compareBytes,
  goLen,
  goTypeName,
  isNil,
  isTrue,
  kindOf,
  mapEntriesInOrder,
  mapGet,
} from './govalue.js';

/** The Go parameter types a template function can declare. */
export type ParamType = 'any' | 'value' | 'string' | 'int' | 'bool' | 'strings';

/** A template function with Go-like typed parameters (arguments are checked and converted as Go does). */
export interface TemplateFuncSpec {
  params: readonly ParamType[];
  /** Type of the trailing variadic arguments, if the function is variadic. */
  variadic?: ParamType;
  fn: (...args: unknown[]) => unknown;
}

/** A plain function is taken as variadic over `any`; a spec declares Go-like parameter types. */
export type TemplateFunc = ((...args: unknown[]) => unknown) | TemplateFuncSpec;

export type FuncMap = Readonly<Record<string, TemplateFunc>>;

const spec = (
  params: ParamType[],
  fn: (...args: never[]) => unknown,
  variadic?: ParamType,
): TemplateFuncSpec => ({
  params,
  variadic,
  fn: fn as (...args: unknown[]) => unknown,
});

export const EXEC_ERROR = Symbol('execError');
class FuncError extends Error {}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    c === '\0' ? '\ufffd' : { '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!,
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (cp < 0x20) out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0');
    else if (cp < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch) || ch === ' ') out += ch;
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function evalArgsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args);
}

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';

function basicKind(v: unknown): BasicKind {
  const k = kindOf(v);
  switch (k) {
    case 'bool':
    case 'int':
    case 'float':
    case 'string':
    case 'invalid':
      return k;
    default:
      return 'other';
  }
}

const numeric = (k: BasicKind): boolean => k === 'int' || k === 'float';

function goEq(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2 && !(numeric(k1) && numeric(k2))) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new FuncError('incompatible types for comparison');
    } else if (k1 === 'other') {
      if (isNil(arg1) || isNil(arg)) truth = isNil(arg1) === isNil(arg);
      else if (kindOf(arg1) === 'slice' || kindOf(arg1) === 'map' || kindOf(arg1) === 'func')
        throw new FuncError(`non-comparable type ${formatValue(arg1)}: ${goTypeName(arg1)}`);
      else truth = arg1 === arg;
    } else if (k1 === 'invalid') {
      truth = true;
    } else if (numeric(k1)) {
      truth = (arg1 as number | bigint) == (arg as number | bigint);
    } else {
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

function goLt(arg1: unknown, arg2: unknown): boolean {
  const k1 = basicKind(arg1);
  if (k1 === 'invalid' || k1 === 'other') throw new FuncError('invalid type for comparison');
  const k2 = basicKind(arg2);
  if (k2 === 'invalid' || k2 === 'other') throw new FuncError('invalid type for comparison');
  if (k1 !== k2 && !(numeric(k1) && numeric(k2))) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (k1 === 'string') return compareBytes(arg1 as string, arg2 as string) < 0;
  return (arg1 as number) < (arg2 as number);
}

function indexArg(index: unknown, cap: number): number {
  const k = kindOf(index);
  if (k === 'invalid') throw new FuncError('cannot index slice/array with nil');
  if (k !== 'int') throw new FuncError(`cannot index slice/array with type ${goTypeName(index)}`);
  const x = Number(index);
  if (x < 0 || x > cap) throw new FuncError(`index out of range: ${String(index)}`);
  return x;
}

/** The zero value Go's index returns for a missing map key, guessed from the map's values. */
export function mapZero(m: object): unknown {
  const values = mapEntriesInOrder(m).map((e) => e[1]);
  if (values.every((v) => typeof v === 'string')) return '';
  if (values.every((v) => kindOf(v) === 'int')) return 0;
  if (values.every((v) => typeof v === 'boolean')) return false;
  return undefined;
}

function goIndex(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) {
    // Go: "index of untyped nil"; but a typed nil map (the usual case: an empty label map left out
    // of the API's JSON) gives the zero value, so a string key gives "".
    if (indexes.length > 0 && indexes.every((i) => typeof i === 'string')) return '';
    if (indexes.length === 0) throw new FuncError('index of untyped nil');
    throw new FuncError('index of untyped nil');
  }
  let cur: unknown = item;
  for (const index of indexes) {
    if (isNil(cur)) throw new FuncError('index of nil pointer');
    const k = kindOf(cur);
    if (k === 'slice') {
      const arr = cur as unknown[];
      const x = indexArg(index, arr.length);
      if (x >= arr.length) throw new FuncError('reflect: slice index out of range');
      cur = arr[x];
    } else if (k === 'string') {
      const bytes = Buffer.from(cur as string, 'utf8');
      const x = indexArg(index, bytes.length);
      if (x >= bytes.length) throw new FuncError('reflect: string index out of range');
      cur = bytes[x];
    } else if (k === 'map') {
      const m = cur as object;
      if (!(m instanceof Map) && kindOf(index) !== 'string') {
        if (isNil(index)) throw new FuncError('value is nil; should be of type string');
        throw new FuncError(`value has type ${goTypeName(index)}; should be string`);
      }
      const r = mapGet(m, index);
      cur = r.found ? r.value : mapZero(m);
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(cur)}`);
    }
  }
  return cur;
}

function goSlice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  if (k !== 'string' && k !== 'slice') throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  if (k === 'string' && indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
  const len = k === 'string' ? Buffer.byteLength(item as string) : (item as unknown[]).length;
  const idx = [0, len];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, len);
  });
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (k === 'string')
    return Buffer.from(item as string, 'utf8')
      .subarray(idx[0], idx[1])
      .toString('utf8');
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function goLength(item: unknown): number {
  if (item === null) throw new FuncError('len of nil pointer');
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
  const n = goLen(item);
  if (n === undefined) throw new FuncError(`len of type ${goTypeName(item)}`);
  return n;
}

function goCall(fn: unknown, ...args: unknown[]): unknown {
  if (isNil(fn)) throw new FuncError('call of nil');
  if (typeof fn !== 'function') throw new FuncError(`non-function of type ${goTypeName(fn)}`);
  return (fn as (...a: unknown[]) => unknown)(...args.map((a) => (a === undefined ? null : a)));
}

/** Go's strings.Title: upper-cases the first letter of each word. */
export function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = isTitleSeparator(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isTitleSeparator(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0x7f) {
    if (/[0-9A-Za-z_]/.test(ch)) return false;
    return true;
  }
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

/** Go's strings.Split. */
export function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

function truncateBytes(s: string, n: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length < n) return s;
  return b.subarray(0, Math.max(n, 0)).toString('utf8');
}

function goJSONFunc(v: unknown): string {
  try {
    return goJSON(v, { escapeHTML: false });
  } catch (e) {
    if (e instanceof GoJSONError) return '';
    throw e;
  }
}

/** Go's text/template builtin functions. */
export const BUILTIN_FUNCS: FuncMap = {
  and: spec(['value'], () => undefined, 'value'),
  or: spec(['value'], () => undefined, 'value'),
  not: spec(['value'], (v: unknown) => !isTrue(v)),
  len: spec(['value'], goLength),
  index: spec(['value'], goIndex, 'value'),
  slice: spec(['value'], goSlice, 'value'),
  eq: spec(['value'], goEq, 'value'),
  ne: spec(['value', 'value'], (a: unknown, b: unknown) => !goEq(a, b)),
  lt: spec(['value', 'value'], goLt),
  le: spec(['value', 'value'], (a: unknown, b: unknown) => goLt(a, b) || goEq(a, b)),
  gt: spec(['value', 'value'], (a: unknown, b: unknown) => !(goLt(a, b) || goEq(a, b))),
  ge: spec(['value', 'value'], (a: unknown, b: unknown) => !goLt(a, b)),
  print: spec([], (...a: unknown[]) => sprint(...a), 'any'),
  printf: spec(['string'], (f: string, ...a: unknown[]) => sprintf(f, ...a), 'any'),
  println: spec([], (...a: unknown[]) => sprintln(...a), 'any'),
  html: spec([], (...a: unknown[]) => htmlEscape(evalArgsString(a)), 'any'),
  js: spec([], (...a: unknown[]) => jsEscape(evalArgsString(a)), 'any'),
  urlquery: spec([], (...a: unknown[]) => queryEscape(evalArgsString(a)), 'any'),
  call: spec(['value'], goCall, 'value'),
};

/** The functions Docker's CLI adds to every template (docker/cli templates.basicFunctions). */
export const DOCKER_FUNCS: FuncMap = {
  json: spec(['any'], goJSONFunc),
  split: spec(['string', 'string'], goSplit),
  join: spec(['strings', 'string'], (a: string[], sep: string) => a.join(sep)),
  title: spec(['string'], goTitle),
  lower: spec(['string'], (s: string) => s.toLowerCase()),
  upper: spec(['string'], (s: string) => s.toUpperCase()),
  pad: spec(['string', 'int', 'int'], (s: string, pre: number, post: number) => {
    if (s === '') return s;
    if (pre < 0 || post < 0) throw new FuncError('strings: negative Repeat count');
    return ' '.repeat(pre) + s + ' '.repeat(post);
  }),
  truncate: spec(['string', 'int'], truncateBytes),
};

/** Docker's replacements used when a table template renders its header row (templates.HeaderFunctions). */
export const DOCKER_HEADER_FUNCS: FuncMap = {
  json: spec(['string'], (v: string) => v),
  split: spec(['string', 'string'], (v: string) => v),
  join: spec(['string', 'string'], (v: string) => v),
  title: spec(['string'], (v: string) => v),
  lower: spec(['string'], (v: string) => v),
  upper: spec(['string'], (v: string) => v),
  truncate: spec(['string', 'int'], (v: string) => v),
};
