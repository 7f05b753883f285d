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
//
// This module is the public face; the implementation follows Go's own split, beside it: lexer.ts,
// tree.ts and parser.ts (text/template/parse), exec.ts and funcs.ts (text/template).

import { TemplateError } from './errors.js';
import { State, type ExecErrorPayload, type MissingKey } from './exec.js';
import { BUILTIN_FUNCS, DOCKER_FUNCS, EXEC_ERROR, type FuncMap, type TemplateFunc } from './funcs.js';
import { goStrQuote } from './lexer.js';
import { Parser } from './parser.js';
import type { Tree } from './tree.js';

export { TemplateError } from './errors.js';
export type { MissingKey } from './exec.js';
export {
  BUILTIN_FUNCS,
  DOCKER_FUNCS,
  DOCKER_HEADER_FUNCS,
  goSplit,
  goTitle,
  type FuncMap,
  type ParamType,
  type TemplateFunc,
  type TemplateFuncSpec,
} from './funcs.js';

// ---------------------------------------------------------------------------------------------------
// Public API

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
