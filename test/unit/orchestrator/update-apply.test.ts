// The update supervisor's writes to the real store: a status change or an automatic rollback applies
// only to the update it was decided for — a service updated (or rolled back) meanwhile is left alone.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { Service } from '../../../src/api/types.js';
import type { OrchestratorAction } from '../../../src/manager/orchestrator/actions.js';
import { applyActions } from '../../../src/manager/orchestrator/apply.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { makeService } from './support/fixtures.js';
import { closeStores, openStore } from './support/store.js';

let store: ClusterStore;

function updatingService(): Service {
  const web = makeService('web', { specVersion: 40 });
  web.Spec.TaskTemplate = { ContainerSpec: { Image: 'app:2' } };
  web.Spec.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] };
  web.Endpoint = { Spec: structuredClone(web.Spec.EndpointSpec) };
  web.PreviousSpec = { ...web.Spec, TaskTemplate: { ContainerSpec: { Image: 'app:1' } }, EndpointSpec: {} };
  web.PreviousSpecVersion = { Index: 12 };
  web.UpdateStatus = {
    State: 'updating',
    StartedAt: '2024-05-01T12:00:00.000Z',
    Message: 'update in progress',
  };
  return web;
}

beforeEach(async () => {
  store = await openStore();
  await store.update((tx) => tx.create('service', updatingService()));
});

afterEach(closeStores);

const apply = (actions: OrchestratorAction[]) => store.update((tx) => applyActions(tx, actions));
const service = () => store.view((tx) => tx.get('service', 'web')!);
const sameUpdate = { specVersion: 40, state: 'updating' as const };

describe('applying update status changes', () => {
  it('writes the status for the update it was decided for', async () => {
    const status = { State: 'paused' as const, StartedAt: 'x', Message: 'update paused …' };
    const outcome = await apply([
      { kind: 'setUpdateStatus', serviceId: 'web', expected: sameUpdate, status },
    ]);
    assert.equal(outcome.written, 1);
    assert.deepEqual(service().UpdateStatus, status);
  });

  it('skips it once the service was updated (another spec version) or its status changed', async () => {
    const status = { State: 'completed' as const, Message: 'update completed' };
    const stale = [
      { specVersion: 39, state: 'updating' as const },
      { specVersion: 40, state: undefined },
      { specVersion: 40, state: 'rollback_started' as const },
    ];
    for (const expected of stale) {
      const outcome = await apply([{ kind: 'setUpdateStatus', serviceId: 'web', expected, status }]);
      assert.deepEqual(outcome, { written: 0, skipped: 1, starts: [] });
    }
    assert.equal(service().UpdateStatus?.State, 'updating');
  });

  it('an automatic rollback restores the previous spec and its version, clears them, and keeps the endpoint in step', async () => {
    const status = { State: 'rollback_started' as const, StartedAt: 'kept', Message: 'update rolled back …' };
    await apply([{ kind: 'rollBackService', serviceId: 'web', expected: sameUpdate, status }]);
    const web = service();
    assert.equal(web.Spec.TaskTemplate?.ContainerSpec?.Image, 'app:1');
    assert.deepEqual(web.SpecVersion, { Index: 12 });
    assert.equal(web.PreviousSpec, undefined);
    assert.equal(web.PreviousSpecVersion, undefined);
    assert.deepEqual(web.UpdateStatus, status);
    assert.deepEqual(web.Endpoint?.Spec, {});
  });

  it('no automatic rollback without a previous spec, nor for an update that is over', async () => {
    const status = { State: 'rollback_started' as const, Message: 'm' };
    await apply([
      { kind: 'rollBackService', serviceId: 'web', expected: { specVersion: 40, state: 'paused' }, status },
    ]);
    assert.equal(service().Spec.TaskTemplate?.ContainerSpec?.Image, 'app:2');
    await store.update((tx) => {
      const web = structuredClone(tx.get('service', 'web')!);
      delete web.PreviousSpec;
      tx.update('service', web);
    });
    const outcome = await apply([
      { kind: 'rollBackService', serviceId: 'web', expected: sameUpdate, status },
    ]);
    assert.equal(outcome.written, 0);
    assert.equal(service().UpdateStatus?.State, 'updating');
  });

  it('rollouts to remember are neither written nor counted as skipped', async () => {
    const revision = store.revision;
    const outcome = await apply([{ kind: 'trackRollout', serviceId: 'web', rollout: undefined }]);
    assert.deepEqual(outcome, { written: 0, skipped: 0, starts: [] });
    assert.equal(store.revision, revision);
  });
});
