// The scanner (encoding/json's scanner.go): request bytes to JSON values with Go's syntax errors. Objects
// keep their keys in order with repeats (`JsonObject`), numbers that would not print back as written keep
// their text (`JsonNumber`).

import { isAscii } from 'node:buffer';
import { invalidArgument } from '../../api/errors.js';
import { goQuote } from '../../api/strconv.js';

/** A number as written in the request (Go converts integers from the literal text). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

/** An object with its keys in request order, repeated keys kept. */
export class JsonObject {
  constructor(
    readonly keys: string[],
    readonly values: unknown[],
  ) {}
}

const MAX_DEPTH = 10000;

/**
 * Strings shorter than this are cut from the body decoded once as a whole (much faster than decoding each
 * one). V8 copies such short substrings; longer ones would be slices that keep the whole body alive for as
 * long as the decoded spec lives, so those are decoded from the buffer on their own.
 */
const SHORT_STRING = 13;

interface ArrayFrame {
  readonly object: false;
  readonly values: unknown[];
}
interface ObjectFrame {
  readonly object: true;
  readonly keys: string[];
  readonly values: unknown[];
}

/**
 * A JSON parser with the syntax errors of Go's scanner. Iterative (Go allows 10000 levels of nesting,
 * more than the JS stack takes). Produces `JsonObject`s and, for numbers that would not print back as
 * written, `JsonNumber`s.
 */
export class Parser {
  private i = 0;
  /** The whole body as a string when it is pure ASCII (offsets in it are byte offsets). */
  private readonly ascii: string | undefined;

  constructor(
    private readonly b: Buffer,
    private readonly mode: 'decoder' | 'unmarshal',
  ) {
    this.ascii = isAscii(b) ? b.toString('latin1') : undefined;
  }

  parse(): unknown {
    const b = this.b;
    this.skipSpace();
    if (this.i >= b.length) {
      throw invalidArgument(
        this.mode === 'decoder' ? 'got EOF while reading request body' : 'unexpected end of JSON input',
      );
    }
    const stack: (ArrayFrame | ObjectFrame)[] = [];
    let value: unknown;
    for (;;) {
      // A value starts here.
      this.skipSpace();
      if (this.i >= b.length) this.eof();
      const c = b[this.i]!;
      if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
        if (stack.length >= MAX_DEPTH) this.syntax(c, 'exceeded max depth');
        this.i++;
        this.skipSpace();
        if (this.i >= b.length) this.eof();
        if (c === 0x5b) {
          if (b[this.i] === 0x5d /* ] */) {
            this.i++;
            value = [];
          } else {
            stack.push({ object: false, values: [] });
            continue;
          }
        } else if (b[this.i] === 0x7d /* } */) {
          this.i++;
          value = new JsonObject([], []);
        } else {
          stack.push({ object: true, keys: [this.objectKey()], values: [] });
          continue;
        }
      } else if (c === 0x22 /* " */) {
        value = this.string();
      } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
        value = this.number();
      } else if (c === 0x74 /* t */) {
        value = this.literal('true', true);
      } else if (c === 0x66 /* f */) {
        value = this.literal('false', false);
      } else if (c === 0x6e /* n */) {
        value = this.literal('null', null);
      } else {
        this.syntax(c, 'looking for beginning of value');
      }

