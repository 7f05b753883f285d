// Go's fmt package (Sprintf, Sprint, Sprintln) over JavaScript values, as templates' `printf`, `print`
// and `println` and the printing of `{{.Value}}` need it. Values are classified by govalue.ts.
//
// Supported: verbs v s q d b o O x X c U e E f F g G t T %, flags `+ - # 0 space`, width and precision
// (also `*`), explicit argument indexes (`%[2]d`), and Go's error forms (`%!d(string=x)`,
// `%!s(MISSING)`, `%!(EXTRA …)`, `%!(NOVERB)`, `%!(BADINDEX)`, `%!(BADWIDTH)`, `%!(BADPREC)`).
// Deliberate leniency: a JavaScript number that happens to be integral also accepts the float verbs
// (`%.2f` of 5 prints `5.00`), since JavaScript cannot tell Go's int from float64.

import { formatFloat, goQuote, isPrintRune } from '../strconv.js';
import { goTypeName, isNil, kindOf, mapEntries, structFields } from './govalue.js';

interface Flags {
  plus: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  width: number | undefined;
  prec: number | undefined;
  plusV: boolean;
  sharpV: boolean;
}

const noFlags = (): Flags => ({
  plus: false,
  minus: false,
  sharp: false,
  space: false,
  zero: false,
  width: undefined,
  prec: undefined,
  plusV: false,
  sharpV: false,
});

// ---------------------------------------------------------------------------------------------------
// Strings

const runeCount = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, '0');
}

function canBackquote(s: string): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '`' || cp === 0xfeff) return false;
    if ((cp < 0x20 && ch !== '\t') || cp === 0x7f) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// Printer

class Printer {
  out = '';

  pad(s: string, f: Flags): void {
    const w = f.width;
    if (w === undefined) {
      this.out += s;
      return;
    }
    const n = w - runeCount(s);
    if (n <= 0) {
      this.out += s;
      return;
    }
    if (f.minus) this.out += s + ' '.repeat(n);
    else this.out += (f.zero ? '0' : ' ').repeat(n) + s;
  }

  badVerb(verb: string, arg: unknown): void {
    this.out += `%!${verb}(`;
    if (isNil(arg)) {
      this.out += '<nil>';
    } else {
      this.out += goTypeName(arg) + '=';
      this.printArg(arg, 'v', noFlags());
    }
    this.out += ')';
  }

  fmtInteger(v: bigint, verb: string, f: Flags): void {
    const neg = v < 0n;
    const abs = neg ? -v : v;
    let base = 10;
    switch (verb) {
      case 'v':
      case 'd':
        break;
      case 'b':
        base = 2;
        break;
      case 'o':
      case 'O':
        base = 8;
        break;
      case 'x':
      case 'X':
        base = 16;
        break;
      case 'c':
        this.pad(String.fromCodePoint(validRune(v)), f);
        return;
      case 'q':
        this.pad(goQuote(String.fromCodePoint(validRune(v)), f.plus, "'"), f);
        return;
      case 'U': {
        let s = 'U+' + abs.toString(16).toUpperCase().padStart(4, '0');
        if (neg) s = 'U+' + BigInt.asUintN(64, v).toString(16).toUpperCase();
        if (f.sharp && v >= 0n && v <= 0x10ffffn && isPrintRune(Number(v))) {
          s += ` '${String.fromCodePoint(Number(v))}'`;
        }
        this.pad(s, { ...f, zero: false });
        return;
      }
      default:
        this.badVerb(verb, v);
        return;
    }
    let digits = abs.toString(base);
    if (verb === 'X') digits = digits.toUpperCase();
    let prec = 0;
    if (f.prec !== undefined) {
      prec = f.prec;
      if (prec === 0 && v === 0n) {
        this.pad('', { ...f, zero: false });
        return;
      }
    } else if (f.zero && f.width !== undefined) {
      prec = f.width;
      if (neg || f.plus || f.space) prec--;
    }
    digits = digits.padStart(prec, '0');
    let prefix = '';
    if (f.sharp) {
      if (base === 2) prefix = '0b';
      else if (base === 8 && !digits.startsWith('0')) prefix = '0';
      else if (verb === 'x') prefix = '0x';
      else if (verb === 'X') prefix = '0X';
    }
    if (verb === 'O') prefix = '0o';
    const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : '';
    this.pad(sign + prefix + digits, { ...f, zero: false });
  }

