import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  DOCKER_TABWRITER,
  TabFlags,
  TabWriter,
  type TabWriterOptions,
  stringWidth,
  tabulate,
} from '../../../src/cli/format/tabwriter.js';

// [writes, options (default: Docker's 10, 1, 3, ' ', 0), output of Go 1.19's text/tabwriter]
const GO_TABWRITER: [string[], Partial<TabWriterOptions> | undefined, string][] = [
  [
    ['ID\tNAME\tMODE\n', 'abc\tweb\treplicated\n', 'defghijklmnop\tx\tglobal\n'],
    undefined,
    'ID              NAME      MODE\nabc             web       replicated\ndefghijklmnop   x         global\n',
  ],
  [['ID\tNAME\n'], undefined, 'ID        NAME\n'],
  [['a\tb\tc'], undefined, 'a         b         c'],
  [['a\tb\tc\n'], undefined, 'a         b         c\n'],
  [
    ['a\tb\n', 'no tabs here\n', 'longer cell here\tz\n'],
    undefined,
    'a         b\nno tabs here\nlonger cell here   z\n',
  ],
  [
    ['aaaa\tbbb\td\n', 'aa\tb\tdd\n', 'a\t\n', 'aa\tcccc\teee\n'],
    undefined,
    'aaaa      bbb       d\naa        b         dd\na         \naa        cccc      eee\n',
  ],
  [['x\t\ty\n', '\t\tz\n'], undefined, 'x                   y\n                    z\n'],
  [['a\tb\n\n', 'c\td\n'], undefined, 'a         b\n\nc         d\n'],
  [['line1\nline2\tcol\n'], undefined, 'line1\nline2     col\n'],
  [['multi\tline\ncell\tis\there\n'], undefined, 'multi     line\ncell      is        here\n'],
  [['a\fb\tc\n', 'dd\tee\n'], undefined, 'a\nb         c\ndd        ee\n'],
  [['a\u000bb\tc\n', 'dd\u000b\tee\n'], undefined, 'a         b         c\ndd                  ee\n'],
  [['', 'x'], undefined, 'x'],
  [['trailing\t'], undefined, 'trailing'],
  [['trailing\t\n', 'x\ty\t\n'], undefined, 'trailing   \nx          y         \n'],
  [['a\tb\tc\n'], { minwidth: 0, tabwidth: 8, padding: 1, padchar: '\t', flags: 0 }, 'a\tb\tc\n'],
  [
    ['a\tbbbbbbbbbbbb\tc\n', 'aaaaaaaaaaaaaaaa\tb\tc\n'],
    { minwidth: 0, tabwidth: 8, padding: 1, padchar: '\t', flags: 0 },
    'a\t\t\tbbbbbbbbbbbb\tc\naaaaaaaaaaaaaaaa\tb\t\tc\n',
  ],
  [
    ['a\tb\tc\n', 'aaa\tbbbb\tc\n'],
    { minwidth: 5, tabwidth: 0, padding: 1, padchar: '.', flags: 4 },
    '....a....bc\n..aaa.bbbbc\n',
  ],
  [
    ['a\tb\tc\n', 'aaa\tbbbb\tc\n'],
    { minwidth: 0, tabwidth: 0, padding: 1, padchar: '-', flags: 32 },
    'a---|b----|c\naaa-|bbbb-|c\n',
  ],
  [
    ['\ta\tb\n', '\t\tc\n'],
    { minwidth: 0, tabwidth: 4, padding: 1, padchar: ' ', flags: 16 },
    '\ta b\n\t\tc\n',
  ],
  [
    ['a\u000b\u000bb\n', 'c\u000b\u000bd\n'],
    { minwidth: 0, tabwidth: 0, padding: 1, padchar: '_', flags: 8 },
    'a_b\nc_d\n',
  ],
  [
    [
      'NAME\tDESCRIPTION\tDOCKER ENDPOINT\tERROR\n',
      'default *\tCurrent DOCKER_HOST based configuration\tunix:///var/run/docker.sock\t\n',
    ],
    undefined,
    'NAME        DESCRIPTION                               DOCKER ENDPOINT               ERROR\ndefault *   Current DOCKER_HOST based configuration   unix:///var/run/docker.sock   \n',
  ],
  [
    [
      'ID\tNAME\tIMAGE\tNODE\tDESIRED STATE\tCURRENT STATE\tERROR\tPORTS\n',
      'abc\tweb.1\tnginx:latest\tnode1\tRunning\tRunning 2 minutes ago\t\t\n',
      'def\t \\_ web.1\tnginx:latest\tnode1\tShutdown\tShutdown 3 minutes ago\t\t\n',
    ],
    undefined,
    'ID        NAME        IMAGE          NODE      DESIRED STATE   CURRENT STATE            ERROR     PORTS\nabc       web.1       nginx:latest   node1     Running         Running 2 minutes ago              \ndef        \\_ web.1   nginx:latest   node1     Shutdown        Shutdown 3 minutes ago             \n',
  ],
  [['a\tb\n', 'c\td\n', 'e\n', 'f\tg\n'], undefined, 'a         b\nc         d\ne\nf         g\n'],
  [['a\tb', '\n', 'c', '\td\n'], undefined, 'a         b\nc         d\n'],
];

describe('TabWriter agrees with Go text/tabwriter', () => {
  GO_TABWRITER.forEach(([chunks, options, want], i) => {
    it(`#${i} ${JSON.stringify(chunks.join('')).slice(0, 60)}`, () => {
      const w = new TabWriter(options);
      for (const c of chunks) w.write(c);
      assert.equal(w.flush(), want);
    });
  });
});

describe('TabWriter details', () => {
  it('uses Docker settings by default', () => {
    assert.deepEqual(DOCKER_TABWRITER, { minwidth: 10, tabwidth: 1, padding: 3, padchar: ' ', flags: 0 });
    assert.equal(tabulate('a\tb\n'), 'a         b\n');
  });
  it('measures East Asian wide characters and emoji as two columns (go-runewidth)', () => {
    assert.equal(stringWidth('日本語'), 6);
    assert.equal(stringWidth('😀x'), 3);
    assert.equal(stringWidth('e\u0301'), 1);
    assert.equal(tabulate('日本語日本語\tb\nx\ty\n'), '日本語日本語   b\nx              y\n');
  });
  it('flush returns output incrementally', () => {
    const w = new TabWriter();
    w.write('a\tb\n');
    assert.equal(w.flush(), 'a         b\n');
    assert.equal(w.flush(), '');
  });
  it('supports AlignRight and Debug', () => {
    const opts = {
      minwidth: 0,
      tabwidth: 0,
      padding: 1,
      padchar: ' ',
      flags: TabFlags.AlignRight | TabFlags.Debug,
    };
    // expected output from Go's text/tabwriter with the same settings
    assert.equal(tabulate('a\tbbb\tc\naa\tb\tc\n', opts), '  a| bbb|c\n aa|   b|c\n');
  });
  it('rejects negative sizes', () => {
    assert.throws(() => new TabWriter({ padding: -1 }), RangeError);
  });
});
