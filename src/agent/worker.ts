// The node's set of tasks (swarmkit's agent worker): applies the managers' assignments — a task
// manager for each new task, updates to known ones, removal of those that disappear — and remembers
// everything in the state DB so that a restarted daemon picks its tasks up where it left them. The
// secrets and configs that come with the tasks are kept in memory only (dependencies.ts), and each task's
// controller may use those its spec references.

import type { AssignmentsMessage, TaskStatusUpdate } from '../api/dispatcher.js';
import { clockTimestamp, type Clock, type Timer } from '../api/clock.js';
import { isTerminal } from '../api/taskstate.js';
import type { Task } from '../api/types.js';
import { DependencyStore } from './dependencies.js';
import type { Controller, Executor, RecoveredTask } from './executor/executor.js';
import { FailedController } from './failed-controller.js';
import type { AgentLog } from './log.js';
import { hasHealthcheck, resumeStatus } from './recovery.js';
import type { StatusReporter } from './reporter.js';
import type { AgentStateDb } from './state-db.js';
import { TaskManager } from './task-manager.js';

export interface WorkerOptions {
  executor: Executor;
  db: AgentStateDb;
  reporter: StatusReporter;
  clock: Clock;
  log: AgentLog;
  /** A task was added or changed status (the log publisher follows new tasks through this). */
  onTaskChanged?: (task: TaskManager) => void;
  /** Where the secrets and configs the managers send are kept (a store of its own when absent). */
  dependencies?: DependencyStore;
}

/** How often running tasks' health is looked at, to report changes that come without a state change. */
export const HEALTH_REPORT_INTERVAL_MS = 2_000;

export class Worker {
  private readonly managers = new Map<string, TaskManager>();
  /** What was last reported of each task's health (status, streak, newest probe), to send only changes. */
  private readonly reportedHealth = new Map<string, string>();
  private healthTimer: Timer | undefined;
  /** Processes the executor found at start-up whose task the agent has not seen yet. */
  private readonly unclaimed = new Map<string, RecoveredTask>();
  private readonly removals = new Set<Promise<void>>();
  readonly dependencies: DependencyStore;

  constructor(private readonly options: WorkerOptions) {
    this.dependencies = options.dependencies ?? new DependencyStore();
    this.scheduleHealthReport();
  }

  /**
   * Health changes while a task keeps running (a probe failing once, then passing again) change no task
   * state, so they would never reach `docker inspect` of the task; this sends them on their own.
   */
  private scheduleHealthReport(): void {
    this.healthTimer = this.options.clock.setTimer(HEALTH_REPORT_INTERVAL_MS, () => {
      for (const manager of this.managers.values()) {
        let health;
        try {
          health = manager.controller.health();
        } catch {
          continue;
        }
        if (!health) continue;
        const fingerprint = `${health.Status}/${health.FailingStreak}/${health.Log.at(-1)?.End ?? ''}`;
        if (this.reportedHealth.get(manager.id) === fingerprint) continue;
        this.reportedHealth.set(manager.id, fingerprint);
        this.options.reporter.report(statusUpdate(manager));
      }
      for (const id of this.reportedHealth.keys()) if (!this.managers.has(id)) this.reportedHealth.delete(id);
      this.scheduleHealthReport();
    });
  }

  /**
   * Resumes the tasks remembered from before a restart; they keep running without a manager.
   * `executorUnavailable`: the executor could not recover anything (why), so tasks known as running fail.
   */
  resume(remembered: Task[], recovered: RecoveredTask[], executorUnavailable?: string): void {
    for (const found of recovered) this.unclaimed.set(found.taskId, found);
    for (const task of remembered) this.adopt(task, executorUnavailable);
    for (const taskId of this.unclaimed.keys()) {
      // The managers' first COMPLETE set decides: adopted if it holds the task, removed if not.
      this.options.log.warn('agent: executor recovered a task the agent has no record of', { taskId });
    }
  }

