// The scheduler's half of "nothing accepted and then ignored" (src/api/executor-features.ts): a task goes
// only to a node whose executor honours everything its spec asks for. swarmkit's plugin filter plays the
// same part for volume, network and log drivers ("missing plugin on N nodes").

import { executorOf, specNeeds, unhonoured } from '../../api/executor-features.js';
import type { Driver, Task } from '../../api/types.js';
import type { Filter } from './filters.js';

const nodeCount = (nodes: number): string => (nodes === 1 ? '1 node' : `${nodes} nodes`);

export const executorFilter: Filter = {
  name: 'executor',
  forTask(task) {
    const needs = specNeeds(task.Spec, (task as Task & { LogDriver?: Driver }).LogDriver);
    if (needs.length === 0) return undefined;
    return (info) => unhonoured(executorOf(info.node.Description?.Engine?.Labels), needs).length === 0;
  },
  explain: (nodes) => `executor cannot honour the task's spec on ${nodeCount(nodes)}`,
};
