// Which UpdateConfig a rollout follows, and swarmkit's defaults (§4.2).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  DEFAULT_ROLLOUT_CONFIG,
  monitoringTailMs,
  resolveConfig,
  rolloutConfig,
} from '../../../src/manager/orchestrator/update/config.js';
import { makeService, SECOND_NS } from './support/fixtures.js';

describe('update config', () => {
  it('an absent config: parallelism 1, no delay, pause, monitor 5 s, ratio 0, stop-first', () => {
    assert.deepEqual(resolveConfig(undefined), {
      parallelism: 1,
      delayMs: 0,
      failureAction: 'pause',
      monitorMs: 5_000,
      maxFailureRatio: 0,
      order: 'stop-first',
    });
  });

  it('a present config with parallelism 0 (or none, which Go reads as 0) means all at once', () => {
    assert.equal(resolveConfig({ Parallelism: 0 }).parallelism, Infinity);
    assert.equal(resolveConfig({ Delay: SECOND_NS }).parallelism, Infinity);
    assert.equal(resolveConfig({ Parallelism: 3 }).parallelism, 3);
  });

  it('a present config without a monitor period monitors 5 s; durations are nanoseconds', () => {
    const config = resolveConfig({ Parallelism: 2, Delay: 1500 * 1_000_000, Order: 'start-first' });
    assert.equal(config.monitorMs, 5_000);
    assert.equal(config.delayMs, 1_500);
    assert.equal(config.order, 'start-first');
    assert.equal(resolveConfig({ Monitor: 30 * SECOND_NS }).monitorMs, 30_000);
  });

  it('UpdateConfig for an update, RollbackConfig while a rollback runs, is paused or completed', () => {
    const web = makeService('web');
    web.Spec.UpdateConfig = { Parallelism: 4 };
    web.Spec.RollbackConfig = { Parallelism: 7 };
    assert.equal(rolloutConfig(web).parallelism, 4);
    for (const state of ['updating', 'paused', 'completed'] as const) {
      assert.equal(rolloutConfig({ ...web, UpdateStatus: { State: state } }).parallelism, 4);
    }
    for (const state of ['rollback_started', 'rollback_paused', 'rollback_completed'] as const) {
      assert.equal(rolloutConfig({ ...web, UpdateStatus: { State: state } }).parallelism, 7);
    }
    delete web.Spec.RollbackConfig;
    assert.deepEqual(
      rolloutConfig({ ...web, UpdateStatus: { State: 'rollback_started' } }),
      DEFAULT_ROLLOUT_CONFIG,
    );
  });

  it('after the last slot, monitors one more period — or Delay + 1 s when the delay is not shorter', () => {
    assert.equal(monitoringTailMs(resolveConfig({ Delay: SECOND_NS })), 5_000);
    assert.equal(monitoringTailMs(resolveConfig({ Delay: 5 * SECOND_NS })), 6_000);
    assert.equal(monitoringTailMs(resolveConfig({ Delay: 20 * SECOND_NS, Monitor: 10 * SECOND_NS })), 21_000);
  });
});
