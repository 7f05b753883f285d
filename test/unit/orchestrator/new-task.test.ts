// New-task construction (§3.1).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isFullId } from '../../../src/api/ids.js';
import { newTask } from '../../../src/manager/orchestrator/new-task.js';
import { at, makeCluster, makeService, ms } from './support/fixtures.js';

describe('newTask', () => {
  const web = makeService('web', {
    specVersion: 7,
    taskTemplate: { ContainerSpec: { Image: 'nginx:1', Env: ['A=1'] } },
  });
  web.Spec.Labels = { team: 'blue' };
  web.Spec.EndpointSpec = { Mode: 'dnsrr' };

  it('copies what the task needs from the service, status NEW "created"', () => {
    const task = newTask(web, undefined, { slot: 3, desiredState: 'running' }, ms(2));
    assert.ok(isFullId(task.ID));
    assert.equal(task.ServiceID, 'web');
    assert.deepEqual(task.ServiceAnnotations, { Name: 'web', Labels: { team: 'blue' } });
    assert.deepEqual(task.Spec, web.Spec.TaskTemplate);
    assert.deepEqual(task.SpecVersion, { Index: 7 });
    assert.equal(task.Slot, 3);
    assert.equal(task.NodeID, undefined);
    assert.deepEqual(task.Status, { Timestamp: at(2), State: 'new', Message: 'created' });
    assert.equal(task.DesiredState, 'running');
    assert.deepEqual(task.Endpoint, { Spec: { Mode: 'dnsrr' } });
    assert.equal(task.JobIteration, undefined);
  });

  it('owns its copy of the spec', () => {
    const task = newTask(web, undefined, { slot: 1, desiredState: 'running' }, ms(0));
    task.Spec.ContainerSpec!.Env!.push('B=2');
    assert.deepEqual(web.Spec.TaskTemplate?.ContainerSpec?.Env, ['A=1']);
  });

  it('presets the node for global tasks and the iteration for job tasks', () => {
    const task = newTask(
      web,
      undefined,
      { slot: 0, nodeId: 'n1', desiredState: 'complete', jobIteration: 4 },
      ms(0),
    );
    assert.equal(task.NodeID, 'n1');
    assert.deepEqual(task.JobIteration, { Index: 4 });
  });

  it('takes the service’s log driver, else the cluster default', () => {
    const cluster = makeCluster();
    cluster.Spec.TaskDefaults = { LogDriver: { Name: 'journald' } };
    assert.deepEqual(newTask(web, cluster, { slot: 1, desiredState: 'running' }, 0).LogDriver, {
      Name: 'journald',
    });
    const own = { ...web, Spec: { ...web.Spec, TaskTemplate: { LogDriver: { Name: 'none' } } } };
    assert.deepEqual(newTask(own, cluster, { slot: 1, desiredState: 'running' }, 0).LogDriver, {
      Name: 'none',
    });
    assert.equal(newTask(web, undefined, { slot: 1, desiredState: 'running' }, 0).LogDriver, undefined);
  });
});
