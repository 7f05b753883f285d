// What an executor can honour of a task's spec, and what a spec asks for. Nothing a user asks for may be
// stored and then silently not done: the control API refuses a spec that no node of the swarm can honour
// (naming the field), the scheduler places a task only on a node whose executor honours all of it, and a
// node refuses (rejects) a task it cannot honour. When a later executor or feature makes a field real, it
// is added to that executor's list here, and the refusal goes away.
//
// A node says which executor runs its tasks with the engine label `shoal.executor` in its description
// (`docker node inspect`, `docker info`), so users see it and can constrain on it
// (`engine.labels.shoal.executor==process`).

import type { ContainerSpec, Driver, TaskSpec } from './types.js';

export type ExecutorKind = 'process' | 'docker';

/** The engine label that names a node's executor. */
export const EXECUTOR_LABEL = 'shoal.executor';

/** One thing a spec asks for that not every executor does. */
export interface SpecNeed {
  /** A stable key: what executors declare (e.g. `mount:bind`, `log-driver:syslog`). */
  readonly feature: string;
  /** The field that asks for it, as the user would find it in `docker service inspect`. */
  readonly field: string;
}

const PROCESS_FEATURES: ReadonlySet<string> = new Set([
  // Output is captured with timestamps in a JSON-lines file of the executor's own, which is what
  // json-file keeps; `docker service logs` reads it.
  'log-driver:json-file',
  // The task runs in the network namespace the node's networking prepared, with namespaces of its own.
  'networks',
  // Delivered into the task's own mount namespace: a tmpfs at /run/secrets, configs bound at their
  // targets (src/agent/executor/process/mounts.ts).
  'secrets',
  'configs',
]);

/**
 * The docker executor maps every ContainerSpec field to the container as Docker's swarm executor does; the
 * engine itself judges what it is given (an unknown log driver or isolation fails the task with the
 * engine's error, as on a Swarm node). Secrets and configs are bind-mounted from a tmpfs of the task's
 * (src/agent/executor/docker/host-files.ts). CSI (`cluster`) and Windows named-pipe mounts have no engine
 * behind them here.
 */
const DOCKER_FEATURES: ReadonlySet<string> = new Set([
  'secrets',
  'configs',
  'mount:bind',
  'mount:volume',
  'mount:tmpfs',
  'read-only',
  'init',
  'tty',
  'stdin',
  'privileges',
  'extra-hosts',
  'dns-config',
  'sysctls',
  'capabilities',
  'ulimits',
  'oom-score-adj',
  // The container joins the namespace the node's networking prepared, held by a sandbox container.
  'networks',
]);
/** Feature families the engine decides on: any log driver with its options, any isolation. */
const DOCKER_FEATURE_PREFIXES: readonly string[] = ['log-driver:', 'log-opt:', 'isolation:'];

const FEATURES: Record<ExecutorKind, (feature: string) => boolean> = {
  process: (feature) => PROCESS_FEATURES.has(feature),
  docker: (feature) =>
    DOCKER_FEATURES.has(feature) || DOCKER_FEATURE_PREFIXES.some((prefix) => feature.startsWith(prefix)),
};

/** Why an executor cannot do what it refuses: said once, in every refusal. */
export const EXECUTOR_NATURE: Record<ExecutorKind, string> = {
  process:
    'the process executor runs the task as a process on the host, from the host filesystem (the image is not used), without a root filesystem or mounts of its own',
  docker:
    "the docker executor runs the task as a container on the node's container engine, without CSI volumes",
};

export function isExecutorKind(value: string | undefined): value is ExecutorKind {
  return value !== undefined && Object.hasOwn(FEATURES, value);
}

export function executorHonours(kind: ExecutorKind, feature: string): boolean {
  return FEATURES[kind](feature);
}

