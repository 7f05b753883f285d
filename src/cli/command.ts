// The command tree as Docker's CLI (cobra + docker/cli's templates) presents it: usage lines, the
// help page of every command, argument-count errors and the flag-error hint, with `shoal` as the
// binary name. Commands are declared as plain objects (`leaf` / `group`); `program.ts` registers them
// with commander, which resolves command names and aliases, and hands the raw arguments back here.

import type { Cli } from './cli.js';
import { StatusError } from './errors.js';
import { FlagError, FlagSet, type Flag } from './flags.js';
import { compareVersions } from './client.js';
import { parseBool } from '../api/strconv.js';

export const BIN_NAME = 'shoal';

type Env = Readonly<Record<string, string | undefined>>;

/** How many positional arguments a command takes (docker/cli's cli.NoArgs, ExactArgs, …). */
export type ArgsRule =
  | { kind: 'none' }
  | { kind: 'exact'; n: number }
  | { kind: 'min'; n: number }
  | { kind: 'max'; n: number }
  | { kind: 'range'; min: number; max: number }
  | { kind: 'custom'; check: (node: CommandNode, args: string[]) => void };

export const noArgs: ArgsRule = { kind: 'none' };
export const exactArgs = (n: number): ArgsRule => ({ kind: 'exact', n });
export const minArgs = (n: number): ArgsRule => ({ kind: 'min', n });

/** What a command's run function receives besides its options. */
export interface RunContext {
  cli: Cli;
  flags: FlagSet;
  node: CommandNode;
}

/** How a command module declares a leaf: its flags build an options value that `run` consumes. */
export interface LeafDefinition<O> {
  /** cobra's Use: the name, then the argument synopsis (`ls [OPTIONS]`). */
  use: string;
  short: string;
  aliases?: readonly string[];
  /** The `Aliases:` line when it is not `<path>, <parent> <alias>…` (docker's "aliases" annotation). */
  aliasesText?: string;
  args: ArgsRule;
  /** false for commands whose first argument ends the flags (`service create IMAGE ARG…`). */
  interspersed?: boolean;
  /** Declares the flags; `env` is where `--env KEY` looks up unset values. */
  flags: (fs: FlagSet, env: Env) => O;
  run: (ctx: RunContext, opts: O, args: string[]) => Promise<void>;
}

/** Runs a leaf once its flags are parsed; the options value is captured inside. */
export type BoundRun = (ctx: RunContext, args: string[]) => Promise<void>;

/**
 * A leaf placed in the tree. The options type of each leaf is known only inside its own module,
 * so `declare` registers the flags and returns the run function already bound to their values.
 */
export interface LeafSpec extends Omit<LeafDefinition<unknown>, 'flags' | 'run'> {
  kind: 'leaf';
  declare: (fs: FlagSet, env: Env) => BoundRun;
}

export interface GroupSpec {
  kind: 'group';
  use: string;
  short: string;
  commands: readonly CommandSpec[];
}

export type CommandSpec = LeafSpec | GroupSpec;

/** Declares a leaf command, keeping its options type between `flags` and `run`. */
export function leaf<O>(definition: LeafDefinition<O>): LeafSpec {
  const { flags, run, ...rest } = definition;
  return {
    kind: 'leaf',
    ...rest,
    declare: (fs, env) => {
      const options = flags(fs, env);
      return (ctx, args) => run(ctx, options, args);
    },
  };
}

export function group(spec: Omit<GroupSpec, 'kind'>): GroupSpec {
  return { kind: 'group', ...spec };
}

/** A command placed in the tree: its spec and its ancestry (for paths and usage lines). */
export class CommandNode {
  readonly children: CommandNode[];
  constructor(
    readonly spec: CommandSpec,
    readonly parent: CommandNode | undefined,
  ) {
    this.children = spec.kind === 'group' ? spec.commands.map((c) => new CommandNode(c, this)) : [];
  }

  get name(): string {
    return this.spec.use.split(' ')[0]!;
  }

  get aliases(): readonly string[] {
    return this.spec.kind === 'leaf' ? (this.spec.aliases ?? []) : [];
  }

  /** cobra's CommandPath: `shoal node ls`. */
  get path(): string {
    return this.parent ? `${this.parent.path} ${this.name}` : this.name;
  }

  /** cobra's UseLine with flags left out of it (Docker's DisableFlagsInUseLine). */
  get useLine(): string {
    return this.parent ? `${this.parent.path} ${this.spec.use}` : this.spec.use;
  }

  /** The flags the command declares, plus Docker's hidden `-h, --help`. */
  newFlagSet(env: Env = process.env): { fs: FlagSet; run?: BoundRun; help: () => boolean } {
    const fs = new FlagSet();
    const run = this.spec.kind === 'leaf' ? this.spec.declare(fs, env) : undefined;
    if (this.spec.kind === 'leaf' && this.spec.interspersed === false) fs.interspersed = false;
    const help = fs.add('help', {
      shorthand: 'h',
      usage: 'Print usage',
      type: '',
      initial: false,
      defValue: 'false',
      zeroDefValues: ['false'],
      noOptDefVal: 'true',
      set: (raw) => parseBool(raw),
      hidden: true,
      shorthandDeprecated: 'use --help',
    });
    return { fs, run, help: () => help.value };
  }

  find(name: string): CommandNode | undefined {
    return this.children.find((c) => c.name === name || c.aliases.includes(name));
  }
}

