// A network's own allocation: subnets from the swarm's pools (Docker's 10.0.0.0/8 in /24s) or as given,
// never overlapping each other, the nodes or this manager's routes; gateways; VXLAN IDs from 4096.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { isShoalError } from '../../../src/api/errors.js';
import { parseIpv4Prefix } from '../../../src/api/ip.js';
import { VXLAN_ID_LIST_OPTION } from '../../../src/api/networks.js';
import type { Network, NetworkSpec } from '../../../src/api/types.js';
import { network } from './support.js';
import {
  addressPools,
  allocateNetwork,
  NO_AVAILABLE_POOL,
  POOL_OVERLAP,
  type HostPrefix,
  type NetworkAllocationContext,
} from '../../../src/manager/allocator/networks.js';

const subnet = (text: string): NetworkSpec['IPAMOptions'] => ({
  Driver: { Name: 'default' },
  Configs: [{ Subnet: text }],
});

function context(
  networks: Network[],
  more: Partial<NetworkAllocationContext> = {},
): NetworkAllocationContext {
  return { networks, ...addressPools(undefined), host: [], ...more };
}

/** Allocates networks one after the other, as the control API creates them. */
function allocateAll(specs: Network[], more: Partial<NetworkAllocationContext> = {}): Network[] {
  const done: Network[] = [];
  for (const n of specs) done.push(allocateNetwork(n, context(done, more)));
  return done;
}

function refuses(fn: () => unknown, status: number, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isShoalError(err), String(err));
    if (typeof message === 'string') assert.equal(err.apiMessage(), message);
    else assert.match(err.apiMessage(), message);
    assert.equal(err.status, status);
    return true;
  });
}

