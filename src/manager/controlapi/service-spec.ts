// Service specs as clients send them: normalisation (the Docker daemon's defaults for the mode),
// validation in swarmkit's order with its messages, and the defaults `insertDefaults=true` shows.

import { invalidArgument, ShoalError, unimplemented } from '../../api/errors.js';
import { formatFloat } from '../../api/strconv.js';
import type { ServiceMode, ServiceSpec, TaskSpec, UpdateConfig } from '../../api/types.js';
import { parseConstraints } from '../constraint.js';

const SERVICE_NAME = /^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$/;
const MIN_DURATION_NS = 1_000_000;
const SECOND = 1_000_000_000;

export type ModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export function modeKind(mode: ServiceMode | undefined): ModeKind {
  if (mode?.Global) return 'global';
  if (mode?.ReplicatedJob) return 'replicated-job';
  if (mode?.GlobalJob) return 'global-job';
  return 'replicated';
}

export const isJob = (spec: ServiceSpec): boolean => {
  const kind = modeKind(spec.Mode);
  return kind === 'replicated-job' || kind === 'global-job';
};

/** Fields that are set elsewhere or a newer API, kept as Docker keeps them: whatever the client sent. */
const invalid = (message: string): ShoalError => invalidArgument(message, { rpc: true });

/**
 * The Docker daemon's conversion of a ServiceSpec: exactly one mode, a replicated service without a
 * replica count runs one, a replicated job defaults MaxConcurrent to 1 and TotalCompletions to it.
 */
export function normalizeServiceSpec(input: ServiceSpec): ServiceSpec {
  const spec = structuredClone(input);
  const mode = spec.Mode ?? {};
  const given = (['Replicated', 'Global', 'ReplicatedJob', 'GlobalJob'] as const).filter((k) => mode[k]);
  if (mode.Replicated && mode.Global) {
    throw invalidArgument('cannot specify both replicated mode and global mode');
  }
  if (given.length > 1)
    throw invalidArgument(`cannot specify more than one service mode (${given.join(', ')})`);
  checkUnsigned(mode.Replicated?.Replicas, 'Mode.Replicated.Replicas', 'ReplicatedService');
  checkUnsigned(mode.ReplicatedJob?.MaxConcurrent, 'Mode.ReplicatedJob.MaxConcurrent', 'ReplicatedJob');
  checkUnsigned(mode.ReplicatedJob?.TotalCompletions, 'Mode.ReplicatedJob.TotalCompletions', 'ReplicatedJob');
  if (mode.Global) spec.Mode = { Global: {} };
  else if (mode.GlobalJob) spec.Mode = { GlobalJob: {} };
  else if (mode.ReplicatedJob) {
    const maxConcurrent = mode.ReplicatedJob.MaxConcurrent ?? 1;
    spec.Mode = {
      ReplicatedJob: {
        MaxConcurrent: maxConcurrent,
        TotalCompletions: mode.ReplicatedJob.TotalCompletions ?? maxConcurrent,
      },
    };
  } else spec.Mode = { Replicated: { Replicas: mode.Replicated?.Replicas ?? 1 } };
  const task = (spec.TaskTemplate ??= {});
  // Docker's daemon converts the runtime first: a spec without one fails before anything else.
  const runtimes = [task.ContainerSpec, task.PluginSpec, task.NetworkAttachmentSpec].filter(Boolean).length;
  if (runtimes !== 1) throw invalidArgument('mismatched Runtime and *Spec fields');
  // What Docker's daemon adds when it converts a spec, stored here so that a client's
  // read-modify-write round trip sends back exactly what is stored.
  if (task.ContainerSpec) {
    task.ContainerSpec.Isolation ||= 'default';
    task.Runtime ||= 'container';
  }
  task.ForceUpdate ??= 0;
  checkEnums(spec);
  // Docker's round trip through swarmkit's enums fills a port's protocol and publish mode (their zero
  // values), in its field order: `service ls` and inspect show them whatever the client sent.
  if (spec.EndpointSpec?.Ports) {
    spec.EndpointSpec.Ports = spec.EndpointSpec.Ports.map((port) => ({
      ...(port.Name !== undefined ? { Name: port.Name } : {}),
      Protocol: port.Protocol ?? 'tcp',
      ...(port.TargetPort !== undefined ? { TargetPort: port.TargetPort } : {}),
      ...(port.PublishedPort !== undefined ? { PublishedPort: port.PublishedPort } : {}),
      PublishMode: port.PublishMode ?? 'ingress',
    }));
  }
  return spec;
}

