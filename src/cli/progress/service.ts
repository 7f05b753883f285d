// The converge display of `service create/update/scale/rollback` (docker/cli's
// cli/command/service/progress): every 200 ms the service, its up-to-date tasks and the nodes are
// read and turned into progress rows — one per replica slot (replicated), per node (global), per job
// slot (jobs) — plus an "overall progress" line; once all tasks run, the display waits out the update
// monitor period ("verify: Waiting N seconds…") and ends with "verify: Service X converged". A paused
// update or rollback ends it with an error, as Docker does.

import type { Node, Service, Task, TaskState } from '../../api/types.js';
import { truncateID } from '../format-helpers.js';
import type { ProgressUpdate } from './display.js';

/** The states in the order progress moves through them (numberedStates). */
const NUMBERED_STATES: Partial<Record<TaskState, number>> = {
  new: 1,
  allocated: 2,
  pending: 3,
  assigned: 4,
  accepted: 5,
  preparing: 6,
  ready: 7,
  starting: 8,
  running: 9,
  // Not shown as progress, used to order tasks.
  complete: 10,
  shutdown: 11,
  failed: 12,
  rejected: 13,
};

const rank = (state: string | undefined): number => NUMBERED_STATES[state as TaskState] ?? 0;

/** The longest state name shown (`preparing`), which status words are padded to. */
const LONGEST_STATE = 9;
const MAX_PROGRESS = 9;
const MAX_PROGRESS_BARS = 20;
const MAX_JOB_PROGRESS = 10;

const terminalState = (state: string | undefined): boolean => rank(state) > rank('running');

type Write = (u: ProgressUpdate) => void;

/** Removes newlines and keeps error texts to 75 characters, as the progress rows show them. */
export function truncError(err: string): string {
  let msg = err.replace(/\n/g, ' ');
  if (Buffer.byteLength(msg) > 75) {
    msg =
      Buffer.from(msg)
        .subarray(0, 74)
        .toString('utf8')
        .replace(/\uFFFD$/, '') + '…';
  }
  return msg;
}

function writeOverallProgress(write: Write, numerator: number, denominator: number, rollback: boolean): void {
  write({
    id: 'overall progress',
    action: rollback
      ? `rolling back update: ${numerator} out of ${denominator} tasks`
      : `${numerator} out of ${denominator} tasks`,
  });
}

/** The row of one task: its error, or its state with a bar. */
function writeTaskRow(write: Write, id: string, task: Task, total: number, always: boolean): void {
  if (task.Status?.Err) {
    write({ id, action: truncError(task.Status.Err) });
    return;
  }
  if (always || (!terminalState(task.DesiredState) && !terminalState(task.Status?.State))) {
    write({
      id,
      action: (task.Status?.State ?? '').padEnd(LONGEST_STATE),
      current: rank(task.Status?.State),
      total,
      hideCounts: true,
    });
  }
}

/**
 * Picks one task per key: the one with the lowest desired state, then the lowest observed state
 * (restarts and start-first updates leave two tasks in a slot).
 */
function pickLowest(existing: Task | undefined, task: Task): boolean {
  if (!existing) return true;
  if (rank(existing.DesiredState) < rank(task.DesiredState)) return false;
  if (
    rank(existing.DesiredState) === rank(task.DesiredState) &&
    rank(existing.Status?.State) <= rank(task.Status?.State)
  ) {
    return false;
  }
  return true;
}

export interface ProgressUpdater {
  /** Draws the current state; true when the service has converged. */
  update(service: Service, tasks: Task[], activeNodes: Set<string>, rollback: boolean): boolean;
}

class ReplicatedUpdater implements ProgressUpdater {
  private readonly slotMap = new Map<number, number>();
  private initialized = false;
  private done = false;

  constructor(private readonly write: Write) {}

