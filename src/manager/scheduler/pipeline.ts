// Runs the filters that apply to one task against nodes, and words the rejections the way Docker does:
// every rejected node is charged to the first filter it fails, and the explanations are listed with the
// filter that rejected most nodes first (`scheduling constraints not satisfied on 3 nodes; insufficient
// resources on 1 node`). Ties keep the pipeline's order, so the text is stable.

import type { Task } from '../../api/types.js';
import { DEFAULT_FILTERS, type Filter, type NodeCheck } from './filters.js';
import type { NodeInfo } from './nodeinfo.js';

interface ActiveFilter {
  readonly filter: Filter;
  readonly check: NodeCheck;
}

export class TaskPipeline {
  private readonly active: readonly ActiveFilter[];

  constructor(task: Task, filters: readonly Filter[] = DEFAULT_FILTERS) {
    const active: ActiveFilter[] = [];
    for (const filter of filters) {
      const check = filter.forTask(task);
      if (check) active.push({ filter, check });
    }
    this.active = active;
  }

  /** The first filter the node fails, or undefined when the task may run there. */
  firstFailure(node: NodeInfo): Filter | undefined {
    return this.active.find(({ check }) => !check(node))?.filter;
  }

  passes(node: NodeInfo): boolean {
    return this.firstFailure(node) === undefined;
  }

  /** Why none of `nodes` can take the task; empty when there is nothing to blame (e.g. no nodes at all). */
  explain(nodes: Iterable<NodeInfo>): string {
    const failures = new Map<Filter, number>();
    for (const node of nodes) {
      const filter = this.firstFailure(node);
      if (filter) failures.set(filter, (failures.get(filter) ?? 0) + 1);
    }
    const inPipelineOrder = this.active.filter(({ filter }) => failures.has(filter));
    // Array.prototype.sort is stable, so equal counts stay in pipeline order.
    return inPipelineOrder
      .map(({ filter }) => ({ filter, count: failures.get(filter) ?? 0 }))
      .sort((a, b) => b.count - a.count)
      .map(({ filter, count }) => filter.explain(count))
      .join('; ');
  }
}

/** The error a task that fits nowhere is left pending with. */
export const noSuitableNode = (explanation: string): string =>
  explanation ? `no suitable node (${explanation})` : 'no suitable node';
