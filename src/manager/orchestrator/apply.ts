// Applying actions in a store transaction: the only place the orchestrators write. Each action re-reads
// its object inside the transaction and is skipped when the store has moved past it, so a plan computed
// from a slightly older snapshot can never lower a desired state, overwrite a newer status, or delete a
// task that changed in between, or change the update status of a service that was updated meanwhile.
// Nothing is written for an action that would change nothing. Rollouts to remember are the loop's
// business (orchestrator.ts); they are neither written nor counted here.

import { rank } from '../../api/taskstate.js';
import type { Service } from '../../api/types.js';
import type { ReadTx, WriteTx } from '../../store/objects.js';
import { publishedPortsInUse, serviceEndpoint } from '../endpoint.js';
import {
  assertNever,
  type OrchestratorAction,
  type PendingStart,
  type StoreWrite,
  type UpdateGuard,
} from './actions.js';
import { jsonEqualIgnoringEmpty } from '../../api/json-equal.js';

export interface ApplyOutcome {
  /** Actions that changed the store. */
  readonly written: number;
  /** Actions skipped because the store had moved on (or they would change nothing). */
  readonly skipped: number;
  /** Delayed starts to remember, for tasks that exist after this transaction. */
  readonly starts: readonly PendingStart[];
}

/**
 * `planRevision` is the store revision the plan was computed at: a task is not created for a service
 * written since (scaled down, updated), because the plan may no longer want it — the pass that the
 * service's change triggers plans again.
 */
export function applyActions(
  tx: WriteTx,
  actions: readonly OrchestratorAction[],
  planRevision = Number.POSITIVE_INFINITY,
): ApplyOutcome {
  let written = 0;
  let rollouts = 0;
  const starts: PendingStart[] = [];
  for (const action of actions) {
    if (action.kind === 'scheduleStart') starts.push(action.start);
    else if (action.kind === 'trackRollout') rollouts++;
    else if (applyOne(tx, action, planRevision)) written++;
  }
  return {
    written,
    skipped: actions.length - written - starts.length - rollouts,
    starts: startsToRemember(tx, starts),
  };
}

/** Delayed starts whose task exists and is still waiting (its creation may have been skipped). */
export function startsToRemember(tx: ReadTx, starts: readonly PendingStart[]): PendingStart[] {
  return starts.filter((start) => tx.get('task', start.taskId)?.DesiredState === 'ready');
}

function applyOne(tx: WriteTx, action: StoreWrite, planRevision: number): boolean {
  switch (action.kind) {
    case 'createTask': {
      // The service may have been deleted or changed since the plan was made.
      const service = tx.get('service', action.task.ServiceID);
      if (!service || service.Version.Index > planRevision || tx.get('task', action.task.ID)) return false;
      tx.create('task', action.task);
      return true;
    }
    case 'setDesiredState': {
      const task = tx.get('task', action.taskId);
      // Desired state never decreases ("time travel is not allowed").
      if (!task || rank(action.state) <= rank(task.DesiredState)) return false;
      tx.update('task', { ...task, DesiredState: action.state });
      return true;
    }
    case 'setTaskState': {
      const task = tx.get('task', action.taskId);
      if (!task || task.Status.State !== action.from || rank(action.state) <= rank(task.Status.State))
        return false;
      const status = {
        ...task.Status,
        State: action.state,
        Message: action.message,
        Timestamp: action.timestamp,
      };
      if (action.err !== undefined) status.Err = action.err;
      else delete status.Err;
      tx.update('task', { ...task, Status: status });
      return true;
    }
    case 'deleteTask': {
      const task = tx.get('task', action.taskId);
      if (!task || task.Version.Index !== action.version) return false;
      tx.delete('task', action.taskId);
      return true;
    }
    case 'setUpdateStatus': {
      const service = tx.get('service', action.serviceId);
      if (!service || !isSameUpdate(service, action.expected)) return false;
      if (jsonEqualIgnoringEmpty(service.UpdateStatus, action.status)) return false;
      tx.update('service', { ...service, UpdateStatus: { ...action.status } });
      return true;
    }
    case 'rollBackService': {
      const service = tx.get('service', action.serviceId);
      if (!service?.PreviousSpec || !isSameUpdate(service, action.expected)) return false;
      const next: Service = {
        ...service,
        Spec: structuredClone(service.PreviousSpec),
        SpecVersion: { Index: service.PreviousSpecVersion?.Index ?? 0 },
        UpdateStatus: { ...action.status },
      };
      delete next.PreviousSpec;
      delete next.PreviousSpecVersion;
      // The endpoint follows the spec, as the control API keeps it on every update and rollback.
      try {
        next.Endpoint = serviceEndpoint(
          next.Spec,
          service.Endpoint,
          publishedPortsInUse(tx.list('service'), service.ID),
        );
      } catch {
        // No dynamic port left for the previous spec (every one taken meanwhile): the rollback goes on
        // with the ports the service has, rather than stopping half way.
        next.Endpoint = {
          ...structuredClone(service.Endpoint ?? {}),
          Spec: structuredClone(next.Spec.EndpointSpec ?? {}),
        };
      }
      tx.update('service', next);
      return true;
    }
    default:
      return assertNever(action);
  }
}

