// The allocator's shortcut the orchestrators take: a new task with nothing to allocate goes NEW → PENDING
// at once; a task with networks, or whose service publishes ports through the ingress network, waits for the
// allocator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { PENDING_MESSAGE } from '../../../src/manager/allocator/core.js';
import { pendingWithoutNetworks } from '../../../src/manager/allocator/without-networks.js';
import { at, makeService, makeTask, ms } from '../orchestrator/support/fixtures.js';

describe('allocation shortcut (tasks without networks)', () => {
  const web = makeService('web');
  const services = (id: string) => (id === web.ID ? web : undefined);

  it('moves new tasks to PENDING with swarmkit’s message', () => {
    const task = makeTask(web, { id: 'fresh', state: 'new' });
    assert.deepEqual(pendingWithoutNetworks([task], services, ms(1)), [
      {
        kind: 'setTaskState',
        taskId: 'fresh',
        from: 'new',
        state: 'pending',
        message: PENDING_MESSAGE,
        timestamp: at(1),
      },
    ]);
  });

  it('moves tasks waiting to start (desired READY) and job tasks, not tasks already meant to stop', () => {
    const tasks = [
      makeTask(web, { id: 'waiting', state: 'new', desired: 'ready' }),
      makeTask(web, { id: 'job', state: 'new', desired: 'complete' }),
      makeTask(web, { id: 'removed', state: 'new', desired: 'remove' }),
      makeTask(web, { id: 'placed', state: 'assigned' }),
    ];
    assert.deepEqual(
      pendingWithoutNetworks(tasks, services, ms(1)).map((a) => (a.kind === 'setTaskState' ? a.taskId : '')),
      ['waiting', 'job'],
    );
  });

  it('leaves tasks with networks, or with ports published through ingress, to the allocator', () => {
    const onNet = makeTask(web, { id: 'net', state: 'new' });
    onNet.Spec = { ...onNet.Spec, Networks: [{ Target: 'n1' }] };
    const published = makeService('pub');
    published.Spec.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] };
    const viaIngress = makeTask(published, { id: 'pub', state: 'new' });
    const hostMode = makeService('host');
    hostMode.Spec.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8081, PublishMode: 'host' }] };
    const onHost = makeTask(hostMode, { id: 'host', state: 'new' });
    const lookup = (id: string) => [web, published, hostMode].find((s) => s.ID === id);
    assert.deepEqual(
      pendingWithoutNetworks([onNet, viaIngress, onHost], lookup, ms(1)).map((a) =>
        a.kind === 'setTaskState' ? a.taskId : '',
      ),
      ['host'],
    );
  });
});
