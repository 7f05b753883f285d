// YAML written as gopkg.in/yaml.v3's encoder writes it with SetIndent(2), which `docker stack config`
// uses: block style, sequences indented under their key, mapping keys sorted in yaml.v3's natural order,
// strings plain when the emitter allows it and they would read back as strings (and are not YAML 1.1
// booleans or base-60 numbers), else single or double quoted; multi-line strings as literal blocks; empty
// mappings and sequences in flow style (`{}`, `[]`); no line folding.

import { formatFloat, formatFloat32 } from '../api/strconv.js';

/** A YAML node to write: mappings keep the order given (structs) or are sorted (`sorted: true`). */
export type YNode =
  | { kind: 'map'; entries: [string, YNode][] }
  | { kind: 'seq'; items: YNode[] }
  | { kind: 'str'; value: string }
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number; bits: 32 | 64 }
  | { kind: 'bool'; value: boolean }
  /** A time.Time: RFC 3339, plain. */
  | { kind: 'time'; value: string }
  | { kind: 'null' };

export const ystr = (value: string): YNode => ({ kind: 'str', value });
export const yint = (value: number): YNode => ({ kind: 'int', value });
export const ybool = (value: boolean): YNode => ({ kind: 'bool', value });
export const ynull: YNode = { kind: 'null' };
export const yseq = (items: YNode[]): YNode => ({ kind: 'seq', items });
export const ymap = (entries: [string, YNode][]): YNode => ({ kind: 'map', entries });

const isLetter = (c: string): boolean => /\p{L}/u.test(c);
const isDigit = (c: string): boolean => /\p{Nd}/u.test(c);

/** yaml.v3's keyList.Less for string keys: letters and digit runs compared naturally. */
export function yamlKeyLess(a: string, b: string): boolean {
  const ar = [...a];
  const br = [...b];
  let digits = false;
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) {
      digits = isDigit(ar[i]!);
      continue;
    }
    const al = isLetter(ar[i]!);
    const bl = isLetter(br[i]!);
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
    if (al || bl) return digits ? al : bl;
    let an = 0n;
    let bn = 0n;
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1n;
          bn = 1n;
          break;
        }
      }
    }
    let ai = i;
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10n + BigInt(ar[ai]!.charCodeAt(0) - 48);
    let bi = i;
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10n + BigInt(br[bi]!.charCodeAt(0) - 48);
    if (an !== bn) return an < bn;
    if (ai !== bi) return ai < bi;
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!;
  }
  return ar.length < br.length;
}

/** A Go map written by yaml.v3: its keys sorted. */
export function ysorted(entries: [string, YNode][]): YNode {
  return ymap([...entries].sort(([a], [b]) => (yamlKeyLess(a, b) ? -1 : yamlKeyLess(b, a) ? 1 : 0)));
}

// ---------------------------------------------------------------- what a plain string would read as

const OLD_BOOLS = new Set([
  'y',
  'Y',
  'yes',
  'Yes',
  'YES',
  'on',
  'On',
  'ON',
  'n',
  'N',
  'no',
  'No',
  'NO',
  'off',
  'Off',
  'OFF',
]);
const BASE60_FLOAT = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/;
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const GO_INT = /^[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)$/;
const SPECIAL = new Set([
  '',
  '~',
  'null',
  'Null',
  'NULL',
  'true',
  'True',
  'TRUE',
  'false',
  'False',
  'FALSE',
  '.nan',
  '.NaN',
  '.NAN',
  '.inf',
  '.Inf',
  '.INF',
  '+.inf',
  '+.Inf',
  '+.INF',
  '-.inf',
  '-.Inf',
  '-.INF',
]);

function isTimestamp(s: string): boolean {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.exec(
      s,
    );
  if (!m) return false;
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return false;
  if (m[4] !== undefined) {
    if (Number(m[5]) > 23 || Number(m[6]) > 59 || Number(m[7]) > 59) return false;
    // `T`/`t` need a zone; a space must have none.
    if (m[4] === ' ' ? m[8] !== undefined : m[8] === undefined) return false;
  }
  return true;
}

