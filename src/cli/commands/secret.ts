// `shoal secret create|ls|inspect|rm` and `shoal config create|ls|inspect|rm` (docker/cli
// cli/command/secret and cli/command/config): the same flags, messages and exit codes.

import { closeSync, openSync, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { goQuote } from '../../api/strconv.js';
import type { Config, Secret } from '../../api/types.js';
import type { Cli } from '../cli.js';
import { group, leaf, minArgs, noArgs, type ArgsRule, type GroupSpec } from '../command.js';
import { StatusError } from '../errors.js';
import { FormatError } from '../format/formatter.js';
import { configPretty, formatConfigList, formatSecretList, secretPretty } from '../formatters/secret-list.js';
import { goFileError, kvToMap, listFlag, validateLabel } from '../opts/lists.js';
import { CONFIG, CONFIG_SPEC, goBody, SECRET, SECRET_SPEC } from '../wire.js';
import { FORMAT_HELP, INSPECT_FORMAT_HELP } from './help-texts.js';
import { inspectOutput } from './inspect.js';
import { filterFlag, formatOrFail } from './node.js';

type Kind = 'secret' | 'config';

/**
 * The most the CLI reads: twice swarmkit's limit (500 KiB for secrets, 1000 KiB for configs), so that a
 * larger file gets the daemon's size error rather than filling the CLI's memory.
 */
const READ_LIMIT: Record<Kind, number> = { secret: 2 * 500 * 1024, config: 2 * 1000 * 1024 };

const rangeArgs = (min: number, max: number): ArgsRule => ({ kind: 'range', min, max });

async function readStream(input: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buf);
    size += buf.length;
    if (size >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit);
}

function readFile(path: string, limit: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw goFileError('open', path, e);
  }
  try {
    const buf = Buffer.alloc(limit);
    let size = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, size, limit - size, null);
      } catch (e) {
        throw goFileError('read', path, e);
      }
      if (n === 0) break;
      size += n;
      if (size >= limit) break;
    }
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** readSecretData / readConfigData: the file's content, or stdin's for `-`; never empty. */
async function readData(cli: Cli, kind: Kind, file: string): Promise<Buffer> {
  const limit = READ_LIMIT[kind];
  if (file === '-') {
    const data = await readStream(cli.streams.in, limit);
    if (data.length === 0) throw new Error('error reading from STDIN: data is empty');
    return data;
  }
  if (file === '') throw new Error(`${kind} file is required`);
  let data: Buffer;
  try {
    data = readFile(file, limit);
  } catch (e) {
    throw new Error(`error reading from ${file}: ${(e as Error).message}`);
  }
  if (data.length === 0) throw new Error(`error reading from ${file}: data is empty`);
  return data;
}

// ---------------------------------------------------------------- create

const secretCreate = leaf({
  use: 'create [OPTIONS] SECRET [file|-]',
  short: 'Create a secret from a file or STDIN as content',
  args: rangeArgs(1, 2),
  flags: (fs) => {
    const driver = fs.string('driver', 'd', 'Secret driver');
    driver.def.minApiVersion = '1.31';
    const templateDriver = fs.string('template-driver', undefined, 'Template driver');
    templateDriver.def.minApiVersion = '1.37';
    return { labels: fs.add('label', listFlag('l', 'Secret labels', validateLabel)), driver, templateDriver };
  },
  run: async ({ cli }, opts, args) => {
    const [name = '', file = ''] = args;
    let data: Buffer | undefined;
    if (opts.driver.value !== '') {
      if (file !== '') throw new Error('When using secret driver secret data must be empty');
    } else {
      data = await readData(cli, 'secret', file);
    }
    const spec = {
      Name: name,
      Labels: kvToMap(opts.labels.value),
      Data: data?.toString('base64'),
      Driver: opts.driver.value !== '' ? { Name: opts.driver.value } : undefined,
      Templating: opts.templateDriver.value !== '' ? { Name: opts.templateDriver.value } : undefined,
    };
    const { ID } = await cli.client().secretCreate(goBody(spec, SECRET_SPEC));
    cli.out.write(`${ID}\n`);
  },
});

