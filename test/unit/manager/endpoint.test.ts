// A service's endpoint follows swarmkit's allocator: empty until there is something to allocate.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serviceEndpoint } from '../../../src/manager/endpoint.js';

describe('service endpoint', () => {
  it('is empty for a service with neither published ports nor networks, whatever its mode', () => {
    assert.deepEqual(serviceEndpoint({ EndpointSpec: { Mode: 'vip' } }, undefined), { Spec: {} });
    assert.deepEqual(serviceEndpoint({}, undefined), { Spec: {} });
    assert.deepEqual(serviceEndpoint({ EndpointSpec: { Mode: 'dnsrr' } }, { Spec: {} }), { Spec: {} });
  });

  it('copies the spec once there is something to allocate', () => {
    const ports = [{ Protocol: 'tcp' as const, TargetPort: 80, PublishedPort: 8080 }];
    assert.deepEqual(serviceEndpoint({ EndpointSpec: { Mode: 'vip', Ports: ports } }, undefined), {
      Spec: { Mode: 'vip', Ports: ports },
    });
    assert.deepEqual(serviceEndpoint({ Networks: [{ Target: 'net1' }] }, undefined), { Spec: {} });
    assert.deepEqual(
      serviceEndpoint(
        { TaskTemplate: { Networks: [{ Target: 'net1' }] }, EndpointSpec: { Mode: 'dnsrr' } },
        undefined,
      ),
      { Spec: { Mode: 'dnsrr' } },
    );
  });

  it('keeps what was allocated, with the new spec', () => {
    const current = {
      Spec: { Mode: 'vip' as const },
      VirtualIPs: [{ NetworkID: 'net1', Addr: '10.0.0.2/24' }],
    };
    const next = serviceEndpoint({ EndpointSpec: { Mode: 'vip' } }, current);
    assert.deepEqual(next, current);
    assert.notEqual(next.VirtualIPs, current.VirtualIPs);
  });
});
