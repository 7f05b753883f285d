// Reconciling a global job (swarmkit jobs/global/reconciler.go): one task per node that meets the
// constraints, is ACTIVE and READY, existed when the job (iteration) was started, and has no task of
// this iteration yet.

import type { Service, Task } from '../../../api/types.js';
import { setDesiredState, type OrchestratorAction } from '../actions.js';
import { newTask } from '../new-task.js';
import { restartTask } from '../restart/restart.js';
import { shouldRestart } from '../restart/policy.js';
import { jobIteration } from '../service-mode.js';
import type { ReconcileContext } from '../snapshot.js';
import { groupTasks, newestTask } from '../slots.js';
import {
  desiredAtMost,
  isInvalidNode,
  nodeSatisfies,
  observedAfter,
  serviceConstraints,
} from '../task-rules.js';
import { parseTimestamp } from '../time.js';
import { isCurrentIteration, removeOldIterations } from './iterations.js';

export function reconcileGlobalJob(service: Readonly<Service>, ctx: ReconcileContext): OrchestratorAction[] {
  const tasks = ctx.snapshot.tasksOfService(service.ID);
  const actions = removeOldIterations(service, tasks, 'all');
  const constraints = serviceConstraints(service);
  // Nodes that join after the job started do not run it (swarmkit compares creation times).
  const startedAt = parseTimestamp(service.JobStatus?.LastExecution) ?? parseTimestamp(service.CreatedAt);
  const byNode = groupTasks(
    tasks.filter((task) => isCurrentIteration(service, task)),
    (task) => task.NodeID ?? '',
  );
  const unfinished = (nodeTasks: readonly Readonly<Task>[]) =>
    nodeTasks.filter((task) => desiredAtMost(task, 'complete') && task.Status.State !== 'complete');
  const shutDown = (nodeTasks: readonly Readonly<Task>[]): void => {
    for (const task of unfinished(nodeTasks)) actions.push(setDesiredState(task.ID, 'shutdown'));
  };

  for (const node of ctx.snapshot.nodes()) {
    const nodeTasks = byNode.get(node.ID) ?? [];
    byNode.delete(node.ID);
    // A node that no longer meets the constraints is left to the constraint enforcer, as in swarmkit.
    if (!nodeSatisfies(constraints, node)) continue;
    // Drained or down: stop the job there; it is not moved (swarmkit would even restart a failed task
    // on the invalid node, which can never run).
    if (isInvalidNode(node)) {
      shutDown(nodeTasks);
      continue;
    }
    const working = nodeTasks.filter((task) => desiredAtMost(task, 'complete'));
    const failed = working.filter((task) => observedAfter(task, 'complete'));
    if (node.Spec.Availability === 'pause') {
      shutDown(failed);
      continue;
    }
    if (working.length > 0) {
      for (const task of failed) {
        actions.push(...restartTask({ task, service, mode: 'global-job', instanceTasks: nodeTasks }, ctx));
      }
      continue;
    }
    // As for replicated jobs: a failed task that may not be restarted ends the job on this node.
    const newest = newestTask(nodeTasks);
    if (newest && !shouldRestart(newest, 'global-job', nodeTasks)) continue;
    if (node.Spec.Availability !== 'active' || node.Status.State !== 'ready') continue;
    const nodeCreatedAt = parseTimestamp(node.CreatedAt);
    if (startedAt !== undefined && nodeCreatedAt !== undefined && nodeCreatedAt >= startedAt) continue;
    actions.push({
      kind: 'createTask',
      task: newTask(
        service,
        ctx.snapshot.cluster(),
        { slot: 0, nodeId: node.ID, desiredState: 'complete', jobIteration: jobIteration(service) },
        ctx.now,
      ),
    });
  }

  // Tasks on nodes that were deleted (or that never had one): stopped, not replaced.
  for (const nodeTasks of byNode.values()) shutDown(nodeTasks);
  return actions;
}
