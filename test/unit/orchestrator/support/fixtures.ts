// Builders for the orchestrator tests: nodes, services and tasks in the shapes the control API, the
// scheduler and the agents leave in the store, plus a readable summary of a core's actions.

import { formatTimestamp } from '../../../../src/api/time.js';
import type {
  Cluster,
  Node,
  Service,
  ServiceMode,
  Task,
  TaskSpec,
  TaskState,
} from '../../../../src/api/types.js';
import type { OrchestratorAction, PendingStart } from '../../../../src/manager/orchestrator/actions.js';
import {
  snapshotOf,
  type ReconcileContext,
  type SnapshotObjects,
} from '../../../../src/manager/orchestrator/snapshot.js';

/** The tests' epoch; times are given as seconds after it. */
export const T0 = Date.parse('2024-05-01T12:00:00.000Z');
export const at = (seconds: number): string => formatTimestamp(T0 + seconds * 1000);
export const ms = (seconds: number): number => T0 + seconds * 1000;
export const SECOND_NS = 1_000_000_000;

export interface NodeOptions {
  state?: Node['Status']['State'];
  availability?: 'active' | 'pause' | 'drain';
  labels?: Record<string, string>;
  createdAt?: number;
  nanoCPUs?: number;
  memoryBytes?: number;
}

export function makeNode(id: string, options: NodeOptions = {}): Node {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: at(options.createdAt ?? -3600),
    UpdatedAt: at(options.createdAt ?? -3600),
    Spec: { Role: 'worker', Availability: options.availability ?? 'active', Labels: options.labels ?? {} },
    Description: {
      Hostname: id,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: options.nanoCPUs ?? 4e9, MemoryBytes: options.memoryBytes ?? 8 * 2 ** 30 },
      Engine: { EngineVersion: 'shoal' },
    },
    Status: { State: options.state ?? 'ready', Addr: '10.0.0.1' },
  };
}

export interface ServiceOptions {
  replicas?: number;
  mode?: ServiceMode;
  taskTemplate?: TaskSpec;
  specVersion?: number;
  iteration?: number;
  createdAt?: number;
  updateState?: NonNullable<Service['UpdateStatus']>['State'];
}

export function makeService(id: string, options: ServiceOptions = {}): Service {
  const mode = options.mode ?? { Replicated: { Replicas: options.replicas ?? 1 } };
  const service: Service = {
    ID: id,
    Version: { Index: 10 },
    CreatedAt: at(options.createdAt ?? -60),
    UpdatedAt: at(options.createdAt ?? -60),
    Spec: {
      Name: id,
      TaskTemplate: options.taskTemplate ?? { ContainerSpec: { Image: 'nginx:1' } },
      Mode: mode,
    },
    SpecVersion: { Index: options.specVersion ?? 0 },
  };
  if (mode.ReplicatedJob || mode.GlobalJob) {
    service.JobStatus = { JobIteration: { Index: options.iteration ?? 0 }, LastExecution: service.CreatedAt };
  }
  if (options.updateState) service.UpdateStatus = { State: options.updateState };
  return service;
}

/** A new spec version of the service (what `docker service update` leaves behind). */
export function updated(service: Service, change: (spec: TaskSpec) => TaskSpec): Service {
  const version = (service.SpecVersion?.Index ?? 0) + 100;
  return {
    ...service,
    Spec: { ...service.Spec, TaskTemplate: change(structuredClone(service.Spec.TaskTemplate ?? {})) },
    SpecVersion: { Index: version },
  };
}

export interface TaskOptions {
  id?: string;
  slot?: number;
  node?: string;
  state?: TaskState;
  desired?: TaskState;
  /** Seconds after T0. */
  createdAt?: number;
  /** Seconds after T0 (the status timestamp; defaults to creation). */
  statusAt?: number;
  iteration?: number;
}

let taskCounter = 0;

/** A task as the service's orchestrator would have made it, moved on to the given state. */
export function makeTask(service: Service, options: TaskOptions = {}): Task {
  const id = options.id ?? `t${++taskCounter}`;
  const task: Task = {
    ID: id,
    Version: { Index: 5 },
    CreatedAt: at(options.createdAt ?? 0),
    UpdatedAt: at(options.statusAt ?? options.createdAt ?? 0),
    Spec: structuredClone(service.Spec.TaskTemplate ?? {}),
    ServiceID: service.ID,
    ServiceAnnotations: { Name: service.Spec.Name ?? '' },
    Slot: options.slot ?? (service.Spec.Mode?.Global || service.Spec.Mode?.GlobalJob ? 0 : 1),
    Status: {
      Timestamp: at(options.statusAt ?? options.createdAt ?? 0),
      State: options.state ?? 'running',
      Message: '',
    },
    DesiredState: options.desired ?? (service.JobStatus ? 'complete' : 'running'),
    Endpoint: { Spec: structuredClone(service.Spec.EndpointSpec) },
  };
  if (service.SpecVersion) task.SpecVersion = { ...service.SpecVersion };
  if (options.node) task.NodeID = options.node;
  if (service.JobStatus)
    task.JobIteration = { Index: options.iteration ?? service.JobStatus.JobIteration.Index };
  return task;
}

export function makeCluster(historyLimit?: number): Cluster {
  return {
    ID: 'cluster',
    Version: { Index: 1 },
    CreatedAt: at(-7200),
    UpdatedAt: at(-7200),
    Spec: {
      Name: 'default',
      Orchestration: historyLimit === undefined ? {} : { TaskHistoryRetentionLimit: historyLimit },
    },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DefaultAddrPool: null,
    SubnetSize: 24,
    DataPathPort: 4789,
    JoinTokens: { Worker: '', Manager: '' },
  };
}

export function contextOf(
  objects: SnapshotObjects,
  nowSeconds = 0,
  pendingStarts: readonly PendingStart[] = [],
): ReconcileContext {
  return {
    snapshot: snapshotOf(objects),
    now: ms(nowSeconds),
    pendingStarts: new Map(pendingStarts.map((s) => [s.taskId, s])),
    rollouts: new Map(),
  };
}

export const created = (actions: readonly OrchestratorAction[]): Task[] =>
  actions.flatMap((a) => (a.kind === 'createTask' ? [a.task] : []));

/** `taskId → state` for every setDesiredState action. */
export const desiredChanges = (actions: readonly OrchestratorAction[]): Record<string, TaskState> =>
  Object.fromEntries(actions.flatMap((a) => (a.kind === 'setDesiredState' ? [[a.taskId, a.state]] : [])));

export const deleted = (actions: readonly OrchestratorAction[]): string[] =>
  actions.flatMap((a) => (a.kind === 'deleteTask' ? [a.taskId] : [])).sort();

export const scheduledStarts = (actions: readonly OrchestratorAction[]): PendingStart[] =>
  actions.flatMap((a) => (a.kind === 'scheduleStart' ? [a.start] : []));

export const slotsOf = (tasks: readonly Task[]): number[] =>
  tasks.map((t) => t.Slot ?? 0).sort((a, b) => a - b);
