// Each filter, and the explanation a task gets when no node passes — Docker's exact words.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CPU,
  GiB,
  decisionFor,
  errorFor,
  node,
  placements,
  running,
  schedule,
  task,
  tasks,
} from './fixtures.js';

describe('ready filter: only ready, active nodes take new tasks', () => {
  it('rejects a down node, in the singular', () => {
    assert.equal(
      errorFor([node('n1', { state: 'down' })], {}),
      'no suitable node (1 node not available for new tasks)',
    );
  });

  it('rejects paused, drained, down, disconnected and unknown nodes, in the plural', () => {
    const nodes = [
      node('paused', { availability: 'pause' }),
      node('drained', { availability: 'drain' }),
      node('down', { state: 'down' }),
      node('disconnected', { state: 'disconnected' }),
      node('unknown', { state: 'unknown' }),
    ];
    assert.equal(errorFor(nodes, {}), 'no suitable node (5 nodes not available for new tasks)');
  });

  it('places tasks only on the ready, active node among them', () => {
    const nodes = [
      node('paused', { availability: 'pause' }),
      node('ok'),
      node('drained', { availability: 'drain' }),
    ];
    assert.deepEqual(placements(schedule({ nodes, tasks: tasks(3) })), { ok: 3 });
  });
});

describe('resources filter: reservations must fit what the node has left', () => {
  it('compares CPU and memory reservations with the node', () => {
    const small = node('small', { nanoCPUs: 1 * CPU, memoryBytes: 1 * GiB });
    assert.equal(
      errorFor([small], { nanoCPUs: 2 * CPU }),
      'no suitable node (insufficient resources on 1 node)',
    );
    assert.equal(
      errorFor([small], { memoryBytes: 2 * GiB }),
      'no suitable node (insufficient resources on 1 node)',
    );
    assert.equal(errorFor([small], { nanoCPUs: 1 * CPU, memoryBytes: 1 * GiB }), undefined);
  });

  it('subtracts the reservations of tasks already on the node', () => {
    const nodes = [node('n1', { memoryBytes: 4 * GiB }), node('n2', { memoryBytes: 4 * GiB })];
    const busy = [
      ...running('n1', 1, { memoryBytes: 3 * GiB }),
      ...running('n2', 1, { memoryBytes: 3 * GiB }),
    ];
    assert.equal(
      errorFor(nodes, { memoryBytes: 2 * GiB }, busy),
      'no suitable node (insufficient resources on 2 nodes)',
    );
  });

  it('does not apply to tasks without reservations, even on a node that reports none', () => {
    assert.equal(errorFor([node('n1', { nanoCPUs: 0, memoryBytes: 0 })], {}), undefined);
  });
});

describe('constraints filter', () => {
  const nodes = [
    node('east-1', { labels: { zone: 'east' } }),
    node('east-2', { labels: { zone: 'east' } }),
    node('west-1', { labels: { zone: 'west' } }),
  ];

  it('places only on matching nodes', () => {
    assert.deepEqual(
      placements(schedule({ nodes, tasks: tasks(4, { constraints: ['node.labels.zone==east'] }) })),
      {
        'east-1': 2,
        'east-2': 2,
      },
    );
  });

  it('explains unmatched constraints, in the singular and the plural', () => {
    assert.equal(
      errorFor(nodes.slice(2), { constraints: ['node.labels.zone==east'] }),
      'no suitable node (scheduling constraints not satisfied on 1 node)',
    );
    assert.equal(
      errorFor(nodes, { constraints: ['node.labels.zone==north'] }),
      'no suitable node (scheduling constraints not satisfied on 3 nodes)',
    );
  });
});

describe('platform filter', () => {
  const nodes = [
    node('amd', { arch: 'x86_64' }),
    node('arm', { arch: 'aarch64' }),
    node('win', { os: 'windows' }),
  ];

  it('treats x86_64 as amd64 and aarch64 as arm64, on either side', () => {
    assert.deepEqual(
      placements(schedule({ nodes, tasks: tasks(1, { platforms: [{ Architecture: 'arm64' }] }) })),
      {
        arm: 1,
      },
    );
    const amd64Linux = tasks(2, { platforms: [{ OS: 'linux', Architecture: 'amd64' }] });
    assert.deepEqual(placements(schedule({ nodes, tasks: amd64Linux })), { amd: 2 });
  });

  it('lets an empty field match anything', () => {
    assert.deepEqual(placements(schedule({ nodes, tasks: tasks(3, { platforms: [{ OS: 'linux' }] }) })), {
      amd: 2,
      arm: 1,
    });
  });

  it('explains unsupported platforms', () => {
    assert.equal(
      errorFor(nodes, { platforms: [{ OS: 'linux', Architecture: 's390x' }] }),
      'no suitable node (unsupported platform on 3 nodes)',
    );
  });
});

