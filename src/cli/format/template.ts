// Go's text/template, evaluated over JavaScript data, with the functions Docker's CLI adds
// (docker/cli `templates`): the language behind every `--format` flag.
//
// The language: text and actions `{{…}}` with trim markers `{{- … -}}` and comments `{{/* … */}}`;
// fields `.A.B`, `$`, variables `$x := …` / `$x = …`, method-like fields (getters and functions, called
// with arguments when given), parenthesised pipelines and chains `(.X).Y`, pipelines `a | f`,
// `if / else if / else`, `with / else with / else`, `range` (slices, maps in key order, integers;
// `$i, $v :=`; `else`; `break`; `continue`), `define`, `template`, `block`; literals (strings, raw
// strings, chars, ints, floats, bools, nil). Functions: Go's builtins (and, or, not, len, index,
// slice, eq, ne, lt, le, gt, ge, print, printf, println, html, js, urlquery, call) and Docker's (json,
// split, join, title, lower, upper, pad, truncate). How JavaScript values stand for Go values (maps vs
// structs, ints vs floats) is described in govalue.ts.
//
// Error messages follow Go's: parse errors `template: NAME:LINE: …`, execution errors
// `template: NAME:LINE:COL: executing "NAME" at <NODE>: …`. Docker names its templates "" and wraps
// both in `template parsing error: …` (formatter.ts does that).

import { goUnquote, parseFloat, parseIntBig } from '../../api/strconv.js';
import { goJSON, GoJSONError } from './gojson.js';
import { formatValue, sprint, sprintf, sprintln } from './gofmt.js';
import {
  compareBytes,
  goLen,
  goTypeName,
  isNil,
  isTrue,
  kindOf,
  mapEntries,
  mapEntriesInOrder,
  mapGet,
} from './govalue.js';

// ---------------------------------------------------------------------------------------------------
// Errors

export class TemplateError extends Error {
  /** 'parse' for errors in the template text, 'exec' for errors while executing it. */
  readonly phase: 'parse' | 'exec';
  constructor(phase: 'parse' | 'exec', message: string) {
    super(message);
    this.name = 'TemplateError';
    this.phase = phase;
  }
}

// ---------------------------------------------------------------------------------------------------
// Lexer

const enum T {
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

interface Item {
  typ: T;
  pos: number;
  val: string;
  line: number;
}

function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  if ([...i.val].length > 10) return `${goQuoteTrunc(i.val, 10)}...`;
  return goStrQuote(i.val);
}

