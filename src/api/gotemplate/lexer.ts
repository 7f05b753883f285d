// The lexer (Go's text/template/parse/lex.go): template text as items — text, the delimiters of actions,
// and the tokens inside them — with Go's lexing errors.

import { sprintf } from './gofmt.js';

export const enum T {
  Error,
  Bool,
  Char,
  CharConstant,
  Comment,
  Complex,
  Assign,
  Declare,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  Keyword, // keywords follow
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

const KEYWORDS: Record<string, T> = {
  '.': T.Dot,
  block: T.Block,
  break: T.Break,
  continue: T.Continue,
  define: T.Define,
  else: T.Else,
  end: T.End,
  if: T.If,
  range: T.Range,
  nil: T.Nil,
  template: T.Template,
  with: T.With,
};

export interface Item {
  typ: T;
  pos: number;
  val: string;
  line: number;
}

export function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  if ([...i.val].length > 10) return `${goQuoteTrunc(i.val, 10)}...`;
  return goStrQuote(i.val);
}

// Go's %q of a string (strconv.Quote).
export function goStrQuote(s: string): string {
  return sprintf('%q', s);
}

function goQuoteTrunc(s: string, n: number): string {
  return sprintf(`%.${n}q`, s);
}

const SPACE = /[ \t\r\n]/;
const isSpace = (c: string | undefined): boolean => c !== undefined && c.length === 1 && SPACE.test(c);
const ALNUM = /^[\p{L}\p{Nd}_]$/u;
const isAlphaNumeric = (c: string | undefined): boolean => c !== undefined && ALNUM.test(c);

const LEFT = '{{';
const RIGHT = '}}';

export class Lexer {
  readonly items: Item[] = [];
  private pos = 0;
  private start = 0;
  private line = 1;
  private startLine = 1;
  private parenDepth = 0;
  private atEOF = false;

  constructor(
    private readonly input: string,
    private readonly breakOK: boolean,
    private readonly continueOK: boolean,
  ) {}

  run(): Item[] {
    let state: (() => unknown) | null = () => this.lexText();
    while (state) state = state() as (() => unknown) | null;
    return this.items;
  }

  private next(): string | undefined {
    if (this.pos >= this.input.length) {
      this.atEOF = true;
      return undefined;
    }
    const cp = this.input.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(cp);
    this.pos += ch.length;
    if (ch === '\n') this.line++;
    return ch;
  }

  private peek(): string | undefined {
    if (this.pos >= this.input.length) return undefined;
    return String.fromCodePoint(this.input.codePointAt(this.pos)!);
  }

  private backup(ch: string | undefined): void {
    if (!this.atEOF && ch !== undefined && this.pos > 0) {
      this.pos -= ch.length;
      if (ch === '\n') this.line--;
    }
  }

  private emit(typ: T): void {
    this.items.push({
      typ,
      pos: this.start,
      val: this.input.slice(this.start, this.pos),
      line: this.startLine,
    });
    this.start = this.pos;
    this.startLine = this.line;
  }

  private ignore(): void {
    this.line += countNewlines(this.input.slice(this.start, this.pos));
    this.start = this.pos;
    this.startLine = this.line;
  }

  private errorf(msg: string): null {
    this.items.push({ typ: T.Error, pos: this.start, val: msg, line: this.startLine });
    return null;
  }

  private hasLeftTrimMarker(at: number): boolean {
    return this.input[at] === '-' && isSpace(this.input[at + 1]);
  }

  private hasRightTrimMarker(at: number): boolean {
    return isSpace(this.input[at]) && this.input[at + 1] === '-';
  }

