// The control API's network calls over a real (in-memory SQLite) store: creation allocated at once, with
// Docker's checks in Docker's order and texts; lookups by ID, name and prefix; the list's filters; removal
// refused while in use; prune; the ingress network; services naming networks.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { isShoalError } from '../../../src/api/errors.js';
import { Filters } from '../../../src/api/filters.js';
import { parseIpv4Prefix } from '../../../src/api/ip.js';
import type { NetworkCreateRequest } from '../../../src/api/networks.js';
import type { Network, Node, Service, ServiceSpec } from '../../../src/api/types.js';
import type { HostPrefix } from '../../../src/manager/allocator/networks.js';
import { ControlAPI } from '../../../src/manager/controlapi/control-api.js';
import { allocate, newIngressNetwork } from '../../../src/manager/controlapi/networks.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { testCluster } from '../support/cluster.js';

const NODE_ID = 'n0000000000000000000000001';

/** What `docker network create -d overlay …` sends (CLI 28, API 1.41). */
function request(name: string, more: Partial<NetworkCreateRequest> = {}): NetworkCreateRequest {
  return {
    Name: name,
    CheckDuplicate: true,
    Driver: 'overlay',
    Scope: '',
    IPAM: { Driver: 'default', Options: {}, Config: [] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    ConfigOnly: false,
    Options: {},
    Labels: {},
    ...more,
  };
}

async function rejects(promise: Promise<unknown>, status: number, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isShoalError(err), `expected a ShoalError, got ${String(err)}`);
    assert.equal(err.apiMessage(), message);
    assert.equal(err.status, status);
    return true;
  });
}

