// The flags of `service create` and `service update` and what they do to a ServiceSpec
// (docker/cli cli/command/service/opts.go and update.go): create builds the whole spec from the flags,
// update reads the current spec and changes only what the flags name. The specs are built exactly as
// the docker CLI builds them, so that the request bodies are the same.

import { Second } from '../api/duration.js';
import type { Cli } from './cli.js';
import { FilterArgs } from './filter-args.js';
import type { Flag, FlagSet } from './flags.js';
import { parseInt64 } from '../api/strconv.js';
import {
  kvToMap,
  listFlag,
  readKVEnvStrings,
  validateDNSSearch,
  validateEnv,
  validateExtraHost,
  validateIPAddress,
  validateLabel,
  type Validator,
} from './opts/lists.js';
import {
  commandFlag,
  credentialSpecFlag,
  durationFlag,
  fileReferenceFlag,
  float32Flag,
  memBytesFlag,
  mountFlag,
  nanoCPUsFlag,
  networkFlag,
  optionalDurationFlag,
  optionalUintFlag,
  parseGenericResource,
  placementPrefFlag,
  portFlag,
  ulimitFlag,
  type FileReference,
  type MountSpec,
  type NetworkAttachment,
  type PortConfig,
} from './opts/values.js';

// The spec as JSON: the CLI edits whatever the daemon returned, field by field, like the Go structs.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** swarmkit's defaults (api/defaults): what `--update-*` flags start from and what help shows. */
const DEFAULT_UPDATE_CONFIG = {
  Parallelism: 1,
  Delay: 0,
  FailureAction: 'pause',
  Monitor: 5 * Second,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};
const DEFAULT_ROLLBACK_CONFIG = DEFAULT_UPDATE_CONFIG;
const DEFAULT_RESTART_DELAY = 5 * Second;

function list(
  fs: FlagSet,
  name: string,
  shorthand: string | undefined,
  usage: string,
  validate?: Validator,
): Flag<string[]> {
  return fs.add(name, listFlag(shorthand, usage, validate));
}

/** The flags `service create` and `service update` share (addServiceFlags). */
function commonFlags(fs: FlagSet, create: boolean, env: Readonly<Record<string, string | undefined>>) {
  // Create's help shows swarmkit's defaults in the usage texts; update's does not.
  const desc = (usage: string, def: string): string => (create ? `${usage} (default ${def})` : usage);
  const detach = fs.bool('detach', 'd', 'Exit immediately instead of waiting for the service to converge');
  return {
    detach,
    quiet: fs.bool('quiet', 'q', 'Suppress progress output'),
    workdir: fs.string('workdir', 'w', 'Working directory inside the container'),
    user: fs.string('user', 'u', 'Username or UID (format: <name|uid>[:<group|gid>])'),
    credentialSpec: fs.add(
      'credential-spec',
      credentialSpecFlag('Credential spec for managed service account (Windows only)'),
    ),
    hostname: fs.string('hostname', undefined, 'Container hostname'),
    entrypoint: fs.add('entrypoint', commandFlag('Overwrite the default ENTRYPOINT of the image')),
    capAdd: list(fs, 'cap-add', undefined, 'Add Linux capabilities'),
    capDrop: list(fs, 'cap-drop', undefined, 'Drop Linux capabilities'),
    limitCPU: fs.add('limit-cpu', nanoCPUsFlag('Limit CPUs')),
    limitMemory: fs.add('limit-memory', memBytesFlag('Limit Memory')),
    reserveCPU: fs.add('reserve-cpu', nanoCPUsFlag('Reserve CPUs')),
    reserveMemory: fs.add('reserve-memory', memBytesFlag('Reserve Memory')),
    limitPids: fs.int('limit-pids', undefined, 'Limit maximum number of processes (default 0 = unlimited)'),
    stopGracePeriod: fs.add(
      'stop-grace-period',
      optionalDurationFlag(desc('Time to wait before force killing a container (ns|us|ms|s|m|h)', '10s')),
    ),
    replicas: fs.add('replicas', optionalUintFlag('Number of tasks')),
    maxConcurrent: fs.add(
      'max-concurrent',
      optionalUintFlag('Number of job tasks to run concurrently (default equal to --replicas)'),
    ),
    maxReplicas: fs.uint(
      'replicas-max-per-node',
      undefined,
      'Maximum number of tasks per node (default 0 = unlimited)',
    ),
    restartCondition: fs.string(
      'restart-condition',
      undefined,
      desc('Restart when condition is met ("none", "on-failure", "any")', '"any"'),
    ),
    restartDelay: fs.add(
      'restart-delay',
      optionalDurationFlag(desc('Delay between restart attempts (ns|us|ms|s|m|h)', '5s')),
    ),
    restartMaxAttempts: fs.add(
      'restart-max-attempts',
      optionalUintFlag('Maximum number of restarts before giving up'),
    ),
    restartWindow: fs.add(
      'restart-window',
      optionalDurationFlag('Window used to evaluate the restart policy (ns|us|ms|s|m|h)'),
    ),
    updateParallelism: fs.uint(
      'update-parallelism',
      undefined,
      'Maximum number of tasks updated simultaneously (0 to update all at once)',
      create ? 1 : 0,
    ),
    updateDelay: fs.add('update-delay', durationFlag(desc('Delay between updates (ns|us|ms|s|m|h)', '0s'))),
    updateMonitor: fs.add(
      'update-monitor',
      durationFlag(desc('Duration after each task update to monitor for failure (ns|us|ms|s|m|h)', '5s')),
    ),
    updateFailureAction: fs.string(
      'update-failure-action',
      undefined,
      desc('Action on update failure ("pause", "continue", "rollback")', '"pause"'),
    ),
    updateMaxFailureRatio: fs.add(
      'update-max-failure-ratio',
      float32Flag(desc('Failure rate to tolerate during an update', '0')),
    ),
    updateOrder: fs.string(
      'update-order',
      undefined,
      desc('Update order ("start-first", "stop-first")', '"stop-first"'),
    ),
    rollbackParallelism: fs.uint(
      'rollback-parallelism',
      undefined,
      'Maximum number of tasks rolled back simultaneously (0 to roll back all at once)',
      create ? 1 : 0,
    ),
    rollbackDelay: fs.add(
      'rollback-delay',
      durationFlag(desc('Delay between task rollbacks (ns|us|ms|s|m|h)', '0s')),
    ),
    rollbackMonitor: fs.add(
      'rollback-monitor',
      durationFlag(desc('Duration after each task rollback to monitor for failure (ns|us|ms|s|m|h)', '5s')),
    ),
    rollbackFailureAction: fs.string(
      'rollback-failure-action',
      undefined,
      desc('Action on rollback failure ("pause", "continue")', '"pause"'),
    ),
    rollbackMaxFailureRatio: fs.add(
      'rollback-max-failure-ratio',
      float32Flag(desc('Failure rate to tolerate during a rollback', '0')),
    ),
    rollbackOrder: fs.string(
      'rollback-order',
      undefined,
      desc('Rollback order ("start-first", "stop-first")', '"stop-first"'),
    ),
    endpointMode: fs.string('endpoint-mode', undefined, 'Endpoint mode (vip or dnsrr)', create ? 'vip' : ''),
    registryAuth: fs.bool(
      'with-registry-auth',
      undefined,
      'Send registry authentication details to swarm agents',
    ),
    noResolveImage: fs.bool(
      'no-resolve-image',
      undefined,
      'Do not query the registry to resolve image digest and supported platforms',
    ),
    logDriver: fs.string('log-driver', undefined, 'Logging driver for service'),
    logOpt: list(fs, 'log-opt', undefined, 'Logging driver options', validateEnv(env)),
    healthCmd: fs.string('health-cmd', undefined, 'Command to run to check health'),
    healthInterval: fs.add(
      'health-interval',
      optionalDurationFlag('Time between running the check (ms|s|m|h)', true),
    ),
    healthTimeout: fs.add(
      'health-timeout',
      optionalDurationFlag('Maximum time to allow one check to run (ms|s|m|h)', true),
    ),
    healthRetries: fs.int('health-retries', undefined, 'Consecutive failures needed to report unhealthy'),
    healthStartPeriod: fs.add(
      'health-start-period',
      optionalDurationFlag(
        'Start period for the container to initialize before counting retries towards unstable (ms|s|m|h)',
        true,
      ),
    ),
    healthStartInterval: fs.add('health-start-interval', {
      ...optionalDurationFlag('Time between running the check during the start period (ms|s|m|h)', true),
      minApiVersion: '1.44',
    }),
    noHealthcheck: fs.bool('no-healthcheck', undefined, 'Disable any container-specified HEALTHCHECK'),
    tty: fs.bool('tty', 't', 'Allocate a pseudo-TTY'),
    readOnly: fs.bool('read-only', undefined, "Mount the container's root filesystem as read only"),
    stopSignal: fs.string('stop-signal', undefined, 'Signal to stop the container'),
    isolation: fs.string('isolation', undefined, 'Service container isolation mode'),
    oomScoreAdj: fs.add('oom-score-adj', {
      usage: "Tune host's OOM preferences (-1000 to 1000) ",
      type: 'int',
      initial: 0,
      defValue: '0',
      zeroDefValues: ['0'],
      set: (raw: string) => parseInt64(raw, 0, 64),
      minApiVersion: '1.46',
    }),
    init: fs.bool(
      'init',
      undefined,
      'Use an init inside each service container to forward signals and reap processes',
    ),
  };
}

