// A stand-in for swarmkit's allocator, which moves a task from NEW to PENDING once its network
// resources are allocated — immediately when it has none. shoal has no overlay networks yet, so every
// new task is "allocated" at once. The networking work replaces this module with the real allocator.

import { rank } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';
import type { OrchestratorAction } from './actions.js';
import { toTimestamp } from './time.js';

export const PENDING_MESSAGE = 'pending task scheduling';

export function allocateTasks(tasks: Iterable<Readonly<Task>>, now: number): OrchestratorAction[] {
  const actions: OrchestratorAction[] = [];
  for (const task of tasks) {
    // Tasks already meant to stop are left NEW; the reaper or the orchestrator disposes of them.
    if (task.Status.State !== 'new' || rank(task.DesiredState) > rank('complete')) continue;
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
