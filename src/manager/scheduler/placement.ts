// Where the tasks of one group go.
//
// Placement preferences (`spread=node.labels.rack`) split the nodes into a tree: one level per
// preference, one branch per label value (nodes without the label share the branch ""). Each task walks
// down from the root into the branch holding the fewest tasks of the service among those that can still
// take one, so task counts even out per label value before they even out per node. At a leaf the task
// goes to the best node (score.ts); counts there level out the same way, which is swarmkit's
// water-filling followed by round-robin, computed exactly with a heap.
//
// Swarmkit splits a whole batch between branches arithmetically; placing one task at a time reaches the
// same totals, and cannot overshoot when a branch turns out to be full half-way.

import type { Node, Placement } from '../../api/types.js';
import { engineLabelValue, nodeLabelValue } from '../constraint.js';
import { compareStrings } from './candidates.js';
import { MinHeap } from './heap.js';
import type { NodeInfo } from './nodeinfo.js';
import type { TaskPipeline } from './pipeline.js';
import type { NodeOrder } from './score.js';

/** The value a node has at one level of the tree. */
export type SpreadLevel = (node: Node) => string;

const NODE_LABEL_PREFIX = 'node.labels.';
const ENGINE_LABEL_PREFIX = 'engine.labels.';

/** The spread descriptors swarmkit understands; any other descriptor is ignored, as there. */
export function spreadLevels(placement: Placement | undefined): SpreadLevel[] {
  const levels: SpreadLevel[] = [];
  for (const preference of placement?.Preferences ?? []) {
    const descriptor = preference.Spread?.SpreadDescriptor ?? '';
    const label = (prefix: string): string | undefined =>
      descriptor.length > prefix.length && descriptor.slice(0, prefix.length).toLowerCase() === prefix
        ? descriptor.slice(prefix.length)
        : undefined;
    const nodeLabel = label(NODE_LABEL_PREFIX);
    const engineLabel = label(ENGINE_LABEL_PREFIX);
    if (nodeLabel !== undefined) {
      levels.push((node) => nodeLabelValue(node, nodeLabel));
    } else if (engineLabel !== undefined) {
      levels.push((node) => engineLabelValue(node, engineLabel));
    }
  }
  return levels;
}

export interface PlacementTree {
  /** Active tasks of the service on the nodes below, including those placed during this pass. */
  readonly tasks: number;
  /**
   * Picks the node for one more task and calls `charge` with it before anything else looks at the node.
   * Undefined when no node below can take the task any more.
   */
  placeOne(charge: (node: NodeInfo) => void): NodeInfo | undefined;
}

export interface TreeOptions {
  readonly serviceId: string;
  readonly levels: readonly SpreadLevel[];
  readonly pipeline: TaskPipeline;
  readonly order: NodeOrder;
}

export function buildPlacementTree(nodes: Iterable<NodeInfo>, options: TreeOptions): PlacementTree {
  const root = options.levels.length === 0 ? new Leaf(options) : new Branch(options, 0);
  for (const node of nodes) root.add(node);
  return root;
}

class Leaf implements PlacementTree {
  tasks = 0;
  private readonly candidates: MinHeap<NodeInfo>;

  constructor(private readonly options: TreeOptions) {
    this.candidates = new MinHeap(options.order);
  }

  add(node: NodeInfo): void {
    // Nodes that fail the filters still count: the tree's shape and totals must not depend on which
    // nodes happen to be usable right now.
    this.tasks += node.activeTasksOf(this.options.serviceId);
    if (this.options.pipeline.passes(node)) this.candidates.push(node);
  }

  placeOne(charge: (node: NodeInfo) => void): NodeInfo | undefined {
    // Every node in the heap passes the filters: a node only changes when it is placed on, and is then
    // checked again before it goes back in.
    const node = this.candidates.pop();
    if (!node) return undefined;
    charge(node);
    this.tasks++;
    if (this.options.pipeline.passes(node)) this.candidates.push(node);
    return node;
  }
}

class Branch implements PlacementTree {
  tasks = 0;
  private readonly byValue = new Map<string, Branch | Leaf>();
  private children: (Branch | Leaf)[] | undefined;
  private readonly full = new Set<PlacementTree>();

  constructor(
    private readonly options: TreeOptions,
    private readonly depth: number,
  ) {}

  add(node: NodeInfo): void {
    this.tasks += node.activeTasksOf(this.options.serviceId);
    const value = this.options.levels[this.depth]!(node.node);
    let child = this.byValue.get(value);
    if (!child) {
      const deeper = this.depth + 1 < this.options.levels.length;
      child = deeper ? new Branch(this.options, this.depth + 1) : new Leaf(this.options);
      this.byValue.set(value, child);
      this.children = undefined;
    }
    child.add(node);
  }

  placeOne(charge: (node: NodeInfo) => void): NodeInfo | undefined {
    // Ties between equally loaded branches go to the smaller label value, so a pass is repeatable.
    this.children ??= [...this.byValue.entries()]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([, child]) => child);
    for (;;) {
      let emptiest: PlacementTree | undefined;
      for (const child of this.children) {
        if (!this.full.has(child) && (!emptiest || child.tasks < emptiest.tasks)) emptiest = child;
      }
      if (!emptiest) return undefined;
      const node = emptiest.placeOne(charge);
      if (node) {
        this.tasks++;
        return node;
      }
      // Within one group nodes only fill up, so a branch that could not take a task never will.
      this.full.add(emptiest);
    }
  }
}
