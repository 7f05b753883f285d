// `shoal stack deploy|ls|ps|rm|services|config` as the docker CLI 28 has them (cli/command/stack; its
// calls, messages and output), and shoal's own `stack diff`
// and `stack deploy --dry-run` (what a deploy would create, update field by field and remove, changing
// nothing).

import type { Network, Task } from '../../api/types.js';
import type { NetworkResource } from '../../api/networks.js';
import { goQuote } from '../../api/strconv.js';
import { LABEL_NAMESPACE } from '../../compose/convert.js';
import { configYAML } from '../../compose/config-out.js';
import { checkImages, getConfigDetails, loadComposeFile, loadConfig } from '../../compose/loader.js';
import type { Cli } from '../cli.js';
import { compareVersions } from '../client.js';
import { exactArgs, group, leaf, minArgs, noArgs } from '../command.js';
import { StatusError } from '../errors.js';
import { FilterArgs } from '../filter-args.js';
import type { FlagDefinition, FlagSet } from '../flags.js';
import { formatList } from '../format/formatter.js';
import { GO_TYPE } from '../format/govalue.js';
import { naturalCompare } from '../format-helpers.js';
import { formatServiceList } from '../formatters/service-list.js';
import { formatTasks, IDResolver } from '../formatters/task-list.js';
import { readCSVRecord } from '../opts/lists.js';
import { changeValue } from '../stack/diff.js';
import { deployStack, planStack, stackFilter, type PlanEntry, type ResolveImage } from '../stack/deploy.js';
import { loaderHost } from '../stack/host.js';
import { FORMAT_HELP } from './help-texts.js';
import { filterFlag, formatOrFail } from './node.js';

/** pflag's StringSlice (`-c a.yml,b.yml -c c.yml`): CSV values appended. */
function stringsFlag(shorthand: string | undefined, usage: string): FlagDefinition<string[]> {
  return {
    shorthand,
    usage,
    type: 'strings',
    initial: [],
    defValue: '[]',
    zeroDefValues: ['[]'],
    set: (raw, cur) => [...cur, ...(raw === '' ? [] : readCSVRecord(raw))],
  };
}

/** The stack command's persistent `--orchestrator`, deprecated and ignored (Kubernetes stacks are gone). */
function orchestratorFlag(fs: FlagSet): () => string | undefined {
  const flag = fs.add('orchestrator', {
    usage: 'Orchestrator to use (swarm|all)',
    type: 'string',
    initial: '',
    defValue: '',
    hidden: true,
    set: (raw) => raw,
  });
  return () => (flag.changed ? 'Flag --orchestrator has been deprecated, option will be ignored' : undefined);
}

function noticeOrchestrator(cli: Cli, notice: () => string | undefined): void {
  const text = notice();
  if (text) cli.out.write(text + '\n');
}

