// The routing mesh on a node, pure: which tasks each published port reaches (serving tasks of the service,
// by their ingress addresses), the sandbox's nft script, and the host's DNAT of the ports to the sandbox.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { spawnSync } from 'node:child_process';
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

const nftMissing = (): string | false =>
  spawnSync('nft', ['--version']).status === 0 ? false : 'nft is not installed';

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
        '  chain forward {',
        '    type filter hook forward priority filter; policy drop;',
        '    ct state established,related accept',
        '    ct status dnat accept',
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

  it('the host sends every mesh port to the sandbox, on its addresses and 127.0.0.1, a local host-mode port first, never the DNS', () => {
    const names = new Names('abcdef');
    const gateway = { subnet: parseIpv4Prefix('172.18.0.0/16')!, address: '172.18.0.1' };
    const script = nftScript(names, gateway, {
      hostPorts: [{ protocol: 'tcp', published: 9090, target: 90, address: '172.18.0.3' }],
      mesh: {
        address: '172.18.0.2',
        ports: [
          { protocol: 'tcp', published: 8080, target: 80 },
          { protocol: 'tcp', published: 9090, target: 80 },
        ],
      },
    });
    const chain = (name: string): string[] => {
      const lines = script.split('\n');
      const start = lines.findIndex((l) => l.trim() === `chain ${name} {`);
      const end = lines.findIndex((l, i) => i > start && l.trim() === '}');
      return lines.slice(start + 2, end).map((l) => l.trim());
    };
    const dnat = [
      'fib daddr type local tcp dport 8080 dnat to 172.18.0.2:8080',
      'fib daddr type local tcp dport 9090 dnat to 172.18.0.3:90',
    ];
    const dns = 'ip daddr 172.18.0.1 meta l4proto { tcp, udp } th dport 53 return';
    assert.deepEqual(chain('hostports'), [dns, ...dnat]);
    assert.deepEqual(chain('hostports_local'), [
      dns,
      'ip daddr 127.0.0.0/8 ip daddr != 127.0.0.1 return',
      ...dnat,
    ]);
    assert.deepEqual(chain('postrouting').slice(1), [
      'ip saddr 127.0.0.0/8 oifname { "shgw-abcdef", "sgabcdingress" } snat to 172.18.0.1',
    ]);
    assert.deepEqual(chain('localnet'), ['iifname != "lo" ip daddr 127.0.0.0/8 drop']);
    assert.ok(chain('forward').includes('oifname { "shgw-abcdef", "sgabcdingress" } ct state new drop'));
  });

  it('forwarding that shoal turned on is guarded: nothing is routed unless a bridge or a veth is on one side', () => {
    const names = new Names('abcdef');
    const gateway = { subnet: parseIpv4Prefix('172.18.0.0/16')!, address: '172.18.0.1' };
    assert.match(
      nftScript(names, gateway, { guardForwarding: true }),
      /chain forward \{\n[^\n]*\n {4}jump guard\n/,
    );
    assert.doesNotMatch(nftScript(names, gateway, {}), /jump guard/);
  });

  it('the host table and the sandbox table are valid nftables (nft -c)', { skip: nftMissing() }, () => {
    const names = new Names('abcdef');
    const gateway = { subnet: parseIpv4Prefix('172.18.0.0/16')!, address: '172.18.0.1' };
    for (const script of [
      nftScript(names, gateway, {
        noEgress: ['172.18.0.9'],
        hostPorts: [{ protocol: 'udp', published: 5353, target: 53, address: '172.18.0.3' }],
        mesh: { address: '172.18.0.2', ports: [{ protocol: 'tcp', published: 8080, target: 80 }] },
        guardForwarding: true,
      }),
      meshScript([
        {
          protocol: 'tcp',
          published: 8080,
          target: 80,
          serviceName: 'web',
          backends: ['10.0.0.5', '10.0.0.6'],
        },
      ]),
    ]) {
      const checked = spawnSync('nft', ['-c', '-f', '-'], { input: script, encoding: 'utf8' });
      assert.equal(checked.status, 0, `${checked.stderr}\n${script}`);
    }
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
