// The allocator's thin loop (swarmkit's manager/allocator), on the leader: it keeps the address book in
// step with the store, notes what a commit makes worth looking at — new tasks, nodes whose tasks came or
// went, networks that got their allocation or were removed — and runs a pass a batch window later: plan
// with the pure core (core.ts) on a snapshot, write in transactions of bounded size (apply.ts), give back
// the addresses of what was not written.
//
// The book is built from the store when the loop starts, so a restarted manager gives out exactly what is
// free. A task that found no free address (or a network not allocated yet) waits, NEW, and is tried again
// when an address is freed or a network gets its allocation; so does a node. The work for one service's
// tasks, or for one node, that throws is set aside with backoff (src/manager/quarantine.ts) while every
// other one goes on.

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { isTerminal } from '../../api/taskstate.js';
import { nowTimestamp } from '../../api/time.js';
import { isAllocated, isIngressNetwork } from '../../api/networks.js';
import type { Task } from '../../api/types.js';
import type { ObjectEvent, ObjectEventBatch, ObjectStore, ReadTx } from '../../store/objects.js';
import type { ObjectFailure } from '../isolation.js';
import type { PassObserver } from '../pass-observer.js';
import { Quarantine } from '../quarantine.js';
import { AddressBook } from './address-book.js';
import { applyAllocatorActions } from './apply.js';
import {
  awaitsAllocation,
  needsAllocation,
  planNode,
  planService,
  planTask,
  viewOfReadTx,
  type AllocationView,
  type AllocatorAction,
} from './core.js';
import { nodeHostAddresses, readHostRoutes } from './host.js';
import { addressPools, allocateNetwork, type HostPrefix } from './networks.js';

export interface AllocatorOptions {
  /** How long commits are collected before a pass, in ms (default 1: new tasks wait for it). */
  readonly batchWindowMs?: number;
  /** Wait before retrying a pass that failed, e.g. on a store error, in ms (default 1000). */
  readonly retryDelayMs?: number;
  /** Actions written per transaction (default 250). */
  readonly actionsPerTransaction?: number;
  /** This manager's routes, which subnets must not overlap (default: /proc/net/route). */
  readonly hostRoutes?: () => HostPrefix[];
  /** Milliseconds since the epoch, for backoff (default Date.now). */
  readonly clock?: () => number;
  /** Called when a pass fails; it is retried. Defaults to console.error. */
  readonly onError?: (error: unknown) => void;
  /** Called when the work for one service's tasks or one node throws; it is set aside until `retryAt`. */
  readonly onObjectError?: (failure: ObjectFailure, retryAt: number, first: boolean) => void;
  /** Told when each pass starts and ends (the metrics' reconcile pass duration). */
  readonly observePass?: PassObserver;
}

interface Dirty {
  tasks: Set<string>;
  nodes: Set<string>;
  networks: Set<string>;
  services: Set<string>;
  /** Look at every task and node (start, and after a failed write). */
  everything: boolean;
}

const emptyDirty = (): Dirty => ({
  tasks: new Set(),
  nodes: new Set(),
  networks: new Set(),
  services: new Set(),
  everything: false,
});

