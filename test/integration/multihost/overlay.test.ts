// Issue 12's acceptance on both executors, as a user would try it: three hosts of the netns harness,
// an overlay network made with the unmodified docker CLI, `web` (three replicas of busybox httpd, each
// serving its own task name) and `client` on it. From inside the client task (`docker exec` on the docker
// executor; on the process executor its namespaces entered with nsenter) `wget http://tasks.web/` reaches
// every web task across the hosts, `nslookup` answers as Docker's DNS does, and a service not on the
// network neither resolves nor reaches web — until `--network-add`, and again not after `--network-rm`.
// Three replicas on one host each listen on port 80. A host killed with kill -9 leaves the others'
// forwarding entries and DNS, and comes back into them without a stale entry. `network rm` fails while the
// network is used and then leaves no namespace, device, address or rule of it on any host (read from the
// kernel).
//
// Service VIPs (issue 13): `web` resolves to the VIP `docker service inspect` shows, http://web/ is balanced
// per connection over the three tasks on the three hosts, follows a scale within a second without a failed
// request, keeps working while a host's shoald is dead, carries UDP too (process executor: the busybox image
// has no UDP tool), and `--endpoint-mode dnsrr` has no VIP. Host-mode published ports answer only on the
// nodes with a task, straight to it, show the client's own address, work for a task on no network too, move
// to a replacing task, show in `docker service ps`, and a second task on a taken port stays pending with the
// scheduler's explanation.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, dockerdMissing, eventually, TestCluster } from '../../harness/index.js';
import { swarmHelpers, taskName, whoScript, type NodeRow, type TaskRow } from './swarm-helpers.js';
import { inTask as runInTask } from './in-task.js';

const HEARTBEAT_S = 1;

