// Writes a pass's decisions inside one store transaction. The decisions were made on a snapshot that
// may be a few milliseconds old, so every task and node is read again here and a decision is dropped
// when its premise no longer holds; whatever changed it also wakes the scheduler for another pass.

import { atMost } from '../../api/taskstate.js';
import type { Node, Task, TaskStatus } from '../../api/types.js';
import type { WriteTx } from '../../store/objects.js';
import { nodeSchedulingView } from './relevance.js';
import type { SchedulingDecision } from './snapshot.js';

export interface ApplyOutcome {
  readonly assigned: number;
  /** Tasks whose `no suitable node` error was written (unchanged errors are not rewritten). */
  readonly unschedulable: number;
  readonly shutdown: number;
  /** Decisions dropped because the task or node changed since the snapshot. */
  readonly stale: number;
}

/** `seenNodes` are the nodes as the pass saw them; `timestamp` is the status time to write. */
export function applyDecisions(
  tx: WriteTx,
  decisions: readonly SchedulingDecision[],
  seenNodes: ReadonlyMap<string, Node>,
  timestamp: string,
): ApplyOutcome {
  let assigned = 0;
  let unschedulable = 0;
  let shutdown = 0;
  let stale = 0;
  const unchangedNodes = new Map<string, boolean>();
  const nodeUnchanged = (nodeId: string): boolean => {
    let unchanged = unchangedNodes.get(nodeId);
    if (unchanged === undefined) {
      const node = tx.get('node', nodeId);
      const seen = seenNodes.get(nodeId);
      unchanged =
        node !== undefined && seen !== undefined && nodeSchedulingView(node) === nodeSchedulingView(seen);
      unchangedNodes.set(nodeId, unchanged);
    }
    return unchanged;
  };

  for (const decision of decisions) {
    const task = tx.get('task', decision.taskId);
    if (!task || task.Status.State !== 'pending') {
      stale++;
      continue;
    }
    switch (decision.kind) {
      case 'assign': {
        const placeable =
          atMost(task.DesiredState, 'complete') &&
          (!task.NodeID || task.NodeID === decision.nodeId) &&
          nodeUnchanged(decision.nodeId);
        if (!placeable) {
          stale++;
          break;
        }
        const status: TaskStatus = { State: 'assigned', Message: decision.message, Timestamp: timestamp };
        tx.update('task', { ...task, NodeID: decision.nodeId, Status: status });
        assigned++;
        break;
      }
      case 'unschedulable':
        // Rewriting the same error would be a write per pass for every stuck task, forever.
        if (task.Status.Err === decision.error) break;
        tx.update('task', { ...task, Status: { ...task.Status, Err: decision.error, Timestamp: timestamp } });
        unschedulable++;
        break;
      case 'shutdown':
        tx.update('task', {
          ...task,
          Status: { ...withoutError(task.Status), State: 'shutdown', Timestamp: timestamp },
        });
        shutdown++;
        break;
      default: {
        const unhandled: never = decision;
        throw new Error(`unhandled scheduling decision ${JSON.stringify(unhandled)}`);
      }
    }
  }
  return { assigned, unschedulable, shutdown, stale };
}

function withoutError(status: Task['Status']): TaskStatus {
  const { Err: _dropped, ...rest } = status;
  return rest;
}