  fmtFloat(v: number, verb: string, f: Flags): void {
    let fmt: 'e' | 'E' | 'f' | 'g' | 'G';
    let prec = f.prec ?? -1;
    switch (verb) {
      case 'v':
        fmt = 'g';
        break;
      case 'e':
      case 'E':
      case 'g':
      case 'G':
        fmt = verb;
        break;
      case 'f':
      case 'F':
        fmt = 'f';
        break;
      default:
        this.badVerb(verb, v);
        return;
    }
    if ((fmt === 'e' || fmt === 'E' || fmt === 'f') && prec < 0) prec = 6;
    let num = formatFloat(v, fmt, prec);
    if (num[0] !== '-' && num[0] !== '+') num = '+' + num;
    if (f.space && num[0] === '+' && !f.plus) num = ' ' + num.slice(1);
    if (num[1] === 'I' || num[1] === 'N') {
      if (num[1] === 'N' && !f.space && !f.plus) num = num.slice(1);
      this.pad(num, { ...f, zero: false });
      return;
    }
    if (f.sharp) num = sharpFloat(num, verb === 'g' || verb === 'G' ? prec : 0);
    if (f.plus || num[0] !== '+') {
      if (f.zero && f.width !== undefined && f.width > num.length) {
        this.out += num[0] + '0'.repeat(f.width - num.length) + num.slice(1);
        return;
      }
      this.pad(num, f);
      return;
    }
    this.pad(num.slice(1), f);
  }

  fmtString(s: string, verb: string, f: Flags): void {
    switch (verb) {
      case 'v':
        if (f.sharpV) {
          this.pad(goQuote(s), f);
          return;
        }
        this.pad(f.prec !== undefined ? [...s].slice(0, f.prec).join('') : s, f);
        return;
      case 's':
        this.pad(f.prec !== undefined ? [...s].slice(0, f.prec).join('') : s, f);
        return;
      case 'q': {
        const t = f.prec !== undefined ? [...s].slice(0, f.prec).join('') : s;
        if (f.sharp && canBackquote(t)) this.pad('`' + t + '`', f);
        else this.pad(goQuote(t, f.plus), f);
        return;
      }
      case 'x':
      case 'X': {
        let bytes = Buffer.from(s, 'utf8');
        if (f.prec !== undefined) bytes = bytes.subarray(0, f.prec);
        const parts: string[] = [];
        for (const b of bytes) {
          let h = hex(b, 2);
          if (verb === 'X') h = h.toUpperCase();
          if (f.sharp && (f.space || parts.length === 0)) h = (verb === 'X' ? '0X' : '0x') + h;
          parts.push(h);
        }
        this.pad(parts.join(f.space ? ' ' : ''), f);
        return;
      }
      default:
        this.badVerb(verb, s);
    }
  }

