// Sizes and CPU amounts as Docker reads and prints them: docker/go-units v0.5 (RAMInBytes,
// FromHumanSize, HumanSize, BytesSize) and docker/cli opts (ParseCPUs for `--limit-cpu` and
// `--reserve-cpu`, MemBytes for `--limit-memory`).
//
// Results are JavaScript numbers: sizes up to 2^53 bytes (8 PiB) are exact, larger ones are the
// nearest double (Go truncates its float64 to int64 there, so the two agree to float precision).

export const KB = 1000;
export const MB = 1000 * KB;
export const GB = 1000 * MB;
export const TB = 1000 * GB;
export const PB = 1000 * TB;

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;
export const PiB = 1024 * TiB;

const DECIMAL_MAP: Record<string, number> = { k: KB, m: MB, g: GB, t: TB, p: PB };
const BINARY_MAP: Record<string, number> = { k: KiB, m: MiB, g: GiB, t: TiB, p: PiB };

const DECIMAL_ABBRS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const BINARY_ABBRS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

export class UnitsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnitsError';
  }
}

/** Go's strconv.Quote (printable characters kept, the rest escaped). */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0x80 && !/[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch))
      out +=
        cp > 0xffff ? '\\U' + cp.toString(16).padStart(8, '0') : '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/** The exact decimal digits of a finite positive double: value = 0.digits × 10^dp. */
function exactDigits(x: number): { d: string; dp: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const biased = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  let e2 = -1074;
  if (biased !== 0) {
    mant |= 1n << 52n;
    e2 = biased - 1075;
  }
  const digits = e2 >= 0 ? (mant << BigInt(e2)).toString() : (mant * 5n ** BigInt(-e2)).toString();
  const dp = e2 >= 0 ? digits.length : digits.length + e2;
  return { d: digits.replace(/0+$/, ''), dp };
}

