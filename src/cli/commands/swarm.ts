// `shoal swarm init|join|join-token|leave|update|ca|unlock-key|unlock` (docker/cli cli/command/swarm).

import { Hour, Second } from '../../api/duration.js';
import type { Cli } from '../cli.js';
import type { SwarmInspect } from '../client.js';
import { BIN_NAME, exactArgs, group, helpText, helpWidth, leaf, noArgs } from '../command.js';
import type { FlagSet } from '../flags.js';
import { cut } from '../opts/lists.js';
import {
  externalCAFlag,
  ipNetSliceFlag,
  nodeAddrFlag,
  pemFileFlag,
  type ExternalCA,
} from '../opts/values.js';
import { goBody, INIT_REQUEST, JOIN_REQUEST, normalizeGo, SWARM_SPEC } from '../wire.js';
import { rootRotationProgress } from '../progress/root-rotation.js';

/** The swarm labels that hold shoal's task limits (the manager reads the same names). */
const MAX_TASKS_LABEL = 'shoal.max-tasks';
const MAX_TASKS_PER_SERVICE_LABEL = 'shoal.max-tasks-per-service';

/** The parts of swarm.Spec the flags change (all optional, as the daemon returns them). */
interface SwarmSpecJson {
  Name?: string;
  Labels?: Record<string, string> | null;
  Orchestration?: { TaskHistoryRetentionLimit?: number | null };
  Raft?: {
    SnapshotInterval?: number;
    KeepOldSnapshots?: number | null;
    ElectionTick?: number;
    HeartbeatTick?: number;
  };
  Dispatcher?: { HeartbeatPeriod?: number };
  CAConfig?: {
    NodeCertExpiry?: number;
    ExternalCAs?: ExternalCA[] | null;
    SigningCACert?: string;
    SigningCAKey?: string;
    ForceRotate?: number;
  };
  EncryptionConfig?: { AutoLockManagers?: boolean };
}

/** The CA flags of `init`, `update` and `ca` (addSwarmCAFlags). */
function caFlags(fs: FlagSet) {
  return {
    certExpiry: fs.duration(
      'cert-expiry',
      undefined,
      'Validity period for node certificates (ns|us|ms|s|m|h)',
      90 * 24 * Hour,
    ),
    externalCA: fs.add(
      'external-ca',
      externalCAFlag('Specifications of one or more certificate signing endpoints'),
    ),
  };
}

/** The settings flags of `init` and `update` (addSwarmFlags). */
function swarmFlags(fs: FlagSet, autolockUsage: string) {
  return {
    taskHistoryLimit: fs.int('task-history-limit', undefined, 'Task history retention limit', 5),
    dispatcherHeartbeat: fs.duration(
      'dispatcher-heartbeat',
      undefined,
      'Dispatcher heartbeat period (ns|us|ms|s|m|h)',
      5 * Second,
    ),
    maxSnapshots: fs.uint('max-snapshots', undefined, 'Number of additional Raft snapshots to retain'),
    snapshotInterval: fs.uint(
      'snapshot-interval',
      undefined,
      'Number of log entries between Raft snapshots',
      10000,
    ),
    autolock: fs.bool('autolock', undefined, autolockUsage),
    maxTasks: fs.uint('max-tasks', undefined, 'Most tasks all services may ask for together (shoal only)'),
    maxTasksPerService: fs.uint(
      'max-tasks-per-service',
      undefined,
      'Most tasks one service may ask for (shoal only)',
    ),
    ...caFlags(fs),
  };
}

type SwarmFlags = ReturnType<typeof swarmFlags>;

/** mergeSwarmSpec: the changed flags applied to a swarm spec. */
function mergeSwarmSpec(spec: SwarmSpecJson, flags: SwarmFlags, caCert: string): void {
  if (flags.taskHistoryLimit.changed)
    (spec.Orchestration ??= {}).TaskHistoryRetentionLimit = flags.taskHistoryLimit.value;
  if (flags.dispatcherHeartbeat.changed)
    (spec.Dispatcher ??= {}).HeartbeatPeriod = flags.dispatcherHeartbeat.value;
  if (flags.maxSnapshots.changed) (spec.Raft ??= {}).KeepOldSnapshots = flags.maxSnapshots.value;
  if (flags.snapshotInterval.changed) (spec.Raft ??= {}).SnapshotInterval = flags.snapshotInterval.value;
  if (flags.autolock.changed) (spec.EncryptionConfig ??= {}).AutoLockManagers = flags.autolock.value;
  // shoal's task limits are swarm labels, which the docker CLI's read-modify-write of the spec keeps.
  if (flags.maxTasks.changed) {
    spec.Labels = { ...spec.Labels, [MAX_TASKS_LABEL]: String(flags.maxTasks.value) };
  }
  if (flags.maxTasksPerService.changed) {
    spec.Labels = { ...spec.Labels, [MAX_TASKS_PER_SERVICE_LABEL]: String(flags.maxTasksPerService.value) };
  }
  mergeCAFlags(spec, flags, caCert);
}

