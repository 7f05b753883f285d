// Building a new task for a service (swarmkit orchestrator.NewTask).

import { newId } from '../../api/ids.js';
import type { Cluster, Driver, Service, Task, TaskState } from '../../api/types.js';
import { toTimestamp } from './time.js';

/**
 * swarmkit keeps the resolved log driver on the task (`Task.LogDriver`): the service's own, else the
 * cluster default at creation time. shoal's Task type has no such field yet, so it rides along as an
 * extra property; agents read it from there.
 */
export type OrchestratedTask = Task & { LogDriver?: Driver };

export interface NewTaskPlacement {
  /** Replicated services: 1..N; replicated jobs: 0..TotalCompletions-1; global modes: 0. */
  readonly slot: number;
  /** Preset for global modes (the scheduler only confirms it); empty otherwise. */
  readonly nodeId?: string;
  readonly desiredState: TaskState;
  /** Job tasks carry the iteration they were created for. */
  readonly jobIteration?: number;
}

export function newTask(
  service: Readonly<Service>,
  cluster: Readonly<Cluster> | undefined,
  placement: NewTaskPlacement,
  now: number,
): OrchestratedTask {
  const timestamp = toTimestamp(now);
  const logDriver = service.Spec.TaskTemplate?.LogDriver ?? cluster?.Spec.TaskDefaults?.LogDriver;
  const task: OrchestratedTask = {
    ID: newId(),
    Version: { Index: 0 },
    CreatedAt: timestamp,
    UpdatedAt: timestamp,
    Spec: structuredClone(service.Spec.TaskTemplate ?? {}),
    ServiceID: service.ID,
    ServiceAnnotations: {
      Name: service.Spec.Name ?? '',
      ...(service.Spec.Labels ? { Labels: structuredClone(service.Spec.Labels) } : {}),
    },
    Slot: placement.slot,
    Status: { Timestamp: timestamp, State: 'new', Message: 'created' },
    DesiredState: placement.desiredState,
    Endpoint: { Spec: structuredClone(service.Spec.EndpointSpec) },
  };
  if (service.SpecVersion) task.SpecVersion = { Index: service.SpecVersion.Index };
  if (placement.nodeId) task.NodeID = placement.nodeId;
  if (placement.jobIteration !== undefined) task.JobIteration = { Index: placement.jobIteration };
  if (logDriver) task.LogDriver = structuredClone(logDriver);
  return task;
}