  apply(message: AssignmentsMessage): void {
    if (message.type === 'complete') {
      const assigned = new Set<string>();
      for (const change of message.changes) if (change.action === 'update') assigned.add(change.task.ID);
      for (const taskId of [...this.managers.keys()]) if (!assigned.has(taskId)) this.remove(taskId);
      // The complete set carries every secret and config the node's tasks still use.
      this.dependencies.reset();
    }
    this.applyChanges(message);
    if (message.type === 'complete') {
      this.dependencies.completed();
      // A COMPLETE set is everything the managers assign to this node. What the executor still has and
      // neither it nor the state DB claims would otherwise run (or sit on disk) forever, unknown to all.
      this.removeUnclaimed();
    }
  }

  tasks(): Iterable<TaskManager> {
    return this.managers.values();
  }

  /** Every task's current status, for the re-report that follows each registration. */
  statuses(): TaskStatusUpdate[] {
    return [...this.managers.values()].map((manager) => statusUpdate(manager));
  }

  /** Stops driving the tasks and leaves their processes running (daemon shutdown). */
  async close(): Promise<void> {
    this.healthTimer?.cancel();
    await Promise.all([...this.managers.values()].map((manager) => manager.close()));
    this.managers.clear();
    await Promise.all(this.removals);
    this.dependencies.clear();
  }

  /**
   * Stops and removes every task, the unclaimed ones the executor recovered included (the node leaves the
   * swarm). A task whose removal fails stays in the state DB, so that it is not forgotten while it may
   * still run: the agent's leave ends with the executor's purge where there is one.
   */
  async removeAll(): Promise<void> {
    this.healthTimer?.cancel();
    const managers = [...this.managers.values()];
    this.managers.clear();
    this.removeUnclaimed();
    await Promise.all(
      managers.map(async (manager) => {
        await manager.close();
        if (!isTerminal(manager.current.Status.State)) {
          await manager.controller
            .shutdown()
            .catch((err: unknown) => this.logFailure('shutdown', manager.id, err));
        }
        try {
          await manager.controller.remove();
          this.options.db.deleteTask(manager.id);
        } catch (err) {
          this.logFailure('remove', manager.id, err);
        }
      }),
    );
    await Promise.all(this.removals);
    this.dependencies.clear();
  }

  /**
   * Applies a message's changes in swarmkit's order, whatever their order in the message: the secrets
   * and configs that arrive first (the tasks that come with them use them), then the tasks, then the
   * secrets and configs no task needs any more.
   */
  private applyChanges(message: AssignmentsMessage): void {
    const { dependencies } = this;
    for (const change of message.changes) {
      if (change.action === 'update-secret') dependencies.updateSecret(change.secret);
      else if (change.action === 'update-config') dependencies.updateConfig(change.config);
    }
    for (const change of message.changes) {
      switch (change.action) {
        case 'update':
          this.upsert(change.task);
          break;
        case 'remove':
          this.remove(change.taskId);
          break;
        case 'update-secret':
        case 'update-config':
        case 'remove-secret':
        case 'remove-config':
          break; // before and after the tasks
        default: {
          const never: never = change;
          // Never the change itself: an unknown kind of change might carry secret data.
          this.options.log.warn('agent: unknown assignment change', {
            action: String((never as { action?: unknown }).action),
          });
        }
      }
    }
    for (const change of message.changes) {
      if (change.action === 'remove-secret') dependencies.removeSecret(change.secretId);
      else if (change.action === 'remove-config') dependencies.removeConfig(change.configId);
    }
  }

  private upsert(task: Task): void {
    const manager = this.managers.get(task.ID);
    if (!manager) {
      this.adopt(task);
      return;
    }
    const before = manager.current;
    manager.update(task);
    if (manager.current !== before) this.options.db.saveTask(manager.current);
  }

