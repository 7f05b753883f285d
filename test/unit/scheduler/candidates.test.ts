// Which tasks the scheduler decides about (semantics §5.1, §5.6).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GiB, node, schedule, service, task } from './fixtures.js';

describe('tasks to schedule', () => {
  it('are the pending ones without a node', () => {
    const decisions = schedule({
      nodes: [node('n1')],
      tasks: [
        task('pending'),
        task('new', { state: 'new' }),
        task('assigned', { state: 'assigned', node: 'n1' }),
        task('running', { state: 'running', node: 'n1' }),
        task('failed', { state: 'failed' }),
      ],
    });
    assert.deepEqual(
      decisions.map((d) => d.taskId),
      ['pending'],
    );
  });

  it('include job tasks, desired COMPLETE, and replacements desired READY', () => {
    const decisions = schedule({
      nodes: [node('n1')],
      tasks: [task('job', { desired: 'complete' }), task('replacement', { desired: 'ready' })],
    });
    assert.deepEqual(
      decisions.map((d) => [d.taskId, d.kind]),
      [
        ['job', 'assign'],
        ['replacement', 'assign'],
      ],
    );
  });

  it('retire pending tasks nobody wants any more, whatever their revision', () => {
    // An automatic rollback leaves pending tasks of a *newer* revision behind; they must not linger.
    const decisions = schedule({
      nodes: [node('n1')],
      services: [service('svc', 1)],
      tasks: [
        task('scaled-down', { desired: 'remove' }),
        task('stopped', { version: 2, desired: 'shutdown' }),
      ],
    });
    assert.deepEqual(decisions, [
      { kind: 'shutdown', taskId: 'scaled-down' },
      { kind: 'shutdown', taskId: 'stopped' },
    ]);
  });
});

describe('a pending task of an older service revision, desired to stop', () => {
  it('is moved to SHUTDOWN rather than placed or left pending', () => {
    const decisions = schedule({
      nodes: [node('n1')],
      services: [service('svc', 2)],
      tasks: [task('old', { version: 1, desired: 'shutdown' }), task('new', { version: 2 })],
    });
    assert.deepEqual(decisions, [
      { kind: 'shutdown', taskId: 'old' },
      { kind: 'assign', taskId: 'new', nodeId: 'n1', message: 'scheduler assigned task to node' },
    ]);
  });

  it('is placed as usual while it is still wanted', () => {
    const decisions = schedule({
      nodes: [node('n1')],
      services: [service('svc', 2)],
      tasks: [task('old', { version: 1 })],
    });
    assert.deepEqual(
      decisions.map((d) => d.kind),
      ['assign'],
    );
  });
});

describe('tasks that stay pending', () => {
  it('get the explanation every pass: the loop decides whether it changed', () => {
    const decisions = schedule({
      nodes: [node('n1', { memoryBytes: 1 * GiB })],
      tasks: [
        task('t1', { memoryBytes: 2 * GiB, err: 'no suitable node (insufficient resources on 1 node)' }),
      ],
    });
    assert.deepEqual(decisions, [
      { kind: 'unschedulable', taskId: 't1', error: 'no suitable node (insufficient resources on 1 node)' },
    ]);
  });

  it('older ones first, when there is room for only some', () => {
    const decisions = schedule({
      nodes: [node('n1', { memoryBytes: 1 * GiB })],
      tasks: [
        task('young', { service: 'b', memoryBytes: 1 * GiB, createdAt: '2024-01-01T00:00:02Z' }),
        task('old', { service: 'a', memoryBytes: 1 * GiB, createdAt: '2024-01-01T00:00:01Z' }),
      ],
    });
    assert.deepEqual(
      decisions.map((d) => [d.taskId, d.kind]),
      [
        ['old', 'assign'],
        ['young', 'unschedulable'],
      ],
    );
  });
});