// Go's %q of a string (strconv.Quote).
function goStrQuote(s: string): string {
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

class Lexer {
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

function countNewlines(s: string): number {
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

// ---------------------------------------------------------------------------------------------------
// Parse tree

interface Tree {
  name: string;
  text: string;
  root: ListNode;
}

type ArgNode =
  | FieldNode
  | ChainNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | BoolNode
  | NumberNode
  | StringNode
  | PipeNode;

interface Base {
  pos: number;
  tree: Tree;
}
interface ListNode extends Base {
  type: 'list';
  nodes: Node[];
}
interface TextNode extends Base {
  type: 'text';
  text: string;
}
interface CommentNode extends Base {
  type: 'comment';
}
interface ActionNode extends Base {
  type: 'action';
  pipe: PipeNode;
}
interface PipeNode extends Base {
  type: 'pipe';
  isAssign: boolean;
  decl: VariableNode[];
  cmds: CommandNode[];
}
interface CommandNode extends Base {
  type: 'command';
  args: ArgNode[];
}
interface FieldNode extends Base {
  type: 'field';
  ident: string[];
}
interface ChainNode extends Base {
  type: 'chain';
  node: ArgNode;
  field: string[];
}
interface IdentifierNode extends Base {
  type: 'identifier';
  ident: string;
}
interface VariableNode extends Base {
  type: 'variable';
  ident: string[];
}
interface DotNode extends Base {
  type: 'dot';
}
interface NilNode extends Base {
  type: 'nil';
}
interface BoolNode extends Base {
  type: 'bool';
  value: boolean;
}
interface NumberNode extends Base {
  type: 'number';
  text: string;
  isInt: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int?: number | bigint;
  float?: number;
  isChar: boolean;
}
interface StringNode extends Base {
  type: 'string';
  quoted: string;
  text: string;
}
interface BranchNode extends Base {
  type: 'if' | 'range' | 'with';
  pipe: PipeNode;
  list: ListNode;
  elseList: ListNode | undefined;
}
interface TemplateCallNode extends Base {
  type: 'template';
  name: string;
  pipe: PipeNode | undefined;
}
interface BreakNode extends Base {
  type: 'break' | 'continue';
}
interface EndNode extends Base {
  type: 'end';
}
interface ElseNode extends Base {
  type: 'else';
  /** `{{else if …}}` / `{{else with …}}`: the keyword that follows. */
  elseOf?: T;
}
type Node =
  | ListNode
  | TextNode
  | CommentNode
  | ActionNode
  | PipeNode
  | CommandNode
  | ArgNode
  | BranchNode
  | TemplateCallNode
  | BreakNode
  | EndNode
  | ElseNode;

function nodeString(n: Node): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return n.text;
    case 'comment':
      return '{{/* */}}';
    case 'action':
      return `{{${nodeString(n.pipe)}}}`;
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s = n.decl.map(nodeString).join(', ') + ' := ';
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ');
    case 'field':
      return n.ident.map((f) => '.' + f).join('');
    case 'chain':
      return (
        (n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)) +
        n.field.map((f) => '.' + f).join('')
      );
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'if':
    case 'range':
    case 'with': {
      let s = `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += `{{else}}${nodeString(n.elseList)}`;
      return s + '{{end}}';
    }
    case 'template':
      return n.pipe
        ? `{{template ${goStrQuote(n.name)} ${nodeString(n.pipe)}}}`
        : `{{template ${goStrQuote(n.name)}}}`;
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
  }
}

// ---------------------------------------------------------------------------------------------------
// Parser

class Parser {
  private items: Item[] = [];
  private idx = 0;
  private token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private rangeDepth = 0;
  private actionLine = 0;
  private tree: Tree;

  constructor(
    private readonly name: string,
    private readonly text: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly treeSet: Map<string, Tree>,
  ) {
    this.tree = { name, text, root: { type: 'list', nodes: [], pos: 0, tree: undefined as unknown as Tree } };
  }

  parse(): void {
    const lexer = new Lexer(this.text, !this.hasFunction('break'), !this.hasFunction('continue'));
    this.items = lexer.run();
    const tree = this.tree;
    tree.root = this.newList(this.peek().pos);
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          this.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      tree.root.nodes.push(n);
    }
    this.add(tree);
  }

  private add(tree: Tree): void {
    const existing = this.treeSet.get(tree.name);
    if (!existing || isEmptyTree(existing.root)) {
      this.treeSet.set(tree.name, tree);
      return;
    }
    if (!isEmptyTree(tree.root))
      this.errorf(`template: multiple definition of template ${goStrQuote(tree.name)}`);
  }

  private parseDefinition(): void {
    const context = 'define clause';
    const nameTok = this.expectOneOf(T.String, T.RawString, context);
    const name = this.unquote(nameTok.val);
    this.expect(T.RightDelim, context);
    const outer = this.tree;
    const tree: Tree = { name, text: this.text, root: this.newList(0) };
    this.tree = tree;
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    tree.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add(tree);
    this.vars = savedVars;
    this.tree = outer;
  }

  // token stream -------------------------------------------------------------------------------------

  private lexNext(): Item {
    const it = this.items[this.idx] ?? this.items[this.items.length - 1]!;
    if (this.idx < this.items.length) this.idx++;
    return it;
  }

  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lexNext();
    return this.token[this.peekCount]!;
  }

  private backup(): void {
    this.peekCount++;
  }

  private backup2(t1: Item): void {
    this.token[1] = t1;
    this.peekCount = 2;
  }

  private backup3(t2: Item, t1: Item): void {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }

  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1]!;
    this.peekCount = 1;
    this.token[0] = this.lexNext();
    return this.token[0];
  }

  private nextNonSpace(): Item {
    let t: Item;
    do t = this.next();
    while (t.typ === T.Space);
    return t;
  }

  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private errorf(msg: string): never {
    const line = this.token[0]?.line ?? 1;
    throw new TemplateError('parse', `template: ${this.name}:${line}: ${msg}`);
  }

  private expect(typ: T, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== typ) this.unexpected(t, context);
    return t;
  }

  private expectOneOf(a: T, b: T, context: string): Item {
    const t = this.nextNonSpace();
    if (t.typ !== a && t.typ !== b) this.unexpected(t, context);
    return t;
  }

  private unexpected(t: Item, context: string): never {
    if (t.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== t.line) {
        extra = ` in action started at ${this.name}:${this.actionLine}`;
        if (t.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${itemString(t)}${extra}`);
    }
    this.errorf(`unexpected ${itemString(t)} in ${context}`);
  }

  private unquote(s: string): string {
    try {
      return goUnquote(s);
    } catch (e) {
      this.errorf((e as Error).message);
    }
  }

  // nodes ---------------------------------------------------------------------------------------------

  private base(pos: number): Base {
    return { pos, tree: this.tree };
  }

  private newList(pos: number): ListNode {
    return { type: 'list', nodes: [], ...this.base(pos) };
  }

  private itemList(): [ListNode, Node] {
    const list = this.newList(this.peekNonSpace().pos);
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Text:
        return { type: 'text', text: token.val, ...this.base(token.pos) };
      case T.LeftDelim: {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
      case T.Comment:
        return { type: 'comment', ...this.base(token.pos) };
      default:
        this.unexpected(token, 'input');
    }
  }

  private action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Block:
        return this.blockControl();
      case T.Break:
      case T.Continue: {
        const word = token.typ === T.Break ? 'break' : 'continue';
        const t = this.nextNonSpace();
        if (t.typ !== T.RightDelim) this.unexpected(t, `{{${word}}}`);
        if (this.rangeDepth === 0) this.errorf(`{{${word}}} outside {{range}}`);
        return { type: word, ...this.base(token.pos) };
      }
      case T.Else:
        return this.elseControl();
      case T.End:
        return { type: 'end', ...this.base(this.expect(T.RightDelim, 'end').pos) };
      case T.If:
        return this.branch('if', true);
      case T.Range:
        return this.branch('range', false);
      case T.Template:
        return this.templateControl();
      case T.With:
        return this.branch('with', false);
    }
    this.backup();
    const t = this.peek();
    return { type: 'action', pipe: this.pipeline('command', T.RightDelim), ...this.base(t.pos) };
  }

  private elseControl(): ElseNode {
    const peek = this.peekNonSpace();
    if (peek.typ === T.If || peek.typ === T.With) {
      return { type: 'else', ...this.base(peek.pos), elseOf: peek.typ };
    }
    const t = this.expect(T.RightDelim, 'else');
    return { type: 'else', ...this.base(t.pos) };
  }

  private branch(context: 'if' | 'range' | 'with', allowElseIf: boolean): BranchNode {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, T.RightDelim);
      if (context === 'range') this.rangeDepth++;
      let [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | undefined;
      if (next.type === 'else') {
        const chained = next.elseOf;
        if ((allowElseIf && chained === T.If) || (context === 'with' && chained === T.With)) {
          this.next(); // consume "if" / "with"
          elseList = this.newList(next.pos);
          elseList.nodes.push(chained === T.If ? this.branch('if', true) : this.branch('with', false));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      if (list === undefined) list = this.newList(pipe.pos);
      return { type: context, pipe, list, elseList, ...this.base(pipe.pos) };
    } finally {
      this.vars.length = mark;
    }
  }

  private blockControl(): TemplateCallNode {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, T.RightDelim);
    const outer = this.tree;
    const tree: Tree = { name, text: this.text, root: this.newList(0) };
    this.tree = tree;
    const savedVars = this.vars;
    this.vars = ['$'];
    const [list, end] = this.itemList();
    tree.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add(tree);
    this.vars = savedVars;
    this.tree = outer;
    return { type: 'template', name, pipe, ...this.base(token.pos) };
  }

  private templateControl(): TemplateCallNode {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | undefined;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return { type: 'template', name, pipe, ...this.base(token.pos) };
  }

  private parseTemplateName(token: Item, context: string): string {
    if (token.typ === T.String || token.typ === T.RawString) return this.unquote(token.val);
    this.unexpected(token, context);
  }

  private pipeline(context: string, end: T): PipeNode {
    const token = this.peekNonSpace();
    const pipe: PipeNode = { type: 'pipe', isAssign: false, decl: [], cmds: [], ...this.base(token.pos) };
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ !== T.Variable) break;
      this.next();
      const tokenAfterVariable = this.peek();
      const next = this.peekNonSpace();
      if (next.typ === T.Assign || next.typ === T.Declare) {
        pipe.isAssign = next.typ === T.Assign;
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
      } else if (next.typ === T.Char && next.val === ',') {
        this.nextNonSpace();
        pipe.decl.push(this.newVariable(v.pos, v.val));
        this.vars.push(v.val);
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().typ;
          if (p === T.Variable || p === T.RightDelim || p === T.RightParen) continue decls;
          this.errorf('range can only initialize variables');
        }
        this.errorf(`too many declarations in ${context}`);
      } else if (tokenAfterVariable.typ === T.Space) {
        this.backup3(v, tokenAfterVariable);
      } else {
        this.backup2(v);
      }
      break;
    }
    for (;;) {
      const token = this.nextNonSpace();
      switch (token.typ) {
        case end:
          this.checkPipeline(pipe, context);
          return pipe;
        case T.Bool:
        case T.CharConstant:
        case T.Complex:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd: CommandNode = { type: 'command', args: [], ...this.base(this.peekNonSpace().pos) };
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === T.Space) continue;
      if (token.typ === T.RightDelim || token.typ === T.RightParen) this.backup();
      else if (token.typ !== T.Pipe) this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): ArgNode | undefined {
    const node = this.term();
    if (!node) return undefined;
    if (this.peek().typ === T.Field) {
      const pos = this.peek().pos;
      const fields: string[] = [];
      while (this.peek().typ === T.Field) fields.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          return { type: 'field', ident: [...node.ident, ...fields], ...this.base(pos) };
        case 'variable':
          return { type: 'variable', ident: [...node.ident, ...fields], ...this.base(pos) };
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${goStrQuote(nodeString(node))}`);
        // eslint-disable-next-line no-fallthrough
        default:
          return { type: 'chain', node, field: fields, ...this.base(pos) };
      }
    }
    return node;
  }

  private newVariable(pos: number, ident: string): VariableNode {
    return { type: 'variable', ident: ident.split('.'), ...this.base(pos) };
  }

  private term(): ArgNode | undefined {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Identifier:
        if (!this.hasFunction(token.val)) this.errorf(`function ${goStrQuote(token.val)} not defined`);
        return { type: 'identifier', ident: token.val, ...this.base(token.pos) };
      case T.Dot:
        return { type: 'dot', ...this.base(token.pos) };
      case T.Nil:
        return { type: 'nil', ...this.base(token.pos) };
      case T.Variable: {
        const v = this.newVariable(token.pos, token.val);
        if (!this.vars.includes(v.ident[0]!)) this.errorf(`undefined variable ${goStrQuote(v.ident[0]!)}`);
        return v;
      }
      case T.Field:
        return { type: 'field', ident: token.val.slice(1).split('.'), ...this.base(token.pos) };
      case T.Bool:
        return { type: 'bool', value: token.val === 'true', ...this.base(token.pos) };
      case T.CharConstant:
      case T.Complex:
      case T.Number:
        return this.newNumber(token);
      case T.LeftParen:
        return this.pipeline('parenthesized pipeline', T.RightParen);
      case T.String:
      case T.RawString:
        return { type: 'string', quoted: token.val, text: this.unquote(token.val), ...this.base(token.pos) };
    }
    this.backup();
    return undefined;
  }

  private newNumber(token: Item): NumberNode {
    const n: NumberNode = {
      type: 'number',
      text: token.val,
      isInt: false,
      isFloat: false,
      isComplex: false,
      isChar: false,
      ...this.base(token.pos),
    };
    const text = token.val;
    if (token.typ === T.CharConstant) {
      const s = this.unquote(text);
      const cp = s.codePointAt(0)!;
      n.isChar = true;
      n.isInt = true;
      n.isFloat = true;
      n.int = cp;
      n.float = cp;
      return n;
    }
    if (token.typ === T.Complex) {
      n.isComplex = true;
      return n;
    }
    if (text.endsWith('i')) {
      n.isComplex = true;
      return n;
    }
    const int = attempt(() => parseIntBig(text, 0, 64));
    if (int !== undefined) {
      n.isInt = true;
      n.int = Number.isSafeInteger(Number(int)) ? Number(int) : int;
      n.isFloat = true;
      n.float = Number(int);
      return n;
    }
    const f = attempt(() => parseFloat(text, 64));
    if (f === undefined) this.errorf(`illegal number syntax: ${goStrQuote(text)}`);
    n.isFloat = true;
    n.float = f;
    if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
      n.isInt = true;
      n.int = Number.isSafeInteger(f) ? f : BigInt(f);
    }
    return n;
  }
}

/** The result of a strconv parse, or undefined if it failed. */
function attempt<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

function isEmptyTree(n: ListNode): boolean {
  return n.nodes.every((x) => (x.type === 'text' ? x.text.trim() === '' : x.type === 'comment'));
}

// ---------------------------------------------------------------------------------------------------
// Functions

/** The Go parameter types a template function can declare. */
export type ParamType = 'any' | 'value' | 'string' | 'int' | 'bool' | 'strings';

/** A template function with Go-like typed parameters (arguments are checked and converted as Go does). */
export interface TemplateFuncSpec {
  params: readonly ParamType[];
  /** Type of the trailing variadic arguments, if the function is variadic. */
  variadic?: ParamType;
  fn: (...args: unknown[]) => unknown;
}

/** A plain function is taken as variadic over `any`; a spec declares Go-like parameter types. */
export type TemplateFunc = ((...args: unknown[]) => unknown) | TemplateFuncSpec;

export type FuncMap = Readonly<Record<string, TemplateFunc>>;

const spec = (
  params: ParamType[],
  fn: (...args: never[]) => unknown,
  variadic?: ParamType,
): TemplateFuncSpec => ({
  params,
  variadic,
  fn: fn as (...args: unknown[]) => unknown,
});

const EXEC_ERROR = Symbol('execError');
class FuncError extends Error {}

function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) =>
    c === '\0' ? '\ufffd' : { '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;' }[c]!,
  );
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (cp < 0x20) out += '\\u00' + cp.toString(16).toUpperCase().padStart(2, '0');
    else if (cp < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch) || ch === ' ') out += ch;
    else out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function evalArgsString(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args);
}

type BasicKind = 'bool' | 'int' | 'float' | 'string' | 'invalid' | 'other';

function basicKind(v: unknown): BasicKind {
  const k = kindOf(v);
  switch (k) {
    case 'bool':
    case 'int':
    case 'float':
    case 'string':
    case 'invalid':
      return k;
    default:
      return 'other';
  }
}

const numeric = (k: BasicKind): boolean => k === 'int' || k === 'float';

function goEq(arg1: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (const arg of rest) {
    const k2 = basicKind(arg);
    let truth = false;
    if (k1 !== k2 && !(numeric(k1) && numeric(k2))) {
      if (k1 !== 'invalid' && k2 !== 'invalid') throw new FuncError('incompatible types for comparison');
    } else if (k1 === 'other') {
      if (isNil(arg1) || isNil(arg)) truth = isNil(arg1) === isNil(arg);
      else if (kindOf(arg1) === 'slice' || kindOf(arg1) === 'map' || kindOf(arg1) === 'func')
        throw new FuncError(`non-comparable type ${formatValue(arg1)}: ${goTypeName(arg1)}`);
      else truth = arg1 === arg;
    } else if (k1 === 'invalid') {
      truth = true;
    } else if (numeric(k1)) {
      truth = (arg1 as number | bigint) == (arg as number | bigint);
    } else {
      truth = arg1 === arg;
    }
    if (truth) return true;
  }
  return false;
}

function goLt(arg1: unknown, arg2: unknown): boolean {
  const k1 = basicKind(arg1);
  if (k1 === 'invalid' || k1 === 'other') throw new FuncError('invalid type for comparison');
  const k2 = basicKind(arg2);
  if (k2 === 'invalid' || k2 === 'other') throw new FuncError('invalid type for comparison');
  if (k1 !== k2 && !(numeric(k1) && numeric(k2))) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (k1 === 'string') return compareBytes(arg1 as string, arg2 as string) < 0;
  return (arg1 as number) < (arg2 as number);
}

function indexArg(index: unknown, cap: number): number {
  const k = kindOf(index);
  if (k === 'invalid') throw new FuncError('cannot index slice/array with nil');
  if (k !== 'int') throw new FuncError(`cannot index slice/array with type ${goTypeName(index)}`);
  const x = Number(index);
  if (x < 0 || x > cap) throw new FuncError(`index out of range: ${String(index)}`);
  return x;
}

/** The zero value Go's index returns for a missing map key, guessed from the map's values. */
function mapZero(m: object): unknown {
  const values = mapEntriesInOrder(m).map((e) => e[1]);
  if (values.every((v) => typeof v === 'string')) return '';
  if (values.every((v) => kindOf(v) === 'int')) return 0;
  if (values.every((v) => typeof v === 'boolean')) return false;
  return undefined;
}

function goIndex(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) {
    // Go: "index of untyped nil"; but a typed nil map (the usual case: an empty label map left out
    // of the API's JSON) gives the zero value, so a string key gives "".
    if (indexes.length > 0 && indexes.every((i) => typeof i === 'string')) return '';
    if (indexes.length === 0) throw new FuncError('index of untyped nil');
    throw new FuncError('index of untyped nil');
  }
  let cur: unknown = item;
  for (const index of indexes) {
    if (isNil(cur)) throw new FuncError('index of nil pointer');
    const k = kindOf(cur);
    if (k === 'slice') {
      const arr = cur as unknown[];
      const x = indexArg(index, arr.length);
      if (x >= arr.length) throw new FuncError('reflect: slice index out of range');
      cur = arr[x];
    } else if (k === 'string') {
      const bytes = Buffer.from(cur as string, 'utf8');
      const x = indexArg(index, bytes.length);
      if (x >= bytes.length) throw new FuncError('reflect: string index out of range');
      cur = bytes[x];
    } else if (k === 'map') {
      const m = cur as object;
      if (!(m instanceof Map) && kindOf(index) !== 'string') {
        if (isNil(index)) throw new FuncError('value is nil; should be of type string');
        throw new FuncError(`value has type ${goTypeName(index)}; should be string`);
      }
      const r = mapGet(m, index);
      cur = r.found ? r.value : mapZero(m);
    } else {
      throw new FuncError(`can't index item of type ${goTypeName(cur)}`);
    }
  }
  return cur;
}

