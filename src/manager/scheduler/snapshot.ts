// What the scheduler's pure core takes and returns. The loop (scheduler.ts) builds a snapshot from the
// store, the core (schedule.ts) turns it into decisions, and the loop writes them back.

import type { Node, Service, Task } from '../../api/types.js';

/** A task of a service that ended FAILED or REJECTED on a node, kept by the loop for the scoring rule. */
export interface TaskFailure {
  readonly nodeId: string;
  readonly serviceId: string;
  /** `Task.SpecVersion.Index`; failures of another revision of the service do not count against a node. */
  readonly specVersion: number | undefined;
  /** Milliseconds since the epoch. */
  readonly at: number;
}

export interface SchedulingSnapshot {
  readonly nodes: readonly Node[];
  /**
   * Every task in the store. The core finds the tasks to schedule among them and charges the
   * others to the nodes they hold resources on.
   */
  readonly tasks: readonly Task[];
  /** Only consulted to tell whether a pending task belongs to an older revision of its service. */
  readonly services: readonly Service[];
  /** Recent failures, any age: the core applies the lookback itself. */
  readonly failures: readonly TaskFailure[];
  /** Milliseconds since the epoch, for the failure lookback. */
  readonly now: number;
}

export const ASSIGNED_MESSAGE = 'scheduler assigned task to node';
export const PREASSIGNED_CONFIRMED_MESSAGE = 'scheduler confirmed task can run on preassigned node';

export type AssignMessage = typeof ASSIGNED_MESSAGE | typeof PREASSIGNED_CONFIRMED_MESSAGE;

export type SchedulingDecision =
  /** Move the task to ASSIGNED on the node. */
  | {
      readonly kind: 'assign';
      readonly taskId: string;
      readonly nodeId: string;
      readonly message: AssignMessage;
    }
  /** Leave the task PENDING with `Status.Err = error` (Docker's `no suitable node (…)`). */
  | { readonly kind: 'unschedulable'; readonly taskId: string; readonly error: string }
  /** A still-pending task of an older service revision that is no longer wanted: move it to SHUTDOWN. */
  | { readonly kind: 'shutdown'; readonly taskId: string };