function mergeCAFlags(spec: SwarmSpecJson, flags: ReturnType<typeof caFlags>, caCert: string): void {
  if (flags.certExpiry.changed) (spec.CAConfig ??= {}).NodeCertExpiry = flags.certExpiry.value;
  if (flags.externalCA.changed) {
    (spec.CAConfig ??= {}).ExternalCAs = flags.externalCA.value.map((ca) => ({ ...ca, CACert: caCert }));
  }
}

/** printJoinCommand: the `swarm join` command lines for the requested roles. */
async function printJoinCommand(cli: Cli, nodeID: string, worker: boolean, manager: boolean): Promise<void> {
  const client = cli.client();
  const node = await client.nodeInspect(nodeID);
  const sw = await client.swarmInspect();
  if (!node.ManagerStatus) return;
  const addr = node.ManagerStatus.Addr;
  if (worker) {
    cli.out.write(
      `To add a worker to this swarm, run the following command:\n\n    ${BIN_NAME} swarm join --token ${sw.JoinTokens.Worker} ${addr}\n\n`,
    );
  }
  if (manager) {
    cli.out.write(
      `To add a manager to this swarm, run the following command:\n\n    ${BIN_NAME} swarm join --token ${sw.JoinTokens.Manager} ${addr}\n\n`,
    );
  }
}

function printUnlockCommand(cli: Cli, key: string): void {
  if (!key) return;
  cli.out.write(
    `To unlock a swarm manager after it restarts, run the \`${BIN_NAME} swarm unlock\`\n` +
      `command and provide the following key:\n\n    ${key}\n\n` +
      'Remember to store this key in a password manager, since without it you\n' +
      'will not be able to restart the manager.\n',
  );
}

/** errors.Wrap(err, "could not fetch unlock key"). */
async function fetchUnlockKey(cli: Cli): Promise<string> {
  try {
    return await cli.client().swarmUnlockKey();
  } catch (e) {
    throw new Error(`could not fetch unlock key: ${(e as Error).message}`);
  }
}

const AVAILABILITIES = ['active', 'pause', 'drain'];

// ---------------------------------------------------------------- init