function goSlice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  const k = kindOf(item);
  if (k !== 'string' && k !== 'slice') throw new FuncError(`can't slice item of type ${goTypeName(item)}`);
  if (k === 'string' && indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
  const len = k === 'string' ? Buffer.byteLength(item as string) : (item as unknown[]).length;
  const idx = [0, len];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, len);
  });
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (k === 'string')
    return Buffer.from(item as string, 'utf8')
      .subarray(idx[0], idx[1])
      .toString('utf8');
  return (item as unknown[]).slice(idx[0], idx[1]);
}

function goLength(item: unknown): number {
  if (item === null) throw new FuncError('len of nil pointer');
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
  const n = goLen(item);
  if (n === undefined) throw new FuncError(`len of type ${goTypeName(item)}`);
  return n;
}

function goCall(fn: unknown, ...args: unknown[]): unknown {
  if (isNil(fn)) throw new FuncError('call of nil');
  if (typeof fn !== 'function') throw new FuncError(`non-function of type ${goTypeName(fn)}`);
  return (fn as (...a: unknown[]) => unknown)(...args.map((a) => (a === undefined ? null : a)));
}

/** Go's strings.Title: upper-cases the first letter of each word. */
export function goTitle(s: string): string {
  let prev = ' ';
  let out = '';
  for (const ch of s) {
    const sep = isTitleSeparator(prev);
    out += sep ? ch.toUpperCase() : ch;
    prev = ch;
  }
  return out;
}

