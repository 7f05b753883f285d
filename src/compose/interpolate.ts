// Variable substitution as `docker stack deploy` does it (docker/cli cli/compose/template and
// interpolation): every string value of a file, before validation, from the CLI's environment only.
// `$$` is a `$`; `$VAR`/`${VAR}` the value (empty when unset); `${VAR:-d}`, `${VAR-d}`, `${VAR:?m}`,
// `${VAR?m}`. The quirks are Docker's and kept on purpose (stack-semantics.md §4): the operator is found by
// searching the whole token (`${X:?a-b}` is read as `${X:?a` with default `b`), an unbraced `$NAME` takes an
// operator up to the end of the string (`$UNIT-based` is `${UNIT-based}`), defaults are taken literally up to
// the first `}`, a `$` that starts no token is an error, and a later substitution in the same string clears
// an earlier one's error. After substitution, a value that changed is cast to the type its path needs.

import { goQuote, NumError, parseFloat as goParseFloat, parseIntBig } from '../api/strconv.js';
import { ownValue, setOwn } from '../api/own.js';
import type { Tree } from './yaml.js';

/** The CLI's environment: a value, or undefined when the variable is unset. */
export type Lookup = (name: string) => string | undefined;

export function lookupIn(env: Readonly<Record<string, string | undefined>>): Lookup {
  return (name) => ownValue(env, name);
}

/** template.InvalidTemplateError: carries the text the message quotes. */
export class InvalidTemplateError extends Error {
  constructor(readonly template: string) {
    super(`Invalid template: ${goQuote(template)}`);
    this.name = 'InvalidTemplateError';
  }
}

/** An interpolation failure, worded as Docker words it (the message is the whole error). */
export class InterpolationError extends Error {
  override name = 'InterpolationError';
}

const SUBST = '[_a-z][_a-z0-9]*(?::?[-?][^}]*)?';
// template.defaultPattern: `$$`, `$name…`, `${name…}`, or a `$` starting nothing (invalid).
const PATTERN = new RegExp(`\\$(?:(\\$)|(${SUBST})|\\{(${SUBST})\\}|())`, 'gi');

interface Applied {
  value: string;
  applied: boolean;
  err?: InvalidTemplateError;
}

/** Splits at the first `sep` (Go's partition). */
function partition(s: string, sep: string): [string, string] {
  const i = s.indexOf(sep);
  return i < 0 ? [s, ''] : [s.slice(0, i), s.slice(i + sep.length)];
}

const softDefault = (sub: string, lookup: Lookup): Applied => {
  if (!sub.includes(':-')) return { value: '', applied: false };
  const [name, def] = partition(sub, ':-');
  const value = lookup(name);
  return { value: value === undefined || value === '' ? def : value, applied: true };
};

const hardDefault = (sub: string, lookup: Lookup): Applied => {
  if (!sub.includes('-')) return { value: '', applied: false };
  const [name, def] = partition(sub, '-');
  const value = lookup(name);
  return { value: value === undefined ? def : value, applied: true };
};

const withRequired =
  (sep: string, valid: (v: string) => boolean) =>
  (sub: string, lookup: Lookup): Applied => {
    if (!sub.includes(sep)) return { value: '', applied: false };
    const [name, message] = partition(sub, sep);
    const value = lookup(name);
    if (value === undefined || !valid(value)) {
      return {
        value: '',
        applied: true,
        err: new InvalidTemplateError(`required variable ${name} is missing a value: ${message}`),
      };
    }
    return { value, applied: true };
  };

const FUNCS = [softDefault, hardDefault, withRequired(':?', (v) => v !== ''), withRequired('?', () => true)];

/** template.Substitute: the string with its variables replaced, or the error of the last token. */
export function substitute(template: string, lookup: Lookup): string {
  let err: InvalidTemplateError | undefined;
  const result = template.replace(
    PATTERN,
    (_match, escaped: string | undefined, named: string | undefined, braced: string | undefined) => {
      if (escaped) return escaped;
      const substitution = named || braced || '';
      if (substitution === '') {
        err = new InvalidTemplateError(template);
        return '';
      }
      for (const f of FUNCS) {
        const r = f(substitution, lookup);
        // As in Go, each function's error replaces the last one: a later token clears an earlier error.
        err = r.err;
        if (r.err) return '';
        if (!r.applied) continue;
        return r.value;
      }
      return lookup(substitution) ?? '';
    },
  );
  if (err) throw err;
  return result;
}

// ---------------------------------------------------------------- paths and casts

