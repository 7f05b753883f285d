// The restart supervisor's decision for one task that stopped or lost its node (swarmkit
// restart.Supervisor.Restart): shut the old task down and, if the policy allows, create its
// replacement in the same instance.
//
// Deliberate difference from Swarm (architecture.md §11): a task lost with its node (node DOWN or deleted)
// is replaced at once — created with its final desired state, no restart delay, no wait for the old task —
// because it did not crash; the delay exists to damp crash loops. Swarm waits the delay here too.

import type { Service, Task } from '../../../api/types.js';
import { setDesiredState, type OrchestratorAction } from '../actions.js';
import { newTask } from '../new-task.js';
import { isNodeKeyedMode, runTarget, type ServiceModeKind } from '../service-mode.js';
import type { ReconcileContext } from '../snapshot.js';
import { hasStopped, isLostNode, nodeOf } from '../task-rules.js';
import { resumedStart, WAIT_FOR_STOP_MS } from './delayed-start.js';
import { restartDelayMs, shouldRestart } from './policy.js';

export interface RestartRequest {
  readonly task: Readonly<Task>;
  readonly service: Readonly<Service>;
  readonly mode: ServiceModeKind;
  /** All tasks of the task's instance (slot, or node for global modes), the task included. */
  readonly instanceTasks: readonly Readonly<Task>[];
}

export function restartTask(request: RestartRequest, ctx: ReconcileContext): OrchestratorAction[] {
  const { task, service, mode, instanceTasks } = request;
  const node = nodeOf(ctx.snapshot, task);
  const lost = task.NodeID !== undefined && task.NodeID !== '' && isLostNode(node);

  // A replacement that failed while still waiting out its own delay is restarted only when that delay
  // is over, so a task that cannot even be prepared (missing image) does not loop tightly.
  if (task.DesiredState === 'ready' && !lost) {
    const pending = ctx.pendingStarts.get(task.ID) ?? resumedStart(task, instanceTasks);
    if (ctx.now < pending.notBefore) return [];
  }

  const actions: OrchestratorAction[] = [setDesiredState(task.ID, 'shutdown')];
  if (!shouldRestart(task, mode, instanceTasks)) return actions;

  const target = runTarget(mode);
  // swarmkit skips the delay when the node was drained: the task was moved, it did not crash.
  const delay = lost || node?.Spec.Availability === 'drain' ? 0 : restartDelayMs(task);
  const waitForOld = !lost && !hasStopped(task);
  const startsNow = delay === 0 && !waitForOld;
  const nodeKeyed = isNodeKeyedMode(mode);
  const replacement = newTask(
    service,
    ctx.snapshot.cluster(),
    {
      slot: nodeKeyed ? 0 : (task.Slot ?? 0),
      ...(nodeKeyed && task.NodeID ? { nodeId: task.NodeID } : {}),
      desiredState: startsNow ? target : 'ready',
      ...(task.JobIteration ? { jobIteration: task.JobIteration.Index } : {}),
    },
    ctx.now,
  );
  actions.push({ kind: 'createTask', task: replacement });
  if (!startsNow) {
    actions.push({
      kind: 'scheduleStart',
      start: {
        taskId: replacement.ID,
        serviceId: service.ID,
        notBefore: ctx.now + delay,
        waitForStopOf: waitForOld ? [task.ID] : [],
        stopDeadline: ctx.now + WAIT_FOR_STOP_MS,
      },
    });
  }
  return actions;
}
