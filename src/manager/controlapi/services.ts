// Service calls of the control API: create, update (including rollback), remove, list, status counts.

import {
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  outOfSequence,
  ShoalError,
} from '../../api/errors.js';
import type { Filters } from '../../api/filters.js';
import { newId } from '../../api/ids.js';
import { jsonEqual } from '../../api/json-equal.js';
import { randomName } from '../../api/names.js';
import { nowTimestamp } from '../../api/time.js';
import type { Service, ServiceSpec, Task } from '../../api/types.js';
import type { ReadTx, WriteTx } from '../../store/objects.js';
import { isIngressNetwork } from '../../api/networks.js';
import { needsIngress } from '../allocator/core.js';
import { publishedPortsInUse, serviceEndpoint } from '../endpoint.js';
import { checkServiceTaskCounts, checkSpecSize, requestedTasks, taskLimits } from '../limits.js';
import { checkHonoured, checkNetworks } from './honoured.js';
import { isJob, modeKind, normalizeServiceSpec, validateServiceSpec } from './service-spec.js';

export function serviceMatchesFilters(service: Service, filters: Filters): boolean {
  return (
    filters.matchPrefix('id', service.ID) &&
    filters.matchPrefix('name', service.Spec.Name) &&
    filters.matchExact('mode', modeKind(service.Spec.Mode)) &&
    filters.matchLabels('label', service.Spec.Labels)
  );
}

/** Secrets and configs a spec references must exist under the names it gives (swarmkit's check). */
function checkReferences(tx: ReadTx, spec: ServiceSpec): void {
  const container = spec.TaskTemplate?.ContainerSpec;
  const missingSecrets = (container?.Secrets ?? [])
    .filter((ref) => tx.get('secret', ref.SecretID)?.Spec.Name !== ref.SecretName)
    .map((ref) => ref.SecretName);
  if (missingSecrets.length > 0) {
    throw invalidArgument(
      `${missingSecrets.length === 1 ? 'secret' : 'secrets'} not found: ${missingSecrets.join(', ')}`,
      {
        rpc: true,
      },
    );
  }
  const missingConfigs = (container?.Configs ?? [])
    .filter((ref) => tx.get('config', ref.ConfigID)?.Spec.Name !== ref.ConfigName)
    .map((ref) => ref.ConfigName);
  if (missingConfigs.length > 0) {
    throw invalidArgument(
      `${missingConfigs.length === 1 ? 'config' : 'configs'} not found: ${missingConfigs.join(', ')}`,
      {
        rpc: true,
      },
    );
  }
}

/** swarmkit's best-effort check that published ports don't collide with other services' ports. */
function checkPortConflicts(tx: ReadTx, spec: ServiceSpec, serviceId: string | undefined): void {
  const key = (protocol: string | undefined, port: number): string => `${protocol ?? 'tcp'}/${port}`;
  const ingress = new Set<string>();
  const host = new Set<string>();
  for (const port of spec.EndpointSpec?.Ports ?? []) {
    if (!port.PublishedPort) continue;
    ((port.PublishMode ?? 'ingress') === 'ingress' ? ingress : host).add(
      key(port.Protocol, port.PublishedPort),
    );
  }
  if (ingress.size === 0 && host.size === 0) return;
  for (const other of tx.list('service')) {
    if (other.ID === serviceId) continue;
    for (const port of [...(other.Spec.EndpointSpec?.Ports ?? []), ...(other.Endpoint?.Ports ?? [])]) {
      if (!port.PublishedPort) continue;
      const k = key(port.Protocol, port.PublishedPort);
      const name = other.Spec.Name ?? '';
      if ((port.PublishMode ?? 'ingress') === 'host') {
        if (ingress.has(k)) {
          throw invalidArgument(
            `port '${port.PublishedPort}' is already in use by service '${name}' (${other.ID}) as a host-published port`,
            { rpc: true },
          );
        }
      } else if (ingress.has(k) || host.has(k)) {
        throw invalidArgument(
          `port '${port.PublishedPort}' is already in use by service '${name}' (${other.ID}) as an ingress port`,
          { rpc: true },
        );
      }
    }
  }
}

