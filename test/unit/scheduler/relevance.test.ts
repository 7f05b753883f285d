// Which store changes wake the scheduler. Everything else — task progress on a node, the scheduler's
// own writes, services, networks — must not, or a busy cluster would keep it spinning.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Node, Task } from '../../../src/api/types.js';
import { failureFrom, wakesScheduler } from '../../../src/manager/scheduler/relevance.js';
import type { ObjectEvent } from '../../../src/store/objects.js';
import { node, service, task } from './fixtures.js';

const created = (t: Task): ObjectEvent => ({ action: 'create', kind: 'task', object: t });
const deleted = (t: Task): ObjectEvent => ({ action: 'delete', kind: 'task', object: t });
const updated = (old: Task, object: Task): ObjectEvent => ({ action: 'update', kind: 'task', object, old });
const nodeUpdated = (old: Node, object: Node): ObjectEvent => ({
  action: 'update',
  kind: 'node',
  object,
  old,
});

const onNode = task('r1', { state: 'running', node: 'n1' });
const withState = (t: Task, State: Task['Status']['State']): Task => ({
  ...t,
  Status: { ...t.Status, State },
});

describe('events that wake the scheduler', () => {
  it('a new pending task, or a task becoming pending', () => {
    assert.equal(wakesScheduler(created(task('t1'))), true);
    assert.equal(wakesScheduler(updated(task('t1', { state: 'new' }), task('t1'))), true);
  });

  it('a pending task whose desired state, node or revision changed', () => {
    assert.equal(wakesScheduler(updated(task('t1'), task('t1', { desired: 'shutdown' }))), true);
    assert.equal(wakesScheduler(updated(task('t1'), task('t1', { node: 'n1' }))), true);
    assert.equal(wakesScheduler(updated(task('t1'), task('t1', { version: 2 }))), true);
  });

  it('a task on a node that stops, is desired to stop, or is deleted: its room is freed', () => {
    assert.equal(wakesScheduler(updated(onNode, withState(onNode, 'failed'))), true);
    assert.equal(wakesScheduler(updated(onNode, { ...onNode, DesiredState: 'shutdown' })), true);
    assert.equal(wakesScheduler(deleted(onNode)), true);
  });

  it('a node that joins, leaves, or changes state, availability, labels or resources', () => {
    const n1 = node('n1');
    assert.equal(wakesScheduler({ action: 'create', kind: 'node', object: n1 }), true);
    assert.equal(wakesScheduler({ action: 'delete', kind: 'node', object: n1 }), true);
    assert.equal(wakesScheduler(nodeUpdated(n1, node('n1', { state: 'down' }))), true);
    assert.equal(wakesScheduler(nodeUpdated(n1, node('n1', { availability: 'pause' }))), true);
    assert.equal(wakesScheduler(nodeUpdated(n1, node('n1', { labels: { rack: 'a' } }))), true);
    assert.equal(wakesScheduler(nodeUpdated(n1, node('n1', { memoryBytes: 1 }))), true);
  });
});

describe('events that do not', () => {
  it('a task progressing on its node', () => {
    assert.equal(wakesScheduler(updated(withState(onNode, 'assigned'), withState(onNode, 'running'))), false);
  });

  it("the scheduler's own writes: an assignment, an explanation", () => {
    assert.equal(wakesScheduler(updated(task('t1'), task('t1', { state: 'assigned', node: 'n1' }))), false);
    assert.equal(wakesScheduler(updated(task('t1'), task('t1', { err: 'no suitable node' }))), false);
  });

  it('a node update that changes nothing the scheduler reads', () => {
    const n1 = node('n1');
    assert.equal(
      wakesScheduler(nodeUpdated(n1, { ...node('n1', { version: 7 }), Spec: { ...n1.Spec, Name: 'x' } })),
      false,
    );
  });

  it('a finished task going away, and objects of other kinds', () => {
    assert.equal(wakesScheduler(deleted(withState(onNode, 'shutdown'))), false);
    assert.equal(wakesScheduler({ action: 'create', kind: 'service', object: service('s', 1) }), false);
  });
});

describe('failures recorded for the scoring rule', () => {
  it('a task ending FAILED or REJECTED on a node', () => {
    assert.deepEqual(failureFrom(updated(onNode, withState(onNode, 'failed')), 42), {
      nodeId: 'n1',
      serviceId: 'svc',
      specVersion: 1,
      at: 42,
    });
    assert.ok(failureFrom(updated(withState(onNode, 'preparing'), withState(onNode, 'rejected')), 42));
  });

  it('not a clean stop, nor a failed task updated again', () => {
    assert.equal(failureFrom(updated(onNode, withState(onNode, 'complete')), 42), undefined);
    assert.equal(
      failureFrom(updated(withState(onNode, 'failed'), withState(onNode, 'failed')), 42),
      undefined,
    );
  });
});
