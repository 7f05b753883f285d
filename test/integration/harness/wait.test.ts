// waitFor() and eventually(): they return as soon as the condition holds, and a timeout says what was
// awaited and what was last seen.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eventually, waitFor, WaitTimeoutError } from '../../harness/wait.js';

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? `done after ${calls}` : undefined), { intervalMs: 1 });
    assert.equal(value, 'done after 3');
  });

  it('returns the first value that satisfies `until`, treating throws as not yet', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        calls++;
        if (calls === 1) throw new Error('not up yet');
        return calls;
      },
      { until: (n) => n >= 4, intervalMs: 1 },
    );
    assert.equal(value, 4);
  });

  it('names what it waited for and the last value on timeout', async () => {
    await assert.rejects(
      waitFor(() => ({ state: 'down' }), {
        until: (node) => node.state === 'ready',
        timeoutMs: 60,
        intervalMs: 10,
        description: 'worker1 to be ready',
      }),
      (err: unknown) => {
        assert.ok(err instanceof WaitTimeoutError);
        assert.match(err.message, /timed out after \d+ ms \(\d+ attempts\) waiting for worker1 to be ready/);
        assert.match(err.message, /last value: \{ state: 'down' \}/);
        assert.deepEqual(err.lastValue, { state: 'down' });
        return true;
      },
    );
  });

  it('reports the last error when every attempt threw', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { timeoutMs: 30, intervalMs: 10 },
      ),
      /waiting for a condition; last attempt threw: connection refused/,
    );
  });
});

describe('eventually', () => {
  it('retries an assertion until it passes and returns its value', async () => {
    let calls = 0;
    const value = await eventually(
      () => {
        calls++;
        assert.equal(calls, 3);
        return 'ok';
      },
      { intervalMs: 1 },
    );
    assert.deepEqual([value, calls], ['ok', 3]);
  });

  it('passes even when the assertion returns nothing', async () => {
    await eventually(() => assert.ok(true));
  });

  it('rethrows the last assertion error, saying how long it tried', async () => {
    await assert.rejects(
      eventually(() => assert.deepEqual({ nodes: 3 }, { nodes: 4 }), {
        timeoutMs: 40,
        intervalMs: 10,
        description: 'four nodes',
      }),
      (err: unknown) => {
        assert.ok(err instanceof assert.AssertionError);
        assert.match(
          err.message,
          /^eventually \(four nodes\): still failing after \d+ ms \(\d+ attempts\): /,
        );
        assert.match(err.message, /nodes: 4/);
        return true;
      },
    );
  });
});
