// `shoal node ls|inspect|update|promote|demote|rm|ps` (docker/cli cli/command/node).

import { assignOwn, hasOwnKey } from '../../api/own.js';
import type { Node, Task } from '../../api/types.js';
import type { Cli } from '../cli.js';
import { StatusError } from '../errors.js';
import { exactArgs, group, leaf, minArgs, noArgs } from '../command.js';
import { FilterArgs } from '../filter-args.js';
import type { FlagDefinition } from '../flags.js';
import { FormatError } from '../format/formatter.js';
import { naturalCompare } from '../format-helpers.js';
import { formatNodeList } from '../formatters/node-list.js';
import { nodePretty } from '../formatters/pretty.js';
import { formatTasks, IDResolver } from '../formatters/task-list.js';
import { kvToMap, listFlag } from '../opts/lists.js';
import { goBody, NODE, NODE_SPEC, normalizeGo } from '../wire.js';
import { FORMAT_HELP, INSPECT_FORMAT_HELP } from './help-texts.js';
import { inspectOutput } from './inspect.js';

/** opts.FilterOpt (`-f, --filter`). */
export function filterFlag(): FlagDefinition<FilterArgs> {
  return {
    shorthand: 'f',
    usage: 'Filter output based on conditions provided',
    type: 'filter',
    initial: new FilterArgs(),
    defValue: '',
    set: (raw, cur) => cur.clone().addFlag(raw),
  };
}

/** Template errors are printed as they are and exit 1 (they come from formatter.Context.Write). */
export function formatOrFail(render: () => string): string {
  try {
    return render();
  } catch (e) {
    if (e instanceof FormatError) throw new StatusError(e.message, 1);
    throw e;
  }
}

/**
 * node.Reference: `self` means the node the CLI talks to (its ID from `/info`); anything else is
 * passed through for the daemon to resolve.
 */
export async function nodeReference(cli: Cli, ref: string): Promise<string> {
  if (ref !== 'self') return ref;
  const client = cli.client();
  const info = await client.info();
  if (!info.Swarm?.NodeID) {
    // No node ID: ask a swarm endpoint for the precise error (not a manager, not in a swarm).
    await client.nodeList();
    throw new Error('node ID not found in /info');
  }
  return info.Swarm.NodeID;
}

const lsCommand = leaf({
  use: 'ls [OPTIONS]',
  aliases: ['list'],
  short: 'List nodes in the swarm',
  args: noArgs,
  flags: (fs) => ({
    quiet: fs.bool('quiet', 'q', 'Only display IDs'),
    format: fs.string('format', undefined, FORMAT_HELP),
    filter: fs.add('filter', filterFlag()),
  }),
  run: async ({ cli }, opts) => {
    const client = cli.client();
    const nodes = await client.nodeList(opts.filter.value);
    // The `*` marker needs to know which node answers; Docker only asks when it prints a table.
    const swarm = nodes.length > 0 && !opts.quiet.value ? (await client.info()).Swarm : undefined;
    nodes.sort((a, b) => naturalCompare(a.Description?.Hostname ?? '', b.Description?.Hostname ?? ''));
    cli.out.write(formatOrFail(() => formatNodeList(nodes, swarm, opts.format.value, opts.quiet.value)));
  },
});

const inspectCommand = leaf({
  use: 'inspect [OPTIONS] self|NODE [NODE...]',
  short: 'Display detailed information on one or more nodes',
  args: minArgs(1),
  flags: (fs) => ({
    format: fs.string('format', 'f', INSPECT_FORMAT_HELP),
    pretty: fs.bool('pretty', undefined, 'Print the information in a human friendly format'),
  }),
  run: async ({ cli }, opts, args) => {
    // Unlike `service inspect`, --pretty simply wins over --format here (as in Docker).
    const format = opts.pretty.value ? 'pretty' : opts.format.value;
    const getNode = async (ref: string): Promise<Node> =>
      cli.client().nodeInspect(await nodeReference(cli, ref));
    if (format === 'pretty') {
      // The pretty page stops at the first node that cannot be read.
      for (const ref of args) {
        let node: Node;
        try {
          node = await getNode(ref);
        } catch (e) {
          throw new StatusError((e as Error).message, 1);
        }
        cli.out.write(nodePretty(node));
      }
      return;
    }
    await inspectOutput(cli, args, format, getNode, NODE);
  },
});

/** mergeNodeUpdate and friends: change a node's spec, then write it back with its version. */
async function updateNodes(
  cli: Cli,
  refs: string[],
  merge: (node: Node) => 'skip' | void,
  success: (ref: string) => void,
): Promise<void> {
  const client = cli.client();
  for (const ref of refs) {
    const node = await client.nodeInspect(ref);
    node.Spec = normalizeGo(node.Spec, NODE_SPEC);
    if (merge(node) === 'skip') continue;
    await client.nodeUpdate(node.ID, node.Version.Index, goBody(node.Spec, NODE_SPEC));
    success(ref);
  }
}