  private adopt(task: Task, executorUnavailable?: string): void {
    const found = this.unclaimed.get(task.ID);
    this.unclaimed.delete(task.ID);
    const status = resumeStatus(task.Status, found, clockTimestamp(this.options.clock), {
      healthchecked: hasHealthcheck(task),
      ...(executorUnavailable !== undefined ? { executorUnavailable } : {}),
    });
    const resumed: Task = { ...task, Status: status };
    const manager = new TaskManager(resumed, {
      controller: this.controllerFor(resumed),
      clock: this.options.clock,
      log: this.options.log,
      onStatus: () => this.onStatus(manager),
    });
    this.managers.set(task.ID, manager);
    this.options.db.saveTask(manager.current);
    if (status !== task.Status) this.options.reporter.report(statusUpdate(manager));
    manager.start();
    this.options.onTaskChanged?.(manager);
  }

  private controllerFor(task: Task): Controller {
    try {
      return this.options.executor.controller(task, this.dependencies.restrict(task));
    } catch (err) {
      return new FailedController(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private onStatus(manager: TaskManager): void {
    if (this.managers.get(manager.id) !== manager) return;
    this.options.db.saveTask(manager.current);
    this.options.reporter.report(statusUpdate(manager));
    this.options.onTaskChanged?.(manager);
  }

  /**
   * The task is gone from the managers (deleted from the store): free what it left on the node. Its
   * process should have stopped long ago (desired SHUTDOWN or REMOVE comes first); if not, kill it.
   */
  private remove(taskId: string): void {
    const manager = this.managers.get(taskId);
    if (!manager) return;
    this.managers.delete(taskId);
    this.options.reporter.forget(taskId);
    const removal = (async () => {
      await manager.close();
      if (!isTerminal(manager.current.Status.State)) {
        await manager.controller
          .terminate()
          .catch((err: unknown) => this.logFailure('terminate', taskId, err));
      }
      try {
        await manager.controller.remove();
        this.options.db.deleteTask(taskId);
      } catch (err) {
        // Kept in the state DB: the next restart resumes it and the next COMPLETE set removes it again.
        this.logFailure('remove', taskId, err);
      }
    })();
    this.track(removal);
  }

  /** Kills and removes what the executor recovered that no one claimed (see apply). */
  private removeUnclaimed(): void {
    for (const [taskId, found] of this.unclaimed) {
      this.unclaimed.delete(taskId);
      if (this.managers.has(taskId)) continue;
      this.options.log.warn('agent: removing a task no manager assigns to this node', {
        taskId,
        running: found.running,
      });
      this.track(
        (async () => {
          const controller = this.controllerFor(unclaimedTask(taskId));
          // Nobody wants it, and its spec (stop signal, grace period) is unknown: killed, not stopped.
          if (found.running) {
            await controller.terminate().catch((err: unknown) => this.logFailure('terminate', taskId, err));
          }
          await controller.remove().catch((err: unknown) => this.logFailure('remove', taskId, err));
        })(),
      );
    }
  }

  /** Keeps a removal in `removals` while it runs (close and removeAll wait for them). */
  private track(removal: Promise<void>): void {
    this.removals.add(removal);
    void removal.finally(() => this.removals.delete(removal));
  }

  private logFailure(operation: string, taskId: string, err: unknown): void {
    this.options.log.warn(`agent: ${operation} failed`, { taskId, err });
  }
}

/**
 * What the executor needs to make a controller for a task known only by its ID: enough to kill and
 * remove it (the executor recovered it; no manager or state DB has the rest).
 */
function unclaimedTask(taskId: string): Task {
  return {
    ID: taskId,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: {},
    ServiceID: '',
    Status: { Timestamp: '', State: 'orphaned', Message: 'no manager assigns this task to the node' },
    DesiredState: 'remove',
  };
}

function statusUpdate(manager: TaskManager): TaskStatusUpdate {
  let health;
  try {
    health = manager.controller.health();
  } catch {
    health = undefined;
  }
  return {
    taskId: manager.id,
    status: manager.current.Status,
    ...(health !== undefined ? { health } : {}),
  };
}
