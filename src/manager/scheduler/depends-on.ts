// `depends_on` honoured by the manager (shoal's addition; a stack file asks for it with
// `x-shoal: {depends_on: true}`, which labels its services with `shoal.stack.depends-on`,
// src/api/depends-on.ts). A service's tasks are not placed while one of its dependencies has not met its
// condition: they stay PENDING with the reason in their status error (`docker service ps` shows it), and
// are placed as soon as every dependency meets it. Because the hold is a scheduling decision, it applies
// every time a task of the service is to start — the first deploy, a restart after a failure, a rolling
// update, a node that comes back, a manager restart — not only while a CLI is watching. Tasks already
// running are left alone when a dependency stops meeting its condition (as Compose leaves them).
//
// A dependency's condition is judged on the newest task of each of its slots (a replica, a node of a
// global service, a job slot), leaving out slots that are being removed:
//   - service_started: every slot's task has started (STARTING or RUNNING), and a replicated service has
//     as many such slots as it wants replicas;
//   - service_healthy: the same with RUNNING (a task with a health check runs only once it is healthy,
//     as in Swarm);
//   - service_completed_successfully: every slot's task has COMPLETED (exit code 0).
// A dependency that does not exist holds the dependent's tasks, saying so.

import { LABEL_DEPENDS_ON, parseDependsOn, type Condition } from '../../api/depends-on.js';
import { atMost } from '../../api/taskstate.js';
import type { Service, Task } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';
import type { SchedulingDecision, SchedulingSnapshot } from './snapshot.js';

export interface DependencyGate {
  /** The snapshot without the tasks held back, for the scheduler's core. */
  readonly snapshot: SchedulingSnapshot;
  /** The held tasks, left PENDING with the reason as their status error. */
  readonly decisions: readonly SchedulingDecision[];
  /** Services whose changes (their tasks' states, their spec) may release a hold. */
  readonly watched: ReadonlySet<string>;
}

const WAITING: Record<Condition, string> = {
  service_started: 'to start',
  service_healthy: 'to be healthy',
  service_completed_successfully: 'to complete successfully',
};

/** Tasks waiting for a node (or for confirmation on theirs) that are still wanted. */
const waitsForPlacement = (task: Task): boolean =>
  task.Status.State === 'pending' && atMost(task.DesiredState, 'complete');

/** The newest task of each slot (replica, node or job slot) of a service that is not being removed. */
function currentTasks(tasks: readonly Task[]): Task[] {
  const newest = new Map<string, Task>();
  for (const task of tasks) {
    const key =
      task.Slot !== undefined && task.Slot !== 0 ? `slot:${task.Slot}` : `node:${task.NodeID ?? task.ID}`;
    const seen = newest.get(key);
    if (!seen || newer(task, seen)) newest.set(key, task);
  }
  return [...newest.values()].filter((t) => atMost(t.DesiredState, 'complete'));
}

/** The later of two tasks of a slot: created later (then written later). */
function newer(a: Task, b: Task): boolean {
  const ca = Date.parse(a.CreatedAt) || 0;
  const cb = Date.parse(b.CreatedAt) || 0;
  if (ca !== cb) return ca > cb;
  return (a.Version?.Index ?? 0) >= (b.Version?.Index ?? 0);
}

const STARTED = new Set(['starting', 'running']);

/** Whether the dependency meets the condition. */
export function conditionMet(service: Service, tasks: readonly Task[], condition: Condition): boolean {
  const current = currentTasks(tasks);
  if (current.length === 0) return false;
  let ok: (task: Task) => boolean;
  switch (condition) {
    case 'service_started':
      ok = (t) => STARTED.has(t.Status.State);
      break;
    case 'service_healthy':
      ok = (t) => t.Status.State === 'running';
      break;
    case 'service_completed_successfully':
      return current.every((t) => t.Status.State === 'complete');
  }
  if (!current.every(ok)) return false;
  const replicas = service.Spec.Mode?.Replicated?.Replicas;
  return replicas === undefined || current.length >= replicas;
}

/** The hold on each dependent service's waiting tasks, for one scheduling pass. */
export function dependencyGate(snapshot: SchedulingSnapshot): DependencyGate {
  const byName = new Map(snapshot.services.map((s) => [s.Spec.Name ?? '', s]));
  const tasksOf = new Map<string, Task[]>();
  for (const task of snapshot.tasks) {
    const list = tasksOf.get(task.ServiceID);
    if (list) list.push(task);
    else tasksOf.set(task.ServiceID, [task]);
  }
  const watched = new Set<string>();
  const held = new Map<string, string>();
  for (const service of snapshot.services) {
    const labels = service.Spec.Labels ?? {};
    if (!Object.hasOwn(labels, LABEL_DEPENDS_ON)) continue;
    const waiting = (tasksOf.get(service.ID) ?? []).filter(waitsForPlacement);
    if (waiting.length === 0) continue;
    watched.add(service.ID);
    const deps = parseDependsOn(labels[LABEL_DEPENDS_ON]!);
    if (deps === undefined) {
      const reason = `invalid ${LABEL_DEPENDS_ON} label: ${JSON.stringify(labels[LABEL_DEPENDS_ON])}`;
      for (const task of waiting) held.set(task.ID, reason);
      continue;
    }
    const reasons: string[] = [];
    for (const dep of deps) {
      const target = byName.get(dep.service);
      if (!target) {
        reasons.push(`waiting for ${dep.service} ${WAITING[dep.condition]}: no such service`);
        continue;
      }
      watched.add(target.ID);
      if (!conditionMet(target, tasksOf.get(target.ID) ?? [], dep.condition)) {
        reasons.push(`waiting for ${dep.service} ${WAITING[dep.condition]}`);
      }
    }
    if (reasons.length === 0) continue;
    const reason = reasons.join('; ');
    for (const task of waiting) held.set(task.ID, reason);
  }
  return {
    snapshot:
      held.size === 0 ? snapshot : { ...snapshot, tasks: snapshot.tasks.filter((t) => !held.has(t.ID)) },
    decisions: [...held].map(([taskId, error]) => ({ kind: 'unschedulable', taskId, error })),
    watched,
  };
}

/** Whether a store change touches a service the gate watches (so that a held task may now be placed). */
export function touchesWatched(watched: ReadonlySet<string>, event: ObjectEvent): boolean {
  if (watched.size === 0) return false;
  if (event.kind === 'task') {
    if (!watched.has(event.object.ServiceID)) return false;
    if (event.action !== 'update') return true;
    return (
      event.old.Status.State !== event.object.Status.State ||
      event.old.DesiredState !== event.object.DesiredState
    );
  }
  // A dependency created, updated or removed; a dependent's label changed.
  return event.kind === 'service';
}