function isTitleSeparator(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if (cp <= 0x7f) {
    if (/[0-9A-Za-z_]/.test(ch)) return false;
    return true;
  }
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false;
  return /\s/u.test(ch);
}

/** Go's strings.Split. */
export function goSplit(s: string, sep: string): string[] {
  if (sep === '') return [...s];
  return s.split(sep);
}

function truncateBytes(s: string, n: number): string {
  const b = Buffer.from(s, 'utf8');
  if (b.length < n) return s;
  return b.subarray(0, Math.max(n, 0)).toString('utf8');
}

function goJSONFunc(v: unknown): string {
  try {
    return goJSON(v, { escapeHTML: false });
  } catch (e) {
    if (e instanceof GoJSONError) return '';
    throw e;
  }
}

/** Go's text/template builtin functions. */
export const BUILTIN_FUNCS: FuncMap = {
  and: spec(['value'], () => undefined, 'value'),
  or: spec(['value'], () => undefined, 'value'),
  not: spec(['value'], (v: unknown) => !isTrue(v)),
  len: spec(['value'], goLength),
  index: spec(['value'], goIndex, 'value'),
  slice: spec(['value'], goSlice, 'value'),
  eq: spec(['value'], goEq, 'value'),
  ne: spec(['value', 'value'], (a: unknown, b: unknown) => !goEq(a, b)),
  lt: spec(['value', 'value'], goLt),
  le: spec(['value', 'value'], (a: unknown, b: unknown) => goLt(a, b) || goEq(a, b)),
  gt: spec(['value', 'value'], (a: unknown, b: unknown) => !(goLt(a, b) || goEq(a, b))),
  ge: spec(['value', 'value'], (a: unknown, b: unknown) => !goLt(a, b)),
  print: spec([], (...a: unknown[]) => sprint(...a), 'any'),
  printf: spec(['string'], (f: string, ...a: unknown[]) => sprintf(f, ...a), 'any'),
  println: spec([], (...a: unknown[]) => sprintln(...a), 'any'),
  html: spec([], (...a: unknown[]) => htmlEscape(evalArgsString(a)), 'any'),
  js: spec([], (...a: unknown[]) => jsEscape(evalArgsString(a)), 'any'),
  urlquery: spec([], (...a: unknown[]) => queryEscape(evalArgsString(a)), 'any'),
  call: spec(['value'], goCall, 'value'),
};

