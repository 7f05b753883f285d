// The "is this task outdated" check (§3.1), used by the update path and the Engine API's `_up-to-date`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { TaskSpec } from '../../../src/api/types.js';
import { isSlotDirty, isTaskDirty } from '../../../src/manager/orchestrator/dirty.js';
import { makeNode, makeService, makeTask, updated } from './support/fixtures.js';

const eastNode = makeNode('n1', { labels: { zone: 'east' } });
const web = makeService('web', {
  taskTemplate: {
    ContainerSpec: { Image: 'nginx:1' },
    Placement: { Constraints: ['node.labels.zone==east'] },
  },
});

describe('isTaskDirty', () => {
  it('a task of the same spec version is clean, whatever its copy of the spec says', () => {
    const task = makeTask(web, { node: 'n1' });
    task.Spec = { ContainerSpec: { Image: 'something-else' } };
    assert.equal(isTaskDirty(web, task, eastNode), false);
  });

  it('an image change makes the task dirty', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = updated(web, (spec) => ({ ...spec, ContainerSpec: { Image: 'nginx:2' } }));
    assert.equal(isTaskDirty(newer, task, eastNode), true);
  });

  it('a different spec version with an identical spec is clean (e.g. a label-only service update)', () => {
    const task = makeTask(web, { node: 'n1' });
    assert.equal(
      isTaskDirty(
        updated(web, (spec) => spec),
        task,
        eastNode,
      ),
      false,
    );
  });

  it('a constraint-only change that the task’s node still meets is clean', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = updated(web, (spec) => ({ ...spec, Placement: { Constraints: ['node.role!=manager'] } }));
    assert.equal(isTaskDirty(newer, task, eastNode), false);
  });

  it('a constraint-only change that the node does not meet is dirty', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = updated(web, (spec) => ({
      ...spec,
      Placement: { Constraints: ['node.labels.zone==west'] },
    }));
    assert.equal(isTaskDirty(newer, task, eastNode), true);
  });

  it('a constraint-only change is dirty for a task without a node to check', () => {
    const task = makeTask(web, { state: 'pending' });
    const newer = updated(web, (spec) => ({ ...spec, Placement: { Constraints: ['node.role!=manager'] } }));
    assert.equal(isTaskDirty(newer, task, undefined), true);
  });

  it('a constraint change together with another change is dirty', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = updated(web, () => ({
      ContainerSpec: { Image: 'nginx:2' },
      Placement: { Constraints: ['node.role!=manager'] },
    }));
    assert.equal(isTaskDirty(newer, task, eastNode), true);
  });

  it('a placement preference change is dirty even if the node meets the constraints', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = updated(web, (spec) => ({
      ...spec,
      Placement: { ...spec.Placement, Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }] },
    }));
    assert.equal(isTaskDirty(newer, task, eastNode), true);
  });

  it('`--force` (ForceUpdate bumped) makes every task dirty', () => {
    const task = makeTask(web, { node: 'n1' });
    assert.equal(
      isTaskDirty(
        updated(web, (spec) => ({ ...spec, ForceUpdate: 1 })),
        task,
        eastNode,
      ),
      true,
    );
  });

  it('an endpoint spec change is dirty', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = { ...updated(web, (spec) => spec) };
    newer.Spec = { ...newer.Spec, EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] } };
    assert.equal(isTaskDirty(newer, task, eastNode), true);
  });

  it('no endpoint spec and the default VIP endpoint spec are the same', () => {
    const task = makeTask(web, { node: 'n1' });
    task.Endpoint = { Spec: { Mode: 'vip' } };
    assert.equal(
      isTaskDirty(
        updated(web, (spec) => spec),
        task,
        eastNode,
      ),
      false,
    );
  });

  it('unset and null fields compare equal to missing ones (the store drops undefined)', () => {
    const task = makeTask(web, { node: 'n1' });
    const newer = updated(web, (spec) => ({ ...spec, Resources: undefined, LogDriver: null as never }));
    assert.equal(isTaskDirty(newer, task, eastNode), false);
  });

  it('ignores a credentials-only change for a task that has its image and is meant to run', () => {
    // ContainerSpec.PullOptions holds the registry credentials of --with-registry-auth (swarmkit's rule).
    const withPull =
      (auth: string | undefined, image = 'nginx:1') =>
      (spec: TaskSpec) => ({
        ...spec,
        ContainerSpec: { Image: image, ...(auth !== undefined && { PullOptions: { RegistryAuth: auth } }) },
      });
    const base = updated(web, withPull('old'));
    const running = makeTask(base, { node: 'n1', state: 'running' });
    const ready = makeTask(base, { node: 'n1', state: 'ready' });
    const preparing = makeTask(base, { node: 'n1', state: 'preparing' });
    const pending = makeTask(base, { state: 'pending' });
    const newer = updated(base, withPull('new'));
    assert.equal(isTaskDirty(newer, running, eastNode), false);
    assert.equal(isTaskDirty(newer, ready, eastNode), false);
    // Not yet pulled: it must pull with the new credentials.
    assert.equal(isTaskDirty(newer, preparing, eastNode), true);
    assert.equal(isTaskDirty(newer, pending, undefined), true);
    // Credentials added to, or removed from, a running task's service: still clean.
    const bare = makeTask(updated(web, withPull(undefined)), { node: 'n1', state: 'running' });
    assert.equal(isTaskDirty(newer, bare, eastNode), false);
    assert.equal(isTaskDirty(updated(base, withPull(undefined)), running, eastNode), false);
    // Credentials together with a new image: dirty.
    assert.equal(isTaskDirty(updated(base, withPull('new', 'nginx:2')), running, eastNode), true);
    // A task being stopped is not "meant to run": any change counts.
    const stopping = makeTask(base, { node: 'n1', state: 'running' });
    stopping.DesiredState = 'shutdown';
    assert.equal(isTaskDirty(newer, stopping, eastNode), true);
  });
});

describe('isSlotDirty', () => {
  it('a slot holding two tasks is dirty even if both are clean', () => {
    const slot = [makeTask(web, { node: 'n1' }), makeTask(web, { node: 'n1' })];
    assert.equal(
      isSlotDirty(web, slot, () => eastNode),
      true,
    );
  });

  it('a slot with one clean task is clean', () => {
    assert.equal(
      isSlotDirty(web, [makeTask(web, { node: 'n1' })], () => eastNode),
      false,
    );
  });
});
