// The data path, the attachment path and the embedded DNS on plain network namespaces, without daemons:
// three test hosts each run a NodeNetworking (driver.ts, inside the host's namespace) fed with views made
// by the manager's own code (nodeNetworkViews → diffNetworkViews), as the dispatcher would push them. Tasks
// are namespaces the networking makes; the test runs busybox in them. A host-mode published port answers
// from another host, and again after a restart that found the host's table gone.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { diffNetworkViews, type NetworkViewUpdate } from '../../../src/api/network-view.js';
import type { NodeNetworkView } from '../../../src/api/networks.js';
import type { Network as SwarmNetwork, Node, Task } from '../../../src/api/types.js';
import { Names, scopeOf } from '../../../src/agent/network/plan.js';
import { nodeNetworkViews } from '../../../src/manager/allocator/node-view.js';
import { Network, eventually, type Host } from '../../harness/index.js';
import { Driver } from './driver-client.js';

function overlay(id: string, name: string, subnet: string, vni: number, internal = false): SwarmNetwork {
  const [base] = subnet.split('/');
  const gateway = base!.replace(/\.0$/, '.1');
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Name: name, Labels: {}, DriverConfiguration: { Name: 'overlay' }, Internal: internal },
    DriverState: {
      Name: 'overlay',
      Options: { 'com.docker.network.driver.overlay.vxlanid_list': String(vni) },
    },
    IPAMOptions: { Driver: { Name: 'default' }, Configs: [{ Subnet: subnet, Gateway: gateway }] },
  };
}

function task(
  id: string,
  service: string,
  slot: number,
  nodeId: string,
  on: { network: SwarmNetwork; address: string; aliases?: string[] }[],
): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { ContainerSpec: { Image: 'busybox' } },
    ServiceID: `svc-${service}`,
    ServiceAnnotations: { Name: service },
    Slot: slot,
    NodeID: nodeId,
    Status: { Timestamp: '', State: 'running', Message: 'started' },
    DesiredState: 'running',
    NetworksAttachments: on.map((a) => ({
      Network: a.network,
      Addresses: [a.address],
      Aliases: a.aliases ?? [],
    })),
  };
}

