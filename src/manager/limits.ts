// How much one manager holds: tasks per service and in the whole swarm, and the size of a spec. Docker
// has no task limits; a replica count of a billion then takes a manager down (and, because the spec is
// stored, keeps it down on every restart). shoal refuses counts the cluster cannot hold when a service is
// created or updated, and the orchestrator refuses to act on a stored service above them (a spec stored
// by an older version, or a limit lowered since).
//
// The two task limits are settable per swarm as labels of the swarm spec — labels survive the docker
// CLI's read-modify-write of the spec, where a field Docker does not know would be dropped:
//   shoal.max-tasks-per-service   default 100,000
//   shoal.max-tasks               default 250,000 (desired tasks of all services together)

import { invalidArgument, type ShoalError } from '../api/errors.js';
import type { Cluster, ServiceSpec, SwarmSpec } from '../api/types.js';

export const MAX_TASKS_PER_SERVICE_LABEL = 'shoal.max-tasks-per-service';
export const MAX_TASKS_LABEL = 'shoal.max-tasks';
export const DEFAULT_MAX_TASKS_PER_SERVICE = 100_000;
export const DEFAULT_MAX_TASKS = 250_000;
/** The largest value either label takes: far above what a manager holds, far below 2^53. */
const LARGEST_LIMIT = 100_000_000;

/**
 * Docker bounds every message between its API and swarmkit at 4 MiB (gRPC's default). shoal bounds the
 * JSON encoding of a spec the same way, which is a little stricter (JSON is larger than protobuf).
 */
export const MAX_SPEC_BYTES = 4 * 1024 * 1024;

/**
 * Every task carries a copy of its service's task template and labels, so a large spec times many
 * replicas is what fills a manager's memory: the tasks of one service may hold at most this much spec.
 */
export const MAX_SERVICE_TASK_BYTES = 256 * 1024 * 1024;

export interface TaskLimits {
  readonly perService: number;
  readonly total: number;
}

export const DEFAULT_TASK_LIMITS: TaskLimits = {
  perService: DEFAULT_MAX_TASKS_PER_SERVICE,
  total: DEFAULT_MAX_TASKS,
};

const invalid = (message: string): ShoalError => invalidArgument(message, { rpc: true });

function parseLimit(labels: Readonly<Record<string, string>> | undefined, name: string): number | undefined {
  if (!labels || !Object.hasOwn(labels, name)) return undefined;
  const text = labels[name]!;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1 || Number(text) > LARGEST_LIMIT) {
    throw invalid(`invalid swarm label ${name}=${text}: must be a whole number from 1 to ${LARGEST_LIMIT}`);
  }
  return Number(text);
}

/** Refuses a swarm spec whose limit labels are not whole numbers in range. */
export function validateLimitLabels(spec: Readonly<SwarmSpec>): void {
  parseLimit(spec.Labels, MAX_TASKS_PER_SERVICE_LABEL);
  parseLimit(spec.Labels, MAX_TASKS_LABEL);
}

/** The cluster's limits; a label that does not parse (it cannot be stored, but still) means the default. */
export function taskLimits(cluster: Readonly<Cluster> | undefined): TaskLimits {
  const labels = cluster?.Spec.Labels;
  const read = (name: string, fallback: number): number => {
    try {
      return parseLimit(labels, name) ?? fallback;
    } catch {
      return fallback;
    }
  };
  return {
    perService: read(MAX_TASKS_PER_SERVICE_LABEL, DEFAULT_MAX_TASKS_PER_SERVICE),
    total: read(MAX_TASKS_LABEL, DEFAULT_MAX_TASKS),
  };
}

/**
 * How many tasks a spec asks for at once (global modes: one per node) and, for replicated jobs, over its
 * whole run — every completed job task stays in the store as history.
 */
