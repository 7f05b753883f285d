// What the orchestrators' pure cores return: a list of actions, applied by the thin loop (apply.ts) in a
// store transaction. Every action is safe to apply late: apply.ts re-reads the object and skips an
// action that the store has already overtaken (desired state never goes down, a status only moves on
// from the state it was computed against, a delete only hits the version it was decided on, a service's
// update status only changes for the update it was decided for). Two kinds are not store writes but notes
// for the loop's memory (delayed starts, rollouts); the loop keeps them once the transaction committed.

import type { Task, TaskState, UpdateState, UpdateStatus } from '../../api/types.js';
import type { Rollout } from './update/rollout.js';

/**
 * A replacement task that is created with desired READY and raised to RUNNING (COMPLETE for jobs)
 * later: swarmkit's restart.Supervisor.DelayStart. The loop keeps these in memory; on leader start
 * they are rebuilt from the store (delayed-start.ts).
 */
export interface PendingStart {
  readonly taskId: string;
  readonly serviceId: string;
  /** Earliest time (ms since the epoch) to raise it: creation plus the restart delay. */
  readonly notBefore: number;
  /** Tasks that must stop first (stop-first order); the start waits for them until `stopDeadline`. */
  readonly waitForStopOf: readonly string[];
  /** swarmkit gives up waiting for the old task one minute after the restart was decided. */
  readonly stopDeadline: number;
}

/** The update a service-level action was decided for: applied only while the service is still there. */
export interface UpdateGuard {
  readonly specVersion: number;
  readonly state: UpdateState | undefined;
}

export type OrchestratorAction =
  | { readonly kind: 'createTask'; readonly task: Task }
  /** Raises `DesiredState`; never lowers it. */
  | { readonly kind: 'setDesiredState'; readonly taskId: string; readonly state: TaskState }
  /** Moves the observed state on (allocator, constraint enforcer) if it is still `from`. */
  | {
      readonly kind: 'setTaskState';
      readonly taskId: string;
      readonly from: TaskState;
      readonly state: TaskState;
      readonly message: string;
      readonly err?: string;
      readonly timestamp: string;
    }
  /** Deletes the task if it is still at `version` (the `Version.Index` the decision was made on). */
  | { readonly kind: 'deleteTask'; readonly taskId: string; readonly version: number }
  /** Replaces the service's UpdateStatus (update supervisor). */
  | {
      readonly kind: 'setUpdateStatus';
      readonly serviceId: string;
      readonly expected: UpdateGuard;
      readonly status: UpdateStatus;
    }
  /**
   * Automatic rollback: Spec ← PreviousSpec, SpecVersion ← PreviousSpecVersion, the previous
   * spec cleared, and `status` (rollback_started) recorded.
   */
  | {
      readonly kind: 'rollBackService';
      readonly serviceId: string;
      readonly expected: UpdateGuard;
      readonly status: UpdateStatus;
    }
  /** Not a store write: asks the loop to raise the task later (see PendingStart). */
  | { readonly kind: 'scheduleStart'; readonly start: PendingStart }
  /** Not a store write: the service's rollout as the loop must remember it; undefined forgets it. */
  | { readonly kind: 'trackRollout'; readonly serviceId: string; readonly rollout: Rollout | undefined };

/** Actions that only tell the loop what to remember. */
export type MemoryNote = Extract<OrchestratorAction, { kind: 'scheduleStart' | 'trackRollout' }>;

export type StoreWrite = Exclude<OrchestratorAction, MemoryNote>;

export const isMemoryNote = (action: OrchestratorAction): action is MemoryNote =>
  action.kind === 'scheduleStart' || action.kind === 'trackRollout';

export const setDesiredState = (taskId: string, state: TaskState): OrchestratorAction => ({
  kind: 'setDesiredState',
  taskId,
  state,
});

export const deleteTask = (task: Readonly<Pick<Task, 'ID' | 'Version'>>): OrchestratorAction => ({
  kind: 'deleteTask',
  taskId: task.ID,
  version: task.Version.Index,
});

export function assertNever(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value)}`);
}