/** The functions Docker's CLI adds to every template (docker/cli templates.basicFunctions). */
export const DOCKER_FUNCS: FuncMap = {
  json: spec(['any'], goJSONFunc),
  split: spec(['string', 'string'], goSplit),
  join: spec(['strings', 'string'], (a: string[], sep: string) => a.join(sep)),
  title: spec(['string'], goTitle),
  lower: spec(['string'], (s: string) => s.toLowerCase()),
  upper: spec(['string'], (s: string) => s.toUpperCase()),
  pad: spec(['string', 'int', 'int'], (s: string, pre: number, post: number) => {
    if (s === '') return s;
    if (pre < 0 || post < 0) throw new FuncError('strings: negative Repeat count');
    return ' '.repeat(pre) + s + ' '.repeat(post);
  }),
  truncate: spec(['string', 'int'], truncateBytes),
};

/** Docker's replacements used when a table template renders its header row (templates.HeaderFunctions). */
export const DOCKER_HEADER_FUNCS: FuncMap = {
  json: spec(['string'], (v: string) => v),
  split: spec(['string', 'string'], (v: string) => v),
  join: spec(['string', 'string'], (v: string) => v),
  title: spec(['string'], (v: string) => v),
  lower: spec(['string'], (v: string) => v),
  upper: spec(['string'], (v: string) => v),
  truncate: spec(['string', 'int'], (v: string) => v),
};

