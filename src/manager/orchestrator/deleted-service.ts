// A deleted service's tasks. The control API deletes only the service object; its tasks get desired
// REMOVE here, and the task reaper deletes each once it has stopped or if it never reached a node.

import { rank } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';
import { setDesiredState, type OrchestratorAction } from './actions.js';

export function removeTasksOfDeletedService(tasks: readonly Readonly<Task>[]): OrchestratorAction[] {
  return tasks
    .filter((task) => rank(task.DesiredState) < rank('remove'))
    .map((task) => setDesiredState(task.ID, 'remove'));
}