  printArg(arg: unknown, verb: string, f: Flags): void {
    if (isNil(arg)) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>', f);
      else this.badVerb(verb, arg);
      return;
    }
    if (verb === 'T') {
      this.fmtString(goTypeName(arg), 's', f);
      return;
    }
    this.printValue(arg, verb, f, 0);
  }

  printValue(v: unknown, verb: string, f: Flags, depth: number): void {
    switch (kindOf(v)) {
      case 'invalid':
        this.pad('<nil>', f);
        return;
      case 'bool':
        if (verb === 't' || verb === 'v') this.pad(String(v), f);
        else this.badVerb(verb, v);
        return;
      case 'int':
        if (typeof v === 'number' && 'eEfFgG'.includes(verb)) this.fmtFloat(v, verb, f);
        else this.fmtInteger(BigInt(v as number | bigint), verb, f);
        return;
      case 'float':
        this.fmtFloat(v as number, verb, f);
        return;
      case 'string':
        this.fmtString(v as string, verb, f);
        return;
      case 'time':
        this.fmtString(goTimeString(v as Date), verb === 'v' ? 's' : verb, f);
        return;
      case 'func':
        this.pad('0x0', f);
        return;
      case 'slice': {
        if (f.sharpV) {
          this.out += goTypeName(v) + '{';
          (v as unknown[]).forEach((e, i) => {
            if (i > 0) this.out += ', ';
            this.printValue(e, verb, f, depth + 1);
          });
          this.out += '}';
          return;
        }
        this.out += '[';
        (v as unknown[]).forEach((e, i) => {
          if (i > 0) this.out += ' ';
          this.printValue(e, verb, f, depth + 1);
        });
        this.out += ']';
        return;
      }
      case 'map': {
        this.out += f.sharpV ? goTypeName(v) + '{' : 'map[';
        mapEntries(v as object).forEach(([k, e], i) => {
          if (i > 0) this.out += f.sharpV ? ', ' : ' ';
          this.printValue(k, verb, f, depth + 1);
          this.out += ':';
          this.printValue(e, verb, f, depth + 1);
        });
        this.out += f.sharpV ? '}' : ']';
        return;
      }
      case 'struct': {
        const s = v as { String?: unknown; Error?: unknown };
        for (const m of ['Error', 'String'] as const) {
          const fn = s[m];
          if (typeof fn === 'function' && fn.length === 0 && 'svqxX'.includes(verb) && !f.sharpV) {
            this.fmtString(String((fn as () => unknown).call(v)), verb, f);
            return;
          }
        }
        if (f.sharpV) this.out += goTypeName(v);
        this.out += '{';
        structFields(v as object).forEach(([k, e], i) => {
          if (i > 0) this.out += f.sharpV ? ', ' : ' ';
          if (f.plusV || f.sharpV) this.out += k + ':';
          this.printValue(e, verb, f, depth + 1);
        });
        this.out += '}';
        return;
      }
    }
  }

  doPrintf(format: string, args: readonly unknown[]): void {
    const end = format.length;
    let argNum = 0;
    let reordered = false;
    let goodArgNum = true;
    let afterIndex = false;
    let i = 0;
    // Go's argNumber: an explicit `[n]` index at i.
    const argNumber = (): void => {
      afterIndex = false;
      if (i >= end || format[i] !== '[') return;
      reordered = true;
      let ok = false;
      let index = 0;
      let wid = 1;
      if (end - i >= 3) {
        for (let j = i + 1; j < end; j++) {
          if (format[j] === ']') {
            const text = format.slice(i + 1, j);
            wid = j - i + 1;
            if (/^[0-9]+$/.test(text)) {
              ok = true;
              index = Number(text) - 1;
            }
            break;
          }
        }
      }
      i += wid;
      if (ok && index >= 0 && index < args.length) {
        argNum = index;
        afterIndex = true;
        return;
      }
      goodArgNum = false;
      afterIndex = ok;
    };
    const intFromArg = (): number | undefined => {
      if (argNum >= args.length) return undefined;
      const a = args[argNum++];
      if (kindOf(a) !== 'int') return undefined;
      const n = Number(a);
      return Math.abs(n) > 1e6 ? undefined : n;
    };
    const parseNum = (): number | undefined => {
      const s = i;
      while (i < end && format.charCodeAt(i) >= 48 && format.charCodeAt(i) <= 57) i++;
      return i > s ? Math.min(Number(format.slice(s, i)), 1e6) : undefined;
    };
    while (i < end) {
      goodArgNum = true;
      const last = i;
      while (i < end && format[i] !== '%') i++;
      if (i > last) this.out += format.slice(last, i);
      if (i >= end) break;
      i++;
      const f = noFlags();
      flags: for (; i < end; i++) {
        switch (format[i]) {
          case '#':
            f.sharp = true;
            break;
          case '0':
            f.zero = !f.minus;
            break;
          case '+':
            f.plus = true;
            break;
          case '-':
            f.minus = true;
            f.zero = false;
            break;
          case ' ':
            f.space = true;
            break;
          default:
            break flags;
        }
      }
      argNumber();
      if (i < end && format[i] === '*') {
        i++;
        const w = intFromArg();
        if (w === undefined) this.out += '%!(BADWIDTH)';
        else if (w < 0) {
          f.width = -w;
          f.minus = true;
          f.zero = false;
        } else f.width = w;
        afterIndex = false;
      } else {
        f.width = parseNum();
        if (afterIndex && f.width !== undefined) goodArgNum = false;
      }
      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) goodArgNum = false;
        argNumber();
        if (i < end && format[i] === '*') {
          i++;
          const p = intFromArg();
          if (p === undefined || p < 0) {
            f.prec = undefined;
            if (p === undefined) this.out += '%!(BADPREC)';
          } else f.prec = p;
          afterIndex = false;
        } else {
          f.prec = parseNum() ?? 0;
        }
      }
      if (!afterIndex) argNumber();
      if (i >= end) {
        this.out += '%!(NOVERB)';
        break;
      }
      const verb = String.fromCodePoint(format.codePointAt(i)!);
      i += verb.length;
      if (verb === '%') {
        this.out += '%';
      } else if (!goodArgNum) {
        this.out += `%!${verb}(BADINDEX)`;
      } else if (argNum >= args.length) {
        this.out += `%!${verb}(MISSING)`;
      } else {
        if (verb === 'v') {
          f.sharpV = f.sharp;
          f.sharp = false;
          f.plusV = f.plus;
          f.plus = false;
        }
        if (verb === 'w') this.badVerb(verb, args[argNum]);
        else this.printArg(args[argNum], verb, f);
        argNum++;
      }
    }
    if (!reordered && argNum < args.length) {
      this.out += '%!(EXTRA ';
      for (let k = argNum; k < args.length; k++) {
        if (k > argNum) this.out += ', ';
        const a = args[k];
        if (isNil(a)) this.out += '<nil>';
        else {
          this.out += goTypeName(a) + '=';
          this.printArg(a, 'v', noFlags());
        }
      }
      this.out += ')';
    }
  }
}

