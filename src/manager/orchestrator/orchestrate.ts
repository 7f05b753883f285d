// One orchestration pass as a pure function: given a snapshot, what changed (the scope), the loop's memory
// (pending delayed starts, rollouts in progress) and the time, return the actions for the replicated,
// global and job orchestrators, the restart and update supervisors and the constraint enforcer. The
// allocator stand-in and the task reaper are separate passes (allocate.ts, task-reaper.ts) that the loop
// runs after this one, each on a fresh snapshot.
//
// A pass never does unbounded work for one change: replicated services and jobs create at most
// `newTaskBudget` tasks per pass (the loop runs another pass at once for the rest, serving the API in
// between), and the work for each service and node is isolated (isolation.ts): one that throws is
// reported in `failures` and left out, the others go on.

import { failedPrecondition } from '../../api/errors.js';
import { serviceOverLimits, taskLimits } from '../limits.js';
import { assertNever, type OrchestratorAction, type PendingStart } from './actions.js';
import { enforceConstraints } from './constraint-enforcer.js';
import { removeTasksOfDeletedService } from './deleted-service.js';
import { reconcileGlobalService } from './global/reconcile.js';
import { reconcileGlobalJob } from './jobs/global-job.js';
import { reconcileReplicatedJob } from './jobs/replicated-job.js';
import { reconcileReplicatedService } from './replicated/reconcile.js';
import { evaluatePendingStarts, resumedStart } from './restart/delayed-start.js';
import { isNodeKeyedMode, serviceModeKind } from './service-mode.js';
import type { ReconcileContext, Snapshot } from './snapshot.js';
import { isolate, type HeldCheck, type ObjectFailure } from '../isolation.js';
import { groupByInstance } from './slots.js';
import type { Rollout } from './update/rollout.js';

/** What changed since the last pass: services (created, updated, deleted, or their tasks) and nodes. */
export interface ReconcileScope {
  readonly services: ReadonlySet<string>;
  readonly nodes: ReadonlySet<string>;
}

export interface OrchestrationPlan {
  readonly actions: readonly OrchestratorAction[];
  /** Every service the pass looked at, deleted ones included (the allocator and reaper follow them). */
  readonly services: ReadonlySet<string>;
  /** Services and nodes whose work threw: their actions are left out of this plan. */
  readonly failures: readonly ObjectFailure[];
  /** The new-task budget ran out: some service may still be short of tasks, another pass must follow. */
  readonly budgetExhausted: boolean;
}

/** Tasks one pass creates at most to fill replicated services and jobs (see the top of this file). */
export const NEW_TASK_BUDGET = 1_000;

export interface OrchestrateOptions {
  /** Defaults to NEW_TASK_BUDGET. */
  readonly newTaskBudget?: number;
  /** Objects the loop has set aside after a failure; skipped until their retry time. */
  readonly isHeld?: HeldCheck;
}

/** Everything in the store: used when the loop starts (leader start, daemon restart). */
export function fullScope(snapshot: Snapshot): ReconcileScope {
  const services = new Set(snapshot.services().map((s) => s.ID));
  for (const task of snapshot.tasks()) services.add(task.ServiceID);
  return { services, nodes: new Set(snapshot.nodes().map((n) => n.ID)) };
}

export function orchestrate(
  snapshot: Snapshot,
  scope: ReconcileScope,
  pendingStarts: ReadonlyMap<string, PendingStart>,
  now: number,
  rollouts: ReadonlyMap<string, Rollout> = new Map(),
  options: OrchestrateOptions = {},
): OrchestrationPlan {
  const isHeld = options.isHeld ?? (() => false);
  const failures: ObjectFailure[] = [];
  const services = servicesAffected(snapshot, scope, { pendingStarts, rollouts }, now);
  for (const id of services) {
    const service = snapshot.service(id);
    if (service && isHeld('service', id, service.Version.Index)) services.delete(id);
  }
  const adopted = adoptWaitingTasks(snapshot, services, pendingStarts, failures);
  const ctx: ReconcileContext = {
    snapshot,
    now,
    pendingStarts:
      adopted.length === 0
        ? pendingStarts
        : new Map([...pendingStarts, ...adopted.map((s) => [s.taskId, s] as const)]),
    rollouts,
  };
  const actions: OrchestratorAction[] = adopted.map((start) => ({ kind: 'scheduleStart', start }));
  for (const nodeId of scope.nodes) {
    const node = snapshot.node(nodeId);
    if (!node || isHeld('node', nodeId, node.Version.Index)) continue;
    const object = { kind: 'node', id: nodeId, version: node.Version.Index } as const;
    actions.push(...isolate(object, failures, () => enforceConstraints(snapshot, node, now)));
  }
  let budget = options.newTaskBudget ?? NEW_TASK_BUDGET;
  let budgetExhausted = false;
  for (const serviceId of services) {
    const version = snapshot.service(serviceId)?.Version.Index ?? 0;
    const serviceActions = isolate({ kind: 'service', id: serviceId, version }, failures, () =>
      reconcileService(serviceId, { ...ctx, maxNewTasks: budget }),
    );
    for (const action of serviceActions) if (action.kind === 'createTask') budget--;
    if (budget <= 0) budgetExhausted = true;
    actions.push(...serviceActions);
  }
  const starts = evaluatePendingStarts(ctx);
  for (const failure of starts.failures)
    if (!failures.some((f) => f.id === failure.id)) failures.push(failure);
  actions.push(...starts.actions);
  return { actions, services, failures, budgetExhausted };
}