  private atRightDelim(): { delim: boolean; trim: boolean } {
    if (this.hasRightTrimMarker(this.pos) && this.input.startsWith(RIGHT, this.pos + 2)) {
      return { delim: true, trim: true };
    }
    if (this.input.startsWith(RIGHT, this.pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  }

  private lexText(): (() => unknown) | null {
    const x = this.input.indexOf(LEFT, this.pos);
    if (x >= 0) {
      this.pos = x;
      let trimLength = 0;
      if (this.hasLeftTrimMarker(x + LEFT.length)) {
        const text = this.input.slice(this.start, this.pos);
        trimLength = text.length - text.replace(/[ \t\r\n]+$/, '').length;
      }
      this.pos -= trimLength;
      if (this.pos > this.start) {
        this.line += countNewlines(this.input.slice(this.start, this.pos));
        this.emit(T.Text);
      }
      this.pos += trimLength;
      this.ignore();
      return () => this.lexLeftDelim();
    }
    this.pos = this.input.length;
    if (this.pos > this.start) {
      this.line += countNewlines(this.input.slice(this.start, this.pos));
      this.emit(T.Text);
    }
    this.emit(T.EOF);
    return null;
  }

  private lexLeftDelim(): (() => unknown) | null {
    this.pos += LEFT.length;
    const trim = this.hasLeftTrimMarker(this.pos);
    const afterMarker = trim ? 2 : 0;
    if (this.input.startsWith('/*', this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      return () => this.lexComment();
    }
    this.emit(T.LeftDelim);
    this.pos += afterMarker;
    this.ignore();
    this.parenDepth = 0;
    return () => this.lexInsideAction();
  }

  private lexComment(): (() => unknown) | null {
    this.pos += 2;
    const i = this.input.indexOf('*/', this.pos);
    if (i < 0) return this.errorf('unclosed comment');
    this.pos = i + 2;
    const { delim, trim } = this.atRightDelim();
    if (!delim) return this.errorf('comment ends before closing delimiter');
    if (trim) this.pos += 2;
    this.pos += RIGHT.length;
    if (trim) this.pos += leadingSpace(this.input, this.pos);
    this.ignore();
    return () => this.lexText();
  }

  private lexRightDelim(): (() => unknown) | null {
    const trim = this.hasRightTrimMarker(this.pos);
    if (trim) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += RIGHT.length;
    this.emit(T.RightDelim);
    if (trim) {
      this.pos += leadingSpace(this.input, this.pos);
      this.ignore();
    }
    return () => this.lexText();
  }

  private lexInsideAction(): (() => unknown) | null {
    const { delim } = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return () => this.lexRightDelim();
      return this.errorf('unclosed left paren');
    }
    const r = this.next();
    if (r === undefined) return this.errorf('unclosed action');
    if (isSpace(r)) {
      this.backup(r);
      return () => this.lexSpace();
    }
    switch (r) {
      case '=':
        this.emit(T.Assign);
        return () => this.lexInsideAction();
      case ':':
        if (this.next() !== '=') return this.errorf('expected :=');
        this.emit(T.Declare);
        return () => this.lexInsideAction();
      case '|':
        this.emit(T.Pipe);
        return () => this.lexInsideAction();
      case '"':
        return () => this.lexQuote();
      case '`':
        return () => this.lexRawQuote();
      case '$':
        return () => this.lexVariable();
      case "'":
        return () => this.lexChar();
      case '(':
        this.emit(T.LeftParen);
        this.parenDepth++;
        return () => this.lexInsideAction();
      case ')':
        this.emit(T.RightParen);
        this.parenDepth--;
        if (this.parenDepth < 0) return this.errorf(`unexpected right paren ${unicodeName(r)}`);
        return () => this.lexInsideAction();
    }
    if (r === '.') {
      if (this.pos < this.input.length) {
        const c = this.input[this.pos]!;
        if (c < '0' || c > '9') return () => this.lexFieldOrVariable(T.Field);
      }
    }
    if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      this.backup(r);
      return () => this.lexNumber();
    }
    if (isAlphaNumeric(r)) {
      this.backup(r);
      return () => this.lexIdentifier();
    }
    const cp = r.codePointAt(0)!;
    if (cp <= 0x7f && cp >= 0x20 && cp !== 0x7f) {
      this.emit(T.Char);
      return () => this.lexInsideAction();
    }
    return this.errorf(`unrecognized character in action: ${unicodeName(r)}`);
  }

  private lexSpace(): (() => unknown) | null {
    let numSpaces = 0;
    while (isSpace(this.peek())) {
      this.next();
      numSpaces++;
    }
    if (this.hasRightTrimMarker(this.pos - 1) && this.input.startsWith(RIGHT, this.pos + 1)) {
      this.backup(this.input[this.pos - 1]);
      if (numSpaces === 1) return () => this.lexRightDelim();
    }
    this.emit(T.Space);
    return () => this.lexInsideAction();
  }

  private lexIdentifier(): (() => unknown) | null {
    for (;;) {
      const r = this.next();
      if (isAlphaNumeric(r)) continue;
      this.backup(r);
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) return this.errorf(`bad character ${unicodeName(r)}`);
      const kw = KEYWORDS[word];
      if (kw !== undefined && kw > T.Keyword && Object.prototype.hasOwnProperty.call(KEYWORDS, word)) {
        if ((kw === T.Break && !this.breakOK) || (kw === T.Continue && !this.continueOK))
          this.emit(T.Identifier);
        else this.emit(kw);
      } else if (word[0] === '.') {
        this.emit(T.Field);
      } else if (word === 'true' || word === 'false') {
        this.emit(T.Bool);
      } else {
        this.emit(T.Identifier);
      }
      return () => this.lexInsideAction();
    }
  }

