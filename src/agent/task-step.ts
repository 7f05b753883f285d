// One step of a task's life on the node (swarmkit's exec.Do): from the task's desired state and the
// agent's current status, make at most one controller call and say what the status becomes. The task
// manager calls it again and again until it answers `noop`, then waits for the manager to change the
// task.
//
//   desired ≥ SHUTDOWN   → shutdown, unless already finished
//   observed > desired   → wait (e.g. a replacement held at READY until its predecessor stops)
//   PREPARING / STARTING / RUNNING → prepare / start / wait: these may go past the desired state
//   otherwise, while observed < desired: ASSIGNED → ACCEPTED → PREPARING, READY → STARTING
//
// A controller error is fatal to the task — REJECTED if it never reached STARTING, FAILED after —
// except a cancelled operation and errors marked temporary, which are retried.

import { ExitError, type Controller } from './executor/executor.js';
import { atLeast, isAfter, isBefore } from '../api/taskstate.js';
import type { ContainerStatus, Task, TaskState, TaskStatus } from '../api/types.js';

export type StepResult =
  /** Nothing to do until the task changes. */
  | { kind: 'noop' }
  /** The operation was abandoned because the task changed under it; step again. */
  | { kind: 'interrupted' }
  | { kind: 'transition'; status: TaskStatus }
  /** A temporary failure: the status records the error; step again after a delay. */
  | { kind: 'retry'; status: TaskStatus };

/** swarmkit retries errors that say they are temporary; executors mark them so. */
export interface TemporaryError extends Error {
  temporary: true;
}

const isTemporary = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { temporary?: unknown }).temporary === true;

export async function advanceTask(
  task: Pick<Task, 'DesiredState' | 'Status'>,
  controller: Controller,
  signal: AbortSignal,
): Promise<StepResult> {
  const current = task.Status.State;
  const desired = task.DesiredState;

  const transition = (state: TaskState, message: string): StepResult => ({
    kind: 'transition',
    status: withContainerStatus({ ...task.Status, State: state, Message: message }, controller),
  });

  const fatal = (err: unknown): StepResult => {
    const message = err instanceof Error ? err.message : String(err);
    if (isTemporary(err)) return { kind: 'retry', status: { ...task.Status, Err: message } };
    const state: TaskState = isBefore(current, 'starting') ? 'rejected' : 'failed';
    return {
      kind: 'transition',
      status: withContainerStatus(
        { ...task.Status, State: state, Err: message },
        controller,
        exitCodeOf(err),
      ),
    };
  };

  /** Runs a controller operation, abandoning it (not its result) when the task changes meanwhile. */
  const operate = async (
    operation: () => Promise<void>,
    next: TaskState,
    message: string,
  ): Promise<StepResult> => {
    if (signal.aborted) return { kind: 'interrupted' };
    const outcome = await raceAbort(operation(), signal);
    if (outcome.kind === 'aborted') return { kind: 'interrupted' };
    if (outcome.kind === 'failed') return fatal(outcome.err);
    return transition(next, message);
  };

  if (atLeast(desired, 'shutdown')) {
    if (atLeast(current, 'complete')) return { kind: 'noop' };
    return operate(() => controller.shutdown(), 'shutdown', 'shutdown');
  }

  if (isAfter(current, desired)) return { kind: 'noop' };

  switch (current) {
    case 'preparing':
      return operate(() => controller.prepare(), 'ready', 'prepared');
    case 'starting':
      return operate(() => controller.start(), 'running', controller.startedMessage?.() ?? 'started');
    case 'running':
      return operate(() => controller.wait(), 'complete', 'finished');
    default:
      break;
  }

  if (atLeast(current, desired)) return { kind: 'noop' };

  switch (current) {
    case 'new':
    case 'allocated':
    case 'pending':
    case 'assigned':
      return transition('accepted', 'accepted');
    case 'accepted':
      return transition('preparing', 'preparing');
    case 'ready':
      return transition('starting', 'starting');
    default:
      // Terminal states never move.
      return { kind: 'noop' };
  }
}

type Outcome = { kind: 'done' } | { kind: 'failed'; err: unknown } | { kind: 'aborted' };

function raceAbort(operation: Promise<void>, signal: AbortSignal): Promise<Outcome> {
  return new Promise((resolve) => {
    const onAbort = (): void => resolve({ kind: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    operation.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve({ kind: 'done' });
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        resolve({ kind: 'failed', err });
      },
    );
  });
}

function exitCodeOf(err: unknown): number | undefined {
  if (err instanceof ExitError) return err.exitCode;
  const code = typeof err === 'object' && err !== null ? (err as { exitCode?: unknown }).exitCode : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** The status with the controller's live details (PID, exit code) folded in. */
function withContainerStatus(status: TaskStatus, controller: Controller, exitCode?: number): TaskStatus {
  let live: ContainerStatus = {};
  try {
    live = controller.containerStatus();
  } catch {
    // Details are best effort; the state transition is what matters.
  }
  const merged: ContainerStatus = { ...status.ContainerStatus, ...definedOnly(live) };
  if (exitCode !== undefined) merged.ExitCode = exitCode;
  return Object.keys(merged).length > 0 ? { ...status, ContainerStatus: merged } : status;
}

function definedOnly(status: ContainerStatus): ContainerStatus {
  return Object.fromEntries(Object.entries(status).filter(([, v]) => v !== undefined)) as ContainerStatus;
}
