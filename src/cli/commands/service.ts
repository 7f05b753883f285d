// `shoal service create|inspect|logs|ls|ps|rm|rollback|scale|update` (docker/cli
// cli/command/service). Creating, updating, scaling and rolling back follow the service until it has
// converged, with Docker's progress display, unless `-d` is given.

import type { IncomingMessage } from 'node:http';
import type { Node, Service, Task } from '../../api/types.js';
import { parseDuration } from '../../api/duration.js';
import type { Cli } from '../cli.js';
import { compareVersions, isNotFound } from '../client.js';
import { prepareServiceImage } from '../image.js';
import { retrieveAuthTokenFromImage, type RegistryAuthContext } from '../registry-auth.js';
import { BIN_NAME, group, leaf, minArgs, exactArgs, noArgs, type ArgsRule } from '../command.js';
import { StatusError } from '../errors.js';
import { FilterArgs } from '../filter-args.js';
import { formatServiceList } from '../formatters/service-list.js';
import { servicePretty } from '../formatters/pretty.js';
import { formatTasks, IDResolver } from '../formatters/task-list.js';
import { digits, FrameDecoder, LogLineFormatter, sinceTimestamp } from '../logs.js';
import { ProgressDisplay } from '../progress/display.js';
import { serviceProgress } from '../progress/service.js';
import { InterruptibleWait } from '../progress/signals.js';
import {
  createFlags,
  createServiceSpec,
  otherFlagsThanRollback,
  updateFlags,
  updateReferences,
  updateServiceSpec,
} from '../service-spec.js';
import { parseUint } from '../../api/strconv.js';
import { goBody, normalizeGo, SERVICE, SERVICE_SPEC } from '../wire.js';
import { FORMAT_HELP, INSPECT_FORMAT_HELP } from './help-texts.js';
import { inspectOutput } from './inspect.js';
import { filterFlag, formatOrFail, nodeReference, taskListFlags } from './node.js';

/** Where `--with-registry-auth` looks for credentials, and where a broken config file is reported. */
const authContext = (cli: Cli): RegistryAuthContext => ({
  env: cli.env,
  warn: (line) => cli.err.write(line + '\n'),
});

/** Docker's client asks the registry (through the daemon) only from API 1.30 on. */
const canQueryRegistry = async (cli: Cli): Promise<boolean> =>
  compareVersions(await cli.client().apiVersion(), '1.30') >= 0;

/** WaitOnService: follows the service until it converges; with -q nothing is drawn. */
export async function waitOnService(cli: Cli, serviceRef: string, quiet: boolean): Promise<void> {
  const client = cli.client();
  const display = new ProgressDisplay(cli.out);
  const wait = new InterruptibleWait(cli);
  try {
    await serviceProgress(
      serviceRef,
      {
        service: (ref) => client.serviceInspect(ref),
        upToDateTasks: (id) =>
          client.taskList(new FilterArgs().add('service', id).add('_up-to-date', 'true')),
        nodes: () => client.nodeList(),
      },
      (u) => {
        if (!quiet) display.write(u);
      },
      { now: cli.now, sleep: (ms) => wait.sleep(ms) },
    );
  } finally {
    wait.close();
  }
}

function printWarnings(cli: Cli, warnings: readonly string[] | null | undefined): void {
  for (const w of warnings ?? []) cli.err.write(w + '\n');
}

// ---------------------------------------------------------------- create

const createCommand = leaf({
  use: 'create [OPTIONS] IMAGE [COMMAND] [ARG...]',
  short: 'Create a new service',
  args: minArgs(1),
  interspersed: false,
  flags: (fs, env) => createFlags(fs, env),
  run: async ({ cli }, opts, args) => {
    const spec = await createServiceSpec(cli, opts, args[0]!, args.slice(1));
    const client = cli.client();
    const registryAuth = opts.registryAuth.value
      ? await retrieveAuthTokenFromImage(args[0]!, authContext(cli))
      : undefined;
    const warning = await prepareServiceImage(client, spec, {
      queryRegistry: !opts.noResolveImage.value && (await canQueryRegistry(cli)),
      registryAuth,
    });
    const response = await client.serviceCreate(goBody(spec, SERVICE_SPEC), registryAuth);
    printWarnings(cli, [...(response.Warnings ?? []), ...(warning ? [warning] : [])]);
    cli.out.write(`${response.ID}\n`);
    if (opts.detach.value) return;
    await waitOnService(cli, response.ID, opts.quiet.value);
  },
});

