// Which of two nodes is the better home for the next task of a service.

import { compareStrings } from './candidates.js';
import { FAILURE_THRESHOLD, type RecentFailures } from './failures.js';
import type { NodeInfo } from './nodeinfo.js';

/** Negative when `a` is the better node. */
export type NodeOrder = (a: NodeInfo, b: NodeInfo) => number;

export function nodeOrderFor(
  serviceId: string,
  specVersion: number | undefined,
  failures: RecentFailures,
): NodeOrder {
  const failuresOn = (node: NodeInfo): number => failures.count(node.id, serviceId, specVersion);
  return (a, b) => {
    // A few failures are normal churn; only a node that keeps failing this revision is pushed back.
    const failuresA = failuresOn(a);
    const failuresB = failuresOn(b);
    if ((failuresA >= FAILURE_THRESHOLD || failuresB >= FAILURE_THRESHOLD) && failuresA !== failuresB) {
      return failuresA - failuresB;
    }
    return (
      a.activeTasksOf(serviceId) - b.activeTasksOf(serviceId) ||
      a.activeTasks - b.activeTasks ||
      // Swarmkit leaves further ties to map order; ours are decided by ID so that a pass is repeatable.
      compareStrings(a.id, b.id)
    );
  };
}
