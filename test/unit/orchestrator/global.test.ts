// The global orchestrator (§3.3): one task per eligible node; global tasks never move.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node, Service, Task } from '../../../src/api/types.js';
import { reconcileGlobalService } from '../../../src/manager/orchestrator/global/reconcile.js';
import {
  contextOf,
  created,
  deleted,
  desiredChanges,
  makeNode,
  makeService,
  makeTask,
  ms,
  scheduledStarts,
  updated,
} from './support/fixtures.js';

const agent = makeService('agent', { mode: { Global: {} } });

function reconcile(service: Service, nodes: Node[], tasks: Task[] = [], now = 0) {
  return reconcileGlobalService(service, contextOf({ nodes, services: [service], tasks }, now));
}

const nodesOf = (tasks: readonly Task[]): string[] => tasks.map((t) => t.NodeID ?? '').sort();

describe('global service: one task per node', () => {
  it('creates a task, slot 0 and node preset, on every node that is not drained or down', () => {
    const nodes = [
      makeNode('ready'),
      makeNode('unknown', { state: 'unknown' }),
      makeNode('disconnected', { state: 'disconnected' }),
      makeNode('down', { state: 'down' }),
      makeNode('drained', { availability: 'drain' }),
    ];
    const tasks = created(reconcile(agent, nodes));
    assert.deepEqual(nodesOf(tasks), ['disconnected', 'ready', 'unknown']);
    assert.ok(tasks.every((t) => t.Slot === 0 && t.DesiredState === 'running'));
  });

  it('a paused node gets no new task but keeps the one it runs', () => {
    const paused = makeNode('p', { availability: 'pause' });
    assert.deepEqual(reconcile(agent, [paused]), []);
    assert.deepEqual(reconcile(agent, [paused], [makeTask(agent, { node: 'p' })]), []);
  });

  it('a node that joins gets its task; the others are left alone', () => {
    const tasks = [makeTask(agent, { node: 'a' })];
    assert.deepEqual(nodesOf(created(reconcile(agent, [makeNode('a'), makeNode('b')], tasks))), ['b']);
  });

  it('only nodes that meet the constraints; a task on a node that no longer does is shut down', () => {
    const constrained = makeService('agent', {
      mode: { Global: {} },
      taskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.labels.gpu==true'] } },
    });
    const nodes = [makeNode('gpu', { labels: { gpu: 'true' } }), makeNode('plain')];
    const tasks = [makeTask(constrained, { id: 'misplaced', node: 'plain' })];
    const actions = reconcile(constrained, nodes, tasks);
    assert.deepEqual(nodesOf(created(actions)), ['gpu']);
    assert.deepEqual(desiredChanges(actions), { misplaced: 'shutdown' });
  });
});

describe('global service: node changes', () => {
  it('drain shuts the node’s task down and does not move it', () => {
    const tasks = [makeTask(agent, { id: 'here', node: 'a' }), makeTask(agent, { node: 'b' })];
    const actions = reconcile(agent, [makeNode('a', { availability: 'drain' }), makeNode('b')], tasks);
    assert.deepEqual(desiredChanges(actions), { here: 'shutdown' });
    assert.deepEqual(created(actions), []);
  });

  it('down shuts the node’s task down and does not move it', () => {
    const tasks = [makeTask(agent, { id: 'here', node: 'a' })];
    const actions = reconcile(agent, [makeNode('a', { state: 'down' }), makeNode('b')], tasks);
    assert.deepEqual(desiredChanges(actions), { here: 'shutdown' });
    assert.deepEqual(nodesOf(created(actions)), ['b']);
  });

  it('a node back from drain gets a new task', () => {
    const tasks = [makeTask(agent, { node: 'a', state: 'shutdown', desired: 'shutdown' })];
    assert.deepEqual(nodesOf(created(reconcile(agent, [makeNode('a')], tasks))), ['a']);
  });

  it('a deleted node’s tasks are deleted', () => {
    const tasks = [
      makeTask(agent, { id: 'orphan', node: 'gone', state: 'orphaned' }),
      makeTask(agent, { id: 'old', node: 'gone', state: 'shutdown', desired: 'shutdown' }),
      makeTask(agent, { node: 'a' }),
    ];
    assert.deepEqual(deleted(reconcile(agent, [makeNode('a')], tasks)), ['old', 'orphan']);
  });
});

describe('global service: failures and updates', () => {
  it('a failed task is restarted on the same node after the restart delay', () => {
    const tasks = [makeTask(agent, { id: 'crashed', node: 'a', state: 'failed' })];
    const actions = reconcile(agent, [makeNode('a')], tasks, 1);
    assert.deepEqual(desiredChanges(actions), { crashed: 'shutdown' });
    const [replacement] = created(actions);
    assert.equal(replacement?.NodeID, 'a');
    assert.equal(replacement?.DesiredState, 'ready');
    assert.equal(scheduledStarts(actions)[0]?.notBefore, ms(6));
  });

  it('a failed task on a paused node is shut down, not restarted', () => {
    const tasks = [makeTask(agent, { id: 'crashed', node: 'a', state: 'failed' })];
    const actions = reconcile(agent, [makeNode('a', { availability: 'pause' })], tasks);
    assert.deepEqual(actions, [{ kind: 'setDesiredState', taskId: 'crashed', state: 'shutdown' }]);
  });

  it('outdated tasks are replaced on their node', () => {
    const newer = updated(agent, (spec) => ({ ...spec, ContainerSpec: { Image: 'agent:2' } }));
    const tasks = [makeTask(agent, { id: 'old', node: 'a' })];
    const actions = reconcile(newer, [makeNode('a')], tasks);
    assert.deepEqual(desiredChanges(actions), { old: 'shutdown' });
    assert.deepEqual(nodesOf(created(actions)), ['a']);
    assert.deepEqual(scheduledStarts(actions)[0]?.waitForStopOf, ['old']);
  });

  it('a paused node’s outdated task is left as it is', () => {
    const newer = updated(agent, (spec) => ({ ...spec, ContainerSpec: { Image: 'agent:2' } }));
    const tasks = [makeTask(agent, { node: 'a' })];
    assert.deepEqual(reconcile(newer, [makeNode('a', { availability: 'pause' })], tasks), []);
  });
});
