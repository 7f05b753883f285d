// What the browser gets of each object: the fields the page shows, taken from the objects as the Engine
// API shows them. Small on purpose — a swarm of 10,000 tasks is a snapshot of a few MiB, not of the
// 20 KiB of inspect JSON per task — and flat, so that the page compares and renders them cheaply.

import type { EventMessage, TaskReading } from '../api/control.js';
import type { Node, Service } from '../api/types.js';

export interface NodeView {
  id: string;
  hostname: string;
  role: string;
  availability: string;
  state: string;
  message: string;
  addr: string;
  leader: boolean;
  reachability: string;
  engine: string;
  nanoCpus: number;
  memoryBytes: number;
  labels: Record<string, string>;
}

export interface ServiceView {
  id: string;
  name: string;
  mode: 'replicated' | 'global' | 'replicated-job' | 'global-job';
  /** Replicas asked for (replicated services), else undefined. */
  replicas: number | undefined;
  running: number;
  desired: number;
  completed: number;
  image: string;
  stack: string;
  update: { state: string; message: string; startedAt: string; completedAt: string } | undefined;
  parallelism: number;
  failureAction: string;
  createdAt: string;
  updatedAt: string;
}

export interface TaskView {
  id: string;
  /** Docker's task name: `service.slot` (replicated) or `service.node` (global). */
  name: string;
  service: string;
  node: string;
  slot: number;
  desired: string;
  state: string;
  message: string;
  err: string;
  timestamp: string;
  createdAt: string;
  exitCode: number | undefined;
  image: string;
  upToDate: boolean;
  health: string;
}

export interface EventView {
  /** Unix milliseconds. */
  time: number;
  type: string;
  action: string;
  id: string;
  name: string;
  /** What changed (`replicas 2 → 3`), from the event's `.old`/`.new` attributes. */
  changes: string[];
}

export function nodeView(node: Node): NodeView {
  return {
    id: node.ID,
    hostname: node.Description?.Hostname ?? '',
    role: node.Spec.Role ?? 'worker',
    availability: node.Spec.Availability ?? 'active',
    state: node.Status?.State ?? 'unknown',
    message: node.Status?.Message ?? '',
    addr: node.Status?.Addr ?? '',
    leader: node.ManagerStatus?.Leader === true,
    reachability: node.ManagerStatus?.Reachability ?? '',
    engine: node.Description?.Engine?.Labels?.['shoal.executor'] ?? '',
    nanoCpus: node.Description?.Resources?.NanoCPUs ?? 0,
    memoryBytes: node.Description?.Resources?.MemoryBytes ?? 0,
    labels: { ...(node.Spec.Labels ?? {}) },
  };
}

export function serviceView(service: Service): ServiceView {
  const mode = service.Spec.Mode ?? {};
  const status = service.ServiceStatus;
  const update = service.UpdateStatus;
  return {
    id: service.ID,
    name: service.Spec.Name ?? service.ID,
    mode: mode.Global
      ? 'global'
      : mode.ReplicatedJob
        ? 'replicated-job'
        : mode.GlobalJob
          ? 'global-job'
          : 'replicated',
    replicas: mode.Replicated ? (mode.Replicated.Replicas ?? 1) : undefined,
    running: status?.RunningTasks ?? 0,
    desired: status?.DesiredTasks ?? 0,
    completed: status?.CompletedTasks ?? 0,
    image: service.Spec.TaskTemplate?.ContainerSpec?.Image ?? '',
    stack: service.Spec.Labels?.['com.docker.stack.namespace'] ?? '',
    update: update
      ? {
          state: update.State ?? 'unknown',
          message: update.Message ?? '',
          startedAt: update.StartedAt ?? '',
          completedAt: update.CompletedAt ?? '',
        }
      : undefined,
    parallelism: service.Spec.UpdateConfig?.Parallelism ?? 1,
    failureAction: service.Spec.UpdateConfig?.FailureAction ?? 'pause',
    createdAt: service.CreatedAt,
    updatedAt: service.UpdatedAt,
  };
}

export function taskView(reading: TaskReading, serviceName: string | undefined): TaskView {
  const task = reading.task;
  const name = serviceName ?? task.ServiceID;
  return {
    id: task.ID,
    name: task.Slot ? `${name}.${task.Slot}` : `${name}.${task.NodeID ?? ''}`,
    service: task.ServiceID,
    node: task.NodeID ?? '',
    slot: task.Slot ?? 0,
    desired: task.DesiredState,
    state: task.Status.State,
    message: task.Status.Message ?? '',
    err: task.Status.Err ?? '',
    timestamp: task.Status.Timestamp,
    createdAt: task.CreatedAt,
    exitCode: task.Status.ContainerStatus?.ExitCode,
    image: task.Spec.ContainerSpec?.Image ?? '',
    upToDate: reading.upToDate,
    health: reading.health ?? '',
  };
}

export function eventView(event: EventMessage): EventView {
  const attributes = event.Actor.Attributes;
  const changes: string[] = [];
  for (const key of Object.keys(attributes)) {
    if (!key.endsWith('.new')) continue;
    const field = key.slice(0, -'.new'.length);
    const old = attributes[`${field}.old`];
    changes.push(old === undefined ? `${field} ${attributes[key]}` : `${field} ${old} → ${attributes[key]}`);
  }
  return {
    time: Number(event.timeNano / 1_000_000n),
    type: event.Type,
    action: event.Action,
    id: event.Actor.ID,
    name: attributes.name ?? '',
    changes,
  };
}
