// Task listing for the control API. It must stay cheap: the CLI's converge display polls it every
// 200 ms and `stack rm` in a tight loop, so filters use the store's indexes before scanning.

import { invalidArgument } from '../../api/errors.js';
import type { Filters } from '../../api/filters.js';
import { TASK_STATE_RANK } from '../../api/taskstate.js';
import type { Service, Task, TaskState } from '../../api/types.js';
import type { ReadTx } from '../../store/objects.js';
import { resolveNode, resolveService } from './resolve.js';

/** swarmkit's naming.Task: `service.slot.id`, or `service.node.id` for tasks without a slot. */
export function taskName(task: Task): string {
  if (task.Name) return task.Name;
  const service = task.ServiceAnnotations?.Name ?? '';
  return task.Slot ? `${service}.${task.Slot}.${task.ID}` : `${service}.${task.NodeID ?? ''}.${task.ID}`;
}

export interface TaskListContext {
  localNodeId: string;
  /** The orchestrator's "is this task outdated" check, for the `_up-to-date` filter. */
  isUpToDate(task: Task, service: Service): boolean;
}

export function listTasks(tx: ReadTx, filters: Filters, ctx: TaskListContext): Task[] {
  const desired = filters.values('desired-state').map((s) => s.toLowerCase());
  for (const state of desired) {
    // A bad value is a client error (400), as in engines after 20.10 (which said 500).
    if (!Object.hasOwn(TASK_STATE_RANK, state))
      throw invalidArgument(`Invalid desired-state filter: '${state}'`);
  }
  const serviceIds = new Set(filters.values('service').map((ref) => resolveService(tx, ref).ID));
  const nodeIds = new Set(filters.values('node').map((ref) => resolveNode(tx, ref, ctx.localNodeId).ID));

  let candidates: Task[];
  if (serviceIds.size > 0) candidates = [...serviceIds].flatMap((id) => tx.tasksByService(id));
  else if (nodeIds.size > 0) candidates = [...nodeIds].flatMap((id) => tx.tasksByNode(id));
  else candidates = tx.list('task');

  const upToDate = filters.has('_up-to-date');
  return candidates.filter((task) => {
    if (serviceIds.size > 0 && !serviceIds.has(task.ServiceID)) return false;
    if (nodeIds.size > 0 && !nodeIds.has(task.NodeID ?? '')) return false;
    if (desired.length > 0 && !desired.includes(task.DesiredState as TaskState)) return false;
    if (!filters.matchPrefix('id', task.ID)) return false;
    if (!filters.matchPrefix('name', taskName(task))) return false;
    if (!filters.matchLabels('label', task.ServiceAnnotations?.Labels)) return false;
    if (upToDate) {
      const service = tx.get('service', task.ServiceID);
      if (!service || !ctx.isUpToDate(task, service)) return false;
    }
    return true;
  });
}
