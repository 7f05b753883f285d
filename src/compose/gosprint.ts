// fmt.Sprint of a value yaml.v3 decoded into `any`, as the docker CLI's loader stringifies mapping values
// and list entries (`WORKERS: 4` → "4", `1.10` → "1.1", `true` → "true"). YAML integers and floats are
// one JS number here: an integral number prints as an integer (Go would print a float written `1e6` as
// `1e+06`).

import { formatFloat } from '../api/strconv.js';
import { GoTime } from './gotime.js';

export function goSprint(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : formatFloat(v, 'g', -1);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (v instanceof GoTime) return v.goString();
  if (Array.isArray(v)) return `[${v.map(goSprint).join(' ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `map[${entries.map(([k, val]) => `${k}:${goSprint(val)}`).join(' ')}]`;
  }
  return String(v);
}