const configCreate = leaf({
  use: 'create [OPTIONS] CONFIG file|-',
  short: 'Create a config from a file or STDIN',
  args: { kind: 'exact', n: 2 },
  flags: (fs) => {
    const templateDriver = fs.string('template-driver', undefined, 'Template driver');
    templateDriver.def.minApiVersion = '1.37';
    return { labels: fs.add('label', listFlag('l', 'Config labels', validateLabel)), templateDriver };
  },
  run: async ({ cli }, opts, args) => {
    const [name, file] = args as [string, string];
    let data: Buffer;
    try {
      data = await readData(cli, 'config', file);
    } catch (e) {
      throw new Error(`Error reading content from ${goQuote(file)}: ${(e as Error).message}`);
    }
    const spec = {
      Name: name,
      Labels: kvToMap(opts.labels.value),
      Data: data.toString('base64'),
      Templating: opts.templateDriver.value !== '' ? { Name: opts.templateDriver.value } : undefined,
    };
    const { ID } = await cli.client().configCreate(goBody(spec, CONFIG_SPEC));
    cli.out.write(`${ID}\n`);
  },
});

// ---------------------------------------------------------------- ls

function lsCommand(kind: Kind): ReturnType<typeof leaf> {
  return leaf({
    use: 'ls [OPTIONS]',
    aliases: ['list'],
    short: kind === 'secret' ? 'List secrets' : 'List configs',
    args: noArgs,
    flags: (fs) => ({
      quiet: fs.bool('quiet', 'q', 'Only display IDs'),
      format: fs.string('format', undefined, FORMAT_HELP),
      filter: fs.add('filter', filterFlag()),
    }),
    run: async ({ cli }, opts) => {
      const client = cli.client();
      const { format, quiet } = { format: opts.format.value, quiet: opts.quiet.value };
      const text =
        kind === 'secret'
          ? formatSecretList(await client.secretList(opts.filter.value), format, quiet, cli.now())
          : formatConfigList(await client.configList(opts.filter.value), format, quiet, cli.now());
      cli.out.write(text);
    },
  });
}

// ---------------------------------------------------------------- inspect

function inspectCommand(kind: Kind): ReturnType<typeof leaf> {
  const what = kind === 'secret' ? 'SECRET' : 'CONFIG';
  return leaf({
    use: `inspect [OPTIONS] ${what} [${what}...]`,
    short: `Display detailed information on one or more ${kind}s`,
    args: minArgs(1),
    flags: (fs) => ({
      format: fs.string('format', 'f', INSPECT_FORMAT_HELP),
      pretty: fs.bool('pretty', undefined, 'Print the information in a human friendly format'),
    }),
    run: async ({ cli }, opts, args) => {
      const format = opts.pretty.value ? 'pretty' : opts.format.value;
      if (format.startsWith('pretty') && format !== 'pretty') {
        throw new Error('cannot supply extra formatting options to the pretty template');
      }
      const client = cli.client();
      if (format !== 'pretty') {
        if (kind === 'secret')
          await inspectOutput(cli, args, format, (ref) => client.secretInspect(ref), SECRET);
        else await inspectOutput(cli, args, format, (ref) => client.configInspect(ref), CONFIG);
        return;
      }
      // The pretty pages are all printed or none: the first object that cannot be read ends the command.
      try {
        if (kind === 'secret') {
          const secrets: Secret[] = [];
          for (const ref of args) secrets.push(await client.secretInspect(ref));
          cli.out.write(formatOrFail(() => secretPretty(secrets)));
        } else {
          const configs: Config[] = [];
          for (const ref of args) configs.push(await client.configInspect(ref));
          cli.out.write(formatOrFail(() => configPretty(configs)));
        }
      } catch (e) {
        if (e instanceof StatusError || e instanceof FormatError) throw e;
        throw new StatusError((e as Error).message, 1);
      }
    },
  });
}

// ---------------------------------------------------------------- rm

function rmCommand(kind: Kind): ReturnType<typeof leaf> {
  const what = kind === 'secret' ? 'SECRET' : 'CONFIG';
  return leaf({
    use: `rm ${what} [${what}...]`,
    aliases: ['remove'],
    short: `Remove one or more ${kind}s`,
    args: minArgs(1),
    flags: () => ({}),
    run: async ({ cli }, _opts, args) => {
      const client = cli.client();
      const errors: string[] = [];
      for (const ref of args) {
        try {
          await (kind === 'secret' ? client.secretRemove(ref) : client.configRemove(ref));
          cli.out.write(`${ref}\n`);
        } catch (e) {
          errors.push((e as Error).message);
        }
      }
      if (errors.length > 0) throw new Error(errors.join('\n'));
    },
  });
}

export const secretCommand: GroupSpec = group({
  use: 'secret',
  short: 'Manage Swarm secrets',
  commands: [secretCreate, inspectCommand('secret'), lsCommand('secret'), rmCommand('secret')],
});

export const configCommand: GroupSpec = group({
  use: 'config',
  short: 'Manage Swarm configs',
  commands: [configCreate, inspectCommand('config'), lsCommand('config'), rmCommand('config')],
});
