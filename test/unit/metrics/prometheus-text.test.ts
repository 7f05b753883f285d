// The tests' parser of Prometheus' text format refuses what is wrong and reads what is right.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseExposition, sampleValue } from '../support/prometheus-text.js';

describe('the Prometheus text parser', () => {
  it('reads families, labels with escapes, special values and histograms', () => {
    const families = parseExposition(
      [
        '# HELP a_total Things\\ndone \\\\ here.',
        '# TYPE a_total counter',
        'a_total{kind="x \\"y\\"\\n",z="1"} 3',
        'a_total 4 1700000000000',
        '# TYPE g gauge',
        'g NaN',
        'g{s="down"} -Inf',
        '# TYPE h histogram',
        'h_bucket{le="0.1"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_sum 0.3',
        'h_count 2',
        '',
      ].join('\n'),
    );
    assert.equal(families.get('a_total')?.help, 'Things\ndone \\ here.');
    assert.equal(sampleValue(families, 'a_total', { kind: 'x "y"\n', z: '1' }), 3);
    assert.equal(families.get('a_total')?.samples[1]?.timestampMs, 1700000000000);
    assert.ok(Number.isNaN(sampleValue(families, 'g')));
    assert.equal(sampleValue(families, 'g', { s: 'down' }), -Infinity);
    assert.equal(sampleValue(families, 'h_count'), 2);
  });

  const refused: [string, string][] = [
    ['no newline at the end', 'a 1'],
    ['a bad name', '1a 1\n'],
    ['a bad value', 'a one\n'],
    ['a bad label', 'a{1x="y"} 1\n'],
    ['an unterminated label value', 'a{x="y} 1\n'],
    ['a bad escape', 'a{x="\\t"} 1\n'],
    ['a series twice', 'a{x="1"} 1\na{x="1"} 2\n'],
    ['samples apart', 'a 1\nb 1\na{x="2"} 1\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['TYPE twice', '# TYPE a gauge\n# TYPE a gauge\n'],
    ['an unknown type', '# TYPE a thing\n'],
    ['a negative counter', '# TYPE a counter\na -1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    [
      'buckets not cumulative',
      '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    ],
    ['+Inf not the count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
  ];
  for (const [what, text] of refused) {
    it(`refuses ${what}`, () => assert.throws(() => parseExposition(text)));
  }
});
