// The loop's batching of store commits: 50 ms after the last commit, at most 1 s after the first.

import assert from 'node:assert/strict';
import { beforeEach, describe, it, mock } from 'node:test';
import { Debouncer } from '../../../src/manager/scheduler/debounce.js';

describe('commit debouncing', () => {
  let now = 0;
  let fired = 0;
  let debouncer: Debouncer;
  /** Moves the clock and the timers together, a millisecond at a time. */
  const advance = (ms: number) => {
    for (let i = 0; i < ms; i++) {
      now++;
      mock.timers.tick(1);
    }
  };

  beforeEach(() => {
    mock.timers.reset();
    mock.timers.enable({ apis: ['setTimeout'] });
    now = 0;
    fired = 0;
    debouncer = new Debouncer(() => fired++, { quietMs: 50, maxDelayMs: 1000, now: () => now });
  });

  it('fires once, 50 ms after the last of a quick burst', () => {
    debouncer.poke();
    advance(30);
    debouncer.poke();
    advance(30);
    assert.equal(fired, 0);
    advance(20);
    assert.equal(fired, 1);
    advance(1000);
    assert.equal(fired, 1);
  });

  it('fires at most 1 s after the first commit of a steady stream', () => {
    const firedAt: number[] = [];
    debouncer = new Debouncer(() => firedAt.push(now), { quietMs: 50, maxDelayMs: 1000, now: () => now });
    for (let elapsed = 0; elapsed < 2100; elapsed += 30) {
      debouncer.poke();
      advance(30);
    }
    // Commits every 30 ms never leave a 50 ms gap: each burst is cut 1 s after it began (at 0, then 1020).
    assert.deepEqual(firedAt, [1000, 2020]);
  });

  it('starts a new burst after firing', () => {
    debouncer.poke();
    advance(50);
    debouncer.poke();
    advance(49);
    assert.equal(fired, 1);
    advance(1);
    assert.equal(fired, 2);
  });

  it('forgets a scheduled firing when cancelled', () => {
    debouncer.poke();
    debouncer.cancel();
    advance(2000);
    assert.equal(fired, 0);
  });

  it('retries later without delaying a firing already due', () => {
    debouncer.pokeAfter(1000);
    advance(999);
    assert.equal(fired, 0);
    advance(1);
    assert.equal(fired, 1);
    debouncer.poke();
    debouncer.pokeAfter(1000);
    advance(50);
    assert.equal(fired, 2);
  });
});