describe('host-mode published ports filter', () => {
  it('rejects a node where a running task holds the same port and protocol', () => {
    const nodes = [node('n1')];
    const holder = running('n1', 1, { service: 'other', hostPorts: [8080] });
    assert.equal(
      errorFor(nodes, { hostPorts: [8080] }, holder),
      'no suitable node (host-mode port already in use on 1 node)',
    );
    assert.equal(errorFor(nodes, { hostPorts: [{ port: 8080, protocol: 'udp' }] }, holder), undefined);
    assert.equal(errorFor(nodes, { hostPorts: [8081] }, holder), undefined);
  });

  it('gives each task of a batch its own node, and explains the rest', () => {
    const decisions = schedule({ nodes: [node('n1'), node('n2')], tasks: tasks(3, { hostPorts: [80] }) });
    assert.deepEqual(placements(decisions), { n1: 1, n2: 1 });
    assert.deepEqual(decisionFor(decisions, 't3'), {
      kind: 'unschedulable',
      taskId: 't3',
      error: 'no suitable node (host-mode port already in use on 2 nodes)',
    });
  });
});

describe('max replicas per node filter', () => {
  it('stops at MaxReplicas tasks of the service per node, counting tasks already there', () => {
    const nodes = [node('n1'), node('n2')];
    const decisions = schedule({ nodes, tasks: [...running('n1', 1), ...tasks(4, { maxReplicas: 2 })] });
    assert.deepEqual(placements(decisions), { n1: 1, n2: 2 });
  });

  it("says Docker's text, without a count", () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    assert.equal(
      errorFor(nodes, { maxReplicas: 1 }, running('n1', 1).concat(running('n2', 1), running('n3', 1))),
      'no suitable node (max replicas per node limit exceed)',
    );
  });

  it('counts only tasks of the same service', () => {
    assert.equal(
      errorFor([node('n1')], { maxReplicas: 1 }, running('n1', 3, { service: 'other' })),
      undefined,
    );
  });
});

describe('explanations', () => {
  it('charge each node to the first filter it fails, in pipeline order', () => {
    // A down node without the label is "not available", never "constraints not satisfied".
    const nodes = [node('down', { state: 'down' }), node('unlabelled')];
    assert.equal(
      errorFor(nodes, { constraints: ['node.labels.zone==east'] }),
      'no suitable node (1 node not available for new tasks; scheduling constraints not satisfied on 1 node)',
    );
  });

  it('list the filter that rejected most nodes first', () => {
    const nodes = [
      node('down', { state: 'down' }),
      node('small', { memoryBytes: 1 * GiB, labels: { zone: 'east' } }),
      node('west-1', { labels: { zone: 'west' } }),
      node('west-2', { labels: { zone: 'west' } }),
      node('west-3', { labels: { zone: 'west' } }),
    ];
    assert.equal(
      errorFor(nodes, { memoryBytes: 2 * GiB, constraints: ['node.labels.zone==east'] }),
      'no suitable node (scheduling constraints not satisfied on 3 nodes; 1 node not available for new tasks; insufficient resources on 1 node)',
    );
  });

  it('are just "no suitable node" when there is no node at all', () => {
    assert.equal(errorFor([], {}), 'no suitable node');
  });

  it('are shared by every task of the group that did not fit', () => {
    const decisions = schedule({
      nodes: [node('n1', { memoryBytes: 2 * GiB })],
      tasks: tasks(4, { memoryBytes: 1 * GiB }),
    });
    assert.deepEqual(placements(decisions), { n1: 2 });
    assert.deepEqual(
      decisions.filter((d) => d.kind === 'unschedulable').map((d) => d.taskId),
      ['t3', 't4'],
    );
  });
});

describe('a task that fits', () => {
  it("is assigned with swarmkit's message", () => {
    assert.deepEqual(schedule({ nodes: [node('n1')], tasks: [task('t1')] }), [
      { kind: 'assign', taskId: 't1', nodeId: 'n1', message: 'scheduler assigned task to node' },
    ]);
  });
});
