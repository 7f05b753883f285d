import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeLogRecord,
  encodeLogRecord,
  LineSplitter,
  MAX_LINE_BYTES,
} from '../../../src/agent/executor/process/logformat.js';
import {
  formatMillis,
  formatNanos,
  nowTimestampNanos,
  parseTimestampMillis,
} from '../../../src/agent/executor/process/timestamps.js';

describe('log records', () => {
  it('are one compact JSON object per line', () => {
    const line = encodeLogRecord('stdout', '2024-05-01T12:00:00.123456789Z', Buffer.from('hello\n'));
    assert.equal(line, '{"s":"stdout","t":"2024-05-01T12:00:00.123456789Z","l":"hello\\n"}\n');
    assert.deepEqual(decodeLogRecord(line.trimEnd()), {
      stream: 'stdout',
      timestamp: '2024-05-01T12:00:00.123456789Z',
      data: Buffer.from('hello\n'),
    });
  });

  it('keep output that is not UTF-8 byte-exact', () => {
    const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x41, 0x0a]);
    const line = encodeLogRecord('stderr', 't', bytes);
    assert.match(line, /"b":/);
    assert.deepEqual(decodeLogRecord(line.trimEnd())?.data, bytes);
  });

  it('reject lines that are not records', () => {
    assert.equal(decodeLogRecord('not json'), undefined);
    assert.equal(decodeLogRecord('{"s":"other","t":"x","l":""}'), undefined);
    assert.equal(decodeLogRecord('{"s":"stdout","t":"x"}'), undefined);
  });
});

describe('LineSplitter', () => {
  it('cuts at newlines across chunks and keeps the rest for later', () => {
    const splitter = new LineSplitter();
    assert.deepEqual(splitter.push(Buffer.from('a\nb')).map(String), ['a\n']);
    assert.deepEqual(splitter.push(Buffer.from('c\nd\n\ne')).map(String), ['bc\n', 'd\n', '\n']);
    assert.equal(String(splitter.end()), 'e');
    assert.equal(splitter.end(), undefined);
  });

  it('splits lines longer than the maximum into partial records, as Docker does', () => {
    const splitter = new LineSplitter();
    const long = Buffer.alloc(MAX_LINE_BYTES * 2 + 10, 'x');
    const pieces = splitter.push(Buffer.concat([long, Buffer.from('\n')]));
    assert.deepEqual(
      pieces.map((p) => p.length),
      [MAX_LINE_BYTES, MAX_LINE_BYTES, 11],
    );
  });

  it('counts a pending partial line toward the maximum', () => {
    const splitter = new LineSplitter(4);
    assert.deepEqual(splitter.push(Buffer.from('ab')).map(String), []);
    assert.deepEqual(splitter.push(Buffer.from('cdef\n')).map(String), ['abcd', 'ef\n']);
  });
});

describe('timestamps', () => {
  it('are RFC 3339 in UTC with exactly nine fractional digits', () => {
    assert.equal(formatNanos(1714564800123456789n), '2024-05-01T12:00:00.123456789Z');
    assert.equal(formatNanos(1714564800000000001n), '2024-05-01T12:00:00.000000001Z');
    assert.match(nowTimestampNanos(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(formatMillis(1714564800123), '2024-05-01T12:00:00.123000000Z');
    assert.equal(parseTimestampMillis('2024-05-01T12:00:00.123456789Z'), 1714564800123);
  });

  it('never go backwards', () => {
    let previous = nowTimestampNanos();
    for (let i = 0; i < 1000; i++) {
      const next = nowTimestampNanos();
      assert.ok(next > previous);
      previous = next;
    }
  });
});
