// What subnets must stay clear of: the nodes' addresses and this manager's routes (/proc/net/route).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { formatPrefix } from '../../../src/api/ip.js';
import { parseRoutes } from '../../../src/manager/allocator/host.js';

const ROUTES = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
docker_gwbridge\t000012AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
wg0\t0000090A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
`;

describe('host routes', () => {
  it('reads the main table, but the default route', () => {
    const routes = parseRoutes(ROUTES);
    assert.deepEqual(
      routes.map((r) => formatPrefix(r.prefix)),
      ['172.18.0.0/16', '192.0.2.0/24', '10.9.0.0/16'],
    );
    assert.equal(routes[2]!.what, 'the route 10.9.0.0/16 of this manager (wg0)');
  });

  it('skips lines it cannot read', () => {
    assert.deepEqual(
      parseRoutes('Iface\tDestination\nbroken line\neth0\tzzzz\t0\t0\t0\t0\t0\t00FFFFFF\n'),
      [],
    );
  });
});