// ---------------------------------------------------------------- inspect

/** The networks a service is attached to, by ID, with their names (for the pretty page). */
async function networkNames(cli: Cli, service: Service): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const n of service.Spec?.TaskTemplate?.Networks ?? []) {
    try {
      const nw = await cli.client().networkInspect(n.Target, 'swarm');
      names.set(nw.Id, nw.Name);
    } catch {
      // Unknown networks are shown by ID.
    }
  }
  return names;
}

const inspectCommand = leaf({
  use: 'inspect [OPTIONS] SERVICE [SERVICE...]',
  short: 'Display detailed information on one or more services',
  args: minArgs(1),
  flags: (fs) => ({
    format: fs.string('format', 'f', INSPECT_FORMAT_HELP),
    pretty: fs.bool('pretty', undefined, 'Print the information in a human friendly format'),
  }),
  run: async ({ cli }, opts, args) => {
    if (opts.pretty.value && opts.format.value.length > 0)
      throw new Error('--format is incompatible with human friendly format');
    const format = opts.pretty.value ? 'pretty' : opts.format.value || 'raw';
    if (format.startsWith('pretty') && format !== 'pretty') {
      throw new Error('Cannot supply extra formatting options to the pretty template');
    }
    const getService = async (ref: string): Promise<Service> => {
      try {
        // Inspect shows the defaults the daemon fills in.
        return await cli.client().serviceInspect(ref, true);
      } catch (e) {
        if (isNotFound(e)) throw new Error(`Error: no such service: ${ref}`);
        throw e;
      }
    };
    if (format === 'pretty') {
      // Nothing is printed unless every service could be read.
      let out = '';
      try {
        for (const ref of args) {
          const service = await getService(ref);
          out += servicePretty(service, await networkNames(cli, service), cli.now());
        }
      } catch (e) {
        throw new StatusError((e as Error).message, 1);
      }
      cli.out.write(out);
      return;
    }
    await inspectOutput(cli, args, format === 'raw' ? '' : format.replace(/^raw/, ''), getService, SERVICE);
  },
});

// ---------------------------------------------------------------- ls

/** AppendServiceStatus: running/desired counts for daemons that do not send ServiceStatus. */
async function appendServiceStatus(cli: Cli, services: Service[]): Promise<void> {
  const status = new Map<string, { RunningTasks: number; DesiredTasks: number; CompletedTasks: number }>();
  const filter = new FilterArgs();
  for (const s of services) {
    if (s.ServiceStatus) continue;
    if (s.Spec.Mode?.Replicated) {
      s.ServiceStatus = {
        RunningTasks: 0,
        DesiredTasks: s.Spec.Mode.Replicated.Replicas ?? 0,
        CompletedTasks: 0,
      };
    } else if (s.Spec.Mode?.Global) {
      s.ServiceStatus = { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 };
    } else continue;
    status.set(s.ID, { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 });
    filter.add('service', s.ID);
  }
  if (status.size === 0) return;
  const tasks = await cli.client().taskList(filter);
  if (tasks.length === 0) return;
  const active = await activeNodes(cli);
  for (const t of tasks) {
    const st = status.get(t.ServiceID);
    if (!st) continue;
    if (t.DesiredState !== 'shutdown') st.DesiredTasks++;
    if (active.has(t.NodeID ?? '') && t.Status.State === 'running') st.RunningTasks++;
  }
  for (const s of services) {
    const st = status.get(s.ID);
    if (st) s.ServiceStatus = st;
  }
}

async function activeNodes(cli: Cli): Promise<Set<string>> {
  const nodes: Node[] = await cli.client().nodeList();
  return new Set(nodes.filter((n) => n.Status?.State !== 'down').map((n) => n.ID));
}

const lsCommand = leaf({
  use: 'ls [OPTIONS]',
  aliases: ['list'],
  short: 'List services',
  args: noArgs,
  flags: (fs) => ({
    quiet: fs.bool('quiet', 'q', 'Only display IDs'),
    format: fs.string('format', undefined, FORMAT_HELP),
    filter: fs.add('filter', filterFlag()),
  }),
  run: async ({ cli }, opts) => {
    const quiet = opts.quiet.value;
    const services = await cli.client().serviceList({ filters: opts.filter.value, status: !quiet });
    if (!quiet) await appendServiceStatus(cli, services);
    cli.out.write(formatOrFail(() => formatServiceList(services, opts.format.value, quiet)));
  },
});

