// One node's assignments stream (swarmkit's Assignments): first the COMPLETE set of the node's tasks,
// then INCREMENTAL batches of what changed. Changes are gathered until 100 ms pass without a new one
// or 100 are waiting, so a service update touching many tasks goes out in few messages.
//
// Agents report statuses constantly and each report is a store write; sending those back to the node
// would double the traffic for nothing. An update goes out only when something the agent acts on
// changed (spec, desired state…), or while the task is still ASSIGNED — states up to ASSIGNED are set
// by managers, and the agent must see those even when nothing else changed.

import { sameTaskForAgent, type AssignmentChange, type AssignmentsMessage } from '../../api/dispatcher.js';
import { diffNetworkViews, type NetworkChange } from '../../api/network-view.js';
import type { NodeNetworkView } from '../../api/networks.js';
import type { Clock, Timer } from '../../api/clock.js';
import { isBefore } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';
import type { ServerStream } from './stream.js';

export const ASSIGNMENT_BATCH_WINDOW_MS = 5;
export const ASSIGNMENT_BATCH_MAX_CHANGES = 100;

type TaskEvent = Extract<ObjectEvent, { kind: 'task' }>;

/** Tasks below ASSIGNED may not even fit the node yet (the scheduler has not confirmed them). */
const isForAgent = (task: Task): boolean => !isBefore(task.Status.State, 'assigned');

export class AssignmentStream {
  /** The last version seen of every task the node knows about. */
  private readonly known = new Map<string, Task>();
  private pending = new Map<string, AssignmentChange>();
  /** The network view the node has once what is pending is sent. */
  private sentView: NodeNetworkView | undefined;
  private networkVersion = 0;
  private pendingNetwork: NetworkChange[] = [];
  private sequence = 0;
  private batchTimer: Timer | undefined;

  constructor(
    readonly nodeId: string,
    private readonly stream: ServerStream<AssignmentsMessage>,
    private readonly clock: Clock,
  ) {
    stream.onClose(() => this.batchTimer?.cancel());
  }

  /**
   * Sends the node's whole set; `tasks` are all tasks with `NodeID` = this node, `view` its network view
   * as of store revision `version`.
   */
  sendComplete(tasks: Iterable<Task>, view?: NodeNetworkView, version = 0): void {
    const changes: AssignmentChange[] = [];
    for (const task of tasks) {
      if (!isForAgent(task)) continue;
      this.known.set(task.ID, task);
      changes.push({ action: 'update', task });
    }
    if (view) {
      this.sentView = view;
      this.networkVersion = version;
    }
    this.send('complete', changes, view ? diffNetworkViews(undefined, view) : undefined);
  }

  /** The node's network view as of store revision `version`: what changed goes out with the next batch. */
  networkView(view: NodeNetworkView, version: number): void {
    if (!this.stream.isOpen) return;
    const changes = diffNetworkViews(this.sentView, view);
    this.sentView = view;
    this.networkVersion = Math.max(this.networkVersion, version);
    if (changes.length === 0) return;
    this.pendingNetwork.push(...changes);
    this.batchTimer ??= this.clock.setTimer(ASSIGNMENT_BATCH_WINDOW_MS, () => this.flush());
  }

  /** A task event for a task that is, or was, on this node. */
  onTaskEvent(event: TaskEvent): void {
    const task = event.object;
    if (event.action === 'delete' || task.NodeID !== this.nodeId) {
      if (this.known.delete(task.ID)) this.queue(task.ID, { action: 'remove', taskId: task.ID });
      return;
    }
    if (!isForAgent(task)) return;
    const previous = this.known.get(task.ID);
    this.known.set(task.ID, task);
    if (previous && sameTaskForAgent(previous, task) && task.Status.State !== 'assigned') return;
    this.queue(task.ID, { action: 'update', task });
  }

  private queue(taskId: string, change: AssignmentChange): void {
    if (!this.stream.isOpen) return;
    this.pending.set(taskId, change);
    if (this.pending.size >= ASSIGNMENT_BATCH_MAX_CHANGES) {
      this.flush();
      return;
    }
    // A window from the first change, not a quiet period: under a steady stream of changes a quiet
    // period would never end, and the node would wait for the batch to fill up.
    this.batchTimer ??= this.clock.setTimer(ASSIGNMENT_BATCH_WINDOW_MS, () => this.flush());
  }

  private flush(): void {
    this.batchTimer?.cancel();
    this.batchTimer = undefined;
    if (this.pending.size === 0 && this.pendingNetwork.length === 0) return;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    const network = this.pendingNetwork;
    this.pendingNetwork = [];
    this.send('incremental', changes, network.length > 0 ? network : undefined);
  }

  private send(
    type: AssignmentsMessage['type'],
    changes: AssignmentChange[],
    network: NetworkChange[] | undefined,
  ): void {
    const appliesTo = this.sequence === 0 ? '' : String(this.sequence);
    this.sequence++;
    this.stream.send({
      type,
      appliesTo,
      resultsIn: String(this.sequence),
      changes,
      ...(network && this.sentView
        ? {
            network: {
              version: this.networkVersion,
              dataPathPort: this.sentView.dataPathPort,
              changes: network,
            },
          }
        : {}),
    });
  }
}