/** swarmkit's refusal of a port published through the routing mesh when the ingress network was removed. */
function checkIngressPresent(tx: ReadTx, spec: ServiceSpec): void {
  if (needsIngress({ Spec: spec }) && !tx.list('network').some(isIngressNetwork)) {
    throw failedPrecondition('service needs ingress network, but no ingress network is present');
  }
}

/**
 * The task limits (src/manager/limits.ts) for a spec being written. An update that asks for no more tasks
 * than the service had is always allowed, so a service above a lowered limit can still be scaled down.
 */
function checkTaskCounts(tx: ReadTx, spec: ServiceSpec, current: Service | undefined): void {
  const nodeCount = tx.list('node').length;
  let others = 0;
  for (const service of tx.list('service')) {
    if (service.ID !== current?.ID) others += requestedTasks(service.Spec, nodeCount);
  }
  const limits = taskLimits(tx.list('cluster')[0]);
  const growing = !current || requestedTasks(spec, nodeCount) > requestedTasks(current.Spec, nodeCount);
  checkServiceTaskCounts({
    spec,
    limits: growing ? limits : { ...limits, total: Number.POSITIVE_INFINITY },
    nodeCount,
    otherServicesTasks: others,
  });
}

function nameConflict(name: string | undefined): ShoalError {
  return alreadyExists(`name conflicts with an existing object: service ${name ?? ''} already exists`);
}

/**
 * Registry credentials (`--with-registry-auth`) come from the `X-Registry-Auth` header only, never from a
 * body, and are kept with the spec in `ContainerSpec.PullOptions` as swarmkit keeps them: the store seals
 * them, the API never shows them (present.ts), tasks copy them and the node that runs a task gets them in
 * its assignment. dockerd stores the header as it is, without checking it.
 */
function setRegistryAuth(spec: ServiceSpec, registryAuth: string | undefined): void {
  const container = spec.TaskTemplate?.ContainerSpec;
  if (!container) return;
  delete container.PullOptions;
  if (registryAuth) container.PullOptions = { RegistryAuth: registryAuth };
}

/** Where an update's credentials come from (dockerd's `registryAuthFrom`). */
export interface UpdateCredentials {
  /** The request's `X-Registry-Auth` header: new credentials, whatever `registryAuthFrom` says. */
  registryAuth?: string | undefined;
  /** Without a header: `spec` (also when empty) keeps the current ones, `previous-spec` the previous spec's. */
  registryAuthFrom?: string | undefined;
}

/**
 * The credentials an updated spec keeps, as dockerd 20.10 chooses them: the header's if there is one, else
 * those of the spec `registryAuthFrom` names — the current one by default, so an update that sends no
 * header (`docker service scale`, an update without `--with-registry-auth`) keeps the stored credentials.
 */
function updatedRegistryAuth(current: Service, credentials: UpdateCredentials): string | undefined {
  if (credentials.registryAuth) return credentials.registryAuth;
  let from: ServiceSpec | undefined;
  switch (credentials.registryAuthFrom ?? '') {
    case '':
    case 'spec':
      from = current.Spec;
      break;
    case 'previous-spec':
      if (!current.PreviousSpec) throw new ShoalError('Unknown', 'service does not have a previous spec');
      from = current.PreviousSpec;
      break;
    default:
      throw new ShoalError('Unknown', 'unsupported registryAuthFrom value');
  }
  return from.TaskTemplate?.ContainerSpec?.PullOptions?.RegistryAuth;
}

export function createService(tx: WriteTx, input: ServiceSpec, registryAuth?: string): Service {
  checkSpecSize(input);
  const spec = normalizeServiceSpec(input);
  setRegistryAuth(spec, registryAuth);
  if (!spec.Name) spec.Name = randomName();
  checkNetworks(tx, spec);
  validateServiceSpec(spec);
  checkTaskCounts(tx, spec, undefined);
  checkPortConflicts(tx, spec, undefined);
  checkIngressPresent(tx, spec);
  checkReferences(tx, spec);
  checkHonoured(spec, tx.list('node'), tx.list('cluster')[0]);
  if (tx.getByName('service', spec.Name!)) throw nameConflict(spec.Name);
  const service: Service = {
    ID: newId(),
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: spec,
    SpecVersion: { Index: 0 },
    Endpoint: serviceEndpoint(spec, undefined, publishedPortsInUse(tx.list('service'))),
  };
  if (isJob(spec)) service.JobStatus = { JobIteration: { Index: 0 }, LastExecution: nowTimestamp() };
  tx.create('service', service);
  return service;
}