/** Whether yaml.v3's resolve would read the plain text as something other than a string. */
function resolvesToNonString(s: string): boolean {
  if (SPECIAL.has(s)) return true;
  const first = s[0]!;
  if (first === '.') return /^\.[0-9]/.test(s) && !Number.isNaN(Number(s)) && YAML_FLOAT.test(s);
  if (!'+-0123456789'.includes(first)) return false;
  if (isTimestamp(s)) return true;
  const plain = s.replace(/_/g, '');
  if (GO_INT.test(plain)) return true;
  if (YAML_FLOAT.test(plain)) return true;
  return false;
}

// ---------------------------------------------------------------- libyaml's scalar analysis

const isBreak = (c: string): boolean =>
  c === '\n' || c === '\r' || c === '\u0085' || c === '\u2028' || c === '\u2029';
const isSpace = (c: string): boolean => c === ' ';
const isBlankOrEnd = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || isBreak(c);

function isPrintable(c: string): boolean {
  const cp = c.codePointAt(0)!;
  return (
    cp === 0x0a ||
    (cp >= 0x20 && cp <= 0x7e) ||
    cp === 0x85 ||
    (cp >= 0xa0 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

interface Analysis {
  multiline: boolean;
  blockPlainAllowed: boolean;
  singleQuotedAllowed: boolean;
  blockAllowed: boolean;
}

function analyze(s: string): Analysis {
  if (s.length === 0) {
    return { multiline: false, blockPlainAllowed: false, singleQuotedAllowed: true, blockAllowed: false };
  }
  const chars = [...s];
  let blockIndicators = s.startsWith('---') || s.startsWith('...');
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  let precededByWhitespace = true;
  let previousSpace = false;
  let previousBreak = false;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    const followedByWhitespace = isBlankOrEnd(chars[i + 1]);
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true;
      if ((c === '?' || c === ':') && followedByWhitespace) blockIndicators = true;
      if (c === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (c === ':' && followedByWhitespace) blockIndicators = true;
      if (c === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (!isPrintable(c)) special = true;
    if (isBreak(c)) lineBreaks = true;
    if (isSpace(c)) {
      if (i === 0) leadingSpace = true;
      if (i === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (isBreak(c)) {
      if (i === 0) leadingBreak = true;
      if (i === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousBreak = true;
      previousSpace = false;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = c === ' ' || c === '\t' || isBreak(c);
  }
  let blockPlain = true;
  let single = true;
  let block = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) blockPlain = false;
  if (trailingSpace) block = false;
  if (breakSpace) {
    blockPlain = false;
    single = false;
  }
  if (spaceBreak || special) {
    blockPlain = false;
    single = false;
    block = false;
  }
  if (lineBreaks) blockPlain = false;
  if (blockIndicators) blockPlain = false;
  return {
    multiline: lineBreaks,
    blockPlainAllowed: blockPlain,
    singleQuotedAllowed: single,
    blockAllowed: block,
  };
}

function doubleQuoted(s: string): string {
  let out = '"';
  for (const c of s) {
    const cp = c.codePointAt(0)!;
    switch (c) {
      case '\0':
        out += '\\0';
        continue;
      case '\x07':
        out += '\\a';
        continue;
      case '\b':
        out += '\\b';
        continue;
      case '\t':
        out += '\\t';
        continue;
      case '\n':
        out += '\\n';
        continue;
      case '\v':
        out += '\\v';
        continue;
      case '\f':
        out += '\\f';
        continue;
      case '\r':
        out += '\\r';
        continue;
      case '\x1b':
        out += '\\e';
        continue;
      case '"':
        out += '\\"';
        continue;
      case '\\':
        out += '\\\\';
        continue;
      case '\u0085':
        out += '\\N';
        continue;
      case '\u00a0':
        out += '\\_';
        continue;
      case '\u2028':
        out += '\\L';
        continue;
      case '\u2029':
        out += '\\P';
        continue;
    }
    if (isPrintable(c) && cp !== 0xfeff) out += c;
    else if (cp <= 0xff) out += `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`;
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`;
  }
  return out + '"';
}

const singleQuoted = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** A literal block scalar: `|`, its chomping indicator, then the lines at `indent`. */
function literal(s: string, indent: number): string {
  let hints = '';
  if (s.startsWith(' ') || isBreak(s[0]!)) hints += '2';
  if (!isBreak(s[s.length - 1]!)) hints += '-';
  else if (s.length === 1 || isBreak(s[s.length - 2]!)) hints += '+';
  const body = s.endsWith('\n') ? s.slice(0, -1) : s;
  const pad = ' '.repeat(indent);
  return `|${hints}\n${body
    .split('\n')
    .map((line) => (line === '' ? '' : pad + line))
    .join('\n')}`;
}

/** A string scalar in block context; `key` for mapping keys (simple keys are never block scalars). */
function scalarString(s: string, indent: number, key: boolean): string {
  const canUsePlain = !resolvesToNonString(s) && !BASE60_FLOAT.test(s) && !OLD_BOOLS.has(s);
  const a = analyze(s);
  if (!key && s.includes('\n') && a.blockAllowed) return literal(s, indent);
  if (canUsePlain && a.blockPlainAllowed && !(key && a.multiline)) return s;
  if (canUsePlain && a.singleQuotedAllowed && !a.multiline) return singleQuoted(s);
  if (!canUsePlain) return doubleQuoted(s);
  return a.singleQuotedAllowed && !a.multiline ? singleQuoted(s) : doubleQuoted(s);
}

function scalar(node: YNode, indent: number): string {
  switch (node.kind) {
    case 'str':
      return scalarString(node.value, indent, false);
    case 'int':
      return String(node.value);
    case 'float': {
      const text = node.bits === 32 ? formatFloat32(node.value) : formatFloat(node.value, 'g', -1);
      if (text === '+Inf') return '.inf';
      if (text === '-Inf') return '-.inf';
      if (text === 'NaN') return '.nan';
      return text;
    }
    case 'bool':
      return node.value ? 'true' : 'false';
    case 'time':
      return node.value;
    case 'null':
      return 'null';
    default:
      throw new Error('not a scalar');
  }
}

function isEmptyCollection(node: YNode): string | undefined {
  if (node.kind === 'map' && node.entries.length === 0) return '{}';
  if (node.kind === 'seq' && node.items.length === 0) return '[]';
  return undefined;
}

function writeNode(node: YNode, indent: number, lines: string[], prefix: string): void {
  const empty = isEmptyCollection(node);
  if (empty !== undefined || (node.kind !== 'map' && node.kind !== 'seq')) {
    lines.push(`${prefix}${empty ?? scalar(node, indent)}`);
    return;
  }
  const pad = ' '.repeat(indent);
  if (node.kind === 'map') {
    node.entries.forEach(([key, value], i) => {
      const head = i === 0 ? prefix : pad;
      const k = scalarString(key, indent, true);
      const valueEmpty = isEmptyCollection(value);
      if ((value.kind === 'map' || value.kind === 'seq') && valueEmpty === undefined) {
        lines.push(`${head}${k}:`);
        writeNode(value, indent + 2, lines, ' '.repeat(indent + 2));
      } else {
        lines.push(`${head}${k}: ${valueEmpty ?? scalar(value, indent + 2)}`);
      }
    });
    return;
  }
  node.items.forEach((item, i) => {
    const head = i === 0 ? prefix : pad;
    writeNode(item, indent + 2, lines, `${head}- `);
  });
}

/** yaml.v3's Encode of a document (with SetIndent(2)): the text, ending with a newline. */
export function encodeYAML(node: YNode): string {
  const lines: string[] = [];
  writeNode(node, 0, lines, '');
  return lines.join('\n') + '\n';
}