export type CommonOptions = ReturnType<typeof commonFlags>;

/** The flags of `service create`. */
export function createFlags(fs: FlagSet, env: Readonly<Record<string, string | undefined>>) {
  fs.interspersed = false;
  return {
    mode: fs.string(
      'mode',
      undefined,
      'Service mode ("replicated", "global", "replicated-job", "global-job")',
      'replicated',
    ),
    name: fs.string('name', undefined, 'Service name'),
    ...commonFlags(fs, true, env),
    labels: list(fs, 'label', 'l', 'Service labels', validateLabel),
    containerLabels: list(fs, 'container-label', undefined, 'Container labels', validateLabel),
    env: list(fs, 'env', 'e', 'Set environment variables', validateEnv(env)),
    envFile: list(fs, 'env-file', undefined, 'Read in a file of environment variables'),
    mounts: fs.add('mount', mountFlag('Attach a filesystem mount to the service')),
    constraints: list(fs, 'constraint', undefined, 'Placement constraints'),
    placementPrefs: fs.add('placement-pref', placementPrefFlag('Add a placement preference')),
    networks: fs.add('network', networkFlag('Network attachments')),
    secrets: fs.add('secret', fileReferenceFlag('secret', 'Specify secrets to expose to the service')),
    configs: fs.add('config', fileReferenceFlag('config', 'Specify configurations to expose to the service')),
    publish: fs.add('publish', portFlag('p', 'Publish a port as a node port')),
    groups: list(fs, 'group', undefined, 'Set one or more supplementary user groups for the container'),
    dns: list(fs, 'dns', undefined, 'Set custom DNS servers', validateIPAddress),
    dnsOption: list(fs, 'dns-option', undefined, 'Set DNS options'),
    dnsSearch: list(fs, 'dns-search', undefined, 'Set custom DNS search domains', validateDNSSearch),
    hosts: list(
      fs,
      'host',
      undefined,
      'Set one or more custom host-to-IP mappings (host:ip)',
      validateExtraHost,
    ),
    sysctls: list(fs, 'sysctl', undefined, 'Sysctl options'),
    ulimits: fs.add('ulimit', ulimitFlag('Ulimit options')),
    genericResources: list(fs, 'generic-resource', undefined, 'User defined resources', (v) => {
      parseGenericResource(v);
      return v;
    }),
  };
}

export type CreateOptions = ReturnType<typeof createFlags>;

