// One node's assignments stream (swarmkit's Assignments): first the COMPLETE set of the node's tasks,
// then INCREMENTAL batches of what changed. Changes are gathered until 100 ms pass without a new one
// or 100 are waiting, so a service update touching many tasks goes out in few messages.
//
// Agents report statuses constantly and each report is a store write; sending those back to the node
// would double the traffic for nothing. An update goes out only when something the agent acts on
// changed (spec, desired state…), or while the task is still ASSIGNED — states up to ASSIGNED are set
// by managers, and the agent must see those even when nothing else changed.
//
// Secrets and configs go with the tasks that use them, as swarmkit's assignment set sends them: a task
// that arrives in a state up to RUNNING brings the secrets and configs its spec references (each sent
// once, with its first user on the node), and the node is told to forget one (`remove-secret`,
// `remove-config`) as soon as no task of the node up to RUNNING uses it — the last user ended (its state
// went past RUNNING) or was removed. So a secret's data reaches a node only while a task there needs it.

import {
  sameTaskForAgent,
  type AssignmentChange,
  type AssignmentsMessage,
  type ConfigAssignment,
  type SecretAssignment,
} from '../../api/dispatcher.js';
import type { Clock, Timer } from '../../api/clock.js';
import { diffNetworkViews, type NetworkChange } from '../../api/network-view.js';
import type { NodeNetworkView } from '../../api/networks.js';
import { isAfter, isBefore } from '../../api/taskstate.js';
import type { Task } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';
import type { ServerStream } from './stream.js';

export const ASSIGNMENT_BATCH_WINDOW_MS = 5;
export const ASSIGNMENT_BATCH_MAX_CHANGES = 100;

type TaskEvent = Extract<ObjectEvent, { kind: 'task' }>;

/** The secrets and configs tasks reference, as the store holds them now (undefined: gone). */
export interface DependencyLookup {
  secret(id: string): SecretAssignment | undefined;
  config(id: string): ConfigAssignment | undefined;
}

/** Tasks below ASSIGNED may not even fit the node yet (the scheduler has not confirmed them). */
const isForAgent = (task: Task): boolean => !isBefore(task.Status.State, 'assigned');

type DependencyKey = `secret:${string}` | `config:${string}`;
type ChangeKey = `task:${string}` | DependencyKey;

/** The secrets and configs a task's spec references, each once. */
export function taskDependencies(task: Task): DependencyKey[] {
  const container = task.Spec.ContainerSpec;
  const keys = new Set<DependencyKey>();
  for (const ref of container?.Secrets ?? []) if (ref.SecretID) keys.add(`secret:${ref.SecretID}`);
  for (const ref of container?.Configs ?? []) if (ref.ConfigID) keys.add(`config:${ref.ConfigID}`);
  return [...keys];
}

