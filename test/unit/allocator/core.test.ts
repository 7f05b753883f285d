// The allocator's pure core: a task's addresses (one per network, with its aliases), the move to PENDING,
// waiting for a network's allocation, Docker's error when a network has no address left, the ingress
// network for ports published through it; a node's own addresses on its tasks' networks and on ingress.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node, Task } from '../../../src/api/types.js';
import {
  AddressBook,
  nodeHolder,
  serviceHolder,
  taskHolder,
} from '../../../src/manager/allocator/address-book.js';
import { planNode, planService, planTask, PENDING_MESSAGE } from '../../../src/manager/allocator/core.js';
import { makeNode, makeService, makeTask } from '../orchestrator/support/fixtures.js';
import { allocated, network, viewOf, withSubnet } from './support.js';

const NOW = '2026-01-01T00:00:00.123456789Z';

describe('allocating a task', () => {
  it('one address per network, aliases and driver options kept, then PENDING', () => {
    const [app, db] = allocated(network({ Name: 'app' }), network({ Name: 'db' }));
    const service = makeService('web', {
      taskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        Networks: [
          { Target: app!.ID, Aliases: ['www'] },
          { Target: db!.ID, DriverOpts: { k: 'v' } },
        ],
      },
    });
    const task = makeTask(service, { id: 'a', state: 'new' });
    const book = AddressBook.build([app!, db!], [], []);
    const action = planTask(viewOf({ networks: [app!, db!], services: [service] }), book, task, NOW);
    assert.deepEqual(action, {
      kind: 'allocateTask',
      taskId: 'a',
      timestamp: NOW,
      attachments: [
        { Network: app, Addresses: ['10.0.0.2/24'], Aliases: ['www'] },
        { Network: db, Addresses: ['10.0.1.2/24'], DriverAttachmentOpts: { k: 'v' } },
      ],
      reserved: [
        [app!.ID, '10.0.0.2/24', taskHolder('a')],
        [db!.ID, '10.0.1.2/24', taskHolder('a')],
      ],
    });
    assert.equal(PENDING_MESSAGE, 'pending task scheduling');
    // Taken in the book: the next task gets the next address.
    const next = planTask(
      viewOf({ networks: [app!, db!], services: [service] }),
      book,
      makeTask(service, { id: 'b', state: 'new' }),
      NOW,
    );
    assert.equal(next?.kind === 'allocateTask' ? next.attachments[0]?.Addresses?.[0] : '', '10.0.0.3/24');
  });

  it('a task without networks goes PENDING with no attachment; a task not NEW, or meant to stop, is left', () => {
    const service = makeService('plain');
    const book = new AddressBook();
    const view = viewOf({ services: [service] });
    const action = planTask(view, book, makeTask(service, { id: 'p', state: 'new' }), NOW);
    assert.deepEqual(action, {
      kind: 'allocateTask',
      taskId: 'p',
      attachments: [],
      timestamp: NOW,
      reserved: [],
    });
    assert.equal(planTask(view, book, makeTask(service, { state: 'pending' }), NOW), undefined);
    assert.equal(
      planTask(view, book, makeTask(service, { state: 'new', desired: 'shutdown' }), NOW),
      undefined,
    );
  });

  it('waits while a network is not allocated; a network gone is an error', () => {
    const pendingNet = network({ Name: 'later' });
    const service = makeService('web', {
      taskTemplate: { ContainerSpec: { Image: 'x' }, Networks: [{ Target: pendingNet.ID }] },
    });
    const task = makeTask(service, { id: 'w', state: 'new' });
    assert.equal(
      planTask(viewOf({ networks: [pendingNet], services: [service] }), new AddressBook(), task, NOW),
      undefined,
    );
    assert.deepEqual(planTask(viewOf({ services: [service] }), new AddressBook(), task, NOW), {
      kind: 'failTaskAllocation',
      taskId: 'w',
      err: `network ${pendingNet.ID} not found`,
      reserved: [],
    });
  });

  it('no address left: swarmkit’s error, nothing kept of what the other networks gave', () => {
    const [big, tiny] = allocated(network(), network(withSubnet('10.9.0.0/30')));
    const service = makeService('web', {
      taskTemplate: { ContainerSpec: { Image: 'x' }, Networks: [{ Target: big!.ID }, { Target: tiny!.ID }] },
    });
    const book = AddressBook.build([big!, tiny!], [], []);
    const view = viewOf({ networks: [big!, tiny!], services: [service] });
    // A /30 has one address besides its gateway.
    assert.equal(
      planTask(view, book, makeTask(service, { id: 'first', state: 'new' }), NOW)?.kind,
      'allocateTask',
    );
    const second = planTask(view, book, makeTask(service, { id: 'second', state: 'new' }), NOW);
    assert.deepEqual(second, {
      kind: 'failTaskAllocation',
      taskId: 'second',
      err: `failed to allocate network IP for task second network ${tiny!.ID}: could not find an available IP`,
      reserved: [],
    });
    assert.deepEqual(book.holdersOf(big!.ID, '10.0.0.3/24'), []);
  });

  it('a service publishing ports through the routing mesh gets the ingress network first', () => {
    const [ingress, app] = allocated(network({ Name: 'ingress', Ingress: true }), network({ Name: 'app' }));
    const service = makeService('pub', {
      taskTemplate: { ContainerSpec: { Image: 'x' }, Networks: [{ Target: app!.ID }] },
    });
    service.Spec.EndpointSpec = { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] };
    const action = planTask(
      viewOf({ networks: [ingress!, app!], services: [service] }),
      AddressBook.build([ingress!, app!], [], []),
      makeTask(service, { id: 'i', state: 'new' }),
      NOW,
    );
    assert.deepEqual(
      action?.kind === 'allocateTask'
        ? action.attachments.map((a) => [a.Network.Spec.Name, a.Addresses])
        : [],
      [
        ['ingress', ['10.0.0.2/24']],
        ['app', ['10.0.1.2/24']],
      ],
    );
  });
});