export function updateService(
  tx: WriteTx,
  current: Service,
  version: number,
  input: ServiceSpec,
  rollback: boolean,
  credentials: UpdateCredentials = {},
): Service {
  checkSpecSize(input);
  const spec = normalizeServiceSpec(input);
  // dockerd settles the credentials before swarmkit validates anything; a rollback then takes the previous
  // spec whole, credentials included.
  setRegistryAuth(spec, updatedRegistryAuth(current, credentials));
  // Docker answers a missing or different name with its rename error before validating the name.
  if (spec.Name !== current.Spec.Name) {
    throw new ShoalError('Unimplemented', 'renaming services is not supported', { rpc: true });
  }
  checkNetworks(tx, spec, current);
  validateServiceSpec(spec);
  if (!rollback) checkTaskCounts(tx, spec, current);
  if (spec.EndpointSpec && !jsonEqual(spec.EndpointSpec, current.Spec.EndpointSpec)) {
    checkPortConflicts(tx, spec, current.ID);
  }
  checkIngressPresent(tx, spec);
  checkReferences(tx, spec);
  if (!rollback) checkHonoured(spec, tx.list('node'), tx.list('cluster')[0]);
  if (modeKind(spec.Mode) !== modeKind(current.Spec.Mode)) {
    throw new ShoalError('Unimplemented', 'service mode change is not allowed', { rpc: true });
  }
  const next = structuredClone(current);
  if (next.JobStatus) {
    next.JobStatus = {
      JobIteration: { Index: next.JobStatus.JobIteration.Index + 1 },
      LastExecution: nowTimestamp(),
    };
  }
  if (rollback) {
    if (!current.PreviousSpec)
      throw failedPrecondition(`service ${current.ID} does not have a previous spec`);
    next.Spec = structuredClone(current.PreviousSpec);
    next.SpecVersion = current.PreviousSpecVersion ? { ...current.PreviousSpecVersion } : { Index: 0 };
    next.PreviousSpec = structuredClone(current.Spec);
    next.PreviousSpecVersion = current.SpecVersion ? { ...current.SpecVersion } : { Index: 0 };
    next.UpdateStatus = {
      State: 'rollback_started',
      Message: 'manually requested rollback',
      StartedAt: nowTimestamp(),
    };
  } else {
    next.PreviousSpec = structuredClone(current.Spec);
    next.PreviousSpecVersion = current.SpecVersion ? { ...current.SpecVersion } : { Index: 0 };
    next.Spec = spec;
    // The spec version is the service version the client read; tasks copy it, which makes the
    // "is this task outdated" check a number comparison in the common case.
    next.SpecVersion = { Index: version };
    delete next.UpdateStatus;
  }
  next.Endpoint = serviceEndpoint(
    next.Spec,
    current.Endpoint,
    publishedPortsInUse(tx.list('service'), current.ID),
  );
  // As in swarmkit, the version the client read is checked last, by the store write itself.
  if (current.Version.Index !== version) throw outOfSequence();
  tx.update('service', next);
  return next;
}

/** swarmkit's ListServiceStatuses: running/desired/completed counts as `service ls` shows them. */
export function serviceStatus(
  service: Service,
  tasks: readonly Task[],
): NonNullable<Service['ServiceStatus']> {
  const status = { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 0 };
  const mode = service.Spec.Mode ?? {};
  let global = false;
  if (mode.Replicated) status.DesiredTasks = mode.Replicated.Replicas ?? 0;
  else if (mode.ReplicatedJob) status.DesiredTasks = mode.ReplicatedJob.MaxConcurrent ?? 0;
  else global = true;
  const iteration = service.JobStatus?.JobIteration.Index;
  for (const task of tasks) {
    if (iteration !== undefined) {
      if (task.JobIteration?.Index !== iteration) continue;
      if (task.Status.State === 'complete') status.CompletedTasks++;
    }
    if (task.Status.State === 'running') status.RunningTasks++;
    if (global && task.DesiredState === 'running') status.DesiredTasks++;
    if (global && task.Status.State !== 'complete' && task.DesiredState === 'complete') status.DesiredTasks++;
  }
  return status;
}
