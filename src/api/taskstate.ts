import type { TaskState } from './types.js';

/** swarmkit's numeric task states: comparisons are numeric and states only move forward. */
export const TASK_STATE_RANK: Readonly<Record<TaskState, number>> = {
  new: 0,
  allocated: 128,
  pending: 64,
  assigned: 192,
  accepted: 256,
  preparing: 320,
  ready: 384,
  starting: 448,
  running: 512,
  complete: 576,
  shutdown: 640,
  failed: 704,
  rejected: 768,
  remove: 800,
  orphaned: 832,
};

export const rank = (state: TaskState): number => TASK_STATE_RANK[state];

export const isBefore = (a: TaskState, b: TaskState): boolean => rank(a) < rank(b);
export const isAfter = (a: TaskState, b: TaskState): boolean => rank(a) > rank(b);
export const atLeast = (a: TaskState, b: TaskState): boolean => rank(a) >= rank(b);
export const atMost = (a: TaskState, b: TaskState): boolean => rank(a) <= rank(b);

/** Terminal = the task has stopped for good (observed state past running). */
export const isTerminal = (state: TaskState): boolean => rank(state) > rank('running');
