// Jobs (§3.4): replicated jobs run TotalCompletions tasks at most MaxConcurrent at a time; global jobs run
// once per node; every update starts a new iteration.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node, Service, Task } from '../../../src/api/types.js';
import { reconcileGlobalJob } from '../../../src/manager/orchestrator/jobs/global-job.js';
import { reconcileReplicatedJob } from '../../../src/manager/orchestrator/jobs/replicated-job.js';
import {
  contextOf,
  created,
  desiredChanges,
  makeNode,
  makeService,
  makeTask,
  ms,
  scheduledStarts,
  slotsOf,
} from './support/fixtures.js';

const batch = (iteration = 0, restart?: 'none') =>
  makeService('batch', {
    mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 5 } },
    iteration,
    ...(restart
      ? { taskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: { Condition: restart } } }
      : {}),
  });

function runReplicated(service: Service, tasks: Task[], now = 0) {
  return reconcileReplicatedJob(
    service,
    contextOf({ nodes: [makeNode('a')], services: [service], tasks }, now),
  );
}

describe('replicated job', () => {
  it('starts MaxConcurrent tasks in slots from 0, desired COMPLETE, tagged with the iteration', () => {
    const tasks = created(runReplicated(batch(), []));
    assert.deepEqual(slotsOf(tasks), [0, 1]);
    assert.ok(tasks.every((t) => t.DesiredState === 'complete' && t.JobIteration?.Index === 0));
  });

  it('keeps MaxConcurrent running as tasks complete', () => {
    const job = batch();
    const tasks = [
      makeTask(job, { slot: 0, node: 'a', state: 'complete' }),
      makeTask(job, { slot: 1, node: 'a', state: 'complete' }),
      makeTask(job, { slot: 2, node: 'a', state: 'running' }),
    ];
    assert.deepEqual(slotsOf(created(runReplicated(job, tasks))), [3]);
  });

  it('never starts more than TotalCompletions minus those done', () => {
    const job = batch();
    const tasks = [0, 1, 2, 3].map((slot) => makeTask(job, { slot, node: 'a', state: 'complete' }));
    assert.deepEqual(slotsOf(created(runReplicated(job, tasks))), [4]);
  });

  it('stops creating tasks once TotalCompletions tasks completed', () => {
    const job = batch();
    const tasks = [0, 1, 2, 3, 4].map((slot) => makeTask(job, { slot, node: 'a', state: 'complete' }));
    assert.deepEqual(runReplicated(job, tasks), []);
  });

  it('a failed task is restarted in its slot, keeping its iteration, raised to COMPLETE after the delay', () => {
    const job = batch();
    const tasks = [
      makeTask(job, { id: 'bad', slot: 0, node: 'a', state: 'failed' }),
      makeTask(job, { slot: 1, node: 'a', state: 'running' }),
    ];
    const actions = runReplicated(job, tasks, 2);
    assert.deepEqual(desiredChanges(actions), { bad: 'shutdown' });
    const [replacement] = created(actions);
    assert.equal(replacement?.Slot, 0);
    assert.equal(replacement?.JobIteration?.Index, 0);
    assert.equal(replacement?.DesiredState, 'ready');
    assert.equal(scheduledStarts(actions)[0]?.notBefore, ms(7));
  });

  it('a task that may not be restarted ends its slot (swarmkit would refill it in a tight loop)', () => {
    const job = batch(0, 'none');
    const tasks = [
      makeTask(job, { slot: 0, node: 'a', state: 'failed', desired: 'shutdown' }),
      makeTask(job, { slot: 1, node: 'a', state: 'running' }),
    ];
    assert.deepEqual(slotsOf(created(runReplicated(job, tasks))), [2]);
  });

  it('a new iteration removes the old iteration’s unfinished tasks and starts again from slot 0', () => {
    const job = batch(1);
    const tasks = [
      makeTask(job, { id: 'old-done', slot: 0, node: 'a', state: 'complete', iteration: 0 }),
      makeTask(job, { id: 'old-running', slot: 1, node: 'a', state: 'running', iteration: 0 }),
    ];
    const actions = runReplicated(job, tasks);
    assert.deepEqual(desiredChanges(actions), { 'old-running': 'remove' });
    const fresh = created(actions);
    assert.deepEqual(slotsOf(fresh), [0, 1]);
    assert.ok(fresh.every((t) => t.JobIteration?.Index === 1));
  });

  it('a task whose node went down is replaced at once in its slot', () => {
    const job = batch();
    const tasks = [makeTask(job, { id: 'lost', slot: 0, node: 'gone', state: 'running' })];
    const actions = runReplicated(job, tasks);
    assert.deepEqual(desiredChanges(actions), { lost: 'shutdown' });
    assert.deepEqual(
      created(actions).map((t) => [t.Slot, t.DesiredState]),
      [
        [1, 'complete'],
        [0, 'complete'],
      ],
    );
  });
});

describe('global job', () => {
  const sweep = (iteration = 0) => makeService('sweep', { mode: { GlobalJob: {} }, iteration });
  function runGlobal(service: Service, nodes: Node[], tasks: Task[] = [], now = 0) {
    return reconcileGlobalJob(service, contextOf({ nodes, services: [service], tasks }, now));
  }
  const nodesOf = (tasks: readonly Task[]) => tasks.map((t) => t.NodeID).sort();

  it('runs once on every active, ready node that existed when the job started', () => {
    const nodes = [
      makeNode('a'),
      makeNode('paused', { availability: 'pause' }),
      makeNode('drained', { availability: 'drain' }),
      makeNode('down', { state: 'down' }),
      makeNode('unknown', { state: 'unknown' }),
      makeNode('late', { createdAt: 30 }),
    ];
    const tasks = created(runGlobal(sweep(), nodes));
    assert.deepEqual(nodesOf(tasks), ['a']);
    assert.equal(tasks[0]?.DesiredState, 'complete');
    assert.equal(tasks[0]?.Slot, 0);
  });

  it('a node that completed, or is still running, gets no second task', () => {
    const job = sweep();
    const tasks = [
      makeTask(job, { node: 'a', state: 'complete' }),
      makeTask(job, { node: 'b', state: 'running' }),
    ];
    assert.deepEqual(runGlobal(job, [makeNode('a'), makeNode('b')], tasks), []);
  });

  it('a failed task is restarted on its node', () => {
    const job = sweep();
    const tasks = [makeTask(job, { id: 'bad', node: 'a', state: 'failed' })];
    const actions = runGlobal(job, [makeNode('a')], tasks);
    assert.deepEqual(desiredChanges(actions), { bad: 'shutdown' });
    assert.deepEqual(nodesOf(created(actions)), ['a']);
  });

  it('a task on a node that was drained is shut down, not moved', () => {
    const job = sweep();
    const tasks = [makeTask(job, { id: 'here', node: 'a', state: 'running' })];
    const actions = runGlobal(job, [makeNode('a', { availability: 'drain' }), makeNode('b')], tasks);
    assert.deepEqual(desiredChanges(actions), { here: 'shutdown' });
    assert.deepEqual(nodesOf(created(actions)), ['b']);
  });

  it('a new iteration removes all tasks of the old one and runs again everywhere', () => {
    const job = sweep(3);
    const tasks = [makeTask(job, { id: 'old', node: 'a', state: 'complete', iteration: 2 })];
    const actions = runGlobal(job, [makeNode('a')], tasks);
    assert.deepEqual(desiredChanges(actions), { old: 'remove' });
    assert.equal(created(actions)[0]?.JobIteration?.Index, 3);
  });
});