/** What `task` asks for beyond a command run with its env, user, dir, hostname, limits and health check. */
export function specNeeds(task: TaskSpec, logDriver?: Driver): SpecNeed[] {
  const needs: SpecNeed[] = [];
  const container = task.ContainerSpec;
  if (container) needs.push(...containerNeeds(container));
  // A task on networks needs its executor to attach it: its own network namespace, an interface and
  // address per network (the allocator's), the node's overlay data path. No executor does yet.
  if (task.Networks?.length) needs.push({ feature: 'networks', field: 'Networks' });
  const driver = logDriver ?? task.LogDriver;
  if (driver?.Name) {
    needs.push({ feature: `log-driver:${driver.Name}`, field: 'LogDriver.Name' });
    for (const option of Object.keys(driver.Options ?? {})) {
      needs.push({ feature: `log-opt:${driver.Name}:${option}`, field: `LogDriver.Options.${option}` });
    }
  }
  return needs;
}

function containerNeeds(spec: ContainerSpec): SpecNeed[] {
  const needs: SpecNeed[] = [];
  const need = (feature: string, field: string): void => {
    needs.push({ feature, field });
  };
  (spec.Mounts ?? []).forEach((mount, i) =>
    need(`mount:${mount.Type ?? 'volume'}`, `ContainerSpec.Mounts[${i}]`),
  );
  if (spec.ReadOnly) need('read-only', 'ContainerSpec.ReadOnly');
  if (spec.Init) need('init', 'ContainerSpec.Init');
  if (spec.TTY) need('tty', 'ContainerSpec.TTY');
  if (spec.OpenStdin) need('stdin', 'ContainerSpec.OpenStdin');
  if (asksForSomething(spec.Privileges)) need('privileges', 'ContainerSpec.Privileges');
  if (spec.Hosts?.length) need('extra-hosts', 'ContainerSpec.Hosts');
  if (spec.DNSConfig && Object.values(spec.DNSConfig).some((v) => Array.isArray(v) && v.length > 0)) {
    need('dns-config', 'ContainerSpec.DNSConfig');
  }
  if (spec.Sysctls && Object.keys(spec.Sysctls).length > 0) need('sysctls', 'ContainerSpec.Sysctls');
  if (spec.CapabilityAdd?.length) need('capabilities', 'ContainerSpec.CapabilityAdd');
  if (spec.CapabilityDrop?.length) need('capabilities', 'ContainerSpec.CapabilityDrop');
  if (spec.Ulimits?.length) need('ulimits', 'ContainerSpec.Ulimits');
  if (spec.Isolation && spec.Isolation !== 'default')
    need(`isolation:${spec.Isolation}`, 'ContainerSpec.Isolation');
  if (spec.Secrets?.length) need('secrets', 'ContainerSpec.Secrets');
  if (spec.Configs?.length) need('configs', 'ContainerSpec.Configs');
  if (spec.OomScoreAdj) need('oom-score-adj', 'ContainerSpec.OomScoreAdj');
  return needs;
}

/**
 * Whether a value asks for anything: Docker's clients send `Privileges` with every member empty
 * (`{"CredentialSpec":null,"SELinuxContext":null,"NoNewPrivileges":false}` from `docker stack deploy`),
 * which asks for nothing.
 */
function asksForSomething(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '' || value === 0) return false;
  if (Array.isArray(value)) return value.some(asksForSomething);
  if (typeof value === 'object') return Object.values(value).some(asksForSomething);
  return true;
}

/** A need in words, for refusals: `ContainerSpec.Mounts[0] (mount:bind)`. */
export function describeNeed(need: SpecNeed): string {
  return `${need.field} (${need.feature})`;
}

/** The executor a node runs, from its description; nodes of versions that did not say run processes. */
export function executorOf(engineLabels: Readonly<Record<string, string>> | undefined): ExecutorKind {
  const label =
    engineLabels && Object.hasOwn(engineLabels, EXECUTOR_LABEL) ? engineLabels[EXECUTOR_LABEL] : undefined;
  return isExecutorKind(label) ? label : 'process';
}

/** The needs of a spec that an executor cannot honour. */
export function unhonoured(kind: ExecutorKind, needs: readonly SpecNeed[]): SpecNeed[] {
  return needs.filter((need) => !executorHonours(kind, need.feature));
}
