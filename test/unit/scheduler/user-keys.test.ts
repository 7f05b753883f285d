// Label names in constraints and preferences are the user's, engine labels the node's: whatever they
// are called (`toString`, `__proto__`…), a constraint on a label the node lacks simply does not match,
// and one poisoned service never stops the others from being scheduled.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import type { Node } from '../../../src/api/types.js';
import {
  engineLabelValue,
  nodeLabelValue,
  nodeMatches,
  parseConstraint,
} from '../../../src/manager/constraint.js';
import { spreadLevels } from '../../../src/manager/scheduler/placement.js';
import { decisionFor, errors, node, placements, schedule, task, tasks } from './fixtures.js';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

/** Labels with these names as own entries, the way JSON.parse makes them. */
const ownLabels = (entries: [string, string][]): Record<string, string> =>
  JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}}`) as Record<
    string,
    string
  >;

const NO_MATCH = 'no suitable node (scheduling constraints not satisfied on 1 node)';

describe('constraints on labels named after prototype properties', () => {
  it('a node without such a label has none: == never matches, != always does', () => {
    const plain = node('n1');
    for (const key of PROTOTYPE_KEYS) {
      for (const prefix of ['node.labels.', 'engine.labels.']) {
        assert.equal(nodeMatches(parseConstraint(`${prefix}${key}==x`), plain), false, `${prefix}${key}==x`);
        assert.equal(nodeMatches(parseConstraint(`${prefix}${key}!=x`), plain), true, `${prefix}${key}!=x`);
      }
      assert.equal(nodeLabelValue(plain, key), '');
      assert.equal(engineLabelValue(plain, key), '');
    }
  });

  it('a node with such a label matches it like any other', () => {
    const labels = ownLabels(PROTOTYPE_KEYS.map((k) => [k, `v-${k}`]));
    const labelled = node('n1', { labels, engineLabels: labels });
    for (const key of PROTOTYPE_KEYS) {
      assert.equal(nodeMatches(parseConstraint(`node.labels.${key}==v-${key}`), labelled), true);
      assert.equal(nodeMatches(parseConstraint(`engine.labels.${key}==V-${key}`), labelled), true);
      assert.equal(nodeMatches(parseConstraint(`node.labels.${key}==other`), labelled), false);
    }
  });

  it('a label value of another type (stored before validation) is no value', () => {
    const odd = node('n1', { engineLabels: { zone: 1 as unknown as string } });
    (odd.Description as { Hostname: unknown }).Hostname = 42;
    assert.equal(nodeMatches(parseConstraint('engine.labels.zone==1'), odd), false);
    assert.equal(nodeMatches(parseConstraint('engine.labels.zone!=1'), odd), true);
    assert.equal(nodeMatches(parseConstraint('node.hostname==42'), odd), false);
  });

  it('the poisoned service stays pending with the explanation; the others are placed', () => {
    const nodes = [node('n1', { labels: { zone: 'a' } })];
    const poisoned = PROTOTYPE_KEYS.flatMap((key, i) => [
      task(`node-${i}`, { service: `node-${key}`, constraints: [`node.labels.${key}==x`] }),
      task(`engine-${i}`, { service: `engine-${key}`, constraints: [`engine.labels.${key}==x`] }),
    ]);
    const decisions = schedule({ nodes, tasks: [...poisoned, ...tasks(3, { service: 'ok' })] });
    assert.deepEqual(placements(decisions), { n1: 3 });
    assert.deepEqual(errors(decisions), [NO_MATCH]);
    for (const t of poisoned) assert.equal(decisionFor(decisions, t.ID)?.kind, 'unschedulable');
  });

  it('any label name, on any node: scheduling never throws', () => {
    const name = fc.oneof(fc.constantFrom(...PROTOTYPE_KEYS), fc.stringMatching(/^[a-z_][a-z0-9_.-]{0,8}$/));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string()), { maxLength: 4 }),
        name,
        fc.constantFrom('node.labels.', 'engine.labels.'),
        fc.constantFrom('==', '!='),
        (entries, key, prefix, op) => {
          const labels = ownLabels(entries);
          const nodes: Node[] = [node('n1', { labels, engineLabels: labels }), node('n2')];
          const decisions = schedule({
            nodes,
            tasks: [
              task('c', { service: 'c', constraints: [`${prefix}${key}${op}x`] }),
              task('s', { service: 's', spread: [`${prefix}${key}`] }),
            ],
          });
          assert.equal(decisions.length, 2);
        },
      ),
    );
  });
});

describe('spread preferences on labels named after prototype properties', () => {
  it('group nodes without the label under "" and nodes with it by its value', () => {
    const labels = ownLabels(PROTOTYPE_KEYS.map((k) => [k, 'rack1']));
    for (const key of PROTOTYPE_KEYS) {
      for (const prefix of ['node.labels.', 'engine.labels.']) {
        const [level] = spreadLevels({ Preferences: [{ Spread: { SpreadDescriptor: `${prefix}${key}` } }] });
        assert.equal(level!(node('plain')), '');
        assert.equal(level!(node('labelled', { labels, engineLabels: labels })), 'rack1');
      }
    }
  });

  it('spread over a prototype-named label places every task', () => {
    const nodes = [node('n1'), node('n2')];
    for (const key of PROTOTYPE_KEYS) {
      const decisions = schedule({ nodes, tasks: tasks(4, { spread: [`node.labels.${key}`] }) });
      assert.deepEqual(placements(decisions), { n1: 2, n2: 2 });
    }
  });
});
