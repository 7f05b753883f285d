// Engine API timestamps: Go's RFC3339Nano, with nanoseconds as Docker's clock has them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatTimestamp, formatTimestampNanos, nowNanos, nowTimestamp } from '../../../src/api/time.js';

describe('timestamps', () => {
  it('prints nanoseconds as Go does: trailing zeros of the fraction dropped', () => {
    assert.equal(formatTimestampNanos(1796599617868368974n), '2026-12-06T23:26:57.868368974Z');
    assert.equal(formatTimestampNanos(1796599618154111100n), '2026-12-06T23:26:58.1541111Z');
    assert.equal(formatTimestampNanos(1796599617000000000n), '2026-12-06T23:26:57Z');
    assert.equal(formatTimestampNanos(0n), '1970-01-01T00:00:00Z');
    assert.equal(formatTimestampNanos(-1n), '1969-12-31T23:59:59.999999999Z');
    assert.equal(formatTimestamp(1796599617640), '2026-12-06T23:26:57.64Z');
  });

  it('stamps the current time with digits below the millisecond, never going backwards', () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const stamps = Array.from({ length: 50 }, () => nowNanos());
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i]! > stamps[i - 1]!);
    // Within the wall clock's window (its anchor may be up to 10 s old, so allow a little drift).
    assert.ok(stamps[0]! >= before - 5_000_000n && stamps.at(-1)! <= after + 5_000_000n);
    assert.match(nowTimestamp(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{4,9}Z$/);
    assert.ok(Math.abs(Date.parse(nowTimestamp()) - Date.now()) < 50);
  });
});
