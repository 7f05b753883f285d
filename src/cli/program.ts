// The `shoal` program: global flags, the command tree (registered with commander, which resolves
// command names and aliases), and Docker's top-level behaviour: help pages, `shoal help CMD`,
// unknown commands, errors printed on stderr with Docker's exit codes.

import { Command } from 'commander';
import { Cli } from './cli.js';
import { DEFAULT_HOST, type EngineClient } from './client.js';
import {
  BIN_NAME,
  CommandNode,
  group,
  helpText,
  helpWidth,
  runCommand,
  type CommandSpec,
} from './command.js';
import { errorText, exitCodeOf, StatusError } from './errors.js';
import { FlagError, FlagSet } from './flags.js';
import { listFlag } from './opts/lists.js';
import type { Streams } from './streams.js';
import { SHOAL_VERSION } from '../version.js';
import { infoCommand, systemCommand, versionCommand } from './commands/system.js';
import { swarmCommand } from './commands/swarm.js';
import { nodeCommand } from './commands/node.js';
import { serviceCommand } from './commands/service.js';
import { eventsCommand } from './commands/events.js';
import { configCommand, secretCommand } from './commands/secret.js';
import { networkCommand } from './commands/network.js';
import { stackCommand } from './commands/stack.js';

/** The top-level commands, in the sections the root help lists them in. */
const COMMON_COMMANDS: readonly CommandSpec[] = [versionCommand, infoCommand];
const MANAGEMENT_COMMANDS: readonly CommandSpec[] = [networkCommand];
const SWARM_COMMANDS: readonly CommandSpec[] = [
  configCommand,
  nodeCommand,
  secretCommand,
  serviceCommand,
  stackCommand,
  swarmCommand,
];
const OTHER_COMMANDS: readonly CommandSpec[] = [eventsCommand, systemCommand];

const ROOT = group({
  use: `${BIN_NAME} [OPTIONS] COMMAND [ARG...]`,
  short: 'Docker Swarm mode, rebuilt in TypeScript',
  commands: [...COMMON_COMMANDS, ...MANAGEMENT_COMMANDS, ...SWARM_COMMANDS, ...OTHER_COMMANDS],
});

interface GlobalOptions {
  hosts: string[];
  version: boolean;
  help: boolean;
}

function globalFlags(): { fs: FlagSet; read: () => GlobalOptions } {
  const fs = new FlagSet();
  fs.interspersed = false;
  fs.bool('debug', 'D', 'Enable debug mode');
  const hosts = fs.add('host', listFlag('H', 'Daemon socket to connect to'));
  fs.string('log-level', 'l', 'Set the logging level ("debug", "info", "warn", "error", "fatal")', 'info');
  const version = fs.bool('version', 'v', 'Print version information and quit');
  const help = fs.bool('help', 'h', 'Print usage');
  help.def.hidden = true;
  return { fs, read: () => ({ hosts: hosts.value, version: version.value, help: help.value }) };
}

function rootHelp(root: CommandNode, cols: number): string {
  const section = (title: string, specs: readonly CommandSpec[]): string =>
    `${title}:\n` +
    specs
      .map((s) => root.find(s.use.split(' ')[0]!)!)
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((c) => `  ${c.name.padEnd(12)}${c.spec.short}\n`)
      .join('');
  return (
    `Usage:  ${BIN_NAME} [OPTIONS] COMMAND\n\n${ROOT.short}\n\n` +
    section('Common Commands', COMMON_COMMANDS) +
    '\n' +
    section('Management Commands', MANAGEMENT_COMMANDS) +
    '\n' +
    section('Swarm Commands', SWARM_COMMANDS) +
    '\n' +
    section('Commands', OTHER_COMMANDS) +
    `\nGlobal Options:\n${globalFlags().fs.usages(cols).trimEnd()}\n\n` +
    `Run '${BIN_NAME} COMMAND --help' for more information on a command.\n`
  );
}

