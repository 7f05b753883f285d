// The executor (Go's text/template/exec.go): walks a parse tree over JavaScript data, writing the output
// as it goes, with Go's execution errors.

import { formatValue } from './gofmt.js';
import { goTypeName, isNil, isTrue, kindOf, mapEntries } from './govalue.js';
import {
  BUILTIN_FUNCS,
  EXEC_ERROR,
  mapZero,
  type ParamType,
  type TemplateFunc,
  type TemplateFuncSpec,
} from './funcs.js';
import { countNewlines, goStrQuote } from './lexer.js';
import {
  type ArgNode,
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type IdentifierNode,
  type Node,
  nodeString,
  type NumberNode,
  type PipeNode,
  type TemplateCallNode,
  type Tree,
  type VariableNode,
} from './tree.js';

/**
 * Go's `missingkey` option: what a missing map key gives. 'default' (Go's default): "no value",
 * printed `<no value>`; 'zero': the zero value of the map's element type (guessed from its values);
 * 'error': an error `map has no entry for key "X"` (Docker's inspect uses this on its raw-JSON retry).
 */
export type MissingKey = 'default' | 'zero' | 'error';

const MISSING = Symbol('missing');
type Final = unknown;

class Break {}
class Continue {}

const MAX_DEPTH = 1000;

export interface ExecErrorPayload {
  [EXEC_ERROR]: true;
  message: string;
}

export class State {
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