/** validateStackName: only an empty name (after trimming spaces and quotes) is refused here. */
function validateStackName(name: string): void {
  if (name.replace(/^[\s'"]+|[\s'"]+$/gu, '') === '') throw new Error(`invalid stack name: ${goQuote(name)}`);
}

const COMPOSE_FILE_USAGE = 'Path to a Compose file, or "-" to read from stdin';
const RESOLVE_IMAGE_USAGE =
  'Query the registry to resolve image digest and supported platforms ("always", "changed", "never")';

function resolveImageOption(value: string): ResolveImage {
  if (value === 'always' || value === 'changed' || value === 'never') return value;
  throw new Error(`invalid option ${value} for flag --resolve-image`);
}

// ---------------------------------------------------------------- plans (diff, dry run)

/** What `stack diff` and `stack deploy --dry-run` print: one line per object, then its changed fields. */
export function formatPlan(plan: readonly PlanEntry[]): string {
  let out = '';
  for (const entry of plan) {
    const sign = entry.action === 'create' ? '+' : entry.action === 'remove' ? '-' : '~';
    out += `${sign} ${entry.kind} ${entry.name}\n`;
    if (entry.action === 'update') {
      for (const c of entry.changes)
        out += `    ${c.path}: ${changeValue(c.before)} → ${changeValue(c.after)}\n`;
    }
  }
  return out;
}

// ---------------------------------------------------------------- deploy

interface DeployFlags {
  composeFiles: string[];
  prune: boolean;
  resolveImage: string;
  registryAuth: boolean;
  detach: boolean;
  detachChanged: boolean;
  quiet: boolean;
}

/** Loading and the checks `deploy` (and `diff`) make before talking to the daemon. */
async function loadForDeploy(cli: Cli, stack: string, flags: DeployFlags, announce: boolean) {
  validateStackName(stack);
  const loaded = await loadComposeFile(flags.composeFiles, loaderHost(cli));
  cli.err.write(loaded.notices);
  checkImages(loaded.config);
  let resolveImage = resolveImageOption(flags.resolveImage);
  if (compareVersions(await cli.client().apiVersion(), '1.30') < 0) resolveImage = 'never';
  if (announce && flags.detach && !flags.detachChanged) {
    cli.err.write(
      'Since --detach=false was not specified, tasks will be created in the background.\n' +
        'In a future release, --detach=false will become the default.\n',
    );
  }
  return {
    config: loaded.config,
    options: {
      stack,
      prune: flags.prune,
      resolveImage,
      registryAuth: flags.registryAuth,
      detach: flags.detach,
      quiet: flags.quiet,
    },
  };
}

function deployFlagSet(fs: FlagSet, withDetach: boolean) {
  const composeFile = fs.add('compose-file', stringsFlag('c', COMPOSE_FILE_USAGE));
  composeFile.def.minApiVersion = '1.25';
  const registryAuth = fs.bool(
    'with-registry-auth',
    undefined,
    'Send registry authentication details to Swarm agents',
  );
  const prune = fs.bool('prune', undefined, 'Prune services that are no longer referenced');
  prune.def.minApiVersion = '1.27';
  const resolveImage = fs.string('resolve-image', undefined, RESOLVE_IMAGE_USAGE, 'always');
  resolveImage.def.minApiVersion = '1.30';
  const detach = withDetach
    ? fs.bool('detach', 'd', 'Exit immediately instead of waiting for the stack services to converge', true)
    : undefined;
  const quiet = withDetach ? fs.bool('quiet', 'q', 'Suppress progress output') : undefined;
  return {
    read: (): DeployFlags => ({
      composeFiles: composeFile.value,
      prune: prune.value,
      resolveImage: resolveImage.value,
      registryAuth: registryAuth.value,
      detach: detach?.value ?? true,
      detachChanged: detach?.changed ?? false,
      quiet: quiet?.value ?? false,
    }),
  };
}

const deployCommand = leaf({
  use: 'deploy [OPTIONS] STACK',
  aliases: ['up'],
  short: 'Deploy a new stack or update an existing stack',
  args: exactArgs(1),
  flags: (fs) => ({
    deploy: deployFlagSet(fs, true),
    dryRun: fs.bool(
      'dry-run',
      undefined,
      'Show what the deploy would create, update and remove, and change nothing',
    ),
    orchestrator: orchestratorFlag(fs),
  }),
  run: async ({ cli }, opts, args) => {
    noticeOrchestrator(cli, opts.orchestrator);
    const flags = opts.deploy.read();
    const { config, options } = await loadForDeploy(cli, args[0]!, flags, !opts.dryRun.value);
    if (opts.dryRun.value) {
      cli.out.write(formatPlan(await planStack(cli, config, options)));
      return;
    }
    await deployStack(cli, config, options);
  },
});

const diffCommand = leaf({
  use: 'diff [OPTIONS] STACK',
  short: 'Show what deploying the Compose files would create, update and remove',
  args: exactArgs(1),
  flags: (fs) => ({ deploy: deployFlagSet(fs, false), orchestrator: orchestratorFlag(fs) }),
  run: async ({ cli }, opts, args) => {
    noticeOrchestrator(cli, opts.orchestrator);
    const { config, options } = await loadForDeploy(cli, args[0]!, opts.deploy.read(), false);
    cli.out.write(formatPlan(await planStack(cli, config, options)));
  },
});

// ---------------------------------------------------------------- config

const configCommand = leaf({
  use: 'config [OPTIONS]',
  short: 'Outputs the final config file, after doing merges and interpolations',
  args: noArgs,
  flags: (fs) => ({
    composeFile: fs.add('compose-file', stringsFlag('c', COMPOSE_FILE_USAGE)),
    skipInterpolation: fs.bool(
      'skip-interpolation',
      undefined,
      'Skip interpolation and output only merged config',
    ),
    orchestrator: orchestratorFlag(fs),
  }),
  run: async ({ cli }, opts) => {
    noticeOrchestrator(cli, opts.orchestrator);
    const host = loaderHost(cli);
    const details = await getConfigDetails(opts.composeFile.value, host);
    const config = loadConfig(details, host, { skipInterpolation: opts.skipInterpolation.value });
    cli.out.write(configYAML(config));
  },
});

// ---------------------------------------------------------------- ls

class StackContext {
  constructor(
    readonly Name: string,
    private readonly count: number,
  ) {}
  get Services(): string {
    return String(this.count);
  }
}
Object.defineProperty(StackContext.prototype, GO_TYPE, { value: '*formatter.stackContext' });

const lsCommand = leaf({
  use: 'ls [OPTIONS]',
  aliases: ['list'],
  short: 'List stacks',
  args: noArgs,
  flags: (fs) => ({
    format: fs.string('format', undefined, FORMAT_HELP),
    orchestrator: orchestratorFlag(fs),
  }),
  run: async ({ cli }, opts) => {
    noticeOrchestrator(cli, opts.orchestrator);
    const services = await cli
      .client()
      .serviceList({ filters: new FilterArgs().add('label', LABEL_NAMESPACE) });
    const counts = new Map<string, number>();
    for (const service of services) {
      const labels = service.Spec.Labels ?? {};
      if (!Object.hasOwn(labels, LABEL_NAMESPACE)) {
        throw new Error(`cannot get label ${LABEL_NAMESPACE} for service ${service.ID}`);
      }
      const name = labels[LABEL_NAMESPACE]!;
      counts.set(name, (counts.get(name) ?? 0) + 1);
    }
    const stacks = [...counts.entries()]
      .sort(([a], [b]) => naturalCompare(a, b))
      .map(([name, count]) => new StackContext(name, count));
    let format = opts.format.value;
    if (format === '' || format === 'table') format = 'table {{.Name}}\t{{.Services}}';
    cli.out.write(
      formatOrFail(() =>
        formatList(stacks, {
          format,
          defaultTableFormat: 'table {{.Name}}\t{{.Services}}',
          header: { Name: 'NAME', Services: 'SERVICES' },
        }),
      ),
    );
  },
});

// ---------------------------------------------------------------- services

const servicesCommand = leaf({
  use: 'services [OPTIONS] STACK',
  short: 'List the services in the stack',
  args: exactArgs(1),
  flags: (fs) => ({
    quiet: fs.bool('quiet', 'q', 'Only display IDs'),
    format: fs.string('format', undefined, FORMAT_HELP),
    filter: fs.add('filter', filterFlag()),
    orchestrator: orchestratorFlag(fs),
  }),
  run: async ({ cli }, opts, args) => {
    noticeOrchestrator(cli, opts.orchestrator);
    const stack = args[0]!;
    validateStackName(stack);
    const filter = opts.filter.value.clone().add('label', `${LABEL_NAMESPACE}=${stack}`);
    const quiet = opts.quiet.value;
    const services = await cli.client().serviceList({ filters: filter, status: !quiet });
    if (services.length === 0) {
      cli.err.write(`Nothing found in stack: ${stack}\n`);
      return;
    }
    cli.out.write(formatOrFail(() => formatServiceList(services, opts.format.value, quiet)));
  },
});

// ---------------------------------------------------------------- ps

const psCommand = leaf({
  use: 'ps [OPTIONS] STACK',
  short: 'List the tasks in the stack',
  args: exactArgs(1),
  flags: (fs) => ({
    noTrunc: fs.bool('no-trunc', undefined, 'Do not truncate output'),
    noResolve: fs.bool('no-resolve', undefined, 'Do not map IDs to Names'),
    filter: fs.add('filter', filterFlag()),
    quiet: fs.bool('quiet', 'q', 'Only display task IDs'),
    format: fs.string('format', undefined, FORMAT_HELP),
    orchestrator: orchestratorFlag(fs),
  }),
  run: async ({ cli }, opts, args) => {
    noticeOrchestrator(cli, opts.orchestrator);
    const stack = args[0]!;
    validateStackName(stack);
    const client = cli.client();
    const filter = opts.filter.value.clone().add('label', `${LABEL_NAMESPACE}=${stack}`);
    const tasks: Task[] = await client.taskList(filter);
    if (tasks.length === 0) throw new Error(`nothing found in stack: ${stack}`);
    try {
      cli.out.write(
        await formatTasks(tasks, new IDResolver(client, opts.noResolve.value), {
          trunc: !opts.noTrunc.value,
          quiet: opts.quiet.value,
          format: opts.format.value,
          nowMs: cli.now(),
        }),
      );
    } catch (e) {
      throw new StatusError((e as Error).message, 1);
    }
  },
});

// ---------------------------------------------------------------- rm

/** The task states after `running` (complete, shutdown, failed, rejected). */
const TERMINAL = new Set(['complete', 'shutdown', 'failed', 'rejected']);

/**
 * waitOnTasks, with Docker's exit condition — a counter that grows by one for each poll that shows at
 * least one task past `running`, done once it equals the number of tasks listed — and two more: no task
 * left, or every task past `running`. (Docker's loop never ends when the tasks are deleted before its
 * counter has caught up with their number; shoal's removed tasks are deleted once they have stopped.)
 */
async function waitOnTasks(cli: Cli, stack: string): Promise<void> {
  let reached = 0;
  for (;;) {
    const tasks = await cli.client().taskList(stackFilter(stack));
    if (tasks.some((t) => TERMINAL.has(t.Status.State))) reached++;
    if (reached === tasks.length || tasks.every((t) => TERMINAL.has(t.Status.State))) return;
    await cli.sleep(20);
  }
}

const rmCommand = leaf({
  use: 'rm [OPTIONS] STACK [STACK...]',
  aliases: ['remove', 'down'],
  short: 'Remove one or more stacks',
  args: minArgs(1),
  flags: (fs) => ({
    detach: fs.bool('detach', 'd', 'Do not wait for stack removal', true),
    orchestrator: orchestratorFlag(fs),
  }),
  run: async ({ cli }, opts, args) => {
    noticeOrchestrator(cli, opts.orchestrator);
    for (const stack of args) validateStackName(stack);
    const client = cli.client();
    const errors: string[] = [];
    for (const stack of args) {
      const filter = stackFilter(stack);
      const services = await client.serviceList({ filters: filter });
      const networks: (NetworkResource | Network)[] = await client.networkList(filter);
      const secrets = await client.secretList(filter);
      const configs = await client.configList(filter);
      if (services.length + networks.length + secrets.length + configs.length === 0) {
        cli.err.write(`Nothing found in stack: ${stack}\n`);
        continue;
      }
      let failed = false;
      const remove = async (
        kind: string,
        name: string,
        id: string,
        fn: () => Promise<void>,
      ): Promise<void> => {
        cli.out.write(`Removing ${kind} ${name}\n`);
        try {
          await fn();
        } catch (e) {
          failed = true;
          cli.err.write(`Failed to remove ${kind} ${id}: ${(e as Error).message}`);
        }
      };
      services.sort((a, b) => ((a.Spec.Name ?? '') < (b.Spec.Name ?? '') ? -1 : 1));
      for (const s of services)
        await remove('service', s.Spec.Name ?? '', s.ID, () => client.serviceRemove(s.ID));
      for (const s of secrets)
        await remove('secret', s.Spec.Name ?? '', s.ID, () => client.secretRemove(s.ID));
      for (const c of configs)
        await remove('config', c.Spec.Name ?? '', c.ID, () => client.configRemove(c.ID));
      for (const n of networks as NetworkResource[]) {
        await remove('network', n.Name, n.Id, () => client.networkRemove(n.Id));
      }
      if (failed) {
        errors.push(`failed to remove some resources from stack: ${stack}`);
        continue;
      }
      if (!opts.detach.value) {
        try {
          await waitOnTasks(cli, stack);
        } catch (e) {
          errors.push(`failed to wait on tasks of stack: ${stack}: ${(e as Error).message}`);
        }
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  },
});

export const stackCommand = group({
  use: 'stack',
  short: 'Manage Swarm stacks',
  commands: [configCommand, deployCommand, diffCommand, lsCommand, psCommand, rmCommand, servicesCommand],
});
