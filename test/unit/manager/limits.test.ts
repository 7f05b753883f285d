// Task limits and spec sizes: what the control API refuses and what the orchestrator will not act on.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Cluster, ServiceSpec } from '../../../src/api/types.js';
import {
  checkServiceTaskCounts,
  checkSpecSize,
  DEFAULT_TASK_LIMITS,
  MAX_SPEC_BYTES,
  requestedTasks,
  serviceOverLimits,
  taskLimits,
  validateLimitLabels,
} from '../../../src/manager/limits.js';

const spec = (mode: ServiceSpec['Mode'], extra: Partial<ServiceSpec> = {}): ServiceSpec => ({
  Name: 'web',
  TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
  Mode: mode,
  ...extra,
});
const clusterWith = (labels: Record<string, string>) => ({ Spec: { Labels: labels } }) as unknown as Cluster;
const check = (s: ServiceSpec, others = 0, limits = DEFAULT_TASK_LIMITS) =>
  checkServiceTaskCounts({ spec: s, limits, nodeCount: 3, otherServicesTasks: others });

describe('task limits', () => {
  it('counts what a spec asks for, by mode', () => {
    assert.equal(requestedTasks(spec({ Replicated: { Replicas: 7 } }), 3), 7);
    assert.equal(requestedTasks(spec({ Global: {} }), 3), 3);
    assert.equal(requestedTasks(spec({ GlobalJob: {} }), 4), 4);
    assert.equal(requestedTasks(spec({ ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 50 } }), 3), 50);
    assert.equal(requestedTasks(spec(undefined), 3), 1);
  });

  it('refuses a billion replicas, naming the limit and the label that sets it', () => {
    assert.throws(
      () => check(spec({ Replicated: { Replicas: 1_000_000_000 } })),
      (err: Error) =>
        err.message ===
        'replicas 1000000000 is above the limit of 100000 tasks per service (swarm label shoal.max-tasks-per-service)',
    );
    assert.throws(
      () => check(spec({ ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: Number.MAX_SAFE_INTEGER } })),
      /total-completions 9007199254740991 is above the limit of 100000 tasks per service/,
    );
    assert.doesNotThrow(() => check(spec({ Replicated: { Replicas: 100_000 } })));
  });

  it('refuses what the swarm as a whole cannot hold', () => {
    assert.throws(
      () => check(spec({ Replicated: { Replicas: 60_000 } }), 200_000),
      /the swarm would run 260000 tasks, above its limit of 250000 \(swarm label shoal\.max-tasks\)/,
    );
  });

  it('refuses a spec whose tasks would hold too much memory', () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) labels[`label${i}`] = 'x'.repeat(100);
    const big = spec({ Replicated: { Replicas: 5000 } }, { Labels: labels });
    assert.throws(() => check(big), /MiB, above the limit of 256 MiB per service/);
  });

  it('limits are swarm labels, validated when the swarm spec is written', () => {
    const limits = taskLimits(clusterWith({ 'shoal.max-tasks-per-service': '10', 'shoal.max-tasks': '20' }));
    assert.deepEqual(limits, { perService: 10, total: 20 });
    assert.deepEqual(taskLimits(undefined), DEFAULT_TASK_LIMITS);
    for (const bad of ['0', '-1', 'ten', '1e3', '100000001', '']) {
      assert.throws(
        () => validateLimitLabels({ Labels: { 'shoal.max-tasks': bad } }),
        /invalid swarm label shoal\.max-tasks=.*must be a whole number from 1 to 100000000/,
      );
    }
    // Prototype names are plain keys, not limits.
    assert.deepEqual(
      taskLimits(clusterWith(JSON.parse('{"__proto__":"5","toString":"5"}'))),
      DEFAULT_TASK_LIMITS,
    );
  });

  it('the orchestrator refuses a stored service above the per-service limit', () => {
    assert.match(
      serviceOverLimits(spec({ Replicated: { Replicas: 1e9 } }), DEFAULT_TASK_LIMITS, 1) ?? '',
      /replicas 1000000000 is above the limit/,
    );
    assert.equal(serviceOverLimits(spec({ Replicated: { Replicas: 3 } }), DEFAULT_TASK_LIMITS, 1), undefined);
  });

  it('bounds spec sizes as Docker bounds its messages (4 MiB)', () => {
    const labels: Record<string, string> = {};
    for (let i = 0; i < 50_000; i++) labels[`l${i}`] = 'v'.repeat(80);
    assert.throws(
      () => checkSpecSize(spec({}, { Labels: labels })),
      new RegExp(`service spec is \\d+ bytes, above the limit of ${MAX_SPEC_BYTES} bytes \\(4 MiB\\)`),
    );
    assert.throws(() => checkSpecSize({ Labels: labels }, 'node'), /^.*node spec is \d+ bytes/);
    assert.doesNotThrow(() => checkSpecSize(spec({ Replicated: { Replicas: 1 } })));
  });
});
