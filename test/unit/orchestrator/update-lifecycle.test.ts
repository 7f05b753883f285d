// The life of an update across service changes and manager restarts (§4.1, §4.5, §4.6): manual rollback
// toggles between two specs, a new update supersedes one in progress, and a new loop on the same store
// (a restarted manager, a new leader) finishes what the previous one started.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { Task } from '../../../src/api/types.js';
import {
  imageOf,
  liveTasks,
  runningTasks,
  SECOND_NS,
  serviceSpec,
  toImage,
  UpdateHarness,
} from './support/update-harness.js';

let h: UpdateHarness;

beforeEach(async () => {
  h = await UpdateHarness.open();
});

afterEach(async () => {
  await h.close();
});

const stateOf = (serviceId: string) => (): string | undefined => h.service(serviceId).UpdateStatus?.State;

/** Slots whose replacement is on its way: a live task of `image` that is not running yet. */
const inFlight = (tasks: readonly Task[], image: string): number =>
  liveTasks(tasks).filter((t) => imageOf(t) === image && t.Status.State !== 'running').length;

describe('manual rollback', () => {
  it('twice toggles between the two specs, each time ending in rollback_completed', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advanceUntil(() => stateOf(web)() === 'completed');

    await h.rollback(web);
    let service = h.service(web);
    assert.equal(service.UpdateStatus?.State, 'rollback_started');
    assert.equal(service.UpdateStatus?.Message, 'manually requested rollback');
    assert.equal(service.Spec.TaskTemplate?.ContainerSpec?.Image, 'app:1');
    assert.equal(service.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image, 'app:2');
    await h.settle();
    await h.advanceUntil(() => stateOf(web)() === 'rollback_completed');
    assert.equal(h.service(web).UpdateStatus?.Message, 'rollback completed');
    assert.equal(h.runningWith(web, 'app:1'), 3);

    await h.rollback(web);
    service = h.service(web);
    assert.equal(service.Spec.TaskTemplate?.ContainerSpec?.Image, 'app:2');
    assert.equal(service.PreviousSpec?.TaskTemplate?.ContainerSpec?.Image, 'app:1');
    await h.settle();
    await h.advanceUntil(() => stateOf(web)() === 'rollback_completed');
    assert.equal(h.runningWith(web, 'app:2'), 3);
    assert.equal(liveTasks(h.tasks(web)).length, 3);
  });

  it('follows RollbackConfig, not UpdateConfig', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 1 }, rollback: { Parallelism: 0 } }),
    );
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advanceUntil(() => stateOf(web)() === 'completed');
    await h.rollback(web);
    await h.orchestrator.whenIdle();
    assert.equal(inFlight(h.tasks(web), 'app:1'), 4);
  });
});

describe('a new update while one is in progress', () => {
  it('supersedes it: the old one stops, slots it replaced are replaced again', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 1, Delay: 10 * SECOND_NS } }),
    );
    await h.update(web, toImage('app:2'));
    await h.settle();
    const firstStart = h.service(web).UpdateStatus?.StartedAt;
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:1', 3: 'app:1', 4: 'app:1' });

    await h.advance(1_000);
    await h.update(web, toImage('app:3'));
    await h.settle();
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.State, 'updating');
    assert.notEqual(status?.StartedAt, firstStart);
    assert.deepEqual(h.liveImages(web), { 1: 'app:3', 2: 'app:1', 3: 'app:1', 4: 'app:1' });

    await h.advanceUntil(() => stateOf(web)() === 'completed');
    assert.deepEqual(h.liveImages(web), { 1: 'app:3', 2: 'app:3', 3: 'app:3', 4: 'app:3' });
    // Only slot 1 ever ran app:2: the first update stopped dispatching.
    assert.equal(h.tasks(web).filter((t) => imageOf(t) === 'app:2').length, 1);
  });
});

describe('a manager restart in the middle of an update', () => {
  it('a new loop on the same store finishes it, one slot at a time, keeping StartedAt', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 1, Delay: 2 * SECOND_NS } }),
    );
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advance(2_000);
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:2', 3: 'app:1', 4: 'app:1' });
    const startedAt = h.service(web).UpdateStatus?.StartedAt;

    await h.restartOrchestrator();
    const check = (): void => assert.ok(inFlight(h.tasks(web), 'app:2') <= 1);
    while (stateOf(web)() !== 'completed') await h.advance(1_000, check);
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:2', 3: 'app:2', 4: 'app:2' });
    assert.equal(h.service(web).UpdateStatus?.StartedAt, startedAt);
    assert.equal(runningTasks(h.tasks(web)).length, 4);
  });

  it('a new task still starting when the manager restarts keeps its worker busy', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    h.sim.startOutcome = (task) => (imageOf(task) === 'app:2' ? 'stays-starting' : 'runs');
    await h.update(web, toImage('app:2'));
    await h.settle();

    await h.restartOrchestrator();
    await h.advance(60_000);
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:1', 3: 'app:1' });
    assert.equal(h.orchestrator.rollingUpdates.length, 1);

    h.sim.startOutcome = () => 'runs';
    await h.settle();
    await h.advanceUntil(() => stateOf(web)() === 'completed');
    assert.equal(h.runningWith(web, 'app:2'), 3);
  });

  it('a failure right after the restart still counts against the update', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    h.sim.startOutcome = (task) => (imageOf(task) === 'app:2' ? 'stays-starting' : 'runs');
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.restartOrchestrator();

    const [starting] = h.tasks(web).filter((t) => imageOf(t) === 'app:2');
    await h.sim.report(starting!.ID, 'failed');
    await h.settle();
    assert.equal(stateOf(web)(), 'paused');
    assert.equal(
      h.service(web).UpdateStatus?.Message,
      `update paused due to failure or early termination of task ${starting!.ID}`,
    );
  });

  it('nothing left to do: completes at once', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 2, update: { Parallelism: 0 } }));
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.orchestrator.stop();
    h.clock.advanceSync(60_000);
    await h.restartOrchestrator();
    assert.equal(stateOf(web)(), 'completed');
  });
});
