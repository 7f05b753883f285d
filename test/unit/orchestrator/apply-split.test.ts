// Applying a big plan in pieces: bounded transactions, service-level writes and memory notes last.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { OrchestratorAction } from '../../../src/manager/orchestrator/actions.js';
import { splitForApply } from '../../../src/manager/orchestrator/apply.js';

const desired = (id: string): OrchestratorAction => ({
  kind: 'setDesiredState',
  taskId: id,
  state: 'shutdown',
});
const status = (id: string): OrchestratorAction => ({
  kind: 'setUpdateStatus',
  serviceId: id,
  expected: { specVersion: 1, state: undefined },
  status: { State: 'updating' },
});
const start = (id: string): OrchestratorAction => ({
  kind: 'scheduleStart',
  start: { taskId: id, serviceId: 's', notBefore: 0, waitForStopOf: [], stopDeadline: 0 },
});

describe('splitForApply', () => {
  it('cuts task writes into transactions of at most `max`, keeping their order', () => {
    const actions = Array.from({ length: 25 }, (_, i) => desired(`t${i}`));
    const chunks = splitForApply(actions, 10);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [10, 10, 5],
    );
    assert.deepEqual(chunks.flat(), actions);
  });

  it('puts service-level writes and the loop’s notes in the last transaction', () => {
    const actions = [status('web'), desired('a'), start('a'), desired('b'), desired('c')];
    const chunks = splitForApply(actions, 2);
    assert.deepEqual(chunks, [[desired('a'), desired('b')], [desired('c')], [status('web'), start('a')]]);
  });

  it('an empty plan is one empty transaction (nothing to write)', () => {
    assert.deepEqual(splitForApply([], 10), [[]]);
  });
});