const initCommand = leaf({
  use: 'init [OPTIONS]',
  short: 'Initialize a swarm',
  args: noArgs,
  flags: (fs) => ({
    listenAddr: fs.add('listen-addr', nodeAddrFlag('Listen address (format: "<ip|interface>[:port]")')),
    advertiseAddr: fs.string(
      'advertise-addr',
      undefined,
      'Advertised address (format: "<ip|interface>[:port]")',
    ),
    dataPathAddr: fs.string(
      'data-path-addr',
      undefined,
      'Address or interface to use for data path traffic (format: "<ip|interface>")',
    ),
    dataPathPort: fs.uint32(
      'data-path-port',
      undefined,
      'Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.',
    ),
    forceNewCluster: fs.bool('force-new-cluster', undefined, 'Force create a new cluster from current state'),
    availability: fs.string(
      'availability',
      undefined,
      'Availability of the node ("active", "pause", "drain")',
      'active',
    ),
    defaultAddrPool: fs.add('default-addr-pool', ipNetSliceFlag('default address pool in CIDR format')),
    maskLength: fs.uint32(
      'default-addr-pool-mask-length',
      undefined,
      'default address pool subnet mask length',
      24,
    ),
    datastore: fs.string(
      'datastore',
      undefined,
      'Cluster datastore ("embedded", "etcd", "auto"; shoal only)',
      'embedded',
    ),
    swarm: swarmFlags(fs, 'Enable manager autolocking (requiring an unlock key to start a stopped manager)'),
  }),
  run: async ({ cli }, opts) => {
    const spec: SwarmSpecJson = {};
    mergeSwarmSpec(spec, opts.swarm, '');
    const request: Record<string, unknown> = {
      ListenAddr: opts.listenAddr.value,
      AdvertiseAddr: opts.advertiseAddr.value,
      DataPathAddr: opts.dataPathAddr.value,
      DataPathPort: opts.dataPathPort.value,
      ForceNewCluster: opts.forceNewCluster.value,
      Spec: spec,
      AutoLockManagers: opts.swarm.autolock.value,
      Availability: '',
      DefaultAddrPool: opts.defaultAddrPool.value,
      SubnetSize: opts.maskLength.value,
    };
    if (opts.availability.changed) {
      const availability = opts.availability.value.toLowerCase();
      if (!AVAILABILITIES.includes(availability)) {
        throw new Error(
          `invalid availability "${opts.availability.value}", only active, pause and drain are supported`,
        );
      }
      request.Availability = availability;
    }
    if (opts.datastore.changed) {
      if (!['embedded', 'etcd', 'auto'].includes(opts.datastore.value)) {
        throw new Error(
          `invalid datastore "${opts.datastore.value}", only embedded, etcd and auto are supported`,
        );
      }
      request.Datastore = opts.datastore.value;
    }
    let nodeID: string;
    try {
      nodeID = await cli.client().swarmInit(goBody(request, INIT_REQUEST));
    } catch (e) {
      const msg = (e as Error).message;
      if (
        msg.includes('could not choose an IP address to advertise') ||
        msg.includes("could not find the system's IP address")
      ) {
        throw new Error(`${msg} - specify one with --advertise-addr`);
      }
      throw e;
    }
    cli.out.write(`Swarm initialized: current node (${nodeID}) is now a manager.\n\n`);
    await printJoinCommand(cli, nodeID, true, false);
    cli.out.write(
      `To add a manager to this swarm, run '${BIN_NAME} swarm join-token manager' and follow the instructions.\n`,
    );
    if (request.AutoLockManagers) printUnlockCommand(cli, await fetchUnlockKey(cli));
  },
});

// ---------------------------------------------------------------- join

const joinCommand = leaf({
  use: 'join [OPTIONS] HOST:PORT',
  short: 'Join a swarm as a node and/or manager',
  args: exactArgs(1),
  flags: (fs) => ({
    listenAddr: fs.add('listen-addr', nodeAddrFlag('Listen address (format: "<ip|interface>[:port]")')),
    token: fs.string('token', undefined, 'Token for entry into the swarm'),
    advertiseAddr: fs.string(
      'advertise-addr',
      undefined,
      'Advertised address (format: "<ip|interface>[:port]")',
    ),
    dataPathAddr: fs.string(
      'data-path-addr',
      undefined,
      'Address or interface to use for data path traffic (format: "<ip|interface>")',
    ),
    availability: fs.string(
      'availability',
      undefined,
      'Availability of the node ("active", "pause", "drain")',
      'active',
    ),
  }),
  run: async ({ cli }, opts, args) => {
    const request = {
      JoinToken: opts.token.value,
      ListenAddr: opts.listenAddr.value,
      AdvertiseAddr: opts.advertiseAddr.value,
      DataPathAddr: opts.dataPathAddr.value,
      RemoteAddrs: [args[0]!],
      Availability: '',
    };
    if (opts.availability.changed) {
      const availability = opts.availability.value.toLowerCase();
      if (!AVAILABILITIES.includes(availability)) {
        throw new Error(
          `invalid availability "${opts.availability.value}", only active, pause and drain are supported`,
        );
      }
      request.Availability = availability;
    }
    const client = cli.client();
    await client.swarmJoin(goBody(request, JOIN_REQUEST));
    const info = await client.info();
    cli.out.write(`This node joined a swarm as a ${info.Swarm.ControlAvailable ? 'manager' : 'worker'}.\n`);
  },
});

// ---------------------------------------------------------------- join-token

