// A cluster for rolling-update scenarios: the real store, the orchestrators' loop on a fake clock, the
// simulated scheduler and agents, and services created, updated and rolled back through the control API
// exactly as `docker service create/update/rollback` do it.

import assert from 'node:assert/strict';

import type { Service, ServiceSpec, Task, UpdateConfig } from '../../../../src/api/types.js';
import { createService, updateService } from '../../../../src/manager/controlapi/services.js';
import { Orchestrator } from '../../../../src/manager/orchestrator/orchestrator.js';
import type { ClusterStore } from '../../../../src/store/cluster-store.js';
import { FakeClock } from '../../support/fake-clock.js';
import { makeCluster, makeNode, SECOND_NS } from './fixtures.js';
import { SimulatedCluster } from './simulation.js';
import { closeStores, openStore } from './store.js';

export { SECOND_NS };

export interface ServiceOptions {
  readonly replicas?: number;
  readonly global?: boolean;
  readonly image?: string;
  readonly update?: UpdateConfig;
  readonly rollback?: UpdateConfig;
}

export function serviceSpec(name: string, options: ServiceOptions = {}): ServiceSpec {
  return {
    Name: name,
    TaskTemplate: { ContainerSpec: { Image: options.image ?? 'app:1' } },
    Mode: options.global ? { Global: {} } : { Replicated: { Replicas: options.replicas ?? 1 } },
    ...(options.update ? { UpdateConfig: options.update } : {}),
    ...(options.rollback ? { RollbackConfig: options.rollback } : {}),
  };
}

export const imageOf = (task: Task): string | undefined => task.Spec.ContainerSpec?.Image;

/** A spec change that moves the service to `image` (what `docker service update --image` sends). */
export const toImage =
  (image: string) =>
  (spec: ServiceSpec): void => {
    spec.TaskTemplate!.ContainerSpec!.Image = image;
  };

/** Tasks meant to run (desired RUNNING, or READY while they wait to be started). */
export const liveTasks = (tasks: readonly Task[]): Task[] =>
  tasks.filter((t) => t.DesiredState === 'running' || t.DesiredState === 'ready');

/** Tasks an agent reports RUNNING, whatever is desired of them. */
export const runningTasks = (tasks: readonly Task[]): Task[] =>
  tasks.filter((t) => t.Status.State === 'running');

/**
 * A `random` for the simulated scheduler that deals the `count` nodes in turn, so that scenarios play out
 * the same on every run.
 */
function roundRobin(count: number): () => number {
  let turn = 0;
  return () => ((turn++ % count) + 0.5) / count;
}

export class UpdateHarness {
  orchestrator: Orchestrator;

  private constructor(
    readonly store: ClusterStore,
    readonly clock: FakeClock,
    readonly sim: SimulatedCluster,
  ) {
    this.orchestrator = new Orchestrator(store, { clock, batchWindowMs: 0 });
  }

  static async open(nodes: readonly string[] = ['a', 'b', 'c']): Promise<UpdateHarness> {
    const store = await openStore();
    await store.update((tx) => {
      tx.create('cluster', makeCluster());
      for (const id of nodes) tx.create('node', makeNode(id));
    });
    // Task creation times come from the store's clock, so the fake clock starts at the real time.
    const harness = new UpdateHarness(
      store,
      new FakeClock(Date.now()),
      new SimulatedCluster(store, roundRobin(nodes.length)),
    );
    await harness.orchestrator.start();
    return harness;
  }

  async close(): Promise<void> {
    await this.orchestrator.stop();
    await closeStores();
  }

  /** `docker service create`, then wait until the cluster settles. Returns the service ID. */
  async create(spec: ServiceSpec): Promise<string> {
    const service = await this.store.update((tx) => createService(tx, spec));
    await this.settle();
    return service.ID;
  }

  /** `docker service update`: the spec as read, changed, sent back with the version read. */
  async update(serviceId: string, change: (spec: ServiceSpec) => void): Promise<void> {
    await this.store.update((tx) => {
      const current = tx.get('service', serviceId)!;
      const spec = structuredClone(current.Spec);
      change(spec);
      updateService(tx, current, current.Version.Index, spec, false);
    });
  }

  /** `docker service rollback`. */
  async rollback(serviceId: string): Promise<void> {
    await this.store.update((tx) => {
      const current = tx.get('service', serviceId)!;
      updateService(tx, current, current.Version.Index, current.Spec, true);
    });
  }

  service(id: string): Service {
    return this.store.view((tx) => tx.get('service', id)!);
  }

  tasks(serviceId: string): Task[] {
    return this.sim.tasks(serviceId);
  }

  /** Images of the live tasks, by slot (global: by node), e.g. `{ 1: 'app:2', 2: 'app:1' }`. */
  liveImages(serviceId: string): Record<string, string | undefined> {
    const byInstance: Record<string, string | undefined> = {};
    for (const task of liveTasks(this.tasks(serviceId))) {
      byInstance[task.NodeID && !task.Slot ? task.NodeID : String(task.Slot)] = imageOf(task);
    }
    return byInstance;
  }

  /** How many live tasks run `image` and are observed RUNNING. */
  runningWith(serviceId: string, image: string): number {
    return runningTasks(liveTasks(this.tasks(serviceId))).filter((t) => imageOf(t) === image).length;
  }

  /**
   * The scheduler and agents take steps until nothing moves, the orchestrators reacting in between;
   * `check` runs after every step (for invariants such as "never fewer than N running").
   */
  async settle(check?: () => void): Promise<void> {
    for (let round = 0; round < 500; round++) {
      await this.orchestrator.whenIdle();
      check?.();
      if (!(await this.sim.step())) return;
    }
    assert.fail('the cluster did not settle');
  }

  /** Lets `ms` of time pass (timers fire), then settles. */
  async advance(ms: number, check?: () => void): Promise<void> {
    this.clock.advanceSync(ms);
    await this.settle(check);
  }

  /** Lets time pass in `stepMs` steps until `done`, settling after each; fails after `limitMs`. */
  async advanceUntil(done: () => boolean, stepMs = 1_000, limitMs = 600_000): Promise<void> {
    for (let waited = 0; !done(); waited += stepMs) {
      if (waited >= limitMs) assert.fail(`not done after ${limitMs} ms`);
      await this.advance(stepMs);
    }
  }

  /** The manager restarts (or another one takes the lead): a new loop over the same store. */
  async restartOrchestrator(): Promise<void> {
    await this.orchestrator.stop();
    this.orchestrator = new Orchestrator(this.store, { clock: this.clock, batchWindowMs: 0 });
    await this.orchestrator.start();
    await this.settle();
  }
}
