// Objects set aside after a failure: exponential backoff, a new version is retried at once.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Quarantine, QUARANTINE_MAX_RETRY_MS } from '../../../src/manager/quarantine.js';

describe('quarantine', () => {
  it('backs off exponentially up to a minute, per object', () => {
    const q = new Quarantine();
    assert.deepEqual(q.fail('service/a', 1, 0), { retryAt: 1_000, first: true });
    assert.deepEqual(q.fail('service/a', 1, 1_000), { retryAt: 3_000, first: false });
    assert.deepEqual(q.fail('service/a', 1, 3_000), { retryAt: 7_000, first: false });
    let at = 7_000;
    for (let i = 0; i < 10; i++) at = q.fail('service/a', 1, at).retryAt;
    assert.equal(q.fail('service/a', 1, at).retryAt - at, QUARANTINE_MAX_RETRY_MS);
    assert.equal(q.isHeld('service/b', 1, 0), false);
  });

  it('holds an object until its retry time, unless it changed', () => {
    const q = new Quarantine();
    q.fail('service/a', 4, 0);
    assert.equal(q.isHeld('service/a', 4, 500), true);
    assert.equal(q.isHeld('service/a', 4, 1_000), false);
    assert.deepEqual(q.due(1_000), ['service/a']);
    assert.equal(q.nextRetryAt(0), 1_000);
    // The user fixed it: version 5 is not held, and the entry is gone.
    assert.equal(q.isHeld('service/a', 5, 500), false);
    assert.equal(q.size, 0);
  });

  it('a new failure after a fix starts the backoff again', () => {
    const q = new Quarantine();
    q.fail('node/n', 1, 0);
    q.fail('node/n', 1, 1_000);
    assert.deepEqual(q.fail('node/n', 2, 5_000), { retryAt: 6_000, first: true });
    q.clear('node/n');
    assert.equal(q.size, 0);
  });
});