// ---------------------------------------------------------------- ps

const psCommand = leaf({
  use: 'ps [OPTIONS] SERVICE [SERVICE...]',
  short: 'List the tasks of one or more services',
  args: minArgs(1),
  flags: (fs) => taskListFlags(fs),
  run: async ({ cli }, opts, args) => {
    const client = cli.client();
    const filter = opts.filter.value.clone();
    const byID = await client.serviceList({ filters: new FilterArgs({ id: args }) });
    const byName = await client.serviceList({ filters: new FilterArgs({ name: args }) });
    const notFound: string[] = [];
    let count = 0;
    // Match by full ID, then full name, then unique ID prefix.
    for (const ref of args) {
      const exact = byID.find((s) => s.ID === ref) ?? byName.find((s) => s.Spec?.Name === ref);
      if (exact) {
        filter.add('service', exact.ID);
        count++;
        continue;
      }
      const prefixed = byID.filter((s) => s.ID.startsWith(ref));
      if (prefixed.length > 1) throw new Error(`multiple services found with provided prefix: ${ref}`);
      if (prefixed.length === 1) {
        filter.add('service', prefixed[0]!.ID);
        count++;
      } else {
        notFound.push(`no such service: ${ref}`);
      }
    }
    if (count === 0) throw new Error(notFound.join('\n'));
    for (const nodeRef of filter.get('node')) {
      const resolved = await nodeReference(cli, nodeRef);
      filter.del('node', nodeRef);
      filter.add('node', resolved);
    }
    const tasks: Task[] = await client.taskList(filter);
    const quiet = opts.quiet.value;
    cli.out.write(
      await formatTasksOrFail(tasks, new IDResolver(client, opts.noResolve.value), {
        // -q prints full IDs.
        trunc: !(opts.noTrunc.value || quiet),
        quiet,
        format: opts.format.value,
        nowMs: cli.now(),
      }),
    );
    if (notFound.length > 0) throw new Error(notFound.join('\n'));
  },
});

async function formatTasksOrFail(...args: Parameters<typeof formatTasks>): Promise<string> {
  try {
    return await formatTasks(...args);
  } catch (e) {
    throw new StatusError((e as Error).message, 1);
  }
}

// ---------------------------------------------------------------- rm

