// One orchestration pass: dispatch by mode, scope, deleted services, adopted delayed starts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { orchestrate } from '../../../src/manager/orchestrator/orchestrate.js';
import { snapshotOf } from '../../../src/manager/orchestrator/snapshot.js';
import {
  created,
  desiredChanges,
  makeNode,
  makeService,
  makeTask,
  ms,
  scheduledStarts,
} from './support/fixtures.js';

const scope = (services: string[] = [], nodes: string[] = []) => ({
  services: new Set(services),
  nodes: new Set(nodes),
});

describe('orchestrate', () => {
  it('a deleted service’s tasks get desired REMOVE', () => {
    const web = makeService('web');
    const tasks = [
      makeTask(web, { id: 'up', node: 'a' }),
      makeTask(web, { id: 'old', node: 'a', state: 'shutdown', desired: 'shutdown' }),
      makeTask(web, { id: 'gone', node: 'a', state: 'shutdown', desired: 'remove' }),
    ];
    const plan = orchestrate(snapshotOf({ nodes: [makeNode('a')], tasks }), scope(['web']), new Map(), ms(0));
    assert.deepEqual(desiredChanges(plan.actions), { up: 'remove', old: 'remove' });
  });

  it('a node change reaches the services with tasks on it and every global service', () => {
    const web = makeService('web', { replicas: 1 });
    const other = makeService('other', { replicas: 1 });
    const agent = makeService('agent', { mode: { Global: {} } });
    const tasks = [makeTask(web, { id: 'lost', node: 'a' }), makeTask(other, { node: 'b' })];
    const nodes = [makeNode('a', { state: 'down' }), makeNode('b')];
    const plan = orchestrate(
      snapshotOf({ nodes, services: [web, other, agent], tasks }),
      scope([], ['a']),
      new Map(),
      ms(0),
    );
    assert.deepEqual([...plan.services].sort(), ['agent', 'web']);
    assert.deepEqual(desiredChanges(plan.actions), { lost: 'shutdown' });
    assert.deepEqual(
      created(plan.actions)
        .map((t) => t.ServiceID)
        .sort(),
      ['agent', 'web'],
    );
  });

  it('adopts tasks found waiting without a delayed start (leader start) and raises them when due', () => {
    const web = makeService('web');
    const waiting = makeTask(web, { id: 'w', node: 'a', state: 'ready', desired: 'ready', createdAt: 0 });
    const snapshot = snapshotOf({ nodes: [makeNode('a')], services: [web], tasks: [waiting] });
    const early = orchestrate(snapshot, scope(['web']), new Map(), ms(2));
    assert.deepEqual(
      scheduledStarts(early.actions).map((s) => [s.taskId, s.notBefore]),
      [['w', ms(5)]],
    );
    assert.deepEqual(desiredChanges(early.actions), {});
    const late = orchestrate(snapshot, scope(['web']), new Map(), ms(6));
    assert.deepEqual(desiredChanges(late.actions), { w: 'running' });
  });
});

describe('orchestrate: bounded and isolated', () => {
  it('creates at most the budget of new tasks per pass, and says so', () => {
    const big = makeService('big', { replicas: 2500 });
    const small = makeService('small', { replicas: 2 });
    const snapshot = snapshotOf({ nodes: [makeNode('a')], services: [big, small] });
    const plan = orchestrate(snapshot, scope(['big', 'small']), new Map(), ms(0), new Map(), {
      newTaskBudget: 1000,
    });
    assert.equal(created(plan.actions).length, 1000);
    assert.equal(plan.budgetExhausted, true);
    const enough = orchestrate(snapshot, scope(['small']), new Map(), ms(0), new Map(), {
      newTaskBudget: 1000,
    });
    assert.equal(created(enough.actions).length, 2);
    assert.equal(enough.budgetExhausted, false);
  });

  it('a service whose reconcile throws is reported and left out; the others converge', () => {
    const bad = makeService('bad', { replicas: 1 });
    const good = makeService('good', { replicas: 2 });
    const base = snapshotOf({ nodes: [makeNode('a')], services: [bad, good] });
    const snapshot = {
      ...base,
      tasksOfService: (id: string) => {
        if (id === 'bad') throw new TypeError('actual.toLowerCase is not a function');
        return base.tasksOfService(id);
      },
    };
    const plan = orchestrate(snapshot, scope(['bad', 'good']), new Map(), ms(0));
    assert.deepEqual(
      created(plan.actions).map((t) => t.ServiceID),
      ['good', 'good'],
    );
    assert.deepEqual(
      plan.failures.map((f) => [f.kind, f.id, f.version, String(f.error)]),
      [['service', 'bad', 10, 'TypeError: actual.toLowerCase is not a function']],
    );
  });

  it('a stored service above the task limits is refused, not expanded', () => {
    const huge = makeService('huge', { replicas: 1_000_000_000 });
    const plan = orchestrate(
      snapshotOf({ nodes: [makeNode('a')], services: [huge] }),
      scope(['huge']),
      new Map(),
      ms(0),
    );
    assert.equal(plan.actions.length, 0);
    assert.match(String(plan.failures[0]?.error), /replicas 1000000000 is above the limit of 100000/);
  });

  it('skips services and nodes the loop has set aside', () => {
    const web = makeService('web', { replicas: 1 });
    const plan = orchestrate(
      snapshotOf({ nodes: [makeNode('a')], services: [web] }),
      scope(['web']),
      new Map(),
      ms(0),
      new Map(),
      { isHeld: (kind, id, version) => kind === 'service' && id === 'web' && version === 10 },
    );
    assert.equal(plan.actions.length, 0);
    assert.equal(plan.services.has('web'), false);
  });
});
