// Rolling updates as a user sees them (§4.2, §4.3): how many tasks are replaced at a time, the delay
// between batches, stop-first and start-first, health gating, global services — driven through the
// control API, with the loop on a fake clock and simulated agents.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

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

describe('rolling update: parallelism and delay', () => {
  it('10 replicas, parallelism 2, delay 1 s: two tasks at a time, 1 s between batches', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 10, update: { Parallelism: 2, Delay: SECOND_NS } }),
    );
    assert.equal(h.runningWith(web, 'app:1'), 10);

    await h.update(web, toImage('app:2'));
    await h.settle();
    assert.equal(h.service(web).UpdateStatus?.State, 'updating');
    assert.equal(h.service(web).UpdateStatus?.Message, 'update in progress');
    assert.equal(h.runningWith(web, 'app:2'), 2);
    assert.equal(h.runningWith(web, 'app:1'), 8);

    for (let batch = 2; batch <= 5; batch++) {
      // The workers sleep the delay after their slot's new task came up…
      await h.advance(999);
      assert.equal(h.runningWith(web, 'app:2'), 2 * (batch - 1), `before batch ${batch}`);
      // …then take the next two slots.
      await h.advance(1);
      assert.equal(h.runningWith(web, 'app:2'), 2 * batch, `batch ${batch}`);
      assert.equal(h.runningWith(web, 'app:1'), 10 - 2 * batch);
    }
  });

  it('slots are taken in order, lowest slot number first', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 1, Delay: SECOND_NS } }),
    );
    await h.update(web, toImage('app:2'));
    await h.settle();
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:1', 3: 'app:1', 4: 'app:1' });
    await h.advance(1_000);
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:2', 3: 'app:1', 4: 'app:1' });
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    assert.deepEqual(h.liveImages(web), { 1: 'app:2', 2: 'app:2', 3: 'app:2', 4: 'app:2' });
  });

  it('without a delay, the next slot is taken as soon as the previous one’s new task runs', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 4 }));
    await h.update(web, toImage('app:2'));
    const inFlight = (): void => {
      const starting = liveTasks(h.tasks(web)).filter(
        (t) => imageOf(t) === 'app:2' && t.Status.State !== 'running',
      );
      assert.ok(starting.length <= 1);
    };
    await h.settle(inFlight);
    assert.equal(h.runningWith(web, 'app:2'), 4);
    assert.equal(h.service(web).UpdateStatus?.State, 'updating');
    await h.advance(5_000);
    assert.equal(h.service(web).UpdateStatus?.State, 'completed');
  });

  it('completes one monitoring period (5 s) after the last worker is done', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 4, update: { Parallelism: 2, Delay: SECOND_NS } }),
    );
    await h.update(web, toImage('app:2'));
    await h.settle();
    await h.advance(1_000);
    assert.equal(h.runningWith(web, 'app:2'), 4);
    // The last batch came up at 1 s; its workers sleep until 2 s; monitoring ends at 7 s.
    await h.advance(5_999);
    assert.equal(h.service(web).UpdateStatus?.State, 'updating');
    await h.advance(1);
    const status = h.service(web).UpdateStatus;
    assert.equal(status?.State, 'completed');
    assert.equal(status?.Message, 'update completed');
    assert.ok(status?.StartedAt && status.CompletedAt);
    assert.equal(Date.parse(status.CompletedAt) - Date.parse(status.StartedAt), 7_000);
  });

  it('parallelism 0 replaces every slot at once', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 10, update: { Parallelism: 0 } }));
    const before = liveTasks(h.tasks(web));
    await h.update(web, toImage('app:2'));
    await h.orchestrator.whenIdle();
    const tasks = h.tasks(web);
    assert.equal(tasks.filter((t) => imageOf(t) === 'app:2').length, 10);
    assert.ok(before.every((old) => tasks.find((t) => t.ID === old.ID)?.DesiredState === 'shutdown'));
    await h.settle();
    assert.equal(h.runningWith(web, 'app:2'), 10);
  });

  it('an absent UpdateConfig means one slot at a time', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    await h.update(web, toImage('app:2'));
    await h.orchestrator.whenIdle();
    assert.equal(h.tasks(web).filter((t) => imageOf(t) === 'app:2').length, 1);
  });
});