  update(service: Service, tasks: Task[], activeNodes: Set<string>, rollback: boolean): boolean {
    const replicas = service.Spec.Mode?.Replicated?.Replicas;
    if (replicas === undefined || replicas === null) throw new Error('no replica count');
    if (!this.initialized) {
      writeOverallProgress(this.write, 0, replicas, rollback);
      if (replicas <= MAX_PROGRESS_BARS) {
        for (let i = 1; i <= replicas; i++) this.write({ id: `${i}/${replicas}`, action: ' ' });
      }
      this.initialized = true;
    }
    const bySlot = new Map<number, Task>();
    for (const task of tasks) {
      if (rank(task.DesiredState) === 0 || rank(task.Status?.State) === 0) continue;
      const slot = task.Slot ?? 0;
      if (!pickLowest(bySlot.get(slot), task)) continue;
      if (task.NodeID && !activeNodes.has(task.NodeID)) continue;
      bySlot.set(slot, task);
    }
    const slots = [...bySlot.keys()].sort((a, b) => a - b);
    if (this.done && slots.some((s) => bySlot.get(s)!.Status?.State !== 'running')) this.done = false;
    let running = 0;
    for (const slot of slots) {
      const task = bySlot.get(slot)!;
      let mapped = this.slotMap.get(slot);
      if (mapped === undefined) {
        mapped = this.slotMap.size + 1;
        this.slotMap.set(slot, mapped);
      }
      if (!terminalState(task.DesiredState) && task.Status?.State === 'running') running++;
      if (!this.done && replicas <= MAX_PROGRESS_BARS && mapped <= replicas) {
        writeTaskRow(this.write, `${mapped}/${replicas}`, task, MAX_PROGRESS, false);
      }
    }
    if (!this.done) {
      writeOverallProgress(this.write, running, replicas, rollback);
      if (running === replicas) this.done = true;
    }
    return running === replicas;
  }
}

class GlobalUpdater implements ProgressUpdater {
  private initialized = false;
  private done = false;

  constructor(private readonly write: Write) {}

  update(_service: Service, tasks: Task[], activeNodes: Set<string>, rollback: boolean): boolean {
    const byNode = new Map<string, Task>();
    for (const task of tasks) {
      if (rank(task.DesiredState) === 0 || rank(task.Status?.State) === 0) continue;
      const node = task.NodeID ?? '';
      if (!pickLowest(byNode.get(node), task)) continue;
      byNode.set(node, task);
    }
    // The orchestrator creates the tasks of every eligible node at once, so their number is the
    // number of nodes the service will run on.
    const nodeCount = byNode.size;
    if (!this.initialized) {
      if (nodeCount === 0) {
        this.write({ id: 'overall progress', action: 'waiting for new tasks' });
        return false;
      }
      writeOverallProgress(this.write, 0, nodeCount, rollback);
      this.initialized = true;
    }
    const nodes = [...byNode.keys()].sort();
    if (this.done && nodes.some((n) => byNode.get(n)!.Status?.State !== 'running')) this.done = false;
    let running = 0;
    for (const node of nodes) {
      const task = byNode.get(node)!;
      if (!activeNodes.has(task.NodeID ?? '')) continue;
      if (!terminalState(task.DesiredState) && task.Status?.State === 'running') running++;
      if (!this.done && nodeCount <= MAX_PROGRESS_BARS) {
        writeTaskRow(this.write, truncateID(task.NodeID ?? ''), task, MAX_PROGRESS, false);
      }
    }
    if (!this.done) {
      writeOverallProgress(this.write, running, nodeCount, rollback);
      if (running === nodeCount) this.done = true;
    }
    return running === nodeCount;
  }
}

/** `%*d`: a number right-aligned to `width` characters. */
const padNum = (n: number, width: number): string => String(n).padStart(width);

class ReplicatedJobUpdater implements ProgressUpdater {
  private initialized = false;
  private readonly concurrent: number;
  private readonly total: number;
  private readonly jobIteration: number;

  constructor(
    private readonly write: Write,
    service: Service,
  ) {
    this.concurrent = service.Spec.Mode?.ReplicatedJob?.MaxConcurrent ?? 0;
    this.total = service.Spec.Mode?.ReplicatedJob?.TotalCompletions ?? 0;
    this.jobIteration = service.JobStatus?.JobIteration?.Index ?? 0;
  }

