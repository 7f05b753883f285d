// A service's endpoint follows swarmkit's allocator: empty until there is something to allocate, then the
// spec with its ports as allocated (a port left out gets one of Docker's dynamic range).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DYNAMIC_PORT_END,
  DYNAMIC_PORT_START,
  publishedPortsInUse,
  serviceEndpoint,
} from '../../../src/manager/endpoint.js';

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
      Ports: ports,
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

describe('published ports', () => {
  const ingress = (target: number, published?: number) => ({
    Protocol: 'tcp' as const,
    TargetPort: target,
    ...(published ? { PublishedPort: published } : {}),
    PublishMode: 'ingress' as const,
  });

  it('a port left out gets the lowest free one of 30000–32767, per protocol, and keeps it across updates', () => {
    const spec = {
      EndpointSpec: { Ports: [ingress(80), ingress(81), { ...ingress(80), Protocol: 'udp' as const }] },
    };
    const first = serviceEndpoint(spec, undefined, new Set(['tcp/30000']));
    assert.deepEqual(
      first.Ports?.map((p) => `${p.Protocol}/${p.PublishedPort}->${p.TargetPort}`),
      ['tcp/30001->80', 'tcp/30002->81', 'udp/30000->80'],
    );
    // tcp/30000 freed meanwhile: the service keeps what it has.
    const again = serviceEndpoint(spec, first, new Set());
    assert.deepEqual(again.Ports, first.Ports);
    // A port of its own given explicitly is never handed out, and the spec keeps what the user wrote.
    const explicit = serviceEndpoint(
      { EndpointSpec: { Ports: [ingress(80), ingress(90, 30000)] } },
      undefined,
    );
    assert.deepEqual(
      explicit.Ports?.map((p) => p.PublishedPort),
      [30001, 30000],
    );
    assert.equal(explicit.Spec?.Ports?.[0]?.PublishedPort, undefined);
  });

  it('host-mode ports are copied as given; no port left in the range is an error that says what to do', () => {
    const host = {
      Protocol: 'tcp' as const,
      TargetPort: 80,
      PublishedPort: 8088,
      PublishMode: 'host' as const,
    };
    assert.deepEqual(serviceEndpoint({ EndpointSpec: { Ports: [host] } }, undefined).Ports, [host]);
    const taken = new Set<string>();
    for (let p = DYNAMIC_PORT_START; p <= DYNAMIC_PORT_END; p++) taken.add(`tcp/${p}`);
    assert.throws(
      () => serviceEndpoint({ EndpointSpec: { Ports: [ingress(80)] } }, undefined, taken),
      /no tcp port is left in the dynamic range 30000-32767 to publish target port 80; give a published port/,
    );
  });

  it('ports in use: every other service’s published ports, in either mode, as allocated or asked for', () => {
    const svc = (id: string, ports: object[], allocatedPorts: object[] = []) =>
      ({
        ID: id,
        Spec: { EndpointSpec: { Ports: ports } },
        Endpoint: { Spec: {}, Ports: allocatedPorts },
      }) as never;
    const used = publishedPortsInUse(
      [
        svc('a', [ingress(80)], [ingress(80, 30000)]),
        svc('b', [{ ...ingress(53, 53), Protocol: 'udp' }]),
        svc('c', [{ TargetPort: 80, PublishedPort: 8088, PublishMode: 'host' }]),
        svc('self', [ingress(80, 9999)]),
      ],
      'self',
    );
    assert.deepEqual([...used].sort(), ['tcp/30000', 'tcp/8088', 'udp/53']);
  });
});
