// Go's strconv parsing functions with Go's error texts. Docker's flag types (pflag and docker/cli opts)
// report parse failures with these texts (`strconv.ParseUint: parsing "-1": invalid syntax`), and the
// CLI must print them byte for byte.

import { goQuote } from './format/gofmt.js';
import { parseGoFloat, UnitsError } from '../api/units.js';

export class NumError extends Error {
  constructor(fn: string, input: string, reason: 'invalid syntax' | 'value out of range') {
    super(`strconv.${fn}: parsing ${goQuote(input)}: ${reason}`);
    this.name = 'NumError';
  }
}

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

const DIGITS: Record<number, RegExp> = {
  2: /^[01]+$/,
  8: /^[0-7]+$/,
  10: /^[0-9]+$/,
  16: /^[0-9a-fA-F]+$/,
};

/**
 * The magnitude of an unsigned integer literal as strconv.ParseUint(s, base, …) reads it; base 0
 * means Go syntax (0x, 0o, 0b prefixes, a leading 0 for octal, underscores between digits).
 */
function parseMagnitude(s: string, base: number): bigint | undefined {
  let body = s;
  let effective = base;
  let prefixed = false;
  if (base === 0) {
    effective = 10;
    if (/^0[xX]/.test(s)) {
      effective = 16;
      body = s.slice(2);
      prefixed = true;
    } else if (/^0[oO]/.test(s)) {
      effective = 8;
      body = s.slice(2);
      prefixed = true;
    } else if (/^0[bB]/.test(s)) {
      effective = 2;
      body = s.slice(2);
      prefixed = true;
    } else if (s.length > 1 && s[0] === '0') {
      effective = 8;
      body = s.slice(1);
      prefixed = true;
    }
    if (body.includes('_')) {
      // Go's underscoreOK: underscores only in base-prefixed literals, each between digits (or
      // right after the prefix).
      if (!/^_?[0-9a-zA-Z]+(_[0-9a-zA-Z]+)*$/.test(body) || (!prefixed && body.includes('_')))
        return undefined;
      body = body.replace(/_/g, '');
    }
  }
  const re = DIGITS[effective];
  if (!re || body === '' || !re.test(body)) return undefined;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[effective as 2 | 8 | 10 | 16];
  return BigInt(prefix + body);
}

/** strconv.ParseUint(s, base, bitSize), as a bigint. */
export function parseUintBig(s: string, base = 0, bitSize = 64): bigint {
  const v = parseMagnitude(s, base);
  if (v === undefined) throw new NumError('ParseUint', s, 'invalid syntax');
  if (v >= 1n << BigInt(bitSize)) throw new NumError('ParseUint', s, 'value out of range');
  return v;
}

/** strconv.ParseInt(s, base, bitSize), as a bigint. */
export function parseIntBig(s: string, base = 0, bitSize = 64): bigint {
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  const v = parseMagnitude(body, base);
  if (v === undefined) throw new NumError('ParseInt', s, 'invalid syntax');
  const limit = 1n << BigInt(bitSize - 1);
  if ((!neg && v >= limit) || (neg && v > limit)) throw new NumError('ParseInt', s, 'value out of range');
  return neg ? -v : v;
}

/** strconv.ParseUint as a JavaScript number (exact below 2^53). */
export const parseUint = (s: string, base = 0, bitSize = 64): number =>
  Number(parseUintBig(s, base, bitSize));

/** strconv.ParseInt as a JavaScript number (exact below 2^53). */
export const parseInt64 = (s: string, base = 0, bitSize = 64): number =>
  Number(parseIntBig(s, base, bitSize));

const FLOAT32_MAX = 3.4028234663852886e38;

/** strconv.ParseFloat(s, bitSize): 32-bit results are rounded to float32 precision, as Go stores them. */
export function parseFloat(s: string, bitSize: 32 | 64): number {
  let v: number;
  try {
    v = parseGoFloat(s);
  } catch (e) {
    if (e instanceof UnitsError) throw new Error(e.message);
    throw e;
  }
  if (bitSize === 32) {
    if (Number.isFinite(v) && Math.abs(v) > FLOAT32_MAX)
      throw new NumError('ParseFloat', s, 'value out of range');
    return Math.fround(v);
  }
  return v;
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
