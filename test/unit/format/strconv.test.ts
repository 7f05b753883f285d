// Go's strconv (src/api/strconv.ts): what Go's ParseInt, ParseUint and ParseFloat return for these inputs,
// errors with Go's texts. The CLI's flags, go-units and text/template's number literals all read through it.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  NumError,
  parseFloat,
  parseIntBig,
  parseUintBig,
  parseUintLiteral,
} from '../../../src/api/strconv.js';

const attempt = (f: () => number | bigint): string => {
  try {
    return String(f());
  } catch (e) {
    assert.ok(e instanceof NumError);
    return `ERR ${e.message}`;
  }
};

describe('parseFloat is strconv.ParseFloat(s, 64)', () => {
  const cases: [string, number | string][] = [
    ['1.5', 1.5],
    ['-2e3', -2000],
    ['.5', 0.5],
    ['1_000.5', 1000.5],
    ['0x1p-2', 0.25],
    ['inf', Infinity],
    ['-Infinity', -Infinity],
    ['1e400', 'ERR strconv.ParseFloat: parsing "1e400": value out of range'],
    ['1__0', 'ERR strconv.ParseFloat: parsing "1__0": invalid syntax'],
    ['0x10', 'ERR strconv.ParseFloat: parsing "0x10": invalid syntax'],
    ['', 'ERR strconv.ParseFloat: parsing "": invalid syntax'],
  ];
  for (const [input, want] of cases) {
    it(JSON.stringify(input), () =>
      assert.equal(typeof want === 'number' ? parseFloat(input) : attempt(() => parseFloat(input)), want),
    );
  }
});

describe('parseIntBig is strconv.ParseInt', () => {
  // [input, base, bitSize, Go's result or "ERR <message>"]
  const cases: [string, number, number, string][] = [
    ['42', 0, 64, '42'],
    ['-42', 0, 64, '-42'],
    ['+7', 10, 64, '7'],
    ['0', 0, 64, '0'],
    ['1_000', 0, 64, '1000'],
    ['1_000', 10, 64, 'ERR strconv.ParseInt: parsing "1_000": invalid syntax'],
    ['0x_1f', 0, 64, '31'],
    ['0X1F', 0, 64, '31'],
    ['0o17', 0, 64, '15'],
    ['017', 0, 64, '15'],
    ['0_17', 0, 64, '15'],
    ['0b101', 0, 64, '5'],
    ['08', 0, 64, 'ERR strconv.ParseInt: parsing "08": invalid syntax'],
    ['0x', 0, 64, 'ERR strconv.ParseInt: parsing "0x": invalid syntax'],
    ['0b', 0, 64, 'ERR strconv.ParseInt: parsing "0b": invalid syntax'],
    ['1__0', 0, 64, 'ERR strconv.ParseInt: parsing "1__0": invalid syntax'],
    ['_1', 0, 64, 'ERR strconv.ParseInt: parsing "_1": invalid syntax'],
    ['1_', 0, 64, 'ERR strconv.ParseInt: parsing "1_": invalid syntax'],
    ['', 0, 64, 'ERR strconv.ParseInt: parsing "": invalid syntax'],
    ['+', 0, 64, 'ERR strconv.ParseInt: parsing "+": invalid syntax'],
    ['9223372036854775807', 0, 64, '9223372036854775807'],
    ['9223372036854775808', 0, 64, 'ERR strconv.ParseInt: parsing "9223372036854775808": value out of range'],
    ['-0x8000000000000000', 0, 64, '-9223372036854775808'],
    ['-129', 10, 8, 'ERR strconv.ParseInt: parsing "-129": value out of range'],
    ['-128', 10, 8, '-128'],
    ['300', 10, 8, 'ERR strconv.ParseInt: parsing "300": value out of range'],
  ];
  for (const [input, base, bits, want] of cases) {
    it(`${JSON.stringify(input)} base ${base} bits ${bits}`, () =>
      assert.equal(
        attempt(() => parseIntBig(input, base, bits)),
        want,
      ));
  }
});

describe('parseUintBig is strconv.ParseUint', () => {
  const cases: [string, number, number, string][] = [
    ['18446744073709551615', 10, 64, '18446744073709551615'],
    [
      '18446744073709551616',
      10,
      64,
      'ERR strconv.ParseUint: parsing "18446744073709551616": value out of range',
    ],
    // Go reports the overflow before it reaches the bad character.
    [
      '99999999999999999999x',
      10,
      64,
      'ERR strconv.ParseUint: parsing "99999999999999999999x": value out of range',
    ],
    ['-1', 0, 64, 'ERR strconv.ParseUint: parsing "-1": invalid syntax'],
    ['+1', 0, 64, 'ERR strconv.ParseUint: parsing "+1": invalid syntax'],
    ['256', 10, 8, 'ERR strconv.ParseUint: parsing "256": value out of range'],
    ['0xff', 0, 8, '255'],
  ];
  for (const [input, base, bits, want] of cases) {
    it(`${JSON.stringify(input)} base ${base} bits ${bits}`, () =>
      assert.equal(
        attempt(() => parseUintBig(input, base, bits)),
        want,
      ));
  }

  it('reads natural numbers of any size for big.Int (parseUintLiteral)', () => {
    assert.equal(parseUintLiteral('0x1_0000_0000_0000_0000'), 1n << 64n);
    assert.equal(parseUintLiteral('08'), undefined);
    assert.equal(parseUintLiteral('-1'), undefined);
  });
});