/** The flags of `service update`. */
export function updateFlags(fs: FlagSet, env: Readonly<Record<string, string | undefined>>) {
  return {
    image: fs.string('image', undefined, 'Service image tag'),
    args: fs.add('args', commandFlag('Service command args')),
    rollback: fs.bool('rollback', undefined, 'Rollback to previous specification'),
    force: fs.bool('force', undefined, 'Force update even if no changes require it'),
    ...commonFlags(fs, false, env),
    envRm: list(fs, 'env-rm', undefined, 'Remove an environment variable'),
    groupRm: list(
      fs,
      'group-rm',
      undefined,
      'Remove a previously added supplementary user group from the container',
    ),
    labelRm: list(fs, 'label-rm', undefined, 'Remove a label by its key'),
    containerLabelRm: list(fs, 'container-label-rm', undefined, 'Remove a container label by its key'),
    mountRm: list(fs, 'mount-rm', undefined, 'Remove a mount by its target path'),
    publishRm: fs.add('publish-rm', portFlag(undefined, 'Remove a published port by its target port')),
    constraintRm: list(fs, 'constraint-rm', undefined, 'Remove a constraint'),
    dnsRm: list(fs, 'dns-rm', undefined, 'Remove a custom DNS server'),
    dnsOptionRm: list(fs, 'dns-option-rm', undefined, 'Remove a DNS option'),
    dnsSearchRm: list(fs, 'dns-search-rm', undefined, 'Remove a DNS search domain'),
    hostRm: list(fs, 'host-rm', undefined, 'Remove a custom host-to-IP mapping ("host:ip")'),
    labelAdd: list(fs, 'label-add', undefined, 'Add or update a service label', validateLabel),
    containerLabelAdd: list(
      fs,
      'container-label-add',
      undefined,
      'Add or update a container label',
      validateLabel,
    ),
    envAdd: list(fs, 'env-add', undefined, 'Add or update an environment variable', validateEnv(env)),
    secretRm: list(fs, 'secret-rm', undefined, 'Remove a secret'),
    secretAdd: fs.add('secret-add', fileReferenceFlag('secret', 'Add or update a secret on a service')),
    configRm: list(fs, 'config-rm', undefined, 'Remove a configuration file'),
    configAdd: fs.add('config-add', fileReferenceFlag('config', 'Add or update a config file on a service')),
    mountAdd: fs.add('mount-add', mountFlag('Add or update a mount on a service')),
    constraintAdd: list(fs, 'constraint-add', undefined, 'Add or update a placement constraint'),
    placementPrefAdd: fs.add('placement-pref-add', placementPrefFlag('Add a placement preference')),
    placementPrefRm: fs.add('placement-pref-rm', placementPrefFlag('Remove a placement preference')),
    networkAdd: fs.add('network-add', networkFlag('Add a network')),
    networkRm: list(fs, 'network-rm', undefined, 'Remove a network'),
    publishAdd: fs.add('publish-add', portFlag(undefined, 'Add or update a published port')),
    groupAdd: list(fs, 'group-add', undefined, 'Add an additional supplementary user group to the container'),
    dnsAdd: list(fs, 'dns-add', undefined, 'Add or update a custom DNS server', validateIPAddress),
    dnsOptionAdd: list(fs, 'dns-option-add', undefined, 'Add or update a DNS option'),
    dnsSearchAdd: list(
      fs,
      'dns-search-add',
      undefined,
      'Add or update a custom DNS search domain',
      validateDNSSearch,
    ),
    hostAdd: list(
      fs,
      'host-add',
      undefined,
      'Add a custom host-to-IP mapping ("host:ip")',
      validateExtraHost,
    ),
    sysctlAdd: list(fs, 'sysctl-add', undefined, 'Add or update a Sysctl option'),
    sysctlRm: list(fs, 'sysctl-rm', undefined, 'Remove a Sysctl option'),
    ulimitAdd: fs.add('ulimit-add', ulimitFlag('Add or update a ulimit option')),
    ulimitRm: list(fs, 'ulimit-rm', undefined, 'Remove a ulimit option'),
    genericResourceRm: list(fs, 'generic-resource-rm', undefined, 'Remove a Generic resource'),
    genericResourceAdd: list(fs, 'generic-resource-add', undefined, 'Add a Generic resource', (v) => {
      parseGenericResource(v);
      return v;
    }),
  };
}

export type UpdateOptions = ReturnType<typeof updateFlags>;

// ---------------------------------------------------------------- shared conversions

const CAP_ALL = 'ALL';
const CAP_RESET = 'RESET';

/** opts.NormalizeCapability: upper case, `CAP_` prefixed (except ALL and RESET). */
function normalizeCapability(c: string): string {
  const cap = c.trim().toUpperCase();
  if (cap === CAP_ALL || cap === CAP_RESET) return cap;
  return cap.startsWith('CAP_') ? cap : 'CAP_' + cap;
}

const capSet = (caps: readonly string[] | null | undefined): Set<string> =>
  new Set((caps ?? []).map(normalizeCapability));

/** opts.EffectiveCapAddCapDrop: normalized, sorted, adding wins over dropping, ALL trumps others. */
export function effectiveCaps(add: readonly string[], drop: readonly string[]): [string[], string[]] {
  let addCaps = capSet(add);
  let dropCaps = capSet(drop);
  if (addCaps.has(CAP_RESET)) addCaps = new Set([CAP_RESET]);
  if (dropCaps.has(CAP_RESET)) dropCaps = new Set([CAP_RESET]);
  for (const c of [...dropCaps]) if (addCaps.has(c)) dropCaps.delete(c);
  return [[...addCaps].sort(), [...dropCaps].sort()];
}

/** convertExtraHostsToSwarmHosts: `host:ip` → `ip host`. */
function swarmHosts(hosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const h of hosts) {
    const colon = h.indexOf(':');
    if (colon >= 0) out.push(`${h.slice(colon + 1)} ${h.slice(0, colon)}`);
  }
  return out;
}

/** The health check flags as a HealthConfig (create), or undefined when none is given. */
function healthConfig(o: CommonOptions): Json | undefined {
  const haveSettings =
    o.healthCmd.value !== '' ||
    o.healthInterval.value !== undefined ||
    o.healthTimeout.value !== undefined ||
    o.healthStartPeriod.value !== undefined ||
    o.healthStartInterval.value !== undefined ||
    o.healthRetries.value !== 0;
  if (o.noHealthcheck.value) {
    if (haveSettings) throw new Error('--no-healthcheck conflicts with --health-* options');
    return { Test: ['NONE'] };
  }
  if (!haveSettings) return undefined;
  return {
    Test: o.healthCmd.value !== '' ? ['CMD-SHELL', o.healthCmd.value] : undefined,
    Interval: o.healthInterval.value ?? 0,
    Timeout: o.healthTimeout.value ?? 0,
    Retries: o.healthRetries.value,
    StartPeriod: o.healthStartPeriod.value ?? 0,
    StartInterval: o.healthStartInterval.value ?? 0,
  };
}

