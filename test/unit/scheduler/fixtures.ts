// Builders for the scheduler's specifications: nodes, tasks and snapshots with readable defaults.

import type {
  EndpointPortConfig,
  Labels,
  Node,
  NodeAvailability,
  NodeRole,
  NodeState,
  Service,
  Task,
  TaskState,
} from '../../../src/api/types.js';
import { scheduleTasks } from '../../../src/manager/scheduler/schedule.js';
import type { SchedulingDecision, TaskFailure } from '../../../src/manager/scheduler/snapshot.js';

export const GiB = 1024 ** 3;
export const CPU = 1e9;
const T0 = '2024-01-01T00:00:00.000Z';

export interface NodeOptions {
  state?: NodeState;
  availability?: NodeAvailability;
  labels?: Labels;
  engineLabels?: Labels;
  nanoCPUs?: number;
  memoryBytes?: number;
  os?: string;
  arch?: string;
  role?: NodeRole;
  addr?: string;
  version?: number;
}

/** A ready, active worker with 4 CPUs and 8 GiB. */
export function node(id: string, o: NodeOptions = {}): Node {
  return {
    ID: id,
    Version: { Index: o.version ?? 1 },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: { Labels: o.labels ?? {}, Role: o.role ?? 'worker', Availability: o.availability ?? 'active' },
    Description: {
      Hostname: id,
      Platform: { OS: o.os ?? 'linux', Architecture: o.arch ?? 'x86_64' },
      Resources: { NanoCPUs: o.nanoCPUs ?? 4 * CPU, MemoryBytes: o.memoryBytes ?? 8 * GiB },
      Engine: { EngineVersion: '0.1.0', Labels: o.engineLabels ?? {} },
    },
    Status: { State: o.state ?? 'ready', Addr: o.addr ?? '10.0.0.1' },
    Role: o.role ?? 'worker',
  };
}

export interface TaskOptions {
  service?: string;
  /** The task's SpecVersion; null for a task without one. */
  version?: number | null;
  slot?: number;
  state?: TaskState;
  desired?: TaskState;
  node?: string;
  nanoCPUs?: number;
  memoryBytes?: number;
  constraints?: string[];
  spread?: string[];
  maxReplicas?: number;
  platforms?: { OS?: string; Architecture?: string }[];
  hostPorts?: (number | { port: number; protocol: 'tcp' | 'udp' })[];
  err?: string;
  createdAt?: string;
}

/** A pending, unassigned task of service `svc`, revision 1, desired running. */
export function task(id: string, o: TaskOptions = {}): Task {
  const ports: EndpointPortConfig[] = (o.hostPorts ?? []).map((p) => {
    const { port, protocol } = typeof p === 'number' ? { port: p, protocol: 'tcp' as const } : p;
    return { Protocol: protocol, TargetPort: 80, PublishedPort: port, PublishMode: 'host' };
  });
  const reservations =
    o.nanoCPUs !== undefined || o.memoryBytes !== undefined
      ? { NanoCPUs: o.nanoCPUs ?? 0, MemoryBytes: o.memoryBytes ?? 0 }
      : undefined;
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: o.createdAt ?? T0,
    UpdatedAt: T0,
    ServiceID: o.service ?? 'svc',
    Slot: o.slot,
    NodeID: o.node,
    SpecVersion: o.version === null ? undefined : { Index: o.version ?? 1 },
    Spec: {
      ContainerSpec: { Image: 'busybox' },
      Resources: reservations ? { Reservations: reservations } : undefined,
      Placement: {
        Constraints: o.constraints,
        Preferences: o.spread?.map((descriptor) => ({ Spread: { SpreadDescriptor: descriptor } })),
        MaxReplicas: o.maxReplicas,
        Platforms: o.platforms,
      },
    },
    Endpoint: ports.length ? { Spec: { Ports: ports } } : undefined,
    Status: {
      State: o.state ?? 'pending',
      Message: o.state === undefined || o.state === 'pending' ? 'pending task scheduling' : o.state,
      Timestamp: T0,
      ...(o.err === undefined ? {} : { Err: o.err }),
    },
    DesiredState: o.desired ?? 'running',
  };
}

/** `count` tasks named `<prefix>1`…, in slot order. */
export function tasks(count: number, o: TaskOptions = {}, prefix = 't'): Task[] {
  return Array.from({ length: count }, (_, i) => task(`${prefix}${i + 1}`, { slot: i + 1, ...o }));
}

/** `count` tasks already running on `nodeId`. */
export function running(
  nodeId: string,
  count: number,
  o: TaskOptions = {},
  prefix = `on-${nodeId}-`,
): Task[] {
  return tasks(count, { state: 'running', node: nodeId, ...o }, prefix);
}

export function service(id: string, specVersion: number): Service {
  return {
    ID: id,
    Version: { Index: specVersion },
    CreatedAt: T0,
    UpdatedAt: T0,
    Spec: { Name: id },
    SpecVersion: { Index: specVersion },
  };
}

export const NOW = Date.parse('2024-01-01T01:00:00.000Z');

export interface Scenario {
  nodes: Node[];
  tasks: Task[];
  services?: Service[];
  failures?: TaskFailure[];
  now?: number;
}

export function schedule(s: Scenario): SchedulingDecision[] {
  return scheduleTasks({
    nodes: s.nodes,
    tasks: s.tasks,
    services: s.services ?? [],
    failures: s.failures ?? [],
    now: s.now ?? NOW,
  });
}

/** How many tasks each node received, for nodes that received any. */
export function placements(decisions: readonly SchedulingDecision[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const d of decisions) if (d.kind === 'assign') counts[d.nodeId] = (counts[d.nodeId] ?? 0) + 1;
  return counts;
}

/** The distinct errors of unschedulable decisions. */
export function errors(decisions: readonly SchedulingDecision[]): string[] {
  return [...new Set(decisions.flatMap((d) => (d.kind === 'unschedulable' ? [d.error] : [])))];
}

export function decisionFor(
  decisions: readonly SchedulingDecision[],
  taskId: string,
): SchedulingDecision | undefined {
  return decisions.find((d) => d.taskId === taskId);
}

/** The error a lone pending task gets on these nodes. */
export function errorFor(nodes: Node[], o: TaskOptions, others: Task[] = []): string | undefined {
  const decision = decisionFor(schedule({ nodes, tasks: [task('lone', o), ...others] }), 'lone');
  return decision?.kind === 'unschedulable' ? decision.error : undefined;
}