  private lexVariable(): (() => unknown) | null {
    if (this.atTerminator()) {
      this.emit(T.Variable);
      return () => this.lexInsideAction();
    }
    return this.lexFieldOrVariable(T.Variable);
  }

  private lexFieldOrVariable(typ: T): (() => unknown) | null {
    if (this.atTerminator()) {
      this.emit(typ === T.Variable ? T.Variable : T.Dot);
      return () => this.lexInsideAction();
    }
    let r: string | undefined;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup(r);
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${unicodeName(r)}`);
    this.emit(typ);
    return () => this.lexInsideAction();
  }

  private atTerminator(): boolean {
    const r = this.peek();
    if (r === undefined || isSpace(r)) return true;
    switch (r) {
      case '.':
      case ',':
      case '|':
      case ':':
      case ')':
      case '(':
        return true;
    }
    return this.input.startsWith(RIGHT, this.pos);
  }

  private lexChar(): (() => unknown) | null {
    return this.lexDelimited("'", T.CharConstant, 'unterminated character constant');
  }

  /** The rest of a quoted item up to `close` (escapes allowed, no newline), emitted as `token`. */
  private lexDelimited(close: string, token: T, unterminated: string): (() => unknown) | null {
    for (;;) {
      const r = this.next();
      if (r === '\\') {
        const e = this.next();
        if (e !== undefined && e !== '\n') continue;
        return this.errorf(unterminated);
      }
      if (r === undefined || r === '\n') return this.errorf(unterminated);
      if (r === close) break;
    }
    this.emit(token);
    return () => this.lexInsideAction();
  }

  private accept(valid: string): boolean {
    const r = this.next();
    if (r !== undefined && valid.includes(r)) return true;
    this.backup(r);
    return false;
  }

  private acceptRun(valid: string): void {
    for (;;) {
      const r = this.next();
      if (r === undefined || !valid.includes(r)) {
        this.backup(r);
        return;
      }
    }
  }

  private scanNumber(): boolean {
    this.accept('+-');
    let digits = '0123456789_';
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  private lexNumber(): (() => unknown) | null {
    if (!this.scanNumber())
      return this.errorf(`bad number syntax: ${goStrQuote(this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === '+' || sign === '-') {
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') {
        return this.errorf(`bad number syntax: ${goStrQuote(this.input.slice(this.start, this.pos))}`);
      }
      this.emit(T.Complex);
    } else {
      this.emit(T.Number);
    }
    return () => this.lexInsideAction();
  }

  private lexQuote(): (() => unknown) | null {
    return this.lexDelimited('"', T.String, 'unterminated quoted string');
  }

  private lexRawQuote(): (() => unknown) | null {
    for (;;) {
      const r = this.next();
      if (r === undefined) return this.errorf('unterminated raw quoted string');
      if (r === '`') break;
    }
    this.emit(T.RawString);
    return () => this.lexInsideAction();
  }
}

export function countNewlines(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', i + 1)) n++;
  return n;
}

function leadingSpace(s: string, at: number): number {
  let n = 0;
  while (isSpace(s[at + n])) n++;
  return n;
}

function unicodeName(r: string | undefined): string {
  if (r === undefined) return 'U+FFFFFFFFFFFFFFFF';
  const cp = r.codePointAt(0)!;
  return sprintf('%#U', cp);
}
