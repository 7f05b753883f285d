// The constraint enforcer (§3.7): tasks on a node that no longer meets their constraints are rejected.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node, Service, Task } from '../../../src/api/types.js';
import {
  enforceConstraints,
  REJECTED_ERROR,
  REJECTED_MESSAGE,
} from '../../../src/manager/orchestrator/constraint-enforcer.js';
import { snapshotOf } from '../../../src/manager/orchestrator/snapshot.js';
import { at, makeNode, makeService, makeTask, ms } from './support/fixtures.js';

const eastOnly = makeService('web', {
  taskTemplate: { ContainerSpec: { Image: 'x' }, Placement: { Constraints: ['node.labels.zone==east'] } },
});

function rejected(node: Node, services: Service[], tasks: Task[]): string[] {
  return enforceConstraints(snapshotOf({ nodes: [node], services, tasks }), node, ms(5)).flatMap((a) =>
    a.kind === 'setTaskState' ? [a.taskId] : [],
  );
}

describe('constraint enforcer', () => {
  it('rejects a running task whose node lost the label, with swarmkit’s message', () => {
    const node = makeNode('n', { labels: { zone: 'west' } });
    const task = makeTask(eastOnly, { id: 'misplaced', node: 'n' });
    const [action] = enforceConstraints(
      snapshotOf({ nodes: [node], services: [eastOnly], tasks: [task] }),
      node,
      ms(5),
    );
    assert.deepEqual(action, {
      kind: 'setTaskState',
      taskId: 'misplaced',
      from: 'running',
      state: 'rejected',
      message: REJECTED_MESSAGE,
      err: REJECTED_ERROR,
      timestamp: at(5),
    });
  });

  it('leaves tasks whose node still matches', () => {
    const node = makeNode('n', { labels: { zone: 'east' } });
    assert.deepEqual(rejected(node, [eastOnly], [makeTask(eastOnly, { node: 'n' })]), []);
  });

  it('checks the service’s current constraints, not the task’s copy', () => {
    const node = makeNode('n', { labels: { zone: 'west' } });
    const task = makeTask(eastOnly, { node: 'n' });
    const anywhere = {
      ...eastOnly,
      Spec: { ...eastOnly.Spec, TaskTemplate: { ContainerSpec: { Image: 'x' } } },
    };
    assert.deepEqual(rejected(node, [anywhere], [task]), []);
  });

  it('leaves paused and drained nodes alone, and tasks that already finished', () => {
    const west = { labels: { zone: 'west' } };
    const task = makeTask(eastOnly, { node: 'n' });
    assert.deepEqual(rejected(makeNode('n', { ...west, availability: 'pause' }), [eastOnly], [task]), []);
    assert.deepEqual(rejected(makeNode('n', { ...west, availability: 'drain' }), [eastOnly], [task]), []);
    const done = makeTask(eastOnly, { node: 'n', state: 'complete' });
    assert.deepEqual(rejected(makeNode('n', west), [eastOnly], [done]), []);
  });

  it('rejects the newest tasks whose reservations no longer fit the node', () => {
    const reserving = makeService('web', {
      taskTemplate: {
        ContainerSpec: { Image: 'x' },
        Resources: { Reservations: { MemoryBytes: 3 * 2 ** 30 } },
      },
    });
    const node = makeNode('n', { memoryBytes: 7 * 2 ** 30 });
    const tasks = [0, 1, 2].map((i) => makeTask(reserving, { id: `m${i}`, node: 'n', createdAt: i }));
    assert.deepEqual(rejected(node, [reserving], tasks), ['m2']);
  });
});
