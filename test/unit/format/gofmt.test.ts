import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { goTimeString, sprint, sprintf, sprintln } from '../../../src/cli/format/gofmt.js';
import { formatFloat, goQuote } from '../../../src/api/strconv.js';

// [format, args, output]: outputs of Go 1.19's fmt.Sprintf over the same values (JSON numbers
// standing for Go ints when integral, float64 otherwise).
const GO_SPRINTF: [string, unknown[], string][] = [
  [
    '%05s|%-5s|%5.1s|%.2f|%.0f|%.0f|%e|%g|%.3g|%G',
    ['ab', 'ab', 'xyz', 2.675, 0.5, 2.5, 1234.5678, 1e-7, 1234.5678, 1e-7],
    '000ab|ab   |    x|2.67|0|2|1.234568e+03|1e-07|1.23e+03|1E-07',
  ],
  [
    '%d|%s|%v|%x|%X|%o|%b|%#x|%c|%q|%U|%#U',
    ['hi', 5, null, 'hi', 255, 8, 5, 255, 65, 65, 65, 65],
    "%!d(string=hi)|%!s(int=5)|<nil>|6869|FF|10|101|0xff|A|'A'|U+0041|U+0041 'A'",
  ],
  ['%s %s|%!|%d', ['a'], 'a %!s(MISSING)|%!!(MISSING)|%!d(MISSING)'],
  ['[%s]', ['a', 3, 'x'], '[a]%!(EXTRA int=3, string=x)'],
  ['%[2]s %[1]s %d|', ['a', 'b'], 'b a %!d(string=b)|'],
  [
    '%[3]d %[0]d %[x]d %[1]5d %[1].2f %d',
    [1, 2.5],
    '%!d(BADINDEX) %!d(BADINDEX) %!d(BADINDEX) %!d(BADINDEX) %!f(BADINDEX) 1',
  ],
  [
    '%v|%s|%d',
    [{ b: 1, a: ['x', 'y'] }, [1, 'a', null], [1, 'a']],
    'map[a:[x y] b:1]|[%!s(int=1) a <nil>]|[1 %!d(string=a)]',
  ],
  [
    '%08.3f|%+d|% d|%5v|%-8q|%x|%.3x|%#08x|%08d|%-08d|%+08d|%.5d|%8.5d|%.0d|%5.0d|',
    [-3.14159, 5, 5, [1, 2], 'a\nb', -255, 'hello', 255, -42, 42, 42, 42, -42, 0, 0],
    '-003.142|+5| 5|[    1     2]|"a\\nb"  |-ff|68656c|0x000000ff|-0000042|42      |+0000042|00042|  -00042||     |',
  ],
  [
    '%6.2f|%-8.3e|%10.4g|%g|%g|%.1f|%.1f|%.3g|%.10g|%g|%g',
    [3.14159, 1234.5, 1.2345e-5, 100000, 1000000, 0.05, 0.25, 100, 100, 1e100, 123456789.125],
    '  3.14|1.234e+03| 1.234e-05|100000|1e+06|0.1|0.2|100|100|1e+100|1.23456789125e+08',
  ],
  [
    '%*d|%-*d|%.*f|%d|%*d|%.*d',
    [5, 1, 4, 2, 2, 3.14159, 'x', 3],
    '    1|2   |3.14|%!d(string=x)|%!d(MISSING)|%!(BADPREC)%!d(MISSING)',
  ],
  [
    '%q|%+q|%#q|%q|%#q|%x|% x|%#x|%X',
    ['héllo\u0001  ', 'héllo', 'back`q', 'a"b\\', 'plain', 'héllo', 'abc', 'abc', 'héllo'],
    '"héllo\\x01\\u00a0\\u2028"|"h\\u00e9llo"|"back`q"|"a\\"b\\\\"|`plain`|68c3a96c6c6f|61 62 63|0x616263|68C3A96C6C6F',
  ],
  [
    '%v|%v|%v|%.3v|%10.3v|%v|%v',
    [1e20, 1.5e300, 5e-324, 3.14159, 3.14159, 0.1, -2.5],
    '1e+20|1.5e+300|5e-324|3.14|      3.14|0.1|-2.5',
  ],
  [
    '%.0e|%e|%.2e|%f|%.3f|%#.0f|%#.0e|%#g|%#.3g|%#v',
    [5, 0, 9.999, 1e21, -0.0005, 3, 3, 100000, 1, 1.5],
    '5e+00|0.000000e+00|1.00e+01|1000000000000000000000.000000|-0.001|3.|3.e+00|100000.|1.00|1.5',
  ],
  [
    '%s|%v|%d|%x',
    [false, ['a', [1]], { k: 1 }, 3735928559],
    '%!s(bool=false)|[a [1]]|map[%!d(string=k):1]|deadbeef',
  ],
  ['%c|%q|%U|%q', [128512, 10, 128512, 39], "😀|'\\n'|U+1F600|'\\''"],
  ['100%%|%5%|%-5t|%05t|%5.2s|%.0s|', [true, false, 'héllo', 'abc'], '100%|%|true |false|   hé||'],
  ['%v %v %v %v', [1e-5, 0.0001, 123456.7, 999999.9999999], '1e-05 0.0001 123456.7 999999.9999999'],
  [
    '%e|%E|%.1e|%.15e|%.20f|%.17g',
    [0.1, 1e-300, 0.15, 0.1, 0.1, 0.1],
    '1.000000e-01|1.000000E-300|1.5e-01|1.000000000000000e-01|0.10000000000000000555|0.10000000000000001',
  ],
  [
    '%6.3v|%-10v|%010.3f|%+.1f|% .1f|%+v|% v',
    [12.34567, 'ab', -1.5, 2.25, 2.25, 1.5, 3],
    '  12.3|ab        |-00001.500|+2.2| 2.2|1.5| 3',
  ],
  ['%.', [5], '%!.(int=5)'],
  ['%-', [5], '%!(NOVERB)%!(EXTRA int=5)'],
  ['%z %!', [5], '%!z(int=5) %!!(MISSING)'],
];

