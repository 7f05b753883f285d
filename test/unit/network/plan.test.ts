// The pure half of the node's data path: names, MACs, forwarding entries, the gateway subnet and a task's
// files.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { parseIpv4Prefix } from '../../../src/api/ip.js';
import type { Network, Task } from '../../../src/api/types.js';
import {
  chooseGatewaySubnet,
  diffForwarding,
  forwardingEntries,
  hostsFile,
  macOf,
  Names,
  nextGatewayAddress,
  parseResolvConf,
  planTaskNetwork,
  resolvConfFile,
  scopeOf,
} from '../../../src/agent/network/plan.js';

const network = (id: string, internal = false, subnets = ['10.0.1.0/24'], vnis = ['4097']): Network => ({
  ID: id,
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { Name: id, Labels: {}, Internal: internal },
  DriverState: {
    Name: 'overlay',
    Options: { 'com.docker.network.driver.overlay.vxlanid_list': vnis.join(',') },
  },
  IPAMOptions: {
    Driver: { Name: 'default' },
    Configs: subnets.map((s) => ({ Subnet: s, Gateway: s.replace(/0\/\d+$/, '1') })),
  },
});

const task = (attachments: { network: Network; address: string }[], hostname?: string): Task => ({
  ID: 'abcdefghijklmnopqrstuvwxy',
  Version: { Index: 1 },
  CreatedAt: '',
  UpdatedAt: '',
  Spec: { ContainerSpec: { Image: 'busybox', ...(hostname ? { Hostname: hostname } : {}) } },
  ServiceID: 's',
  Status: { Timestamp: '', State: 'assigned', Message: '' },
  DesiredState: 'running',
  NetworksAttachments: attachments.map((a) => ({ Network: a.network, Addresses: [a.address] })),
});