describe('a node’s own addresses', () => {
  const withTask = (
    node: string,
    attachments: Task['NetworksAttachments'],
    state: Task['Status']['State'] = 'running',
  ): Task => {
    const task = makeTask(makeService('web'), { node, state });
    task.NetworksAttachments = attachments;
    return task;
  };

  it('one on ingress for every node, one on each network of its tasks not done yet', () => {
    const [ingress, app, db] = allocated(network({ Name: 'ingress', Ingress: true }), network(), network());
    const n1 = makeNode('n1');
    const tasks = [
      withTask('n1', [{ Network: app!, Addresses: ['10.0.1.2/24'] }]),
      withTask('n1', [{ Network: db!, Addresses: ['10.0.2.2/24'] }], 'complete'),
    ];
    const book = AddressBook.build([ingress!, app!, db!], tasks, []);
    const action = planNode(viewOf({ networks: [ingress!, app!, db!], nodes: [n1], tasks }), book, 'n1');
    assert.deepEqual(action, {
      kind: 'setNodeAttachments',
      nodeId: 'n1',
      attachments: [
        { Network: ingress, Addresses: ['10.0.0.2/24'] },
        { Network: app, Addresses: ['10.0.1.3/24'] },
      ],
      reserved: [
        [ingress!.ID, '10.0.0.2/24', nodeHolder('n1')],
        [app!.ID, '10.0.1.3/24', nodeHolder('n1')],
      ],
    });
  });

  it('nothing to do when they are right; an attachment whose network its tasks left is dropped', () => {
    const [app, db] = allocated(network(), network());
    const n1: Node = {
      ...makeNode('n1'),
      Attachments: [
        { Network: app!, Addresses: ['10.0.0.9/24'] },
        { Network: db!, Addresses: ['10.0.1.9/24'] },
      ],
    };
    const tasks = [withTask('n1', [{ Network: app!, Addresses: ['10.0.0.2/24'] }])];
    const book = AddressBook.build([app!, db!], tasks, [n1]);
    const action = planNode(viewOf({ networks: [app!, db!], nodes: [n1], tasks }), book, 'n1');
    assert.deepEqual(action?.kind === 'setNodeAttachments' ? action.attachments : undefined, [
      { Network: app, Addresses: ['10.0.0.9/24'] },
    ]);
    const settled: Node = { ...n1, Attachments: [{ Network: app!, Addresses: ['10.0.0.9/24'] }] };
    assert.equal(planNode(viewOf({ networks: [app!, db!], nodes: [settled], tasks }), book, 'n1'), undefined);
  });

  it('no address left on a network: the node goes without it for now, and says which', () => {
    const [tiny] = allocated(network(withSubnet('10.9.0.0/30')));
    const tasks = [withTask('n1', [{ Network: tiny!, Addresses: ['10.9.0.2/30'] }])];
    const book = AddressBook.build([tiny!], tasks, []);
    const missing: string[] = [];
    assert.equal(
      planNode(viewOf({ networks: [tiny!], nodes: [makeNode('n1')], tasks }), book, 'n1', missing),
      undefined,
    );
    assert.deepEqual(missing, [tiny!.ID]);
  });
});