/** The width Docker wraps help text to: the terminal's, else 80 (then one less, as Docker does). */
export function helpWidth(cli: Cli): number {
  const cols = cli.streams.inIsTerminal ? (cli.out.columns ?? cli.err.columns ?? 80) : 80;
  return cols - 1;
}

/** The help page of a command, as `docker <command> --help` prints it. */
export function helpText(node: CommandNode, cols: number, apiVersion?: string): string {
  const spec = node.spec;
  let out = 'Usage:';
  if (spec.kind === 'group') {
    out += `  ${node.path} COMMAND`;
  } else {
    out += `  ${node.useLine}`;
  }
  out += `\n\n${spec.short.trim()}`;
  if (spec.kind === 'leaf' && (spec.aliases?.length || spec.aliasesText)) {
    const parentPath = node.parent ? node.parent.path + ' ' : '';
    const text =
      spec.aliasesText ?? [node.path, ...(spec.aliases ?? []).map((a) => parentPath + a)].join(', ');
    out += `\n\nAliases:\n  ${text}`;
  }
  if (spec.kind === 'leaf') {
    const { fs } = node.newFlagSet();
    const hide = (f: Flag<unknown>): boolean =>
      apiVersion !== undefined &&
      f.def.minApiVersion !== undefined &&
      compareVersions(apiVersion, f.def.minApiVersion) < 0;
    if (fs.all().some((f) => !f.def.hidden && !hide(f)))
      out += `\n\nOptions:\n${fs.usages(cols, hide).trimEnd()}`;
  } else {
    const padding = Math.max(11, ...node.children.map((c) => c.name.length));
    out += '\n\nCommands:';
    for (const child of [...node.children].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      out += `\n  ${child.name.padEnd(padding + 1)}${child.spec.short}`;
    }
    out += `\n\nRun '${node.path} COMMAND --help' for more information on a command.`;
  }
  return out + '\n';
}

/** The negotiated API version, or undefined when the daemon does not answer. */
async function daemonVersion(cli: Cli): Promise<string | undefined> {
  try {
    return await cli.client().apiVersion();
  } catch {
    return undefined;
  }
}

/** The argument-count errors of docker/cli's cli/required.go. */
export function checkArgs(node: CommandNode, rule: ArgsRule, args: string[]): void {
  const n = args.length;
  const plural = (k: number): string => (k === 1 ? 'argument' : 'arguments');
  const path = node.path;
  const fail = (what: string, hint: 'Run' | 'See'): never => {
    throw new Error(
      `${BIN_NAME}: '${path}' ${what}\n\nUsage:  ${node.useLine}\n\n${hint} '${path} --help' for more information`,
    );
  };
  switch (rule.kind) {
    case 'none':
      if (n > 0) fail('accepts no arguments', 'Run');
      return;
    case 'exact':
      if (n !== rule.n) fail(`requires ${rule.n} ${plural(rule.n)}`, 'Run');
      return;
    case 'min':
      if (n < rule.n) fail(`requires at least ${rule.n} ${plural(rule.n)}`, 'See');
      return;
    case 'max':
      if (n > rule.n) fail(`requires at most ${rule.n} ${plural(rule.n)}`, 'Run');
      return;
    case 'range':
      if (n < rule.min || n > rule.max)
        fail(`requires at least ${rule.min} and at most ${rule.max} ${plural(rule.max)}`, 'Run');
      return;
    case 'custom':
      rule.check(node, args);
      return;
  }
}

/** docker/cli's FlagErrorFunc: the parse error, the usage line and the help hint; exit 125. */
export function flagError(node: CommandNode, err: FlagError): StatusError {
  return new StatusError(
    `${err.message}\n\nUsage:  ${node.useLine}\n\nRun '${node.path} --help' for more information`,
    125,
  );
}

/**
 * Runs a command with its raw arguments (everything after the command's name): flags, help, the
 * argument check, then the command itself. Group commands print their help (to stderr, as Docker
 * does when no sub-command is given) or reject an unknown sub-command.
 */
export async function runCommand(cli: Cli, node: CommandNode, rawArgs: string[]): Promise<void> {
  const { fs, run, help } = node.newFlagSet(cli.env);
  let args: string[];
  try {
    args = fs.parse(rawArgs);
  } catch (e) {
    if (e instanceof FlagError) throw flagError(node, e);
    throw e;
  }
  for (const notice of fs.notices) cli.out.write(notice + '\n');
  const gated = fs.all().filter((f) => f.def.minApiVersion !== undefined);
  if (help()) {
    // Like Docker, hide the flags the daemon's API version does not support (when it answers).
    cli.out.write(helpText(node, helpWidth(cli), gated.length > 0 ? await daemonVersion(cli) : undefined));
    return;
  }
  for (const flag of gated) {
    if (!flag.changed) continue;
    const version = await cli.client().apiVersion();
    if (compareVersions(version, flag.def.minApiVersion!) < 0) {
      throw new Error(
        `"--${flag.name}" requires API version ${flag.def.minApiVersion}, but the shoal daemon API version is ${version}`,
      );
    }
  }
  const spec = node.spec;
  if (spec.kind === 'group') {
    if (args.length === 0) {
      cli.err.write(helpText(node, helpWidth(cli)));
      return;
    }
    throw new Error(
      `${BIN_NAME}: unknown command: ${node.path} ${args[0]}\n\nUsage:  ${node.useLine}\n\nRun '${node.path} --help' for more information`,
    );
  }
  checkArgs(node, spec.args, args);
  await run!({ cli, flags: fs, node }, args);
}
