// Job iterations: every update of a job service increments `JobStatus.JobIteration` and runs the
// job again. Tasks of older iterations are removed.

import { rank } from '../../../api/taskstate.js';
import type { Service, Task } from '../../../api/types.js';
import { setDesiredState, type OrchestratorAction } from '../actions.js';
import { jobIteration } from '../service-mode.js';
import { hasStopped } from '../task-rules.js';

export const isCurrentIteration = (service: Readonly<Service>, task: Readonly<Task>): boolean =>
  task.JobIteration?.Index === jobIteration(service);

/**
 * Desired REMOVE for tasks of previous iterations. A replicated job removes only those still running
 * (its finished tasks stay as history); a global job removes all of them.
 */
export function removeOldIterations(
  service: Readonly<Service>,
  tasks: readonly Readonly<Task>[],
  which: 'unfinished' | 'all',
): OrchestratorAction[] {
  return tasks
    .filter((task) => task.JobIteration !== undefined && !isCurrentIteration(service, task))
    .filter((task) => rank(task.DesiredState) < rank('remove'))
    .filter((task) => which === 'all' || !hasStopped(task))
    .map((task) => setDesiredState(task.ID, 'remove'));
}
