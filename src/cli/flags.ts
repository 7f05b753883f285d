// Command-line flags as spf13/pflag parses and documents them, because `shoal` must accept exactly
// what `docker` accepts and fail with exactly its messages:
//
// - `--name value`, `--name=value`, `-n value`, `-nvalue`, `-n=value`, grouped booleans (`-qd`),
//   `--bool=false`; a flag that takes a value takes the next argument whatever it looks like
//   (`--replicas -1` sets "-1" and fails as ParseUint does);
// - `--` ends the flags; with interspersed parsing (the default) flags and arguments mix, without it
//   (`service create`) the first argument ends the flags;
// - errors carry pflag's texts (`unknown flag: --x`, `unknown shorthand flag: 'x' in -x`,
//   `flag needs an argument: --x`, `invalid argument "v" for "-n, --name" flag: <reason>`);
// - `usages()` renders the options table as pflag's FlagUsagesWrapped does (sorted, aligned, wrapped
//   to the terminal width, `(default …)` unless the default is the type's zero value).
//
// A command declares its flags on a FlagSet and reads typed values from the returned Flag handles.

import { formatDuration, parseDuration } from '../api/duration.js';
import { parseBool, parseFloat, parseInt64, parseUint, goQuote } from '../api/strconv.js';

/** A flag parse failure; the command layer adds the usage hint and exits 125 as Docker does. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

/** How one flag reads its value (pflag's Value interface, without the shared mutable state). */
export interface FlagDefinition<T> {
  shorthand?: string;
  usage: string;
  /** The value placeholder shown in help (pflag's Value.Type() after UnquoteUsage); '' for booleans. */
  type: string;
  /** The initial value. */
  initial: T;
  /** The default as help shows it (pflag's DefValue). */
  defValue: string;
  /** DefValues that count as "no default" for this type, so help prints no `(default …)`. */
  zeroDefValues?: readonly string[];
  /** Whether help quotes the default (pflag does for string flags). */
  quoteDefault?: boolean;
  /** Reads one occurrence of the flag; `current` lets list flags accumulate. Throws with the reason. */
  set: (raw: string, current: T) => T;
  /** The value used when the flag is given without one (booleans: "true"). */
  noOptDefVal?: string;
  hidden?: boolean;
  /** When set, using the shorthand prints pflag's deprecation notice with this advice. */
  shorthandDeprecated?: string;
  /**
   * The API version the flag needs (Docker's "version" annotation): help hides it and using it
   * fails when the daemon speaks an older version.
   */
  minApiVersion?: string;
}

/** One declared flag and, after parsing, its value. */
export class Flag<T> {
  value: T;
  changed = false;
  constructor(
    readonly name: string,
    readonly def: FlagDefinition<T>,
  ) {
    this.value = def.initial;
  }

  get shorthand(): string | undefined {
    return this.def.shorthand;
  }

  /** `-n, --name` or `--name`, as pflag names a flag in error messages. */
  get displayName(): string {
    return this.def.shorthand && !this.def.shorthandDeprecated
      ? `-${this.def.shorthand}, --${this.name}`
      : `--${this.name}`;
  }

  /** Applies one raw value (pflag's FlagSet.Set), wrapping parse failures as pflag does. */
  set(raw: string): void {
    try {
      this.value = this.def.set(raw, this.value);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      throw new FlagError(
        `invalid argument ${goQuote(raw)} for ${goQuote(this.displayName)} flag: ${reason}`,
      );
    }
    this.changed = true;
  }
}

const DEFAULT_ZERO = ['false', '<nil>', '', '0'] as const;

export class FlagSet {
  private readonly byName = new Map<string, Flag<unknown>>();
  private readonly byShorthand = new Map<string, Flag<unknown>>();
  /** Whether flags may follow positional arguments (pflag's SetInterspersed). */
  interspersed = true;
  /** Deprecation notices printed while parsing (pflag prints them to the command's output). */
  readonly notices: string[] = [];

  add<T>(name: string, def: FlagDefinition<T>): Flag<T> {
    if (this.byName.has(name)) throw new Error(`flag redefined: ${name}`);
    const flag = new Flag(name, def);
    this.byName.set(name, flag as Flag<unknown>);
    if (def.shorthand) {
      if (this.byShorthand.has(def.shorthand)) throw new Error(`shorthand redefined: ${def.shorthand}`);
      this.byShorthand.set(def.shorthand, flag as Flag<unknown>);
    }
    return flag;
  }

  lookup(name: string): Flag<unknown> | undefined {
    return this.byName.get(name);
  }

  /** Whether the user set the flag (pflag's Changed). */
  changed(name: string): boolean {
    return this.byName.get(name)?.changed ?? false;
  }