/** uint64 fields: a negative or fractional number fails in Go's JSON decoder, so it fails here too. */
function checkUnsigned(value: unknown, field: string, goType: string): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(
      `json: cannot unmarshal number ${String(value)} into Go struct field ${goType}.${field} of type uint64`,
    );
  }
}

/** The enum checks Docker's daemon does while converting the spec for swarmkit, with its texts. */
function checkEnums(spec: ServiceSpec): void {
  const condition = spec.TaskTemplate?.RestartPolicy?.Condition;
  if (condition && !['none', 'on-failure', 'any'].includes(condition)) {
    throw invalidArgument(`invalid RestartCondition: "${condition}"`);
  }
  for (const [config, kind] of [
    [spec.UpdateConfig, 'update'],
    [spec.RollbackConfig, 'rollback'],
  ] as const) {
    const action = config?.FailureAction;
    if (action && !['pause', 'continue', 'rollback'].includes(action)) {
      throw invalidArgument(`unrecognized ${kind} failure action ${action}`);
    }
    const order = config?.Order;
    if (order && !['stop-first', 'start-first'].includes(order)) {
      throw invalidArgument(`unrecognized ${kind} order ${order}`);
    }
  }
  const mode = spec.EndpointSpec?.Mode;
  if (mode && !['vip', 'dnsrr'].includes(mode)) throw invalidArgument(`invalid resolution mode: "${mode}"`);
  // Docker silently maps unknown port protocols and publish modes to their defaults; shoal refuses them
  // (a user who asked for a port must get that port), and ports out of range.
  (spec.EndpointSpec?.Ports ?? []).forEach((port, i) => {
    const field = `EndpointSpec.Ports[${i}]`;
    if (port.Protocol && !['tcp', 'udp', 'sctp'].includes(port.Protocol)) {
      throw invalidArgument(`${field}: invalid protocol "${port.Protocol}": use tcp, udp or sctp`);
    }
    if (port.PublishMode && !['ingress', 'host'].includes(port.PublishMode)) {
      throw invalidArgument(`${field}: invalid publish mode "${port.PublishMode}": use ingress or host`);
    }
    if (!port.TargetPort) throw invalidArgument(`${field}: a target port is required`);
    for (const [name, value] of [
      ['target', port.TargetPort],
      ['published', port.PublishedPort],
    ] as const) {
      if (value !== undefined && value > 65535) {
        throw invalidArgument(`${field}: invalid ${name} port ${value}: ports go from 1 to 65535`);
      }
    }
  });
}

export function validateServiceName(name: string | undefined): void {
  if (!name) throw invalid('meta: name must be provided');
  if (!SERVICE_NAME.test(name)) throw invalid('name must be valid as a DNS name component');
  if (name.length > 63) throw invalid('name must be 63 characters or fewer');
}

function validateResources(r: { NanoCPUs?: number; MemoryBytes?: number } | undefined): void {
  if (!r) return;
  if (r.NanoCPUs && r.NanoCPUs < 1e6) {
    throw invalid(
      `invalid cpu value ${formatFloat(r.NanoCPUs / 1e9, 'g', -1)}: Must be at least ${formatFloat(1e6 / 1e9, 'g', -1)}`,
    );
  }
  if (r.MemoryBytes && r.MemoryBytes < 4 * 1024 * 1024) {
    throw invalid(`invalid memory value ${r.MemoryBytes}: Must be at least 4MiB`);
  }
}

