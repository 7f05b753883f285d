// How a service's mode shapes its tasks: which orchestrator owns it, how its instances are keyed, and
// the desired state its tasks run towards.

import type { Service, TaskState } from '../../api/types.js';

export type ServiceModeKind = 'replicated' | 'global' | 'replicated-job' | 'global-job';

export function serviceModeKind(service: Readonly<Service>): ServiceModeKind {
  const mode = service.Spec.Mode;
  if (mode?.Global) return 'global';
  if (mode?.ReplicatedJob) return 'replicated-job';
  if (mode?.GlobalJob) return 'global-job';
  return 'replicated';
}

export const isJobMode = (kind: ServiceModeKind): boolean =>
  kind === 'replicated-job' || kind === 'global-job';

/** Global modes key an instance by node; replicated modes by slot number. */
export const isNodeKeyedMode = (kind: ServiceModeKind): boolean => kind === 'global' || kind === 'global-job';

/** Job tasks run to completion (desired COMPLETE); service tasks run (desired RUNNING). */
export const runTarget = (kind: ServiceModeKind): TaskState => (isJobMode(kind) ? 'complete' : 'running');

/** The Engine API runs one replica when the count is missing (swarmkit itself has no default). */
export const desiredReplicas = (service: Readonly<Service>): number =>
  Math.max(0, service.Spec.Mode?.Replicated?.Replicas ?? 1);

export interface ReplicatedJobParameters {
  readonly maxConcurrent: number;
  readonly totalCompletions: number;
}

/** The Engine API's defaults: MaxConcurrent 1, TotalCompletions = MaxConcurrent. */
export function replicatedJobParameters(service: Readonly<Service>): ReplicatedJobParameters {
  const job = service.Spec.Mode?.ReplicatedJob;
  const maxConcurrent = Math.max(0, job?.MaxConcurrent ?? 1);
  return { maxConcurrent, totalCompletions: Math.max(0, job?.TotalCompletions ?? maxConcurrent) };
}

export const jobIteration = (service: Readonly<Service>): number =>
  service.JobStatus?.JobIteration.Index ?? 0;
