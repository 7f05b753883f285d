// The unlock key's text form (swarmkit's SWMKEY-1-…).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatUnlockKey, newUnlockKey, parseUnlockKey } from '../../../src/api/unlock-key.js';

describe('unlock keys', () => {
  it('are SWMKEY-1- and 43 characters of unpadded base64, and parse back to their 32 bytes', () => {
    const key = newUnlockKey();
    assert.match(key, /^SWMKEY-1-[A-Za-z0-9+/]{43}$/);
    const bytes = parseUnlockKey(key)!;
    assert.equal(bytes.length, 32);
    assert.equal(formatUnlockKey(bytes), key);
    assert.deepEqual(parseUnlockKey(`  ${key}\n`), bytes, 'surrounding whitespace (a line read from stdin)');
  });

  it('refuses anything else', () => {
    const key = newUnlockKey();
    for (const bad of [
      '',
      'SWMKEY-1-',
      key.slice(9),
      `SWMKEY-2-${key.slice(9)}`,
      `${key}=`,
      key.slice(0, -1),
      `${key}A`,
      key.replace(/.$/, '!'),
    ]) {
      assert.equal(parseUnlockKey(bad), undefined, bad);
    }
  });
});