describe('rolling update: order', () => {
  it('stop-first: the new task is prepared while the old one stops, and started once it has', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 1 }));
    const [old] = h.tasks(web);
    await h.update(web, toImage('app:2'));
    await h.orchestrator.whenIdle();
    const fresh = h.tasks(web).find((t) => imageOf(t) === 'app:2')!;
    assert.equal(h.sim.task(old!.ID)?.DesiredState, 'shutdown');
    assert.equal(fresh.DesiredState, 'ready');
    await h.settle();
    assert.equal(h.sim.task(old!.ID)?.Status.State, 'shutdown');
    assert.equal(h.sim.task(fresh.ID)?.DesiredState, 'running');
    assert.equal(h.sim.task(fresh.ID)?.Status.State, 'running');
  });

  it('start-first with 10 replicas never has fewer than 10 tasks running, nor more than 10 + parallelism', async () => {
    const web = await h.create(
      serviceSpec('web', { replicas: 10, update: { Parallelism: 2, Order: 'start-first' } }),
    );
    const counts: number[] = [];
    const check = (): void => {
      const running = runningTasks(h.tasks(web)).length;
      counts.push(running);
      assert.ok(running >= 10, `only ${running} running`);
      assert.ok(running <= 12, `${running} running`);
    };
    await h.update(web, toImage('app:2'));
    await h.settle(check);
    while (h.service(web).UpdateStatus?.State !== 'completed') await h.advance(1_000, check);
    assert.equal(h.runningWith(web, 'app:2'), 10);
    assert.equal(runningTasks(h.tasks(web)).length, 10);
    // Both bounds were reached: the new tasks really overlapped the old ones.
    assert.ok(counts.includes(12));
  });

  it('start-first: a new task that fails leaves the old one running', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 2, update: { Order: 'start-first' } }));
    h.sim.startOutcome = (task) => (imageOf(task) === 'app:2' ? 'fails' : 'runs');
    await h.update(web, toImage('app:2'));
    await h.settle();
    assert.equal(h.service(web).UpdateStatus?.State, 'paused');
    assert.equal(h.runningWith(web, 'app:1'), 2);
  });
});

describe('rolling update: health gates it', () => {
  it('a new task that never becomes RUNNING (healthcheck never passes) blocks its worker, with no timeout', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    h.sim.startOutcome = (task) => (imageOf(task) === 'app:2' ? 'stays-starting' : 'runs');
    await h.update(web, toImage('app:2'));
    await h.settle();
    for (let minute = 0; minute < 10; minute++) await h.advance(60_000);
    const fresh = h.tasks(web).filter((t) => imageOf(t) === 'app:2');
    assert.equal(fresh.length, 1);
    assert.equal(fresh[0]!.Status.State, 'starting');
    assert.equal(h.runningWith(web, 'app:1'), 2);
    assert.equal(h.service(web).UpdateStatus?.State, 'updating');

    // Healthy at last: the update goes on.
    h.sim.startOutcome = () => 'runs';
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    assert.equal(h.runningWith(web, 'app:2'), 3);
  });

  it('a new task whose node goes down before it runs neither holds its worker nor counts as a failure', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    h.sim.startOutcome = (task) => (imageOf(task) === 'app:2' ? 'stays-starting' : 'runs');
    await h.update(web, toImage('app:2'));
    await h.settle();
    const [stuck] = h.tasks(web).filter((t) => imageOf(t) === 'app:2');
    await h.sim.changeNode(stuck!.NodeID!, (node) => (node.Status.State = 'down'));
    await h.settle();
    // The restart supervisor replaced it elsewhere at once; the worker moved on to slot 2.
    assert.equal(h.sim.task(stuck!.ID)?.DesiredState, 'shutdown');
    const [rollout] = h.orchestrator.rollingUpdates;
    assert.deepEqual([...rollout!.slots.keys()], ['slot:1', 'slot:2']);
    assert.deepEqual(rollout!.failures, []);

    h.sim.startOutcome = () => 'runs';
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    assert.equal(h.runningWith(web, 'app:2'), 3);
  });
});

describe('rolling update: what starts one', () => {
  it('scaling alone replaces nothing and sets no UpdateStatus', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 3 }));
    const before = liveTasks(h.tasks(web)).map((t) => t.ID);
    await h.update(web, (spec) => {
      spec.Mode = { Replicated: { Replicas: 5 } };
    });
    await h.settle();
    await h.advance(10_000);
    assert.equal(h.service(web).UpdateStatus, undefined);
    const live = liveTasks(h.tasks(web)).map((t) => t.ID);
    assert.equal(live.length, 5);
    assert.ok(before.every((id) => live.includes(id)));
  });

  it('--force (ForceUpdate bumped) replaces every task with the same spec', async () => {
    const web = await h.create(serviceSpec('web', { replicas: 2 }));
    const before = liveTasks(h.tasks(web)).map((t) => t.ID);
    await h.update(web, (spec) => {
      spec.TaskTemplate!.ForceUpdate = (spec.TaskTemplate!.ForceUpdate ?? 0) + 1;
    });
    await h.settle();
    await h.advanceUntil(() => h.service(web).UpdateStatus?.State === 'completed');
    const live = liveTasks(h.tasks(web));
    assert.equal(live.length, 2);
    assert.ok(live.every((t) => !before.includes(t.ID) && imageOf(t) === 'app:1'));
  });
});

describe('rolling update: global service', () => {
  it('replaces one node’s task at a time, on its own node, and completes', async () => {
    const agent = await h.create(
      serviceSpec('agent', { global: true, update: { Parallelism: 1, Delay: SECOND_NS } }),
    );
    assert.deepEqual(h.liveImages(agent), { a: 'app:1', b: 'app:1', c: 'app:1' });
    const check = (): void => {
      assert.ok(runningTasks(h.tasks(agent)).length >= 2);
    };
    await h.update(agent, toImage('app:2'));
    await h.settle(check);
    assert.deepEqual(h.liveImages(agent), { a: 'app:2', b: 'app:1', c: 'app:1' });
    while (h.service(agent).UpdateStatus?.State !== 'completed') await h.advance(1_000, check);
    assert.deepEqual(h.liveImages(agent), { a: 'app:2', b: 'app:2', c: 'app:2' });
    assert.equal(liveTasks(h.tasks(agent)).length, 3);
  });
});