const rmCommand = leaf({
  use: 'rm SERVICE [SERVICE...]',
  aliases: ['remove'],
  short: 'Remove one or more services',
  args: minArgs(1),
  flags: () => ({}),
  run: async ({ cli }, _opts, args) => {
    const errors: string[] = [];
    for (const ref of args) {
      try {
        await cli.client().serviceRemove(ref);
        cli.out.write(ref + '\n');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  },
});

// ---------------------------------------------------------------- scale

/** scaleArgs: every argument must be `SERVICE=REPLICAS`. */
const scaleArgs: ArgsRule = {
  kind: 'custom',
  check: (node, args) => {
    if (args.length < 1) {
      throw new Error(
        `${BIN_NAME}: '${node.path}' requires at least 1 argument\n\nUsage:  ${node.useLine}\n\nSee '${node.path} --help' for more information`,
      );
    }
    for (const arg of args) {
      const eq = arg.indexOf('=');
      if (eq <= 0 || eq === arg.length - 1) {
        throw new Error(
          `invalid scale specifier '${arg}'.\nSee '${node.path} --help'.\n\nUsage:  ${node.useLine}\n\n${node.spec.short}`,
        );
      }
    }
  },
};

const scaleCommand = leaf({
  use: 'scale SERVICE=REPLICAS [SERVICE=REPLICAS...]',
  short: 'Scale one or multiple replicated services',
  args: scaleArgs,
  flags: (fs) => ({
    detach: fs.bool('detach', 'd', 'Exit immediately instead of waiting for the service to converge'),
  }),
  run: async ({ cli }, opts, args) => {
    const errors: string[] = [];
    const scaled: string[] = [];
    const client = cli.client();
    for (const arg of args) {
      const eq = arg.indexOf('=');
      const ref = arg.slice(0, eq);
      const value = arg.slice(eq + 1);
      let replicas: number;
      try {
        replicas = parseUint(value, 10, 64);
      } catch (e) {
        errors.push(`${ref}: invalid replicas value ${value}: ${(e as Error).message}`);
        continue;
      }
      try {
        const service = await client.serviceInspect(ref);
        const spec = normalizeGo<Record<string, Record<string, Record<string, unknown>>>>(
          service.Spec,
          SERVICE_SPEC,
        );
        if (spec.Mode?.Replicated) spec.Mode.Replicated.Replicas = replicas;
        else if (spec.Mode?.ReplicatedJob) spec.Mode.ReplicatedJob.TotalCompletions = replicas;
        else throw new Error('scale can only be used with replicated or replicated-job mode');
        await prepareServiceImage(client, spec, { queryRegistry: false });
        const response = await client.serviceUpdate(
          service.ID,
          service.Version.Index,
          goBody(spec, SERVICE_SPEC),
        );
        printWarnings(cli, response.Warnings);
        cli.out.write(`${ref} scaled to ${replicas}\n`);
        scaled.push(ref);
      } catch (e) {
        errors.push(`${ref}: ${(e as Error).message}`);
      }
    }
    if (!opts.detach.value) {
      for (const ref of scaled) {
        try {
          await waitOnService(cli, ref, false);
        } catch (e) {
          errors.push(`${ref}: ${(e as Error).message}`);
        }
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  },
});

// ---------------------------------------------------------------- rollback

const rollbackCommand = leaf({
  use: 'rollback [OPTIONS] SERVICE',
  short: "Revert changes to a service's configuration",
  args: exactArgs(1),
  flags: (fs) => ({
    quiet: fs.bool('quiet', 'q', 'Suppress progress output'),
    detach: fs.bool('detach', 'd', 'Exit immediately instead of waiting for the service to converge'),
  }),
  run: async ({ cli }, opts, args) => {
    const ref = args[0]!;
    const client = cli.client();
    const service = await client.serviceInspect(ref);
    // The daemon swaps in the previous spec; the body is the current one (tagged, as Docker's client does).
    const spec = normalizeGo<Record<string, unknown>>(service.Spec, SERVICE_SPEC);
    await prepareServiceImage(client, spec, { queryRegistry: false });
    const response = await client.serviceUpdate(
      service.ID,
      service.Version.Index,
      goBody(spec, SERVICE_SPEC),
      {
        rollback: 'previous',
      },
    );
    printWarnings(cli, response.Warnings);
    cli.out.write(`${ref}\n`);
    if (opts.detach.value) return;
    await waitOnService(cli, ref, opts.quiet.value);
  },
});

// ---------------------------------------------------------------- update

const updateCommand = leaf({
  use: 'update [OPTIONS] SERVICE',
  short: 'Update a service',
  args: exactArgs(1),
  flags: (fs, env) => updateFlags(fs, env),
  run: async ({ cli, flags }, opts, args) => {
    const ref = args[0]!;
    const client = cli.client();
    const service = await client.serviceInspect(ref);
    if (opts.rollback.value && otherFlagsThanRollback(flags))
      throw new Error('other flags may not be combined with --rollback');
    const spec = normalizeGo<Record<string, unknown>>(service.Spec, SERVICE_SPEC);
    await updateServiceSpec(cli, spec, opts);
    await updateReferences(cli, spec, opts);
    // The credentials of the image the service will run (the new one with --image).
    const image = (spec.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined)?.ContainerSpec
      ?.Image;
    const registryAuth = opts.registryAuth.value
      ? await retrieveAuthTokenFromImage(image ?? '', authContext(cli))
      : undefined;
    const warning = await prepareServiceImage(client, spec, {
      queryRegistry: opts.image.changed && !opts.noResolveImage.value && (await canQueryRegistry(cli)),
      registryAuth,
    });
    const response = await client.serviceUpdate(
      service.ID,
      service.Version.Index,
      goBody(spec, SERVICE_SPEC),
      {
        rollback: opts.rollback.value ? 'previous' : undefined,
        ...(registryAuth !== undefined ? { registryAuth } : { registryAuthFrom: 'spec' }),
      },
    );
    printWarnings(cli, [...(response.Warnings ?? []), ...(warning ? [warning] : [])]);
    cli.out.write(`${ref}\n`);
    if (opts.detach.value) return;
    await waitOnService(cli, ref, opts.quiet.value);
  },
});

// ---------------------------------------------------------------- logs

async function streamLogs(
  cli: Cli,
  res: IncomingMessage,
  format: ((payload: Buffer) => Promise<Buffer>) | undefined,
): Promise<void> {
  const decoder = new FrameDecoder();
  for await (const chunk of res) {
    for (const frame of decoder.push(chunk as Buffer)) {
      const out = format ? await format(frame.payload) : frame.payload;
      const text = out.toString('utf8');
      switch (frame.stream) {
        case 0:
        case 1:
          cli.out.write(text);
          break;
        case 2:
          cli.err.write(text);
          break;
        case 3:
          throw new Error(`error from daemon in stream: ${frame.payload.toString('utf8')}`);
        default:
          throw new Error(`Unrecognized input header: ${frame.stream}`);
      }
    }
  }
}

const logsCommand = leaf({
  use: 'logs [OPTIONS] SERVICE|TASK',
  short: 'Fetch the logs of a service or task',
  args: exactArgs(1),
  flags: (fs) => ({
    noResolve: fs.bool('no-resolve', undefined, 'Do not map IDs to Names in output'),
    noTrunc: fs.bool('no-trunc', undefined, 'Do not truncate output'),
    raw: fs.bool('raw', undefined, 'Do not neatly format logs'),
    noTaskIDs: fs.bool('no-task-ids', undefined, 'Do not include task IDs in output'),
    follow: fs.bool('follow', 'f', 'Follow log output'),
    since: fs.string(
      'since',
      undefined,
      'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)',
    ),
    timestamps: fs.bool('timestamps', 't', 'Show timestamps'),
    details: fs.bool('details', undefined, 'Show extra details provided to logs'),
    tail: fs.string('tail', 'n', 'Number of lines to show from the end of the logs', 'all'),
  }),
  run: async ({ cli }, opts, args) => {
    const target = args[0]!;
    const client = cli.client();
    let kind: 'services' | 'tasks' = 'services';
    let padding = 1;
    let tty = false;
    try {
      const service = await client.serviceInspect(target);
      tty = service.Spec.TaskTemplate?.ContainerSpec?.TTY === true;
      const replicas = service.Spec.Mode?.Replicated?.Replicas;
      if (replicas !== undefined && replicas !== null) padding = digits(replicas);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      let task: Task;
      try {
        task = await client.taskInspect(target);
      } catch (err) {
        if (isNotFound(err)) throw new Error(`no such task or service: ${target}`);
        throw err;
      }
      kind = 'tasks';
      tty = task.Spec?.ContainerSpec?.TTY === true;
      padding = digits(task.Slot ?? 0);
    }
    if (tty && !opts.raw.value) throw new Error('tty service logs only supported with --raw');
    let since: string | undefined;
    if (opts.since.value) {
      try {
        since = sinceTimestamp(opts.since.value, cli.now(), parseDuration);
      } catch (e) {
        throw new Error(`invalid value for "since": ${(e as Error).message}`);
      }
    }
    const res = await client.logs(kind, target, {
      since,
      timestamps: opts.timestamps.value,
      follow: opts.follow.value,
      tail: opts.tail.value,
      // The context prefix is built from the details, so they are needed unless --raw.
      details: opts.details.value || !opts.raw.value,
    });
    if (tty) {
      for await (const chunk of res) cli.out.write((chunk as Buffer).toString('utf8'));
      return;
    }
    let format: ((payload: Buffer) => Promise<Buffer>) | undefined;
    if (!opts.raw.value) {
      const resolver = new IDResolver(client, opts.noResolve.value);
      const formatter = new LogLineFormatter(
        {
          node: (id) => resolver.node(id),
          service: (id) => resolver.service(id),
          task: (id) => client.taskInspect(id),
        },
        {
          timestamps: opts.timestamps.value,
          details: opts.details.value,
          noTaskIDs: opts.noTaskIDs.value,
          noTrunc: opts.noTrunc.value,
        },
        padding,
      );
      format = (payload) => formatter.format(payload);
    }
    await streamLogs(cli, res, format);
  },
});

export const serviceCommand = group({
  use: 'service',
  short: 'Manage Swarm services',
  commands: [
    createCommand,
    inspectCommand,
    logsCommand,
    lsCommand,
    psCommand,
    rmCommand,
    rollbackCommand,
    scaleCommand,
    updateCommand,
  ],
});
