import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeMessage, MessageDecoder } from '../../../src/agent/executor/process/protocol.js';
import { exitCodeOf, parseSignal } from '../../../src/agent/executor/process/signals.js';
import { recoveredTask } from '../../../src/agent/executor/process/executor.js';
import { containerIdFor, isValidTaskId } from '../../../src/agent/executor/process/paths.js';

describe('runner protocol framing', () => {
  it('decodes messages split anywhere, including inside a multi-byte character', () => {
    const wire = Buffer.from(
      encodeMessage({ id: 1, op: 'inspect', params: { taskId: 'é' } }) +
        encodeMessage({ id: 2, ok: true, result: null }),
    );
    const decoder = new MessageDecoder();
    const messages: unknown[] = [];
    for (let i = 0; i < wire.length; i += 3) messages.push(...decoder.push(wire.subarray(i, i + 3)));
    assert.deepEqual(messages, [
      { id: 1, op: 'inspect', params: { taskId: 'é' } },
      { id: 2, ok: true, result: null },
    ]);
  });
});

describe('signals', () => {
  it('accepts Docker’s spellings', () => {
    assert.equal(parseSignal('SIGTERM'), 'SIGTERM');
    assert.equal(parseSignal('term'), 'SIGTERM');
    assert.equal(parseSignal('9'), 'SIGKILL');
    assert.throws(() => parseSignal('SIGNOPE'), { message: 'Invalid signal: SIGNOPE' });
  });

  it('reports a signal death as 128 + the signal number', () => {
    assert.equal(exitCodeOf(3, null), 3);
    assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
    assert.equal(exitCodeOf(null, 'SIGTERM'), 143);
  });
});

describe('task identity', () => {
  it('gives each task a stable 64-hex container ID', () => {
    assert.match(containerIdFor('abc'), /^[0-9a-f]{64}$/);
    assert.equal(containerIdFor('abc'), containerIdFor('abc'));
    assert.notEqual(containerIdFor('abc'), containerIdFor('abd'));
  });

  it('accepts only task IDs that are safe as path components', () => {
    assert.ok(isValidTaskId('x7f3k2m9q1w8e4r6t5y0u2i3o'));
    for (const bad of ['', '..', 'a/b', '.hidden', 'a b']) assert.equal(isValidTaskId(bad), false, bad);
  });
});

describe('recoveredTask', () => {
  const id = containerIdFor('t1');
  it('reports a running task for re-adoption', () => {
    assert.deepEqual(recoveredTask({ taskId: 't1', pid: 9, startedAt: 's', state: 'running' }), {
      taskId: 't1',
      running: true,
      status: { State: 'running', ContainerStatus: { ContainerID: id, PID: 9 } },
    });
  });

  it('reports how an exited task ended', () => {
    const base = { taskId: 't1', pid: 9, startedAt: 's', state: 'exited' } as const;
    assert.deepEqual(recoveredTask({ ...base, exitCode: 0 }).status, {
      State: 'complete',
      ContainerStatus: { ContainerID: id, ExitCode: 0 },
    });
    assert.deepEqual(
      recoveredTask({ ...base, exitCode: 137, error: 'task runner stopped unexpectedly' }).status,
      {
        State: 'failed',
        Err: 'task: non-zero exit (137): task runner stopped unexpectedly',
        ContainerStatus: { ContainerID: id, ExitCode: 137 },
      },
    );
  });
});
