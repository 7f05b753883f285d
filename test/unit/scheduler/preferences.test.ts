// Placement preferences: `--placement-pref spread=node.labels.rack` evens out tasks per label value
// before it evens them out per node (semantics §5.5).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GiB, node, placements, running, schedule, tasks } from './fixtures.js';

const racks = () => [
  node('a1', { labels: { rack: 'a' } }),
  node('b1', { labels: { rack: 'b' } }),
  node('b2', { labels: { rack: 'b' } }),
  node('b3', { labels: { rack: 'b' } }),
];

/** Tasks placed per value of a node label. */
function perLabel(decisions: ReturnType<typeof schedule>, nodes: ReturnType<typeof racks>, label: string) {
  const byNode = new Map(nodes.map((n) => [n.ID, n.Spec.Labels?.[label] ?? '']));
  const counts: Record<string, number> = {};
  for (const [nodeId, n] of Object.entries(placements(decisions))) {
    const value = byNode.get(nodeId)!;
    counts[value] = (counts[value] ?? 0) + n;
  }
  return counts;
}

describe('spread preference', () => {
  it('splits tasks evenly between 2 racks of 1 and 3 nodes', () => {
    const decisions = schedule({ nodes: racks(), tasks: tasks(6, { spread: ['node.labels.rack'] }) });
    assert.deepEqual(placements(decisions), { a1: 3, b1: 1, b2: 1, b3: 1 });
  });

  it('spreads by node instead when there is no preference', () => {
    assert.deepEqual(placements(schedule({ nodes: racks(), tasks: tasks(8) })), {
      a1: 2,
      b1: 2,
      b2: 2,
      b3: 2,
    });
  });

  it('counts the tasks each rack already holds', () => {
    const existing = running('a1', 4, { spread: ['node.labels.rack'] });
    const decisions = schedule({
      nodes: racks(),
      tasks: [...existing, ...tasks(6, { spread: ['node.labels.rack'] })],
    });
    assert.deepEqual(perLabel(decisions, racks(), 'rack'), { a: 1, b: 5 });
  });

  it('puts nodes without the label in a branch of their own', () => {
    const nodes = [...racks(), node('x1'), node('x2')];
    const decisions = schedule({ nodes, tasks: tasks(9, { spread: ['node.labels.rack'] }) });
    assert.deepEqual(perLabel(decisions, nodes, 'rack'), { a: 3, b: 3, '': 3 });
  });

  it('gives the share of a rack that cannot take more to the others', () => {
    const nodes = [
      node('a1', { labels: { rack: 'a' }, memoryBytes: 1 * GiB }),
      node('b1', { labels: { rack: 'b' } }),
      node('b2', { labels: { rack: 'b' } }),
    ];
    const decisions = schedule({
      nodes,
      tasks: tasks(6, { spread: ['node.labels.rack'], memoryBytes: 1 * GiB }),
    });
    assert.deepEqual(placements(decisions), { a1: 1, b1: 3, b2: 2 });
  });

  it('skips a rack whose nodes all fail the filters', () => {
    const nodes = [node('a1', { labels: { rack: 'a' }, availability: 'drain' }), ...racks().slice(1)];
    assert.deepEqual(placements(schedule({ nodes, tasks: tasks(3, { spread: ['node.labels.rack'] }) })), {
      b1: 1,
      b2: 1,
      b3: 1,
    });
  });

  it('nests: datacenters first, then racks within each', () => {
    const nodes = [
      node('east-a', { labels: { dc: 'east', rack: 'a' } }),
      node('east-b1', { labels: { dc: 'east', rack: 'b' } }),
      node('east-b2', { labels: { dc: 'east', rack: 'b' } }),
      node('west-c1', { labels: { dc: 'west', rack: 'c' } }),
      node('west-c2', { labels: { dc: 'west', rack: 'c' } }),
      node('west-c3', { labels: { dc: 'west', rack: 'c' } }),
    ];
    const decisions = schedule({
      nodes,
      tasks: tasks(8, { spread: ['node.labels.dc', 'node.labels.rack'] }),
    });
    assert.deepEqual(perLabel(decisions, nodes, 'dc'), { east: 4, west: 4 });
    assert.deepEqual(perLabel(decisions, nodes, 'rack'), { a: 2, b: 2, c: 4 });
  });

  it('reads engine labels with engine.labels.', () => {
    const nodes = [
      node('n1', { engineLabels: { disk: 'ssd' } }),
      node('n2', { engineLabels: { disk: 'hdd' } }),
      node('n3', { engineLabels: { disk: 'hdd' } }),
    ];
    assert.deepEqual(placements(schedule({ nodes, tasks: tasks(4, { spread: ['engine.labels.disk'] }) })), {
      n1: 2,
      n2: 1,
      n3: 1,
    });
  });

  it('ignores descriptors it does not understand, as swarmkit does', () => {
    const decisions = schedule({ nodes: racks(), tasks: tasks(4, { spread: ['node.hostname'] }) });
    assert.deepEqual(placements(decisions), { a1: 1, b1: 1, b2: 1, b3: 1 });
  });

  it('matches the descriptor prefix case-insensitively, the label name exactly', () => {
    assert.deepEqual(
      perLabel(
        schedule({ nodes: racks(), tasks: tasks(4, { spread: ['Node.Labels.rack'] }) }),
        racks(),
        'rack',
      ),
      {
        a: 2,
        b: 2,
      },
    );
    // `Rack` is another label, which no node has: every node is in branch "", spread by node.
    assert.deepEqual(
      placements(schedule({ nodes: racks(), tasks: tasks(4, { spread: ['node.labels.Rack'] }) })),
      {
        a1: 1,
        b1: 1,
        b2: 1,
        b3: 1,
      },
    );
  });
});
