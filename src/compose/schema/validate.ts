// Validation of a Compose file against its version's schema (ajv), with the one error the docker CLI
// reports and its words. Docker validates with gojsonschema and prints its "most specific" error: the one
// whose field has the most dotted parts, an invalid type winning a tie; a oneOf/anyOf error is shown with
// the description of the first error of its best-matching alternative (cli/compose/schema.toError). The
// field is the dotted path of the value (`services.web.deploy.replicas`, `(root)` at the top), the
// descriptions are gojsonschema's (`Additional property x is not allowed`, `Does not match format
// 'duration'`), invalid types are `must be a string`, `must be a string, number or null`, `must be a
// mapping`, `must be a list`.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDuration } from '../../api/duration.js';
import { parsePortSpec } from '../../api/nat.js';
import { normalizeVersion, schemaFor } from './versions.js';

export class SchemaError extends Error {
  override name = 'SchemaError';
}

type Json = Record<string, unknown>;

/** Go's format checkers: duration (time.ParseDuration), ports (nat.ParsePortSpec); others pass. */
function goFormat(format: string, data: unknown): boolean {
  switch (format) {
    case 'duration':
      if (typeof data !== 'string') return false;
      try {
        parseDuration(data);
        return true;
      } catch {
        return false;
      }
    case 'ports': {
      let spec: string;
      if (typeof data === 'string') spec = data;
      else if (typeof data === 'number')
        spec = Number.isInteger(data) ? String(data) : String(Math.trunc(data));
      else return true;
      try {
        parsePortSpec(spec);
        return true;
      } catch {
        return false;
      }
    }
    default:
      return true;
  }
}

/**
 * The schema ready for ajv: `$ref`s inlined (so that every error's schema path says which alternative of
 * a oneOf it came from) and `format` turned into a keyword of ours that checks strings and numbers alike,
 * as gojsonschema does.
 */
function prepare(node: unknown, root: Json, mapOfSchemas = false): unknown {
  if (Array.isArray(node)) return node.map((n) => prepare(n, root));
  if (node === null || typeof node !== 'object') return node;
  const obj = node as Json;
  if (!mapOfSchemas && typeof obj['$ref'] === 'string') {
    const path = (obj['$ref'] as string).replace(/^#\//, '').split('/');
    let target: unknown = root;
    for (const key of path) target = (target as Json)[key];
    return prepare(target, root);
  }
  const out: Json = {};
  for (const [key, value] of Object.entries(obj)) {
    if (mapOfSchemas) {
      out[key] = prepare(value, root);
    } else if (key === 'format') {
      out['goFormat'] = value;
    } else if (key === 'definitions') {
      continue;
    } else if (key === 'properties' || key === 'patternProperties') {
      out[key] = prepare(value, root, true);
    } else if (key === 'enum' || key === 'required' || key === 'default') {
      out[key] = value;
    } else {
      out[key] = prepare(value, root);
    }
  }
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: false, verbose: true, validateFormats: false });
ajv.addKeyword({
  keyword: 'goFormat',
  schemaType: 'string',
  validate: (format: string, data: unknown) => goFormat(format, data),
});

/** A change to a version's schema for one of shoal's `x-shoal` options. */
export interface SchemaVariant {
  readonly key: string;
  apply(schema: Json): void;
}

const compiled = new Map<string, ValidateFunction>();

function validatorFor(version: string, variant?: SchemaVariant): ValidateFunction | undefined {
  const key = variant ? `${version}+${variant.key}` : version;
  let fn = compiled.get(key);
  if (!fn) {
    let schema = schemaFor(version);
    if (!schema) return undefined;
    if (variant) {
      schema = structuredClone(schema);
      variant.apply(schema);
    }
    fn = ajv.compile(prepare(schema, schema) as Json);
    compiled.set(key, fn);
  }
  return fn;
}

/** One error as gojsonschema describes it. */
interface GoError {
  field: string;
  type: string;
  description: string;
  /** For oneOf/anyOf errors: the errors of the alternative that matched best, in order. */
  children?: GoError[];
}

function fieldOf(instancePath: string): string {
  if (instancePath === '') return '(root)';
  return instancePath
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .join('.');
}

/** humanReadableType: `string`, `string, number or null`, `mapping`, `list`. */
function humanType(type: unknown): string {
  const one = (t: string): string => (t === 'object' ? 'mapping' : t === 'array' ? 'list' : t);
  const types = Array.isArray(type) ? (type as string[]) : String(type).split(',');
  if (types.length === 1) return one(types[0]!);
  return `${types.slice(0, -1).map(one).join(', ')} or ${one(types[types.length - 1]!)}`;
}