      // A value is complete: store it in its container, closing containers that end here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return this.finish(value);
        top.values.push(value);
        this.skipSpace();
        if (this.i >= b.length) this.eof();
        const d = b[this.i]!;
        if (d === 0x2c /* , */) {
          this.i++;
          if (top.object) {
            this.skipSpace();
            if (this.i >= b.length) this.eof();
            top.keys.push(this.objectKey());
          }
          break;
        }
        if (top.object ? d === 0x7d : d === 0x5d) {
          this.i++;
          stack.pop();
          value = top.object ? new JsonObject(top.keys, top.values) : top.values;
          continue;
        }
        this.syntax(d, top.object ? 'after object key:value pair' : 'after array element');
      }
    }
  }

  private finish(value: unknown): unknown {
    if (this.mode === 'unmarshal') {
      this.skipSpace();
      if (this.i < this.b.length) this.syntax(this.b[this.i]!, 'after top-level value');
    }
    return value;
  }

  /** An object key and its colon; `i` is at the opening quote (or whatever stands there instead). */
  private objectKey(): string {
    const b = this.b;
    if (b[this.i] !== 0x22) this.syntax(b[this.i]!, 'looking for beginning of object key string');
    const key = this.string();
    this.skipSpace();
    if (this.i >= b.length) this.eof();
    if (b[this.i] !== 0x3a /* : */) this.syntax(b[this.i]!, 'after object key');
    this.i++;
    return key;
  }

  private skipSpace(): void {
    const b = this.b;
    let i = this.i;
    while (i < b.length) {
      const c = b[i]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    this.i = i;
  }

  private string(): string {
    const b = this.b;
    const start = this.i + 1;
    let j = start;
    let escaped = false;
    for (;;) {
      if (j >= b.length) this.eof();
      const c = b[j]!;
      if (c === 0x22) break;
      if (c === 0x5c /* \ */) {
        escaped = true;
        j++;
        if (j >= b.length) this.eof('in string escape code');
        const e = b[j]!;
        if (e === 0x75 /* u */) {
          for (let k = 0; k < 4; k++) {
            j++;
            if (j >= b.length) this.eof('in \\u hexadecimal character escape');
            if (hexValue(b[j]!) < 0) this.syntax(b[j]!, 'in \\u hexadecimal character escape');
          }
        } else if (!SIMPLE_ESCAPES.has(e)) {
          this.syntax(e, 'in string escape code');
        }
        j++;
        continue;
      }
      if (c < 0x20) this.syntax(c, 'in string literal');
      j++;
    }
    this.i = j + 1;
    if (escaped) return unescape(b, start, j);
    return this.ascii !== undefined && j - start < SHORT_STRING
      ? this.ascii.slice(start, j)
      : b.toString('utf8', start, j);
  }

  private number(): unknown {
    const b = this.b;
    const start = this.i;
    let i = start;
    const digit = (at: number): boolean => at < b.length && b[at]! >= 0x30 && b[at]! <= 0x39;
    let integer = true;
    if (b[i] === 0x2d) {
      i++;
      if (i >= b.length) this.eof('in numeric literal');
      if (!digit(i)) this.syntax(b[i]!, 'in numeric literal');
    }
    if (b[i] === 0x30) i++;
    else while (digit(i)) i++;
    if (i < b.length && b[i] === 0x2e /* . */) {
      integer = false;
      i++;
      if (i >= b.length) this.eof('after decimal point in numeric literal');
      if (!digit(i)) this.syntax(b[i]!, 'after decimal point in numeric literal');
      while (digit(i)) i++;
    }
    if (i < b.length && (b[i] === 0x65 || b[i] === 0x45) /* e E */) {
      integer = false;
      i++;
      if (i < b.length && (b[i] === 0x2b || b[i] === 0x2d)) i++;
      if (i >= b.length) this.eof('in exponent of numeric literal');
      if (!digit(i)) this.syntax(b[i]!, 'in exponent of numeric literal');
      while (digit(i)) i++;
    }
    this.i = i;
    const text = this.ascii !== undefined ? this.ascii.slice(start, i) : b.toString('latin1', start, i);
    // Short integers print back exactly as written (JSON has no leading zeros); `-0` does not.
    if (integer && i - start <= 15 && text !== '-0') return Number(text);
    return new JsonNumber(text);
  }

  private literal(word: string, value: boolean | null): boolean | null {
    const b = this.b;
    for (let k = 1; k < word.length; k++) {
      const at = this.i + k;
      const context = `in literal ${word} (expecting '${word[k]}')`;
      if (at >= b.length) this.eof(context);
      if (b[at] !== word.charCodeAt(k)) this.syntax(b[at]!, context);
    }
    this.i += word.length;
    return value;
  }

  private syntax(c: number, context: string): never {
    throw invalidArgument(`invalid character ${quoteChar(c)} ${context}`);
  }

  /**
   * The input ends inside a value. The Decoder says `unexpected EOF`; Unmarshal feeds the scanner a space,
   * which fails with `context` in the states that cannot take one, else says `unexpected end of JSON input`.
   */
  private eof(context?: string): never {
    if (this.mode === 'decoder') throw invalidArgument('unexpected EOF');
    throw invalidArgument(
      context === undefined ? 'unexpected end of JSON input' : `invalid character ' ' ${context}`,
    );
  }
}

// b f n r t \ / "
const SIMPLE_ESCAPES = new Set([0x62, 0x66, 0x6e, 0x72, 0x74, 0x5c, 0x2f, 0x22]);

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  return -1;
}

const hex4 = (b: Buffer, at: number): number =>
  (hexValue(b[at]!) << 12) | (hexValue(b[at + 1]!) << 8) | (hexValue(b[at + 2]!) << 4) | hexValue(b[at + 3]!);

/**
 * The text of a (validated) string literal with escapes, as Go's unquote produces it: a surrogate escape
 * not followed by its partner becomes U+FFFD.
 */
function unescape(b: Buffer, start: number, end: number): string {
  let out = '';
  let run = start;
  let j = start;
  while (j < end) {
    if (b[j] !== 0x5c) {
      j++;
      continue;
    }
    if (j > run) out += b.toString('utf8', run, j);
    const e = b[j + 1]!;
    j += 2;
    switch (e) {
      case 0x62:
        out += '\b';
        break;
      case 0x66:
        out += '\f';
        break;
      case 0x6e:
        out += '\n';
        break;
      case 0x72:
        out += '\r';
        break;
      case 0x74:
        out += '\t';
        break;
      case 0x75: {
        const r = hex4(b, j);
        j += 4;
        if (r >= 0xd800 && r < 0xe000) {
          if (r < 0xdc00 && j + 6 <= end && b[j] === 0x5c && b[j + 1] === 0x75) {
            const r2 = hex4(b, j + 2);
            if (r2 >= 0xdc00 && r2 < 0xe000) {
              out += String.fromCharCode(r, r2);
              j += 6;
              break;
            }
          }
          out += '\ufffd';
        } else {
          out += String.fromCharCode(r);
        }
        break;
      }
      default: // " \ /
        out += String.fromCharCode(e);
    }
    run = j;
  }
  if (run < end) out += b.toString('utf8', run, end);
  return out;
}

/** Go's quoteChar: the byte as a rune, quoted like strconv.Quote but between single quotes. */
function quoteChar(c: number): string {
  if (c === 0x27) return "'\\''";
  if (c === 0x22) return `'"'`;
  return `'${goQuote(String.fromCharCode(c)).slice(1, -1)}'`;
}
