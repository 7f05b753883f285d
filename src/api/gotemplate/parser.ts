// The parser (Go's text/template/parse/parse.go): items to parse trees, one per template the text
// defines, with Go's parse errors.

import { goUnquote, parseFloat, parseIntBig } from '../strconv.js';
import { TemplateError } from './errors.js';
import { goStrQuote, type Item, itemString, Lexer, T } from './lexer.js';
import {
  type ArgNode,
  type Base,
  type BranchNode,
  type CommandNode,
  type ElseNode,
  type ListNode,
  type Node,
  nodeString,
  type NumberNode,
  type PipeNode,
  type TemplateCallNode,
  type Tree,
  type VariableNode,
} from './tree.js';

export class Parser {
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