/** The six `--update-*` or `--rollback-*` flags, in UpdateConfig field order. */
function updateConfigFlags(o: CommonOptions, prefix: 'update' | 'rollback') {
  return prefix === 'update'
    ? ([
        o.updateParallelism,
        o.updateDelay,
        o.updateMonitor,
        o.updateFailureAction,
        o.updateMaxFailureRatio,
        o.updateOrder,
      ] as const)
    : ([
        o.rollbackParallelism,
        o.rollbackDelay,
        o.rollbackMonitor,
        o.rollbackFailureAction,
        o.rollbackMaxFailureRatio,
        o.rollbackOrder,
      ] as const);
}

/** The `--update-*` or `--rollback-*` flags as an UpdateConfig (create), undefined when none is set. */
function updateConfigFromFlags(o: CommonOptions, prefix: 'update' | 'rollback'): Json | undefined {
  if (!updateConfigFlags(o, prefix).some((flag) => flag.changed)) return undefined;
  const cfg: Json = { ...(prefix === 'update' ? DEFAULT_UPDATE_CONFIG : DEFAULT_ROLLBACK_CONFIG) };
  applyUpdateConfigFlags(cfg, o, prefix);
  return cfg;
}

/** Sets the changed `--update-*` / `--rollback-*` flags on an UpdateConfig. */
function applyUpdateConfigFlags(cfg: Json, o: CommonOptions, prefix: 'update' | 'rollback'): void {
  const [parallelism, delay, monitor, failureAction, ratio, order] = updateConfigFlags(o, prefix);
  if (parallelism.changed) cfg.Parallelism = parallelism.value;
  if (delay.changed) cfg.Delay = delay.value;
  if (monitor.changed) cfg.Monitor = monitor.value;
  if (failureAction.changed) cfg.FailureAction = failureAction.value;
  if (ratio.changed) cfg.MaxFailureRatio = ratio.value;
  if (order.changed) cfg.Order = order.value;
}

/** The restart policy from the flags (create), undefined when none is set. */
function restartPolicyFromFlags(o: CommonOptions): Json | undefined {
  if (![o.restartCondition, o.restartDelay, o.restartMaxAttempts, o.restartWindow].some((f) => f.changed))
    return undefined;
  const policy: Json = { Condition: 'any', Delay: DEFAULT_RESTART_DELAY, MaxAttempts: 0 };
  applyRestartFlags(policy, o);
  return policy;
}

function applyRestartFlags(policy: Json, o: CommonOptions): void {
  if (o.restartDelay.changed) policy.Delay = o.restartDelay.value;
  if (o.restartCondition.changed) policy.Condition = o.restartCondition.value;
  if (o.restartMaxAttempts.changed) policy.MaxAttempts = o.restartMaxAttempts.value;
  if (o.restartWindow.changed) policy.Window = o.restartWindow.value;
}

/** ToServiceMode: the mode from `--mode`, `--replicas`, `--max-concurrent`, `--replicas-max-per-node`. */
function serviceMode(o: CreateOptions): Json {
  const replicas = o.replicas.value;
  const maxConcurrent = o.maxConcurrent.value;
  switch (o.mode.value) {
    case 'global':
      if (replicas !== undefined)
        throw new Error('replicas can only be used with replicated or replicated-job mode');
      if (o.maxReplicas.value > 0)
        throw new Error('replicas-max-per-node can only be used with replicated or replicated-job mode');
      if (maxConcurrent !== undefined)
        throw new Error('max-concurrent can only be used with replicated-job mode');
      return { Global: {} };
    case 'replicated':
      if (maxConcurrent !== undefined)
        throw new Error('max-concurrent can only be used with replicated-job mode');
      return { Replicated: { Replicas: replicas } };
    case 'replicated-job':
      return { ReplicatedJob: { MaxConcurrent: maxConcurrent ?? replicas, TotalCompletions: replicas } };
    case 'global-job':
      if (o.maxReplicas.value > 0)
        throw new Error('replicas-max-per-node can only be used with replicated or replicated-job mode');
      if (maxConcurrent !== undefined)
        throw new Error('max-concurrent can only be used with replicated-job mode');
      if (replicas !== undefined)
        throw new Error('replicas can only be used with replicated or replicated-job mode');
      return { GlobalJob: {} };
    default:
      throw new Error(`Unknown mode: ${o.mode.value}, only replicated and global supported`);
  }
}

/** makeEnv: env files then `--env`, a later value of a key replacing an earlier one. */
function makeEnv(o: CreateOptions, env: Readonly<Record<string, string | undefined>>): string[] {
  const current: string[] = [];
  for (const e of readKVEnvStrings(o.envFile.value, o.env.value, env)) {
    const key = e.split('=')[0]!;
    for (let i = current.length - 1; i >= 0; i--) {
      if (current[i] !== e && current[i]!.startsWith(key + '=')) current.splice(i, 1);
    }
    current.push(e);
  }
  return current;
}

/** The network attachments with names resolved to IDs (`GET /networks/{name}?scope=swarm`), sorted by ID. */
async function resolveNetworks(cli: Cli, networks: readonly NetworkAttachment[]): Promise<Json[]> {
  const out: Json[] = [];
  for (const n of networks) {
    const nw = await cli.client().networkInspect(n.Target, 'swarm');
    out.push({ Target: nw.Id, Aliases: n.Aliases, DriverOpts: n.DriverOpts });
  }
  return out.sort((a, b) => (a.Target < b.Target ? -1 : a.Target > b.Target ? 1 : 0));
}

/** ParseSecrets / ParseConfigs: the references with their IDs, looked up by name in one list call. */
async function resolveReferences(
  cli: Cli,
  refs: readonly FileReference[],
  kind: 'secret' | 'config',
): Promise<Json[]> {
  if (refs.length === 0) return [];
  const byTarget = new Map<string, FileReference>();
  for (const ref of refs) {
    if (byTarget.has(ref.file.Name)) throw new Error(`duplicate ${kind} target for ${ref.name} not allowed`);
    byTarget.set(ref.file.Name, ref);
  }
  const filter = new FilterArgs();
  for (const ref of byTarget.values()) filter.add('name', ref.name);
  const found =
    kind === 'secret' ? await cli.client().secretList(filter) : await cli.client().configList(filter);
  const ids = new Map(found.map((o) => [o.Spec?.Name ?? '', o.ID]));
  const out: Json[] = [];
  for (const ref of byTarget.values()) {
    const id = ids.get(ref.name);
    if (id === undefined) throw new Error(`${kind} not found: ${ref.name}`);
    out.push(
      kind === 'secret'
        ? { File: { ...ref.file }, SecretID: id, SecretName: ref.name }
        : { File: { ...ref.file }, ConfigID: id, ConfigName: ref.name },
    );
  }
  return out;
}

