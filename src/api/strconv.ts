// Go's strconv, the one re-implementation of it: integer and float literals as ParseInt, ParseUint and
// ParseFloat read them (base 0 is Go's literal syntax: 0x, 0o, 0b, a leading 0 for octal, underscores
// between digits), ParseBool, FormatFloat, Quote, Unquote and IsPrint, with Go's error texts
// (`strconv.ParseUint: parsing "-1": invalid syntax`). Docker's flag types, the Engine API's query
// parameters, go-units sizes and CPU amounts, text/template's number literals and fmt all read and print
// through these, and must match Go byte for byte.

/** Go's *strconv.NumError: which function failed (`ParseInt`), on what input, and why. */
export class NumError extends Error {
  constructor(
    readonly fn: string,
    readonly input: string,
    readonly reason: 'invalid syntax' | 'value out of range',
  ) {
    super(`strconv.${fn}: parsing ${goQuote(input)}: ${reason}`);
    this.name = 'NumError';
  }
}

// ---------------------------------------------------------------------------------------------------
// Parsing

/** strconv.ParseBool. */
export function parseBool(s: string): boolean {
  switch (s) {
    case '1':
    case 't':
    case 'T':
    case 'TRUE':
    case 'true':
    case 'True':
      return true;
    case '0':
    case 'f':
    case 'F':
    case 'FALSE':
    case 'false':
    case 'False':
      return false;
  }
  throw new NumError('ParseBool', s, 'invalid syntax');
}

/** Go's underscoreOK: underscores only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[bBoOxX]/.test(s[1]!)) {
    i = 2;
    saw = '0';
    hex = /[xX]/.test(s[1]!);
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** The value of digit `c` in bases up to 36, or 36 if it is none. */
function digitValue(c: string): number {
  const code = c.length === 1 ? c.charCodeAt(0) | 0x20 : 0; // ASCII letters lower-cased; digits keep theirs
  if (code >= 0x30 && code <= 0x39 && c >= '0' && c <= '9') return code - 0x30;
  if (code >= 0x61 && code <= 0x7a) return code - 0x61 + 10;
  return 36;
}

/**
 * strconv.ParseUint's scan of `s` in `base` (0: Go syntax), up to `maxVal` (none: unbounded, as big.Int
 * reads a natural number): the value, or why not — Go reports a value out of range as soon as it exceeds
 * the maximum, and a misplaced underscore only after the digits.
 */
function scanUint(
  s: string,
  base: number,
  maxVal?: bigint,
): bigint | 'invalid syntax' | 'value out of range' {
  if (s === '') return 'invalid syntax';
  const base0 = base === 0;
  let body = s;
  if (base0) {
    base = 10;
    if (s[0] === '0') {
      const prefix = s.length >= 3 ? s[1]!.toLowerCase() : '';
      base = prefix === 'b' ? 2 : prefix === 'o' ? 8 : prefix === 'x' ? 16 : 8;
      body = s.slice(base === 8 && prefix !== 'o' ? 1 : 2);
    }
  }
  const big = BigInt(base);
  let underscores = false;
  let n = 0n;
  for (const c of body) {
    if (c === '_' && base0) {
      underscores = true;
      continue;
    }
    const d = digitValue(c);
    if (d >= base) return 'invalid syntax';
    n = n * big + BigInt(d);
    if (maxVal !== undefined && n > maxVal) return 'value out of range';
  }
  if (underscores && !underscoreOK(s)) return 'invalid syntax';
  return n;
}

/** A natural number in Go's literal syntax (base 0) or in `base`, unbounded (big.Int's SetString); undefined if malformed. */
export function parseUintLiteral(s: string, base = 0): bigint | undefined {
  const n = scanUint(s, base);
  return typeof n === 'bigint' ? n : undefined;
}

/** strconv.ParseUint(s, base, bitSize), as a bigint. */
export function parseUintBig(s: string, base = 0, bitSize = 64): bigint {
  const n = scanUint(s, base, (1n << BigInt(bitSize)) - 1n);
  if (typeof n !== 'bigint') throw new NumError('ParseUint', s, n);
  return n;
}

