// docker/cli's list-valued flags (opts.ListOpts and its validators) and the small parsers behind
// them: Go's encoding/csv for `--mount`-style values, key=value maps, environment files.

import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { ownRecord, ownValue } from '../../api/own.js';
import type { FlagDefinition } from '../flags.js';
import { goQuote } from '../../api/strconv.js';

/** A validator returns the value to store (possibly rewritten) or throws with Docker's reason. */
export type Validator = (value: string) => string;

/** opts.ListOpts: a repeatable flag collecting its values in order (type `list`). */
export function listFlag(
  shorthand: string | undefined,
  usage: string,
  validate?: Validator,
): FlagDefinition<string[]> {
  return {
    shorthand,
    usage,
    type: 'list',
    initial: [],
    defValue: '',
    set: (raw, current) => [...current, validate ? validate(raw) : raw],
  };
}

/** opts.ValidateEnv: `KEY=value` kept; a bare `KEY` takes its value from the environment if set. */
export function validateEnv(env: Readonly<Record<string, string | undefined>>): Validator {
  return (val) => {
    const eq = val.indexOf('=');
    const key = eq >= 0 ? val.slice(0, eq) : val;
    if (key === '') throw new Error(`invalid environment variable: ${val}`);
    if (eq >= 0) return val;
    // Only a variable the environment has: `--env toString` must not find Object.prototype.toString.
    const fromEnv = ownValue(env, key);
    return fromEnv !== undefined ? `${key}=${fromEnv}` : val;
  };
}

/**
 * opts.ValidateLabel (docker CLI 28): the key (before `=`, spaces and tabs on its left ignored) must not be
 * empty nor contain a space or a tab.
 */
export const validateLabel: Validator = (value) => {
  const eq = value.indexOf('=');
  const key = (eq >= 0 ? value.slice(0, eq) : value).replace(/^[ \t]+/, '');
  if (key === '') throw new Error(`invalid label '${value}': empty name`);
  if (/[ \t]/.test(key)) throw new Error(`label '${key}' contains whitespaces`);
  return value;
};

/** opts.ValidateIPAddress: a literal IP address, returned in Go's canonical form. */
export const validateIPAddress: Validator = (value) => {
  const ip = value.trim();
  if (isIP(ip) === 0) throw new Error(`IP address is not correctly formatted: ${value}`);
  return ip;
};

const DOMAIN =
  /^(:?(([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])\.)*([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]))\.?$/;

/** opts.ValidateDNSSearch: a domain name, or `.` (no search domains). */
export const validateDNSSearch: Validator = (value) => {
  const val = value.trim();
  if (val === '.') return val;
  if (!DOMAIN.test(val) || val.length > 255) throw new Error(`${val} is not a valid domain`);
  return val;
};

/** opts.ValidateExtraHost: `host:ip` (the IP may be `host-gateway`). */
export const validateExtraHost: Validator = (value) => {
  const colon = value.indexOf(':');
  if (colon < 0 || value.slice(0, colon).length === 0) {
    throw new Error(`bad format for add-host: ${goQuote(value)}`);
  }
  const ip = value.slice(colon + 1);
  if (ip !== 'host-gateway' && isIP(ip.replace(/^\[(.*)\]$/, '$1')) === 0) {
    throw new Error(`invalid IP address in add-host: ${goQuote(ip)}`);
  }
  return value;
};

/**
 * opts.ConvertKVStringsToMap: `k=v` → {k: v}; a bare `k` maps to ''. Later keys win. Every key is an own
 * entry, `__proto__` and `constructor` included (the user named them).
 */
export function kvToMap(values: readonly string[]): Record<string, string> {
  return ownRecord(
    values.map((v): [string, string] => {
      const eq = v.indexOf('=');
      return eq >= 0 ? [v.slice(0, eq), v.slice(eq + 1)] : [v, ''];
    }),
  );
}

/** The message Go's os package gives for a failed open. */
export function goFileError(op: string, path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  const reason =
    code === 'ENOENT'
      ? 'no such file or directory'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'EISDIR'
          ? 'is a directory'
          : ((err as Error).message ?? String(err));
  return new Error(`${op} ${path}: ${reason}`);
}

/**
 * opts.ReadKVEnvStrings: the lines of the env files (`KEY=value`; a bare `KEY` takes its value from
 * the environment and is dropped when unset; blank lines and `#` comments skipped), then the
 * explicit `--env` values.
 */
export function readKVEnvStrings(
  files: readonly string[],
  override: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const out: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw goFileError('open', file, e);
    }
    const lines = text.split('\n');
    lines.forEach((rawLine, i) => {
      let line = rawLine.replace(/\r$/, '');
      if (i === 0) line = line.replace(/^\uFEFF/, '');
      line = line.replace(/^\s+/, '');
      if (line === '' || line.startsWith('#')) return;
      const eq = line.indexOf('=');
      const key = eq >= 0 ? line.slice(0, eq) : line;
      if (key === '') throw new Error(`no variable name on line '${line}'`);
      if (/\s/.test(key)) throw new Error(`variable '${key.replace(/^\s+/, '')}' contains whitespaces`);
      const fromEnv = ownValue(env, key);
      if (eq >= 0) out.push(line);
      else if (fromEnv !== undefined) out.push(`${key}=${fromEnv}`);
    });
  }
  return [...out, ...override];
}

/**
 * One record of Go's encoding/csv (the format of `--mount`, `--publish`, `--secret`… long syntax):
 * comma-separated fields, double-quoted fields with `""` for a quote.
 */
export function readCSVRecord(value: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const line = value.split('\n')[0]!.replace(/\r$/, '');
  for (;;) {
    if (line[i] === '"') {
      let field = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0)
          throw new Error(
            `parse error on line 1, column ${line.length + 1}: extraneous or missing " in quoted-field`,
          );
        field += line.slice(i, q);
        i = q + 1;
        if (line[i] === '"') {
          field += '"';
          i++;
          continue;
        }
        break;
      }
      if (i < line.length && line[i] !== ',') {
        throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      }
      fields.push(field);
    } else {
      const comma = line.indexOf(',', i);
      const field = comma < 0 ? line.slice(i) : line.slice(i, comma);
      const quote = field.indexOf('"');
      if (quote >= 0)
        throw new Error(`parse error on line 1, column ${i + quote + 1}: bare " in non-quoted-field`);
      fields.push(field);
      i = comma < 0 ? line.length : comma;
    }
    if (i >= line.length) break;
    i++; // the comma
    if (i === line.length) {
      fields.push('');
      break;
    }
  }
  return fields;
}

/** strings.Cut: the text before and after the first `sep`, and whether it was found. */
export function cut(s: string, sep: string): [string, string, boolean] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, '', false] : [s.slice(0, i), s.slice(i + sep.length), true];
}