// ---------------------------------------------------------------- create

/** ToService: the complete spec of `service create`. */
export async function createServiceSpec(
  cli: Cli,
  o: CreateOptions,
  image: string,
  args: string[],
): Promise<Json> {
  const env = makeEnv(o, cli.env);
  const health = healthConfig(o);
  const mode = serviceMode(o);
  const updateConfig = updateConfigFromFlags(o, 'update');
  const rollbackConfig = updateConfigFromFlags(o, 'rollback');
  if ((mode.ReplicatedJob || mode.GlobalJob) && (updateConfig || rollbackConfig)) {
    throw new Error('update and rollback configuration is not supported for jobs');
  }
  const networks = await resolveNetworks(cli, o.networks.value);
  const [capAdd, capDrop] = effectiveCaps(o.capAdd.value, o.capDrop.value);
  const containerSpec: Json = {
    Image: image,
    Labels: kvToMap(o.containerLabels.value),
    Command: o.entrypoint.value,
    Args: args.length > 0 ? args : undefined,
    Hostname: o.hostname.value,
    Env: env,
    Dir: o.workdir.value,
    User: o.user.value,
    Groups: o.groups.value,
    Init: o.init.value,
    StopSignal: o.stopSignal.value,
    TTY: o.tty.value,
    ReadOnly: o.readOnly.value,
    Mounts: o.mounts.value,
    StopGracePeriod: o.stopGracePeriod.changed ? o.stopGracePeriod.value : undefined,
    Healthcheck: health,
    Hosts: swarmHosts(o.hosts.value),
    DNSConfig: { Nameservers: o.dns.value, Search: o.dnsSearch.value, Options: o.dnsOption.value },
    Isolation: o.isolation.value,
    Sysctls: kvToMap(o.sysctls.value),
    CapabilityAdd: capAdd,
    CapabilityDrop: capDrop,
    Ulimits: o.ulimits.value,
    OomScoreAdj: o.oomScoreAdj.value,
  };
  const cred = o.credentialSpec.value;
  if (cred && cred.source !== '' && cred.value) {
    containerSpec.Privileges = {
      CredentialSpec: { Config: '', File: '', Registry: '', ...cred.value },
      SELinuxContext: null,
    };
  }
  const secrets = await resolveReferences(cli, o.secrets.value, 'secret');
  if (o.secrets.value.length > 0) containerSpec.Secrets = secrets;
  const configRefs = await resolveReferences(cli, o.configs.value, 'config');
  if (o.configs.value.length > 0) containerSpec.Configs = configRefs;
  if (cred?.value?.Config) {
    // A credential spec from a config names it; the API wants the config's ID.
    const [resolved] = await resolveReferences(
      cli,
      [{ name: cred.value.Config, file: { Name: cred.value.Config, UID: '0', GID: '0', Mode: 0 } }],
      'config',
    );
    containerSpec.Privileges.CredentialSpec.Config = resolved!.ConfigID;
  }
  return {
    Name: o.name.value,
    Labels: kvToMap(o.labels.value),
    TaskTemplate: {
      ContainerSpec: containerSpec,
      Resources: {
        Limits: { NanoCPUs: o.limitCPU.value, MemoryBytes: o.limitMemory.value, Pids: o.limitPids.value },
        Reservations: {
          NanoCPUs: o.reserveCPU.value,
          MemoryBytes: o.reserveMemory.value,
          GenericResources: o.genericResources.value.map(parseGenericResource),
        },
      },
      RestartPolicy: restartPolicyFromFlags(o),
      Placement: {
        Constraints: o.constraints.value,
        Preferences: o.placementPrefs.value,
        MaxReplicas: o.maxReplicas.value,
      },
      Networks: networks,
      LogDriver:
        o.logDriver.value !== '' ? { Name: o.logDriver.value, Options: kvToMap(o.logOpt.value) } : undefined,
      ForceUpdate: 0,
    },
    Mode: mode,
    UpdateConfig: updateConfig,
    RollbackConfig: rollbackConfig,
    EndpointSpec: { Mode: o.endpointMode.value.toLowerCase(), Ports: o.publish.value },
  };
}

// ---------------------------------------------------------------- update

const keyOf = (kv: string): string => kv.split('=')[0]!;

/** `%v:%v/%s/%s` of a port, the key update sorts and de-duplicates ports by. */
const portKey = (p: PortConfig): string =>
  `${p.PublishedPort ?? 0}:${p.TargetPort ?? 0}/${p.Protocol ?? ''}/${p.PublishMode ?? ''}`;

