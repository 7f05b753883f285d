// Sizes and CPU amounts as Docker reads and prints them: docker/go-units v0.5 (RAMInBytes,
// FromHumanSize, HumanSize, BytesSize) and docker/cli opts (ParseCPUs for `--limit-cpu` and
// `--reserve-cpu`, MemBytes for `--limit-memory`).
//
// Results are JavaScript numbers: sizes up to 2^53 bytes (8 PiB) are exact, larger ones are the
// nearest double (Go truncates its float64 to int64 there, so the two agree to float precision).

import { floatParts, formatFloat, NumError, parseFloat, parseUintLiteral } from './strconv.js';

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

/** strconv's errors as this module's, so that every failure here is a UnitsError. */
function unitsError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof NumError) throw new UnitsError(e.message);
    throw e;
  }
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
  let size = unitsError(() => parseFloat(num, 64));
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
  return formatFloat(s, 'g', precision) + unit;
}

/** go-units HumanSize: decimal units, 4 significant digits ("2.746MB", "796kB", "1B"). */
export function humanSize(size: number): string {
  return humanSizeWithPrecision(size, 4);
}

/** go-units BytesSize: binary units, 4 significant digits ("1.5GiB", "512MiB", "4KiB", "100B"). */
export function bytesSize(size: number): string {
  const [s, unit] = sizeAndUnit(size, 1024, BINARY_ABBRS);
  return formatFloat(s, 'g', 4) + unit;
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
    const num = parseUintLiteral(a);
    const den = parseUintLiteral(s.slice(slash + 1));
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
