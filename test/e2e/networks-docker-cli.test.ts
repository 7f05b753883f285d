// Issue 12, items 1 and 2 (the manager's side), as a user tries them: every `docker network` command of the
// recorded trace (spec/engine-api-trace/network.md) run with the unmodified docker CLI and with `shoal`
// against one shoald (in a host of the netns harness: its tasks on networks get namespaces, bridges and
// rules, which must not be the machine's). Both CLIs must print the same bytes, and those bytes must be the
// trace's (with the IDs and times of this run in place of the recorded ones). Then the bad input of the
// issue, each in a test; a service on a network, its tasks running with their addresses, across a restart;
// removal refused while in use; prune; the ingress network's own flow; and the network events.
//
// shoal's networks are the swarm's only: the trace's local ones (bridge, host, none, docker_gwbridge) are
// not listed, and `inspect ingress` shows the manager's view (no containers, no peers; the data path comes
// with the node side of the issue).

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { after, afterEach, before, describe, it } from 'node:test';
import { parseIpv4Prefix, prefixesOverlap } from '../../src/api/ip.js';
import type { NetworkResource } from '../../src/api/networks.js';
import type { NetworkAttachment, Service, Task } from '../../src/api/types.js';
import { dockerCli, Network, ShoalDaemon, waitFor, type CommandResult } from '../harness/index.js';

const API = '/v1.41';

/** The trace's `docker network inspect mynet` output, for this run's ID and time. */
function mynetJSON(n: NetworkResource, subnet: string, gateway: string, vxlan: string): string {
  return `[
    {
        "Name": "mynet",
        "Id": "${n.Id}",
        "Created": "${n.Created}",
        "Scope": "swarm",
        "Driver": "overlay",
        "EnableIPv6": false,
        "IPAM": {
            "Driver": "default",
            "Options": null,
            "Config": [
                {
                    "Subnet": "${subnet}",
                    "Gateway": "${gateway}"
                }
            ]
        },
        "Internal": false,
        "Attachable": true,
        "Ingress": false,
        "ConfigFrom": {
            "Network": ""
        },
        "ConfigOnly": false,
        "Containers": null,
        "Options": {
            "com.docker.network.driver.overlay.vxlanid_list": "${vxlan}"
        },
        "Labels": null
    }
]
`;
}

