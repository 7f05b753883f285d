// The allocator's shortcut, taken by the orchestrators: a new task with nothing to allocate (no network,
// no port published through the ingress network) moves from NEW to PENDING in the orchestrators' own pass,
// right after it is created, rather than a batch window later — as swarmkit's allocator votes for such a
// task at once. Tasks with networks are left NEW for the allocator (allocator.ts), which moves them once
// each has its addresses.

import type { Service, Task } from '../../api/types.js';
import type { OrchestratorAction } from '../orchestrator/actions.js';
import { toTimestamp } from '../orchestrator/time.js';
import { awaitsAllocation, needsAllocation, PENDING_MESSAGE } from './core.js';

export function pendingWithoutNetworks(
  tasks: Iterable<Readonly<Task>>,
  serviceOf: (id: string) => Readonly<Service> | undefined,
  now: number,
): OrchestratorAction[] {
  const actions: OrchestratorAction[] = [];
  for (const task of tasks) {
    // Tasks already meant to stop are left NEW; the reaper or the orchestrator disposes of them.
    if (!awaitsAllocation(task) || needsAllocation(task, serviceOf(task.ServiceID))) continue;
    actions.push({
      kind: 'setTaskState',
      taskId: task.ID,
      from: 'new',
      state: 'pending',
      message: PENDING_MESSAGE,
      timestamp: toTimestamp(now),
    });
  }
  return actions;
}
