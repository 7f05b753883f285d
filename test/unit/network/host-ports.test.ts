// Host-mode published ports on a node, pure: which ports of a task are its (host mode, a published port,
// TCP or UDP; the allocator's Endpoint.Ports before the spec's), who needs a namespace of their own, and the
// DNAT rules of the host's table that send them to the tasks.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nftScript } from '../../../src/agent/network/kernel.js';
import { Names } from '../../../src/agent/network/plan.js';
import { hostPortsOfTask, needsTaskNamespace } from '../../../src/api/host-ports.js';
import { parseIpv4Prefix } from '../../../src/api/ip.js';

describe('host-mode ports of a task', () => {
  it('host mode with a published port, TCP or UDP; ingress-mode ports are not the node’s', () => {
    const task = {
      Endpoint: {
        Spec: {
          Ports: [
            { TargetPort: 80, PublishedPort: 8080, PublishMode: 'host' as const },
            { TargetPort: 53, PublishedPort: 5353, PublishMode: 'host' as const, Protocol: 'udp' as const },
            { TargetPort: 81, PublishedPort: 8081 },
            { TargetPort: 82, PublishMode: 'host' as const },
          ],
        },
      },
    };
    assert.deepEqual(hostPortsOfTask(task), [
      { protocol: 'tcp', published: 8080, target: 80 },
      { protocol: 'udp', published: 5353, target: 53 },
    ]);
    assert.equal(needsTaskNamespace(task), true);
    assert.equal(needsTaskNamespace({ Endpoint: { Spec: {} } }), false);
    // The allocator's ports, when there are, win over the spec's.
    const allocated = {
      Endpoint: {
        Spec: task.Endpoint.Spec,
        Ports: [
          { TargetPort: 80, PublishedPort: 9090, PublishMode: 'host' as const, Protocol: 'tcp' as const },
        ],
      },
    };
    assert.deepEqual(hostPortsOfTask(allocated), [{ protocol: 'tcp', published: 9090, target: 80 }]);
  });

  it('the host table sends each published port, arriving for a local address (localhost too), to the task', () => {
    const script = nftScript(
      new Names('abc123'),
      { subnet: parseIpv4Prefix('172.18.0.0/16')!, address: '172.18.0.1' },
      {
        hostPorts: [
          { protocol: 'udp', published: 5353, target: 53, address: '172.18.0.3' },
          { protocol: 'tcp', published: 8080, target: 80, address: '172.18.0.2' },
        ],
      },
    );
    const rules = script.split('\n').filter((line) => line.includes('dnat to'));
    const tcp = 'fib daddr type local tcp dport 8080 dnat to 172.18.0.2:80';
    const udp = 'fib daddr type local udp dport 5353 dnat to 172.18.0.3:53';
    // Once for traffic arriving (prerouting), once for the host's own connections (output).
    assert.deepEqual(
      rules.map((r) => r.trim()),
      [tcp, udp, tcp, udp],
    );
    // The client address is kept: only loopback sources (which cannot leave the host) are masqueraded.
    assert.deepEqual(
      script
        .split('\n')
        .filter((line) => /snat|masquerade/.test(line))
        .map((line) => line.trim()),
      [
        'ip saddr 172.18.0.0/16 oifname != "shgw-abc123" ip saddr != @noegress masquerade',
        'ip saddr 127.0.0.0/8 oifname { "shgw-abc123", "sgabc1ingress" } snat to 172.18.0.1',
      ],
    );
  });
});