function removeDuplicates(items: readonly string[]): string[] {
  return [...new Set(items)];
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** updateHosts: removes `host` or `host:ip` mappings, then appends the new ones (swarmkit format). */
function updateHosts(hosts: readonly string[], remove: readonly string[], add: readonly string[]): string[] {
  const toRemove = remove.map((e) => {
    const colon = e.indexOf(':');
    return colon < 0 ? { host: e, ip: '' } : { host: e.slice(0, colon), ip: e.slice(colon + 1) };
  });
  const out: string[] = [];
  for (const entry of hosts) {
    const parts = entry.split(/\s+/).filter((p) => p !== '');
    if (parts.length === 0) continue;
    const ip = parts[0]!;
    let names = parts.slice(1);
    for (const rm of toRemove) {
      if (rm.ip !== '' && rm.ip !== ip) continue;
      names = names.filter((h) => h !== rm.host);
    }
    if (names.length > 0) out.push(`${ip} ${names.join(' ')}`);
  }
  return removeDuplicates([...out, ...swarmHosts(add)]);
}

/** updateCapabilities: adding and dropping as a tri-state against what the service already has. */
function updateCapabilities(cs: Json, o: CommonOptions): void {
  let capAdd = capSet(cs.CapabilityAdd);
  let capDrop = capSet(cs.CapabilityDrop);
  let toAdd = new Set<string>();
  let toDrop = new Set<string>();
  if (o.capAdd.changed) {
    toAdd = capSet(o.capAdd.value);
    if (toAdd.has(CAP_RESET)) {
      capAdd = new Set();
      toAdd.delete(CAP_RESET);
    }
  }
  if (o.capDrop.changed) {
    toDrop = capSet(o.capDrop.value);
    if (toDrop.has(CAP_RESET)) {
      capDrop = new Set();
      toDrop.delete(CAP_RESET);
    }
  }
  for (const c of toDrop) {
    if (toAdd.has(c)) continue;
    if (capAdd.has(c)) capAdd.delete(c);
    else capDrop.add(c);
  }
  for (const c of toAdd) {
    if (capDrop.has(c)) capDrop.delete(c);
    else capAdd.add(c);
  }
  [cs.CapabilityAdd, cs.CapabilityDrop] = effectiveCaps([...capAdd], [...capDrop]);
}

/** Generic resources keyed as Docker keys them when adding and removing (by kind). */
function genericResourceKey(r: Json): string {
  return r.DiscreteResourceSpec?.Kind ?? r.NamedResourceSpec?.Kind ?? '';
}

/**
 * updateService: applies the changed flags to the spec read from the daemon (already normalized to
 * the Go struct shapes), in Docker's order, with Docker's rules for lists (sorted constraints,
 * groups, DNS entries, ports and mounts; de-duplicated hosts).
 */
export async function updateServiceSpec(cli: Cli, spec: Json, o: UpdateOptions): Promise<void> {
  const task: Json = (spec.TaskTemplate ??= {});
  const cs: Json = (task.ContainerSpec ??= {});
  const taskResources = (): Json => {
    task.Resources ??= {};
    task.Resources.Limits ??= {};
    task.Resources.Reservations ??= {};
    return task.Resources;
  };

  // Labels (service and container): removals first, then additions.
  if (spec.Labels && o.labelRm.changed) for (const k of o.labelRm.value) delete spec.Labels[k];
  if (o.labelAdd.changed) spec.Labels = { ...(spec.Labels ?? {}), ...kvToMap(o.labelAdd.value) };
  if (cs.Labels && o.containerLabelRm.changed) for (const k of o.containerLabelRm.value) delete cs.Labels[k];
  if (o.containerLabelAdd.changed)
    cs.Labels = { ...(cs.Labels ?? {}), ...kvToMap(o.containerLabelAdd.value) };

  if (o.image.changed) cs.Image = o.image.value;
  if (o.args.changed) cs.Args = o.args.value;
  if (o.entrypoint.changed) cs.Command = o.entrypoint.value;

  // Environment: removals by key, then additions replace a key's value in place.
  const removeEnv = new Set(o.envRm.changed ? o.envRm.value : []);
  let envList: string[] = ((cs.Env ?? []) as string[]).filter((e) => !removeEnv.has(keyOf(e)));
  if (o.envAdd.changed) {
    const byKey = new Map(envList.map((e) => [keyOf(e), e] as const));
    for (const e of o.envAdd.value) byKey.set(keyOf(e), e);
    envList = [...byKey.values()];
  }
  cs.Env = envList;

  if (o.workdir.changed) cs.Dir = o.workdir.value;
  if (o.user.changed) cs.User = o.user.value;
  if (o.hostname.changed) cs.Hostname = o.hostname.value;
  if (o.init.changed) cs.Init = o.init.value;
  if (o.isolation.changed) cs.Isolation = o.isolation.value;

  // Mounts: additions replace mounts with the same target; removals by target; sorted.
  const byTarget = new Map<string, MountSpec>();
  for (const m of o.mountAdd.changed ? o.mountAdd.value : []) {
    if (byTarget.has(m.Target ?? '')) throw new Error('duplicate mount target');
    byTarget.set(m.Target ?? '', m);
  }
  for (const m of (cs.Mounts ?? []) as MountSpec[])
    if (!byTarget.has(m.Target ?? '')) byTarget.set(m.Target ?? '', m);
  const removeMounts = new Set(o.mountRm.changed ? o.mountRm.value : []);
  cs.Mounts = [...byTarget.values()]
    .filter((m) => !removeMounts.has(m.Target ?? ''))
    .sort((a, b) =>
      (a.Source ?? '') === (b.Source ?? '')
        ? compareStrings(a.Target ?? '', b.Target ?? '')
        : compareStrings(a.Source ?? '', b.Source ?? ''),
    );

  if (o.sysctlRm.changed && cs.Sysctls)
    for (const k of Object.keys(kvToMap(o.sysctlRm.value))) delete cs.Sysctls[k];
  if (o.sysctlAdd.changed) cs.Sysctls = { ...(cs.Sysctls ?? {}), ...kvToMap(o.sysctlAdd.value) };

  const ulimits = new Map<string, Json>(((cs.Ulimits ?? []) as Json[]).map((u) => [u.Name as string, u]));
  if (o.ulimitRm.changed) for (const k of Object.keys(kvToMap(o.ulimitRm.value))) ulimits.delete(k);
  if (o.ulimitAdd.changed) for (const u of o.ulimitAdd.value) ulimits.set(u.Name, u);
  cs.Ulimits =
    ulimits.size === 0 ? undefined : [...ulimits.values()].sort((a, b) => compareStrings(a.Name, b.Name));

  if (o.limitCPU.changed || o.limitMemory.changed || o.limitPids.changed) {
    const limits = taskResources().Limits;
    if (o.limitCPU.changed) limits.NanoCPUs = o.limitCPU.value;
    if (o.limitMemory.changed) limits.MemoryBytes = o.limitMemory.value;
    if (o.limitPids.changed) limits.Pids = o.limitPids.value;
  }
  if (o.reserveCPU.changed || o.reserveMemory.changed) {
    const reservations = taskResources().Reservations;
    if (o.reserveCPU.changed) reservations.NanoCPUs = o.reserveCPU.value;
    if (o.reserveMemory.changed) reservations.MemoryBytes = o.reserveMemory.value;
  }
  if (o.oomScoreAdj.changed) cs.OomScoreAdj = o.oomScoreAdj.value;

  if (o.genericResourceAdd.changed || o.genericResourceRm.changed) {
    task.Resources ??= {};
    task.Resources.Reservations ??= {};
    const resources = new Map<string, Json>(
      ((task.Resources.Reservations.GenericResources ?? []) as Json[]).map((r) => [genericResourceKey(r), r]),
    );
    for (const r of o.genericResourceAdd.value.map(parseGenericResource))
      resources.set(genericResourceKey(r), r);
    for (const kind of o.genericResourceRm.value) {
      if (!resources.has(kind)) throw new Error(`could not find generic-resource \`${kind}\` to remove it`);
      resources.delete(kind);
    }
    task.Resources.Reservations.GenericResources = [...resources.values()];
  }

  if (o.stopGracePeriod.changed) cs.StopGracePeriod = o.stopGracePeriod.value;

  if ([o.restartCondition, o.restartDelay, o.restartMaxAttempts, o.restartWindow].some((f) => f.changed)) {
    task.RestartPolicy ??= { Condition: 'any', Delay: DEFAULT_RESTART_DELAY, MaxAttempts: 0 };
    applyRestartFlags(task.RestartPolicy, o);
  }

  if (o.constraintAdd.changed || o.constraintRm.changed) {
    task.Placement ??= {};
    const added = [
      ...(task.Placement.Constraints ?? []),
      ...(o.constraintAdd.changed ? o.constraintAdd.value : []),
    ];
    const removed = new Set(o.constraintRm.changed ? o.constraintRm.value : []);
    task.Placement.Constraints = added.filter((c) => !removed.has(c)).sort(compareStrings);
  }
  if (o.placementPrefAdd.changed || o.placementPrefRm.changed) {
    task.Placement ??= {};
    let prefs: Json[] = task.Placement.Preferences ?? [];
    if (o.placementPrefRm.changed) {
      const removed = new Set(o.placementPrefRm.value.map((p) => p.Spread.SpreadDescriptor));
      prefs = prefs.filter((p) => !(p.Spread && removed.has(p.Spread.SpreadDescriptor)));
    }
    if (o.placementPrefAdd.changed) prefs = [...prefs, ...o.placementPrefAdd.value];
    task.Placement.Preferences = prefs;
  }

  if (o.networkAdd.changed || o.networkRm.changed) await updateNetworks(cli, spec, o);

  if (o.replicas.changed) {
    if (!spec.Mode?.Replicated) throw new Error('replicas can only be used with replicated mode');
    spec.Mode.Replicated.Replicas = o.replicas.value;
  }
  if (o.maxReplicas.changed) (task.Placement ??= {}).MaxReplicas = o.maxReplicas.value;

  const updateFlagsChanged = [
    o.updateParallelism,
    o.updateDelay,
    o.updateMonitor,
    o.updateFailureAction,
    o.updateMaxFailureRatio,
    o.updateOrder,
  ];
  if (updateFlagsChanged.some((f) => f.changed)) {
    spec.UpdateConfig ??= { ...DEFAULT_UPDATE_CONFIG };
    applyUpdateConfigFlags(spec.UpdateConfig, o, 'update');
  }
  const rollbackFlagsChanged = [
    o.rollbackParallelism,
    o.rollbackDelay,
    o.rollbackMonitor,
    o.rollbackFailureAction,
    o.rollbackMaxFailureRatio,
    o.rollbackOrder,
  ];
  if (rollbackFlagsChanged.some((f) => f.changed)) {
    spec.RollbackConfig ??= { ...DEFAULT_ROLLBACK_CONFIG };
    applyUpdateConfigFlags(spec.RollbackConfig, o, 'rollback');
  }

  if (o.endpointMode.changed) (spec.EndpointSpec ??= {}).Mode = o.endpointMode.value;

  if (o.groupAdd.changed || o.groupRm.changed) {
    const removed = new Set(o.groupRm.changed ? o.groupRm.value : []);
    cs.Groups = [...(cs.Groups ?? []), ...(o.groupAdd.changed ? o.groupAdd.value : [])]
      .filter((g: string) => !removed.has(g))
      .sort(compareStrings);
  }

  if (o.publishAdd.changed || o.publishRm.changed) {
    spec.EndpointSpec ??= {};
    const existing = new Map<string, PortConfig>();
    for (const p of (spec.EndpointSpec.Ports ?? []) as PortConfig[])
      if (!existing.has(portKey(p))) existing.set(portKey(p), p);
    const sameProtocol = (a?: string, b?: string): boolean =>
      a === b || (!a && b === 'tcp') || (!b && a === 'tcp');
    const sameMode = (a?: string, b?: string): boolean =>
      a === b || (!a && b === 'ingress') || (!b && a === 'ingress');
    const ports = [...existing.values()].filter(
      (p) =>
        !o.publishRm.value.some(
          (r) =>
            sameProtocol(p.Protocol, r.Protocol) &&
            p.TargetPort === r.TargetPort &&
            sameMode(p.PublishMode, r.PublishMode),
        ),
    );
    if (o.publishAdd.changed)
      for (const p of o.publishAdd.value) if (!existing.has(portKey(p))) ports.push(p);
    spec.EndpointSpec.Ports = ports.sort((a, b) => compareStrings(portKey(a), portKey(b)));
  }

  const dnsChanged = [o.dnsAdd, o.dnsRm, o.dnsOptionAdd, o.dnsOptionRm, o.dnsSearchAdd, o.dnsSearchRm].some(
    (f) => f.changed,
  );
  if (dnsChanged) {
    const dns = (cs.DNSConfig ??= {});
    const merge = (
      current: string[] | undefined,
      add: Flag<string[]>,
      rm: Flag<string[]>,
    ): string[] | undefined => {
      const removed = new Set(rm.changed ? rm.value : []);
      const out = removeDuplicates([...(current ?? []), ...(add.changed ? add.value : [])]).filter(
        (x) => !removed.has(x),
      );
      return out.length > 0 ? out.sort(compareStrings) : undefined;
    };
    cs.DNSConfig = {
      Nameservers: merge(dns.Nameservers, o.dnsAdd, o.dnsRm),
      Search: merge(dns.Search, o.dnsSearchAdd, o.dnsSearchRm),
      Options: merge(dns.Options, o.dnsOptionAdd, o.dnsOptionRm),
    };
  }

  if (o.hostAdd.changed || o.hostRm.changed) {
    cs.Hosts = updateHosts(
      cs.Hosts ?? [],
      o.hostRm.changed ? o.hostRm.value : [],
      o.hostAdd.changed ? o.hostAdd.value : [],
    );
  }

  if (o.logDriver.changed && o.logDriver.value !== '') {
    task.LogDriver = { Name: o.logDriver.value, Options: kvToMap(o.logOpt.value) };
  }

  if (o.force.value) task.ForceUpdate = (task.ForceUpdate ?? 0) + 1;

  updateHealthcheck(cs, o);

  if (o.tty.changed) cs.TTY = o.tty.value;
  if (o.readOnly.changed) cs.ReadOnly = o.readOnly.value;
  if (o.stopSignal.changed) cs.StopSignal = o.stopSignal.value;
  if (o.capAdd.changed || o.capDrop.changed) updateCapabilities(cs, o);
}

/** updateHealthcheck: the health flags edit the existing check (or start from an empty one). */
function updateHealthcheck(cs: Json, o: UpdateOptions): void {
  const settings = [o.healthCmd, o.healthInterval, o.healthRetries, o.healthTimeout, o.healthStartPeriod];
  if (!o.noHealthcheck.changed && !settings.some((f) => f.changed)) return;
  cs.Healthcheck ??= {};
  if (o.noHealthcheck.value) {
    if (!settings.some((f) => f.changed)) {
      cs.Healthcheck = { Test: ['NONE'] };
      return;
    }
    throw new Error('--no-healthcheck conflicts with --health-* options');
  }
  const hc = cs.Healthcheck;
  if (hc.Test?.[0] === 'NONE') hc.Test = undefined;
  if (o.healthInterval.changed) hc.Interval = o.healthInterval.value;
  if (o.healthTimeout.changed) hc.Timeout = o.healthTimeout.value;
  if (o.healthStartPeriod.changed) hc.StartPeriod = o.healthStartPeriod.value;
  if (o.healthRetries.changed) hc.Retries = o.healthRetries.value;
  if (o.healthCmd.changed) hc.Test = o.healthCmd.value !== '' ? ['CMD-SHELL', o.healthCmd.value] : undefined;
}

/** updateNetworks: removals by name or ID, additions resolved to IDs; the result sorted by ID. */
async function updateNetworks(cli: Cli, spec: Json, o: UpdateOptions): Promise<void> {
  const task = spec.TaskTemplate;
  const current: Json[] = task.Networks?.length ? task.Networks : (spec.Networks ?? []);
  spec.Networks = undefined;
  const idsToRemove = new Set<string>();
  for (const ref of new Set(o.networkRm.value))
    idsToRemove.add((await cli.client().networkInspect(ref, 'swarm')).Id);
  const existing = new Set<string>();
  const result: Json[] = [];
  for (const n of current) {
    if (idsToRemove.has(n.Target)) continue;
    result.push(n);
    existing.add(n.Target);
  }
  for (const n of o.networkAdd.value) {
    const id = (await cli.client().networkInspect(n.Target, 'swarm')).Id;
    if (existing.has(id)) throw new Error(`service is already attached to network ${n.Target}`);
    result.push({ Target: id, Aliases: n.Aliases, DriverOpts: n.DriverOpts });
    existing.add(id);
  }
  task.Networks = result.sort((a, b) => compareStrings(a.Target, b.Target));
}

/** getUpdatedSecrets / getUpdatedConfigs: kept references minus removals, plus resolved additions. */
export async function updateReferences(cli: Cli, spec: Json, o: UpdateOptions): Promise<void> {
  const cs = spec.TaskTemplate.ContainerSpec;
  const secretRm = new Set(o.secretRm.value);
  const secrets: Json[] = ((cs.Secrets ?? []) as Json[]).filter((s) => !secretRm.has(s.SecretName));
  if (o.secretAdd.changed) secrets.push(...(await resolveReferences(cli, o.secretAdd.value, 'secret')));
  cs.Secrets = secrets;
  const credConfigName = o.credentialSpec.changed ? (o.credentialSpec.value?.value?.Config ?? '') : '';
  const credConfigID = !o.credentialSpec.changed ? (cs.Privileges?.CredentialSpec?.Config ?? '') : '';
  const configRm = new Set(o.configRm.value);
  const configs: Json[] = [];
  for (const c of (cs.Configs ?? []) as Json[]) {
    if (c.Runtime) {
      // Runtime configs only serve credential specs: kept while the credential spec uses them.
      if (c.ConfigName === credConfigName || c.ConfigID === credConfigID) configs.push(c);
      continue;
    }
    if (!configRm.has(c.ConfigName)) configs.push(c);
  }
  const toResolve = o.configAdd.changed ? [...o.configAdd.value] : [];
  if (toResolve.length > 0) configs.push(...(await resolveReferences(cli, toResolve, 'config')));
  if (credConfigName !== '' && !configs.some((c) => c.ConfigName === credConfigName && c.Runtime)) {
    const found = await cli.client().configList(new FilterArgs().add('name', credConfigName));
    const id = found.find((c) => c.Spec?.Name === credConfigName)?.ID;
    if (id === undefined) throw new Error(`config not found: ${credConfigName}`);
    configs.push({ Runtime: {}, ConfigID: id, ConfigName: credConfigName });
  }
  cs.Configs = configs;
  if (o.credentialSpec.changed) {
    const cred = o.credentialSpec.value;
    if (!cred || cred.source === '') {
      if (cs.Privileges) cs.Privileges.CredentialSpec = null;
    } else {
      const value: Json = { Config: '', File: '', Registry: '', ...cred.value };
      if (value.Config)
        value.Config = configs.find((c) => c.ConfigName === value.Config)?.ConfigID ?? value.Config;
      cs.Privileges ??= { CredentialSpec: null, SELinuxContext: null };
      cs.Privileges.CredentialSpec = value;
    }
  }
}

/** Whether any flag other than --rollback, --detach and --quiet is set (they cannot be combined). */
export function otherFlagsThanRollback(fs: FlagSet): boolean {
  return fs.all().some((f) => f.changed && !['rollback', 'detach', 'quiet', 'help'].includes(f.name));
}
