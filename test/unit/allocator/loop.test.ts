// The allocator's loop over a real store: new tasks get their addresses and move to PENDING, nodes get
// theirs on the networks of their tasks and on ingress, addresses come back when tasks end, a task that
// found none waits and says why until one is freed, a removed network leaves nothing on the nodes — and a
// restarted allocator rebuilds exactly the same book from the store.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import type { Network, Service, Task, TaskState } from '../../../src/api/types.js';
import { taskHolder } from '../../../src/manager/allocator/address-book.js';
import { Allocator } from '../../../src/manager/allocator/allocator.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { makeCluster, makeNode, makeService, makeTask } from '../orchestrator/support/fixtures.js';
import { closeStores, openStore } from '../orchestrator/support/store.js';
import { allocated, network, withSubnet } from './support.js';

describe('allocator loop', () => {
  let store: ClusterStore;
  let allocator: Allocator;
  let ingress: Network;
  let app: Network;
  let tiny: Network;
  const errors: unknown[] = [];

  const start = async (): Promise<Allocator> => {
    const a = new Allocator(store, {
      batchWindowMs: 0,
      hostRoutes: () => [],
      onError: (e) => errors.push(e),
      onObjectError: (f) => errors.push(f.error),
    });
    await a.start();
    return a;
  };

  const task = (id: string): Task => store.view((tx) => tx.get('task', id)!);
  const node = (id: string) => store.view((tx) => tx.get('node', id)!);

  async function addTask(service: Service, id: string, nodeId?: string): Promise<void> {
    await store.update((tx) =>
      tx.create('task', makeTask(service, { id, state: 'new', ...(nodeId ? { node: nodeId } : {}) })),
    );
    await allocator.whenIdle();
  }

  async function setState(id: string, state: TaskState, nodeId?: string): Promise<void> {
    await store.update((tx) => {
      const t = tx.get('task', id)!;
      tx.update('task', {
        ...t,
        ...(nodeId ? { NodeID: nodeId } : {}),
        Status: { ...t.Status, State: state },
      });
    });
    await allocator.whenIdle();
  }

  /** A service on `networks`, in `dnsrr` mode (no VIP) unless `vip`: its tasks' addresses come first. */
  const serviceOn = (id: string, ...networks: Network[]): Service => {
    const service = makeService(id, {
      taskTemplate: {
        ContainerSpec: { Image: 'busybox' },
        Networks: networks.map((n) => ({ Target: n.ID })),
      },
    });
    service.Spec.EndpointSpec = { Mode: 'dnsrr' };
    return service;
  };
  const vipServiceOn = (id: string, ...networks: Network[]): Service => {
    const service = serviceOn(id, ...networks);
    service.Spec.EndpointSpec = { Mode: 'vip' };
    return service;
  };
  const vipsOf = (id: string) => store.view((tx) => tx.get('service', id)?.Endpoint?.VirtualIPs);

  beforeEach(async () => {
    errors.length = 0;
    store = await openStore();
    [ingress, app, tiny] = allocated(
      network({ Name: 'ingress', Ingress: true }, 'ingressid'),
      network({ Name: 'app' }, 'appid'),
      network({ Name: 'tiny', ...withSubnet('10.9.0.0/30') }, 'tinyid'),
    ) as [Network, Network, Network];
    await store.update((tx) => {
      tx.create('cluster', makeCluster());
      tx.create('node', makeNode('n1'));
      tx.create('node', makeNode('n2'));
      for (const n of [ingress, app, tiny]) tx.create('network', n);
    });
    allocator = await start();
  });

  afterEach(async () => {
    await allocator.stop();
    await closeStores();
    assert.deepEqual(errors, []);
  });

  it('gives every node an address on the ingress network when it starts', () => {
    assert.deepEqual(
      node('n1').Attachments?.map((a) => [a.Network.ID, a.Addresses]),
      [['ingressid', ['10.0.0.2/24']]],
    );
    assert.deepEqual(
      node('n2').Attachments?.map((a) => [a.Network.ID, a.Addresses]),
      [['ingressid', ['10.0.0.3/24']]],
    );
  });

  it('a new task gets its address and moves to PENDING; its node then gets one too; both come back when it ends', async () => {
    const web = serviceOn('web', app);
    await store.update((tx) => tx.create('service', web));
    await addTask(web, 't1');
    const t1 = task('t1');
    assert.equal(t1.Status.State, 'pending');
    assert.equal(t1.Status.Message, 'pending task scheduling');
    assert.deepEqual(
      t1.NetworksAttachments?.map((a) => [a.Network.ID, a.Addresses]),
      [['appid', ['10.0.1.2/24']]],
    );
    // The copy of the network is the stored one, with its allocation.
    assert.equal(t1.NetworksAttachments?.[0]?.Network.IPAMOptions?.Configs?.[0]?.Subnet, '10.0.1.0/24');

    await setState('t1', 'assigned', 'n1');
    assert.deepEqual(
      node('n1').Attachments?.map((a) => [a.Network.ID, a.Addresses]),
      [
        ['ingressid', ['10.0.0.2/24']],
        ['appid', ['10.0.1.3/24']],
      ],
    );
    await setState('t1', 'running');
    await setState('t1', 'complete');
    assert.deepEqual(
      node('n1').Attachments?.map((a) => a.Network.ID),
      ['ingressid'],
    );
    assert.deepEqual(allocator.addressBook.holdersOf('appid', '10.0.1.2/24'), []);
    assert.deepEqual(allocator.addressBook.holdersOf('appid', '10.0.1.3/24'), []);
    // The task keeps showing the address it had, as Docker's do.
    assert.deepEqual(task('t1').NetworksAttachments?.[0]?.Addresses, ['10.0.1.2/24']);
  });

  it('a service in vip mode gets a VIP on its network at once; dnsrr drops it; deleting frees it', async () => {
    const web = vipServiceOn('web', app);
    await store.update((tx) => tx.create('service', web));
    await allocator.whenIdle();
    assert.deepEqual(vipsOf('web'), [{ NetworkID: 'appid', Addr: '10.0.1.2/24' }]);
    assert.deepEqual(allocator.addressBook.holdersOf('appid', '10.0.1.2/24'), ['service/web']);
    await addTask(web, 't1');
    assert.deepEqual(task('t1').NetworksAttachments?.[0]?.Addresses, ['10.0.1.3/24']);
    // A restarted allocator's book holds the VIP too.
    const entries = allocator.addressBook.entries();
    await allocator.stop();
    allocator = await start();
    assert.deepEqual(allocator.addressBook.entries(), entries);
    // dnsrr: the VIP goes and is free again.
    await store.update((tx) => {
      const s = tx.get('service', 'web')!;
      tx.update('service', { ...s, Spec: { ...s.Spec, EndpointSpec: { Mode: 'dnsrr' } } });
    });
    await allocator.whenIdle();
    assert.equal(vipsOf('web'), undefined);
    assert.deepEqual(allocator.addressBook.holdersOf('appid', '10.0.1.2/24'), []);
    // Back to vip, then the service removed: its VIP is freed.
    await store.update((tx) => {
      const s = tx.get('service', 'web')!;
      tx.update('service', { ...s, Spec: { ...s.Spec, EndpointSpec: { Mode: 'vip' } } });
    });
    await allocator.whenIdle();
    const [again] = vipsOf('web') ?? [];
    assert.equal(again?.NetworkID, 'appid');
    await store.update((tx) => tx.delete('service', 'web'));
    await allocator.whenIdle();
    assert.deepEqual(allocator.addressBook.holdersOf('appid', again!.Addr), []);
  });

  it('no address left: the task stays NEW and says why, until an address is freed', async () => {
    const small = serviceOn('small', tiny);
    await store.update((tx) => tx.create('service', small));
    await addTask(small, 'a');
    await addTask(small, 'b');
    assert.equal(task('a').Status.State, 'pending');
    assert.deepEqual(task('a').NetworksAttachments?.[0]?.Addresses, ['10.9.0.2/30']);
    assert.equal(task('b').Status.State, 'new');
    assert.equal(
      task('b').Status.Err,
      'failed to allocate network IP for task b network tinyid: could not find an available IP',
    );
    assert.deepEqual(allocator.waiting, ['b']);
    await setState('a', 'failed');
    assert.equal(task('b').Status.State, 'pending');
    assert.equal(task('b').Status.Err, undefined);
    assert.deepEqual(task('b').NetworksAttachments?.[0]?.Addresses, ['10.9.0.2/30']);
  });

  it('a restarted allocator rebuilds the same book from the store and hands out no address twice', async () => {
    const web = serviceOn('web', app);
    await store.update((tx) => tx.create('service', web));
    for (const id of ['r1', 'r2', 'r3']) await addTask(web, id);
    await setState('r2', 'assigned', 'n2');
    const before = allocator.addressBook.entries();
    await allocator.stop();
    allocator = await start();
    assert.deepEqual(allocator.addressBook.entries(), before);
    await addTask(web, 'r4');
    const taken = new Set(
      store.view((tx) => tx.list('task')).flatMap((t) => t.NetworksAttachments?.[0]?.Addresses ?? []),
    );
    for (const n of store.view((tx) => tx.list('node'))) {
      for (const a of n.Attachments ?? []) for (const address of a.Addresses ?? []) taken.add(address);
    }
    // Four tasks and n2's own address on app: all different.
    assert.equal([...taken].filter((a) => a.startsWith('10.0.1.')).length, 5);
    assert.deepEqual(
      allocator.addressBook.holdersOf('appid', task('r4').NetworksAttachments![0]!.Addresses![0]!),
      [taskHolder('r4')],
    );
  });

  it('tasks left NEW by a previous leader are allocated at start', async () => {
    await allocator.stop();
    const web = serviceOn('web', app);
    await store.update((tx) => {
      tx.create('service', web);
      tx.create('task', makeTask(web, { id: 'left', state: 'new' }));
    });
    allocator = await start();
    assert.equal(task('left').Status.State, 'pending');
  });

  it('a removed network takes the nodes’ addresses on it with it', async () => {
    await store.update((tx) => tx.delete('network', 'ingressid'));
    await allocator.whenIdle();
    assert.equal(node('n1').Attachments, undefined);
    assert.equal(allocator.addressBook.has('ingressid'), false);
  });

  it('a network stored without its allocation gets one (stores written by other means)', async () => {
    await store.update((tx) => tx.create('network', network({ Name: 'raw' }, 'rawid')));
    await allocator.whenIdle();
    const raw = store.view((tx) => tx.get('network', 'rawid')!);
    assert.equal(raw.IPAMOptions?.Configs?.[0]?.Subnet, '10.0.2.0/24');
    assert.equal(raw.DriverState?.Options?.['com.docker.network.driver.overlay.vxlanid_list'], '4099');
  });
});