/** Go's fmt `%.{prec}g` for a finite non-negative number (exact, ties to even). */
function formatG(x: number, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  if (x < 0) return '-' + formatG(-x, prec);
  if (x === 0) return '0';
  if (prec === 0) prec = 1;
  const a = exactDigits(x);
  let d = a.d;
  let dp = a.dp;
  if (d.length > prec) {
    const next = d.charCodeAt(prec) - 48;
    const up = next > 5 || (next === 5 && (d.length > prec + 1 || (d.charCodeAt(prec - 1) - 48) % 2 === 1));
    d = d.slice(0, prec);
    if (up) {
      const n = (BigInt(d) + 1n).toString();
      if (n.length > d.length) dp++;
      d = n.slice(0, prec);
    }
    d = d.replace(/0+$/, '');
  }
  const exp = dp - 1;
  let eprec = prec;
  if (eprec > d.length && d.length >= dp) eprec = d.length;
  if (exp < -4 || exp >= eprec) {
    const mant = d.length > 1 ? `${d[0]}.${d.slice(1)}` : d;
    const ax = Math.abs(exp);
    return `${mant}e${exp < 0 ? '-' : '+'}${ax < 10 ? '0' : ''}${ax}`;
  }
  if (dp <= 0) return `0.${'0'.repeat(-dp)}${d}`;
  if (d.length <= dp) return d + '0'.repeat(dp - d.length);
  return `${d.slice(0, dp)}.${d.slice(dp)}`;
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

interface FloatParts {
  neg: boolean;
  base: 2 | 8 | 10 | 16;
  digits: string; // mantissa digits, integer and fraction together
  fracLen: number;
  expBase: 10n | 2n;
  exp: number;
}

/** Splits a Go float literal (sign, 0x/0b/0o prefix, mantissa, e/p exponent); undefined if malformed. */
function floatParts(s: string, allowBinaryPrefixes: boolean): FloatParts | undefined {
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

/**
 * Go's strconv.ParseFloat(s, 64): decimal and hexadecimal floats, `inf`/`infinity`/`nan`, and
 * underscores where Go allows them (between digits).
 */
export function parseGoFloat(s: string): number {
  const lower = s.toLowerCase();
  const body = lower.replace(/^[+-]/, '');
  if (body === 'inf' || body === 'infinity') return lower[0] === '-' ? -Infinity : Infinity;
  if (lower === 'nan') return NaN;
  const p = floatParts(s, false);
  if (!p) throw new UnitsError(`strconv.ParseFloat: parsing ${goQuote(s)}: invalid syntax`);
  let value: number;
  if (p.base === 10) {
    value = Number(`${p.digits}e${p.exp - p.fracLen}`);
  } else {
    value = Number(BigInt('0x' + p.digits)) * 2 ** (p.exp - 4 * p.fracLen);
  }
  if (!Number.isFinite(value)) {
    throw new UnitsError(`strconv.ParseFloat: parsing ${goQuote(s)}: value out of range`);
  }
  return p.neg ? -value : value;
}

function parseSize(sizeStr: string, uMap: Record<string, number>): number {
  let sep = -1;
  for (let i = sizeStr.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(sizeStr[i]!)) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new UnitsError(`invalid size: '${sizeStr}'`);
  let num: string;
  let sfx: string;
  if (sizeStr[sep] !== ' ') {
    num = sizeStr.slice(0, sep + 1);
    sfx = sizeStr.slice(sep + 1);
  } else {
    num = sizeStr.slice(0, sep);
    sfx = sizeStr.slice(sep + 1);
  }
  let size = parseGoFloat(num);
  if (size < 0) throw new UnitsError(`invalid size: '${sizeStr}'`);
  if (sfx.length === 0) return goInt64(size);
  const badSuffix = (): never => {
    throw new UnitsError(`invalid suffix: '${sfx}'`);
  };
  if (Buffer.byteLength(sfx) > 3) badSuffix();
  sfx = sfx.toLowerCase();
  if (sfx[0] === 'b') {
    if (sfx.length > 1) badSuffix();
    return goInt64(size);
  }
  const mul = uMap[sfx[0]!];
  if (mul === undefined) badSuffix();
  size *= mul!;
  if ((sfx.length === 2 && sfx[1] !== 'b') || (sfx.length === 3 && sfx.slice(1) !== 'ib')) badSuffix();
  return goInt64(size);
}

/** Go's int64(f) for the non-negative floats parseSize produces (truncation; saturating for NaN/huge). */
function goInt64(f: number): number {
  if (Number.isNaN(f)) return -(2 ** 63);
  if (f >= 2 ** 63) return -(2 ** 63);
  return Math.trunc(f);
}

/**
 * go-units RAMInBytes: a size with binary multipliers (`512m` → 536870912). Suffixes b, k, m, g, t,
 * p in any case, optionally followed by `b` or `ib` (`1.5GiB`, `10MB`, `4k`), optionally after one
 * space. Errors: `invalid size: '…'`, `invalid suffix: '…'`, strconv.ParseFloat's.
 */
export function ramInBytes(size: string): number {
  return parseSize(size, BINARY_MAP);
}

/** go-units FromHumanSize: like ramInBytes with decimal multipliers (`1.5kB` → 1500). */
export function fromHumanSize(size: string): number {
  return parseSize(size, DECIMAL_MAP);
}

function sizeAndUnit(size: number, base: number, units: string[]): [number, string] {
  let i = 0;
  const limit = units.length - 1;
  while (size >= base && i < limit) {
    size /= base;
    i++;
  }
  return [size, units[i]!];
}

/** go-units HumanSizeWithPrecision: decimal units, `%.*g` (`HumanSizeWithPrecision(1500, 4)` → "1.5kB"). */
export function humanSizeWithPrecision(size: number, precision: number): string {
  const [s, unit] = sizeAndUnit(size, 1000, DECIMAL_ABBRS);
  return formatG(s, precision) + unit;
}

/** go-units HumanSize: decimal units, 4 significant digits ("2.746MB", "796kB", "1B"). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize: binary units, 4 significant digits ("1.5GiB", "512MiB", "4KiB", "100B"). */
export function bytesSize(size: number): string {
  const [s, unit] = sizeAndUnit(size, 1024, BINARY_ABBRS);
  return formatG(s, 4) + unit;
}

/**
 * docker/cli opts.MemBytes.String(): how a memory flag's value prints, `0` for zero and
 * `bytesSize` otherwise.
 */
export function memBytesString(bytes: number): string {
  return bytes !== 0 ? bytesSize(bytes) : '0';
}

// ---------------------------------------------------------------------------------------------------
// CPUs

interface Rat {
  num: bigint;
  den: bigint;
}

const pow = (b: bigint, e: number): bigint => b ** BigInt(e);

function parseUnsignedInt(s: string): bigint | undefined {
  // big.Int SetString(s, 0) / natural scan with base prefix: 0x, 0o, 0b, or 0 (octal).
  let base = 10;
  let body = s;
  let prefixed = false;
  if (/^0[xX]/.test(s)) {
    base = 16;
    body = s.slice(2);
    prefixed = true;
  } else if (/^0[oO]/.test(s)) {
    base = 8;
    body = s.slice(2);
    prefixed = true;
  } else if (/^0[bB]/.test(s)) {
    base = 2;
    body = s.slice(2);
    prefixed = true;
  } else if (/^0[0-7_]/.test(s)) {
    base = 8;
    body = s.slice(1);
    prefixed = true;
  }
  if (body.includes('_')) {
    if (!prefixed || !/^_?[0-9a-fA-F]+(_[0-9a-fA-F]+)*$/.test(body)) return undefined;
    body = body.replace(/_/g, '');
  }
  const re = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16];
  if (!re.test(body)) return undefined;
  const prefix = { 2: '0b', 8: '0o', 10: '', 16: '0x' }[base as 2 | 8 | 10 | 16];
  return BigInt(prefix + body);
}

/** big.Rat.SetString: "a/b" or a decimal (or 0x/0b/0o) floating-point number with an exponent. */
function parseRat(s: string): Rat | undefined {
  if (s === '') return undefined;
  const slash = s.indexOf('/');
  if (slash >= 0) {
    let a = s.slice(0, slash);
    let neg = false;
    if (a[0] === '+' || a[0] === '-') {
      neg = a[0] === '-';
      a = a.slice(1);
    }
    const num = parseUnsignedInt(a);
    const den = parseUnsignedInt(s.slice(slash + 1));
    if (num === undefined || den === undefined || den === 0n) return undefined;
    return { num: neg ? -num : num, den };
  }
  const p = floatParts(s, true);
  if (!p || Math.abs(p.exp) > 10000) return undefined;
  const b = BigInt(p.base);
  let num = BigInt((p.base === 10 ? '' : { 2: '0b', 8: '0o', 16: '0x' }[p.base]) + p.digits);
  let den = pow(b, p.fracLen);
  if (p.exp >= 0) num *= pow(p.expBase, p.exp);
  else den *= pow(p.expBase, -p.exp);
  if (p.neg) num = -num;
  return { num, den };
}

/**
 * docker/cli opts.ParseCPUs: a CPU amount as nano CPUs (`0.5` → 500000000, `1/4` → 250000000,
 * `2` → 2000000000). Errors: `failed to parse 0.5x as a rational number`, `value is too precise`.
 */
export function parseCPUs(value: string): number {
  const r = parseRat(value);
  if (!r) throw new UnitsError(`failed to parse ${value} as a rational number`);
  const scaled = r.num * 1_000_000_000n;
  if (scaled % r.den !== 0n) throw new UnitsError('value is too precise');
  return Number(BigInt.asIntN(64, scaled / r.den));
}

/**
 * docker/cli opts.NanoCPUs.String(): big.Rat(n, 1e9).FloatString(3), e.g. 500000000 → "0.500";
 * "" for zero (so flag help shows no default). Rounds half away from zero.
 */
export function formatNanoCPUs(nanoCPUs: number | bigint): string {
  const n = BigInt(nanoCPUs);
  if (n === 0n) return '';
  const neg = n < 0n;
  const abs = neg ? -n : n;
  // value = abs / 1e9, to 3 decimals: round(abs / 1e6) / 1000, halves away from zero.
  let q = abs / 1_000_000n;
  const rem = abs % 1_000_000n;
  if (rem * 2n >= 1_000_000n) q += 1n;
  const int = q / 1000n;
  const frac = (q % 1000n).toString().padStart(3, '0');
  return `${neg ? '-' : ''}${int}.${frac}`;
}
