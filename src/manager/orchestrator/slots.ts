// Slots: the instances of a service. A replicated service's instance is its slot number, a global
// service's is its node. A slot holds the current task and its history (swarmkit orchestrator.Slot).

import type { Service, Task } from '../../api/types.js';
import { shouldRestart } from './restart/policy.js';
import { isNodeKeyedMode, type ServiceModeKind } from './service-mode.js';
import { isRunnable } from './task-rules.js';
import { statusTime } from './time.js';

/** The tasks of one instance that the orchestrator still acts on (see updatableTasks). */
export type Slot = readonly Readonly<Task>[];

export const instanceKey = (task: Readonly<Task>, mode: ServiceModeKind): string =>
  isNodeKeyedMode(mode) ? `node:${task.NodeID ?? ''}` : `slot:${task.Slot ?? 0}`;

export function groupTasks<K>(
  tasks: readonly Readonly<Task>[],
  keyOf: (task: Readonly<Task>) => K,
): Map<K, Readonly<Task>[]> {
  const groups = new Map<K, Readonly<Task>[]>();
  for (const task of tasks) {
    const key = keyOf(task);
    const group = groups.get(key);
    if (group) group.push(task);
    else groups.set(key, [task]);
  }
  return groups;
}

export const groupByInstance = (
  tasks: readonly Readonly<Task>[],
  mode: ServiceModeKind,
): Map<string, Readonly<Task>[]> => groupTasks(tasks, (task) => instanceKey(task, mode));

export function newestTask(tasks: readonly Readonly<Task>[]): Readonly<Task> | undefined {
  let newest: Readonly<Task> | undefined;
  for (const task of tasks) {
    if (!newest || statusTime(task) >= statusTime(newest)) newest = task;
  }
  return newest;
}

/**
 * The tasks that keep an instance occupied (swarmkit restart.Supervisor.UpdatableTasksInSlot): those
 * still meant to run; or, when none is, the newest task if the restart policy says it must not be
 * replaced — the instance is then kept (not refilled) and a later update can still replace it. An empty
 * result is a dead slot.
 *
 * During a rollback swarmkit does not keep such instances, so that a rollback always converges.
 * shoal also never keeps an instance whose newest task was given desired REMOVE: that instance was
 * scaled away (swarmkit would count it while the agent stops the task, and could then remove a live slot
 * in its place).
 */
export function updatableTasks(
  instanceTasks: readonly Readonly<Task>[],
  service: Readonly<Service>,
  mode: ServiceModeKind,
): Slot {
  const runnable = instanceTasks.filter(isRunnable);
  if (runnable.length > 0) return runnable;
  if (service.UpdateStatus?.State === 'rollback_started') return [];
  const newest = newestTask(instanceTasks);
  if (!newest || newest.DesiredState === 'remove') return [];
  return shouldRestart(newest, mode, instanceTasks) ? [] : [newest];
}