/** strconv.ParseInt(s, base, bitSize), as a bigint. */
export function parseIntBig(s: string, base = 0, bitSize = 64): bigint {
  if (s === '') throw new NumError('ParseInt', s, 'invalid syntax');
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  const max = (1n << BigInt(bitSize)) - 1n;
  let n = scanUint(body, base, max);
  if (n === 'invalid syntax') throw new NumError('ParseInt', s, n);
  if (n === 'value out of range') n = max;
  const cutoff = 1n << BigInt(bitSize - 1);
  if ((!neg && n >= cutoff) || (neg && n > cutoff)) throw new NumError('ParseInt', s, 'value out of range');
  return neg ? -n : n;
}

/** strconv.ParseUint as a JavaScript number (exact below 2^53). */
export const parseUint = (s: string, base = 0, bitSize = 64): number =>
  Number(parseUintBig(s, base, bitSize));

/** strconv.ParseInt as a JavaScript number (exact below 2^53). */
export const parseInt64 = (s: string, base = 0, bitSize = 64): number =>
  Number(parseIntBig(s, base, bitSize));

export interface FloatParts {
  neg: boolean;
  base: 2 | 8 | 10 | 16;
  digits: string; // mantissa digits, integer and fraction together
  fracLen: number;
  expBase: 10n | 2n;
  exp: number;
}

/**
 * Splits a Go float literal (sign, 0x prefix — and 0b/0o with `allowBinaryPrefixes`, as big.Rat reads them —,
 * mantissa, e/p exponent); undefined if malformed.
 */
export function floatParts(s: string, allowBinaryPrefixes: boolean): FloatParts | undefined {
  if (s.includes('_') && !underscoreOK(s)) return undefined;
  let t = s.replace(/_/g, '');
  let neg = false;
  if (t[0] === '+' || t[0] === '-') {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  let base: 2 | 8 | 10 | 16 = 10;
  if (/^0[xX]/.test(t)) base = 16;
  else if (allowBinaryPrefixes && /^0[bB]/.test(t)) base = 2;
  else if (allowBinaryPrefixes && /^0[oO]/.test(t)) base = 8;
  if (base !== 10) t = t.slice(2);
  const digitRe = { 2: /[01]/, 8: /[0-7]/, 10: /[0-9]/, 16: /[0-9a-fA-F]/ }[base];
  let i = 0;
  let digits = '';
  let fracLen = 0;
  let sawDot = false;
  for (; i < t.length; i++) {
    const c = t[i]!;
    if (c === '.' && !sawDot) {
      sawDot = true;
      continue;
    }
    if (!digitRe.test(c)) break;
    digits += c;
    if (sawDot) fracLen++;
  }
  if (digits === '') return undefined;
  let expBase: 10n | 2n = 10n;
  let exp = 0;
  if (i < t.length) {
    const c = t[i]!.toLowerCase();
    if (c === 'e' && base === 10) expBase = 10n;
    else if (c === 'p') expBase = 2n;
    else return undefined;
    const m = /^[+-]?[0-9]+$/.exec(t.slice(i + 1));
    if (!m) return undefined;
    exp = Number(m[0]);
  } else if (base === 16 && !allowBinaryPrefixes) {
    return undefined; // strconv: a hex float needs a p exponent
  }
  return { neg, base, digits, fracLen, expBase, exp };
}

/** strconv.ParseFloat(s, 64). */
function parseFloat64(s: string): number {
  const lower = s.toLowerCase();
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return lower[0] === '-' ? -Infinity : Infinity;
  if (lower === 'nan') return NaN;
  const p = floatParts(s, false);
  if (!p) throw new NumError('ParseFloat', s, 'invalid syntax');
  let value: number;
  if (p.base === 10) {
    value = Number(`${p.digits}e${p.exp - p.fracLen}`);
  } else {
    value = Number(BigInt('0x' + p.digits)) * 2 ** (p.exp - 4 * p.fracLen);
  }
  if (!Number.isFinite(value)) {
    throw new NumError('ParseFloat', s, 'value out of range');
  }
  return p.neg ? -value : value;
}

const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * strconv.ParseFloat(s, bitSize): decimal and hexadecimal floats, `inf`/`infinity`/`nan`, and underscores
 * where Go allows them (between digits). 32-bit results are rounded to float32 precision, as Go stores
 * them.
 */
export function parseFloat(s: string, bitSize: 32 | 64 = 64): number {
  const v = parseFloat64(s);
  if (bitSize === 32) {
    if (Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX)
      throw new NumError('ParseFloat', s, 'value out of range');
    return Math.fround(v);
  }
  return v;
}

/** Go's strconv.Unquote for "…", `…` and '…'; throws `invalid syntax` (Go's ErrSyntax). */
export function goUnquote(s: string): string {
  const q = s[0];
  if (s.length < 2 || s[s.length - 1] !== q) throw new Error('invalid syntax');
  const body = s.slice(1, -1);
  if (q === '`') {
    if (body.includes('`')) throw new Error('invalid syntax');
    return body.replace(/\r/g, '');
  }
  if (q !== '"' && q !== "'") throw new Error('invalid syntax');
  let out = '';
  let i = 0;
  while (i < body.length) {
    const c = body[i]!;
    if (c === q || c === '\n') throw new Error('invalid syntax');
    if (c !== '\\') {
      const cp = body.codePointAt(i)!;
      const ch = String.fromCodePoint(cp);
      out += ch;
      i += ch.length;
      continue;
    }
    const e = body[i + 1];
    i += 2;
    switch (e) {
      case 'a':
        out += '\x07';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case '\\':
        out += '\\';
        break;
      case "'":
      case '"':
        if (e !== q) throw new Error('invalid syntax');
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hexText = body.slice(i, i + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hexText)) throw new Error('invalid syntax');
        const v = parseInt(hexText, 16);
        i += n;
        if (e === 'x') out += String.fromCharCode(v);
        else {
          if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) throw new Error('invalid syntax');
          out += String.fromCodePoint(v);
        }
        break;
      }
      default: {
        if (e !== undefined && e >= '0' && e <= '7') {
          const oct = body.slice(i - 1, i + 2);
          if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax');
          const v = parseInt(oct, 8);
          if (v > 255) throw new Error('invalid syntax');
          out += String.fromCharCode(v);
          i += 2;
          break;
        }
        throw new Error('invalid syntax');
      }
    }
  }
  if (q === "'" && [...out].length !== 1) throw new Error('invalid syntax');
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Formatting

