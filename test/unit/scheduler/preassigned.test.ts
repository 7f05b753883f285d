// Pre-assigned tasks (global services choose the node themselves): the scheduler only confirms that
// the node can run them (semantics §5.1, §5.6).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GiB, node, placements, schedule, task, tasks } from './fixtures.js';

describe('a pre-assigned task', () => {
  it('is confirmed on its node with its own message', () => {
    assert.deepEqual(
      schedule({ nodes: [node('n1'), node('n2')], tasks: [task('g1', { service: 'global', node: 'n2' })] }),
      [
        {
          kind: 'assign',
          taskId: 'g1',
          nodeId: 'n2',
          message: 'scheduler confirmed task can run on preassigned node',
        },
      ],
    );
  });

  it('gets the bare explanation when its node cannot run it', () => {
    const nodes = [node('paused', { availability: 'pause' }), node('small', { memoryBytes: 1 * GiB })];
    const decisions = schedule({
      nodes,
      tasks: [task('g1', { node: 'paused' }), task('g2', { node: 'small', memoryBytes: 2 * GiB })],
    });
    assert.deepEqual(decisions, [
      { kind: 'unschedulable', taskId: 'g1', error: '1 node not available for new tasks' },
      { kind: 'unschedulable', taskId: 'g2', error: 'insufficient resources on 1 node' },
    ]);
  });

  it('is left alone when its node was removed', () => {
    assert.deepEqual(schedule({ nodes: [node('n1')], tasks: [task('g1', { node: 'gone' })] }), []);
  });

  it('goes before replicated tasks, which could run elsewhere', () => {
    const nodes = [node('n1', { memoryBytes: 1 * GiB }), node('n2', { memoryBytes: 1 * GiB })];
    const decisions = schedule({
      nodes,
      tasks: [
        // Created first, but must not take the global task's only node.
        ...tasks(2, { service: 'web', memoryBytes: 1 * GiB, createdAt: '2024-01-01T00:00:00Z' }),
        task('g1', { service: 'agent', node: 'n1', memoryBytes: 1 * GiB, createdAt: '2024-01-01T00:00:09Z' }),
      ],
    });
    assert.deepEqual(placements(decisions), { n1: 1, n2: 1 });
    assert.equal(decisions.find((d) => d.taskId === 'g1')?.kind, 'assign');
    assert.deepEqual(
      decisions.find((d) => d.kind === 'unschedulable'),
      {
        kind: 'unschedulable',
        taskId: 't2',
        error: 'no suitable node (insufficient resources on 2 nodes)',
      },
    );
  });

  it('does not count on its node until confirmed, then counts for what follows', () => {
    const nodes = [node('n1'), node('n2')];
    const decisions = schedule({
      nodes,
      tasks: [task('g1', { node: 'n1', maxReplicas: 1 }), ...tasks(1, { maxReplicas: 1 })],
    });
    assert.deepEqual(placements(decisions), { n1: 1, n2: 1 });
  });
});
