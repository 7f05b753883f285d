// Issue 13's routing mesh, as a user would try it, on both executors: three hosts of the netns harness,
// `web` (busybox httpd answering with its task name and the client address it sees) published with the
// unmodified docker CLI's `--publish 8080:80` and kept off worker2. Port 8080 of every host — worker2 too,
// which has no web task, and `localhost` on a host — reaches all three tasks; `docker service inspect` shows
// the ports and the VIP on ingress as Swarm's; from another service's task `http://web/` is balanced over
// the VIP as well, and so is its own node's 8080. A host's shoald killed with kill -9 leaves its port
// answering, and its next run keeps the same sandbox. Then, with a client on another host looping requests through the mesh for the whole
// scenario: scale to 5, an update with `--update-order start-first`, and a host killed — the failures
// during each change are reported, and none is allowed once the swarm has converged. A port left out is
// given one from 30000, and taken ports are refused with Docker's message. Forwarding, which shoal turns on,
// is guarded against routing between the host's own interfaces, and turned off again by swarm leave. UDP through the mesh on the
// process executor (its tasks can run the host's node; the busybox image has no UDP tool).

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { scopeOf } from '../../../src/agent/network/plan.js';
import { dockerCli, dockerdMissing, eventually, TestCluster } from '../../harness/index.js';
import { swarmHelpers, taskName, whoScript, type NodeRow } from './swarm-helpers.js';
import { inTask } from './in-task.js';

const HEARTBEAT_S = 1;

interface ServiceInspect {
  Endpoint: {
    Spec: { Mode?: string; Ports?: unknown[] };
    Ports?: { Protocol: string; TargetPort: number; PublishedPort: number; PublishMode: string }[];
    VirtualIPs?: { NetworkID: string; Addr: string }[];
  };
}

/**
 * A client that loops HTTP GETs to `url` (a fresh connection each, 2 s timeout) and prints one JSON line per
 * request: `{"at": ms, "ok": true, "body": …}` or `{"at": ms, "ok": false, "error": …}`.
 */
const LOOP_CLIENT = `
const http = require('node:http');
const url = process.argv[1];
const once = () => new Promise((resolve) => {
  const at = Date.now();
  // busybox httpd passes the CGI's bare-LF headers on: the lenient parser reads them.
  const req = http.get(url, { agent: false, timeout: 2000, insecureHTTPParser: true }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => resolve({ at, ok: res.statusCode === 200, body: body.trim(), status: res.statusCode }));
    res.on('error', (err) => resolve({ at, ok: false, error: err.code || String(err) }));
  });
  req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  req.on('error', (err) => resolve({ at, ok: false, error: err.code || String(err) }));
});
(async () => {
  for (;;) {
    process.stdout.write(JSON.stringify(await once()) + '\\n');
    await new Promise((r) => setTimeout(r, 20));
  }
})();
`;

interface LoopResult {
  at: number;
  ok: boolean;
  body?: string;
  error?: string;
}

