// Go durations, the one place shoal reads and prints them: time.ParseDuration, time.Duration.String, and
// Docker's human-readable durations (docker/go-units HumanDuration). Durations are integer nanoseconds.
//
// Printing has two forms because Docker uses both, for different things:
// - `formatDuration` is Go's time.Duration.String() (`1m30s`, `1.5s`, `300ms`, `0s`): exact, and how Go
//   prints a time.Duration value anywhere — `docker service inspect --pretty` (delays, monitor periods,
//   healthcheck settings), flag defaults in help, templates (`{{.Spec...Delay}}`), and messages Docker
//   builds with %v/%s of a duration (`Health check exceeded timeout (30s)`).
// - `humanDuration` is go-units HumanDuration (`Less than a second`, `About a minute`, `3 hours`):
//   rounded, for a person reading elapsed time — `Running 2 minutes ago` in `service ps`, `Started … ago`
//   of an update, and the `docker info` lines Docker prints with units.HumanDuration (heartbeat period,
//   certificate expiry).
// Use the one Docker uses for the same output; never print a duration by hand.
//
// Errors quote the input as Go's time package does (`goTimeQuote`), which differs from strconv.Quote
// (non-ASCII bytes as \xNN), so the parse errors match Go's byte for byte.
//
// Range: Go's durations are int64 nanoseconds (about ±292 years). A JavaScript number holds
// integers exactly up to 2^53 ns (about 104 days); `parseDuration` returns a number and rounds
// longer durations to the nearest representable value, while `parseDurationBig` returns the exact
// bigint. `formatDuration` and `humanDuration` accept either.

const NS = 1n;
const US = 1000n * NS;
const MS = 1000n * US;
const SEC = 1000n * MS;
const MIN = 60n * SEC;
const HOUR = 60n * MIN;

export const Nanosecond = 1;
export const Microsecond = 1000;
export const Millisecond = 1_000_000;
export const Second = 1_000_000_000;
export const Minute = 60 * Second;
export const Hour = 60 * Minute;

const UNITS: Record<string, bigint> = {
  ns: NS,
  us: US,
  '\u00b5s': US, // µs, MICRO SIGN
  '\u03bcs': US, // μs, GREEK SMALL LETTER MU
  ms: MS,
  s: SEC,
  m: MIN,
  h: HOUR,
};

const TWO63 = 1n << 63n;

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Go's time.quote: ASCII printable kept (with `"` and `\` escaped), other bytes as \xNN. */
function goTimeQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0x80 || cp < 0x20) {
      for (const b of Buffer.from(ch, 'utf8')) out += '\\x' + b.toString(16).padStart(2, '0');
    } else {
      if (ch === '"' || ch === '\\') out += '\\';
      out += ch;
    }
  }
  return out + '"';
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** Go's time.ParseDuration, exact. Throws DurationError with Go's message. */
export function parseDurationBig(input: string): bigint {
  const orig = input;
  const invalid = (): DurationError => new DurationError(`time: invalid duration ${goTimeQuote(orig)}`);
  let s = input;
  let neg = false;
  if (s !== '' && (s[0] === '-' || s[0] === '+')) {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '0') return 0n;
  if (s === '') throw invalid();
  let d = 0n;
  while (s !== '') {
    if (!(s[0] === '.' || isDigit(s[0]))) throw invalid();
    // [0-9]*
    let i = 0;
    let v = 0n;
    while (isDigit(s[i])) {
      if (v > TWO63 / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > TWO63) throw invalid();
      i++;
    }
    const pre = i > 0;
    s = s.slice(i);
    // (\.[0-9]*)?
    let post = false;
    let f = 0n;
    let scale = 1;
    if (s[0] === '.') {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      while (isDigit(s[j])) {
        if (!overflow) {
          if (f > (TWO63 - 1n) / 10n) overflow = true;
          else {
            const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
            if (y > TWO63) overflow = true;
            else {
              f = y;
              scale *= 10;
            }
          }
        }
        j++;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid();
    // unit
    let k = 0;
    while (k < s.length && !(s[k] === '.' || isDigit(s[k]))) k++;
    if (k === 0) throw new DurationError(`time: missing unit in duration ${goTimeQuote(orig)}`);
    const u = s.slice(0, k);
    s = s.slice(k);
    // The unit is the user's text: `1constructor` is an unknown unit, not Object.prototype.constructor.
    const unit = Object.hasOwn(UNITS, u) ? UNITS[u] : undefined;
    if (unit === undefined) {
      throw new DurationError(`time: unknown unit ${goTimeQuote(u)} in duration ${goTimeQuote(orig)}`);
    }
    if (v > TWO63 / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // Go does this part in float64 (exact to the nanosecond for fractions of an hour).
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > TWO63) throw invalid();
    }
    d += v;
    if (d > TWO63) throw invalid();
  }
  if (neg) return -d;
  if (d > TWO63 - 1n) throw invalid();
  return d;
}

/** Go's time.ParseDuration, in integer nanoseconds (see the range note at the top). */
export function parseDuration(s: string): number {
  return Number(parseDurationBig(s));
}

/** The fraction v / 10^prec as ".123" (trailing zeros and an empty fraction left out), and v / 10^prec. */
function fmtFrac(v: bigint, prec: number): [string, bigint] {
  let out = '';
  let printed = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    printed = printed || digit !== 0n;
    if (printed) out = digit.toString() + out;
    v /= 10n;
  }
  if (printed) out = '.' + out;
  return [out, v];
}