export class AssignmentStream {
  /** The last version seen of every task the node knows about. */
  private readonly known = new Map<string, Task>();
  /** For each secret and config sent to the node: the tasks (up to RUNNING) that use it. */
  private readonly users = new Map<DependencyKey, Set<string>>();
  private pending = new Map<ChangeKey, AssignmentChange>();
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
    private readonly dependencies: DependencyLookup,
  ) {
    stream.onClose(() => this.batchTimer?.cancel());
  }

  /**
   * Sends the node's whole set; `tasks` are all tasks with `NodeID` = this node, `view` its network view
   * as of store revision `version`.
   */
  sendComplete(tasks: Iterable<Task>, view?: NodeNetworkView, version = 0): void {
    const taskChanges: AssignmentChange[] = [];
    const dependencyChanges = new Map<ChangeKey, AssignmentChange>();
    for (const task of tasks) {
      if (!isForAgent(task)) continue;
      this.known.set(task.ID, task);
      if (!isAfter(task.Status.State, 'running')) this.use(task, dependencyChanges);
      taskChanges.push({ action: 'update', task });
    }
    if (view) {
      this.sentView = view;
      this.networkVersion = version;
    }
    this.send(
      'complete',
      [...dependencyChanges.values(), ...taskChanges],
      view ? diffNetworkViews(undefined, view) : undefined,
    );
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
      const previous = this.known.get(task.ID);
      if (previous) {
        this.known.delete(task.ID);
        this.queue(`task:${task.ID}`, { action: 'remove', taskId: task.ID });
        this.release(previous);
      }
      return;
    }
    if (!isForAgent(task)) return;
    const previous = this.known.get(task.ID);
    this.known.set(task.ID, task);
    if (previous && sameTaskForAgent(previous, task) && task.Status.State !== 'assigned') {
      // Nothing for the agent to do; but a task that ended no longer needs its secrets and configs.
      if (isAfter(task.Status.State, 'running')) this.release(task);
      return;
    }
    // States after RUNNING are reported by agents: a task never arrives in one needing anything.
    if (!previous && !isAfter(task.Status.State, 'running')) this.use(task, this.pending);
    this.queue(`task:${task.ID}`, { action: 'update', task });
    if (previous && isAfter(task.Status.State, 'running')) this.release(task);
  }

  /**
   * Records the task as a user of its secrets and configs, adding an update for each one the node does not
   * have yet to `changes`. One the store no longer holds is not sent: the agent rejects the task, saying so.
   */
  private use(task: Task, changes: Map<ChangeKey, AssignmentChange>): void {
    for (const key of taskDependencies(task)) {
      let users = this.users.get(key);
      if (!users) {
        const change = this.dependencyUpdate(key);
        if (!change) continue;
        this.users.set(key, (users = new Set()));
        changes.set(key, change);
      }
      users.add(task.ID);
    }
    if (changes === this.pending) this.schedule();
  }

  /** The task no longer needs its secrets and configs: the node forgets those no other task needs. */
  private release(task: Task): void {
    for (const key of taskDependencies(task)) {
      const users = this.users.get(key);
      if (!users?.delete(task.ID) || users.size > 0) continue;
      this.users.delete(key);
      const [kind, id] = splitKey(key);
      this.queue(
        key,
        kind === 'secret'
          ? { action: 'remove-secret', secretId: id }
          : { action: 'remove-config', configId: id },
      );
    }
  }

  private dependencyUpdate(key: DependencyKey): AssignmentChange | undefined {
    const [kind, id] = splitKey(key);
    if (kind === 'secret') {
      const secret = this.dependencies.secret(id);
      return secret && { action: 'update-secret', secret };
    }
    const config = this.dependencies.config(id);
    return config && { action: 'update-config', config };
  }

  private queue(key: ChangeKey, change: AssignmentChange): void {
    if (!this.stream.isOpen) return;
    // A later change of the same object replaces an earlier one not sent yet (a secret added and then
    // removed within a batch never leaves the manager).
    this.pending.delete(key);
    this.pending.set(key, change);
    this.schedule();
  }

  private schedule(): void {
    if (this.pending.size >= ASSIGNMENT_BATCH_MAX_CHANGES) {
      this.flush();
      return;
    }
    // A window from the first change, not a quiet period: under a steady stream of changes a quiet
    // period would never end, and the node would wait for the batch to fill up.
    if (this.pending.size > 0)
      this.batchTimer ??= this.clock.setTimer(ASSIGNMENT_BATCH_WINDOW_MS, () => this.flush());
  }

  private flush(): void {
    this.batchTimer?.cancel();
    this.batchTimer = undefined;
    if (this.pending.size === 0 && this.pendingNetwork.length === 0) return;
    const changes = [...this.pending.values()];
    this.pending = new Map();
    // What tasks need first, then the tasks, then what they no longer need (the agent applies them in
    // this order too).
    const rank = (change: AssignmentChange): number =>
      change.action === 'update-secret' || change.action === 'update-config'
        ? 0
        : change.action === 'update' || change.action === 'remove'
          ? 1
          : 2;
    changes.sort((a, b) => rank(a) - rank(b));
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

function splitKey(key: DependencyKey): ['secret' | 'config', string] {
  const colon = key.indexOf(':');
  return [key.slice(0, colon) as 'secret' | 'config', key.slice(colon + 1)];
}