/** The `#` flag for floats: always a decimal point, and for %g the trailing zeros kept. */
function sharpFloat(num: string, prec: number): string {
  let digits = prec < 0 ? 6 : prec;
  let body = num;
  let tail = '';
  const eAt = body.search(/[eE]/);
  if (eAt >= 0) {
    tail = body.slice(eAt);
    body = body.slice(0, eAt);
  }
  let sawNonzero = false;
  let hasPoint = false;
  for (let i = 1; i < body.length; i++) {
    const c = body[i]!;
    if (c === '.') {
      hasPoint = true;
      continue;
    }
    if (c !== '0') sawNonzero = true;
    if (sawNonzero) digits--;
  }
  if (!hasPoint) {
    if (body.length === 2 && body[1] === '0') digits--;
    body += '.';
  }
  if (digits > 0) body += '0'.repeat(digits);
  return body + tail;
}

function validRune(v: bigint): number {
  return v >= 0n && v <= 0x10ffffn && !(v >= 0xd800n && v <= 0xdfffn) ? Number(v) : 0xfffd;
}

/** Go's fmt.Sprintf. */
export function sprintf(format: string, ...args: unknown[]): string {
  const p = new Printer();
  p.doPrintf(format, args);
  return p.out;
}

/** Go's fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(...args: unknown[]): string {
  const p = new Printer();
  let prevString = false;
  args.forEach((a, i) => {
    const isString = kindOf(a) === 'string';
    if (i > 0 && !isString && !prevString) p.out += ' ';
    p.printArg(a, 'v', noFlags());
    prevString = isString;
  });
  return p.out;
}

/** Go's fmt.Sprintln: spaces between all operands and a newline. */
export function sprintln(...args: unknown[]): string {
  const p = new Printer();
  args.forEach((a, i) => {
    if (i > 0) p.out += ' ';
    p.printArg(a, 'v', noFlags());
  });
  return p.out + '\n';
}

/** A value printed as `{{.}}` or `%v` prints it. */
export function formatValue(v: unknown): string {
  return sprint(v);
}

/** Go's time.Time String() of a Date (UTC, milliseconds): `2024-01-02 03:04:05.123 +0000 UTC`. */
export function goTimeString(d: Date): string {
  return Number.isNaN(d.getTime()) ? '<invalid time>' : rfc3339GoString(d.toISOString());
}

/** Go's time.Time String() of an RFC 3339 timestamp: `2006-01-02 15:04:05.999999999 +0000 UTC`. */
export function rfc3339GoString(ts: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|([+-]\d{2}):(\d{2}))$/.exec(ts);
  if (!m) return ts;
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const zone = m[4] === 'Z' ? '+0000 UTC' : `${m[5]}${m[6]} ${m[5]}${m[6]}`;
  return `${m[1]} ${m[2]}${frac === '.' ? '' : frac} ${zone}`;
}