describe('sprintf agrees with Go fmt', () => {
  for (const [format, args, want] of GO_SPRINTF) {
    it(JSON.stringify(format), () => assert.equal(sprintf(format, ...args), want));
  }
});

describe('sprintf details', () => {
  const cases: [string, unknown[], string][] = [
    ['%s-%d', ['a', 1], 'a-1'],
    ['%v', [undefined], '<nil>'],
    ['%s', [undefined], '%!s(<nil>)'],
    ['%v', [[1, 'a', [true]]], '[1 a [true]]'],
    [
      '%v',
      [
        new Map([
          ['b', 1],
          ['a', 2],
        ]),
      ],
      'map[a:2 b:1]',
    ],
    ['%v', [{ z: 1, a: { b: 'c' } }], 'map[a:map[b:c] z:1]'],
    ['%q', [['a', 'b']], '["a" "b"]'],
    ['%x', [-1n], '-1'],
    ['%d', [2n ** 70n], '1180591620717411303424'],
    ['%.2f', [5], '5.00'], // JavaScript cannot tell int 5 from float 5: float verbs accept it
    ['%d', [1.5], '%!d(float64=1.5)'],
    ['%v|%v|%v', [NaN, Infinity, -Infinity], 'NaN|+Inf|-Inf'],
    ['%5.1f|%-6v|', [-Infinity, NaN], ' -Inf|NaN   |'],
    ['%T %T %T %T', [true, 1, 'x', 1.5], 'bool int string float64'],
    ['%v', [new Date(Date.UTC(2020, 1, 3, 4, 5, 6))], '2020-02-03 04:05:06 +0000 UTC'],
    ['%v', [{ __proto__: { Error: () => 'an error' } }], 'an error'],
  ];
  for (const [format, args, want] of cases) {
    it(`${format} ${String(args[0])}`, () => assert.equal(sprintf(format, ...args), want));
  }
});

describe('sprint and sprintln', () => {
  it('sprint adds spaces only between non-strings', () => {
    assert.equal(sprint('a', 'b', 1, 2, 'c', 3.5, true, false), 'ab1 2c3.5 true false');
  });
  it('sprintln always adds spaces and a newline', () => {
    assert.equal(sprintln('a', 1, null, true), 'a 1 <nil> true\n');
  });
  it('sprint of nothing is empty', () => assert.equal(sprint(), ''));
});

describe('formatFloat is strconv.FormatFloat', () => {
  const cases: [number, 'e' | 'E' | 'f' | 'g' | 'G', number, string][] = [
    [1e6, 'g', -1, '1e+06'],
    [123456, 'g', -1, '123456'],
    [1234567, 'g', -1, '1.234567e+06'],
    [0.0001, 'g', -1, '0.0001'],
    [0.00001, 'g', -1, '1e-05'],
    [2.675, 'f', 2, '2.67'],
    [0.5, 'f', 0, '0'],
    [1.5, 'f', 0, '2'],
    [2.5, 'f', 0, '2'],
    [0.125, 'f', 2, '0.12'],
    [0.375, 'f', 2, '0.38'],
    [1234.5678, 'e', 6, '1.234568e+03'],
    [1e-7, 'G', -1, '1E-07'],
    [9.999, 'e', 2, '1.00e+01'],
    [0.1, 'f', 20, '0.10000000000000000555'],
    [5e-324, 'g', -1, '5e-324'],
    [1.7976931348623157e308, 'g', -1, '1.7976931348623157e+308'],
    [-0, 'g', -1, '-0'],
    [0, 'e', 2, '0.00e+00'],
    [100, 'g', 3, '100'],
    [1000, 'g', 3, '1e+03'],
    [0, 'g', 4, '0'],
    [0.0001234, 'g', 2, '0.00012'],
  ];
  for (const [x, f, p, want] of cases) {
    it(`${x} ${f} ${p}`, () => assert.equal(formatFloat(x, f, p), want));
  }
});

describe('goQuote and goTimeString', () => {
  it('quotes like strconv.Quote', () => {
    assert.equal(goQuote('héllo\x01\u00a0\u2028"\\'), '"héllo\\x01\\u00a0\\u2028\\"\\\\"');
    assert.equal(goQuote('é', true), '"\\u00e9"');
    assert.equal(goQuote('😀\x7f'), '"😀\\x7f"');
  });
  it('prints time.Time.String() in UTC', () => {
    assert.equal(
      goTimeString(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 100))),
      '2024-01-02 03:04:05.1 +0000 UTC',
    );
    assert.equal(goTimeString(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), '2024-01-02 03:04:05 +0000 UTC');
  });
});