/**
 * Dispatches a service to the orchestrator of its mode; a deleted service's tasks are removed. A stored
 * service above the task limits (stored by an older version, or the limits lowered since) is refused
 * here, so that it can neither fill the store nor run the manager out of memory.
 */
export function reconcileService(serviceId: string, ctx: ReconcileContext): OrchestratorAction[] {
  const service = ctx.snapshot.service(serviceId);
  if (!service) return removeTasksOfDeletedService(ctx.snapshot.tasksOfService(serviceId));
  const overLimits = serviceOverLimits(
    service.Spec,
    taskLimits(ctx.snapshot.cluster()),
    ctx.snapshot.nodes().length,
  );
  if (overLimits !== undefined) throw failedPrecondition(`service is not orchestrated: ${overLimits}`);
  const mode = serviceModeKind(service);
  switch (mode) {
    case 'replicated':
      return reconcileReplicatedService(service, ctx);
    case 'global':
      return reconcileGlobalService(service, ctx);
    case 'replicated-job':
      return reconcileReplicatedJob(service, ctx);
    case 'global-job':
      return reconcileGlobalJob(service, ctx);
    default:
      return assertNever(mode);
  }
}

/**
 * The services a change touches: those named, those with tasks on a changed node, every global-mode
 * service when any node changed (a node may have become eligible), those with a delayed start that
 * is due (a replacement that failed while waiting is restarted then), and those whose rollout has waited
 * out an update delay or its final monitoring period.
 */
function servicesAffected(
  snapshot: Snapshot,
  scope: ReconcileScope,
  memory: Pick<ReconcileContext, 'pendingStarts' | 'rollouts'>,
  now: number,
): Set<string> {
  const services = new Set(scope.services);
  for (const nodeId of scope.nodes) {
    for (const task of snapshot.tasksOnNode(nodeId)) services.add(task.ServiceID);
  }
  if (scope.nodes.size > 0) {
    for (const service of snapshot.services()) {
      if (isNodeKeyedMode(serviceModeKind(service))) services.add(service.ID);
    }
  }
  for (const start of memory.pendingStarts.values()) {
    if (start.notBefore <= now) services.add(start.serviceId);
  }
  for (const rollout of memory.rollouts.values()) {
    if (rollout.wakeAt !== undefined && rollout.wakeAt <= now) services.add(rollout.serviceId);
  }
  return services;
}

/** Tasks found waiting (desired READY) that the loop does not know about: resume their delayed start. */
function adoptWaitingTasks(
  snapshot: Snapshot,
  services: Set<string>,
  pendingStarts: ReadonlyMap<string, PendingStart>,
  failures: ObjectFailure[],
): PendingStart[] {
  const adopted: PendingStart[] = [];
  for (const serviceId of services) {
    const service = snapshot.service(serviceId);
    if (!service) continue;
    const object = { kind: 'service', id: serviceId, version: service.Version.Index } as const;
    const count = failures.length;
    adopted.push(
      ...isolate(object, failures, () => {
        const found: PendingStart[] = [];
        const tasks = snapshot.tasksOfService(serviceId);
        if (!tasks.some((t) => t.DesiredState === 'ready' && !pendingStarts.has(t.ID))) return found;
        for (const instance of groupByInstance(tasks, serviceModeKind(service)).values()) {
          for (const task of instance) {
            if (task.DesiredState === 'ready' && !pendingStarts.has(task.ID))
              found.push(resumedStart(task, instance));
          }
        }
        return found;
      }),
    );
    // A service that failed here is left out of the rest of the pass.
    if (failures.length > count) services.delete(serviceId);
  }
  return adopted;
}