const joinTokenCommand = leaf({
  use: 'join-token [OPTIONS] (worker|manager)',
  short: 'Manage join tokens',
  args: exactArgs(1),
  flags: (fs) => ({
    rotate: fs.bool('rotate', undefined, 'Rotate join token'),
    quiet: fs.bool('quiet', 'q', 'Only display token'),
  }),
  run: async ({ cli }, opts, args) => {
    const role = args[0]!;
    const worker = role === 'worker';
    const manager = role === 'manager';
    if (!worker && !manager) throw new Error(`unknown role ${role}`);
    const client = cli.client();
    if (opts.rotate.value) {
      const sw = await client.swarmInspect();
      await client.swarmUpdate(sw.Version.Index, goBody(sw.Spec, SWARM_SPEC), {
        rotateWorkerToken: worker,
        rotateManagerToken: manager,
      });
      if (!opts.quiet.value) cli.out.write(`Successfully rotated ${role} join token.\n\n`);
    }
    const sw = await client.swarmInspect();
    if (opts.quiet.value) {
      cli.out.write((worker ? sw.JoinTokens.Worker : sw.JoinTokens.Manager) + '\n');
      return;
    }
    const info = await client.info();
    await printJoinCommand(cli, info.Swarm.NodeID, worker, manager);
  },
});

// ---------------------------------------------------------------- leave

const leaveCommand = leaf({
  use: 'leave [OPTIONS]',
  short: 'Leave the swarm',
  args: noArgs,
  flags: (fs) => ({ force: fs.bool('force', 'f', 'Force this node to leave the swarm, ignoring warnings') }),
  run: async ({ cli }, opts) => {
    await cli.client().swarmLeave(opts.force.value);
    cli.out.write('Node left the swarm.\n');
  },
});

// ---------------------------------------------------------------- update

const updateCommand = leaf({
  use: 'update [OPTIONS]',
  short: 'Update the swarm',
  args: noArgs,
  flags: (fs) => swarmFlags(fs, 'Change manager autolocking setting (true|false)'),
  run: async ({ cli, flags, node }, opts) => {
    // Docker prints the help page when no flag is given (pflag.ErrHelp).
    if (!flags.all().some((f) => f.changed && f.name !== 'help')) {
      cli.out.write(helpText(node, helpWidth(cli)));
      return;
    }
    const client = cli.client();
    const sw = await client.swarmInspect();
    const spec = normalizeGo<SwarmSpecJson>(sw.Spec, SWARM_SPEC);
    const prevAutoLock = spec.EncryptionConfig?.AutoLockManagers === true;
    mergeSwarmSpec(spec, opts, sw.TLSInfo?.TrustRoot ?? '');
    const curAutoLock = spec.EncryptionConfig?.AutoLockManagers === true;
    await client.swarmUpdate(sw.Version.Index, goBody(spec, SWARM_SPEC));
    cli.out.write('Swarm updated.\n');
    if (curAutoLock && !prevAutoLock) printUnlockCommand(cli, await fetchUnlockKey(cli));
  },
});

// ---------------------------------------------------------------- ca

function displayTrustRoot(cli: Cli, sw: SwarmInspect): void {
  const root = sw.TLSInfo?.TrustRoot ?? '';
  if (root === '') throw new Error('No CA information available');
  cli.out.write(root.trim() + '\n');
}

const caCommand = leaf({
  use: 'ca [OPTIONS]',
  short: 'Display and rotate the root CA',
  args: noArgs,
  flags: (fs) => ({
    ...caFlags(fs),
    rotate: fs.bool(
      'rotate',
      undefined,
      'Rotate the swarm CA - if no certificate or key are provided, new ones will be generated',
    ),
    caCert: fs.add(
      'ca-cert',
      pemFileFlag('Path to the PEM-formatted root CA certificate to use for the new cluster'),
    ),
    caKey: fs.add('ca-key', pemFileFlag('Path to the PEM-formatted root CA key to use for the new cluster')),
    detach: fs.bool('detach', 'd', 'Exit immediately instead of waiting for the root rotation to converge'),
    quiet: fs.bool('quiet', 'q', 'Suppress progress output'),
  }),
  run: async ({ cli }, opts) => {
    const client = cli.client();
    const sw = await client.swarmInspect();
    if (!opts.rotate.value) {
      for (const flag of [opts.caCert, opts.caKey, opts.certExpiry, opts.externalCA]) {
        if (flag.changed)
          throw new Error(`\`--${flag.name}\` flag requires the \`--rotate\` flag to update the CA`);
      }
      displayTrustRoot(cli, sw);
      return;
    }
    if (opts.externalCA.changed && opts.externalCA.value.length > 0 && !opts.caCert.changed) {
      throw new Error(
        "rotating to an external CA requires the `--ca-cert` flag to specify the external CA's cert - " +
          'to add an external CA with the current root CA certificate, use the `update` command instead',
      );
    }
    if (opts.caCert.changed && opts.externalCA.value.length === 0 && !opts.caKey.changed) {
      throw new Error(
        'the --ca-cert flag requires that a --ca-key flag and/or --external-ca flag be provided as well',
      );
    }
    const spec = normalizeGo<SwarmSpecJson>(sw.Spec, SWARM_SPEC);
    const caCert = opts.caCert.value?.contents ?? '';
    const caKey = opts.caKey.value?.contents ?? '';
    mergeCAFlags(spec, opts, caCert);
    spec.CAConfig ??= {};
    spec.CAConfig.SigningCACert = caCert;
    spec.CAConfig.SigningCAKey = caKey;
    if (caKey === '' && caCert === '') spec.CAConfig.ForceRotate = (spec.CAConfig.ForceRotate ?? 0) + 1;
    await client.swarmUpdate(sw.Version.Index, goBody(spec, SWARM_SPEC));
    if (opts.detach.value) return;
    await rootRotationProgress(cli, opts.quiet.value);
    if (opts.quiet.value) return;
    displayTrustRoot(cli, await client.swarmInspect());
  },
});

