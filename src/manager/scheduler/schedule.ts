// The scheduler's pure core: from a snapshot of nodes and tasks to a decision for every task that waits
// for a node. No IO, no clock (the snapshot carries `now`), no randomness: the same snapshot always gives
// the same decisions. Given a list to report failures to, the work for each service is isolated: a group
// (or a pre-assigned task) whose placement throws is reported there and left pending, the rest is placed.

import type { Task } from '../../api/types.js';
import { isolate, type ObjectFailure } from '../isolation.js';
import { byAge, groupKey, taskRole } from './candidates.js';
import { RecentFailures } from './failures.js';
import { DEFAULT_FILTERS, type Filter } from './filters.js';
import { NodeInfo } from './nodeinfo.js';
import { noSuitableNode, TaskPipeline } from './pipeline.js';
import { buildPlacementTree, spreadLevels } from './placement.js';
import { nodeOrderFor } from './score.js';
import {
  ASSIGNED_MESSAGE,
  PREASSIGNED_CONFIRMED_MESSAGE,
  type SchedulingDecision,
  type SchedulingSnapshot,
} from './snapshot.js';

export interface ScheduleOptions {
  /** Where a service whose placement throws is reported; without it, the error propagates. */
  readonly failures?: ObjectFailure[];
  /** Services set aside after a failure: their pending tasks wait (they still hold what they hold). */
  readonly isHeld?: (serviceId: string) => boolean;
}

export function scheduleTasks(
  snapshot: SchedulingSnapshot,
  filters: readonly Filter[] = DEFAULT_FILTERS,
  options: ScheduleOptions = {},
): SchedulingDecision[] {
  const { failures, isHeld = () => false } = options;
  const versions = new Map(snapshot.services.map((s) => [s.ID, s.Version.Index]));
  const serviceOf = (task: Task) =>
    ({ kind: 'service', id: task.ServiceID, version: versions.get(task.ServiceID) ?? 0 }) as const;
  const nodes = new Map<string, NodeInfo>();
  for (const node of snapshot.nodes) nodes.set(node.ID, new NodeInfo(node));

  const decisions: SchedulingDecision[] = [];
  const preassigned: Task[] = [];
  const unassigned: Task[] = [];
  for (const task of snapshot.tasks) {
    const role = taskRole(task);
    switch (role.kind) {
      case 'on-node':
        nodes.get(role.nodeId)?.charge(task);
        break;
      case 'preassigned':
        if (!isHeld(task.ServiceID)) preassigned.push(task);
        break;
      case 'unassigned':
        if (!isHeld(task.ServiceID)) unassigned.push(task);
        break;
      case 'outdated':
        decisions.push({ kind: 'shutdown', taskId: task.ID });
        break;
      case 'ignored':
        break;
      default: {
        const unhandled: never = role;
        throw new Error(`unhandled task role ${JSON.stringify(unhandled)}`);
      }
    }
  }

  // Pre-assigned (global) tasks first: they can run on one node only, so they get its room before
  // replicated tasks, which could go elsewhere, take it.
  const failed = new Set<string>();
  for (const task of preassigned.sort(byAge)) {
    if (failed.has(task.ServiceID)) continue;
    const count = failures?.length ?? 0;
    decisions.push(
      ...isolate(serviceOf(task), failures, () => {
        const decision = confirmPreassigned(task, nodes, filters);
        return decision ? [decision] : [];
      }),
    );
    if ((failures?.length ?? 0) > count) failed.add(task.ServiceID);
  }

  const recent = new RecentFailures(snapshot.failures, snapshot.now);
  for (const group of groupTasks(unassigned)) {
    const sample = group[0]!;
    if (failed.has(sample.ServiceID)) continue;
    const count = failures?.length ?? 0;
    decisions.push(...isolate(serviceOf(sample), failures, () => placeGroup(group, nodes, recent, filters)));
    if ((failures?.length ?? 0) > count) failed.add(sample.ServiceID);
  }
  return decisions;
}

function confirmPreassigned(
  task: Task,
  nodes: ReadonlyMap<string, NodeInfo>,
  filters: readonly Filter[],
): SchedulingDecision | undefined {
  const node = nodes.get(task.NodeID ?? '');
  // The node was removed: the orchestrator deals with its tasks, there is nothing to confirm.
  if (!node) return undefined;
  const pipeline = new TaskPipeline(task, filters);
  if (!pipeline.passes(node)) {
    // Docker leaves the bare explanation here, without `no suitable node`: there was only one node to try.
    return { kind: 'unschedulable', taskId: task.ID, error: pipeline.explain([node]) };
  }
  node.charge(task);
  return { kind: 'assign', taskId: task.ID, nodeId: node.id, message: PREASSIGNED_CONFIRMED_MESSAGE };
}

/** Groups in the order of their oldest task; tasks in each group oldest (then lowest slot) first. */
function groupTasks(tasks: Task[]): Task[][] {
  const groups = new Map<string, Task[]>();
  for (const task of tasks.sort(byAge)) {
    const key = groupKey(task);
    const group = groups.get(key);
    if (group) group.push(task);
    else groups.set(key, [task]);
  }
  return [...groups.values()];
}

/** Places a group of identical tasks (same service revision); the ones that fit nowhere get the reason. */
function placeGroup(
  group: readonly Task[],
  nodes: ReadonlyMap<string, NodeInfo>,
  failures: RecentFailures,
  filters: readonly Filter[],
): SchedulingDecision[] {
  // The tasks of a group share their spec, so one pipeline and one tree serve them all.
  const sample = group[0]!;
  const pipeline = new TaskPipeline(sample, filters);
  const tree = buildPlacementTree(nodes.values(), {
    serviceId: sample.ServiceID,
    levels: spreadLevels(sample.Spec.Placement),
    pipeline,
    order: nodeOrderFor(sample.ServiceID, sample.SpecVersion?.Index, failures),
  });

  const decisions: SchedulingDecision[] = [];
  let placed = 0;
  for (const task of group) {
    const node = tree.placeOne((chosen) => chosen.charge(task));
    if (!node) break;
    decisions.push({ kind: 'assign', taskId: task.ID, nodeId: node.id, message: ASSIGNED_MESSAGE });
    placed++;
  }
  if (placed < group.length) {
    // Explained against the nodes as they are after this group's placements, so a batch that ran out of
    // memory half-way says `insufficient resources`, not whatever stopped the first node.
    const error = noSuitableNode(pipeline.explain(nodes.values()));
    for (const task of group.slice(placed)) decisions.push({ kind: 'unschedulable', taskId: task.ID, error });
  }
  return decisions;
}
