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
import { hostPortsOfTask } from '../api/host-ports.js';
import { atLeast, isAfter, isBefore } from '../api/taskstate.js';
import type { ContainerStatus, Task, TaskState, TaskStatus } from '../api/types.js';

export type StepResult =
  /** Nothing to do until the task changes. */
  | { kind: 'noop' }
  /**
   * The operation was abandoned because the task changed under it; step again, after reporting `status`
   * if there is one.
   */
  | { kind: 'interrupted'; status?: TaskStatus }
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
  task: Pick<Task, 'DesiredState' | 'Status' | 'Endpoint'>,
  controller: Controller,
  signal: AbortSignal,
): Promise<StepResult> {
  const current = task.Status.State;
  const desired = task.DesiredState;

  const transition = (state: TaskState, message: string): StepResult => ({
    kind: 'transition',
    status: withPortStatus(
      task,
      withContainerStatus({ ...task.Status, State: state, Message: message }, controller),
    ),
  });

  const fatal = (err: unknown): StepResult => {
    const message = err instanceof Error ? err.message : String(err);
    if (isTemporary(err)) return { kind: 'retry', status: { ...task.Status, Err: message } };
    const state: TaskState = isBefore(current, 'starting') ? 'rejected' : 'failed';
    return {
      kind: 'transition',
      status: withPortStatus(
        task,
        withContainerStatus({ ...task.Status, State: state, Err: message }, controller, exitCodeOf(err)),
      ),
    };
  };

  /**
   * Runs a controller operation, abandoning it (not its result) when the task changes meanwhile; then the
   * step ends with `interrupted` (by default with no status to report).
   */
  const operate = async (
    operation: () => Promise<void>,
    next: TaskState,
    message: string,
    interrupted: () => StepResult = () => ({ kind: 'interrupted' }),
  ): Promise<StepResult> => {
    if (signal.aborted) return { kind: 'interrupted' };
    const outcome = await raceAbort(operation(), signal);
    if (outcome.kind === 'aborted') return interrupted();
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
      // A wait cut short (the task is being stopped: only that aborts it) is reported as Docker's agent
      // reports it: still running, with exit code -1, the code of a container wait that was cancelled.
      return operate(
        () => controller.wait(),
        'complete',
        'finished',
        (): StepResult => ({
          kind: 'interrupted',
          status: withContainerStatus(task.Status, controller, WAIT_CANCELLED_EXIT_CODE),
        }),
      );
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

/** What Docker reports as the exit code of a running task whose wait was cancelled. */
export const WAIT_CANCELLED_EXIT_CODE = -1;

/**
 * The status with the controller's live details folded in, as swarmkit's agent does from STARTING on
 * (before, a task has no container status): the process's ID, its PID while it runs and 0 once it is gone,
 * its exit code once it has one and 0 until then — or `exitCode` when given.
 */
/**
 * The status with the task's host-mode published ports while it runs (`docker service ps` shows them as
 * `*:8080->80/tcp`), as swarmkit's agent reports its container's bound ports; none before or after.
 */
function withPortStatus(task: Pick<Task, 'Endpoint'>, status: TaskStatus): TaskStatus {
  const { PortStatus: _previous, ...rest } = status;
  const ports = hostPortsOfTask(task);
  if (status.State !== 'running' || ports.length === 0) return rest;
  return {
    ...rest,
    PortStatus: {
      Ports: ports.map((p) => ({
        Protocol: p.protocol,
        TargetPort: p.target,
        PublishedPort: p.published,
        PublishMode: 'host' as const,
      })),
    },
  };
}

function withContainerStatus(status: TaskStatus, controller: Controller, exitCode?: number): TaskStatus {
  if (isBefore(status.State, 'starting')) return status;
  let live: ContainerStatus = {};
  try {
    live = controller.containerStatus();
  } catch {
    // Details are best effort; the state transition is what matters.
  }
  const containerId = live.ContainerID ?? status.ContainerStatus?.ContainerID;
  const containerStatus: ContainerStatus = {
    ...(containerId !== undefined ? { ContainerID: containerId } : {}),
    PID: live.PID ?? 0,
    ExitCode: exitCode ?? live.ExitCode ?? 0,
  };
  return { ...status, ContainerStatus: containerStatus };
}