// ---------------------------------------------------------------- unlock-key, unlock

const unlockKeyCommand = leaf({
  use: 'unlock-key [OPTIONS]',
  short: 'Manage the unlock key',
  args: noArgs,
  flags: (fs) => ({
    rotate: fs.bool('rotate', undefined, 'Rotate unlock key'),
    quiet: fs.bool('quiet', 'q', 'Only display token'),
  }),
  run: async ({ cli }, opts) => {
    const client = cli.client();
    if (opts.rotate.value) {
      const sw = await client.swarmInspect();
      if (!sw.Spec.EncryptionConfig?.AutoLockManagers)
        throw new Error('cannot rotate because autolock is not turned on');
      await client.swarmUpdate(sw.Version.Index, goBody(sw.Spec, SWARM_SPEC), {
        rotateManagerUnlockKey: true,
      });
      if (!opts.quiet.value) cli.out.write('Successfully rotated manager unlock key.\n');
    }
    const key = await fetchUnlockKey(cli);
    if (key === '') throw new Error('no unlock key is set');
    if (opts.quiet.value) {
      cli.out.write(key + '\n');
      return;
    }
    printUnlockCommand(cli, key);
  },
});

/** Reads the unlock key: a hidden prompt on a terminal, else the first line of stdin. */
async function readKey(cli: Cli, prompt: string): Promise<string> {
  const input = cli.streams.in;
  if (cli.streams.inIsTerminal && 'setRawMode' in input) {
    cli.out.write(prompt);
    const raw = input as NodeJS.ReadStream;
    raw.setRawMode(true);
    raw.resume();
    const key = await new Promise<string>((resolve, reject) => {
      let typed = '';
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') {
            raw.off('data', onData);
            resolve(typed);
            return;
          }
          if (ch === '\u0003') {
            raw.off('data', onData);
            reject(new Error(''));
            return;
          }
          if (ch === '\u007f') typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      raw.on('data', onData);
    }).finally(() => {
      raw.setRawMode(false);
      raw.pause();
    });
    cli.out.write('\n');
    return key;
  }
  let text = '';
  for await (const chunk of input) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n')) break;
  }
  return cut(text, '\n')[0].trim();
}

const unlockCommand = leaf({
  use: 'unlock',
  short: 'Unlock swarm',
  args: noArgs,
  flags: () => ({}),
  run: async ({ cli }) => {
    const client = cli.client();
    const info = await client.info();
    switch (info.Swarm.LocalNodeState) {
      case 'inactive':
        throw new Error('Error: This node is not part of a swarm');
      case 'locked':
        break;
      default:
        throw new Error('Error: swarm is not locked');
    }
    const key = await readKey(cli, 'Please enter unlock key: ');
    await client.swarmUnlock(key);
  },
});

export const swarmCommand = group({
  use: 'swarm',
  short: 'Manage Swarm',
  commands: [
    caCommand,
    initCommand,
    joinCommand,
    joinTokenCommand,
    leaveCommand,
    unlockCommand,
    unlockKeyCommand,
    updateCommand,
  ],
});
