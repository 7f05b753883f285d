import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { GoJSONError, contextFields, goJSON, goJSONString } from '../../../src/cli/format/gojson.js';
import { goStruct } from '../../../src/cli/format/govalue.js';

describe('goJSON is Go json.Marshal', () => {
  const cases: [string, unknown, string][] = [
    ['object order kept', { b: 1, a: [1, 'x', null, true] }, '{"b":1,"a":[1,"x",null,true]}'],
    ['undefined properties left out', { a: undefined, b: null }, '{"b":null}'],
    [
      'Map keys sorted',
      new Map<string, number>([
        ['b', 1],
        ['a', 2],
      ]),
      '{"a":2,"b":1}',
    ],
    ['HTML escaped', '<a&b>', '"\\u003ca\\u0026b\\u003e"'],
    ['control characters', '\u0001\n\r\t\b\f"\\', '"\\u0001\\n\\r\\t\\b\\f\\"\\\\"'],
    ['line separators', '\u2028\u2029', '"\\u2028\\u2029"'],
    ['lone surrogate', 'a\ud800b', '"a\\ufffdb"'],
    ['astral kept', '😀é', '"😀é"'],
    ['numbers', [1, -0.5, 1e21, 1e-7, 123456789, 0.000001], '[1,-0.5,1e+21,1e-7,123456789,0.000001]'],
    ['bigint', 2n ** 64n, '18446744073709551616'],
    ['date', new Date(Date.UTC(2020, 0, 1)), '"2020-01-01T00:00:00.000Z"'],
    ['toJSON used', { toJSON: () => ({ x: 1 }) }, '{"x":1}'],
    ['tagged plain object keeps order', goStruct({ b: 1, a: 2 }, 'swarm.Spec'), '{"b":1,"a":2}'],
    ['empty', [[], {}], '[[],{}]'],
  ];
  for (const [name, v, want] of cases) it(name, () => assert.equal(goJSON(v), want));

  it('escapeHTML false (Docker json function)', () => {
    assert.equal(goJSON({ a: '<&>' }, { escapeHTML: false }), '{"a":"<&>"}');
    assert.equal(goJSONString('<\u2028', false), '"<\\u2028"');
  });
  it('indents like json.MarshalIndent', () => {
    assert.equal(
      goJSON([{ a: 1, b: [], c: {}, d: [1, { e: 'x' }] }], { indent: '    ' }),
      '[\n    {\n        "a": 1,\n        "b": [],\n        "c": {},\n        "d": [\n            1,\n            {\n                "e": "x"\n            }\n        ]\n    }\n]',
    );
    assert.equal(goJSON({ a: 1 }, { indent: '\t', prefix: '> ' }), '{\n> \t"a": 1\n> }');
  });
  it('rejects what Go rejects', () => {
    assert.throws(() => goJSON(NaN), GoJSONError);
    assert.throws(() => goJSON({ a: Infinity }), /json: unsupported value: \+Inf/);
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    assert.throws(() => goJSON(cyc), GoJSONError);
  });
});

describe('formatter contexts marshal like docker formatter.MarshalJSON', () => {
  class Ctx {
    private readonly secret = 's';
    constructor(private readonly n: number) {}
    get Name(): string {
      return `n${this.n}`;
    }
    ID(): string {
      return 'id';
    }
    Label(k: string): string {
      return k;
    }
    FullHeader(): unknown {
      return {};
    }
    lower(): string {
      return this.secret;
    }
  }
  it('exported zero-argument members, sorted, FullHeader left out', () => {
    assert.equal(goJSON(new Ctx(1)), '{"ID":"id","Name":"n1"}');
    assert.deepEqual(contextFields(new Ctx(2)), [
      ['ID', 'id'],
      ['Name', 'n2'],
    ]);
  });
});