interface Decimal {
  /** Digits without leading zeros and (after trimming) without trailing zeros; "" for zero. */
  d: string;
  /** Position of the decimal point: value = 0.d × 10^dp. */
  dp: number;
}

/** The exact decimal expansion of a finite, non-negative double. */
function exactDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const biasedExp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let e2: number;
  if (biasedExp === 0) {
    e2 = -1074;
  } else {
    mant |= 1n << 52n;
    e2 = biasedExp - 1075;
  }
  let digits: string;
  let dp: number;
  if (e2 >= 0) {
    digits = (mant << BigInt(e2)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-e2)).toString();
    dp = digits.length + e2;
  }
  return trimDecimal({ d: digits, dp });
}

/** The shortest decimal that reads back as the same double (what Go's precision -1 gives). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const [mant, exp] = x.toExponential().split('e');
  const d = mant!.replace('.', '');
  return trimDecimal({ d, dp: Number(exp) + 1 });
}

function trimDecimal(a: Decimal): Decimal {
  let end = a.d.length;
  while (end > 0 && a.d[end - 1] === '0') end--;
  let start = 0;
  while (start < end && a.d[start] === '0') start++;
  if (start === end) return { d: '', dp: 0 };
  return { d: a.d.slice(start, end), dp: a.dp - start };
}

/** Rounds to nd digits, half to even (exact, since the input is the exact expansion). */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return nd < 0 ? { d: '', dp: 0 } : a;
  const next = a.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next > 5) up = true;
  else if (next < 5) up = false;
  else if (nd + 1 < a.d.length) up = true;
  else up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  if (!up) return trimDecimal({ d: a.d.slice(0, nd), dp: a.dp });
  let i = nd - 1;
  while (i >= 0 && a.d[i] === '9') i--;
  if (i < 0) return { d: '1', dp: a.dp + 1 };
  const d = a.d.slice(0, i) + String.fromCharCode(a.d.charCodeAt(i) + 1);
  return trimDecimal({ d, dp: a.dp });
}

const digitAt = (a: Decimal, i: number): string => (i >= 0 && i < a.d.length ? a.d[i]! : '0');