const updateCommand = leaf({
  use: 'update [OPTIONS] NODE',
  short: 'Update a node',
  args: exactArgs(1),
  flags: (fs) => ({
    role: fs.string('role', undefined, 'Role of the node ("worker", "manager")'),
    availability: fs.string(
      'availability',
      undefined,
      'Availability of the node ("active", "pause", "drain")',
    ),
    labelAdd: fs.add('label-add', listFlag(undefined, 'Add or update a node label ("key=value")')),
    labelRm: fs.add('label-rm', listFlag(undefined, 'Remove a node label if exists')),
  }),
  run: async ({ cli }, opts, args) => {
    const ref = args[0]!;
    await updateNodes(
      cli,
      [ref],
      (node) => {
        const spec = node.Spec;
        if (opts.role.changed) spec.Role = opts.role.value as typeof spec.Role;
        if (opts.availability.changed)
          spec.Availability = opts.availability.value as typeof spec.Availability;
        spec.Labels ??= {};
        // Label names are the user's: `__proto__` or `toString` is a label like any other.
        if (opts.labelAdd.changed) assignOwn(spec.Labels, kvToMap(opts.labelAdd.value));
        if (opts.labelRm.changed) {
          for (const key of opts.labelRm.value) {
            if (!hasOwnKey(spec.Labels, key)) throw new Error(`key ${key} doesn't exist in node's labels`);
            delete spec.Labels[key];
          }
        }
      },
      () => cli.out.write(ref + '\n'),
    );
  },
});

/** `node promote` / `node demote`: sets the role, skipping nodes that already have it, as Docker does. */
async function changeRole(
  cli: Cli,
  refs: string[],
  role: 'manager' | 'worker',
  changed: (ref: string) => string,
): Promise<void> {
  await updateNodes(
    cli,
    refs,
    (node) => {
      if (node.Spec.Role === role) {
        cli.out.write(`Node ${node.ID} is already a ${role}.\n`);
        return 'skip';
      }
      node.Spec.Role = role;
    },
    (ref) => cli.out.write(changed(ref)),
  );
}

const promoteCommand = leaf({
  use: 'promote NODE [NODE...]',
  short: 'Promote one or more nodes to manager in the swarm',
  args: minArgs(1),
  flags: () => ({}),
  run: async ({ cli }, _opts, args) =>
    changeRole(cli, args, 'manager', (ref) => `Node ${ref} promoted to a manager in the swarm.\n`),
});

const demoteCommand = leaf({
  use: 'demote NODE [NODE...]',
  short: 'Demote one or more nodes from manager in the swarm',
  args: minArgs(1),
  flags: () => ({}),
  run: async ({ cli }, _opts, args) =>
    changeRole(cli, args, 'worker', (ref) => `Manager ${ref} demoted in the swarm.\n`),
});

const rmCommand = leaf({
  use: 'rm [OPTIONS] NODE [NODE...]',
  aliases: ['remove'],
  short: 'Remove one or more nodes from the swarm',
  args: minArgs(1),
  flags: (fs) => ({ force: fs.bool('force', 'f', 'Force remove a node from the swarm') }),
  run: async ({ cli }, opts, args) => {
    const errors: string[] = [];
    for (const ref of args) {
      try {
        await cli.client().nodeRemove(ref, opts.force.value);
        cli.out.write(ref + '\n');
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  },
});

/** The flags `node ps` and `service ps` share. */
export function taskListFlags(fs: import('../flags.js').FlagSet) {
  return {
    noTrunc: fs.bool('no-trunc', undefined, 'Do not truncate output'),
    noResolve: fs.bool('no-resolve', undefined, 'Do not map IDs to Names'),
    filter: fs.add('filter', filterFlag()),
    format: fs.string('format', undefined, 'Pretty-print tasks using a Go template'),
    quiet: fs.bool('quiet', 'q', 'Only display task IDs'),
  };
}

const psCommand = leaf({
  use: 'ps [OPTIONS] [NODE...]',
  short: 'List tasks running on one or more nodes, defaults to current node',
  args: minArgs(0),
  flags: (fs) => taskListFlags(fs),
  run: async ({ cli }, opts, args) => {
    const client = cli.client();
    const refs = args.length > 0 ? args : ['self'];
    const errors: string[] = [];
    const tasks: Task[] = [];
    const seen = new Set<string>();
    for (const ref of refs) {
      try {
        const node = await client.nodeInspect(await nodeReference(cli, ref));
        const filter = opts.filter.value.clone().add('node', node.ID);
        for (const task of await client.taskList(filter)) {
          if (seen.has(task.ID)) continue;
          seen.add(task.ID);
          tasks.push(task);
        }
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length === 0 || tasks.length > 0) {
      const quiet = opts.quiet.value;
      try {
        cli.out.write(
          await formatTasks(tasks, new IDResolver(client, opts.noResolve.value), {
            // Unlike `service ps`, `node ps -q` keeps truncating IDs unless --no-trunc (as Docker does).
            trunc: !opts.noTrunc.value,
            quiet,
            format: opts.format.value,
            nowMs: cli.now(),
          }),
        );
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(errors.join('\n'));
  },
});

export const nodeCommand = group({
  use: 'node',
  short: 'Manage Swarm nodes',
  commands: [demoteCommand, inspectCommand, lsCommand, promoteCommand, psCommand, rmCommand, updateCommand],
});