describe('network allocation', () => {
  it('takes /24s of 10.0.0.0/8 in order, gateway .1, VXLAN IDs from 4096 (the trace’s ingress, mynet)', () => {
    const [ingress, mynet, mynet2] = allocateAll([
      network({ Name: 'ingress', Ingress: true, DriverConfiguration: {}, IPAMOptions: { Driver: {} } }),
      network({ IPAMOptions: { Driver: { Name: 'default' } } }),
      network({
        IPAMOptions: {
          Driver: { Name: 'default' },
          Configs: [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }],
        },
        DriverConfiguration: { Name: 'overlay', Options: { 'com.docker.network.driver.mtu': '1400' } },
      }),
    ]);
    assert.deepEqual(ingress!.IPAMOptions, {
      Driver: { Name: 'default' },
      Configs: [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }],
    });
    assert.deepEqual(ingress!.DriverState, { Name: 'overlay', Options: { [VXLAN_ID_LIST_OPTION]: '4096' } });
    assert.equal(mynet!.IPAMOptions?.Configs?.[0]?.Subnet, '10.0.1.0/24');
    assert.equal(mynet!.DriverState?.Options?.[VXLAN_ID_LIST_OPTION], '4097');
    assert.deepEqual(mynet2!.DriverState?.Options, {
      'com.docker.network.driver.mtu': '1400',
      [VXLAN_ID_LIST_OPTION]: '4098',
    });
    assert.deepEqual(mynet2!.IPAMOptions?.Configs, [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }]);
  });

  it('reuses what a removed network freed: the first free subnet and VXLAN ID', () => {
    const [a, , c] = allocateAll([network(), network(), network()]);
    const again = allocateNetwork(network(), context([a!, c!]));
    assert.equal(again.IPAMOptions?.Configs?.[0]?.Subnet, '10.0.1.0/24');
    assert.equal(again.DriverState?.Options?.[VXLAN_ID_LIST_OPTION], '4097');
  });

  it('never lands on a subnet another network holds or asks for, nor on a node’s address or a host route', () => {
    const declared = network({ IPAMOptions: subnet('10.0.0.0/23') });
    const host: HostPrefix[] = [
      { prefix: parseIpv4Prefix('10.0.2.0/24')!, what: 'the route 10.0.2.0/24 of this manager (eth0)' },
      { prefix: { base: 0x0a000305, prefix: 32 }, what: 'the address 10.0.3.5 of node vm2' },
    ];
    // Not allocated yet, only declared: its subnet is still off limits.
    const chosen = allocateNetwork(network(), context([declared], { host }));
    assert.equal(chosen.IPAMOptions?.Configs?.[0]?.Subnet, '10.0.4.0/24');
  });

  it('the swarm’s own pools and subnet size (swarm init --default-addr-pool …-mask-length)', () => {
    const pools = addressPools({ DefaultAddrPool: ['10.20.0.0/16', '10.30.0.0/16'], SubnetSize: 28 });
    assert.equal(pools.subnetSize, 28);
    const [first, second] = allocateAll([network(), network()], pools);
    assert.equal(first!.IPAMOptions?.Configs?.[0]?.Subnet, '10.20.0.0/28');
    assert.equal(second!.IPAMOptions?.Configs?.[0]?.Subnet, '10.20.0.16/28');
    // Docker ignores the size when no pool was given.
    assert.deepEqual(addressPools({ DefaultAddrPool: null, SubnetSize: 28 }).subnetSize, 24);
  });

  it('pools run out: libnetwork’s error', () => {
    const pools = { pools: [parseIpv4Prefix('10.9.0.0/23')!], subnetSize: 24 };
    const done = allocateAll([network(), network()], pools);
    refuses(() => allocateNetwork(network(), context(done, pools)), 400, NO_AVAILABLE_POOL);
  });

  it('a given subnet overlapping another network’s, a host route or a node: libnetwork’s refusal', () => {
    const [taken] = allocateAll([network({ IPAMOptions: subnet('10.50.0.0/16') })]);
    refuses(
      () => allocateNetwork(network({ IPAMOptions: subnet('10.50.3.0/24') }), context([taken!])),
      403,
      POOL_OVERLAP,
    );
    const host: HostPrefix[] = [
      { prefix: parseIpv4Prefix('192.0.2.0/24')!, what: 'the route 192.0.2.0/24 of this manager (eth0)' },
    ];
    refuses(
      () => allocateNetwork(network({ IPAMOptions: subnet('192.0.0.0/16') }), context([], { host })),
      403,
      `${POOL_OVERLAP}: 192.0.0.0/16 overlaps the route 192.0.2.0/24 of this manager (eth0)`,
    );
    // Two subnets of one network that overlap each other.
    refuses(
      () =>
        allocateNetwork(
          network({ IPAMOptions: { Configs: [{ Subnet: '10.60.0.0/16' }, { Subnet: '10.60.1.0/24' }] } }),
          context([]),
        ),
      403,
      POOL_OVERLAP,
    );
  });

  it('several subnets: a VXLAN ID each; a range; a gateway given', () => {
    const n = allocateNetwork(
      network({
        IPAMOptions: {
          Configs: [
            { Subnet: '10.60.0.0/24', Range: '10.60.0.128/25' },
            { Subnet: '10.61.0.0/24', Gateway: '10.61.0.254' },
          ],
        },
      }),
      context([]),
    );
    assert.deepEqual(n.IPAMOptions?.Configs, [
      { Subnet: '10.60.0.0/24', Range: '10.60.0.128/25', Gateway: '10.60.0.128' },
      { Subnet: '10.61.0.0/24', Gateway: '10.61.0.254' },
    ]);
    assert.equal(n.DriverState?.Options?.[VXLAN_ID_LIST_OPTION], '4096,4097');
  });

  it('VXLAN IDs asked for: taken, refused; free, used', () => {
    const [a] = allocateAll([network()]);
    const wants = (ids: string): Network =>
      network({ DriverConfiguration: { Name: 'overlay', Options: { [VXLAN_ID_LIST_OPTION]: ids } } });
    refuses(
      () => allocateNetwork(wants('4096'), context([a!])),
      400,
      'could not obtain vxlan id for pool 10.0.1.0/24: requested bit is already allocated',
    );
    assert.equal(
      allocateNetwork(wants('777'), context([a!])).DriverState?.Options?.[VXLAN_ID_LIST_OPTION],
      '777',
    );
    refuses(() => allocateNetwork(wants('x'), context([])), 400, 'invalid vxlan id value "x" passed');
    // An ID asked for by a network not yet allocated is not handed out to another.
    const asking = wants('4097');
    assert.equal(
      allocateNetwork(network(), context([a!, asking])).DriverState?.Options?.[VXLAN_ID_LIST_OPTION],
      '4098',
    );
  });

  it('a subnet too small for a gateway, and a gateway on the network address', () => {
    refuses(
      () => allocateNetwork(network({ IPAMOptions: subnet('10.70.0.0/31') }), context([])),
      400,
      'No available addresses on this pool',
    );
    refuses(
      () =>
        allocateNetwork(
          network({ IPAMOptions: { Configs: [{ Subnet: '10.70.0.0/24', Gateway: '10.70.0.0' }] } }),
          context([]),
        ),
      403,
      'Address already in use',
    );
  });

  it('an allocated network is left as it is', () => {
    const [a] = allocateAll([network()]);
    assert.equal(allocateNetwork(a!, context([])), a);
  });
});
