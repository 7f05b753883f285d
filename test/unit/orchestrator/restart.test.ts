// The restart supervisor (§3.5): the policy, and when a waiting replacement is raised.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { RestartPolicy, Task } from '../../../src/api/types.js';
import type { PendingStart } from '../../../src/manager/orchestrator/actions.js';
import {
  evaluatePendingStarts,
  resumedStart,
} from '../../../src/manager/orchestrator/restart/delayed-start.js';
import { restartsCounted, shouldRestart } from '../../../src/manager/orchestrator/restart/policy.js';
import { contextOf, makeNode, makeService, makeTask, ms, SECOND_NS } from './support/fixtures.js';

const withPolicy = (policy: RestartPolicy) =>
  makeService('web', { taskTemplate: { ContainerSpec: { Image: 'x' }, RestartPolicy: policy } });

describe('restart policy: condition', () => {
  const cases: [
    RestartPolicy['Condition'],
    Task['Status']['State'],
    'replicated' | 'replicated-job',
    boolean,
  ][] = [
    [undefined, 'failed', 'replicated', true],
    [undefined, 'complete', 'replicated', true],
    ['any', 'complete', 'replicated', true],
    ['any', 'complete', 'replicated-job', false],
    ['any', 'failed', 'replicated-job', true],
    ['on-failure', 'complete', 'replicated', false],
    ['on-failure', 'failed', 'replicated', true],
    ['on-failure', 'rejected', 'replicated', true],
    ['on-failure', 'shutdown', 'replicated', true],
    ['on-failure', 'running', 'replicated', true], // its node went away
    ['none', 'failed', 'replicated', false],
    ['none', 'running', 'replicated', false],
  ];
  for (const [condition, state, mode, expected] of cases) {
    it(`${condition ?? 'default (any)'}, ${mode} task ${state} → ${expected ? 'restart' : 'no restart'}`, () => {
      const task = makeTask(withPolicy(condition ? { Condition: condition } : {}), { state });
      assert.equal(shouldRestart(task, mode, [task]), expected);
    });
  }
});

describe('restart policy: history', () => {
  it('counts every task of the slot’s spec version after the first as a restart', () => {
    const web = withPolicy({ MaxAttempts: 3 });
    const tasks = [0, 10, 20].map((createdAt) => makeTask(web, { createdAt }));
    assert.equal(restartsCounted(tasks[2]!, tasks), 2);
  });

  it('tasks of another spec version do not count', () => {
    const web = withPolicy({ MaxAttempts: 3 });
    const older = [0, 10].map((createdAt) => ({
      ...makeTask(web, { createdAt }),
      SpecVersion: { Index: 1 },
    }));
    const current = makeTask(web, { createdAt: 20 });
    assert.equal(restartsCounted(current, [...older, current]), 0);
  });

  it('with a window, counts the restarts created in (failure − window, failure)', () => {
    const web = withPolicy({ MaxAttempts: 3, Window: 30 * SECOND_NS });
    const tasks = [0, 10, 40, 50].map((createdAt) => makeTask(web, { createdAt, statusAt: createdAt + 5 }));
    // The task created at 50 failed at 55: restarts at 40 and 50 are within (25, 55); 10 is not.
    assert.equal(restartsCounted(tasks[3]!, tasks), 2);
  });
});

describe('delayed start', () => {
  const web = makeService('web');
  const old = makeTask(web, { id: 'old', node: 'a', state: 'running', desired: 'shutdown' });
  const replacement = makeTask(web, {
    id: 'new',
    node: 'b',
    state: 'ready',
    desired: 'ready',
    createdAt: 10,
  });
  const start: PendingStart = {
    taskId: 'new',
    serviceId: 'web',
    notBefore: ms(15),
    waitForStopOf: ['old'],
    stopDeadline: ms(70),
  };
  const evaluate = (tasks: Task[], now: number, nodeA = makeNode('a')) =>
    evaluatePendingStarts(contextOf({ nodes: [nodeA, makeNode('b')], services: [web], tasks }, now, [start]));

  it('waits for the restart delay', () => {
    assert.deepEqual(evaluate([old, replacement], 12), { actions: [], wakeAt: ms(15), failures: [] });
  });

  it('then waits for the old task to stop', () => {
    assert.deepEqual(evaluate([old, replacement], 16), { actions: [], wakeAt: ms(70), failures: [] });
  });

  it('starts once the old task stopped', () => {
    const stopped = { ...old, Status: { ...old.Status, State: 'shutdown' as const } };
    assert.deepEqual(evaluate([stopped, replacement], 16).actions, [
      { kind: 'setDesiredState', taskId: 'new', state: 'running' },
    ]);
  });

  it('starts once the old task’s node is down', () => {
    assert.equal(evaluate([old, replacement], 16, makeNode('a', { state: 'down' })).actions.length, 1);
  });

  it('gives up waiting for the old task after a minute', () => {
    assert.equal(evaluate([old, replacement], 70).actions.length, 1);
  });

  it('a job task is raised to COMPLETE', () => {
    const job = makeService('web', { mode: { ReplicatedJob: {} } });
    const task = makeTask(job, { id: 'new', state: 'pending', desired: 'ready' });
    const ctx = contextOf({ services: [job], tasks: [task] }, 20, [{ ...start, waitForStopOf: [] }]);
    assert.deepEqual(evaluatePendingStarts(ctx).actions, [
      { kind: 'setDesiredState', taskId: 'new', state: 'complete' },
    ]);
  });

  it('a replacement that failed while waiting is not raised (the orchestrator restarts it)', () => {
    const failed = { ...replacement, Status: { ...replacement.Status, State: 'failed' as const } };
    assert.deepEqual(evaluate([failed], 80), { actions: [], wakeAt: undefined, failures: [] });
  });

  it('after a leader change, resumes with what is left of the delay, counted from creation', () => {
    const resumed = resumedStart(replacement, [old, replacement]);
    assert.equal(resumed.notBefore, ms(15));
    assert.deepEqual(resumed.waitForStopOf, ['old']);
    assert.equal(resumed.stopDeadline, ms(70));
  });
});