  update(_service: Service, tasks: Task[]): boolean {
    if (!this.initialized) {
      this.writeOverall(0, 0);
      if (this.total <= MAX_PROGRESS_BARS) {
        for (let i = 1; i <= this.total; i++) this.write({ id: `${i}/${this.total}`, action: ' ' });
      }
      this.initialized = true;
    }
    const bySlot = new Map<number, Task>();
    for (const task of tasks) {
      if (!task.JobIteration || (task.JobIteration.Index ?? 0) !== this.jobIteration) continue;
      if (rank(task.DesiredState) === 0 || rank(task.Status?.State) === 0) continue;
      const slot = task.Slot ?? 0;
      const existing = bySlot.get(slot);
      if (!existing || rank(existing.Status?.State) > rank(task.Status?.State)) bySlot.set(slot, task);
    }
    let active = 0;
    let complete = 0;
    // Slots are numbered 0..n-1; Docker walks them by index, so a missing slot shows as an empty task.
    for (let i = 0; i < bySlot.size; i++) {
      const task = bySlot.get(i) ?? ({ Slot: 0, Status: { State: '' } } as unknown as Task);
      if (this.total <= MAX_PROGRESS_BARS) {
        writeTaskRow(this.write, `${(task.Slot ?? 0) + 1}/${this.total}`, task, MAX_JOB_PROGRESS, true);
      }
      if (rank(task.Status?.State) < rank('complete')) active++;
      if (task.Status?.State === 'complete') complete++;
    }
    this.writeOverall(active, complete);
    return complete === this.total;
  }

  private writeOverall(active: number, completed: number): void {
    const digits = String(this.total).length;
    this.write({
      id: 'job progress',
      action: `${padNum(completed, digits)} out of ${this.total} complete`,
      current: completed,
      total: this.total,
      hideCounts: true,
    });
    const activeDigits = String(this.concurrent).length;
    const desired = Math.min(this.total - completed, this.concurrent);
    this.write({
      id: 'active tasks',
      action: `${padNum(active, activeDigits)} out of ${padNum(desired, activeDigits)} tasks`,
    });
  }
}

class GlobalJobUpdater implements ProgressUpdater {
  private initialized = false;
  private total = 0;
  private taskNodes = new Set<string>();

  constructor(private readonly write: Write) {}

  update(service: Service, tasks: Task[], activeNodes: Set<string>): boolean {
    const iteration = service.JobStatus?.JobIteration?.Index ?? 0;
    const ofIteration = (t: Task): boolean =>
      t.JobIteration !== undefined && (t.JobIteration.Index ?? 0) === iteration;
    if (!this.initialized) {
      if (tasks.length === 0 && activeNodes.size !== 0) {
        this.write({ id: 'job progress', action: 'waiting for tasks' });
        return false;
      }
      // All tasks of a global job are created at once: their nodes are the nodes it will run on.
      this.taskNodes = new Set(tasks.filter(ofIteration).map((t) => t.NodeID ?? ''));
      this.total = this.taskNodes.size;
      this.writeOverall(0);
      this.initialized = true;
    }
    const byNode = new Map<string, Task>();
    for (const task of tasks) {
      if (!ofIteration(task) || !this.taskNodes.has(task.NodeID ?? '')) continue;
      const old = byNode.get(task.NodeID ?? '');
      if (!old || rank(old.Status?.State) > rank(task.Status?.State)) byNode.set(task.NodeID ?? '', task);
    }
    let complete = 0;
    for (const node of [...byNode.keys()].sort()) {
      const task = byNode.get(node)!;
      if (this.total <= MAX_PROGRESS_BARS)
        writeTaskRow(this.write, task.NodeID ?? '', task, MAX_JOB_PROGRESS, true);
      if (task.Status?.State === 'complete') complete++;
    }
    this.writeOverall(complete);
    return complete === this.total;
  }

  private writeOverall(complete: number): void {
    this.write({
      id: 'job progress',
      action: `${padNum(complete, String(this.total).length)} out of ${this.total} complete`,
      current: complete,
      total: this.total,
      hideCounts: true,
    });
  }
}