function validateDuration(value: number | undefined, message: string): void {
  if (value !== undefined && value !== 0 && value < MIN_DURATION_NS) throw invalid(message);
}

function validateTaskSpec(task: TaskSpec): void {
  validateResources(task.Resources?.Limits);
  validateResources(task.Resources?.Reservations);
  const memoryLimit = task.Resources?.Limits?.MemoryBytes ?? 0;
  const memoryReservation = task.Resources?.Reservations?.MemoryBytes ?? 0;
  if (memoryLimit > 0 && memoryReservation > 0 && memoryLimit < memoryReservation) {
    // Docker accepts this and every task then fails at container creation with this message; shoal
    // refuses the spec up front (architecture.md §11).
    throw invalid('Minimum memory limit can not be less than memory reservation limit, see usage');
  }
  const restart = task.RestartPolicy;
  if (restart?.Delay !== undefined && restart.Delay < 0)
    throw invalid('TaskSpec: restart-delay cannot be negative');
  if (restart?.Window !== undefined && restart.Window < 0)
    throw invalid('TaskSpec: restart-window cannot be negative');
  parseConstraints(task.Placement?.Constraints);
  validateRefs(task);
  const container = task.ContainerSpec;
  if (!container) throw unimplemented('RuntimeSpec: unimplemented runtime in service spec', { rpc: true });
  if (!container.Image) throw invalid('ContainerSpec: image reference must be provided');
  if (!isValidImageReference(container.Image)) {
    throw invalid(`ContainerSpec: "${container.Image}" is not a valid repository/tag`);
  }
  const targets = new Set<string>();
  for (const mount of container.Mounts ?? []) {
    const target = mount.Target ?? '';
    if (targets.has(target)) throw invalid(`ContainerSpec: duplicate mount point: ${target}`);
    targets.add(target);
  }
  const hc = container.Healthcheck;
  if (hc) {
    validateDuration(hc.Interval, 'ContainerSpec: Interval in HealthConfig cannot be less than 1ms');
    validateDuration(hc.Timeout, 'ContainerSpec: Timeout in HealthConfig cannot be less than 1ms');
    validateDuration(hc.StartPeriod, 'ContainerSpec: StartPeriod in HealthConfig cannot be less than 1ms');
    if (hc.Retries !== undefined && hc.Retries < 0) {
      throw invalid('ContainerSpec: Retries in HealthConfig cannot be negative');
    }
  }
}

function validateRefs(task: TaskSpec): void {
  const container = task.ContainerSpec;
  if (!container) return;
  const seen = new Map<string, string>();
  for (const ref of container.Secrets ?? []) {
    if (!ref.SecretID || !ref.SecretName) throw invalid('malformed secret reference');
    if (!ref.File) throw invalid('malformed secret reference, no target provided');
    if (!ref.File.Name) throw invalid('malformed file secret reference, invalid target file name provided');
    const previous = seen.get(ref.File.Name);
    if (previous !== undefined) {
      throw invalid(
        `secret references '${previous}' and '${ref.SecretName}' have a conflicting target: '${ref.File.Name}'`,
      );
    }
    seen.set(ref.File.Name, ref.SecretName);
  }
  seen.clear();
  for (const ref of container.Configs ?? []) {
    if (!ref.ConfigID || !ref.ConfigName) throw invalid('malformed config reference');
    if (!ref.File && !ref.Runtime) throw invalid('malformed config reference, no target provided');
    if (ref.File) {
      if (!ref.File.Name) throw invalid('malformed file config reference, invalid target file name provided');
      const previous = seen.get(ref.File.Name);
      if (previous !== undefined) {
        throw invalid(
          `config references '${previous}' and '${ref.ConfigName}' have a conflicting target: '${ref.File.Name}'`,
        );
      }
      seen.set(ref.File.Name, ref.ConfigName);
    }
  }
}