/** The daemon address: `-H`, else SHOAL_HOST, else DOCKER_HOST, else the default socket. */
export function resolveHost(
  flagHosts: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (flagHosts.length > 1) throw new Error('Specify only one -H');
  return flagHosts[0] || env.SHOAL_HOST || env.DOCKER_HOST || DEFAULT_HOST;
}

/** Registers the command tree with commander; the chosen leaf is reported through `onCommand`. */
function commanderTree(root: CommandNode, onCommand: (node: CommandNode) => void): Command {
  const configure = (cmd: Command): Command =>
    cmd
      .helpOption(false)
      .helpCommand(false)
      .allowUnknownOption()
      .allowExcessArguments()
      .enablePositionalOptions()
      .passThroughOptions()
      .exitOverride()
      .configureOutput({ writeOut: () => {}, writeErr: () => {} });
  const register = (parent: Command, node: CommandNode): void => {
    const cmd = configure(new Command(node.name));
    for (const alias of node.aliases) cmd.alias(alias);
    cmd
      .description(node.spec.short)
      .argument('[args...]')
      .action(() => onCommand(node));
    parent.addCommand(cmd);
    for (const child of node.children) register(cmd, child);
  };
  const program = configure(new Command(BIN_NAME));
  program.argument('[args...]').action(() => onCommand(root));
  for (const child of root.children) register(program, child);
  return program;
}

export interface MainOptions {
  clientFactory?: (host: string) => EngineClient;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Runs `shoal` with `argv` (without the program name); returns the exit code. */
export async function main(
  argv: readonly string[],
  streams: Streams,
  env: Readonly<Record<string, string | undefined>>,
  options: MainOptions = {},
): Promise<number> {
  const root = new CommandNode(ROOT, undefined);
  const global = globalFlags();
  let cli: Cli | undefined;
  try {
    let rest: string[];
    try {
      rest = global.fs.parse(argv);
    } catch (e) {
      if (e instanceof FlagError) {
        throw new StatusError(
          `${e.message}\n\nUsage:  ${root.useLine}\n\nRun '${BIN_NAME} --help' for more information`,
          125,
        );
      }
      throw e;
    }
    const opts = global.read();
    cli = new Cli({ streams, host: DEFAULT_HOST, env, ...options });
    if (opts.version) {
      streams.out.write(`${BIN_NAME} version ${SHOAL_VERSION}\n`);
      return 0;
    }
    if (opts.help) {
      streams.out.write(rootHelp(root, helpWidth(cli)));
      return 0;
    }
    if (rest.length === 0) {
      streams.err.write(rootHelp(root, helpWidth(cli)));
      return 0;
    }
    if (rest[0] === 'help') return runHelpTopic(cli, root, rest.slice(1));
    cli = new Cli({ streams, host: resolveHost(opts.hosts, env), env, ...options });

    let chosen: CommandNode | undefined;
    await commanderTree(root, (node) => (chosen = node)).parseAsync(rest, { from: 'user' });
    if (!chosen || chosen === root) {
      throw new Error(
        `${BIN_NAME}: unknown command: ${BIN_NAME} ${rest[0]}\n\nRun '${BIN_NAME} --help' for more information`,
      );
    }
    // Everything after the command's own name (and its parents') is its raw argument list.
    let depth = 0;
    for (let n: CommandNode | undefined = chosen; n && n !== root; n = n.parent) depth++;
    await runCommand(cli, chosen, rest.slice(depth));
    return 0;
  } catch (err) {
    const text = errorText(err);
    if (text !== '') streams.err.write(text + '\n');
    return exitCodeOf(err);
  }
}

/** `shoal help [COMMAND…]`: the help page of a command, or of the program. */
function runHelpTopic(cli: Cli, root: CommandNode, path: string[]): number {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const next = node.find(path[i]!);
    if (!next) {
      cli.err.write(`unknown help topic: ${path.slice(i).join(' ')}\n`);
      return 1;
    }
    node = next;
  }
  cli.out.write(node === root ? rootHelp(root, helpWidth(cli)) : helpText(node, helpWidth(cli)));
  return 0;
}