export function newUpdater(service: Service, write: Write): ProgressUpdater {
  const mode = service.Spec.Mode ?? {};
  if (mode.Replicated && mode.Replicated.Replicas !== undefined && mode.Replicated.Replicas !== null) {
    return new ReplicatedUpdater(write);
  }
  if (mode.Global) return new GlobalUpdater(write);
  if (mode.ReplicatedJob) return new ReplicatedJobUpdater(write, service);
  if (mode.GlobalJob) return new GlobalJobUpdater(write);
  throw new Error('unrecognized service mode');
}

/** Where the display reads the cluster state from (the Engine API, or recorded answers in tests). */
export interface ConvergeSource {
  service(ref: string): Promise<Service>;
  upToDateTasks(serviceID: string): Promise<Task[]>;
  nodes(): Promise<Node[]>;
}

export interface ConvergeClock {
  now(): number;
  /** Waits `ms`; resolves early (with true) when the user interrupts. */
  sleep(ms: number): Promise<boolean>;
}

const SECOND_MS = 1000;

/**
 * Follows the service until it has converged (docker's ServiceProgress). `serviceRef` is what the
 * user typed (it appears in the final "converged" line); tasks are looked up by the service's ID.
 */
export async function serviceProgress(
  serviceRef: string,
  source: ConvergeSource,
  write: Write,
  clock: ConvergeClock,
): Promise<void> {
  let updater: ProgressUpdater | undefined;
  let converged = false;
  let convergedAt: number | undefined;
  let monitorMs = 5 * SECOND_MS;
  let rollback = false;
  let message: ProgressUpdate | undefined;
  for (;;) {
    const service = await source.service(serviceRef);
    const monitor = service.Spec.UpdateConfig?.Monitor;
    if (monitor) monitorMs = monitor / 1e6;
    updater ??= newUpdater(service, write);
    const status = service.UpdateStatus;
    if (status) {
      switch (status.State) {
        case 'updating':
          rollback = false;
          break;
        case 'completed':
          if (!converged) return;
          break;
        case 'paused':
          throw new Error(`service update paused: ${status.Message ?? ''}`);
        case 'rollback_started':
          if (!rollback && status.Message) write({ id: 'rollback', action: status.Message });
          rollback = true;
          break;
        case 'rollback_paused':
          throw new Error(`service rollback paused: ${status.Message ?? ''}`);
        case 'rollback_completed':
          if (!converged) message = { id: 'rollback', message: status.Message ?? '' };
          rollback = true;
          break;
      }
    }
    if (converged && convergedAt !== undefined && clock.now() - convergedAt >= monitorMs) {
      write({ id: 'verify', action: `Service ${serviceRef} converged` });
      if (message) write(message);
      return;
    }
    const tasks = await source.upToDateTasks(service.ID);
    const activeNodes = new Set(
      (await source.nodes()).filter((n) => n.Status?.State !== 'down').map((n) => n.ID),
    );
    converged = updater.update(service, tasks, activeNodes, rollback);
    if (converged) {
      // Jobs stay done once done: no verification period.
      if (service.JobStatus) {
        write({ id: '', message: 'job complete' });
        return;
      }
      convergedAt ??= clock.now();
      // In Go some nanoseconds always pass between the two clock readings, so the first wait is
      // just under the monitor period ("Waiting 5 seconds", not 6).
      const wait = monitorMs - Math.max(clock.now() - convergedAt, 1e-6);
      if (wait >= 0) {
        write({
          id: 'verify',
          action: `Waiting ${Math.floor(wait / SECOND_MS) + 1} seconds to verify that tasks are stable...`,
        });
      }
    } else {
      if (convergedAt !== undefined) write({ id: 'verify', action: 'Detected task failure' });
      convergedAt = undefined;
    }
    if (await clock.sleep(200)) {
      if (!converged) {
        write({ id: '', message: 'Operation continuing in background.' });
        write({ id: '', message: `Use \`shoal service ps ${serviceRef}\` to check progress.` });
      }
      return;
    }
  }
}