/**
 * A practical check of Docker's image reference grammar: optional registry host[:port], path
 * components of lowercase alphanumerics with separators, optional tag and digest.
 */
export function isValidImageReference(image: string): boolean {
  const component = '[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*';
  const domain =
    '(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?/)?';
  const tag = '(?::[\\w][\\w.-]{0,127})?';
  const digest = '(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?';
  return (
    new RegExp(`^${domain}${component}(?:/${component})*${tag}${digest}$`).test(image) && image.length <= 255
  );
}

function validateUpdateConfig(config: UpdateConfig | undefined): void {
  if (!config) return;
  if ((config.Delay ?? 0) < 0) throw invalid('TaskSpec: update-delay cannot be negative');
  if ((config.Monitor ?? 0) < 0) throw invalid('TaskSpec: update-monitor cannot be negative');
  const ratio = config.MaxFailureRatio ?? 0;
  if (ratio < 0 || ratio > 1)
    throw invalid('TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1');
  if (config.Parallelism !== undefined && (config.Parallelism < 0 || !Number.isInteger(config.Parallelism))) {
    throw invalidArgument(
      `json: cannot unmarshal number ${config.Parallelism} into Go struct field UpdateConfig.UpdateConfig.Parallelism of type uint64`,
    );
  }
}

/** swarmkit's validateServiceSpec, in its order. Expects a normalized spec. */
export function validateServiceSpec(spec: ServiceSpec): void {
  validateServiceName(spec.Name);
  validateTaskSpec(spec.TaskTemplate ?? {});
  if (isJob(spec)) {
    if (spec.UpdateConfig) throw invalid('Jobs may not have an update config');
  } else {
    validateUpdateConfig(spec.UpdateConfig);
  }
  validateUpdateConfig(spec.RollbackConfig);
  const ports = spec.EndpointSpec?.Ports ?? [];
  const published = new Set<string>();
  for (const port of ports) {
    if (spec.EndpointSpec?.Mode === 'dnsrr' && (port.PublishMode ?? 'ingress') === 'ingress') {
      throw invalid("EndpointSpec: port published with ingress mode can't be used with dnsrr mode");
    }
    if (!port.PublishedPort) continue;
    const key = `${port.Protocol ?? 'tcp'}/${port.PublishedPort}`;
    if (published.has(key)) throw invalid('EndpointSpec: duplicate published ports provided');
    published.add(key);
  }
}

/** swarmkit's defaults.InterpolateService: what `service inspect` shows for unset fields. */
export function interpolateDefaults(input: ServiceSpec): ServiceSpec {
  const spec = structuredClone(input);
  const task = (spec.TaskTemplate ??= {});
  const container = task.ContainerSpec;
  if (container) {
    container.StopGracePeriod ??= 10 * SECOND;
    container.DNSConfig ??= {};
  }
  task.Resources ??= {};
  if (!task.RestartPolicy) task.RestartPolicy = { Condition: 'any', Delay: 5 * SECOND, MaxAttempts: 0 };
  else task.RestartPolicy.Delay ??= 5 * SECOND;
  task.Placement ??= {};
  const defaultUpdate = (): UpdateConfig => ({
    Parallelism: 1,
    FailureAction: 'pause',
    Monitor: 5 * SECOND,
    MaxFailureRatio: 0,
    Order: 'stop-first',
  });
  if (!spec.UpdateConfig) spec.UpdateConfig = defaultUpdate();
  else spec.UpdateConfig.Monitor ??= 5 * SECOND;
  if (!spec.RollbackConfig) spec.RollbackConfig = defaultUpdate();
  else spec.RollbackConfig.Monitor ??= 5 * SECOND;
  return spec;
}