describe('data path plan', () => {
  it('names everything of one data dir under one scope, within the kernel limits', () => {
    const names = new Names(scopeOf('/var/lib/shoal'));
    assert.match(names.scope, /^[0-9a-f]{6}$/);
    assert.notEqual(scopeOf('/var/lib/shoal'), scopeOf('/var/lib/shoal2'));
    // A symlinked data dir is the same data dir: its next run finds what it made.
    const dir = mkdtempSync(join(tmpdir(), 'scope-'));
    try {
      mkdirSync(join(dir, 'data'));
      symlinkSync(join(dir, 'data'), join(dir, 'link'));
      assert.equal(scopeOf(join(dir, 'link')), scopeOf(join(dir, 'data')));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.equal(names.networkNs('net1'), `sh-${names.scope}-n-net1`);
    assert.deepEqual(names.parseNs(names.taskNs('abc')), { kind: 'task', id: 'abc' });
    assert.equal(names.parseNs('sh-000000-t-abc'), undefined);
    for (const name of [
      names.gatewayBridge,
      names.gatewayLeg('abcdefghijklmnopqrstuvwxy'),
      names.vxlanTemp(2 ** 24 - 1),
    ]) {
      assert.ok(name.length <= 15, name);
    }
    assert.throws(() => names.taskNs('../etc'), /invalid task ID/);
  });

  it("gives a task Docker's MAC for each address and an interface per network, in its order", () => {
    assert.equal(macOf('10.0.1.3/24'), '02:42:0a:00:01:03');
    const plan = planTaskNetwork(
      task([
        { network: network('a'), address: '10.0.1.3/24' },
        { network: network('b', true, ['10.0.2.0/24'], ['4098']), address: '10.0.2.5/24' },
      ]),
    );
    assert.deepEqual(
      plan.interfaces.map((i) => [i.name, i.networkId, i.address, i.mtu]),
      [
        ['eth0', 'a', '10.0.1.3/24', 1450],
        ['eth1', 'b', '10.0.2.5/24', 1450],
      ],
    );
    assert.equal(plan.internalOnly, false);
    assert.equal(plan.hostname, 'abcdefghijkl');
    assert.equal(
      planTaskNetwork(task([{ network: network('b', true), address: '10.0.1.9/24' }])).internalOnly,
      true,
    );
  });

  it('forwarding entries: every address of tasks on other nodes that are peers, towards their VTEP', () => {
    const info = {
      subnets: [
        { subnet: '10.0.1.0/24', gateway: '10.0.1.1', vxlanId: 4097 },
        { subnet: '10.0.9.0/24', gateway: '10.0.9.1', vxlanId: 4098 },
      ],
    };
    const peers = [
      { nodeId: 'me', underlayAddr: '192.0.2.1', address: '' },
      { nodeId: 'n2', underlayAddr: '192.0.2.2', address: '' },
    ];
    const ep = (taskId: string, nodeId: string, addresses: string[]) => ({
      taskId,
      taskName: taskId,
      serviceId: 's',
      serviceName: 's',
      nodeId,
      serving: true,
      addresses,
      aliases: [],
    });
    const entries = forwardingEntries('me', info, peers, [
      ep('local', 'me', ['10.0.1.2/24']),
      ep('remote', 'n2', ['10.0.9.7/24']),
      ep('unplaced', '', ['10.0.1.4/24']),
      ep('nopeer', 'n3', ['10.0.1.5/24']),
    ]);
    assert.deepEqual(entries, [
      { subnetIndex: 1, ip: '10.0.9.7', mac: '02:42:0a:00:09:07', vtep: '192.0.2.2' },
    ]);
    const moved = [{ ...entries[0]!, vtep: '192.0.2.3' }];
    assert.deepEqual(diffForwarding(entries, moved), { add: moved, remove: entries });
    assert.deepEqual(diffForwarding(entries, entries), { add: [], remove: [] });
  });

  it("picks the gateway bridge's subnet as Docker picks docker_gwbridge's, and hands addresses out in turn", () => {
    assert.equal(
      chooseGatewaySubnet(['198.18.0.0/24', '10.0.0.0/8'])?.base,
      parseIpv4Prefix('172.18.0.0/16')!.base,
    );
    assert.equal(chooseGatewaySubnet(['172.16.0.0/12'])?.prefix, 20);
    const subnet = parseIpv4Prefix('172.18.0.0/16')!;
    assert.equal(nextGatewayAddress(subnet, new Set()), '172.18.0.2');
    assert.equal(nextGatewayAddress(subnet, new Set(['172.18.0.2'])), '172.18.0.3');
    assert.equal(nextGatewayAddress(subnet, new Set(), '172.18.0.9'), '172.18.0.10');
    const tiny = parseIpv4Prefix('10.9.9.0/30')!;
    assert.equal(nextGatewayAddress(tiny, new Set(['10.9.9.2'])), undefined);
  });

  it("writes a task's /etc/hosts and /etc/resolv.conf as Docker writes a swarm container's", () => {
    const plan = planTaskNetwork(task([{ network: network('a'), address: '10.0.1.3/24' }], 'web-1'));
    assert.equal(
      hostsFile(plan, ['192.0.2.9 db db.local']),
      [
        '127.0.0.1\tlocalhost',
        '::1\tlocalhost ip6-localhost ip6-loopback',
        'fe00::0\tip6-localnet',
        'ff00::0\tip6-mcastprefix',
        'ff02::1\tip6-allnodes',
        'ff02::2\tip6-allrouters',
        '192.0.2.9\tdb db.local',
        '10.0.1.3\tweb-1',
        '',
      ].join('\n'),
    );
    const host = parseResolvConf(
      '# comment\nnameserver 10.9.9.9\nnameserver 10.9.9.8\nsearch corp.example\noptions edns0\n',
    );
    assert.deepEqual(host, {
      nameservers: ['10.9.9.9', '10.9.9.8'],
      search: ['corp.example'],
      options: ['edns0'],
    });
    assert.equal(resolvConfFile(host), 'search corp.example\nnameserver 127.0.0.11\noptions ndots:0 edns0\n');
    assert.equal(
      resolvConfFile(host, { Search: ['a.example'], Options: ['ndots:2'] }),
      'search a.example\nnameserver 127.0.0.11\noptions ndots:2\n',
    );
  });
});