type Cast = (value: string) => unknown;

/** strconv.Atoi, with its error text. */
function toInt(value: string): number {
  try {
    return Number(parseIntBig(value, 10, 64));
  } catch (e) {
    if (e instanceof NumError) throw new NumError('Atoi', value, e.reason);
    throw e;
  }
}

function toFloat(value: string): number {
  return goParseFloat(value, 64);
}

/** YAML 1.1 booleans, any case. */
function toBoolean(value: string): boolean {
  switch (value.toLowerCase()) {
    case 'y':
    case 'yes':
    case 'true':
    case 'on':
      return true;
    case 'n':
    case 'no':
    case 'false':
    case 'off':
      return false;
  }
  throw new Error(`invalid boolean: ${value}`);
}

const service = (...parts: string[]): string[] => ['services', '*', ...parts];

/** interpolateTypeCastMapping: `*` matches any key, `[]` any list element. */
const CASTS: readonly [string[], Cast][] = [
  [service('configs', '[]', 'mode'), toInt],
  [service('secrets', '[]', 'mode'), toInt],
  [service('healthcheck', 'retries'), toInt],
  [service('healthcheck', 'disable'), toBoolean],
  [service('deploy', 'replicas'), toInt],
  [service('deploy', 'update_config', 'parallelism'), toInt],
  [service('deploy', 'update_config', 'max_failure_ratio'), toFloat],
  [service('deploy', 'rollback_config', 'parallelism'), toInt],
  [service('deploy', 'rollback_config', 'max_failure_ratio'), toFloat],
  [service('deploy', 'restart_policy', 'max_attempts'), toInt],
  [service('deploy', 'placement', 'max_replicas_per_node'), toInt],
  [service('ports', '[]', 'target'), toInt],
  [service('ports', '[]', 'published'), toInt],
  [service('ulimits', '*'), toInt],
  [service('ulimits', '*', 'hard'), toInt],
  [service('ulimits', '*', 'soft'), toInt],
  [service('privileged'), toBoolean],
  [service('oom_score_adj'), toInt],
  [service('read_only'), toBoolean],
  [service('stdin_open'), toBoolean],
  [service('tty'), toBoolean],
  [service('volumes', '[]', 'read_only'), toBoolean],
  [service('volumes', '[]', 'volume', 'nocopy'), toBoolean],
  [['networks', '*', 'external'], toBoolean],
  [['networks', '*', 'internal'], toBoolean],
  [['networks', '*', 'attachable'], toBoolean],
  [['volumes', '*', 'external'], toBoolean],
  [['secrets', '*', 'external'], toBoolean],
  [['configs', '*', 'external'], toBoolean],
];

/** Path.matches: the dotted path split at every dot (so keys with dots never match a pattern). */
function castFor(path: string): Cast | undefined {
  const parts = path.split('.');
  for (const [pattern, cast] of CASTS) {
    if (pattern.length !== parts.length) continue;
    if (pattern.every((p, i) => p === '*' || p === parts[i])) return cast;
  }
  return undefined;
}

function pathError(path: string, err: unknown): InterpolationError {
  if (err instanceof InvalidTemplateError) {
    return new InterpolationError(
      `invalid interpolation format for ${path}: ${goQuote(err.template)}; you may need to escape any $ with another $`,
    );
  }
  return new InterpolationError(`error while interpolating ${path}: ${(err as Error).message}`);
}

function interpolateValue(value: unknown, path: string, lookup: Lookup): unknown {
  if (typeof value === 'string') {
    let next: string;
    try {
      next = substitute(value, lookup);
    } catch (e) {
      throw pathError(path, e);
    }
    if (next === value) return value;
    const cast = castFor(path);
    if (!cast) return next;
    try {
      return cast(next);
    } catch (e) {
      throw pathError(path, new Error(`failed to cast to expected type: ${(e as Error).message}`));
    }
  }
  if (Array.isArray(value)) return value.map((v) => interpolateValue(v, `${path}.[]`, lookup));
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Tree = {};
    for (const [k, v] of Object.entries(value)) setOwn(out, k, interpolateValue(v, `${path}.${k}`, lookup));
    return out;
  }
  return value;
}

/** interpolation.Interpolate over a whole file: keys are never touched, values are. */
export function interpolateTree(tree: Tree, lookup: Lookup): Tree {
  const out: Tree = {};
  for (const [k, v] of Object.entries(tree)) setOwn(out, k, interpolateValue(v, k, lookup));
  return out;
}