function describe(e: ErrorObject): GoError {
  const field = fieldOf(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'type':
      return { field, type: 'invalid_type', description: `must be a ${humanType(p['type'])}` };
    case 'additionalProperties':
      return {
        field,
        type: 'additional_property_not_allowed',
        description: `Additional property ${String(p['additionalProperty'])} is not allowed`,
      };
    case 'goFormat':
      return { field, type: 'format', description: `Does not match format '${String(e.schema)}'` };
    case 'oneOf':
      return { field, type: 'number_one_of', description: 'Must validate one and only one schema (oneOf)' };
    case 'anyOf':
      return { field, type: 'number_any_of', description: 'Must validate at least one schema (anyOf)' };
    case 'required':
      return { field, type: 'required', description: `${String(p['missingProperty'])} is required` };
    case 'enum': {
      const allowed = ((e.schema as unknown[]) ?? []).map((v) => JSON.stringify(v)).join(', ');
      return { field, type: 'enum', description: `${field} must be one of the following: ${allowed}` };
    }
    case 'uniqueItems': {
      const [i, j] = [Number(p['j']), Number(p['i'])].sort((a, b) => a - b);
      return { field, type: 'array_no_duplicates', description: `array items[${i},${j}] must be unique` };
    }
    case 'minimum':
      return {
        field,
        type: 'number_gte',
        description: `Must be greater than or equal to ${String(p['limit'])}`,
      };
    case 'pattern':
      return { field, type: 'pattern', description: `Does not match pattern '${String(p['pattern'])}'` };
    default:
      return { field, type: e.keyword, description: e.message ?? e.keyword };
  }
}

/** An alternative whose value has the wrong type altogether scores nothing in gojsonschema. */
function rootTypeMismatch(errors: readonly ErrorObject[], alt: string, instancePath: string): boolean {
  return errors.some(
    (e) => e.keyword === 'type' && e.instancePath === instancePath && e.schemaPath === `${alt}/type`,
  );
}

/**
 * gojsonschema's error list: a oneOf/anyOf error followed by the errors of its best alternative (the
 * first one whose value at least has the right type), the other alternatives' errors dropped.
 */
function goErrors(errors: readonly ErrorObject[], scope = ''): GoError[] {
  const inScope = errors.filter((e) => e.schemaPath.startsWith(scope));
  const out: GoError[] = [];
  const consumed = new Set<ErrorObject>();
  for (const e of inScope) {
    if (consumed.has(e)) continue;
    // A oneOf/anyOf error comes after its alternatives' errors in ajv's list: find the outermost
    // combinator this error belongs to (or is).
    const isCombinator = (c: ErrorObject): boolean => c.keyword === 'oneOf' || c.keyword === 'anyOf';
    const owner = inScope
      .filter((c) => isCombinator(c) && c !== e && e.schemaPath.startsWith(`${c.schemaPath}/`))
      .sort((a, b) => a.schemaPath.length - b.schemaPath.length)[0];
    const combinator = owner ?? (isCombinator(e) ? e : undefined);
    if (!combinator) {
      consumed.add(e);
      out.push(describe(e));
      continue;
    }
    const members = inScope.filter((c) => c.schemaPath.startsWith(`${combinator.schemaPath}/`));
    for (const m of members) consumed.add(m);
    consumed.add(combinator);
    const alternatives = new Map<string, ErrorObject[]>();
    for (const m of members) {
      const index = m.schemaPath.slice(combinator.schemaPath.length + 1).split('/')[0]!;
      const alt = `${combinator.schemaPath}/${index}`;
      alternatives.set(alt, [...(alternatives.get(alt) ?? []), m]);
    }
    const ordered = [...alternatives.keys()].sort(
      (a, b) => Number(a.split('/').pop()) - Number(b.split('/').pop()),
    );
    const best =
      ordered.find((alt) => !rootTypeMismatch(alternatives.get(alt)!, alt, combinator.instancePath)) ??
      ordered[0];
    const parent = describe(combinator);
    const passing = (combinator.params as { passingSchemas?: unknown }).passingSchemas;
    parent.children = best && !passing ? goErrors(alternatives.get(best)!, `${best}/`) : [];
    out.push(parent, ...parent.children);
  }
  return out;
}

const specificity = (e: GoError): number => e.field.split('.').length;

/** getMostSpecificError and its message. */
function mostSpecific(errors: readonly GoError[]): string {
  let best = 0;
  errors.forEach((e, i) => {
    const current = errors[best]!;
    if (specificity(e) > specificity(current)) best = i;
    else if (
      specificity(e) === specificity(current) &&
      e.type === 'invalid_type' &&
      current.type !== 'invalid_type'
    )
      best = i;
  });
  const chosen = errors[best]!;
  const next = errors[best + 1];
  const description =
    (chosen.type === 'number_one_of' || chosen.type === 'number_any_of') && next
      ? next.description
      : chosen.description;
  return `${chosen.field} ${description}`;
}

/** schema.Validate: nothing, or Docker's error. */
export function validateCompose(config: Json, version: string, variant?: SchemaVariant): void {
  const normalized = normalizeVersion(version);
  const validate = validatorFor(normalized, variant);
  if (!validate) throw new SchemaError(`unsupported Compose file version: ${normalized}`);
  if (validate(config)) return;
  const errors = goErrors(validate.errors ?? []);
  throw new SchemaError(mostSpecific(errors));
}