describe('overlay data path, attachment and DNS on plain namespaces', { timeout: 240_000 }, () => {
  let network: Network;
  const drivers: Driver[] = [];
  const dirs: string[] = [];
  let upstream: ChildProcess | undefined;
  const app = overlay('appnet0000000000000000001', 'app', '10.231.1.0/24', 4301);
  const other = overlay('othernet00000000000000001', 'other', '10.231.2.0/24', 4302);
  const nodes: Node[] = [];
  let tasks: Task[] = [];
  const sent = new Map<string, NodeNetworkView>();
  let version = 1;

  /** What the dispatcher would send each node for the current tasks and nodes. */
  async function push(): Promise<void> {
    for (const node of nodes) {
      node.Attachments = [app, other]
        .filter((n) =>
          tasks.some(
            (t) => t.NodeID === node.ID && t.NetworksAttachments!.some((a) => a.Network.ID === n.ID),
          ),
        )
        .map((n, i) => ({
          Network: n,
          Addresses: [n === app ? `10.231.1.${200 + nodes.indexOf(node)}/24` : `10.231.2.${200 + i}/24`],
        }));
    }
    const views = nodeNetworkViews({
      network: (id) => [app, other].find((n) => n.ID === id),
      nodes: () => nodes,
      tasks: () => tasks,
    });
    version++;
    await Promise.all(
      drivers.map(async (driver) => {
        const view = views.get(driver.nodeId)!;
        const previous = sent.get(driver.nodeId);
        const update: NetworkViewUpdate = {
          version,
          dataPathPort: 4789,
          changes: diffNetworkViews(previous, view),
        };
        sent.set(driver.nodeId, view);
        await driver.call('update', update, previous === undefined);
      }),
    );
  }

  /** Runs busybox in the task's network namespace, with its /etc/hosts and /etc/resolv.conf mounted. */
  const inTask = (host: Host, driver: Driver, taskId: string, args: string[], allowFailure = false) => {
    const files = join(driver.dataDir, 'network', 'tasks', taskId);
    return host.exec(
      'nsenter',
      [
        `--net=/run/netns/${new Names(scopeOf(driver.dataDir)).taskNs(taskId)}`,
        'unshare',
        '--mount',
        '/bin/sh',
        '-c',
        `mount --bind ${files}/resolv.conf /etc/resolv.conf && mount --bind ${files}/hosts /etc/hosts && exec busybox "$@"`,
        'sh',
        ...args,
      ],
      { allowFailure, timeoutMs: 20_000 },
    );
  };

  before(async () => {
    network = await Network.create({ hosts: ['h0', 'h1', 'h2'] });
    const resolv = join(mkdtempSync(join(tmpdir(), 'shoal-dp-')), 'resolv.conf');
    dirs.push(dirname(resolv));
    // The "host's resolver" is a tiny server on h2 that answers every A query with 192.0.2.7.
    writeFileSync(resolv, `nameserver ${network.hosts[2]!.address}\n`);
    upstream = network.hosts[2]!.spawn(process.execPath, [
      '-e',
      `const d=require('dgram');const s=d.createSocket('udp4');s.on('message',(m,r)=>{const a=Buffer.from(m);a[2]|=0x80;a[3]=0x80;a[7]=1;` +
        `const rr=Buffer.from([0xc0,0x0c,0,1,0,1,0,0,0,60,0,4,192,0,2,7]);s.send(Buffer.concat([a,rr]),r.port,r.address)});s.bind(53,'${network.hosts[2]!.address}')`,
    ]);
    for (const [i, host] of network.hosts.entries()) {
      const dataDir = mkdtempSync(join(tmpdir(), `shoal-dp-${i}-`));
      dirs.push(dataDir);
      nodes.push({
        ID: `node${i}`,
        Version: { Index: 1 },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: {},
        Description: {},
        Status: { State: 'ready', Addr: host.address },
      } as Node);
      drivers.push(new Driver(host, dataDir, `node${i}`, resolv));
    }
    await Promise.all(drivers.map((d) => d.call('start', [])));
  });

  after(async () => {
    for (const driver of drivers) if (driver.stderr) console.error(`${driver.nodeId}: ${driver.stderr}`);
    for (const driver of drivers) {
      await driver.call('purge').catch(() => {});
      await driver.stop();
    }
    upstream?.kill('SIGKILL');
    await network?.destroy();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('tasks on one network reach each other across hosts, by address and by name', async () => {
    tasks = [
      task('w1ebtask00000000000000001', 'web', 1, 'node0', [
        { network: app, address: '10.231.1.3/24', aliases: ['www'] },
      ]),
      task('w2ebtask00000000000000002', 'web', 2, 'node1', [
        { network: app, address: '10.231.1.4/24', aliases: ['www'] },
      ]),
      task('w3ebtask00000000000000003', 'web', 3, 'node1', [
        { network: app, address: '10.231.1.5/24', aliases: ['www'] },
      ]),
      task('clitask000000000000000001', 'client', 1, 'node2', [{ network: app, address: '10.231.1.6/24' }]),
      task('outtask000000000000000001', 'outsider', 1, 'node2', [
        { network: other, address: '10.231.2.3/24' },
      ]),
    ];
    // The outsider publishes 18080 → 80 in host mode (its rules are checked across the restart below).
    tasks[4]!.Endpoint = {
      Spec: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 18080, PublishMode: 'host' }] },
    };
    for (const t of tasks) {
      const driver = drivers[Number(t.NodeID!.slice(4))]!;
      const config = await driver.call<{ netnsPath: string; hostsFile: string; resolvConf: string }>(
        'prepare',
        t,
      );
      assert.match(config.netnsPath, /^\/run\/netns\/sh-[0-9a-f]{6}-t-/);
    }
    await push();
    const [h0, h1, h2] = network.hosts as [Host, Host, Host];
    const [d0, d1, d2] = drivers as [Driver, Driver, Driver];
    // Three web servers, two of them side by side on h1, each on port 80 of its own namespace.
    const servers: ChildProcess[] = [];
    for (const [host, driver, t] of [
      [h0, d0, tasks[0]!],
      [h1, d1, tasks[1]!],
      [h1, d1, tasks[2]!],
    ] as const) {
      const dir = join(driver.dataDir, `www-${t.ID}`);
      rmSync(dir, { recursive: true, force: true });
      readdirSync(driver.dataDir);
      (await import('node:fs')).mkdirSync(dir);
      writeFileSync(join(dir, 'index.html'), `${t.ID}\n`);
      servers.push(
        host.spawn('nsenter', [
          `--net=/run/netns/${new Names(scopeOf(driver.dataDir)).taskNs(t.ID)}`,
          'busybox',
          'httpd',
          '-f',
          '-p',
          '80',
          '-h',
          dir,
        ]),
      );
    }
    try {
      const seen = new Set<string>();
      await eventually(
        async () => {
          for (const ip of ['10.231.1.3', '10.231.1.4', '10.231.1.5']) {
            const { stdout } = await inTask(h2, d2, 'clitask000000000000000001', [
              'timeout',
              '5',
              'busybox',
              'wget',
              '-qO-',
              `http://${ip}/`,
            ]);
            seen.add(stdout.trim());
          }
          assert.equal(seen.size, 3);
        },
        { timeoutMs: 20_000, description: 'every web task reachable from the client' },
      );
      // DNS: the service, tasks.<service>, the alias, a task name; as Docker's resolver answers nslookup.
      const lookup = await inTask(h2, d2, 'clitask000000000000000001', ['nslookup', 'tasks.web'], true);
      assert.equal(lookup.code, 0, lookup.stdout + lookup.stderr);
      const web = lookup.stdout;
      assert.match(web, /Server:\s+127\.0\.0\.11/);
      for (const ip of ['10.231.1.3', '10.231.1.4', '10.231.1.5'])
        assert.match(web, new RegExp(`Address: ${ip.replace(/\./g, '\\.')}`));
      const { stdout: www } = await inTask(h2, d2, 'clitask000000000000000001', ['nslookup', 'www']);
      assert.match(www, /10\.231\.1\.4/);
      const { stdout: byName } = await inTask(h2, d2, 'clitask000000000000000001', [
        'nslookup',
        'web.2.w2ebtask00000000000000002',
      ]);
      assert.match(byName, /Address: 10\.231\.1\.4/);
      assert.doesNotMatch(byName, /10\.231\.1\.3/);
      const { stdout: http } = await inTask(h2, d2, 'clitask000000000000000001', [
        'timeout',
        '5',
        'busybox',
        'wget',
        '-qO-',
        'http://web.2.w2ebtask00000000000000002/',
      ]);
      assert.equal(http.trim(), 'w2ebtask00000000000000002');
      // Not ours: forwarded to the host's resolver.
      const { stdout: ext } = await inTask(h2, d2, 'clitask000000000000000001', ['nslookup', 'example.org']);
      assert.match(ext, /192\.0\.2\.7/);
      // A task on another network neither resolves nor reaches web.
      const out = await inTask(h2, d2, 'outtask000000000000000001', ['nslookup', 'tasks.web'], true);
      assert.doesNotMatch(out.stdout, /10\.231\.1\./);
      const reach = await inTask(
        h2,
        d2,
        'outtask000000000000000001',
        ['timeout', '5', 'busybox', 'wget', '-qO-', 'http://10.231.1.3/'],
        true,
      );
      assert.notEqual(reach.code, 0);
    } finally {
      for (const s of servers) s.kill('SIGKILL');
    }
  });

  it('forwarding entries are exactly the remote tasks; they follow tasks and nodes', async () => {
    const [h0, h1] = network.hosts as [Host, Host, Host];
    const [d0, d1] = drivers as [Driver, Driver, Driver];
    const neigh = async (host: Host, driver: Driver, net: SwarmNetwork) => {
      const ns = new Names(scopeOf(driver.dataDir)).networkNs(net.ID);
      const { stdout } = await host.exec('ip', ['-n', ns, '-j', 'neigh', 'show', 'dev', 'vxlan0']);
      return (JSON.parse(stdout || '[]') as { dst: string }[]).map((n) => n.dst).sort();
    };
    await eventually(
      async () => assert.deepEqual(await neigh(h0, d0, app), ['10.231.1.4', '10.231.1.5', '10.231.1.6']),
      {
        timeoutMs: 5_000,
      },
    );
    // node1 goes down: its tasks leave everyone's entries.
    nodes[1]!.Status = { State: 'down', Addr: h1.address };
    await push();
    await eventually(async () => assert.deepEqual(await neigh(h0, d0, app), ['10.231.1.6']), {
      timeoutMs: 5_000,
    });
    nodes[1]!.Status = { State: 'ready', Addr: h1.address };
    await push();
    await eventually(
      async () => assert.deepEqual(await neigh(h0, d0, app), ['10.231.1.4', '10.231.1.5', '10.231.1.6']),
      {
        timeoutMs: 5_000,
      },
    );
    // Node1's tasks are removed: node1 drops the network's namespace, node0 the entries.
    for (const id of ['w2ebtask00000000000000002', 'w3ebtask00000000000000003']) await d1.call('release', id);
    tasks = tasks.filter((t) => t.NodeID !== 'node1');
    await push();
    await eventually(async () => assert.deepEqual(await neigh(h0, d0, app), ['10.231.1.6']), {
      timeoutMs: 5_000,
    });
    const leftover = (await h1.exec('ip', ['netns', 'list'])).stdout;
    assert.doesNotMatch(leftover, new RegExp(new Names(scopeOf(d1.dataDir)).prefix));
  });

  it('a restarted agent keeps what running tasks use', async () => {
    const [h0, , h2] = network.hosts as [Host, Host, Host];
    const d2 = drivers[2]!;
    // The outsider's published port: answered from another host, and after the restart too.
    const www = mkdtempSync(join(tmpdir(), 'shoal-dp-www-'));
    dirs.push(www);
    writeFileSync(join(www, 'index.html'), 'published\n');
    const httpd = h2.spawn('nsenter', [
      `--net=/run/netns/${new Names(scopeOf(d2.dataDir)).taskNs('outtask000000000000000001')}`,
      'busybox',
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      www,
    ]);
    const published = async (): Promise<void> => {
      await eventually(
        async () => {
          const { stdout } = await h0.exec('busybox', ['wget', '-qO-', `http://${h2.address}:18080/`], {
            timeoutMs: 5_000,
          });
          assert.equal(stdout, 'published\n');
        },
        { timeoutMs: 10_000, description: 'h2:18080 answered by the outsider task' },
      );
    };
    await published();
    const ping = spawn('nsenter', [
      `--net=/run/netns/shoaltest-${network.index}-2`,
      'nsenter',
      `--net=/run/netns/${new Names(scopeOf(d2.dataDir)).taskNs('clitask000000000000000001')}`,
      'busybox',
      'ping',
      '-i',
      '0.2',
      '-c',
      '25',
      '10.231.1.3',
    ]);
    let output = '';
    ping.stdout.on('data', (d: Buffer) => (output += d.toString()));
    await d2.stop();
    // The host's table lost while the agent is down: the next start rebuilds it from the tasks it keeps.
    await h2.exec('nft', ['delete', 'table', 'ip', new Names(scopeOf(d2.dataDir)).nftTable]);
    const restarted = new Driver(h2, d2.dataDir, 'node2', join(dirs[0]!, 'resolv.conf'));
    drivers[2] = restarted;
    await restarted.call(
      'start',
      tasks.filter((t) => t.NodeID === 'node2'),
    );
    sent.delete('node2');
    await push();
    await new Promise((resolve) => ping.once('exit', resolve));
    assert.match(output, / 0% packet loss/, output);
    assert.deepEqual((await restarted.call<string[]>('attached')).sort(), [
      'clitask000000000000000001',
      'outtask000000000000000001',
    ]);
    const { stdout } = await inTask(h2, restarted, 'clitask000000000000000001', ['nslookup', 'tasks.web']);
    assert.match(stdout, /10\.231\.1\.3/);
    // The host's table is back with the port, and the port answers again.
    const rules = (await h2.exec('nft', ['list', 'table', 'ip', new Names(scopeOf(d2.dataDir)).nftTable]))
      .stdout;
    assert.equal(rules.match(/tcp dport 18080 dnat to 172\.\d+\.\d+\.\d+:80/g)?.length, 2, rules);
    await published();
    httpd.kill('SIGKILL');
  });

  it('leaving removes everything: namespaces, devices, the gateway bridge, the nft table', async () => {
    for (const driver of drivers) await driver.call('purge');
    for (const [i, host] of network.hosts.entries()) {
      const names = new Names(scopeOf(drivers[i]!.dataDir));
      assert.equal(readdirSync('/run/netns').filter((n) => n.startsWith(names.prefix)).length, 0);
      const links = JSON.parse((await host.exec('ip', ['-j', 'link', 'show'])).stdout) as {
        ifname: string;
      }[];
      assert.deepEqual(
        links.map((l) => l.ifname).filter((n) => n.startsWith('sh') || n.startsWith('sg')),
        [],
      );
      const tables = (await host.exec('nft', ['-j', 'list', 'tables'])).stdout;
      assert.doesNotMatch(tables, /shoal_/);
      const addrs = (await host.exec('ip', ['-j', 'addr', 'show'])).stdout;
      assert.doesNotMatch(addrs, /172\.18\./);
      assert.equal(existsSync(join(drivers[i]!.dataDir, 'network')), false);
    }
  });
});