describe('a service’s virtual IPs', () => {
  it('one per network in vip mode (ingress too when it publishes there), kept, none in dnsrr mode', () => {
    const [ingress, app, db] = allocated(
      network({ Name: 'ingress', Ingress: true }, 'ingress-id'),
      network({ Name: 'app' }),
      network({ Name: 'db' }),
    );
    const service = makeService('web', {
      taskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: app!.ID }] },
    });
    const book = AddressBook.build([ingress!, app!, db!], [], []);
    const view = viewOf({ networks: [ingress!, app!, db!], services: [service] });
    const action = planService(view, book, service);
    assert.deepEqual(action, {
      kind: 'setServiceVirtualIPs',
      serviceId: 'web',
      virtualIPs: [{ NetworkID: app!.ID, Addr: '10.0.1.2/24' }],
      reserved: [[app!.ID, '10.0.1.2/24', serviceHolder('web')]],
    });
    // Written: nothing more to do; a task then gets the next address.
    const written = {
      ...service,
      Endpoint: { Spec: {}, VirtualIPs: [{ NetworkID: app!.ID, Addr: '10.0.1.2/24' }] },
    };
    assert.equal(planService(view, book, written), undefined);
    // Moved to db and publishing in ingress mode: the app VIP goes, db and ingress come.
    const moved = {
      ...written,
      Spec: {
        ...written.Spec,
        TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: db!.ID }] },
        EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
      },
    };
    const next = planService(view, book, moved);
    assert.deepEqual(next?.kind === 'setServiceVirtualIPs' ? next.virtualIPs : undefined, [
      { NetworkID: 'ingress-id', Addr: '10.0.0.2/24' },
      { NetworkID: db!.ID, Addr: '10.0.2.2/24' },
    ]);
    // dnsrr: none at all.
    const rr = { ...written, Spec: { ...written.Spec, EndpointSpec: { Mode: 'dnsrr' as const } } };
    assert.deepEqual(planService(view, book, rr), {
      kind: 'setServiceVirtualIPs',
      serviceId: 'web',
      virtualIPs: [],
      reserved: [],
    });
  });

  it('the book holds a service’s VIPs and lets them go when it is deleted', () => {
    const [app] = allocated(network({ Name: 'app' }));
    const service = {
      ...makeService('web'),
      Endpoint: { Spec: {}, VirtualIPs: [{ NetworkID: app!.ID, Addr: '10.0.0.2/24' }] },
    };
    const book = AddressBook.build([app!], [], [], [service]);
    assert.deepEqual(book.holdersOf(app!.ID, '10.0.0.2/24'), [serviceHolder('web')]);
    assert.equal(book.applyEvent({ kind: 'service', action: 'delete', object: service } as never), true);
    assert.deepEqual(book.holdersOf(app!.ID, '10.0.0.2/24'), []);
  });
});