for (const executor of ['process', 'docker'] as const)
  describe(
    `the routing mesh on three hosts, ${executor} executor`,
    { timeout: 900_000, skip: executor === 'docker' ? dockerdMissing() : false },
    () => {
      let cluster: TestCluster;
      let www: string;
      let ingressId: string;
      const nodeIds = new Map<string, string>();
      const hostOf = new Map<string, string>();

      before(async () => {
        dockerCli();
        www = mkdtempSync(join(tmpdir(), 'shoal-mesh-www-'));
        cluster = await TestCluster.create({
          hosts: ['manager', 'worker1', 'worker2'],
          dockerEngines: executor === 'docker',
        });
        // As on a fresh machine (a new namespace inherits the machine's setting, which an earlier run may
        // have turned on).
        for (const host of cluster.hosts) {
          await host.exec('sh', ['-c', 'echo 0 > /proc/sys/net/ipv4/ip_forward']);
        }
        await cluster.init('manager', { Spec: { Dispatcher: { HeartbeatPeriod: HEARTBEAT_S * 1e9 } } });
        await cluster.join(['worker1', 'worker2']);
        for (const node of (await cluster.waitForNodes()) as unknown as NodeRow[]) {
          nodeIds.set(node.Description.Hostname, node.ID);
          hostOf.set(node.ID, node.Description.Hostname);
        }
      });
      afterEach((t) => cluster.reportOnFailure(t));
      const { docker, running, fromHost } = swarmHelpers(() => cluster);
      after(async () => {
        await cluster?.destroy();
        if (www) rmSync(www, { recursive: true, force: true });
      });

      const dockerFails = async (...args: string[]): Promise<string> => {
        const { stderr, code } = await cluster.manager.docker(args, { timeoutMs: 60_000 });
        assert.notEqual(code, 0, `docker ${args.join(' ')} should fail`);
        return stderr;
      };
      const inspect = async (service: string): Promise<ServiceInspect> =>
        (JSON.parse(await docker('service', 'inspect', service)) as ServiceInspect[])[0]!;

      /** The task names answering `count` requests to `url` from `host`. */
      const answers = async (host: string, url: string, count: number): Promise<string[]> => {
        const out: string[] = [];
        for (let i = 0; i < count; i++) {
          const { code, stdout, stderr } = await fromHost(host, url);
          assert.equal(code, 0, `request ${i} to ${url} from ${host}: ${stderr}`);
          out.push(stdout.split(' ')[0]!);
        }
        return out;
      };

      it('--publish 8080:80: every host’s 8080 — one without a web task, and localhost — reaches all three tasks', async () => {
        await docker('network', 'create', '-d', 'overlay', 'app');
        await docker(
          'service',
          'create',
          '--name',
          'web',
          '--network',
          'app',
          '--replicas',
          '3',
          '--constraint',
          'node.hostname!=worker2',
          '--publish',
          '8080:80',
          '--env',
          'T={{.Task.Name}}',
          'busybox',
          'sh',
          '-c',
          whoScript(www),
        );
        const web = await running('web');
        assert.equal(web.length, 3);
        assert.ok(!web.some((t) => hostOf.get(t.NodeID!) === 'worker2'), 'no web task on worker2');
        const names = web.map((t) => taskName('web', t)).sort();
        for (const host of ['manager', 'worker1', 'worker2']) {
          await eventually(
            async () => {
              const seen = await answers(host, `http://${cluster.host(host).address}:8080/cgi-bin/who`, 6);
              // numgen inc: each of the three tasks gets every third connection.
              assert.deepEqual([...new Set(seen)].sort(), names, `${host}'s 8080 reaches every task`);
            },
            { timeoutMs: 15_000, description: `every web task through ${host}'s 8080` },
          );
          // From another host, and on localhost of the host itself.
          const other = host === 'worker2' ? 'manager' : 'worker2';
          const seen = await answers(other, `http://${cluster.host(host).address}:8080/cgi-bin/who`, 3);
          assert.deepEqual([...new Set(seen)].sort(), names, `${host}'s 8080 from ${other}`);
          const local = await answers(host, 'http://127.0.0.1:8080/cgi-bin/who', 3);
          assert.deepEqual([...new Set(local)].sort(), names, `localhost:8080 on ${host}`);
        }
        // The task sees the address of the sandbox it came through: that node's own address on ingress.
        const ingress = JSON.parse(await docker('network', 'inspect', 'ingress')) as { Id: string }[];
        ingressId = ingress[0]!.Id;
        const { stdout } = await fromHost(
          'worker1',
          `http://${cluster.host('worker2').address}:8080/cgi-bin/who`,
        );
        assert.match(
          stdout.split(' ')[1] ?? '',
          /^10\.0\.0\.\d+$/,
          `the client address a task sees: ${stdout}`,
        );
      });

      it('docker service inspect and ls show the ports and the VIP on ingress, as Swarm’s', async () => {
        const web = await inspect('web');
        const port = { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' };
        assert.deepEqual(web.Endpoint.Spec, { Mode: 'vip', Ports: [port] });
        assert.deepEqual(web.Endpoint.Ports, [port]);
        const vips = web.Endpoint.VirtualIPs ?? [];
        assert.equal(vips.length, 2, 'a VIP on ingress and one on app');
        assert.equal(vips[0]!.NetworkID, ingressId, 'ingress first');
        assert.match(vips[0]!.Addr, /^10\.0\.0\.\d+\/24$/);
        const ls = await docker('service', 'ls', '--filter', 'name=web', '--format', '{{.Name}} {{.Ports}}');
        assert.equal(ls.trim(), 'web *:8080->80/tcp');
      });

      it('from another service’s task, http://web/ is balanced over the three tasks', async () => {
        await docker('service', 'create', '--name', 'client', '--network', 'app', 'busybox', 'sleep', '3600');
        const [client] = await running('client');
        assert.ok(client);
        const names = (await running('web')).map((t) => taskName('web', t)).sort();
        const counts = new Map<string, number>();
        for (let i = 0; i < 6; i++) {
          const { code, stdout, stderr } = await inTask(cluster, executor, hostOf, client, [
            'timeout',
            '3',
            'busybox',
            'wget',
            '-qO-',
            'http://web/cgi-bin/who',
          ]);
          assert.equal(code, 0, stderr);
          const name = stdout.trim().split(' ')[0]!;
          counts.set(name, (counts.get(name) ?? 0) + 1);
        }
        assert.deepEqual(
          [...counts.entries()].sort(),
          names.map((n) => [n, 2] as [string, number]),
        );
        // And the port published on its own node, through the node's address (out of the task and back in).
        const own = cluster.host(hostOf.get(client.NodeID!)!).address;
        const { code, stdout, stderr } = await inTask(cluster, executor, hostOf, client, [
          'timeout',
          '3',
          'busybox',
          'wget',
          '-qO-',
          `http://${own}:8080/cgi-bin/who`,
        ]);
        assert.equal(code, 0, stderr);
        assert.ok(names.includes(stdout.trim().split(' ')[0]!), stdout);
      });

      it('kill -9 of a host’s shoald: its 8080 keeps answering while it is dead, and after it restarts, through the same sandbox', async () => {
        const daemon = cluster.daemon('worker2');
        const sandboxOf = () => {
          const scope = scopeOf(daemon.dataDir);
          const name = readdirSync('/run/netns').find((n) => n.startsWith(`sh-${scope}-s-`));
          assert.ok(name, 'worker2 has a mesh sandbox');
          return statSync(`/run/netns/${name}`).ino;
        };
        const before = sandboxOf();
        const url = `http://${cluster.host('worker2').address}:8080/cgi-bin/who`;
        await daemon.kill();
        assert.equal((await fromHost('manager', url)).code, 0, 'answered while shoald is dead');
        await daemon.start();
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
        const names = (await running('web')).map((t) => taskName('web', t)).sort();
        // Its first view rewrites the sandbox's rules, which starts numgen's count again: retried.
        await eventually(
          async () => assert.deepEqual([...new Set(await answers('manager', url, 3))].sort(), names),
          { timeoutMs: 10_000, description: 'every web task through worker2 after its restart' },
        );
        assert.equal(sandboxOf(), before, 'the same sandbox namespace');
      });

      it('a client looping through the mesh sees no failure after scale 3 → 5, a start-first update and a killed host converge', async () => {
        // The client runs on worker2 (which the kill spares) and goes through the manager's port.
        const url = `http://${cluster.host('manager').address}:8080/cgi-bin/who`;
        const child: ChildProcess = cluster
          .host('worker2')
          .spawn(process.execPath, ['-e', LOOP_CLIENT, url], {
            stdio: ['ignore', 'pipe', 'inherit'],
          });
        const results: LoopResult[] = [];
        let buffer = '';
        child.stdout!.on('data', (d: Buffer) => {
          buffer += d.toString();
          let nl: number;
          while ((nl = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            if (line.trim()) results.push(JSON.parse(line) as LoopResult);
          }
        });
        const since = (at: number) => results.filter((r) => r.at >= at);
        const failed = (list: LoopResult[]) => list.filter((r) => !r.ok);
        /** Waits for `ms` of requests after `at` to have come back, and returns those after `at`. */
        const quietFor = async (ms: number): Promise<LoopResult[]> => {
          const start = Date.now();
          await eventually(async () => assert.ok(results.some((r) => r.at >= start + ms)), {
            timeoutMs: ms + 10_000,
            description: `${ms} ms of requests`,
          });
          return results.filter((r) => r.at >= start && r.at < start + ms);
        };
        const report: string[] = [];
        try {
          await eventually(
            async () =>
              assert.ok(
                results.some((r) => r.ok),
                JSON.stringify(results.slice(-3)),
              ),
            {
              timeoutMs: 10_000,
              description: 'the loop client answered',
            },
          );
          const steady = await quietFor(2_000);
          assert.deepEqual(failed(steady), [], 'no failure before any change');

          // 1. Scale to 5 (the constraint lifted, so worker2 gets tasks too).
          let at = Date.now();
          await docker(
            'service',
            'update',
            '--constraint-rm',
            'node.hostname!=worker2',
            '--replicas',
            '5',
            'web',
          );
          await eventually(async () => assert.equal((await running('web')).length, 5), {
            timeoutMs: 60_000,
            description: 'five web tasks running',
          });
          let window = await quietFor(3_000);
          report.push(`scale 3 → 5: ${failed(since(at)).length} of ${since(at).length} failed`);
          assert.deepEqual(failed(window), [], 'no failure once the scale converged');
          const five = new Set((await running('web')).map((t) => taskName('web', t)));
          assert.deepEqual(
            [...new Set(window.map((r) => r.body?.split(' ')[0]))].sort(),
            [...five].sort(),
            'the five tasks all reached',
          );

          // 2. A rolling update, start-first.
          at = Date.now();
          await docker(
            'service',
            'update',
            '--update-order',
            'start-first',
            '--update-parallelism',
            '2',
            '--env-add',
            'V=2',
            'web',
          );
          window = await quietFor(3_000);
          report.push(`start-first update: ${failed(since(at)).length} of ${since(at).length} failed`);
          assert.deepEqual(failed(window), [], 'no failure once the update converged');

          // 3. A host killed (worker1: not the client's, not the manager the client goes through).
          at = Date.now();
          await cluster.daemon('worker1').killHost();
          await eventually(
            async () => {
              const web = await running('web');
              assert.equal(web.length, 5);
              assert.ok(!web.some((t) => hostOf.get(t.NodeID!) === 'worker1'), 'none on worker1');
            },
            { timeoutMs: 60_000, description: 'five web tasks running without worker1' },
          );
          window = await quietFor(3_000);
          report.push(`worker1 killed: ${failed(since(at)).length} of ${since(at).length} failed`);
          assert.deepEqual(failed(window), [], 'no failure once the swarm converged without worker1');
        } finally {
          child.kill('SIGKILL');
          console.log(`# ${executor}: ${report.join('; ')}`);
        }
      });

      it('a port left out is given one from 30000; a taken one is refused with Docker’s message', async () => {
        await docker(
          'service',
          'create',
          '--name',
          'dyn',
          '--publish',
          'target=80',
          '--env',
          'T=dyn',
          'busybox',
          'sh',
          '-c',
          whoScript(www),
        );
        const dyn = await inspect('dyn');
        assert.deepEqual(dyn.Endpoint.Ports, [
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 30000, PublishMode: 'ingress' },
        ]);
        await eventually(
          async () => {
            const { code, stdout } = await fromHost(
              'worker2',
              `http://${cluster.host('manager').address}:30000/cgi-bin/who`,
            );
            assert.equal(code, 0);
            assert.match(stdout, /^dyn /);
          },
          { timeoutMs: 15_000, description: 'dyn answering on 30000' },
        );
        // An update that changes nothing else keeps its port.
        await docker('service', 'update', '--detach', '--env-add', 'X=1', 'dyn');
        assert.equal((await inspect('dyn')).Endpoint.Ports?.[0]?.PublishedPort, 30000);
        const webId = (await docker('service', 'inspect', '--format', '{{.ID}}', 'web')).trim();
        const stderr = await dockerFails(
          'service',
          'create',
          '--name',
          'clash',
          '--publish',
          '8080:80',
          'busybox',
          'sleep',
          '60',
        );
        assert.match(
          stderr,
          new RegExp(`port '8080' is already in use by service 'web' \\(${webId}\\) as an ingress port`),
        );
        const dynId = (await docker('service', 'inspect', '--format', '{{.ID}}', 'dyn')).trim();
        const clash = await dockerFails('service', 'update', '--publish-add', '30000:81', 'web');
        assert.match(clash, new RegExp(`port '30000' is already in use by service 'dyn' \\(${dynId}\\)`));
        // --publish-rm closes the port on every node.
        await docker('service', 'update', '--detach', '--publish-rm', '80', 'dyn');
        assert.equal((await inspect('dyn')).Endpoint.Ports, undefined);
        await eventually(
          async () => {
            const { code } = await fromHost('worker2', `http://${cluster.host('manager').address}:30000/`);
            assert.notEqual(code, 0);
          },
          { timeoutMs: 15_000, description: '30000 closed' },
        );
      });

      it(
        'UDP through the mesh',
        { skip: executor === 'docker' ? 'the busybox image has no UDP tool' : false },
        async () => {
          const echo = `require('dgram').createSocket('udp4').on('message', function (m, r) { this.send(process.env.T + ' ' + m, r.port, r.address); }).bind(7000)`;
          await docker(
            'service',
            'create',
            '--name',
            'udp',
            '--replicas',
            '2',
            '--publish',
            'published=7000,target=7000,protocol=udp',
            '--env',
            'T={{.Task.Name}}',
            'busybox',
            process.execPath,
            '-e',
            echo,
          );
          const names = (await running('udp')).map((t) => taskName('udp', t)).sort();
          const ask = `const s = require('dgram').createSocket('udp4'); s.on('message', (m) => { console.log(String(m)); s.close(); }); s.send('hi', 7000, process.argv[1]); setTimeout(() => process.exit(2), 2000).unref();`;
          const seen = new Set<string>();
          await eventually(
            async () => {
              const { stdout, code } = await cluster
                .host('worker2')
                .exec(process.execPath, ['-e', ask, cluster.host('manager').address], { allowFailure: true });
              assert.equal(code, 0, 'an answer');
              assert.match(stdout.trim(), / hi$/);
              seen.add(stdout.trim().split(' ')[0]!);
              assert.deepEqual([...seen].sort(), names);
            },
            { timeoutMs: 20_000, intervalMs: 0, description: 'both udp tasks answering through the mesh' },
          );
        },
      );

      it('with no port published in ingress mode, no live host keeps a mesh sandbox', async () => {
        for (const service of ['web', 'dyn', 'client', 'udp']) {
          await cluster.manager.docker(['service', 'rm', service], { timeoutMs: 60_000 });
        }
        // worker1 was killed: what it left is its next run's to clean.
        const scopes = cluster.daemons.filter((d) => d.name !== 'worker1').map((d) => scopeOf(d.dataDir));
        await eventually(
          async () => {
            const sandboxes = readdirSync('/run/netns').filter((name) =>
              scopes.some((scope) => name.startsWith(`sh-${scope}-s-`)),
            );
            assert.deepEqual(sandboxes, []);
          },
          { timeoutMs: 20_000, description: 'every mesh sandbox gone' },
        );
      });

      it('forwarding, off on a fresh host, is guarded while shoal has it on, and off again after swarm leave', async () => {
        const host = cluster.host('worker2');
        const table = `shoal_${scopeOf(cluster.daemon('worker2').dataDir)}`;
        const { stdout } = await host.exec('nft', ['list', 'table', 'ip', table]);
        // The forward chain jumps to the guard, which lets through only what has a bridge or veth on a side.
        assert.match(stdout, /chain forward \{\n[^\n]*\n\t\tjump guard\n/);
        assert.match(
          stdout,
          /chain guard \{\n\t\tmeta iifkind \{ "veth", "bridge" \} return\n\t\tmeta oifkind \{ "veth", "bridge" \} return\n\t\tdrop\n/,
        );
        assert.equal((await host.exec('cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '1');
        const left = await cluster
          .daemon('worker2')
          .docker(['swarm', 'leave', '--force'], { timeoutMs: 60_000 });
        assert.equal(left.code, 0, left.stderr);
        // The node's networking is cleaned up as the leave completes.
        await eventually(
          async () => {
            assert.equal((await host.exec('cat', ['/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '0');
            const gone = await host.exec('nft', ['list', 'table', 'ip', table], { allowFailure: true });
            assert.notEqual(gone.code, 0, 'no table left');
          },
          { timeoutMs: 15_000, description: 'forwarding off and no table left' },
        );
      });
    },
  );