describe('control API: networks', () => {
  let kv: SqliteKV;
  let store: ClusterStore;
  let api: ControlAPI;
  let routes: HostPrefix[];
  let ingress: Network;

  beforeEach(async () => {
    kv = new SqliteKV(':memory:');
    store = await ClusterStore.open(kv);
    routes = [];
    api = new ControlAPI({
      store,
      localNodeId: NODE_ID,
      isTaskUpToDate: () => true,
      newJoinToken: () => 'SWMTKN-1-rotated',
      subscribeLogs: async function* () {},
      hostRoutes: () => routes,
    });
    const node: Node = {
      ID: NODE_ID,
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
      Description: {
        Hostname: 'vm',
        Platform: { Architecture: 'x86_64', OS: 'linux' },
        Resources: { NanoCPUs: 2e9, MemoryBytes: 8e9 },
        Engine: { EngineVersion: '0.1.0' },
      },
      Status: { State: 'ready', Addr: '192.0.2.7' },
    };
    await store.update((tx) => {
      tx.create('node', node);
      tx.create('cluster', testCluster());
      // As swarm init makes it (src/manager/bootstrap.ts).
      ingress = allocate(tx, newIngressNetwork(), []);
      tx.create('network', ingress);
    });
  });

  afterEach(async () => {
    await store.close();
    await kv.close();
  });

  const stored = (id: string): Network => store.view((tx) => tx.get('network', id)!);

  describe('create', () => {
    it('as the trace: mynet after ingress, mynet2 with its subnet, gateway, label and MTU', async () => {
      assert.deepEqual(ingress.IPAMOptions?.Configs, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
      const mynet = await api.createNetwork(request('mynet', { Attachable: true }));
      assert.match(mynet.Id, /^[0-9a-z]{25}$/);
      assert.equal(mynet.Warning, '');
      const mynet2 = await api.createNetwork(
        request('mynet2', {
          Internal: true,
          IPAM: {
            Driver: 'default',
            Options: {},
            Config: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }],
          },
          Options: { 'com.docker.network.driver.mtu': '1400' },
          Labels: { l: 'v' },
        }),
      );
      const first = stored(mynet.Id);
      assert.deepEqual(await api.getNetwork('mynet', {}), {
        Name: 'mynet',
        Id: mynet.Id,
        Created: first.CreatedAt,
        Scope: 'swarm',
        Driver: 'overlay',
        EnableIPv6: false,
        IPAM: { Driver: 'default', Options: null, Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] },
        Internal: false,
        Attachable: true,
        Ingress: false,
        ConfigFrom: { Network: '' },
        ConfigOnly: false,
        Containers: null,
        Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' },
        Labels: null,
      });
      const second = await api.getNetwork(mynet2.Id, {});
      assert.deepEqual(second.IPAM.Config, [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }]);
      assert.deepEqual(second.Options, {
        'com.docker.network.driver.mtu': '1400',
        'com.docker.network.driver.overlay.vxlanid_list': '4098',
      });
      assert.deepEqual(second.Labels, { l: 'v' });
      assert.equal(second.Internal, true);
      // The stored swarm spec, as swarmkit keeps it.
      assert.deepEqual(stored(mynet.Id).Spec, {
        Name: 'mynet',
        Labels: {},
        DriverConfiguration: { Name: 'overlay' },
        Attachable: true,
        IPAMOptions: { Driver: { Name: 'default' } },
      });
    });

    it('the ingress network as Docker shows it', async () => {
      const shown = await api.getNetwork('ingress', {});
      assert.equal(shown.Ingress, true);
      assert.equal(shown.Labels, null);
      assert.deepEqual(shown.Options, { 'com.docker.network.driver.overlay.vxlanid_list': '4096' });
      assert.deepEqual(stored(ingress.ID).Spec, {
        Name: 'ingress',
        Labels: {},
        DriverConfiguration: {},
        Ingress: true,
        IPAMOptions: { Driver: {} },
      });
    });

    it('a name taken: Docker’s 409 for the same name, swarmkit’s conflict for another case', async () => {
      await api.createNetwork(request('mynet'));
      await rejects(api.createNetwork(request('mynet')), 409, 'network with name mynet already exists');
      await rejects(
        api.createNetwork(request('MyNet')),
        500,
        'rpc error: code = Unknown desc = name conflicts with an existing object',
      );
    });

    const refusals: [string, Partial<NetworkCreateRequest> & { Name?: string }, number, string][] = [
      [
        'a predefined name',
        { Name: 'bridge' },
        403,
        'operation is not permitted on predefined bridge network ',
      ],
      [
        'a subnet that is not IPv4/IPv6',
        { IPAM: { Driver: 'default', Config: [{ Subnet: 'foo' }] } },
        500,
        'Invalid subnet foo : invalid CIDR address: foo',
      ],
      ['an empty name', { Name: ' ' }, 400, 'invalid name:  '],
      [
        'a driver of a local network',
        { Driver: 'bridge' },
        403,
        'network driver "bridge" is not supported: shoal has no local networks; only networks scoped to the swarm can be used, such as those created with the overlay driver (--driver overlay)',
      ],
      [
        'no driver (Docker’s default is bridge)',
        { Driver: '' },
        403,
        'network driver "bridge" is not supported: shoal has no local networks; only networks scoped to the swarm can be used, such as those created with the overlay driver (--driver overlay)',
      ],
      ['a driver nobody has', { Driver: 'weave' }, 404, 'plugin "weave" not found'],
      [
        'an ingress network of a local driver',
        { Driver: 'bridge', Ingress: true },
        403,
        'Ingress network can only be global scope network',
      ],
      [
        'scope local for overlay',
        { Scope: 'local' },
        403,
        'cannot downgrade network scope for overlay networks',
      ],
      [
        'an attachable ingress network',
        { Ingress: true, Attachable: true },
        400,
        'rpc error: code = InvalidArgument desc = ingress network cannot be attachable',
      ],
      [
        'a second ingress network',
        { Ingress: true },
        409,
        'rpc error: code = AlreadyExists desc = ingress network (INGRESS) is already present',
      ],
      [
        'a name that is no DNS label',
        { Name: 'my.net' },
        400,
        'rpc error: code = InvalidArgument desc = name must be valid as a DNS name component',
      ],
      [
        'a name too long',
        { Name: 'n'.repeat(64) },
        400,
        'rpc error: code = InvalidArgument desc = name must be 63 characters or fewer',
      ],
      [
        'the predefined label',
        { Labels: { 'com.docker.swarm.predefined': 'true' } },
        403,
        'rpc error: code = PermissionDenied desc = label com.docker.swarm.predefined is for internally created predefined networks and cannot be applied by users',
      ],
      [
        'the internal label',
        { Labels: { 'com.docker.swarm.internal': 'true' } },
        403,
        'rpc error: code = PermissionDenied desc = label com.docker.swarm.internal is for predefined internal networks and cannot be applied by users',
      ],
      [
        'another IPAM driver',
        { IPAM: { Driver: 'infoblox' } },
        400,
        'rpc error: code = InvalidArgument desc = error during lookup of plugin infoblox',
      ],
      [
        'a gateway outside its subnet',
        { IPAM: { Driver: 'default', Config: [{ Subnet: '10.5.0.0/24', Gateway: '10.6.0.1' }] } },
        400,
        'rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.5.0.0/24 does not contain gateway 10.6.0.1',
      ],
      [
        'a gateway that is no address',
        { IPAM: { Driver: 'default', Config: [{ Subnet: '10.5.0.0/24', Gateway: 'gw' }] } },
        400,
        'rpc error: code = InvalidArgument desc = ipam configuration: invalid gateway gw',
      ],
      [
        'a range outside its subnet',
        { IPAM: { Driver: 'default', Config: [{ Subnet: '10.5.0.0/24', IPRange: '10.6.0.0/25' }] } },
        400,
        'rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.5.0.0/24 does not contain range 10.6.0.0/25',
      ],
      [
        '--opt encrypted',
        { Options: { encrypted: '' } },
        400,
        'the overlay network option "encrypted" is not supported: shoal does not encrypt overlay traffic (IPsec between nodes is not built), so the network would not be encrypted; create it without --opt encrypted',
      ],
      [
        'an option the overlay does not know',
        { Options: { 'com.docker.network.bridge.name': 'x' } },
        400,
        'the overlay network option "com.docker.network.bridge.name" is not supported by shoal (it honours com.docker.network.driver.mtu and com.docker.network.driver.overlay.vxlanid_list)',
      ],
      [
        'an MTU that is no number',
        { Options: { 'com.docker.network.driver.mtu': 'big' } },
        400,
        'invalid MTU "big" in com.docker.network.driver.mtu: a number from 68 to 65535 is needed',
      ],
      [
        'IPv6',
        { EnableIPv6: true },
        400,
        'IPv6 is not supported on shoal overlay networks yet: create the network with IPv4 subnets only (without --ipv6)',
      ],
      [
        'an IPv6 subnet',
        { IPAM: { Driver: 'default', Config: [{ Subnet: 'fd00::/64' }] } },
        400,
        'IPv6 is not supported on shoal overlay networks yet: create the network with IPv4 subnets only (without --ipv6)',
      ],
      [
        'IPAM options',
        { IPAM: { Driver: 'default', Options: { a: 'b' } } },
        400,
        'IPAM driver options (--ipam-opt) are not supported: the default IPAM driver takes none',
      ],
      [
        'auxiliary addresses',
        {
          IPAM: {
            Driver: 'default',
            Config: [{ Subnet: '10.5.0.0/24', AuxiliaryAddresses: { r: '10.5.0.9' } }],
          },
        },
        400,
        'auxiliary addresses (--aux-address) are not supported on swarm networks (Docker ignores them there)',
      ],
      [
        'a config-only network',
        { ConfigOnly: true, Driver: 'null' },
        403,
        'config-only networks are not supported: they are local to one engine, and shoal has no local networks',
      ],
      [
        'a network from a configuration network',
        { ConfigFrom: { Network: 'cfg' } },
        404,
        'configuration network "cfg" does not exist',
      ],
      [
        'a subnet overlapping the ingress network’s',
        { IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.0.0/16' }] } },
        403,
        'Pool overlaps with other one on this address space',
      ],
      [
        'a subnet holding a node’s address',
        { IPAM: { Driver: 'default', Config: [{ Subnet: '192.0.2.0/24' }] } },
        403,
        'Pool overlaps with other one on this address space: 192.0.2.0/24 overlaps the address 192.0.2.7 of node vm',
      ],
    ];
    for (const [what, more, status, message] of refusals) {
      it(`refuses ${what}`, async () => {
        await rejects(
          api.createNetwork(request(more.Name ?? 'net', more)),
          status,
          message.replace('INGRESS', ingress.ID),
        );
        assert.equal(store.view((tx) => tx.list('network')).length, 1);
      });
    }

    it('a subnet overlapping a route of this manager; a pool with no subnet left', async () => {
      routes = [
        { prefix: parseIpv4Prefix('10.0.1.0/24')!, what: 'the route 10.0.1.0/24 of this manager (wg0)' },
      ];
      await rejects(
        api.createNetwork(
          request('net', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.0.0/8' }] } }),
        ),
        403,
        'Pool overlaps with other one on this address space',
      );
      await rejects(
        api.createNetwork(
          request('net', { IPAM: { Driver: 'default', Config: [{ Subnet: '10.0.1.128/25' }] } }),
        ),
        403,
        'Pool overlaps with other one on this address space: 10.0.1.128/25 overlaps the route 10.0.1.0/24 of this manager (wg0)',
      );
      // The pool's next subnet steps over the route.
      const next = await api.createNetwork(request('net'));
      assert.deepEqual((await api.getNetwork(next.Id, {})).IPAM.Config, [
        { Subnet: '10.0.2.0/24', Gateway: '10.0.2.1' },
      ]);
      // Routes covering the whole pool leave nothing to take.
      routes = [
        { prefix: parseIpv4Prefix('10.0.0.0/8')!, what: 'the route 10.0.0.0/8 of this manager (vpn0)' },
      ];
      await rejects(
        api.createNetwork(request('full')),
        400,
        'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
      );
    });
  });

  describe('lookups', () => {
    async function withIds(...ids: string[]): Promise<void> {
      await store.update((tx) => {
        for (const id of ids) {
          const n = allocate(
            tx,
            {
              ID: id,
              Version: { Index: 0 },
              CreatedAt: '',
              UpdatedAt: '',
              Spec: { Name: `n-${id}`, Labels: {} },
            },
            [],
          );
          tx.create('network', n);
        }
      });
    }

    it('full ID, name, unique ID prefix; 404 and Docker’s ambiguity texts', async () => {
      await withIds('abc111111111111111111111a', 'abc222222222222222222222b');
      assert.equal(
        (await api.getNetwork('abc111111111111111111111a', {})).Name,
        'n-abc111111111111111111111a',
      );
      assert.equal((await api.getNetwork('n-abc222222222222222222222b', {})).Id, 'abc222222222222222222222b');
      assert.equal((await api.getNetwork('abc2', {})).Id, 'abc222222222222222222222b');
      assert.equal((await api.getNetwork(ingress.ID.slice(0, 6), { scope: 'swarm' })).Name, 'ingress');
      await rejects(
        api.getNetwork('abc', {}),
        400,
        '2 matches found based on ID prefix: network abc is ambiguous',
      );
      await rejects(
        api.removeNetwork('abc'),
        400,
        'network abc is ambiguous (2 matches found based on ID prefix)',
      );
      await rejects(api.getNetwork('nosuchnet', {}), 404, 'network nosuchnet not found');
      await rejects(api.getNetwork('ingress', { scope: 'local' }), 404, 'network ingress not found');
      await rejects(api.removeNetwork('nosuchnet'), 404, 'network nosuchnet not found');
    });
  });

  describe('list', () => {
    it('in ID order, with Docker’s filters', async () => {
      const a = await api.createNetwork(request('alpha', { Labels: { tier: 'front' } }));
      const b = await api.createNetwork(request('beta', { Labels: { tier: 'back', x: '' } }));
      const names = async (filters: Record<string, string[]>): Promise<string[]> =>
        (
          await api.listNetworks(
            Filters.parse(JSON.stringify(filters), [
              'dangling',
              'driver',
              'id',
              'label',
              'name',
              'scope',
              'type',
            ]),
          )
        ).map((n) => n.Name);
      const all = [ingress.ID, a.Id, b.Id].sort();
      assert.deepEqual(
        (await api.listNetworks(Filters.empty())).map((n) => n.Id),
        all,
      );
      assert.deepEqual(await names({ name: ['alp'] }), ['alpha']);
      assert.deepEqual(await names({ name: ['^b.t'] }), ['beta']);
      assert.deepEqual(await names({ id: [a.Id.slice(0, 5)] }), ['alpha']);
      assert.deepEqual((await names({ driver: ['overlay'], scope: ['swarm'] })).sort(), [
        'alpha',
        'beta',
        'ingress',
      ]);
      assert.deepEqual(await names({ driver: ['bridge'] }), []);
      assert.deepEqual(await names({ scope: ['local'] }), []);
      assert.deepEqual(await names({ label: ['tier=back'] }), ['beta']);
      assert.deepEqual((await names({ label: ['tier'] })).sort(), ['alpha', 'beta']);
      assert.deepEqual((await names({ type: ['custom'] })).length, 3);
      assert.deepEqual(await names({ type: ['builtin'] }), []);
      await rejects(names({ type: ['weird'] }), 400, "invalid filter: 'type'='weird'");
      assert.deepEqual((await names({ dangling: ['true'] })).length, 3);
      assert.deepEqual(await names({ dangling: ['0'] }), []);
      await rejects(
        names({ dangling: ['maybe'] }),
        400,
        'invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")',
      );
    });
  });

  describe('remove and prune', () => {
    async function serviceOn(networkId: string, name = 'web'): Promise<Service> {
      const spec: ServiceSpec = {
        Name: name,
        TaskTemplate: { ContainerSpec: { Image: 'busybox' }, Networks: [{ Target: networkId }] },
        Mode: { Replicated: { Replicas: 1 } },
      };
      // Written straight into the store, as the control API will once an executor attaches networks.
      const service: Service = {
        ID: `s${name}0000000000000000000000`.slice(0, 25),
        Version: { Index: 0 },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: spec,
      };
      await store.update((tx) => tx.create('service', service));
      return service;
    }

    it('refused while a service uses it (Docker’s 400 naming network and service by ID), then removed', async () => {
      const { Id } = await api.createNetwork(request('mynet'));
      const service = await serviceOn(Id);
      await rejects(
        api.removeNetwork('mynet'),
        400,
        `rpc error: code = FailedPrecondition desc = network ${Id} is in use by service ${service.ID}`,
      );
      await store.update((tx) => tx.delete('service', service.ID));
      await api.removeNetwork('mynet');
      await rejects(api.getNetwork('mynet', {}), 404, 'network mynet not found');
    });

    it('refused while a running task of a live service is on it; not for a task whose service is gone', async () => {
      const { Id } = await api.createNetwork(request('mynet'));
      const network = store.view((tx) => tx.get('network', Id))!;
      const service = await serviceOn(Id);
      await store.update((tx) => {
        const current = tx.get('service', service.ID)!;
        const spec = structuredClone(current.Spec);
        spec.TaskTemplate!.Networks = [];
        tx.update('service', { ...current, Spec: spec });
        tx.create('task', {
          ID: 'ttask0000000000000000000a',
          Version: { Index: 0 },
          CreatedAt: '',
          UpdatedAt: '',
          ServiceID: service.ID,
          Spec: { ContainerSpec: { Image: 'busybox' } },
          Status: { Timestamp: '', State: 'running', Message: 'started' },
          DesiredState: 'running',
          NetworksAttachments: [{ Network: network, Addresses: ['10.0.1.3/24'] }],
        });
      });
      await rejects(
        api.removeNetwork('mynet'),
        400,
        `rpc error: code = FailedPrecondition desc = network ${Id} is in use by task ttask0000000000000000000a`,
      );
      // `docker stack rm` removes the services, then at once the networks: the task is on its way out.
      await store.update((tx) => tx.delete('service', service.ID));
      await api.removeNetwork('mynet');
    });

    it('the ingress network can be removed while no service publishes through it, and made again', async () => {
      await api.removeNetwork('ingress');
      // Meanwhile a port published through the routing mesh has nowhere to go: swarmkit's refusal.
      const published: ServiceSpec = {
        Name: 'web',
        TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
        EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080 }] },
      };
      await rejects(
        api.createService(published),
        400,
        'rpc error: code = FailedPrecondition desc = service needs ingress network, but no ingress network is present',
      );
      // Host mode needs none.
      await api.createService({
        ...published,
        EndpointSpec: { Ports: [{ TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' }] },
      });
      const again = await api.createNetwork(request('ingress', { Ingress: true }));
      const shown = await api.getNetwork(again.Id, {});
      assert.equal(shown.Ingress, true);
      assert.deepEqual(shown.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    });

    it('prune removes what no service uses, never ingress; label, label! and until filters', async () => {
      const used = await api.createNetwork(request('used'));
      await serviceOn(used.Id);
      await api.createNetwork(request('old', { Labels: { keep: 'no' } }));
      await api.createNetwork(request('kept', { Labels: { keep: 'yes' } }));
      const parse = (f: Record<string, string[]>) =>
        Filters.parse(JSON.stringify(f), ['label', 'label!', 'until']);
      assert.deepEqual(await api.pruneNetworks(parse({ until: ['2000-01-01T00:00:00Z'] })), {
        NetworksDeleted: null,
      });
      assert.deepEqual(await api.pruneNetworks(parse({ 'label!': ['keep=yes'] })), {
        NetworksDeleted: ['old'],
      });
      assert.deepEqual(await api.pruneNetworks(parse({ label: ['keep'] })), { NetworksDeleted: ['kept'] });
      assert.deepEqual(await api.pruneNetworks(Filters.empty()), { NetworksDeleted: null });
      assert.deepEqual(store.view((tx) => tx.list('network').map((n) => n.Spec.Name)).sort(), [
        'ingress',
        'used',
      ]);
      await rejects(
        api.pruneNetworks(parse({ until: ['a', 'b'] })),
        400,
        'more than one until filter specified',
      );
    });
  });

  describe('services naming networks', () => {
    const spec = (networks: { Target: string }[]): ServiceSpec => ({
      Name: 'web',
      TaskTemplate: { ContainerSpec: { Image: 'busybox', Args: ['sleep', '1'] }, Networks: networks },
    });

    it('an unknown network: Docker’s 404; ingress: swarmkit’s refusal; a known one: stored by ID', async () => {
      await rejects(api.createService(spec([{ Target: 'nosuch' }])), 404, 'network nosuch not found');
      await rejects(
        api.createService(spec([{ Target: 'ingress' }])),
        400,
        'rpc error: code = InvalidArgument desc = Service cannot be explicitly attached to the ingress network "ingress"',
      );
      assert.equal(store.view((tx) => tx.list('service')).length, 0);
      const app = await api.createNetwork(request('app'));
      await api.createService(spec([{ Target: 'app' }]));
      const [service] = store.view((tx) => tx.list('service'));
      assert.deepEqual(service?.Spec.TaskTemplate?.Networks, [{ Target: app.Id }]);
    });
  });
});
