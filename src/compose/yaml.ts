// Compose files as the docker CLI reads them (loader.ParseYAML, gopkg.in/yaml.v3 decoding into `any`):
// YAML 1.2 core scalars with yaml.v3's integer rules — Go's literal syntax after dropping underscores, so
// `0440` is octal (288), `0b101` binary and `1_000` a thousand —, anchors, aliases and `<<` merge keys.
// The root must be a mapping. Errors carry yaml.v3's texts for the cases users meet (a tab in the
// indentation, a key given twice); others keep the library's words behind yaml.v3's `yaml: line N:`.

import { isScalar, LineCounter, parseDocument, type Node, type ScalarTag } from 'yaml';
import { setOwn } from '../api/own.js';
import { goQuote, parseIntBig, parseUintBig } from '../api/strconv.js';
import { parseYAMLTimestamp } from './gotime.js';

/** A Compose tree: what yaml.v3 gives Go's `map[string]any` (mappings keyed by strings). */
export type Tree = Record<string, unknown>;

export class ComposeYAMLError extends Error {
  override name = 'ComposeYAMLError';
}

/** yaml.v3's resolve for ints: underscores dropped, then Go's ParseInt (or ParseUint) with base 0. */
function goInt(text: string): number | undefined {
  const plain = text.replace(/_/g, '');
  for (const parse of [parseIntBig, parseUintBig]) {
    try {
      const v = parse(plain, 0, 64);
      if (v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
      return Number(v);
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Integers the core schema reads as strings (or as decimals) but yaml.v3 reads as numbers. */
const GO_INT: ScalarTag = {
  tag: 'tag:yaml.org,2002:int',
  default: true,
  // A leading 0 (octal), 0b/0o/0x prefixes and underscores between digits, with an optional sign.
  test: /^[-+]?(?:0[0-7_]+|0[bB][01_]+|0[oO][0-7_]+|0[xX][0-9a-fA-F_]+|[0-9][0-9_]*_[0-9_]*)$/,
  resolve: (text: string) => goInt(text) ?? text,
};

/** Unquoted timestamps (yaml.v3 decodes them into time.Time). */
const TIMESTAMP: ScalarTag = {
  tag: 'tag:yaml.org,2002:timestamp',
  default: true,
  test: /^\d{4}-\d{1,2}-\d{1,2}(?:[Tt ]\d{1,2}:\d{1,2}:\d{1,2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?)?$/,
  resolve: (text: string) => parseYAMLTimestamp(text) ?? text,
};

const LINE = /at line (\d+), column \d+/;

function lineOf(message: string): number | undefined {
  const m = LINE.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Turns the library's first error into yaml.v3's words. */
function yamlError(code: string, message: string, duplicate: string | undefined): ComposeYAMLError {
  const line = lineOf(message);
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  switch (code) {
    case 'TAB_AS_INDENT':
      return new ComposeYAMLError(`yaml: line ${line}: found character that cannot start any token`);
    case 'DUPLICATE_KEY':
      if (duplicate) return new ComposeYAMLError(`yaml: unmarshal errors:\n  ${duplicate}`);
      return new ComposeYAMLError(`yaml: unmarshal errors:\n  line ${line}: mapping key already defined`);
    default:
      return new ComposeYAMLError(line !== undefined ? `yaml: line ${line}: ${first}` : `yaml: ${first}`);
  }
}

/** Plain data: mappings as string-keyed objects (own properties only), sequences as arrays. */
function plain(value: unknown): unknown {
  if (value instanceof Map) {
    const out: Tree = {};
    for (const [k, v] of value) setOwn(out, keyString(k), plain(v));
    return out;
  }
  if (Array.isArray(value)) return value.map(plain);
  return value;
}

function keyString(key: unknown): string {
  if (key === null || key === undefined) return '';
  if (typeof key === 'object') return JSON.stringify(key);
  return String(key);
}

/** ParseYAML: the file's root mapping, or Docker's error. */
export function parseComposeYAML(source: string): Tree {
  const lines = new LineCounter();
  let duplicate: string | undefined;
  const lineAt = (node: Node): number => lines.linePos(node.range?.[0] ?? 0).line;
  const doc = parseDocument(source, {
    schema: 'core',
    merge: true,
    customTags: (tags) => [GO_INT, TIMESTAMP, ...tags],
    prettyErrors: true,
    lineCounter: lines,
    uniqueKeys: (a, b) => {
      const same = a === b || (isScalar(a) && isScalar(b) && a.value === b.value);
      if (same && duplicate === undefined) {
        const key = isScalar(b) ? String(b.value) : '';
        duplicate = `line ${lineAt(b)}: mapping key ${goQuote(key)} already defined at line ${lineAt(a)}`;
      }
      return same;
    },
  });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    throw yamlError(err.code, err.message, duplicate);
  }
  const root = plain(doc.toJS({ mapAsMap: true, maxAliasCount: 10_000 }));
  if (root === null || typeof root !== 'object' || Array.isArray(root)) {
    throw new ComposeYAMLError('top-level object must be a mapping');
  }
  return root as Tree;
}