for (const executor of ['process', 'docker'] as const)
  describe(
    `overlay networks on three hosts, ${executor} executor`,
    { timeout: 900_000, skip: executor === 'docker' ? dockerdMissing() : false },
    () => {
      let cluster: TestCluster;
      let www: string;
      let networkId: string;
      const nodeIds = new Map<string, string>();
      const hostOf = new Map<string, string>();

      before(async () => {
        dockerCli();
        www = mkdtempSync(join(tmpdir(), 'shoal-overlay-www-'));
        // Names the DNS does not know go to this resolver: the host's own loopback, where nothing listens.
        const resolvConf = join(www, 'resolv.conf');
        writeFileSync(resolvConf, 'nameserver 127.0.0.1\n');
        cluster = await TestCluster.create({
          hosts: ['manager', 'worker1', 'worker2'],
          daemon: { env: { SHOAL_DNS_RESOLV_CONF: resolvConf } },
          dockerEngines: executor === 'docker',
        });
        await cluster.init('manager', { Spec: { Dispatcher: { HeartbeatPeriod: HEARTBEAT_S * 1e9 } } });
        await cluster.join(['worker1', 'worker2']);
        for (const node of (await cluster.waitForNodes()) as unknown as NodeRow[]) {
          nodeIds.set(node.Description.Hostname, node.ID);
          hostOf.set(node.ID, node.Description.Hostname);
        }
      });
      afterEach((t) => cluster.reportOnFailure(t));
      const { docker, tasks, running, fromHost } = swarmHelpers(() => cluster);
      after(async () => {
        await cluster?.destroy();
        if (www) rmSync(www, { recursive: true, force: true });
      });

      const addressOn = (t: TaskRow, network: string): string | undefined =>
        t.NetworksAttachments?.find((a) => a.Network.Spec.Name === network)?.Addresses?.[0]?.split('/')[0];

      const inTask = (t: TaskRow, argv: string[]) => runInTask(cluster, executor, hostOf, t, argv);
      // `timeout`, not wget's -T: Debian's busybox 1.35 wget segfaults with -T.
      const wget = (t: TaskRow, url: string) => inTask(t, ['timeout', '3', 'busybox', 'wget', '-qO-', url]);
      const nslookup = async (t: TaskRow, name: string): Promise<string[] | undefined> => {
        const { code, stdout } = await inTask(t, ['busybox', 'nslookup', '-type=a', name]);
        if (code !== 0) return undefined;
        const answer = stdout
          .split(/\n\s*\n/)
          .slice(1)
          .join('\n');
        return [...answer.matchAll(/^Address:\s*([\d.]+)$/gm)].map((m) => m[1]!).sort();
      };

      /** Namespaces under /run/netns whose name ends with `-n-<network ID>` (a network's, any node's). */
      const networkNamespaces = (id: string): string[] =>
        readdirSync('/run/netns').filter((name) => name.startsWith('sh-') && name.endsWith(`-n-${id}`));
      /** The forwarding (neighbour) entries of `network` on `host`: the remote task addresses it tunnels to. */
      const neighbours = async (host: string, id: string): Promise<string[]> => {
        const ns = networkNamespaces(id).find((name) =>
          cluster.daemons.some((d) => d.name === host && name.includes(scopeFor(d.dataDir))),
        );
        if (!ns) return [];
        const { stdout } = await cluster
          .host(host)
          .exec('ip', ['-n', ns, '-j', 'neigh', 'show', 'dev', 'vxlan0']);
        return (JSON.parse(stdout || '[]') as { dst: string }[]).map((n) => n.dst).sort();
      };
      const scopeFor = (dataDir: string): string => scopes.get(dataDir) ?? '';
      const scopes = new Map<string, string>();

      const serviceScript = (dir: string): string =>
        `mkdir -p ${dir}/$T && echo $T > ${dir}/$T/index.html && exec busybox httpd -f -p 80 -h ${dir}/$T`;

      it('creates an overlay network with the docker CLI and shows it in ls and inspect', async () => {
        const { scopeOf } = await import('../../../src/agent/network/plan.js');
        for (const d of cluster.daemons) scopes.set(d.dataDir, scopeOf(d.dataDir));
        networkId = (await docker('network', 'create', '-d', 'overlay', 'app')).trim();
        assert.match(networkId, /^[a-z0-9]{25}$/);
        const ls = await docker(
          'network',
          'ls',
          '--filter',
          'name=app',
          '--format',
          '{{.Name}} {{.Driver}} {{.Scope}}',
        );
        assert.equal(ls.trim(), 'app overlay swarm');
        const inspect = JSON.parse(await docker('network', 'inspect', 'app')) as {
          Id: string;
          Driver: string;
        }[];
        assert.equal(inspect[0]!.Id, networkId);
        assert.equal(inspect[0]!.Driver, 'overlay');
      });

      it('web and client on app: from the client, tasks.web reaches every web task across the hosts', async () => {
        await docker(
          'service',
          'create',
          '--name',
          'web',
          '--network',
          'app',
          '--replicas',
          '3',
          '--env',
          'T={{.Task.Name}}',
          'busybox',
          'sh',
          '-c',
          serviceScript(www),
        );
        await docker('service', 'create', '--name', 'client', '--network', 'app', 'busybox', 'sleep', '3600');
        const web = await running('web');
        assert.equal(web.length, 3);
        assert.equal(new Set(web.map((t) => t.NodeID)).size, 3, 'one web task per host');
        const [client] = await running('client');
        assert.ok(client);
        const names = new Set(web.map((t) => taskName('web', t)));
        const seen = new Set<string>();
        await eventually(
          async () => {
            const { code, stdout, stderr } = await wget(client, 'http://tasks.web/');
            assert.equal(code, 0, stderr);
            const name = stdout.trim();
            assert.ok(names.has(name), `${name} is one of the web tasks`);
            seen.add(name);
            assert.equal(seen.size, 3, `seen ${[...seen].join(', ')}`);
          },
          { timeoutMs: 60_000, intervalMs: 50, description: 'every web task answering tasks.web' },
        );
        // Each by its own address too, and by its task name.
        for (const t of web) {
          assert.equal(
            (await wget(client, `http://${addressOn(t, 'app')}/`)).stdout.trim(),
            taskName('web', t),
          );
          assert.equal(
            (await wget(client, `http://${taskName('web', t)}/`)).stdout.trim(),
            taskName('web', t),
          );
        }
      });

      /** The service's virtual IP on `network`, as `docker service inspect` shows it. */
      const vipOf = async (service: string, network: string): Promise<string | undefined> => {
        const [inspect] = JSON.parse(await docker('service', 'inspect', service)) as {
          Endpoint: { Spec: { Mode?: string }; VirtualIPs?: { NetworkID: string; Addr: string }[] };
        }[];
        const id = network === 'app' ? networkId : network;
        return inspect!.Endpoint.VirtualIPs?.find((v) => v.NetworkID === id)?.Addr;
      };

      it('nslookup web answers its VIP (docker service inspect’s), tasks.web the tasks’ addresses, from inside the client', async () => {
        const web = await running('web');
        const [client] = await running('client');
        const addresses = web.map((t) => addressOn(t, 'app')!).sort();
        const vip = await vipOf('web', 'app');
        assert.match(vip ?? '', /^10\.\d+\.\d+\.\d+\/24$/, 'a VIP on app, in its subnet');
        assert.ok(!addresses.includes(vip!.split('/')[0]!), 'the VIP is no task’s address');
        assert.deepEqual(await nslookup(client!, 'tasks.web'), addresses);
        assert.deepEqual(await nslookup(client!, 'web'), [vip!.split('/')[0]!]);
        assert.equal(await nslookup(client!, 'nothing-of-that-name'), undefined);
        // Its own files: the embedded DNS, its hostname and address in /etc/hosts.
        const resolv = (await inTask(client!, ['cat', '/etc/resolv.conf'])).stdout;
        assert.match(resolv, /^nameserver 127\.0\.0\.11$/m);
        const hosts = (await inTask(client!, ['cat', '/etc/hosts'])).stdout;
        assert.match(
          hosts,
          new RegExp(
            `^${addressOn(client!, 'app')!.replace(/\./g, '\\.')}\\s+${client!.ID.slice(0, 12)}$`,
            'm',
          ),
        );
        assert.equal((await inTask(client!, ['hostname'])).stdout.trim(), client!.ID.slice(0, 12));
      });

      it('http://web/ goes through the VIP to every web task, one connection each in turn, across the hosts', async () => {
        const web = await running('web');
        const [client] = await running('client');
        const counts = new Map<string, number>();
        for (let i = 0; i < 9; i++) {
          const { code, stdout, stderr } = await wget(client!, 'http://web/');
          assert.equal(code, 0, `request ${i} through the VIP: ${stderr}`);
          counts.set(stdout.trim(), (counts.get(stdout.trim()) ?? 0) + 1);
        }
        // numgen inc over the three backends: each task gets every third connection.
        assert.deepEqual(
          [...counts.entries()].sort(),
          web.map((t) => [taskName('web', t), 3] as [string, number]).sort(),
        );
        // The VIP itself answers any port the tasks listen on, and refuses where they do not.
        const vip = (await vipOf('web', 'app'))!.split('/')[0]!;
        assert.notEqual((await wget(client!, `http://${vip}:8081/`)).code, 0);
      });

      it('the VIP follows scaling within a second, and a client looping through it sees no failure', async () => {
        const [client] = await running('client');
        const before = await running('web');
        let failures = 0;
        let requests = 0;
        let looping = true;
        const loop = (async () => {
          while (looping) {
            const { code } = await wget(client!, 'http://web/');
            requests++;
            if (code !== 0) failures++;
          }
        })();
        try {
          await docker('service', 'scale', '--detach', 'web=4');
          let added: TaskRow | undefined;
          await eventually(
            async () => {
              added = (await running('web')).find((t) => !before.some((b) => b.ID === t.ID));
              assert.ok(added, 'a fourth web task running');
            },
            { timeoutMs: 60_000, intervalMs: 20, description: 'a fourth web task running' },
          );
          const seenAt = Date.now();
          const wanted = taskName('web', added!);
          await eventually(
            async () => {
              const results = await Promise.all(
                [0, 1, 2, 3].map(() => wget(client!, 'http://web/').then((r) => r.stdout.trim())),
              );
              assert.ok(results.includes(wanted), `${wanted} among ${results.join(', ')}`);
            },
            { timeoutMs: 5_000, intervalMs: 0, description: 'the new task reached through the VIP' },
          );
          const followedMs = Date.now() - seenAt;
          console.log(`# VIP followed a new task ${followedMs} ms after the API showed it running`);
          assert.ok(followedMs < 1_500, `followed in ${followedMs} ms`);
          await docker('service', 'scale', '--detach', 'web=3');
          await eventually(async () => assert.equal((await running('web')).length, 3), {
            timeoutMs: 60_000,
            description: 'back to three web tasks',
          });
          // New connections leave the task being stopped within the same second (the API shows the three
          // before the client's node has its new rules: a few milliseconds apart).
          const after = new Set((await running('web')).map((t) => taskName('web', t)));
          await eventually(
            async () => {
              for (let i = 0; i < 6; i++) {
                const { code, stdout } = await wget(client!, 'http://web/');
                assert.equal(code, 0);
                assert.ok(after.has(stdout.trim()), `${stdout.trim()} is a running web task`);
              }
            },
            { timeoutMs: 1_500, intervalMs: 0, description: 'only the three running tasks through the VIP' },
          );
        } finally {
          looping = false;
          await loop;
        }
        console.log(`# ${failures} of ${requests} requests through the VIP failed while scaling 3 → 4 → 3`);
        assert.equal(failures, 0);
      });

      it('--endpoint-mode dnsrr: no VIP, the name answers the task addresses', async () => {
        await docker(
          'service',
          'create',
          '--name',
          'rr',
          '--endpoint-mode',
          'dnsrr',
          '--network',
          'app',
          '--replicas',
          '2',
          '--env',
          'T={{.Task.Name}}',
          'busybox',
          'sh',
          '-c',
          serviceScript(www),
        );
        assert.equal(await vipOf('rr', 'app'), undefined);
        const rr = await running('rr');
        const [client] = await running('client');
        await eventually(
          async () =>
            assert.deepEqual(await nslookup(client!, 'rr'), rr.map((t) => addressOn(t, 'app')!).sort()),
          { timeoutMs: 10_000, description: 'rr resolving to its tasks' },
        );
        await docker('service', 'rm', 'rr');
      });

      it(
        'UDP through the VIP (process executor: node’s dgram in the tasks)',
        { skip: executor === 'docker' ? 'the busybox image has no UDP client or server' : false },
        async () => {
          const server = `require('dgram').createSocket('udp4').on('message', function (m, r) { this.send(process.env.T, r.port, r.address); }).bind(7000)`;
          await docker(
            'service',
            'create',
            '--name',
            'echo',
            '--network',
            'app',
            '--replicas',
            '2',
            '--env',
            'T={{.Task.Name}}',
            'busybox',
            process.execPath,
            '-e',
            server,
          );
          const echo = await running('echo');
          const [client] = await running('client');
          const ask = `const s = require('dgram').createSocket('udp4'); s.on('message', (m) => { console.log(String(m)); s.close(); }); s.send('hi', 7000, 'echo'); setTimeout(() => process.exit(2), 2000).unref();`;
          const seen = new Set<string>();
          await eventually(
            async () => {
              const { code, stdout, stderr } = await inTask(client!, [process.execPath, '-e', ask]);
              assert.equal(code, 0, stderr);
              seen.add(stdout.trim());
              assert.deepEqual([...seen].sort(), echo.map((t) => taskName('echo', t)).sort());
            },
            { timeoutMs: 20_000, intervalMs: 0, description: 'both echo tasks answering through the VIP' },
          );
          await docker('service', 'rm', 'echo');
        },
      );

      /** busybox httpd on port 80 with a CGI answering `<task name> <client address>`. */

      it('mode=host ports: answered only on nodes with a task, straight to it, with the client’s address; a second task on the port stays pending', async () => {
        // On app, one task each on manager and worker1; and one on no network at all, on worker2.
        await docker(
          'service',
          'create',
          '--name',
          'hp',
          '--network',
          'app',
          '--replicas',
          '2',
          '--replicas-max-per-node',
          '1',
          '--constraint',
          'node.hostname!=worker2',
          '--publish',
          'published=8088,target=80,mode=host',
          '--env',
          'T={{.Task.Name}}',
          'busybox',
          'sh',
          '-c',
          whoScript(www),
        );
        await docker(
          'service',
          'create',
          '--name',
          'hpn',
          '--constraint',
          'node.hostname==worker2',
          '--publish',
          'published=8089,target=80,mode=host',
          '--env',
          'T={{.Task.Name}}',
          'busybox',
          'sh',
          '-c',
          whoScript(www),
        );
        const hp = await running('hp');
        const [hpn] = await running('hpn');
        assert.equal(hp.length, 2);
        const inspect = JSON.parse(await docker('service', 'inspect', 'hp')) as {
          Endpoint: {
            Spec: { Ports?: { PublishMode?: string; PublishedPort?: number; TargetPort?: number }[] };
          };
        }[];
        assert.deepEqual(inspect[0]!.Endpoint.Spec.Ports?.[0], {
          Protocol: 'tcp',
          TargetPort: 80,
          PublishedPort: 8088,
          PublishMode: 'host',
        });
        const client = cluster.host('worker2');
        for (const t of hp) {
          const host = hostOf.get(t.NodeID!)!;
          await eventually(
            async () => {
              const { code, stdout, stderr } = await fromHost(
                'worker2',
                `http://${cluster.host(host).address}:8088/cgi-bin/who`,
              );
              assert.equal(code, 0, stderr);
              assert.equal(stdout.trim(), `${taskName('hp', t)} ${client.address}`);
            },
            { timeoutMs: 10_000, description: `hp's task on ${host} answering with the client's address` },
          );
        }
        // docker service ps shows each running task's port, as a Swarm node reports its container's.
        await eventually(
          async () => {
            const ps = await docker(
              'service',
              'ps',
              'hp',
              '--filter',
              'desired-state=running',
              '--format',
              '{{.Ports}}',
            );
            assert.deepEqual(ps.trim().split('\n'), ['*:8088->80/tcp', '*:8088->80/tcp']);
          },
          { timeoutMs: 5_000, description: 'the tasks’ ports in docker service ps' },
        );
        // The node without an hp task does not answer 8088; the task on no network answers 8089 there.
        assert.notEqual((await fromHost('manager', `http://${client.address}:8088/cgi-bin/who`)).code, 0);
        const manager = cluster.host('manager');
        await eventually(
          async () => {
            const { code, stdout, stderr } = await fromHost(
              'manager',
              `http://${client.address}:8089/cgi-bin/who`,
            );
            assert.equal(code, 0, stderr);
            assert.equal(stdout.trim(), `${taskName('hpn', hpn!)} ${manager.address}`);
          },
          { timeoutMs: 10_000, description: 'hpn (no network) answering on worker2:8089' },
        );
        // Replaced (the old task keeps its namespace until removed): the port goes to the new task.
        await docker('service', 'update', '--force', 'hpn');
        const [replaced] = await running('hpn');
        assert.notEqual(replaced!.ID, hpn!.ID);
        await eventually(
          async () => {
            const { code, stdout, stderr } = await fromHost(
              'manager',
              `http://${client.address}:8089/cgi-bin/who`,
            );
            assert.equal(code, 0, stderr);
            assert.equal(stdout.trim(), `${taskName('hpn', replaced!)} ${manager.address}`);
          },
          { timeoutMs: 10_000, description: 'the replacing hpn task answering on worker2:8089' },
        );
        // A second service on 8088 pinned to a node that has it: its task stays pending, saying why.
        const pinned = await cluster.manager.docker(
          [
            'service',
            'create',
            '--detach',
            '--name',
            'hp2',
            '--constraint',
            'node.hostname==manager',
            '--publish',
            'published=8088,target=80,mode=host',
            'busybox',
            'sleep',
            '3600',
          ],
          { timeoutMs: 60_000 },
        );
        assert.equal(pinned.code, 0, pinned.stderr);
        await eventually(
          async () => {
            const [t] = await tasks('hp2');
            assert.equal(t?.Status.State, 'pending');
            assert.match(t?.Status.Err ?? '', /host-mode port already in use on 1 node/);
          },
          { timeoutMs: 10_000, description: 'hp2 pending on the taken port' },
        );
        await docker('service', 'rm', 'hp', 'hpn', 'hp2');
        // The rules go with the tasks.
        await eventually(
          async () => {
            for (const host of ['manager', 'worker1', 'worker2']) {
              const rules = (await cluster.host(host).exec('nft', ['list', 'ruleset'])).stdout;
              assert.doesNotMatch(rules, /dport 808[89]/, `${host}: no rule of a published port`);
            }
          },
          { timeoutMs: 30_000, description: 'no published-port rule left' },
        );
      });

      it('a service not on app can neither resolve nor reach web; --network-add and --network-rm change that', async () => {
        await docker('network', 'create', '-d', 'overlay', 'other');
        await docker(
          'service',
          'create',
          '--name',
          'outsider',
          '--network',
          'other',
          'busybox',
          'sleep',
          '3600',
        );
        const web = await running('web');
        let [outsider] = await running('outsider');
        assert.equal(await nslookup(outsider!, 'web'), undefined);
        assert.equal(await nslookup(outsider!, 'tasks.web'), undefined);
        assert.notEqual((await wget(outsider!, `http://${addressOn(web[0]!, 'app')}/`)).code, 0);

        await docker('service', 'update', '--network-add', 'app', 'outsider');
        await eventually(
          async () => {
            [outsider] = await running('outsider');
            assert.ok(addressOn(outsider!, 'app'), 'the new task is on app');
            const { code, stdout } = await wget(outsider!, 'http://tasks.web/');
            assert.equal(code, 0);
            assert.match(stdout, /^web\.\d\./);
          },
          { timeoutMs: 60_000, description: 'outsider reaching web after --network-add' },
        );
        await docker('service', 'update', '--network-rm', 'app', 'outsider');
        await eventually(
          async () => {
            [outsider] = await running('outsider');
            assert.equal(addressOn(outsider!, 'app'), undefined);
            assert.equal(await nslookup(outsider!, 'tasks.web'), undefined);
            assert.notEqual((await wget(outsider!, `http://${addressOn(web[0]!, 'app')}/`)).code, 0);
          },
          { timeoutMs: 60_000, description: 'outsider cut off from web after --network-rm' },
        );
      });

      it('a task on app with a secret has both: the secret at /run/secrets, web through tasks.web', async () => {
        const secretFile = join(www, 'token.txt');
        writeFileSync(secretFile, 'overlay-secret\n');
        await docker('secret', 'create', 'token', secretFile);
        await docker(
          'service',
          'create',
          '--name',
          'holder',
          '--network',
          'app',
          '--secret',
          'token',
          'busybox',
          'sleep',
          '3600',
        );
        const [holder] = await running('holder');
        assert.ok(holder);
        assert.equal((await inTask(holder, ['cat', '/run/secrets/token'])).stdout, 'overlay-secret\n');
        const { code, stdout } = await wget(holder, 'http://tasks.web/');
        assert.equal(code, 0);
        assert.match(stdout, /^web\.\d\./);
        await docker('service', 'rm', 'holder');
        await eventually(
          async () => {
            const { code: removed, stderr } = await cluster.manager.docker(['secret', 'rm', 'token']);
            assert.equal(removed, 0, stderr);
          },
          { timeoutMs: 30_000, description: 'the secret removed once its task is gone' },
        );
      });

      it('three replicas listening on port 80 run side by side on one host', async () => {
        await docker(
          'service',
          'create',
          '--name',
          'side',
          '--network',
          'app',
          '--replicas',
          '3',
          '--constraint',
          'node.hostname==worker1',
          '--env',
          'T={{.Task.Name}}',
          'busybox',
          'sh',
          '-c',
          serviceScript(www),
        );
        const side = await running('side');
        assert.equal(side.length, 3);
        assert.deepEqual([...new Set(side.map((t) => hostOf.get(t.NodeID!)))], ['worker1']);
        const [client] = await running('client');
        for (const t of side)
          assert.equal(
            (await wget(client!, `http://${addressOn(t, 'app')}/`)).stdout.trim(),
            taskName('side', t),
          );
        // httpd is pid 1 of its PID namespace and ignores SIGTERM, as in a container: killed after the grace.
        await docker('service', 'rm', 'side');
        const ids = new Set(side.map((t) => t.ID));
        await eventually(
          async () => {
            const all = await cluster.manager.apiOk<TaskRow[]>('GET', '/tasks');
            assert.deepEqual(
              all.filter((t) => ids.has(t.ID) && t.Status.State === 'running'),
              [],
            );
          },
          { timeoutMs: 30_000, description: 'side’s tasks stopped' },
        );
      });

      it('a task that ends lets go of its namespace (and sandbox) at once, while it is still in the history', async () => {
        await docker(
          'service',
          'create',
          '--detach',
          '--name',
          'once',
          '--network',
          'app',
          '--restart-condition',
          'none',
          '--constraint',
          'node.hostname==worker1',
          'busybox',
          'sh',
          '-c',
          'sleep 1; exit 3',
        );
        const [ended] = await eventually(
          async () => {
            const found = (await tasks('once')).filter((t) => t.Status.State === 'failed');
            assert.equal(found.length, 1);
            return found;
          },
          { timeoutMs: 60_000, description: 'once’s task failed' },
        );
        // Its address is free for the next task at once: nothing of the task may still answer for it.
        await eventually(
          () => {
            assert.deepEqual(
              readdirSync('/run/netns').filter(
                (name) => name.startsWith('sh-') && name.endsWith(`-t-${ended!.ID}`),
              ),
              [],
            );
          },
          { timeoutMs: 10_000, description: 'the ended task’s namespace gone' },
        );
        if (executor === 'docker') {
          const sandboxes = await cluster
            .engine('worker1')
            .docker(['ps', '-aq', '--filter', `label=shoal.sandbox.task.id=${ended!.ID}`]);
          assert.equal(sandboxes.stdout.trim(), '', 'no sandbox left');
        }
        await docker('service', 'rm', 'once');
      });

      /** The web tasks' names as tasks.web answers them to the client, over repeated calls. */
      const reachedThroughTasksWeb = async (expected: Set<string>): Promise<void> => {
        const [client] = await running('client');
        const seen = new Set<string>();
        await eventually(
          async () => {
            const { code, stdout } = await wget(client!, 'http://tasks.web/');
            if (code === 0) seen.add(stdout.trim());
            assert.deepEqual([...seen].sort(), [...expected].sort());
          },
          { timeoutMs: 60_000, intervalMs: 50, description: 'every web task through tasks.web' },
        );
      };

      it('kill -9 of shoald: its tasks keep running and reachable, the same ones, re-adopted by the next run', async () => {
        const before = await running('web');
        const onWorker1 = before.filter((t) => hostOf.get(t.NodeID!) === 'worker1').map((t) => t.ID);
        assert.ok(onWorker1.length > 0, 'a web task on worker1');
        await cluster.daemon('worker1').kill();
        // Reached while worker1's shoald is dead — its tasks' namespaces and the tunnels to them stand — from
        // a task of another host (worker1's own tasks have no DNS meanwhile: the node's DNS is shoald's, as
        // a container's is dockerd's).
        const prober = [...before, ...(await running('client'))].find(
          (t) => hostOf.get(t.NodeID!) !== 'worker1',
        )!;
        await eventually(
          async () => {
            for (const t of before) {
              const { code, stdout } = await wget(prober, `http://${addressOn(t, 'app')}/`);
              assert.equal(code, 0);
              assert.equal(stdout.trim(), taskName('web', t));
            }
            // And through the VIP: the balancing rules live in the tasks' namespaces, not in shoald.
            assert.equal((await wget(prober, 'http://web/')).code, 0);
          },
          { timeoutMs: 20_000, description: 'every web task by its address while worker1’s shoald is dead' },
        );
        await cluster.daemon('worker1').start();
        await eventually(
          async () => {
            const web = await running('web');
            assert.deepEqual(web.map((t) => t.ID).sort(), before.map((t) => t.ID).sort(), 'the same tasks');
          },
          { timeoutMs: 30_000, description: 'the same web tasks running' },
        );
        await reachedThroughTasksWeb(new Set(before.map((t) => taskName('web', t))));
      });

      it('a host killed with kill -9 leaves the others’ forwarding entries and DNS, and comes back without a stale entry', async () => {
        /** What `host` must tunnel to: the app tasks of the other hosts, if it has one of its own (else nothing). */
        const remoteOf = async (host: string): Promise<string[]> => {
          const me = nodeIds.get(host);
          const all = [...(await running('web')), ...(await running('client'))];
          if (!all.some((t) => t.NodeID === me)) return [];
          return all
            .filter((t) => t.NodeID !== me)
            .map((t) => addressOn(t, 'app')!)
            .sort();
        };
        await eventually(
          async () => assert.deepEqual(await neighbours('manager', networkId), await remoteOf('manager')),
          {
            timeoutMs: 10_000,
            description: 'the manager tunnelling to exactly the remote tasks',
          },
        );
        const [client] = (await running('client')).filter((t) => hostOf.get(t.NodeID!) !== 'worker2');
        const victim = (await running('web')).find((t) => hostOf.get(t.NodeID!) === 'worker2');
        assert.ok(victim, 'a web task on worker2');
        const victimAddress = addressOn(victim, 'app')!;
        await cluster.daemon('worker2').killHost(); // its dockerd too, on the docker executor
        // Down after the dispatcher's grace (three heartbeats), then the views follow within a batch.
        await eventually(
          async () => {
            assert.ok(!(await neighbours('manager', networkId)).includes(victimAddress));
            if (client) assert.ok(!((await nslookup(client, 'tasks.web')) ?? []).includes(victimAddress));
          },
          {
            timeoutMs: (3 + 2) * HEARTBEAT_S * 1000 + 5_000,
            description: 'worker2’s task gone from entries and DNS',
          },
        );
        if (executor === 'docker') await cluster.engine('worker2').start();
        await cluster.daemon('worker2').start();
        await eventually(
          async () => {
            const node = await cluster.manager.apiOk<{ Status: { State: string } }>(
              'GET',
              `/nodes/${nodeIds.get('worker2')}`,
            );
            assert.equal(node.Status.State, 'ready');
          },
          { timeoutMs: 30_000, description: 'worker2 ready again' },
        );
        // Its replacement went elsewhere meanwhile: a fourth replica lands on worker2, now the emptiest.
        await docker('service', 'update', '--detach', '--replicas', '4', 'web');
        await eventually(
          async () => {
            const web = await running('web');
            assert.equal(web.length, 4);
            assert.ok(
              web.some((t) => t.NodeID === nodeIds.get('worker2')),
              'a web task on worker2',
            );
            for (const host of ['manager', 'worker1', 'worker2'])
              assert.deepEqual(await neighbours(host, networkId), await remoteOf(host), `${host}'s entries`);
            if (client)
              assert.deepEqual(
                await nslookup(client, 'tasks.web'),
                web.map((t) => addressOn(t, 'app')!).sort(),
              );
          },
          { timeoutMs: 60_000, description: 'entries and DNS exact again with worker2 back' },
        );
      });

      it('network rm of a used network fails with Docker’s text; once unused it leaves nothing in any host’s kernel', async () => {
        const used = await cluster.manager.docker(['network', 'rm', 'app']);
        assert.notEqual(used.code, 0);
        assert.match(
          used.stderr,
          /Error response from daemon: rpc error: code = FailedPrecondition desc = network \w+ is in use by service \w+/,
        );
        const taskIds = [
          ...(await tasks('web')),
          ...(await tasks('client')),
          ...(await tasks('outsider')),
        ].map((t) => t.ID);
        await docker('service', 'rm', 'web', 'client', 'outsider');
        await eventually(
          async () => {
            const { code, stderr } = await cluster.manager.docker(['network', 'rm', 'app', 'other']);
            assert.equal(code, 0, stderr);
          },
          { timeoutMs: 30_000, description: 'network rm once the tasks are gone' },
        );
        await eventually(
          async () => {
            assert.deepEqual(networkNamespaces(networkId), []);
            const left = readdirSync('/run/netns').filter((n) =>
              taskIds.some((id) => n.endsWith(`-t-${id}`)),
            );
            assert.deepEqual(left, [], 'no task namespace left');
            for (const host of ['manager', 'worker1', 'worker2']) {
              const h = cluster.host(host);
              const links = (await h.exec('ip', ['-d', '-j', 'link', 'show'])).stdout;
              const vxlans = (
                JSON.parse(links) as { ifname: string; linkinfo?: { info_kind?: string } }[]
              ).filter(
                (l) =>
                  l.linkinfo?.info_kind === 'vxlan' ||
                  (l.linkinfo?.info_kind === 'bridge' && l.ifname.startsWith('br')),
              );
              assert.deepEqual(
                vxlans.map((l) => l.ifname),
                [],
                `${host}: no VXLAN device or network bridge`,
              );
              const addrs = (await h.exec('ip', ['-o', 'addr', 'show'])).stdout;
              assert.doesNotMatch(addrs, /\binet 10\.0\./, `${host}: no overlay address`);
              const rules = (await h.exec('nft', ['list', 'ruleset'])).stdout;
              assert.doesNotMatch(rules, /10\.0\.\d+\.\d+/, `${host}: no rule of the network`);
            }
          },
          { timeoutMs: 20_000, description: 'nothing of app in any kernel' },
        );
      });
    },
  );
