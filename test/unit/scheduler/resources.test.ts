// Resource accounting: what a node has left is its reported resources minus the reservations of the
// tasks on it — including the tasks placed earlier in the same pass.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CPU,
  GiB,
  decisionFor,
  errors,
  node,
  placements,
  running,
  schedule,
  task,
  tasks,
} from './fixtures.js';

describe('resources within one pass', () => {
  it('run out half-way through a batch: what fits is placed, the rest explained', () => {
    const nodes = [
      node('n1', { memoryBytes: 2 * GiB }),
      node('n2', { memoryBytes: 2 * GiB }),
      node('n3', { memoryBytes: 3 * GiB }),
    ];
    const decisions = schedule({ nodes, tasks: tasks(10, { memoryBytes: 1 * GiB }) });
    assert.deepEqual(placements(decisions), { n1: 2, n2: 2, n3: 3 });
    assert.deepEqual(errors(decisions), ['no suitable node (insufficient resources on 3 nodes)']);
    assert.equal(decisions.filter((d) => d.kind === 'unschedulable').length, 3);
  });

  it('are shared between services scheduled in the same pass', () => {
    const nodes = [node('n1', { nanoCPUs: 2 * CPU })];
    const decisions = schedule({
      nodes,
      tasks: [
        ...tasks(1, { service: 'a', nanoCPUs: 2 * CPU }, 'a'),
        ...tasks(1, { service: 'b', nanoCPUs: 1 * CPU }, 'b'),
      ],
    });
    assert.deepEqual(placements(decisions), { n1: 1 });
    assert.deepEqual(decisionFor(decisions, 'b1'), {
      kind: 'unschedulable',
      taskId: 'b1',
      error: 'no suitable node (insufficient resources on 1 node)',
    });
  });

  it('move the rest of a batch to the nodes that still have room', () => {
    const nodes = [node('small', { nanoCPUs: 1 * CPU }), node('big', { nanoCPUs: 8 * CPU })];
    assert.deepEqual(placements(schedule({ nodes, tasks: tasks(6, { nanoCPUs: 1 * CPU }) })), {
      small: 1,
      big: 5,
    });
  });
});

describe('which tasks hold resources on a node', () => {
  const oneGiB = () => [node('n1', { memoryBytes: 2 * GiB })];
  const fits = (others: ReturnType<typeof running>) =>
    decisionFor(schedule({ nodes: oneGiB(), tasks: [...others, task('t1', { memoryBytes: 1 * GiB })] }), 't1')
      ?.kind;

  it('tasks from ASSIGNED to RUNNING do', () => {
    for (const state of ['assigned', 'accepted', 'preparing', 'ready', 'starting', 'running'] as const) {
      assert.equal(fits(running('n1', 2, { state, memoryBytes: 1 * GiB })), 'unschedulable', state);
    }
  });

  it('a running task desired to stop still does, until it has stopped', () => {
    assert.equal(fits(running('n1', 2, { desired: 'shutdown', memoryBytes: 1 * GiB })), 'unschedulable');
  });

  it('finished, failed, rejected and shut down tasks do not', () => {
    for (const state of ['complete', 'shutdown', 'failed', 'rejected', 'orphaned'] as const) {
      assert.equal(fits(running('n1', 2, { state, memoryBytes: 1 * GiB })), 'assign', state);
    }
  });

  it('tasks on nodes that no longer exist are ignored', () => {
    assert.equal(fits(running('gone', 2, { memoryBytes: 1 * GiB })), 'assign');
  });
});