// ---------------------------------------------------------------------------------------------------
// Execution

const MISSING = Symbol('missing');
type Final = unknown;

class Break {}
class Continue {}

const MAX_DEPTH = 1000;

interface ExecErrorPayload {
  [EXEC_ERROR]: true;
  message: string;
}

class State {
  out: string[] = [];
  node: Node | undefined;
  vars: { name: string; value: unknown }[];
  depth = 0;

  constructor(
    private readonly tmplName: string,
    private readonly treeSet: Map<string, Tree>,
    private readonly funcs: Map<string, TemplateFunc>,
    dot: unknown,
    private readonly options: { missingKey?: MissingKey },
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  errorf(msg: string): never {
    const name = this.tmplName;
    let text: string;
    if (!this.node) {
      text = `template: ${name}: ${msg}`;
    } else {
      const n = this.node;
      const tree = n.tree;
      const before = tree.text.slice(0, n.pos);
      const nl = before.lastIndexOf('\n');
      const byteNum = Buffer.byteLength(nl < 0 ? before : before.slice(nl + 1), 'utf8');
      const lineNum = 1 + countNewlines(before);
      text = `template: ${tree.name}:${lineNum}:${byteNum}: executing ${goStrQuote(name)} at <${nodeString(n)}>: ${msg}`;
    }
    const err: ExecErrorPayload = { [EXEC_ERROR]: true, message: text };
    throw err;
  }

  at(n: Node): void {
    this.node = n;
  }

  varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--)
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    this.errorf(`undefined variable: ${name}`);
  }

  setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw new Break();
      case 'continue':
        throw new Continue();
      case 'comment':
        return;
      case 'if':
      case 'with':
        this.walkIfOrWith(node, dot);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'text':
        this.out.push(node.text);
        return;
      default:
        this.errorf(`unknown node: ${nodeString(node)}`);
    }
  }

  walkIfOrWith(node: BranchNode, dot: unknown): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) this.walk(node.type === 'with' ? val : dot, node.list);
      else if (node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = mark;
    }
  }

  walkRange(dot: unknown, r: BranchNode): void {
    this.at(r);
    const outerMark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.vars.length;
      const one = (index: unknown, elem: unknown): boolean => {
        if (r.pipe.decl.length > 0) this.vars[this.vars.length - 1]!.value = elem;
        if (r.pipe.decl.length > 1) this.vars[this.vars.length - 2]!.value = index;
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e instanceof Break) return false;
          if (!(e instanceof Continue)) throw e;
        } finally {
          this.vars.length = mark;
        }
        return true;
      };
      const kind = kindOf(val);
      let ran = false;
      switch (kind) {
        case 'slice': {
          const arr = val as unknown[];
          for (let i = 0; i < arr.length; i++) {
            ran = true;
            if (!one(i, arr[i])) break;
          }
          break;
        }
        case 'map':
          for (const [k, v] of mapEntries(val as object)) {
            ran = true;
            if (!one(k, v)) break;
          }
          break;
        case 'int': {
          if (r.pipe.decl.length > 1)
            this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
          const n = Number(val);
          for (let i = 0; i < n; i++) {
            ran = true;
            if (!one(i, i)) break;
          }
          break;
        }
        case 'invalid':
          break;
        default:
          this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (!ran && r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.vars.length = outerMark;
    }
  }

  walkTemplate(dot: unknown, t: TemplateCallNode): void {
    this.at(t);
    const tree = this.treeSet.get(t.name);
    if (!tree) this.errorf(`template ${goStrQuote(t.name)} not defined`);
    if (this.depth >= MAX_DEPTH) this.errorf(`exceeded maximum template depth (${MAX_DEPTH})`);
    const newDot = t.pipe ? this.evalPipeline(dot, t.pipe) : undefined;
    const saved = { vars: this.vars, depth: this.depth };
    this.vars = [{ name: '$', value: newDot }];
    this.depth++;
    try {
      this.walk(newDot, tree.root);
    } finally {
      this.vars = saved.vars;
      this.depth = saved.depth;
    }
  }

  evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe);
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      if (value === null) value = undefined; // a nil interface becomes "no value"
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, value);
      else this.vars.push({ name: v.ident[0]!, value });
    }
    return value;
  }

  notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING)
      this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
  }

  evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0]!;
    switch (first.type) {
      case 'field':
        this.at(first);
        return this.evalFieldChain(dot, dot, first, first.ident, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // eslint-disable-next-line no-fallthrough
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return first.text;
    }
  }

  idealConstant(c: NumberNode): unknown {
    this.at(c);
    if (c.isComplex) this.errorf(`complex constant ${c.text} is not supported`);
    const isHexInt = /^[+-]?0[xX]/.test(c.text) && !/[pP]/.test(c.text);
    if (c.isFloat && !isHexInt && !c.isChar && /[.eEpP]/.test(c.text)) return c.float;
    if (c.isInt) return c.int;
    this.errorf(`${c.text} overflows int`);
  }

  evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[], final: Final): unknown {
    this.at(chain);
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'value', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  evalVariableNode(dot: unknown, v: VariableNode, args: ArgNode[], final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.ident[0]!);
    if (v.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.ident.slice(1), args, final);
  }

  evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: Node,
    ident: string[],
    args: ArgNode[],
    final: Final,
  ): unknown {
    const n = ident.length;
    // A value taken out of a map has Go's static type interface {}, which error messages show.
    let fromMap = false;
    for (let i = 0; i < n - 1; i++) {
      const isMap = kindOf(receiver) === 'map';
      receiver = this.evalField(dot, ident[i]!, node, [], MISSING, receiver, fromMap);
      fromMap = isMap;
    }
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver, fromMap);
  }

  missingKey(fieldName: string, m: object): unknown {
    switch (this.options.missingKey) {
      case 'error':
        this.errorf(`map has no entry for key ${goStrQuote(fieldName)}`);
      // eslint-disable-next-line no-fallthrough
      case 'zero':
        return mapZero(m);
      default:
        return undefined;
    }
  }

  evalField(
    dot: unknown,
    fieldName: string,
    node: Node,
    args: ArgNode[],
    final: Final,
    receiver: unknown,
    fromMap = false,
  ): unknown {
    if (receiver === undefined) {
      if (this.options.missingKey === 'error')
        this.errorf(`nil data; no entry for key ${goStrQuote(fieldName)}`);
      return undefined;
    }
    if (receiver === null) this.errorf(`nil pointer evaluating interface {}.${fieldName}`);
    const kind = kindOf(receiver);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (kind === 'map' || kind === 'struct') {
      const obj = receiver as Record<string, unknown>;
      if (obj instanceof Map) {
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        return obj.has(fieldName) ? obj.get(fieldName) : this.missingKey(fieldName, obj);
      }
      const present =
        kind === 'struct' ? hasField(obj, fieldName) : Object.prototype.hasOwnProperty.call(obj, fieldName);
      if (present) {
        let value: unknown;
        try {
          value = obj[fieldName];
        } catch (e) {
          this.at(node);
          this.errorf(`error calling ${fieldName}: ${(e as Error).message}`);
        }
        if (typeof value === 'function') {
          return this.evalCall(
            dot,
            { params: [], variadic: 'any', fn: value.bind(obj) as TemplateFuncSpec['fn'] },
            node,
            fieldName,
            args,
            final,
            value.length,
          );
        }
        if (hasArgs) {
          this.errorf(
            kind === 'struct'
              ? `${fieldName} has arguments but cannot be invoked as function`
              : `${fieldName} is not a method but has arguments`,
          );
        }
        return value;
      }
      if (kind === 'map') {
        if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
        return this.missingKey(fieldName, obj);
      }
    }
    this.errorf(
      `can't evaluate field ${fieldName} in type ${fromMap ? 'interface {}' : goTypeName(receiver)}`,
    );
  }

  evalFunction(dot: unknown, node: IdentifierNode, cmd: Node, args: ArgNode[], final: Final): unknown {
    this.at(node);
    const name = node.ident;
    const fn = this.funcs.get(name);
    if (!fn) this.errorf(`${goStrQuote(name)} is not a defined function`);
    const s: TemplateFuncSpec = typeof fn === 'function' ? { params: [], variadic: 'any', fn } : fn;
    if (name === 'and' || name === 'or') {
      if (s === BUILTIN_FUNCS[name]) return this.evalAndOr(dot, name, args, final);
    }
    return this.evalCall(dot, s, cmd, name, args, final);
  }

  evalAndOr(dot: unknown, name: 'and' | 'or', args: ArgNode[], final: Final): unknown {
    const rest = args.slice(1);
    const numIn = rest.length + (final !== MISSING ? 1 : 0);
    if (numIn < 1) this.errorf(`wrong number of args for ${name}: want at least 1 got ${rest.length}`);
    let v: unknown;
    for (const a of rest) {
      v = this.evalArg(dot, 'value', a);
      if (isTrue(v) === (name === 'or')) return v;
    }
    if (final !== MISSING) v = final;
    return v;
  }

  evalCall(
    dot: unknown,
    s: TemplateFuncSpec,
    node: Node,
    name: string,
    args: ArgNode[],
    final: Final,
    arity?: number,
  ): unknown {
    const rest = args.length > 0 ? args.slice(1) : [];
    const numIn = rest.length + (final !== MISSING ? 1 : 0);
    if (arity !== undefined) {
      // A JavaScript method: its declared parameter count stands for Go's signature.
      if (numIn !== arity && !(arity === 0 && numIn === 0)) {
        this.errorf(`wrong number of args for ${name}: want ${arity} got ${numIn}`);
      }
    } else if (s.variadic !== undefined) {
      if (numIn < s.params.length) {
        this.errorf(`wrong number of args for ${name}: want at least ${s.params.length} got ${rest.length}`);
      }
    } else if (numIn !== s.params.length) {
      this.errorf(`wrong number of args for ${name}: want ${s.params.length} got ${numIn}`);
    }
    const typeAt = (i: number): ParamType => (i < s.params.length ? s.params[i]! : (s.variadic ?? 'any'));
    const argv: unknown[] = [];
    rest.forEach((a, i) => argv.push(this.evalArg(dot, typeAt(i), a)));
    if (final !== MISSING) argv.push(this.validateType(final, typeAt(rest.length)));
    try {
      return s.fn(...argv);
    } catch (e) {
      if (e !== null && typeof e === 'object' && EXEC_ERROR in e) throw e;
      this.at(node);
      this.errorf(`error calling ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  validateType(value: unknown, typ: ParamType): unknown {
    if (typ === 'value') return value;
    if (isNil(value)) {
      if (typ === 'any') return null;
      if (typ === 'strings') return [];
      this.errorf(`invalid value; expected ${goParamName(typ)}`);
    }
    const k = kindOf(value);
    const ok =
      typ === 'any' ||
      (typ === 'string' && k === 'string') ||
      (typ === 'int' && k === 'int') ||
      (typ === 'bool' && k === 'bool') ||
      (typ === 'strings' && k === 'slice' && (value as unknown[]).every((e) => typeof e === 'string'));
    if (!ok) this.errorf(`wrong type for value; expected ${goParamName(typ)}; got ${goTypeName(value)}`);
    return typ === 'int' ? Number(value) : value;
  }

  evalArg(dot: unknown, typ: ParamType, n: ArgNode): unknown {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'any') return null;
        if (typ === 'value') return undefined;
        if (typ === 'strings') return [];
        this.errorf(`cannot assign nil to ${goParamName(typ)}`);
      // eslint-disable-next-line no-fallthrough
      case 'field':
        return this.validateType(this.evalFieldChain(dot, dot, n, n.ident, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, [], MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.type === 'bool') return n.value;
        this.errorf(`expected bool; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'string':
        if (n.type === 'string') return n.text;
        this.errorf(`expected string; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'int':
        if (n.type === 'number' && n.isInt) return Number(n.int);
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'any':
      case 'value':
        switch (n.type) {
          case 'bool':
            return n.value;
          case 'number':
            return this.idealConstant(n);
          case 'string':
            return n.text;
        }
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${goParamName(typ)}`);
  }

  printValue(n: Node, v: unknown): void {
    this.at(n);
    if (isNil(v)) {
      this.out.push('<no value>');
      return;
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(n)} of type ${goTypeName(v)}`);
    this.out.push(formatValue(v));
  }
}

/** Whether a struct-kind object has a field or method: own or inherited, but not Object.prototype's. */
function hasField(obj: object, name: string): boolean {
  for (
    let o: object | null = obj;
    o && o !== Object.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    if (Object.prototype.hasOwnProperty.call(o, name)) return true;
  }
  return false;
}

function goParamName(t: ParamType): string {
  switch (t) {
    case 'any':
      return 'interface {}';
    case 'value':
      return 'reflect.Value';
    case 'strings':
      return '[]string';
    default:
      return t;
  }
}

// ---------------------------------------------------------------------------------------------------
// Public API

/**
 * Go's `missingkey` option: what a missing map key gives. 'default' (Go's default): "no value",
 * printed `<no value>`; 'zero': the zero value of the map's element type (guessed from its values);
 * 'error': an error `map has no entry for key "X"` (Docker's inspect uses this on its raw-JSON retry).
 */
export type MissingKey = 'default' | 'zero' | 'error';

export interface TemplateOptions {
  /** The template's name, shown in error messages; Docker uses "" (the default). */
  name?: string;
  missingKey?: MissingKey;
  /** Functions added to (or replacing) Go's builtins and Docker's functions. */
  funcs?: FuncMap;
  /** Leave out Docker's functions (json, split, join, title, lower, upper, pad, truncate). */
  noDockerFuncs?: boolean;
}

export interface ExecuteOptions {
  /** Functions replacing those of the same name for this execution (Go's `tmpl.Funcs(...)`). */
  funcs?: FuncMap;
  /** Overrides the template's missingKey for this execution (Go's `tmpl.Option("missingkey=…")`). */
  missingKey?: MissingKey;
}

export interface ExecuteResult {
  /** What was written, up to the error if there was one (Go writes output as it goes). */
  output: string;
  error?: TemplateError;
}

/** A parsed template. Parse once, execute for each row. */
export class Template {
  readonly name: string;
  private readonly trees: Map<string, Tree>;
  private readonly funcs: Map<string, TemplateFunc>;
  private readonly missingKey: MissingKey;

  constructor(text: string, options: TemplateOptions = {}) {
    this.name = options.name ?? '';
    this.missingKey = options.missingKey ?? 'default';
    this.funcs = new Map(Object.entries(BUILTIN_FUNCS));
    if (!options.noDockerFuncs) for (const [k, f] of Object.entries(DOCKER_FUNCS)) this.funcs.set(k, f);
    for (const [k, f] of Object.entries(options.funcs ?? {})) this.funcs.set(k, f);
    this.trees = new Map();
    new Parser(this.name, text, (n) => this.funcs.has(n), this.trees).parse();
  }

  /** Executes the template; throws TemplateError on failure. */
  execute(data: unknown, options: ExecuteOptions = {}): string {
    const r = this.executePartial(data, options);
    if (r.error) throw r.error;
    return r.output;
  }

  /** Executes the template, returning the output written so far along with any error. */
  executePartial(data: unknown, options: ExecuteOptions = {}): ExecuteResult {
    let funcs = this.funcs;
    if (options.funcs) {
      funcs = new Map(this.funcs);
      for (const [k, f] of Object.entries(options.funcs)) funcs.set(k, f);
    }
    if (data === null) data = undefined;
    const state = new State(this.name, this.trees, funcs, data, {
      missingKey: options.missingKey ?? this.missingKey,
    });
    const tree = this.trees.get(this.name);
    try {
      if (tree) state.walk(data, tree.root);
      else state.errorf(`${goStrQuote(this.name)} is an incomplete or empty template`);
    } catch (e) {
      if (e !== null && typeof e === 'object' && EXEC_ERROR in e) {
        return {
          output: state.out.join(''),
          error: new TemplateError('exec', (e as ExecErrorPayload).message),
        };
      }
      if (e instanceof RangeError) {
        return {
          output: state.out.join(''),
          error: new TemplateError('exec', `template: ${this.name}: ${e.message}`),
        };
      }
      throw e;
    }
    return { output: state.out.join('') };
  }
}

/** Parses a template (Go's template.New(name).Funcs(docker functions).Parse(text)); throws TemplateError. */
export function parseTemplate(text: string, options?: TemplateOptions): Template {
  return new Template(text, options);
}

/** Parses and executes in one go. */
export function renderTemplate(text: string, data: unknown, options?: TemplateOptions): string {
  return new Template(text, options).execute(data);
}