export class Allocator {
  private readonly batchWindowMs: number;
  private readonly retryDelayMs: number;
  private readonly actionsPerTransaction: number;
  private readonly hostRoutes: () => HostPrefix[];
  private readonly clock: () => number;
  private readonly onError: (error: unknown) => void;
  private readonly observePass: PassObserver | undefined;
  private readonly onObjectError: NonNullable<AllocatorOptions['onObjectError']>;
  private readonly quarantine = new Quarantine();
  private book = new AddressBook();
  private dirty: Dirty = emptyDirty();
  /** Tasks and nodes that wait for an address to be freed or a network to be allocated. */
  private readonly waitingTasks = new Set<string>();
  private readonly waitingNodes = new Set<string>();
  private readonly waitingServices = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private rerun = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: ObjectStore,
    options: AllocatorOptions = {},
  ) {
    this.batchWindowMs = options.batchWindowMs ?? 1;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.actionsPerTransaction = options.actionsPerTransaction ?? 250;
    this.hostRoutes = options.hostRoutes ?? (() => readHostRoutes());
    this.clock = options.clock ?? Date.now;
    this.onError = options.onError ?? ((error) => console.error('allocator: pass failed:', error));
    this.observePass = options.observePass;
    this.onObjectError =
      options.onObjectError ??
      ((failure) => console.error(`allocator: ${failure.kind} ${failure.id} failed:`, failure.error));
  }

  /** Builds the book from the store, starts watching, and allocates what waits; resolves after that pass. */
  async start(): Promise<void> {
    if (this.unsubscribe) return;
    this.book = this.store.view((tx) =>
      AddressBook.build(tx.list('network'), tx.list('task'), tx.list('node'), tx.list('service')),
    );
    this.unsubscribe = this.store.watch((batch) => this.onCommit(batch));
    this.dirty.everything = true;
    this.runPass();
    await this.running;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.rerun = false;
    await this.running;
    this.dirty = emptyDirty();
    this.waitingTasks.clear();
    this.waitingNodes.clear();
    this.waitingServices.clear();
    this.notifyIfIdle();
  }

  /** Resolves once no pass is running or about to run. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The book, for tests and diagnostics. */
  get addressBook(): AddressBook {
    return this.book;
  }

  /** Tasks waiting for an address or a network. */
  get waiting(): readonly string[] {
    return [...this.waitingTasks];
  }

  private get active(): boolean {
    return this.unsubscribe !== undefined;
  }

  // ---------------------------------------------------------------- following the store

  private onCommit(batch: ObjectEventBatch): void {
    // Networks first: a task of the same batch may use a network that batch allocated.
    const ordered = [
      ...batch.events.filter((e) => e.kind === 'network'),
      ...batch.events.filter((e) => e.kind !== 'network'),
    ];
    let freed = false;
    let relevant = false;
    for (const event of ordered) {
      freed = this.book.applyEvent(event) || freed;
      relevant = this.note(event) || relevant;
    }
    if (freed) relevant = this.retryWaiting() || relevant;
    if (relevant) this.requestPass(this.batchWindowMs);
  }

  /** Marks what the change makes worth a look; returns whether anything was marked. */
  private note(event: ObjectEvent): boolean {
    switch (event.kind) {
      case 'network': {
        if (event.action === 'delete') {
          // Nodes lose their address on it.
          for (const node of this.store.view((tx) => tx.list('node'))) {
            if (node.Attachments?.some((a) => a.Network.ID === event.object.ID))
              this.dirty.nodes.add(node.ID);
          }
          return true;
        }
        const network = event.object;
        if (!isAllocated(network)) {
          this.dirty.networks.add(network.ID);
          return true;
        }
        const newlyAllocated = event.action === 'create' || !isAllocated(event.old);
        if (!newlyAllocated) return false;
        this.retryWaiting();
        // Every node has an address on the ingress network.
        if (isIngressNetwork(network))
          for (const node of this.store.view((tx) => tx.list('node'))) this.dirty.nodes.add(node.ID);
        return true;
      }
      case 'task': {
        let marked = false;
        const task = event.object;
        if (event.action !== 'delete' && awaitsAllocation(task)) {
          this.dirty.tasks.add(task.ID);
          marked = true;
        }
        const old: Task | undefined = event.action === 'update' ? event.old : undefined;
        if (
          this.changesNodeNetworks(
            event.action === 'create' ? undefined : (old ?? task),
            event.action === 'delete' ? undefined : task,
          )
        ) {
          for (const id of [old?.NodeID, task.NodeID]) if (id) this.dirty.nodes.add(id);
          marked = true;
        }
        return marked;
      }
      case 'node':
        if (event.action !== 'create') return false;
        this.dirty.nodes.add(event.object.ID);
        return true;
      case 'service':
        // Its virtual IPs follow its networks and endpoint mode (the book already let go of a deleted one's).
        if (event.action === 'delete') return false;
        this.dirty.services.add(event.object.ID);
        return true;
      default:
        return false;
    }
  }

  /** Whether a task change may change which networks its node needs an address on. */
  private changesNodeNetworks(before: Task | undefined, after: Task | undefined): boolean {
    const networked = (t: Task | undefined): boolean =>
      (t?.NetworksAttachments?.length ?? 0) > 0 && !!t?.NodeID;
    if (!networked(before) && !networked(after)) return false;
    if (!before || !after) return true;
    return (
      before.NodeID !== after.NodeID ||
      isTerminal(before.Status.State) !== isTerminal(after.Status.State) ||
      networksOf(before) !== networksOf(after)
    );
  }

  private retryWaiting(): boolean {
    if (this.waitingTasks.size === 0 && this.waitingNodes.size === 0 && this.waitingServices.size === 0)
      return false;
    for (const id of this.waitingTasks) this.dirty.tasks.add(id);
    for (const id of this.waitingNodes) this.dirty.nodes.add(id);
    for (const id of this.waitingServices) this.dirty.services.add(id);
    this.waitingTasks.clear();
    this.waitingNodes.clear();
    this.waitingServices.clear();
    return true;
  }

  // ---------------------------------------------------------------- passes

  private requestPass(delayMs: number): void {
    if (!this.active) return;
    if (this.running) {
      this.rerun = true;
      return;
    }
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runPass();
    }, delayMs);
  }

  private runPass(): void {
    const dirty = this.dirty;
    this.dirty = emptyDirty();
    const passDone = this.observePass?.();
    this.running = this.pass(dirty)
      .catch((error: unknown) => {
        this.onError(error);
        // The book may now disagree with the store: rebuild it, and look at everything again.
        this.book = this.store.view((tx) =>
          AddressBook.build(tx.list('network'), tx.list('task'), tx.list('node'), tx.list('service')),
        );
        this.dirty.everything = true;
        this.running = undefined;
        this.requestPass(this.retryDelayMs);
      })
      .finally(() => {
        passDone?.();
        this.running = undefined;
        if (this.rerun) {
          this.rerun = false;
          this.requestPass(0);
        }
        this.notifyIfIdle();
      });
  }

  private async pass(dirty: Dirty): Promise<void> {
    if (!this.active) return;
    const now = this.clock();
    for (const key of this.quarantine.due(now)) {
      const [kind, id] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
      if (kind === 'node') dirty.nodes.add(id);
      else dirty.everything = true;
    }
    // Networks first: their tasks are allocated once the network's allocation is committed.
    const networkActions = this.store.view((tx) => this.planNetworks(tx, dirty));
    await this.write(networkActions);
    const failures: ObjectFailure[] = [];
    const actions = this.store.view((tx) => this.planTasksAndNodes(viewOfReadTx(tx), dirty, now, failures));
    for (const failure of failures) {
      const { retryAt, first } = this.quarantine.fail(`${failure.kind}/${failure.id}`, failure.version, now);
      this.onObjectError(failure, retryAt, first);
    }
    await this.write(actions);
    this.armRetry(now);
  }

  private planNetworks(tx: ReadTx, dirty: Dirty): AllocatorAction[] {
    let networks = tx.list('network');
    const ids = dirty.everything ? networks.map((n) => n.ID) : [...dirty.networks];
    const actions: AllocatorAction[] = [];
    if (
      !ids.some((id) => {
        const n = tx.get('network', id);
        return n && !isAllocated(n);
      })
    )
      return actions;
    const { pools, subnetSize } = addressPools(tx.list('cluster')[0]);
    const host = [...nodeHostAddresses(tx.list('node')), ...this.hostRoutes()];
    for (const id of ids) {
      const network = tx.get('network', id);
      if (!network || isAllocated(network)) continue;
      try {
        const allocated = allocateNetwork(network, { networks, pools, subnetSize, host });
        networks = networks.map((n) => (n.ID === id ? allocated : n));
        actions.push({ kind: 'allocateNetwork', network: allocated, reserved: [] });
      } catch (error) {
        // A network stored with a subnet that cannot be had: said once per pass that looks at it.
        this.onError(
          new Error(`network ${network.ID} (${network.Spec.Name}) cannot be allocated: ${String(error)}`),
        );
      }
    }
    return actions;
  }

  private planTasksAndNodes(
    view: AllocationView,
    dirty: Dirty,
    now: number,
    failures: ObjectFailure[],
  ): AllocatorAction[] {
    const timestamp = nowTimestamp();
    const actions: AllocatorAction[] = [];
    // Services: their virtual IPs.
    const serviceIds = dirty.everything ? view.services().map((s) => s.ID) : [...dirty.services];
    for (const serviceId of serviceIds) {
      const service = view.service(serviceId);
      if (!service) continue;
      const key = `vips/${serviceId}`;
      if (this.quarantine.isHeld(key, service.Version.Index, now)) continue;
      try {
        const missing: string[] = [];
        const action = planService(view, this.book, service, missing);
        if (missing.length > 0) this.waitingServices.add(serviceId);
        if (action) actions.push(action);
        this.quarantine.clear(key);
      } catch (error) {
        failures.push({ kind: 'service', id: serviceId, version: service.Version.Index, error });
      }
    }
    // Tasks, service by service: a service whose planning throws is set aside, the others go on.
    const byService = new Map<string, Task[]>();
    const candidates = dirty.everything
      ? view.tasks().filter(awaitsAllocation)
      : [...dirty.tasks].flatMap((id) => {
          const task = view.task(id);
          return task ? [task] : [];
        });
    for (const task of candidates) {
      // In the steady state the orchestrators move tasks without networks themselves.
      if (!dirty.everything && !needsAllocation(task, view.service(task.ServiceID))) continue;
      const group = byService.get(task.ServiceID);
      if (group) group.push(task);
      else byService.set(task.ServiceID, [task]);
    }
    for (const [serviceId, tasks] of byService) {
      const version = view.service(serviceId)?.Version.Index ?? 0;
      if (this.quarantine.isHeld(`service/${serviceId}`, version, now)) continue;
      const planned: AllocatorAction[] = [];
      try {
        for (const task of tasks) {
          const action = planTask(view, this.book, task, timestamp);
          if (!action) this.waitingTasks.add(task.ID);
          else {
            if (action.kind === 'failTaskAllocation') this.waitingTasks.add(task.ID);
            planned.push(action);
          }
        }
        this.quarantine.clear(`service/${serviceId}`);
        actions.push(...planned);
      } catch (error) {
        this.giveBack(planned);
        failures.push({ kind: 'service', id: serviceId, version, error });
      }
    }
    // Nodes: their own addresses.
    const nodeIds = dirty.everything ? view.nodes().map((n) => n.ID) : [...dirty.nodes];
    for (const nodeId of nodeIds) {
      const version = view.node(nodeId)?.Version.Index ?? 0;
      if (this.quarantine.isHeld(`node/${nodeId}`, version, now)) continue;
      try {
        const missing: string[] = [];
        const action = planNode(view, this.book, nodeId, missing);
        if (missing.length > 0) this.waitingNodes.add(nodeId);
        if (action) actions.push(action);
        this.quarantine.clear(`node/${nodeId}`);
      } catch (error) {
        failures.push({ kind: 'node', id: nodeId, version, error });
      }
    }
    return actions;
  }

  /** Writes in transactions of bounded size; addresses of actions not written are given back. */
  private async write(actions: readonly AllocatorAction[]): Promise<void> {
    for (let at = 0; at < actions.length; at += this.actionsPerTransaction) {
      if (at > 0) await yieldToEventLoop();
      const chunk = actions.slice(at, at + this.actionsPerTransaction);
      if (!this.active) {
        this.giveBack(chunk);
        return;
      }
      let written: boolean[];
      try {
        written = await this.store.update((tx) => applyAllocatorActions(tx, chunk));
      } catch (error) {
        this.giveBack(actions.slice(at));
        throw error;
      }
      this.giveBack(chunk.filter((_, i) => !written[i]));
    }
  }

  private giveBack(actions: readonly AllocatorAction[]): void {
    for (const action of actions) {
      for (const [networkId, address, holder] of action.reserved)
        this.book.release(networkId, address, holder);
    }
  }

  /** Wakes the loop when the earliest object set aside may be tried again. */
  private armRetry(now: number): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const retryAt = this.quarantine.nextRetryAt(now);
    if (retryAt === undefined || !this.active) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.requestPass(0);
    }, retryAt - now);
    this.retryTimer.unref();
  }

  private isIdle(): boolean {
    return this.running === undefined && this.timer === undefined && !this.rerun;
  }

  private notifyIfIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** The networks a task is attached to, as one comparable string. */
const networksOf = (task: Task): string =>
  (task.NetworksAttachments ?? []).map((a) => a.Network.ID).join(',');