export function requestedTasks(spec: Readonly<ServiceSpec>, nodeCount: number): number {
  const mode = spec.Mode ?? {};
  if (mode.Global || mode.GlobalJob) return nodeCount;
  if (mode.ReplicatedJob) {
    const maxConcurrent = mode.ReplicatedJob.MaxConcurrent ?? 1;
    return Math.max(maxConcurrent, mode.ReplicatedJob.TotalCompletions ?? maxConcurrent);
  }
  return mode.Replicated?.Replicas ?? 1;
}

/** The spec's count fields that exceed the per-service limit, with their values. */
function countsOverLimit(spec: Readonly<ServiceSpec>, limit: number): [string, number][] {
  const mode = spec.Mode ?? {};
  const fields: [string, number | undefined][] = [
    ['replicas', mode.Replicated?.Replicas],
    ['max-concurrent', mode.ReplicatedJob?.MaxConcurrent],
    ['total-completions', mode.ReplicatedJob?.TotalCompletions],
  ];
  return fields.filter((f): f is [string, number] => f[1] !== undefined && f[1] > limit);
}

export function encodedSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

/** Refuses a spec larger than a message Docker's API may send to swarmkit. */
export function checkSpecSize(
  spec: unknown,
  kind: 'service' | 'node' | 'swarm' | 'secret' | 'config' | 'network' = 'service',
): void {
  const size = encodedSize(spec);
  if (size > MAX_SPEC_BYTES) {
    const hint =
      kind === 'service'
        ? 'use fewer or smaller labels, environment variables or arguments'
        : 'use fewer or smaller labels';
    throw invalid(
      `${kind} spec is ${size} bytes, above the limit of ${MAX_SPEC_BYTES} bytes (4 MiB): ${hint}`,
    );
  }
}

export interface ServiceCountCheck {
  readonly spec: Readonly<ServiceSpec>;
  readonly limits: TaskLimits;
  readonly nodeCount: number;
  /** Tasks the other services of the swarm ask for (see requestedTasks). */
  readonly otherServicesTasks: number;
}

/**
 * Refuses a spec that asks for more tasks than one service may have, than the swarm may hold with the
 * other services, or whose tasks would hold too much spec. The message names the limit and how to raise it.
 */
export function checkServiceTaskCounts(check: ServiceCountCheck): void {
  const { spec, limits } = check;
  const [over] = countsOverLimit(spec, limits.perService);
  if (over) {
    throw invalid(
      `${over[0]} ${over[1]} is above the limit of ${limits.perService} tasks per service (swarm label ${MAX_TASKS_PER_SERVICE_LABEL})`,
    );
  }
  const wanted = requestedTasks(spec, check.nodeCount);
  if (check.otherServicesTasks + wanted > limits.total) {
    throw invalid(
      `the swarm would run ${check.otherServicesTasks + wanted} tasks, above its limit of ${limits.total} (swarm label ${MAX_TASKS_LABEL}); other services already ask for ${check.otherServicesTasks}`,
    );
  }
  const perTask = encodedSize(spec.TaskTemplate ?? {}) + encodedSize(spec.Labels ?? {});
  if (perTask * wanted > MAX_SERVICE_TASK_BYTES) {
    throw invalid(
      `${wanted} tasks of ${perTask} bytes of spec each would hold ${Math.ceil((perTask * wanted) / 2 ** 20)} MiB, above the limit of ${MAX_SERVICE_TASK_BYTES / 2 ** 20} MiB per service: make the spec smaller or ask for fewer tasks`,
    );
  }
}

/**
 * Why the orchestrator must not act on a stored service, or undefined when it may: the per-service
 * checks of `checkServiceTaskCounts` (the swarm-wide one is the control API's, when specs are written).
 */
export function serviceOverLimits(
  spec: Readonly<ServiceSpec>,
  limits: TaskLimits,
  nodeCount: number,
): string | undefined {
  try {
    checkServiceTaskCounts({ spec, limits, nodeCount, otherServicesTasks: 0 });
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
