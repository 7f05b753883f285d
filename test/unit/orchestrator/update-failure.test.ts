// When a rolling update goes wrong (§4.4, §4.5, §4.6): a new task that ends before running, or within the
// monitoring period, counts as a failure; past MaxFailureRatio the update pauses or rolls itself back,
// and a rollback that fails pauses — it is never rolled back again. Messages are Docker's, exactly.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { Task } from '../../../src/api/types.js';
import {
  imageOf,
  liveTasks,
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

/** Images that exit at once: their tasks fail as soon as an agent starts them. */
function failing(...images: string[]): void {
  h.sim.startOutcome = (task) => (images.includes(imageOf(task) ?? '') ? 'fails' : 'runs');
}

const withImage = (tasks: readonly Task[], image: string): Task[] =>
  tasks
    .filter((t) => imageOf(t) === image)
    .sort((a, b) => Date.parse(a.CreatedAt) - Date.parse(b.CreatedAt) || a.Slot! - b.Slot!);

describe('failure action pause (the default)', () => {
  it('pauses at the first failure, names the task, and replaces nothing more', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    failing('app:bad');
    await h.update(web, toImage('app:bad'));
    await h.settle();

    const [first] = withImage(h.tasks(web), 'app:bad');
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.State, 'paused');
    assert.equal(status?.Message, `update paused due to failure or early termination of task ${first!.ID}`);
    assert.equal(status?.CompletedAt, undefined);

    // Paused stays paused: the failing slot is restarted by its restart policy, nothing else moves.
    await h.advance(60_000);
    await h.advance(60_000);
    assert.equal(h.service(web).UpdateStatus?.Message, status?.Message);
    assert.deepEqual(h.liveImages(web), { 1: 'app:bad', 2: 'app:1', 3: 'app:1' });
    assert.ok(withImage(h.tasks(web), 'app:bad').length > 2, 'slot 1 keeps being restarted');
    // A paused update keeps the previous spec (G.6).
    assert.equal(h.service(web).PreviousSpec?.TaskTemplate?.ContainerSpec?.Image, 'app:1');
  });

  it('the next service update resumes the rollout', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 2 }));
    failing('app:bad');
    await h.update(web, toImage('app:bad'));
    await h.settle();
    assert.equal(h.service(web).UpdateStatus?.State, 'paused');
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:2' });
  });

  it('a task that stops within the monitoring period after running counts; one that stops later does not', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 3, update: { Parallelism: 1, Delay: 10 * SECOND_NS } }),
    );
    await h.update(web, toImage('app:2'));
    await h.settle();
    const [first] = withImage(h.tasks(web), 'app:2');
    assert.equal(first?.Status.State, 'running');
    // Monitor is 5 s: an exit after 6 s is not the update's fault.
    await h.advance(6_000);
    await h.sim.report(first!.ID, 'failed');
    await h.settle();
    assert.equal(h.service(web).UpdateStatus?.State, 'updating');

    await h.advance(4_000);
    const second = withImage(h.tasks(web), 'app:2').find((t) => t.Slot === 2)!;
    assert.equal(second.Status.State, 'running');
    await h.advance(3_000);
    await h.sim.report(second.ID, 'complete');
    await h.settle();
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.State, 'paused');
    assert.equal(status?.Message, `update paused due to failure or early termination of task ${second.ID}`);
  });

  it('with MaxFailureRatio 0.5 over 4 slots, goes on past two failures and pauses at the third', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 1, MaxFailureRatio: 0.5 } }),
    );
    h.sim.startOutcome = (task) => (imageOf(task) === 'app:2' && task.Slot! <= 3 ? 'fails' : 'runs');
    await h.update(web, toImage('app:2'));
    await h.settle();
    const failed = withImage(h.tasks(web), 'app:2').filter((t) => t.Status.State === 'failed');
    const third = failed.find((t) => t.Slot === 3)!;
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.State, 'paused');
    assert.equal(status?.Message, `update paused due to failure or early termination of task ${third.ID}`);
    assert.equal(h.liveImages(web)[4], 'app:1');
  });
});

