// How the tasks of a service spread over the nodes that can take them (semantics §5.4, §5.5).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAILURE_LOOKBACK_MS } from '../../../src/manager/scheduler/failures.js';
import type { TaskFailure } from '../../../src/manager/scheduler/snapshot.js';
import { NOW, node, placements, running, schedule, task, tasks } from './fixtures.js';

const fourNodes = () => [node('n1'), node('n2'), node('n3'), node('n4')];

describe('spreading a service', () => {
  it('puts 8 replicas on 4 nodes 2 by 2', () => {
    assert.deepEqual(placements(schedule({ nodes: fourNodes(), tasks: tasks(8) })), {
      n1: 2,
      n2: 2,
      n3: 2,
      n4: 2,
    });
  });

  it('spreads a batch of 100 evenly over 7 nodes', () => {
    const nodes = Array.from({ length: 7 }, (_, i) => node(`n${i + 1}`));
    const counts = Object.values(placements(schedule({ nodes, tasks: tasks(100) })));
    assert.equal(counts.length, 7);
    assert.equal(Math.max(...counts) - Math.min(...counts), 1);
    assert.equal(
      counts.reduce((a, b) => a + b),
      100,
    );
  });

  it('fills the nodes with fewest tasks of the service first', () => {
    const existing = [...running('n1', 3), ...running('n2', 1)];
    // Existing counts n1=3, n2=1: n3 and n4 catch up with n2 first, then n2..n4 rise together to n1's 3.
    assert.deepEqual(placements(schedule({ nodes: fourNodes(), tasks: [...existing, ...tasks(6)] })), {
      n2: 2,
      n3: 2,
      n4: 2,
    });
    assert.deepEqual(placements(schedule({ nodes: fourNodes(), tasks: [...existing, ...tasks(9)] })), {
      n1: 1,
      n2: 2,
      n3: 3,
      n4: 3,
    });
  });

  it('breaks ties between nodes by their total number of tasks', () => {
    const existing = [...running('n1', 2, { service: 'other' }), ...running('n3', 1, { service: 'other' })];
    assert.deepEqual(placements(schedule({ nodes: fourNodes(), tasks: [...existing, ...tasks(2)] })), {
      n2: 1,
      n4: 1,
    });
  });

  it('does not count tasks that are desired to stop, finished, or not yet scheduled', () => {
    const leaving = [
      ...running('n1', 2, { desired: 'shutdown' }, 'stopping-'),
      ...running('n1', 2, { state: 'failed' }, 'failed-'),
      ...running('n1', 2, { state: 'complete', desired: 'complete' }, 'done-'),
    ];
    assert.deepEqual(
      placements(schedule({ nodes: [node('n1'), node('n2')], tasks: [...leaving, ...tasks(2)] })),
      {
        n1: 1,
        n2: 1,
      },
    );
  });

  it('counts tasks on their way to the node (assigned, starting) like running ones', () => {
    const arriving = [
      ...running('n1', 1, { state: 'assigned' }, 'a-'),
      ...running('n1', 1, { state: 'starting' }, 's-'),
    ];
    assert.deepEqual(
      placements(schedule({ nodes: [node('n1'), node('n2')], tasks: [...arriving, ...tasks(2)] })),
      {
        n2: 2,
      },
    );
  });

  it('places every task of every service in one pass, each spread on its own', () => {
    const decisions = schedule({
      nodes: fourNodes(),
      tasks: [...tasks(4, { service: 'a' }, 'a'), ...tasks(4, { service: 'b' }, 'b')],
    });
    assert.deepEqual(placements(decisions), { n1: 2, n2: 2, n3: 2, n4: 2 });
    const nodesOf = (prefix: string) =>
      new Set(
        decisions.flatMap((d) => (d.kind === 'assign' && d.taskId.startsWith(prefix) ? [d.nodeId] : [])),
      );
    assert.equal(nodesOf('a').size, 4);
    assert.equal(nodesOf('b').size, 4);
  });

  it('schedules tasks without a SpecVersion one by one, still spread', () => {
    assert.deepEqual(placements(schedule({ nodes: fourNodes(), tasks: tasks(4, { version: null }) })), {
      n1: 1,
      n2: 1,
      n3: 1,
      n4: 1,
    });
  });
});

describe('nodes where the service keeps failing', () => {
  const failuresOn = (nodeId: string, count: number, o: Partial<TaskFailure> = {}): TaskFailure[] =>
    Array.from({ length: count }, (_, i) => ({
      nodeId,
      serviceId: 'svc',
      specVersion: 1,
      at: NOW - 1000 * i,
      ...o,
    }));

  it('come last once they have 5 recent failures of this revision', () => {
    const nodes = [node('n1'), node('n2')];
    const existing = running('n2', 2);
    assert.deepEqual(
      placements(schedule({ nodes, tasks: [...existing, task('t1')], failures: failuresOn('n1', 5) })),
      {
        n2: 1,
      },
    );
  });

  it('are ranked normally with 4 failures', () => {
    const nodes = [node('n1'), node('n2')];
    assert.deepEqual(
      placements(
        schedule({ nodes, tasks: [...running('n2', 2), task('t1')], failures: failuresOn('n1', 4) }),
      ),
      { n1: 1 },
    );
  });

  it('are forgiven after 5 minutes, and for another revision or service', () => {
    const nodes = [node('n1'), node('n2')];
    const base = [...running('n2', 2), task('t1')];
    const old = failuresOn('n1', 5, { at: NOW - FAILURE_LOOKBACK_MS - 1 });
    const otherRevision = failuresOn('n1', 5, { specVersion: 0 });
    const otherService = failuresOn('n1', 5, { serviceId: 'other' });
    for (const failures of [old, otherRevision, otherService]) {
      assert.deepEqual(placements(schedule({ nodes, tasks: base, failures })), { n1: 1 });
    }
  });

  it('still take tasks when no other node can', () => {
    assert.deepEqual(
      placements(schedule({ nodes: [node('n1')], tasks: tasks(2), failures: failuresOn('n1', 9) })),
      {
        n1: 2,
      },
    );
  });
});
