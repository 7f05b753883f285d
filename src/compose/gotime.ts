// An unquoted YAML timestamp, which yaml.v3 decodes into a Go time.Time when the target is `any` (as the
// docker CLI's loader decodes Compose files): `2024-06-11`, `2024-06-11T10:20:30Z`, `2001-12-14 21:59:43.10`.
// Such a value is a string to the schema (its RFC 3339 text), Go's time String() where the loader prints
// it into a label or variable (`2024-06-11 00:00:00 +0000 UTC`), an error in a field that must be a string,
// and RFC 3339 again when `stack config` writes it back.

const FORMATS = [
  /^(\d{4})-(\d{1,2})-(\d{1,2})[Tt](\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,9}))?()$/,
  /^(\d{4})-(\d{1,2})-(\d{1,2})()()()()()$/,
];

export class GoTime {
  constructor(
    readonly year: number,
    readonly month: number,
    readonly day: number,
    readonly hour: number,
    readonly minute: number,
    readonly second: number,
    /** Nanoseconds, as written. */
    readonly nanos: number,
    /** Minutes east of UTC; undefined for UTC (`Z`, or no zone). */
    readonly offset: number | undefined,
  ) {}

  private fraction(): string {
    if (this.nanos === 0) return '';
    return '.' + String(this.nanos).padStart(9, '0').replace(/0+$/, '');
  }

  private date(): string {
    const p2 = (n: number): string => String(n).padStart(2, '0');
    return `${String(this.year).padStart(4, '0')}-${p2(this.month)}-${p2(this.day)}`;
  }

  private clock(): string {
    const p2 = (n: number): string => String(n).padStart(2, '0');
    return `${p2(this.hour)}:${p2(this.minute)}:${p2(this.second)}`;
  }

  private zone(colon: boolean): string {
    const off = this.offset ?? 0;
    const sign = off < 0 ? '-' : '+';
    const abs = Math.abs(off);
    const h = String(Math.floor(abs / 60)).padStart(2, '0');
    const m = String(abs % 60).padStart(2, '0');
    return colon ? `${sign}${h}:${m}` : `${sign}${h}${m}`;
  }

  /** time.Time.String(): `2006-01-02 15:04:05.999999999 -0700 MST`. */
  goString(): string {
    const name = this.offset === undefined ? 'UTC' : this.zone(false);
    return `${this.date()} ${this.clock()}${this.fraction()} ${this.zone(false)} ${name}`;
  }

  /** time.RFC3339Nano. */
  rfc3339(): string {
    const zone = this.offset === undefined ? 'Z' : this.zone(true);
    return `${this.date()}T${this.clock()}${this.fraction()}${zone}`;
  }
}

const DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** yaml.v3's parseTimestamp (its allowed formats), or undefined. */
export function parseYAMLTimestamp(text: string): GoTime | undefined {
  for (const format of FORMATS) {
    const m = format.exec(text);
    if (!m) continue;
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const [hour, minute, second] = [Number(m[4] || 0), Number(m[5] || 0), Number(m[6] || 0)];
    if (month < 1 || month > 12 || day < 1 || day > DAYS[month - 1]!) return undefined;
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    if (month === 2 && day === 29 && !leap) return undefined;
    if (hour > 23 || minute > 59 || second > 59) return undefined;
    const nanos = m[7] ? Number(m[7].padEnd(9, '0')) : 0;
    let offset: number | undefined;
    const zone = m[8];
    if (zone && zone !== 'Z') {
      const sign = zone.startsWith('-') ? -1 : 1;
      offset = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
    }
    return new GoTime(year, month, day, hour, minute, second, nanos, offset);
  }
  return undefined;
}

/** The tree as the schema sees it (gojsonschema reads Go values through JSON: times are RFC 3339 text). */
export function forValidation(value: unknown): unknown {
  if (value instanceof GoTime) return value.rfc3339();
  if (Array.isArray(value)) return value.map(forValidation);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: forValidation(v),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