/** Go's time.Duration.String(): `1h2m3.5s`, `1.5s`, `300ms`, `1.5µs`, `0s`, `-2m0s`. */
export function formatDuration(d: number | bigint): string {
  let u = typeof d === 'bigint' ? d : BigInt(Math.trunc(d));
  const neg = u < 0n;
  if (neg) u = -u;
  let out: string;
  if (u < SEC) {
    if (u === 0n) return '0s';
    let prec: number;
    let unit: string;
    if (u < US) {
      prec = 0;
      unit = 'ns';
    } else if (u < MS) {
      prec = 3;
      unit = '\u00b5s';
    } else {
      prec = 6;
      unit = 'ms';
    }
    const [frac, whole] = fmtFrac(u, prec);
    out = whole.toString() + frac + unit;
  } else {
    const [frac, secs] = fmtFrac(u, 9);
    out = (secs % 60n).toString() + frac + 's';
    let mins = secs / 60n;
    if (mins > 0n) {
      out = (mins % 60n).toString() + 'm' + out;
      mins /= 60n;
      if (mins > 0n) out = mins.toString() + 'h' + out;
    }
  }
  return neg ? '-' + out : out;
}

const toBig = (d: number | bigint): bigint => (typeof d === 'bigint' ? d : BigInt(Math.trunc(d)));

/** Go's Duration.Seconds(), Minutes(), Hours(): whole units plus the remainder as a fraction. */
function inUnits(d: bigint, unit: bigint): number {
  const whole = d / unit;
  const rest = d % unit;
  return Number(whole) + Number(rest) / Number(unit);
}

/**
 * docker/go-units HumanDuration: "Less than a second", "1 second", "5 seconds", "About a minute",
 * "5 minutes", "About an hour", "3 hours", "2 days", "3 weeks", "4 months", "2 years".
 * Docker shows it as `<it> ago` (e.g. `docker node ls`, image lists) and, lower-cased, in task
 * states: `Running 2 minutes ago`, `Running less than a second ago` (see `taskStateSince`).
 */
export function humanDuration(d: number | bigint): string {
  const ns = toBig(d);
  const seconds = Math.trunc(inUnits(ns, SEC));
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(inUnits(ns, MIN));
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(inUnits(ns, HOUR) + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(Math.trunc(inUnits(ns, HOUR)) / 24 / 365)} years`;
}

/** `<humanDuration> ago`, as Docker prints creation and update times: "2 minutes ago". */
export function humanDurationAgo(d: number | bigint): string {
  return `${humanDuration(d)} ago`;
}

/**
 * A task's CURRENT STATE column in `docker service ps` / `docker stack ps`: the state with its
 * first letter upper-cased, then the lower-cased human duration since the state's timestamp and
 * "ago": `Running 2 minutes ago`, `Preparing less than a second ago`, `Shutdown about an hour ago`.
 */
export function taskStateSince(state: string, sinceNs: number | bigint): string {
  return `${prettyPrint(state)} ${humanDuration(sinceNs).toLowerCase()} ago`;
}

/**
 * Docker's command.PrettyPrint for strings: first byte upper-cased, the rest lower-cased
 * ("running" → "Running", "RUNNING" → "Running"); a one-character string is lower-cased.
 */
export function prettyPrint(s: string): string {
  if (s.length === 0) return s;
  if (Buffer.byteLength(s) === 1) return s.toLowerCase();
  return s[0]!.toUpperCase() + s.slice(1).toLowerCase();
}
