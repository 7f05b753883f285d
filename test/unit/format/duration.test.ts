import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DurationError,
  Hour,
  Millisecond,
  Second,
  formatDuration,
  humanDuration,
  humanDurationAgo,
  parseDuration,
  parseDurationBig,
  prettyPrint,
  taskStateSince,
} from '../../../src/api/duration.js';

// [input, Go 1.19 time.ParseDuration result in ns, or "ERR <message>"]
const GO_PARSE: [string, string][] = [
  ['0', '0'],
  ['-0', '0'],
  ['+0', '0'],
  ['', 'ERR time: invalid duration ""'],
  ['1s', '1000000000'],
  ['1.5s', '1500000000'],
  ['-1.5s', '-1500000000'],
  ['300ms', '300000000'],
  ['1h2m3s', '3723000000000'],
  ['1h2m3.5s', '3723500000000'],
  ['2h45m', '9900000000000'],
  ['1.5h', '5400000000000'],
  ['0.5m', '30000000000'],
  ['.5s', '500000000'],
  ['1.s', '1000000000'],
  ['1', 'ERR time: missing unit in duration "1"'],
  ['x', 'ERR time: invalid duration "x"'],
  ['1x', 'ERR time: unknown unit "x" in duration "1x"'],
  ['1.2.3s', 'ERR time: missing unit in duration "1.2.3s"'],
  ['5us', '5000'],
  ['5µs', '5000'],
  ['5μs', '5000'],
  ['100ns', '100'],
  ['1ms500us', '1500000'],
  ['9223372036854775807ns', '9223372036854775807'],
  ['9223372036854775808ns', 'ERR time: invalid duration "9223372036854775808ns"'],
  ['-9223372036854775808ns', '-9223372036854775808'],
  ['2562047h', '9223369200000000000'],
  ['2562048h', 'ERR time: invalid duration "2562048h"'],
  ['1.0000000000000000000001s', '1000000000'],
  ['0.1ns', '0'],
  ['1e3s', 'ERR time: unknown unit "e" in duration "1e3s"'],
  ['  1s', 'ERR time: invalid duration "  1s"'],
  ['1s ', 'ERR time: unknown unit "s " in duration "1s "'],
  ['1d', 'ERR time: unknown unit "d" in duration "1d"'],
  ['s', 'ERR time: invalid duration "s"'],
  ['-', 'ERR time: invalid duration "-"'],
  ['+', 'ERR time: invalid duration "+"'],
  ['.s', 'ERR time: invalid duration ".s"'],
  ['10000000000000000000000h', 'ERR time: invalid duration "10000000000000000000000h"'],
  ['3m0.5s', '180500000000'],
  ['0.333333333333h', '1199999999998'],
  ['1.123456789123456789s', '1123456789'],
  ['0s', '0'],
  ['00s', '0'],
];

describe('parseDurationBig agrees with time.ParseDuration', () => {
  for (const [input, want] of GO_PARSE) {
    it(JSON.stringify(input), () => {
      let got: string;
      try {
        got = parseDurationBig(input).toString();
      } catch (e) {
        assert.ok(e instanceof DurationError);
        got = `ERR ${e.message}`;
      }
      assert.equal(got, want);
    });
  }
});

describe('parseDuration (number)', () => {
  const cases: [string, number][] = [
    ['1h', Hour],
    ['1.5s', 1.5 * Second],
    ['300ms', 300 * Millisecond],
    ['-2m3s', -123 * Second],
    ['2400h', 2400 * Hour], // 100 days: still exact
  ];
  for (const [input, want] of cases) it(input, () => assert.equal(parseDuration(input), want));
  it('throws for bad input', () =>
    assert.throws(() => parseDuration('5'), /^DurationError: time: missing unit in duration "5"$/));
});

// [ns, Go's time.Duration(ns).String()]
const GO_STRING: [bigint, string][] = [
  [0n, '0s'],
  [1n, '1ns'],
  [999n, '999ns'],
  [1000n, '1µs'],
  [1500n, '1.5µs'],
  [999999n, '999.999µs'],
  [1000000n, '1ms'],
  [1500000n, '1.5ms'],
  [999999999n, '999.999999ms'],
  [1000000000n, '1s'],
  [1500000000n, '1.5s'],
  [60000000000n, '1m0s'],
  [61000000000n, '1m1s'],
  [3600000000000n, '1h0m0s'],
  [3661500000000n, '1h1m1.5s'],
  [-1500000000n, '-1.5s'],
  [-1n, '-1ns'],
  [360000000000000n, '100h0m0s'],
  [9223372036854775807n, '2562047h47m16.854775807s'],
  [-9223372036854775808n, '-2562047h47m16.854775808s'],
  [100n, '100ns'],
  [1001n, '1.001µs'],
];

describe('formatDuration agrees with Duration.String', () => {
  for (const [ns, want] of GO_STRING) {
    it(`${ns}`, () => assert.equal(formatDuration(ns), want));
  }
  it('accepts numbers', () => {
    assert.equal(formatDuration(90 * Second), '1m30s');
    assert.equal(formatDuration(1500.9), '1.5µs');
  });
});

// [ns, go-units HumanDuration]
const GO_HUMAN: [bigint, string][] = [
  [-1n, 'Less than a second'],
  [0n, 'Less than a second'],
  [999999999n, 'Less than a second'],
  [1000000000n, '1 second'],
  [1999999999n, '1 second'],
  [2000000000n, '2 seconds'],
  [59999999999n, '59 seconds'],
  [60000000000n, 'About a minute'],
  [119999999999n, 'About a minute'],
  [120000000000n, '2 minutes'],
  [3599999999999n, '59 minutes'],
  [3600000000000n, 'About an hour'],
  [5399999999999n, 'About an hour'],
  [5400000000000n, '2 hours'],
  [86400000000000n, '24 hours'],
  [172800000000000n, '2 days'],
  [1209599999999999n, '2 weeks'],
  [1209600000000000n, '2 weeks'],
  [5184000000000000n, '2 months'],
  [63072000000000000n, '2 years'],
  [63071999999999999n, '2 years'],
  [31536000000000000n, '12 months'],
  [315360000000000000n, '10 years'],
];

describe('humanDuration agrees with go-units', () => {
  for (const [ns, want] of GO_HUMAN) {
    it(`${ns}`, () => assert.equal(humanDuration(ns), want));
  }
});

describe('Docker phrasings', () => {
  it('x ago', () => assert.equal(humanDurationAgo(3 * 60 * Second), '3 minutes ago'));
  it('task states', () => {
    assert.equal(taskStateSince('running', 2 * 60 * Second), 'Running 2 minutes ago');
    assert.equal(taskStateSince('preparing', 10), 'Preparing less than a second ago');
    assert.equal(taskStateSince('shutdown', 61 * Second), 'Shutdown about a minute ago');
    assert.equal(taskStateSince('RUNNING', 3 * Hour), 'Running 3 hours ago');
  });
  it('prettyPrint', () => {
    assert.equal(prettyPrint(''), '');
    assert.equal(prettyPrint('A'), 'a');
    assert.equal(prettyPrint('new'), 'New');
  });
});
