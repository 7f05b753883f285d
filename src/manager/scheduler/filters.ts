// The filters a node must pass to take a task, in swarmkit's order. Each filter is a
// small object with three jobs: say whether it applies to the task at all, check a node, and explain its
// rejections; the pipeline charges each rejected node to the first filter it fails. Explanations are
// Docker's exact texts (swarmkit manager/scheduler/filter.go), because users and tools match on them.
//
// Not yet here: the plugin filter (needs plugin lists from the executors) and the CSI volume filter.

import type { Platform, Task } from '../../api/types.js';
import { nodeMatchesAll, parseConstraints, type Constraint } from '../constraint.js';
import { hostPortsOf, reservationOf, reservesAnything } from './demands.js';
import { executorFilter } from './executor-filter.js';
import type { NodeInfo } from './nodeinfo.js';

/** A filter's verdict on one node for the task it was prepared for. */
export type NodeCheck = (node: NodeInfo) => boolean;

export interface Filter {
  readonly name: string;
  /** The check for this task, or undefined when the filter does not apply to it (swarmkit's SetTask). */
  forTask(task: Task): NodeCheck | undefined;
  /** Why `nodes` nodes were rejected, as Docker words it. */
  explain(nodes: number): string;
}

/** `1 node` / `N nodes`, the only plural rule the explanations need. */
const nodeCount = (nodes: number): string => (nodes === 1 ? '1 node' : `${nodes} nodes`);

export const readyFilter: Filter = {
  name: 'ready',
  forTask: () => (info) =>
    info.node.Status?.State === 'ready' && (info.node.Spec.Availability ?? 'active') === 'active',
  explain: (nodes) => `${nodeCount(nodes)} not available for new tasks`,
};

export const resourcesFilter: Filter = {
  name: 'resources',
  forTask(task) {
    const wanted = reservationOf(task);
    if (!reservesAnything(wanted)) return undefined;
    return (info) =>
      wanted.nanoCPUs <= info.availableNanoCPUs && wanted.memoryBytes <= info.availableMemoryBytes;
  },
  explain: (nodes) => `insufficient resources on ${nodeCount(nodes)}`,
};

export const constraintsFilter: Filter = {
  name: 'constraints',
  forTask(task) {
    const expressions = task.Spec.Placement?.Constraints;
    if (!expressions?.length) return undefined;
    let constraints: Constraint[];
    try {
      constraints = parseConstraints(expressions);
    } catch {
      // The control API validates constraints; swarmkit treats one that slipped through as absent
      // rather than leaving the task pending forever.
      return undefined;
    }
    return (info) => nodeMatchesAll(constraints, info.node);
  },
  explain: (nodes) => `scheduling constraints not satisfied on ${nodeCount(nodes)}`,
};

/** Image manifests say x86_64/aarch64 where nodes report amd64/arm64 (and the other way round). */
const normalizeArchitecture = (arch: string): string =>
  arch === 'x86_64' ? 'amd64' : arch === 'aarch64' ? 'arm64' : arch;

export const platformFilter: Filter = {
  name: 'platform',
  forTask(task) {
    const supported = task.Spec.Placement?.Platforms;
    if (!supported?.length) return undefined;
    return (info) => {
      const platform: Platform | undefined = info.node.Description?.Platform;
      if (!platform) return false;
      // Reported by the node: only a string is a platform (anything else was stored before validation).
      const nodeArch = normalizeArchitecture(
        typeof platform.Architecture === 'string' ? platform.Architecture : '',
      );
      const nodeOS = typeof platform.OS === 'string' ? platform.OS : '';
      return supported.some(
        (p) =>
          (!p.Architecture || normalizeArchitecture(p.Architecture) === nodeArch) &&
          (!p.OS || p.OS === nodeOS),
      );
    };
  },
  explain: (nodes) => `unsupported platform on ${nodeCount(nodes)}`,
};

export const hostPortsFilter: Filter = {
  name: 'host-ports',
  forTask(task) {
    const ports = hostPortsOf(task);
    if (ports.length === 0) return undefined;
    return (info) => ports.every((port) => !info.isHostPortUsed(port));
  },
  explain: (nodes) => `host-mode port already in use on ${nodeCount(nodes)}`,
};

export const maxReplicasFilter: Filter = {
  name: 'max-replicas',
  forTask(task) {
    const max = task.Spec.Placement?.MaxReplicas ?? 0;
    if (max <= 0) return undefined;
    return (info) => info.activeTasksOf(task.ServiceID) < max;
  },
  // Docker's text has no count and no "ed": users grep for it as is.
  explain: () => 'max replicas per node limit exceed',
};

/** Swarmkit's order: readiness first, so a down node is never blamed on anything else. */
export const DEFAULT_FILTERS: readonly Filter[] = [
  readyFilter,
  resourcesFilter,
  constraintsFilter,
  platformFilter,
  executorFilter,
  hostPortsFilter,
  maxReplicasFilter,
];
