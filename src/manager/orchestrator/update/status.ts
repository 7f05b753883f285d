// UpdateStatus: the states and Docker's exact messages, as actions on the service. Each action
// names the update it was decided for (spec version and state); apply.ts skips it when the service has
// moved on — swarmkit's "the service was updated since we started this update" check, made exact.

import type { Service, UpdateState, UpdateStatus } from '../../../api/types.js';
import type { OrchestratorAction, UpdateGuard } from '../actions.js';
import { toTimestamp } from '../time.js';
import type { RolloutConfig, RolloutKind } from './config.js';

export const UPDATE_IN_PROGRESS = 'update in progress';
export const UPDATE_COMPLETED = 'update completed';
export const ROLLBACK_COMPLETED = 'rollback completed';

export const updatePausedMessage = (taskId: string): string =>
  `update paused due to failure or early termination of task ${taskId}`;
export const rollbackPausedMessage = (taskId: string): string =>
  `rollback paused due to failure or early termination of task ${taskId}`;
export const rolledBackMessage = (taskId: string): string =>
  `update rolled back due to failure or early termination of task ${taskId}`;

const guardOf = (service: Readonly<Service>): UpdateGuard => ({
  specVersion: service.SpecVersion?.Index ?? 0,
  state: service.UpdateStatus?.State,
});

function setStatus(service: Readonly<Service>, status: UpdateStatus): OrchestratorAction {
  return { kind: 'setUpdateStatus', serviceId: service.ID, expected: guardOf(service), status };
}

/** The first dirty slot was found and no update is recorded: `updating`, StartedAt now. */
export const startUpdate = (service: Readonly<Service>, now: number): OrchestratorAction =>
  setStatus(service, { State: 'updating', StartedAt: toTimestamp(now), Message: UPDATE_IN_PROGRESS });

/** Every slot is done and the final monitoring period passed without a failure that stops the rollout. */
export function completeRollout(
  service: Readonly<Service>,
  kind: RolloutKind,
  now: number,
): OrchestratorAction {
  const rollback = kind === 'rollback';
  return setStatus(service, {
    ...withoutCompletion(service.UpdateStatus),
    State: rollback ? 'rollback_completed' : 'completed',
    CompletedAt: toTimestamp(now),
    Message: rollback ? ROLLBACK_COMPLETED : UPDATE_COMPLETED,
  });
}

/**
 * Too many failures: pause, or roll back automatically. A rollback is never rolled back again —
 * it pauses — and neither is a service without a previous spec (swarmkit's rollback transaction fails
 * there, leaves the status as it was and lets the next reconcile carry on with the update; shoal pauses).
 */
export function stopOnFailure(
  service: Readonly<Service>,
  kind: RolloutKind,
  config: RolloutConfig,
  failedTaskId: string,
): OrchestratorAction {
  const status = service.UpdateStatus ?? {};
  if (kind === 'rollback') {
    return setStatus(service, pausedStatus(status, 'rollback_paused', rollbackPausedMessage(failedTaskId)));
  }
  if (config.failureAction === 'rollback' && service.PreviousSpec) {
    return {
      kind: 'rollBackService',
      serviceId: service.ID,
      expected: guardOf(service),
      // StartedAt is the update's own: Docker keeps it through an automatic rollback (observed, G.6).
      status: {
        ...withoutCompletion(status),
        State: 'rollback_started',
        Message: rolledBackMessage(failedTaskId),
      },
    };
  }
  return setStatus(service, pausedStatus(status, 'paused', updatePausedMessage(failedTaskId)));
}

function pausedStatus(status: UpdateStatus, state: UpdateState, message: string): UpdateStatus {
  return { ...withoutCompletion(status), State: state, Message: message };
}

/** CompletedAt is only shown for completed states. */
function withoutCompletion(status: UpdateStatus | undefined): UpdateStatus {
  const { CompletedAt: _completedAt, ...rest } = status ?? {};
  return rest;
}