/** The service is still at the spec version and update state the decision was made on. */
function isSameUpdate(service: Readonly<Service>, expected: UpdateGuard): boolean {
  return (
    (service.SpecVersion?.Index ?? 0) === expected.specVersion &&
    service.UpdateStatus?.State === expected.state
  );
}

/**
 * Store writes per transaction when a plan is applied in pieces (see splitForApply). A commit of 250 task
 * writes takes a few tens of milliseconds here; with 1,000 the API answered in up to 1.1 s while 50,000
 * replicas were created, with 250 in at most 0.27 s, for about the same total time.
 */
export const ACTIONS_PER_TRANSACTION = 250;

/**
 * Cuts a plan into transactions of at most `max` actions, so a big change (a scale to thousands) never
 * holds the store or the event loop for long. Every action is safe to apply late (actions.ts), so the
 * order across transactions only has to keep two things: a service's update status or rollback goes last,
 * after the tasks created on the plan's premise — which the create guard (the service not written since
 * the plan) would otherwise refuse — and the notes for the loop's memory go with the last transaction, when
 * the tasks they refer to exist.
 */
export function splitForApply(
  actions: readonly OrchestratorAction[],
  max = ACTIONS_PER_TRANSACTION,
): OrchestratorAction[][] {
  const tasks: OrchestratorAction[] = [];
  const last: OrchestratorAction[] = [];
  for (const action of actions) {
    if (isServiceWrite(action) || action.kind === 'scheduleStart' || action.kind === 'trackRollout') {
      last.push(action);
    } else {
      tasks.push(action);
    }
  }
  const chunks: OrchestratorAction[][] = [];
  for (let at = 0; at < tasks.length; at += max) chunks.push(tasks.slice(at, at + max));
  if (last.length > 0 || chunks.length === 0) chunks.push(last);
  return chunks;
}

const isServiceWrite = (action: OrchestratorAction): boolean =>
  action.kind === 'setUpdateStatus' || action.kind === 'rollBackService';

/** The service an action belongs to, for isolating a failed transaction per service. */
export function serviceOfAction(tx: ReadTx, action: OrchestratorAction): string | undefined {
  switch (action.kind) {
    case 'createTask':
      return action.task.ServiceID;
    case 'setUpdateStatus':
    case 'rollBackService':
    case 'trackRollout':
      return action.serviceId;
    case 'scheduleStart':
      return action.start.serviceId;
    case 'setDesiredState':
    case 'setTaskState':
    case 'deleteTask':
      return tx.get('task', action.taskId)?.ServiceID;
    default:
      return assertNever(action);
  }
}