describe('failure action continue', () => {
  it('with MaxFailureRatio 0.5, goes on past every failure and completes', async () => {
    const web = await h.create(
      serviceSpec('web', {
        replicas: 4,
        update: { Parallelism: 1, FailureAction: 'continue', MaxFailureRatio: 0.5 },
      }),
    );
    failing('app:bad');
    await h.update(web, toImage('app:bad'));
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    assert.equal(h.service(web).UpdateStatus?.Message, 'update completed');
    assert.deepEqual(h.liveImages(web), { 1: 'app:bad', 2: 'app:bad', 3: 'app:bad', 4: 'app:bad' });
  });
});

describe('failure action rollback', () => {
  it('rolls back by itself, then completes the rollback with every task on the old spec', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 2, FailureAction: 'rollback' } }),
    );
    const original = liveTasks(h.tasks(web)).map((t) => t.ID);
    failing('app:bad');
    await h.update(web, toImage('app:bad'));
    await h.orchestrator.whenIdle();
    const startedAt = h.service(web).UpdateStatus?.StartedAt;
    assert.equal(h.service(web).UpdateStatus?.State, 'updating');

    await h.settle();
    const service = h.service(web);
    const bad = withImage(h.tasks(web), 'app:bad').map((t) => t.ID);
    assert.equal(service.UpdateStatus?.State, 'rollback_started');
    const [, failedId] =
      /^update rolled back due to failure or early termination of task (\S+)$/.exec(
        service.UpdateStatus?.Message ?? '',
      ) ?? [];
    assert.ok(failedId && bad.includes(failedId), service.UpdateStatus?.Message);
    // Spec ← PreviousSpec, and the previous spec is gone: no manual rollback after this (§4.6).
    assert.equal(service.Spec.TaskTemplate?.ContainerSpec?.Image, 'app:1');
    assert.equal(service.PreviousSpec, undefined);
    assert.equal(service.PreviousSpecVersion, undefined);
    // Docker keeps the update's StartedAt through an automatic rollback (G.6).
    assert.equal(service.UpdateStatus?.StartedAt, startedAt);

    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'rollback_completed');
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.Message, 'rollback completed');
    assert.equal(status?.StartedAt, startedAt);
    assert.ok(status?.CompletedAt);
    const live = liveTasks(h.tasks(web));
    assert.equal(live.length, 4);
    assert.ok(live.every((t) => imageOf(t) === 'app:1' && t.Status.State === 'running'));
    // The two slots the update never reached kept their tasks.
    assert.equal(live.filter((t) => original.includes(t.ID)).length, 2);
  });

  it('a rollback that fails is paused, never rolled back again', async () => {
    const web = await h.create(
      serviceSpec('web', {
        replicas: 3,
        update: { Parallelism: 1, FailureAction: 'rollback' },
        rollback: { Parallelism: 1, FailureAction: 'rollback' },
      }),
    );
    // The nodes lost both images: the running tasks keep running, no new one starts.
    failing('app:1', 'app:2');
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advance(10_000);

    const service = h.service(web);
    const rolledBack = withImage(h.tasks(web), 'app:1').filter((t) => t.Status.State === 'failed');
    assert.equal(service.UpdateStatus?.State, 'rollback_paused');
    assert.equal(
      service.UpdateStatus?.Message,
      `rollback paused due to failure or early termination of task ${rolledBack[0]!.ID}`,
    );
    assert.equal(service.Spec.TaskTemplate?.ContainerSpec?.Image, 'app:1');
    assert.equal(service.PreviousSpec, undefined);
  });
});

describe('manual rollback that fails', () => {
  it('pauses as rollback_paused with the rollback message', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');

    failing('app:1');
    await h.rollback(web);
    assert.equal(h.service(web).UpdateStatus?.Message, 'manually requested rollback');
    await h.settle();
    const [attempt] = withImage(h.tasks(web), 'app:1').filter((t) => t.Status.State === 'failed');
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.State, 'rollback_paused');
    assert.equal(
      status?.Message,
      `rollback paused due to failure or early termination of task ${attempt!.ID}`,
    );
    assert.deepEqual(h.liveImages(web), { 1: 'app:1', 2: 'app:2', 3: 'app:2' });
  });
});
