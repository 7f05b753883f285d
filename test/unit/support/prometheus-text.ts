// A strict parser of Prometheus' text exposition format (version 0.0.4, what prom-client writes and
// Prometheus scrapes), for the tests: prom-client writes the format but has no parser, and the well-known
// parsers are Go's and Python's. It refuses what Prometheus would refuse or what makes an exposition
// wrong — a bad name, label or value, a family's samples not together, TYPE or HELP twice or after its
// samples, a series twice, a histogram whose buckets are not cumulative or lack +Inf, or whose +Inf bucket
// is not its _count.

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestampMs?: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help: string | undefined;
  samples: Sample[];
}

export class ExpositionError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** The family a sample name belongs to, given the family's type. */
function familyOf(sample: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  const exact = families.get(sample);
  if (exact) return exact;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const family = families.get(sample.slice(0, -suffix.length));
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket')))
      return family;
  }
  return undefined;
}

export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  /** Families whose samples are over (another family's came after them). */
  const closed = new Set<string>();
  const series = new Set<string>();
  let current: MetricFamily | undefined;
  if (text.length > 0 && !text.endsWith('\n'))
    throw new ExpositionError(0, 'the exposition must end with a newline');
  const lines = text.split('\n');
  lines.pop();
  const declare = (n: number, name: string): MetricFamily => {
    if (!NAME.test(name)) throw new ExpositionError(n, `bad metric name ${JSON.stringify(name)}`);
    let family = families.get(name);
    if (family && (closed.has(name) || family.samples.length > 0))
      throw new ExpositionError(n, `${name}: HELP or TYPE after its samples`);
    if (!family) {
      family = { name, type: 'untyped', help: undefined, samples: [] };
      families.set(name, family);
    }
    if (current && current !== family) closed.add(current.name);
    current = family;
    return family;
  };
  lines.forEach((line, index) => {
    const n = index + 1;
    if (line.trim() === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!m) return; // a comment
      const family = declare(n, m[2]!);
      if (m[1] === 'HELP') {
        if (family.help !== undefined) throw new ExpositionError(n, `${family.name}: HELP twice`);
        family.help = unescapeHelp(n, m[3] ?? '');
      } else {
        const type = (m[3] ?? '').trim() as MetricType;
        if (!TYPES.has(type))
          throw new ExpositionError(n, `${family.name}: unknown type ${JSON.stringify(type)}`);
        if ((family as MetricFamily & { typed?: boolean }).typed)
          throw new ExpositionError(n, `${family.name}: TYPE twice`);
        (family as MetricFamily & { typed?: boolean }).typed = true;
        family.type = type;
      }
      return;
    }
    const sample = parseSample(n, line);
    let family = familyOf(sample.name, families);
    if (!family) family = declare(n, sample.name);
    if (closed.has(family.name)) throw new ExpositionError(n, `${family.name}: its samples are not together`);
    if (current && current !== family) closed.add(current.name);
    current = family;
    const key = `${sample.name}{${Object.entries(sample.labels)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(key)) throw new ExpositionError(n, `${key} twice`);
    series.add(key);
    if (family.type === 'counter' && !(sample.value >= 0))
      throw new ExpositionError(n, `${key}: a negative counter`);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

function parseSample(n: number, line: string): Sample {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (!m) throw new ExpositionError(n, `bad sample ${JSON.stringify(line)}`);
  const name = m[1]!;
  let rest = line.slice(name.length);
  const labels: Record<string, string> = Object.create(null) as Record<string, string>;
  if (rest.startsWith('{')) {
    let i = 1;
    while (true) {
      while (rest[i] === ' ') i++;
      if (rest[i] === '}') {
        i++;
        break;
      }
      const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(rest.slice(i));
      if (!lm || !LABEL_NAME.test(lm[1]!))
        throw new ExpositionError(n, `bad label in ${JSON.stringify(line)}`);
      if (lm[1]! in labels) throw new ExpositionError(n, `label ${lm[1]} twice`);
      i += lm[0].length;
      let value = '';
      for (;;) {
        const c = rest[i];
        if (c === undefined) throw new ExpositionError(n, 'unterminated label value');
        i++;
        if (c === '"') break;
        if (c === '\\') {
          const e = rest[i++];
          if (e === 'n') value += '\n';
          else if (e === '\\' || e === '"') value += e;
          else throw new ExpositionError(n, `bad escape \\${e ?? ''} in a label value`);
        } else {
          value += c;
        }
      }
      labels[lm[1]!] = value;
      while (rest[i] === ' ') i++;
      if (rest[i] === ',') i++;
      else if (rest[i] !== '}') throw new ExpositionError(n, `expected , or } in ${JSON.stringify(line)}`);
    }
    rest = rest.slice(i);
  }
  const parts = rest.trim().split(/\s+/);
  if (!/^\s/.test(rest) || parts.length < 1 || parts.length > 2 || parts[0] === '')
    throw new ExpositionError(n, `bad sample ${JSON.stringify(line)}`);
  const value = parseValue(n, parts[0]!);
  const sample: Sample = { name, labels: { ...labels }, value };
  if (parts[1] !== undefined) {
    if (!/^-?\d+$/.test(parts[1])) throw new ExpositionError(n, `bad timestamp ${parts[1]}`);
    sample.timestampMs = Number(parts[1]);
  }
  return sample;
}

/** A value as Prometheus reads it (Go's strconv.ParseFloat: `NaN`, `Inf` in any case, prom-client writes `Nan`). */
function parseValue(n: number, text: string): number {
  const special = /^([-+]?)(inf|infinity|nan)$/i.exec(text);
  if (special) {
    if (special[2]!.toLowerCase() === 'nan') {
      if (special[1]) throw new ExpositionError(n, `bad value ${text}`);
      return NaN;
    }
    return special[1] === '-' ? -Infinity : Infinity;
  }
  if (!/^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/.test(text))
    throw new ExpositionError(n, `bad value ${text}`);
  return Number(text);
}

function unescapeHelp(n: number, text: string): string {
  return text.replace(/\\(.?)/g, (_, e: string) => {
    if (e === 'n') return '\n';
    if (e === '\\') return '\\';
    throw new ExpositionError(n, `bad escape \\${e} in HELP`);
  });
}

/** Buckets cumulative and ending at +Inf = _count, per series (the labels but `le`). */
function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { buckets: [] }));
    if (sample.name === `${family.name}_bucket`) {
      if (le === undefined) throw new ExpositionError(0, `${family.name}: a bucket without le`);
      group.buckets.push([parseValue(0, le), sample.value]);
    } else if (sample.name === `${family.name}_count`) group.count = sample.value;
    else if (sample.name === `${family.name}_sum`) group.sum = sample.value;
    else throw new ExpositionError(0, `${family.name}: unexpected sample ${sample.name}`);
  }
  for (const [key, group] of groups) {
    const where = `${family.name}${key}`;
    if (group.count === undefined || group.sum === undefined)
      throw new ExpositionError(0, `${where}: no _count or _sum`);
    const last = group.buckets.at(-1);
    if (!last || last[0] !== Infinity) throw new ExpositionError(0, `${where}: no +Inf bucket`);
    for (let i = 1; i < group.buckets.length; i++) {
      const [le, count] = group.buckets[i]!;
      const [prevLe, prevCount] = group.buckets[i - 1]!;
      if (!(le > prevLe)) throw new ExpositionError(0, `${where}: buckets out of order`);
      if (count < prevCount) throw new ExpositionError(0, `${where}: buckets not cumulative`);
    }
    if (last[1] !== group.count)
      throw new ExpositionError(0, `${where}: +Inf bucket ${last[1]} ≠ _count ${group.count}`);
  }
}

/** The value of one series (`name` with exactly these labels), or undefined. */
export function sampleValue(
  families: Map<string, MetricFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const keys = Object.keys(sample.labels);
      if (keys.length !== Object.keys(labels).length) continue;
      if (keys.every((k) => sample.labels[k] === labels[k])) return sample.value;
    }
  }
  return undefined;
}
