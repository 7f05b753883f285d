import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { Agent } from '../../../src/agent/agent.js';
import { nextBackoff } from '../../../src/agent/backoff.js';
import type { DispatcherClient, SessionMessage } from '../../../src/api/dispatcher.js';
import { unavailable } from '../../../src/api/errors.js';
import { FakeClock, settle } from '../dispatcher/helpers.js';
import { FakeExecutor } from './fake-executor.js';
import { removeStateDirs, stateDir } from './setup.js';

/** A client whose manager is unreachable: every session ends at once. */
class UnreachableManager implements DispatcherClient {
  readonly attempts: number[] = [];
  constructor(private readonly clock: FakeClock) {}
  session(_r: unknown, _m: (message: SessionMessage) => void, onEnd: (err?: Error) => void) {
    this.attempts.push(this.clock.now());
    queueMicrotask(() => onEnd(unavailable('connection refused')));
    return { close() {} };
  }
  heartbeat(): never {
    throw new Error('unused');
  }
  updateTaskStatus(): never {
    throw new Error('unused');
  }
  assignments(): never {
    throw new Error('unused');
  }
  logSubscriptions(): never {
    throw new Error('unused');
  }
  publishLogs(): never {
    throw new Error('unused');
  }
}

describe('agent reconnect backoff', () => {
  after(removeStateDirs);

  it('grows as 100 ms + 2 × previous, capped at 8 s', () => {
    const bounds: number[] = [];
    for (let b = 0, i = 0; i < 8; i++) bounds.push((b = nextBackoff(b)));
    assert.deepEqual(bounds, [100, 300, 700, 1500, 3100, 6300, 8000, 8000]);
  });

  it('waits a random time below the bound between attempts', async () => {
    const clock = new FakeClock();
    const client = new UnreachableManager(clock);
    const agent = new Agent({
      client,
      executor: new FakeExecutor(),
      stateDir: stateDir(),
      clock,
      random: () => 0.5,
    });
    await agent.start();
    await clock.advance(30_000);
    const gaps = client.attempts.slice(1).map((t, i) => t - client.attempts[i]!);
    assert.deepEqual(gaps.slice(0, 8), [50, 150, 350, 750, 1550, 3150, 4000, 4000]);
    await agent.stop();
    await settle();
    const before = client.attempts.length;
    await clock.advance(30_000);
    assert.equal(client.attempts.length, before, 'no attempts after stop');
  });
});