function fmtE(a: Decimal, prec: number, e: string): string {
  let out = digitAt(a, 0);
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) out += digitAt(a, i);
  }
  const exp = a.d === '' ? 0 : a.dp - 1;
  const ax = Math.abs(exp);
  return `${out}${e}${exp < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
}

function fmtF(a: Decimal, prec: number): string {
  let out = '';
  if (a.dp > 0) {
    for (let i = 0; i < a.dp; i++) out += digitAt(a, i);
  } else {
    out = '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) out += digitAt(a, a.dp + i);
  }
  return out;
}

/** strconv.FormatFloat(|x|, verb, prec, 64) for finite x, without the sign. */
function formatFloatAbs(x: number, verb: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  const shortest = prec < 0;
  let digs: Decimal;
  if (shortest) {
    digs = shortestDecimal(x);
  } else {
    const exact = exactDecimal(x);
    switch (verb) {
      case 'e':
      case 'E':
        digs = roundDecimal(exact, prec + 1);
        break;
      case 'f':
        digs = roundDecimal(exact, exact.dp + prec);
        break;
      default:
        if (prec === 0) prec = 1;
        digs = roundDecimal(exact, prec);
    }
  }
  switch (verb) {
    case 'e':
    case 'E':
      return fmtE(digs, shortest ? Math.max(digs.d.length - 1, 0) : prec, verb);
    case 'f':
      return fmtF(digs, shortest ? Math.max(digs.d.length - digs.dp, 0) : prec);
    default: {
      const nd = digs.d.length;
      if (shortest) prec = Math.max(nd, 1);
      let eprec = prec;
      if (eprec > nd && nd >= digs.dp) eprec = nd;
      if (shortest) eprec = 6;
      const exp = digs.dp - 1; // -1 for zero, as in Go (so %.4g of 0 is "0", not "0e+00")
      if (exp < -4 || exp >= eprec) {
        if (prec > nd) prec = Math.max(nd, 1);
        return fmtE(digs, prec - 1, verb === 'g' ? 'e' : 'E');
      }
      if (prec > digs.dp) prec = nd;
      return fmtF(digs, Math.max(prec - digs.dp, 0));
    }
  }
}

/** Go's strconv.FormatFloat(x, fmt, prec, 64) for fmt in e E f g G (prec -1 = shortest). */
export function formatFloat(x: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  return (neg ? '-' : '') + formatFloatAbs(Math.abs(x), fmt, prec);
}

/**
 * A float32 as Go's fmt prints it with %v: the shortest decimal that reads back as the same float32,
 * in %g style (an exponent below 1e-4 and from 1e6 on: `1e-05`, `1e+06`). Go float32 fields such as
 * MaxFailureRatio print this way in templates.
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN';
  const f = Math.fround(v);
  if (f === 0) return '0';
  let digits = '';
  for (let p = 1; p <= 9; p++) {
    const candidate = f.toPrecision(p);
    if (Math.fround(Number(candidate)) === f) {
      digits = candidate;
      break;
    }
  }
  const n = Number(digits);
  const exp = Math.floor(Math.log10(Math.abs(n)));
  if (exp < -4 || exp >= 6) {
    const [mant, e] = n.toExponential().split('e');
    const ev = Number(e);
    return `${mant}e${ev < 0 ? '-' : '+'}${String(Math.abs(ev)).padStart(2, '0')}`;
  }
  return String(n);
}

/** Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrintRune(cp: number): boolean {
  if (cp === 0x20) return true;
  if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp <= 0xa0) || cp === 0xad) return false;
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(String.fromCodePoint(cp));
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

/** Go's strconv.Quote (or QuoteToASCII when ascii is set). */
export function goQuote(s: string, ascii = false, quote = '"'): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === quote || ch === '\\') {
      out += '\\' + ch;
      continue;
    }
    if (cp >= 0xd800 && cp <= 0xdfff) {
      out += '\\ufffd';
      continue;
    }
    if (ascii ? cp < 0x7f && cp >= 0x20 : isPrintRune(cp)) {
      out += ch;
      continue;
    }
    switch (ch) {
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\v':
        out += '\\v';
        continue;
    }
    if (cp < 0x20 || cp === 0x7f) out += '\\x' + hex(cp, 2);
    else if (cp < 0x10000) out += '\\u' + hex(cp, 4);
    else out += '\\U' + hex(cp, 8);
  }
  return out + quote;
}