describe('networks with the docker CLI and shoal', { timeout: 300_000 }, () => {
  let net: Network;
  let daemon: ShoalDaemon;
  /** Whether this host's routes leave Docker's first subnets free (they decide which subnets come out). */
  // The daemon's host has only its 198.18.x.0/24 route: the default pool is free.
  const poolFree = true;

  const docker = (args: string[], input?: string): Promise<CommandResult> =>
    daemon.docker(args, input === undefined ? {} : { input });
  const shoal = (args: string[], input?: string): Promise<CommandResult> =>
    daemon.cli(args, input === undefined ? {} : { input });

  /** Runs a command that changes nothing with both CLIs; they must agree byte for byte. Returns docker's. */
  async function both(args: string[], input?: string): Promise<CommandResult> {
    const theirs = await docker(args, input);
    const mine = await shoal(args, input);
    assert.deepEqual(mine, theirs, `shoal ${args.join(' ')} printed what docker did`);
    return theirs;
  }

  const network = (ref: string): Promise<NetworkResource> =>
    daemon.apiOk<NetworkResource>('GET', `${API}/networks/${ref}`);

  before(async () => {
    dockerCli(); // the real docker CLI is a test dependency: fail here, at once, when it is missing
    net = await Network.create({ hosts: ['solo'] });
    daemon = new ShoalDaemon(net.hosts[0]!, { debug: true });
    await daemon.start();
    // Not a manager yet: no networks, none found.
    assert.deepEqual(await both(['network', 'ls', '-q']), { stdout: '', stderr: '', code: 0 });
    await daemon.apiOk('POST', `${API}/swarm/init`, {
      ListenAddr: `${daemon.address}:2377`,
      AdvertiseAddr: daemon.address,
    });
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    await daemon?.destroy();
    await net?.destroy();
  });

  describe('the trace’s commands', () => {
    it('swarm init made the ingress network, as Docker does', async () => {
      const ingress = await network('ingress');
      assert.equal(ingress.Ingress, true);
      assert.equal(ingress.Driver, 'overlay');
      assert.deepEqual(ingress.Options, { 'com.docker.network.driver.overlay.vxlanid_list': '4096' });
      if (poolFree) assert.deepEqual(ingress.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
      const shown = await both(['network', 'inspect', 'ingress']);
      assert.match(shown.stdout, /^\[\n {4}\{\n {8}"Name": "ingress",\n {8}"Id": "[0-9a-z]{25}",/);
      assert.match(shown.stdout, /"Ingress": true,/);
      assert.equal(
        (await both(['network', 'ls'])).stdout,
        `NETWORK ID     NAME      DRIVER    SCOPE\n${ingress.Id.slice(0, 12)}   ingress   overlay   swarm\n`,
      );
    });

    it('create -d overlay --attachable mynet: the ID; again: Docker’s 409 from both CLIs', async () => {
      const created = await docker(['network', 'create', '-d', 'overlay', '--attachable', 'mynet']);
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^[0-9a-z]{25}\n$/);
      for (const cli of [docker, shoal]) {
        assert.deepEqual(await cli(['network', 'create', '-d', 'overlay', '--attachable', 'mynet']), {
          stdout: '',
          stderr: 'Error response from daemon: network with name mynet already exists\n',
          code: 1,
        });
      }
    });

    it('create --internal --subnet --gateway --label --opt mtu mynet2 (with shoal)', async () => {
      const created = await shoal([
        'network',
        'create',
        '-d',
        'overlay',
        '--internal',
        '--subnet',
        '10.77.0.0/24',
        '--gateway',
        '10.77.0.1',
        '--label',
        'l=v',
        '--opt',
        'com.docker.network.driver.mtu=1400',
        'mynet2',
      ]);
      assert.equal(created.code, 0, created.stderr);
      const mynet2 = await network('mynet2');
      assert.equal(mynet2.Id, created.stdout.trim());
      assert.deepEqual(mynet2.IPAM.Config, [{ Subnet: '10.77.0.0/24', Gateway: '10.77.0.1' }]);
      assert.deepEqual(mynet2.Options, {
        'com.docker.network.driver.mtu': '1400',
        'com.docker.network.driver.overlay.vxlanid_list': '4098',
      });
      assert.deepEqual(mynet2.Labels, { l: 'v' });
      assert.equal(mynet2.Internal, true);
    });

    it('ls and ls --filter driver=overlay --filter scope=swarm: the trace’s table', async () => {
      const [ingress, mynet, mynet2] = [
        await network('ingress'),
        await network('mynet'),
        await network('mynet2'),
      ];
      const table =
        'NETWORK ID     NAME      DRIVER    SCOPE\n' +
        `${ingress.Id.slice(0, 12)}   ingress   overlay   swarm\n` +
        `${mynet.Id.slice(0, 12)}   mynet     overlay   swarm\n` +
        `${mynet2.Id.slice(0, 12)}   mynet2    overlay   swarm\n`;
      assert.equal((await both(['network', 'ls'])).stdout, table);
      assert.equal(
        (await both(['network', 'ls', '--filter', 'driver=overlay', '--filter', 'scope=swarm'])).stdout,
        table,
      );
      assert.equal(
        (await both(['network', 'ls', '--filter', 'label=l=v', '-q'])).stdout,
        `${mynet2.Id.slice(0, 12)}\n`,
      );
      assert.equal((await both(['network', 'ls', '--filter', 'scope=local', '-q'])).stdout, '');
      assert.equal(
        (await both(['network', 'ls', '--filter', 'name=mynet2', '--format', '{{.Name}} {{.Internal}}']))
          .stdout,
        'mynet2 true\n',
      );
      assert.equal(
        (await both(['network', 'ls', '--filter', `id=${mynet.Id.slice(0, 5)}`, '--no-trunc', '-q'])).stdout,
        `${mynet.Id}\n`,
      );
    });

    it('inspect mynet and inspect --verbose mynet: the trace’s JSON', async () => {
      const mynet = await network('mynet');
      const [subnet, gateway] = poolFree
        ? ['10.0.1.0/24', '10.0.1.1']
        : [mynet.IPAM.Config![0]!.Subnet!, mynet.IPAM.Config![0]!.Gateway!];
      const expected = mynetJSON(mynet, subnet, gateway, '4097');
      assert.deepEqual(await both(['network', 'inspect', 'mynet']), {
        stdout: expected,
        stderr: '',
        code: 0,
      });
      assert.deepEqual(await both(['network', 'inspect', '--verbose', 'mynet']), {
        stdout: expected,
        stderr: '',
        code: 0,
      });
      assert.equal(
        (await both(['network', 'inspect', '-f', '{{.ID}} {{.Name}}', 'mynet'])).stdout,
        `${mynet.Id} mynet\n`,
      );
    });

    it('lookups by ID prefix (raw and through both CLIs); an unknown network', async () => {
      const ingress = await network('ingress');
      const prefix = ingress.Id.slice(0, 6);
      const raw = await daemon.api<NetworkResource>('GET', `${API}/networks/${prefix}`);
      assert.equal(raw.status, 200);
      assert.equal(raw.body.Id, ingress.Id);
      assert.equal((await both(['network', 'inspect', '-f', '{{.Name}}', prefix])).stdout, 'ingress\n');
      assert.deepEqual(await both(['network', 'inspect', 'nosuchnet']), {
        stdout: '[]\n',
        stderr: 'Error response from daemon: network nosuchnet not found\n',
        code: 1,
      });
    });

    it('rm mynet2, rm nosuchnet: as the trace', async () => {
      assert.deepEqual(await docker(['network', 'rm', 'mynet2']), {
        stdout: 'mynet2\n',
        stderr: '',
        code: 0,
      });
      assert.deepEqual(await both(['network', 'rm', 'nosuchnet']), {
        stdout: '',
        stderr: 'Error response from daemon: network nosuchnet not found\nexit status 1\n',
        code: 1,
      });
      assert.deepEqual(await both(['network', 'rm', '-f', 'nosuchnet']), { stdout: '', stderr: '', code: 0 });
    });

    it('docker events --filter type=network --filter scope=swarm: the creations and the removal', async () => {
      const r = await both([
        'events',
        '--since',
        '0',
        '--until',
        String(Date.now() / 1000),
        '--filter',
        'type=network',
        '--filter',
        'scope=swarm',
        '--format',
        '{{.Action}} {{json .Actor.Attributes}}',
      ]);
      assert.deepEqual(r.stdout.trim().split('\n'), [
        'create {"name":"mynet"}',
        'create {"name":"mynet2"}',
        'remove {"name":"mynet2"}',
      ]);
    });
  });

  describe('bad input, each refused', () => {
    const create = (...args: string[]): string[] => ['network', 'create', ...args];

    it('an overlapping subnet', async () => {
      const mynet = await network('mynet');
      const r = await both(
        create('-d', 'overlay', '--subnet', mynet.IPAM.Config![0]!.Subnet!.replace('/24', '/25'), 'x'),
      );
      assert.deepEqual(r, {
        stdout: '',
        stderr: 'Error response from daemon: Pool overlaps with other one on this address space\n',
        code: 1,
      });
      const raw = await daemon.api('POST', `${API}/networks/create`, {
        Name: 'x',
        Driver: 'overlay',
        IPAM: { Config: [{ Subnet: '10.60.0.0/16' }, { Subnet: '10.60.1.0/24' }] },
      });
      assert.deepEqual(
        [raw.status, raw.body],
        [403, { message: 'Pool overlaps with other one on this address space' }],
      );
      // The docker CLI refuses overlapping subnets of one network itself.
      assert.deepEqual(
        await both(create('-d', 'overlay', '--subnet', '10.60.0.0/16', '--subnet', '10.60.1.0/24', 'x')),
        {
          stdout: '',
          stderr: 'multiple overlapping subnet configuration is not supported\n',
          code: 1,
        },
      );
    });

    it('a subnet that is not IPv4/IPv6, and IPv6', async () => {
      assert.deepEqual(await both(create('-d', 'overlay', '--subnet', 'foo', 'x')), {
        stdout: '',
        stderr: 'Error response from daemon: Invalid subnet foo : invalid CIDR address: foo\n',
        code: 1,
      });
      const v6 = await both(create('-d', 'overlay', '--ipv6', '--subnet', 'fd00:1::/64', 'x'));
      assert.equal(
        v6.stderr,
        'Error response from daemon: IPv6 is not supported on shoal overlay networks yet: create the network with IPv4 subnets only (without --ipv6)\n',
      );
    });

    it('a gateway outside its subnet (the CLI’s check, and the daemon’s)', async () => {
      assert.deepEqual(
        await both(create('-d', 'overlay', '--subnet', '10.61.0.0/24', '--gateway', '10.62.0.1', 'x')),
        {
          stdout: '',
          stderr: 'no matching subnet for gateway 10.62.0.1\n',
          code: 1,
        },
      );
      const raw = await daemon.api('POST', `${API}/networks/create`, {
        Name: 'x',
        Driver: 'overlay',
        IPAM: { Config: [{ Subnet: '10.61.0.0/24', Gateway: '10.62.0.1' }] },
      });
      assert.deepEqual(
        [raw.status, raw.body],
        [
          400,
          {
            message:
              'rpc error: code = InvalidArgument desc = ipam configuration: subnet 10.61.0.0/24 does not contain gateway 10.62.0.1',
          },
        ],
      );
    });

    it('a driver other than overlay: the local ones, none given, one nobody has', async () => {
      const local =
        'network driver "%s" is not supported: shoal has no local networks; only networks scoped to the swarm can be used, such as those created with the overlay driver (--driver overlay)';
      for (const driver of ['bridge', 'macvlan', 'host']) {
        assert.deepEqual(await both(create('-d', driver, 'x')), {
          stdout: '',
          stderr: `Error response from daemon: ${local.replace('%s', driver)}\n`,
          code: 1,
        });
      }
      assert.equal(
        (await both(create('x'))).stderr,
        `Error response from daemon: ${local.replace('%s', 'bridge')}\n`,
      );
      assert.equal(
        (await both(create('-d', 'weave', 'x'))).stderr,
        'Error response from daemon: plugin "weave" not found\n',
      );
      assert.equal(
        (await both(create('-d', 'overlay', '--scope', 'local', 'x'))).stderr,
        'Error response from daemon: cannot downgrade network scope for overlay networks\n',
      );
    });

    it('--attachable misuse, a second ingress network', async () => {
      assert.equal(
        (await both(create('-d', 'overlay', '--ingress', '--attachable', 'x'))).stderr,
        'Error response from daemon: rpc error: code = InvalidArgument desc = ingress network cannot be attachable\n',
      );
      const ingress = await network('ingress');
      assert.equal(
        (await both(create('-d', 'overlay', '--ingress', 'x'))).stderr,
        `Error response from daemon: rpc error: code = AlreadyExists desc = ingress network (${ingress.Id}) is already present\n`,
      );
    });

    it('--opt encrypted: refused, naming it', async () => {
      assert.deepEqual(await both(create('-d', 'overlay', '--opt', 'encrypted', 'secure')), {
        stdout: '',
        stderr:
          'Error response from daemon: the overlay network option "encrypted" is not supported: shoal does not encrypt overlay traffic (IPsec between nodes is not built), so the network would not be encrypted; create it without --opt encrypted\n',
        code: 1,
      });
    });

    it('a name taken in another case; a name that is no DNS label', async () => {
      assert.equal(
        (await both(create('-d', 'overlay', 'MYNET'))).stderr,
        'Error response from daemon: rpc error: code = Unknown desc = name conflicts with an existing object\n',
      );
      assert.equal(
        (await both(create('-d', 'overlay', 'my.net'))).stderr,
        'Error response from daemon: rpc error: code = InvalidArgument desc = name must be valid as a DNS name component\n',
      );
      // Nothing refused was stored.
      assert.deepEqual(
        (await daemon.apiOk<NetworkResource[]>('GET', `${API}/networks`)).map((n) => n.Name).sort(),
        ['ingress', 'mynet'],
      );
    });

    it('an unknown network on a service, on create and on --network-add: Docker’s 404 from both CLIs', async () => {
      const service = ['service', 'create', '-d', '--no-resolve-image', '--name', 'web'];
      assert.deepEqual(await both([...service, '--network', 'nosuch', 'busybox', 'sleep', '600']), {
        stdout: '',
        stderr: 'Error response from daemon: network nosuch not found\n',
        code: 1,
      });
      // --network-add on update: the same, through the CLIs' own lookups.
      assert.equal((await docker([...service, '--replicas', '0', 'busybox', 'sleep', '600'])).code, 0);
      assert.deepEqual(await both(['service', 'update', '-d', '--network-add', 'nosuch', 'web']), {
        stdout: '',
        stderr: 'Error response from daemon: network nosuch not found\n',
        code: 1,
      });
      assert.equal((await docker(['service', 'rm', 'web'])).code, 0);
    });
  });

  describe('services on networks', () => {
    it('a service on mynet (--network-add with an alias): its tasks run with their addresses, kept across a restart; rm refused while it is there', async () => {
      const mynet = await network('mynet');
      // No task yet: the two come with the network, so no rolling update has to replace running ones.
      await docker([
        'service',
        'create',
        '-d',
        '--no-resolve-image',
        '--name',
        'web',
        '--replicas',
        '0',
        'busybox',
        'sleep',
        '600',
      ]);
      const update = await docker([
        'service',
        'update',
        '-d',
        '--network-add',
        'name=mynet,alias=www',
        '--replicas',
        '2',
        'web',
      ]);
      assert.equal(update.code, 0, update.stderr);
      const attached = (tasks: Task[]): Task[] =>
        tasks.filter((t) => t.DesiredState === 'running' && (t.NetworksAttachments?.length ?? 0) > 0);
      const tasks = await waitFor(() => daemon.apiOk<Task[]>('GET', `${API}/tasks`), {
        until: (ts) => attached(ts).length === 2,
        timeoutMs: 30_000,
        description: 'two tasks of web with their addresses on mynet',
      });
      const onMynet = attached(tasks);
      const addresses = onMynet.map((t) => t.NetworksAttachments![0]!.Addresses![0]!);
      assert.equal(new Set(addresses).size, 2);
      const subnet = mynet.IPAM.Config![0]!.Subnet!;
      for (const address of addresses) {
        assert.ok(
          prefixesOverlap(parseIpv4Prefix(address.replace(/\/\d+$/, '/32'))!, parseIpv4Prefix(subnet)!),
          address,
        );
        assert.ok(address.endsWith('/24'));
      }
      // Docker's task JSON: the network as swarm.Network, then the addresses (no aliases there).
      const attachment: NetworkAttachment = onMynet[0]!.NetworksAttachments![0]!;
      assert.deepEqual(Object.keys(attachment), ['Network', 'Addresses']);
      assert.deepEqual(Object.keys(attachment.Network), [
        'ID',
        'Version',
        'CreatedAt',
        'UpdatedAt',
        'Spec',
        'DriverState',
        'IPAMOptions',
      ]);
      assert.deepEqual(attachment.Network.Spec, {
        Name: 'mynet',
        Labels: {},
        DriverConfiguration: { Name: 'overlay' },
        Attachable: true,
        IPAMOptions: { Driver: { Name: 'default' } },
        Scope: 'swarm',
      } as never);
      assert.deepEqual(attachment.Network.DriverState, {
        Name: 'overlay',
        Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' },
      });
      // They run, each in a network namespace of its own on the node.
      await waitFor(() => daemon.apiOk<Task[]>('GET', `${API}/tasks`), {
        until: (ts) => attached(ts).filter((t) => t.Status.State === 'running').length === 2,
        timeoutMs: 30_000,
        description: 'the two tasks running',
      });
      for (const t of onMynet)
        assert.ok(
          readdirSync('/run/netns').some((name) => name.endsWith(`-t-${t.ID}`)),
          `task ${t.ID}'s namespace`,
        );

      // A restart keeps every address where it was, and hands out no address twice.
      await daemon.restart();
      const after = attached(
        await waitFor(() => daemon.apiOk<Task[]>('GET', `${API}/tasks`), {
          until: (ts) => attached(ts).length === 2,
          timeoutMs: 30_000,
        }),
      );
      assert.deepEqual(
        after.map((t) => t.NetworksAttachments![0]!.Addresses![0]).sort(),
        [...addresses].sort(),
      );

      const web = await daemon.apiOk<Service>('GET', `${API}/services/web`);
      assert.deepEqual(await both(['network', 'rm', 'mynet']), {
        stdout: '',
        stderr: `Error response from daemon: rpc error: code = FailedPrecondition desc = network ${mynet.Id} is in use by service ${web.ID}\nexit status 1\n`,
        code: 1,
      });
      assert.deepEqual(await both(['network', 'prune', '-f']), { stdout: '', stderr: '', code: 0 });
      assert.equal((await docker(['service', 'rm', 'web'])).code, 0);
      await waitFor(async () => (await docker(['network', 'rm', 'mynet'])).stdout, {
        until: (out) => out === 'mynet\n',
        timeoutMs: 30_000,
        description: 'mynet removed once the service is gone',
      });
    });

    it('prune removes the networks no service uses, never ingress', async () => {
      await shoal(['network', 'create', '-d', 'overlay', 'spare1']);
      await shoal(['network', 'create', '-d', 'overlay', '--label', 'keep=yes', 'spare2']);
      assert.deepEqual(await docker(['network', 'prune', '-f', '--filter', 'label!=keep=yes']), {
        stdout: 'Deleted Networks:\nspare1\n\n',
        stderr: '',
        code: 0,
      });
      const prompt =
        'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ';
      assert.deepEqual(await both(['network', 'prune'], 'n\n'), { stdout: prompt, stderr: '', code: 0 });
      assert.deepEqual(await shoal(['network', 'prune'], 'y\n'), {
        stdout: `${prompt}Deleted Networks:\nspare2\n\n`,
        stderr: '',
        code: 0,
      });
      assert.deepEqual(
        (await daemon.apiOk<NetworkResource[]>('GET', `${API}/networks`)).map((n) => n.Name),
        ['ingress'],
      );
    });

    it('the ingress network: rm asks first (as Docker’s CLI), and `create --ingress` makes it again', async () => {
      const warning =
        'WARNING! Before removing the routing-mesh network, make sure all the nodes in your swarm run the same docker engine version. Otherwise, removal may not be effective and functionality of newly create ingress networks will be impaired.\nAre you sure you want to continue? [y/N] ';
      assert.deepEqual(await both(['network', 'rm', 'ingress'], 'n\n'), {
        stdout: warning,
        stderr: '',
        code: 0,
      });
      assert.deepEqual(await docker(['network', 'rm', 'ingress'], 'y\n'), {
        stdout: `${warning}ingress\n`,
        stderr: '',
        code: 0,
      });
      const again = await shoal(['network', 'create', '-d', 'overlay', '--ingress', 'ingress']);
      assert.equal(again.code, 0, again.stderr);
      const ingress = await network('ingress');
      assert.equal(ingress.Ingress, true);
      if (poolFree) assert.deepEqual(ingress.IPAM.Config, [{ Subnet: '10.0.0.0/24', Gateway: '10.0.0.1' }]);
    });
  });

  describe('events', () => {
    it('docker events --filter type=network: creations and removals since the last restart, with the name', async () => {
      const r = await docker([
        'events',
        '--since',
        '0',
        '--until',
        String(Date.now() / 1000),
        '--filter',
        'type=network',
        '--format',
        '{{.Type}} {{.Action}} {{.Scope}} {{json .Actor.Attributes}}',
      ]);
      // The restart of the service test emptied the history (kept in memory, as Docker's).
      assert.deepEqual(r.stdout.trim().split('\n'), [
        'network remove swarm {"name":"mynet"}',
        'network create swarm {"name":"spare1"}',
        'network create swarm {"name":"spare2"}',
        'network remove swarm {"name":"spare1"}',
        'network remove swarm {"name":"spare2"}',
        'network remove swarm {"name":"ingress"}',
        'network create swarm {"name":"ingress"}',
      ]);
    });
  });
});
