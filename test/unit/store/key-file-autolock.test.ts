// The data key file under autolock (KeyFileSealer.rewrap / load with an unlock key).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { parseUnlockKey, newUnlockKey } from '../../../src/api/unlock-key.js';
import { InvalidUnlockKeyError, KeyFileSealer, SwarmLockedError } from '../../../src/store/sealer.js';

const dir = mkdtempSync(join(tmpdir(), 'shoal-key-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the data key file under autolock', () => {
  it('wraps the data key under the unlock key, opens only with it, and unwraps again', () => {
    const path = join(dir, 'store.key');
    const sealer = KeyFileSealer.loadOrCreate(path);
    const raw = readFileSync(path);
    const sealed = sealer.seal(Buffer.from('payload'));
    const key = parseUnlockKey(newUnlockKey())!;

    sealer.rewrap(key);
    assert.ok(KeyFileSealer.isWrapped(path));
    assert.ok(!readFileSync(path).includes(raw), 'the data key is not in the file in clear');
    assert.throws(() => KeyFileSealer.load(path), SwarmLockedError);
    assert.throws(() => KeyFileSealer.load(path, parseUnlockKey(newUnlockKey())), InvalidUnlockKeyError);
    const unlocked = KeyFileSealer.load(path, key);
    assert.equal(unlocked.open(sealed).toString(), 'payload', 'the same data key');

    unlocked.rewrap(undefined);
    assert.ok(!KeyFileSealer.isWrapped(path));
    assert.deepEqual(readFileSync(path), raw);
    assert.equal(KeyFileSealer.load(path).open(sealed).toString(), 'payload');
  });
});
