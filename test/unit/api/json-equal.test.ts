// The one JSON equality (src/api/json-equal.ts): own properties only, and its two strictnesses.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { jsonEqual, jsonEqualIgnoringEmpty } from '../../../src/api/json-equal.js';
import { ownRecord } from '../../../src/api/own.js';

const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

describe('jsonEqual', () => {
  it('compares values deeply, undefined and missing alike', () => {
    assert.equal(jsonEqual({ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }), true);
    assert.equal(jsonEqual({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(jsonEqual({ a: 1 }, { a: 2 }), false);
    assert.equal(jsonEqual({ a: null }, {}), false);
    assert.equal(jsonEqual({ a: [] }, {}), false);
    assert.equal(jsonEqual([1, 2], { 0: 1, 1: 2 }), false);
    assert.equal(jsonEqual([1], [1, 2]), false);
    assert.equal(jsonEqual(null, {}), false);
  });

  it('sees own properties only: keys named after the prototype are data', () => {
    for (const key of PROTOTYPE_KEYS) {
      // The key is missing on one side, undefined on the other: the same.
      assert.equal(jsonEqual(ownRecord([[key, undefined]]), {}), true, key);
      assert.equal(jsonEqual({}, ownRecord([[key, undefined]])), true, key);
      // An empty object under the key is not the same as no key (Object.prototype has no own keys).
      assert.equal(jsonEqual(ownRecord([[key, {}]]), {}), false, key);
      assert.equal(jsonEqual(ownRecord([[key, 'x']]), ownRecord([[key, 'x']])), true, key);
      assert.equal(jsonEqual(ownRecord([[key, 'x']]), ownRecord([[key, 'y']])), false, key);
    }
  });
});

describe('jsonEqualIgnoringEmpty', () => {
  it('takes null, [], {} and objects of nothing for missing', () => {
    assert.equal(jsonEqualIgnoringEmpty({ a: null, b: [], c: {}, d: { e: undefined, f: [] } }, {}), true);
    assert.equal(jsonEqualIgnoringEmpty({ a: [1] }, {}), false);
    assert.equal(jsonEqualIgnoringEmpty({ a: 0 }, {}), false);
    assert.equal(jsonEqualIgnoringEmpty({ a: '' }, {}), false);
    assert.equal(jsonEqualIgnoringEmpty(undefined, null), true);
  });

  it('sees own properties only', () => {
    for (const key of PROTOTYPE_KEYS) {
      assert.equal(jsonEqualIgnoringEmpty(ownRecord([[key, {}]]), {}), true, key);
      assert.equal(jsonEqualIgnoringEmpty(ownRecord([[key, 'x']]), {}), false, key);
      assert.equal(jsonEqualIgnoringEmpty({}, ownRecord([[key, 'x']])), false, key);
    }
  });
});
