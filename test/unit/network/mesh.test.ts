// The routing mesh on a node, pure: which tasks each published port reaches (serving tasks of the service,
// by their ingress addresses), the sandbox's nft script, and the host's DNAT of the ports to the sandbox.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nftScript } from '../../../src/agent/network/kernel.js';
import { meshPorts, meshRules, meshScript } from '../../../src/agent/network/mesh.js';
import { forwardingEntries, Names } from '../../../src/agent/network/plan.js';
import { parseIpv4Prefix } from '../../../src/api/ip.js';
import type { OverlayTask, OverlayVip } from '../../../src/api/networks.js';

const ep = (taskId: string, service: string, ip: string, serving = true): OverlayTask => ({
  taskId,
  taskName: `${service}.1.${taskId}`,
  serviceId: `id-${service}`,
  serviceName: service,
  nodeId: 'n2',
  serving,
  addresses: [`${ip}/24`],
  aliases: [],
});
const vip = (service: string, ip: string, ports?: OverlayVip['ports']): OverlayVip => ({
  serviceId: `id-${service}`,
  serviceName: service,
  address: `${ip}/24`,
  aliases: [],
  ...(ports ? { ports } : {}),
});

describe('routing mesh', () => {
  const tasks = [
    ep('w2', 'web', '10.0.0.6'),
    ep('w1', 'web', '10.0.0.5'),
    ep('w3', 'web', '10.0.0.7', false),
    ep('d1', 'dns', '10.0.0.8'),
  ];

  it('each published port reaches the serving tasks of its service, by their ingress address, in task order', () => {
    const rules = meshRules({
      vips: [
        vip('web', '10.0.0.2', [
          { protocol: 'tcp', published: 8080, target: 80 },
          { protocol: 'udp', published: 8080, target: 80 },
        ]),
        vip('dns', '10.0.0.3', [{ protocol: 'udp', published: 53, target: 5353 }]),
        vip('plain', '10.0.0.4'),
      ],
      tasks,
    });
    assert.deepEqual(rules, [
      {
        protocol: 'tcp',
        published: 8080,
        target: 80,
        serviceName: 'web',
        backends: ['10.0.0.5', '10.0.0.6'],
      },
      { protocol: 'udp', published: 53, target: 5353, serviceName: 'dns', backends: ['10.0.0.8'] },
      {
        protocol: 'udp',
        published: 8080,
        target: 80,
        serviceName: 'web',
        backends: ['10.0.0.5', '10.0.0.6'],
      },
    ]);
    assert.deepEqual(meshPorts(rules), [
      { protocol: 'tcp', published: 8080, target: 80 },
      { protocol: 'udp', published: 53, target: 5353 },
      { protocol: 'udp', published: 8080, target: 80 },
    ]);
  });

  it('a port two services claim goes to the first (the control API refuses the second)', () => {
    const port = [{ protocol: 'tcp' as const, published: 80, target: 80 }];
    const rules = meshRules({ vips: [vip('dns', '10.0.0.3', port), vip('web', '10.0.0.2', port)], tasks });
    assert.deepEqual(
      rules.map((r) => r.serviceName),
      ['dns'],
    );
  });

  it('the sandbox balances with numgen over the backends, keeps one backend plain, and leaves out a port with none', () => {
    const script = meshScript([
      {
        protocol: 'tcp',
        published: 8080,
        target: 80,
        serviceName: 'web',
        backends: ['10.0.0.5', '10.0.0.6'],
      },
      { protocol: 'udp', published: 53, target: 5353, serviceName: 'dns', backends: ['10.0.0.8'] },
      { protocol: 'tcp', published: 9000, target: 9000, serviceName: 'idle', backends: [] },
    ]);
    assert.equal(
      script,
      [
        'table ip shoal_mesh {}',
        'delete table ip shoal_mesh',
        'table ip shoal_mesh {',
        '  chain prerouting {',
        '    type nat hook prerouting priority dstnat; policy accept;',
        '    iifname "eth1" tcp dport 8080 dnat to numgen inc mod 2 map { 0 : 10.0.0.5, 1 : 10.0.0.6 } : 80',
        '    iifname "eth1" udp dport 53 dnat to 10.0.0.8:5353',
        '  }',
        '  chain postrouting {',
        '    type nat hook postrouting priority srcnat; policy accept;',
        '    oifname "eth0" masquerade',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    assert.throws(
      () =>
        meshScript([
          { protocol: 'tcp', published: 70000, target: 80, serviceName: 'x', backends: ['10.0.0.5'] },
        ]),
      /invalid port 70000/,
    );
  });

  it('the host sends every mesh port to the sandbox, on its addresses and localhost, a local host-mode port first', () => {
    const names = new Names('abcdef');
    const gateway = { subnet: parseIpv4Prefix('172.18.0.0/16')!, address: '172.18.0.1' };
    const script = nftScript(
      names,
      gateway,
      [],
      [{ protocol: 'tcp', published: 9090, target: 90, address: '172.18.0.3' }],
      {
        address: '172.18.0.2',
        ports: [
          { protocol: 'tcp', published: 8080, target: 80 },
          { protocol: 'tcp', published: 9090, target: 80 },
        ],
      },
    );
    const dnat = script.split('\n').filter((l) => l.includes('dnat to'));
    assert.deepEqual(dnat, [
      '    fib daddr type local tcp dport 8080 dnat to 172.18.0.2:8080',
      '    fib daddr type local tcp dport 9090 dnat to 172.18.0.3:90',
      '    fib daddr type local tcp dport 8080 dnat to 172.18.0.2:8080',
      '    fib daddr type local tcp dport 9090 dnat to 172.18.0.3:90',
    ]);
    assert.ok(
      script.includes('    ip saddr 127.0.0.0/8 oifname { "shgw-abcdef", "sgabcdingress" } masquerade'),
      'localhost masqueraded towards a task or the sandbox',
    );
  });

  it('forwarding that shoal turned on is guarded: nothing is routed between two interfaces neither a bridge nor a veth', () => {
    const names = new Names('abcdef');
    const gateway = { subnet: parseIpv4Prefix('172.18.0.0/16')!, address: '172.18.0.1' };
    const guard = 'meta iifkind != { "bridge", "veth" } meta oifkind != { "bridge", "veth" } drop';
    assert.ok(nftScript(names, gateway, [], [], undefined, true).includes(guard));
    assert.ok(!nftScript(names, gateway, [], [], undefined, false).includes(guard));
  });

  it('on ingress, the peers’ own addresses (their sandboxes) get forwarding entries too', () => {
    const info = { subnets: [{ subnet: '10.0.0.0/24', gateway: '10.0.0.1', vxlanId: 4096 }] };
    const peers = [
      { nodeId: 'me', underlayAddr: '192.0.2.1', address: '10.0.0.2/24' },
      { nodeId: 'n2', underlayAddr: '192.0.2.2', address: '10.0.0.3/24' },
    ];
    const endpoints = [ep('w1', 'web', '10.0.0.5')];
    assert.deepEqual(
      forwardingEntries('me', info, peers, endpoints, true).map((e) => [e.ip, e.vtep]),
      [
        ['10.0.0.3', '192.0.2.2'],
        ['10.0.0.5', '192.0.2.2'],
      ],
    );
    assert.deepEqual(
      forwardingEntries('me', info, peers, endpoints).map((e) => e.ip),
      ['10.0.0.5'],
    );
  });
});