  /** All flags, sorted by name as pflag lists them. */
  all(): Flag<unknown>[] {
    return [...this.byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  hasVisibleFlags(): boolean {
    return this.all().some((f) => !f.def.hidden);
  }

  // ------------------------------------------------------------------ builders for pflag's types

  bool(name: string, shorthand: string | undefined, usage: string, initial = false): Flag<boolean> {
    return this.add(name, {
      shorthand,
      usage,
      type: '',
      initial,
      defValue: String(initial),
      zeroDefValues: ['false'],
      noOptDefVal: 'true',
      set: (raw) => parseBool(raw),
    });
  }

  string(name: string, shorthand: string | undefined, usage: string, initial = ''): Flag<string> {
    return this.add(name, {
      shorthand,
      usage,
      type: 'string',
      initial,
      defValue: initial,
      zeroDefValues: [''],
      quoteDefault: true,
      set: (raw) => raw,
    });
  }

  /** pflag's int and int64 (both read with ParseInt(s, 0, 64) and shown as `int`). */
  int(name: string, shorthand: string | undefined, usage: string, initial = 0): Flag<number> {
    return this.add(name, {
      shorthand,
      usage,
      type: 'int',
      initial,
      defValue: String(initial),
      zeroDefValues: ['0'],
      set: (raw) => parseInt64(raw, 0, 64),
    });
  }

  /** pflag's uint64 (ParseUint(s, 0, 64), shown as `uint`). */
  uint(name: string, shorthand: string | undefined, usage: string, initial = 0): Flag<number> {
    return this.add(name, {
      shorthand,
      usage,
      type: 'uint',
      initial,
      defValue: String(initial),
      zeroDefValues: ['0'],
      set: (raw) => parseUint(raw, 0, 64),
    });
  }

  uint32(name: string, shorthand: string | undefined, usage: string, initial = 0): Flag<number> {
    return this.add(name, {
      shorthand,
      usage,
      type: 'uint32',
      initial,
      defValue: String(initial),
      zeroDefValues: ['0'],
      set: (raw) => parseUint(raw, 0, 32),
    });
  }

  /** pflag's float32 (strconv.ParseFloat(s, 32)), shown as `float32`. */
  float32(name: string, shorthand: string | undefined, usage: string, initial = 0): Flag<number> {
    return this.add(name, {
      shorthand,
      usage,
      type: 'float32',
      initial,
      defValue: String(initial),
      zeroDefValues: ['0'],
      set: (raw) => parseFloat(raw, 32),
    });
  }

  /** pflag's duration (time.ParseDuration), in nanoseconds. */
  duration(name: string, shorthand: string | undefined, usage: string, initialNs = 0): Flag<number> {
    return this.add(name, {
      shorthand,
      usage,
      type: 'duration',
      initial: initialNs,
      defValue: formatDuration(initialNs),
      zeroDefValues: ['0', '0s'],
      set: (raw) => parseDuration(raw),
    });
  }

  /**
   * A flag with its own value type (docker/cli's opts: lists, filters, ports, mounts…). Unless given,
   * the default counts as zero when it is one of pflag's generic zero spellings.
   */
  value<T>(
    name: string,
    shorthand: string | undefined,
    usage: string,
    def: Omit<FlagDefinition<T>, 'shorthand' | 'usage' | 'defValue'> & { defValue?: string },
  ): Flag<T> {
    return this.add(name, {
      ...def,
      shorthand,
      usage,
      defValue: def.defValue ?? '',
      zeroDefValues: def.zeroDefValues ?? DEFAULT_ZERO,
    });
  }

  // ------------------------------------------------------------------ parsing

  /** Parses `args`, sets the flags and returns the positional arguments. Throws FlagError. */
  parse(args: readonly string[]): string[] {
    const positional: string[] = [];
    const rest = [...args];
    while (rest.length > 0) {
      const s = rest.shift()!;
      if (s.length < 2 || s[0] !== '-') {
        positional.push(s);
        if (!this.interspersed) {
          positional.push(...rest);
          return positional;
        }
        continue;
      }
      if (s[1] === '-') {
        if (s.length === 2) {
          positional.push(...rest);
          return positional;
        }
        this.parseLong(s, rest);
      } else {
        this.parseShort(s, rest);
      }
    }
    return positional;
  }

  private parseLong(s: string, rest: string[]): void {
    const body = s.slice(2);
    if (body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${s}`);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const flag = this.byName.get(name);
    if (!flag) throw new FlagError(`unknown flag: --${name}`);
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (flag.def.noOptDefVal !== undefined) value = flag.def.noOptDefVal;
    else if (rest.length > 0) value = rest.shift()!;
    else throw new FlagError(`flag needs an argument: ${s}`);
    flag.set(value);
  }

  private parseShort(s: string, rest: string[]): void {
    let shorthands = s.slice(1);
    while (shorthands.length > 0) {
      const c = shorthands[0]!;
      const flag = this.byShorthand.get(c);
      if (!flag) throw new FlagError(`unknown shorthand flag: '${c}' in -${shorthands}`);
      let value: string;
      let remaining = shorthands.slice(1);
      if (shorthands.length > 2 && shorthands[1] === '=') {
        value = shorthands.slice(2);
        remaining = '';
      } else if (flag.def.noOptDefVal !== undefined) {
        value = flag.def.noOptDefVal;
      } else if (shorthands.length > 1) {
        value = shorthands.slice(1);
        remaining = '';
      } else if (rest.length > 0) {
        value = rest.shift()!;
      } else {
        throw new FlagError(`flag needs an argument: '${c}' in -${shorthands}`);
      }
      if (flag.def.shorthandDeprecated) {
        this.notices.push(`Flag shorthand -${c} has been deprecated, ${flag.def.shorthandDeprecated}`);
      }
      flag.set(value);
      shorthands = remaining;
    }
  }

  // ------------------------------------------------------------------ help

  /** The options table, as pflag's FlagUsagesWrapped(cols) renders it (without `hide`d flags). */
  usages(cols: number, hide: (flag: Flag<unknown>) => boolean = () => false): string {
    const lines: string[] = [];
    let maxlen = 0;
    for (const flag of this.all()) {
      if (flag.def.hidden || hide(flag)) continue;
      let line =
        flag.def.shorthand && !flag.def.shorthandDeprecated
          ? `  -${flag.def.shorthand}, --${flag.name}`
          : `      --${flag.name}`;
      const { varname, usage } = unquoteUsage(flag.def);
      if (varname) line += ' ' + varname;
      line += '\x00';
      if (line.length > maxlen) maxlen = line.length;
      let text = usage;
      const zero = flag.def.zeroDefValues ?? DEFAULT_ZERO;
      if (!zero.includes(flag.def.defValue)) {
        text += flag.def.quoteDefault
          ? ` (default ${goQuote(flag.def.defValue)})`
          : ` (default ${flag.def.defValue})`;
      }
      lines.push(line + text);
    }
    let out = '';
    for (const line of lines) {
      const sidx = line.indexOf('\x00');
      const spacing = ' '.repeat(maxlen - sidx);
      out += `${line.slice(0, sidx)} ${spacing} ${wrap(maxlen + 2, cols, line.slice(sidx + 1))}\n`;
    }
    return out;
  }
}

/** pflag's UnquoteUsage: a `back-quoted` word in the usage names the value, else the type does. */
function unquoteUsage(def: FlagDefinition<unknown>): { varname: string; usage: string } {
  const usage = def.usage;
  const i = usage.indexOf('`');
  if (i >= 0) {
    const j = usage.indexOf('`', i + 1);
    if (j >= 0) {
      const name = usage.slice(i + 1, j);
      return { varname: name, usage: usage.slice(0, i) + name + usage.slice(j + 1) };
    }
  }
  return { varname: def.type, usage };
}

/** pflag's wrap: wraps `s` to width `w` with continuation lines indented by `i` (0 = no wrapping). */
export function wrap(i: number, w: number, s: string): string {
  if (w === 0) return s.replace(/\n/g, '\n' + ' '.repeat(i));
  let width = w - i;
  let r = '';
  if (width < 24) {
    i = 16;
    width = w - i;
    r += '\n' + ' '.repeat(i);
  }
  if (width < 24) return s.replace(/\n/g, r);
  const slop = 5;
  width -= slop;
  const [first, rest] = wrapN(width, slop, s);
  let remaining = rest;
  r += first.replace(/\n/g, '\n' + ' '.repeat(i));
  while (remaining !== '') {
    let t: string;
    [t, remaining] = wrapN(width, slop, remaining);
    r += '\n' + ' '.repeat(i) + t.replace(/\n/g, '\n' + ' '.repeat(i));
  }
  return r;
}

/** pflag's wrapN: splits `s` at whitespace into a first part of at most `i` characters (plus `slop`). */
function wrapN(i: number, slop: number, s: string): [string, string] {
  if (i + slop > s.length) return [s, ''];
  const head = s.slice(0, i);
  const w = Math.max(head.lastIndexOf(' '), head.lastIndexOf('\t'), head.lastIndexOf('\n'));
  if (w <= 0) return [s, ''];
  const nl = head.lastIndexOf('\n');
  if (nl > 0 && nl < w) return [s.slice(0, nl), s.slice(nl + 1)];
  return [s.slice(0, w), s.slice(w + 1)];
}
