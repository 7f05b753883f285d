// Stacks on a real shoald, as a user would try them with `shoal stack` and the unmodified `docker stack`.
//
// Every service of a stack is on a network, so shoald runs in a host of the netns harness: its tasks
// get network namespaces, bridges and rules, which must not be the machine's. Then:
//   - the example stacks are deployed as they are; those that need what shoal cannot do yet are refused
//     cleanly and as Docker fails (networks, secrets and configs created first, then the first service
//     refused; `stack rm` removes them). EXAMPLES lists what each one still needs; when the refusal does not
//     come (the features landed), the test checks the deployed objects instead;
//   - the scenarios (both CLIs giving the same services, a redeploy restarting nothing but what changed,
//     --prune, diff, ls/services/ps, rm, depends_on) run against shoald with their networks.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { dockerCli, eventually, Network, ShoalDaemon } from '../harness/index.js';
import { STACKS } from '../unit/compose/support.js';
import { comparable } from './support/relative-times.js';

interface TaskRow {
  ID: string;
  ServiceID: string;
  Slot?: number;
  NodeID?: string;
  DesiredState: string;
  CreatedAt: string;
  Status: { State: string; Err?: string; Timestamp: string };
}

interface ServiceRow {
  ID: string;
  Version: { Index: number };
  Spec: { Name: string; Labels?: Record<string, string> };
}

/**
 * The examples and what each needs that shoal does not do here (the refusal names one of them): mounts,
 * ulimits, capabilities and the like need the Docker Engine executor (this shoald runs the process
 * executor), the encrypted overlay is not built. Networks are attached, secrets and configs delivered and
 * ports published (host mode and the routing mesh) on both executors, so no longer among them; an example
 * with no need left deploys whole.
 */
const EXAMPLES: {
  file: string[];
  stack: string;
  env?: Record<string, string>;
  externals?: boolean;
  needs: RegExp[];
  services: string[];
}[] = [
  {
    file: ['web-worker-cache.yml'],
    stack: 'shop',
    needs: [/\(mount:volume\)/, /\(ulimits\)/],
    services: ['shop_cache', 'shop_web', 'shop_worker'],
  },
  {
    file: ['secrets-configs.yml'],
    stack: 'billing',
    externals: true,
    // Its secrets and configs delivered, its networks attached, its port published: it deploys whole.
    needs: [],
    services: ['billing_api', 'billing_proxy'],
  },
  {
    file: ['global-placement.yml'],
    stack: 'ops',
    // The encrypted overlay (`driver_opts: {encrypted: "true"}`) is refused when the network is created.
    needs: [/option "encrypted" is not supported/, /\(mount:bind\)/, /\(oom-score-adj\)/],
    services: ['ops_api', 'ops_db-migrate', 'ops_log-shipper', 'ops_node-exporter'],
  },
  {
    file: ['interpolation.yml'],
    stack: 'interp',
    env: {
      APP_TAG: '2.3.1',
      APP_PORT: '8088',
      APP_REPLICAS: '3',
      DEPLOY_REGION: 'eu-west',
      UNIT: 'hour',
      BUILD_ID: '20240611.3',
      LOG_LEVEL: '',
    },
    needs: [],
    services: ['interp_app'],
  },
  {
    file: ['merge-base.yml', 'merge-override.yml'],
    stack: 'shopm',
    needs: [/\(read-only\)/, /\(dns-config\)/, /\(capabilities\)/],
    services: ['shopm_cache', 'shopm_metrics', 'shopm_web'],
  },
];

describe('stacks on shoald', { timeout: 600_000 }, () => {
  let net: Network;
  let daemon: ShoalDaemon;
  /** Where the scenarios send their requests. */
  let scenarioHost: string;
  let dir: string;

  const api = <T>(method: string, path: string, body?: unknown): Promise<T> =>
    daemon.apiOk<T>(method, path, body);
  const filter = (f: Record<string, string[]>): string =>
    encodeURIComponent(
      JSON.stringify(
        Object.fromEntries(
          Object.entries(f).map(([k, vs]) => [k, Object.fromEntries(vs.map((v) => [v, true]))]),
        ),
      ),
    );
  const byStack = (stack: string): string => filter({ label: [`com.docker.stack.namespace=${stack}`] });

  /** Runs a CLI against the scenario host (or shoald directly), failing with its output. */
  async function cli(
    which: 'shoal' | 'docker',
    args: string[],
    options: { direct?: boolean; env?: Record<string, string>; ok?: boolean } = {},
  ) {
    const host = options.direct ? daemon.apiHost : scenarioHost;
    const env = { SHOAL_HOST: host, DOCKER_HOST: host, ...options.env };
    const result =
      which === 'shoal'
        ? await daemon.cli(args, { env, timeoutMs: 180_000 })
        : await daemon.docker(args, { env, timeoutMs: 180_000 });
    if (options.ok !== false) assert.equal(result.code, 0, `${which} ${args.join(' ')}: ${result.stderr}`);
    return result;
  }

  const services = (stack: string) => api<ServiceRow[]>('GET', `/v1.44/services?filters=${byStack(stack)}`);
  /** The tasks of the stack's services (those of services already removed are not the stack's any more). */
  const tasksOf = async (stack: string): Promise<TaskRow[]> => {
    const ids = new Set((await services(stack)).map((s) => s.ID));
    return (await api<TaskRow[]>('GET', `/v1.44/tasks?filters=${byStack(stack)}`)).filter((t) =>
      ids.has(t.ServiceID),
    );
  };
  const leftovers = async (stack: string) => ({
    services: (await services(stack)).length,
    networks: (await api<unknown[]>('GET', `/v1.44/networks?filters=${byStack(stack)}`)).length,
    secrets: (await api<unknown[]>('GET', `/v1.44/secrets?filters=${byStack(stack)}`)).length,
    configs: (await api<unknown[]>('GET', `/v1.44/configs?filters=${byStack(stack)}`)).length,
  });
  const NOTHING = { services: 0, networks: 0, secrets: 0, configs: 0 };

  /** Waits until every service of the stack runs all its tasks. */
  async function converged(stack: string, running: number): Promise<TaskRow[]> {
    let last: TaskRow[] = [];
    await eventually(
      async () => {
        last = (await tasksOf(stack)).filter(
          (t) => t.DesiredState === 'running' && t.Status.State === 'running',
        );
        assert.equal(
          last.length,
          running,
          JSON.stringify((await tasksOf(stack)).map((t) => [t.Status.State, t.Status.Err])),
        );
      },
      { timeoutMs: 60_000, description: `${running} tasks of ${stack} running` },
    );
    return last;
  }

  function file(name: string, text: string): string {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  }

  /** The scenarios' stack: two services that run as processes, a secret and a config nobody mounts. */
  const app = (opts: { webReplicas?: number; greeting?: string; worker?: boolean } = {}): string =>
    [
      'version: "3.8"',
      'services:',
      '  web:',
      '    image: busybox',
      // Each the init of its PID namespace, which ignores SIGTERM unless it handles it (as in a container):
      // they handle it, so that stopping them does not take the grace period.
      '    command: ["sh", "-c", "trap exit TERM; sleep 3600 & wait"]',
      '    environment:',
      `      GREETING: "\${GREETING:-${opts.greeting ?? 'hello'}}"`,
      '    deploy:',
      `      replicas: ${opts.webReplicas ?? 2}`,
      '      labels:',
      '        tier: frontend',
      '      update_config:',
      '        parallelism: 1',
      '        delay: 1s',
      ...(opts.worker === false
        ? []
        : [
            '  worker:',
            '    image: busybox',
            '    command: sh -c "trap exit TERM; sleep 3600 & wait"',
            '    environment:',
            '      - MODE=${WORKER_MODE:-batch}',
            '    deploy:',
            '      replicas: 1',
            '      restart_policy:',
            '        condition: on-failure',
            '        max_attempts: 3',
          ]),
      'secrets:',
      '  app_secret:',
      '    file: ./app_secret.txt',
      'configs:',
      '  app_config:',
      '    file: ./app.conf',
      '',
    ].join('\n');

  before(async () => {
    dockerCli();
    net = await Network.create({ hosts: ['solo'] });
    daemon = new ShoalDaemon(net.hosts[0]!);
    await daemon.start();
    await daemon.apiOk('POST', '/v1.41/swarm/init', {
      ListenAddr: `${daemon.address}:2377`,
      AdvertiseAddr: daemon.address,
    });
    dir = join(daemon.workDir, 'stacks');
    mkdirSync(dir);
    writeFileSync(join(dir, 'app_secret.txt'), 'stack-secret-value\n');
    writeFileSync(join(dir, 'app.conf'), 'key=value\n');
    scenarioHost = daemon.apiHost;
  });
  afterEach((t) => daemon.reportOnFailure(t));
  after(async () => {
    await daemon?.destroy();
    await net?.destroy();
  });

  describe('the example stacks, deployed as they are', () => {
    for (const example of EXAMPLES) {
      it(`${example.file.join(' + ')} as ${example.stack}`, async () => {
        if (example.externals) {
          await cli(
            'shoal',
            ['secret', 'create', 'payment_gateway_token', join(STACKS, 'secrets/db_password.txt')],
            { direct: true },
          );
          await cli('shoal', ['config', 'create', 'corp-ca-bundle', join(STACKS, 'configs/app.properties')], {
            direct: true,
          });
        }
        const files = example.file.flatMap((f) => ['-c', join(STACKS, f)]);
        const deployed = await cli(
          'shoal',
          ['stack', 'deploy', '--resolve-image', 'never', ...files, example.stack],
          {
            direct: true,
            env: example.env ?? {},
            ok: false,
          },
        );
        if (example.needs.length === 0) assert.equal(deployed.code, 0, deployed.stderr);
        if (deployed.code === 0) {
          // What shoal could not do has landed: the objects are there.
          const names = (await services(example.stack)).map((s) => s.Spec.Name).sort();
          assert.deepEqual(names, example.services);
        } else {
          // Refused as Docker fails: networks (and secrets, configs) first, then the services in order until
          // the first one refused (those before it stay) — or a network, when shoal refuses the network itself.
          const refused = new RegExp(
            `failed to create (service (${example.services.join('|')})|network ${example.stack}_\\S+): Error response from daemon: `,
          ).exec(deployed.stderr);
          assert.ok(refused, `refused as Docker fails: ${deployed.stderr}`);
          assert.ok(
            example.needs.some((need) => need.test(deployed.stderr)),
            `the refusal names one of the known needs: ${deployed.stderr}`,
          );
          assert.match(deployed.stdout, /^Creating network /m);
          const before = refused[2] ? example.services.slice(0, example.services.indexOf(refused[2])) : [];
          assert.deepEqual(
            (await services(example.stack)).map((s) => s.Spec.Name).sort(),
            before,
            'the services before the refused one created, no other',
          );
        }
        const rm = await cli('shoal', ['stack', 'rm', example.stack], { direct: true });
        assert.match(rm.stdout, /^Removing network /m);
        await eventually(async () => assert.deepEqual(await leftovers(example.stack), NOTHING), {
          timeoutMs: 30_000,
          description: `nothing of ${example.stack} left`,
        });
        if (example.externals) {
          await cli('shoal', ['secret', 'rm', 'payment_gateway_token'], { direct: true });
          await cli('shoal', ['config', 'rm', 'corp-ca-bundle'], { direct: true });
        }
      });
    }

    it('the docker CLI is refused the same way, and creates what shoal creates first', async () => {
      const one = file(
        'one.yml',
        // A read-only root filesystem: what the process executor cannot honour.
        'version: "3.8"\nservices:\n  one:\n    image: busybox\n    command: [sleep, "1"]\n    read_only: true\n',
      );
      const viaShoal = await cli(
        'shoal',
        ['stack', 'deploy', '--resolve-image', 'never', '-c', one, 'ref1'],
        { direct: true, ok: false },
      );
      const viaDocker = await cli(
        'docker',
        ['stack', 'deploy', '--resolve-image', 'never', '-c', one, 'ref1'],
        { direct: true, ok: false },
      );
      assert.equal(viaShoal.code, 1);
      assert.equal(viaDocker.code, 1);
      assert.equal(
        viaDocker.stdout,
        'Creating service ref1_one\n',
        'the network was there from the first run',
      );
      assert.equal(viaShoal.stdout, 'Creating network ref1_default\nCreating service ref1_one\n');
      assert.match(
        viaShoal.stderr,
        /failed to create service ref1_one: Error response from daemon: ContainerSpec\.ReadOnly \(read-only\) cannot be honoured/,
      );
      const why = (t: string): string => t.slice(t.indexOf('failed to create service'));
      assert.equal(why(viaShoal.stderr), why(viaDocker.stderr));
      await cli('docker', ['stack', 'rm', 'ref1'], { direct: true });
      assert.deepEqual(await leftovers('ref1'), NOTHING);
    });
  });

  describe('scenarios', () => {
    it('shoal and docker deploy the same services (service inspect compared)', async () => {
      const path = file('same.yml', app());
      const shoal = await cli('shoal', [
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        path,
        'viashoal',
      ]);
      const docker = await cli('docker', [
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        path,
        'viadocker',
      ]);
      // Docker creates the services in a Go map's order.
      const sorted = (t: string): string => t.split('\n').sort().join('\n');
      assert.equal(
        sorted(shoal.stdout.replaceAll('viashoal', 'X')),
        sorted(docker.stdout.replaceAll('viadocker', 'X')),
      );
      assert.equal(shoal.stderr, docker.stderr);
      const inspect = async (stack: string, svc: string): Promise<unknown> => {
        const { stdout } = await cli('docker', ['service', 'inspect', `${stack}_${svc}`]);
        const [s] = JSON.parse(stdout) as Record<string, unknown>[];
        const spec = JSON.stringify((s as { Spec: unknown }).Spec).replaceAll(stack, 'X');
        // IDs of the stack's secrets, configs and networks differ between the two stacks.
        return JSON.parse(spec.replace(/"(Target|SecretID|ConfigID)":"[0-9a-z]{25}"/g, '"$1":"ID"'));
      };
      for (const svc of ['web', 'worker']) {
        assert.deepEqual(await inspect('viashoal', svc), await inspect('viadocker', svc), svc);
      }
      await converged('viashoal', 3);
      await converged('viadocker', 3);
      // stack ls, services and ps print the same through both CLIs.
      for (const args of [
        ['stack', 'ls'],
        ['stack', 'services', 'viashoal'],
        ['stack', 'ps', 'viashoal'],
        ['stack', 'ps', '--no-trunc', '-f', 'desired-state=running', 'viadocker'],
        ['stack', 'services', '-q', 'viadocker'],
      ]) {
        const mine = await cli('shoal', args);
        const theirs = await cli('docker', args);
        // Relative times, and so the width of their column, move between the two runs.
        assert.equal(...comparable(mine.stdout, theirs.stdout), args.join(' '));
      }
      // Redeployed as they are with --resolve-image always (the default): every service is updated, and the
      // digest query fails (no registry through the process executor) with Docker's warning on stderr.
      const again = await cli('shoal', ['stack', 'deploy', '-c', path, 'viashoal']);
      const againDocker = await cli('docker', ['stack', 'deploy', '-c', path, 'viadocker']);
      assert.equal(
        sorted(again.stderr.replaceAll('viashoal', 'X')),
        sorted(againDocker.stderr.replaceAll('viadocker', 'X')),
      );
      assert.match(
        again.stderr,
        /image busybox:latest could not be accessed on a registry to record\nits digest/,
      );
      // Without --detach=false: the docker CLI's wait counts tasks that reached a terminal state across its
      // polls, and never ends when some are deleted between two polls (as swarmkit's reaper deletes them too);
      // shoal's own `stack rm --detach=false` is tested below.
      await cli('docker', ['stack', 'rm', 'viadocker']);
      await cli('shoal', ['stack', 'rm', 'viashoal']);
      await eventually(async () => assert.deepEqual(await leftovers('viadocker'), NOTHING), {
        timeoutMs: 60_000,
        description: 'nothing left of viadocker',
      });
    });

    it('a redeploy with one replica count changed restarts nothing else; --prune removes a dropped service', async () => {
      const path = file('scaled.yml', app());
      await cli('shoal', ['stack', 'deploy', '--resolve-image', 'never', '-c', path, 'demo']);
      const before = await converged('demo', 3);
      const versions = new Map((await services('demo')).map((s) => [s.Spec.Name, s.Version.Index]));
      file('scaled.yml', app({ webReplicas: 3 }));
      // The unmodified docker CLI redeploys: every service is updated, as Docker does.
      const redeploy = await cli('docker', [
        'stack',
        'deploy',
        '--resolve-image',
        'never',
        '-c',
        path,
        'demo',
      ]);
      assert.match(redeploy.stdout, /^Updating service demo_web \(id: [0-9a-z]{25}\)$/m);
      assert.match(redeploy.stdout, /^Updating service demo_worker \(id: [0-9a-z]{25}\)$/m);
      const after = await converged('demo', 4);
      for (const task of before)
        assert.ok(
          after.some((t) => t.ID === task.ID),
          `task ${task.ID} still runs`,
        );
      const all = await tasksOf('demo');
      assert.equal(
        all.filter((t) => t.DesiredState !== 'running').length,
        0,
        'no task was stopped or replaced',
      );
      const ps = await cli('docker', [
        'service',
        'ps',
        'demo_worker',
        '--format',
        '{{.ID}} {{.CurrentState}}',
      ]);
      assert.equal(ps.stdout.trim().split('\n').length, 1, 'one task of the worker, never restarted');
      assert.ok(
        (await services('demo')).every((s) => s.Version.Index > versions.get(s.Spec.Name)!),
        'both updated',
      );

      // The same file again through shoal: still nothing restarts.
      await cli('shoal', ['stack', 'deploy', '--resolve-image', 'never', '-c', path, 'demo']);
      const again = await converged('demo', 4);
      assert.deepEqual(again.map((t) => t.ID).sort(), after.map((t) => t.ID).sort());

      const pruned = await cli('shoal', [
        'stack',
        'deploy',
        '--prune',
        '--resolve-image',
        'never',
        '-c',
        file('pruned.yml', app({ webReplicas: 3, worker: false })),
        'demo',
      ]);
      assert.match(
        pruned.stdout,
        /^Removing service demo_worker\nUpdating service demo_web \(id: [0-9a-z]{25}\)\n$/,
      );
      assert.deepEqual(
        (await services('demo')).map((s) => s.Spec.Name),
        ['demo_web'],
      );
    });

    it('stack diff reports nothing for an unchanged file, then exactly the edit; --dry-run changes nothing', async () => {
      const path = file('diffed.yml', app({ worker: false, webReplicas: 3 }));
      const unchanged = await cli('shoal', ['stack', 'diff', '--resolve-image', 'never', '-c', path, 'demo']);
      assert.equal(unchanged.stdout, '');
      file('diffed.yml', app({ worker: false, webReplicas: 3, greeting: 'bonjour' }));
      const edited = await cli('shoal', ['stack', 'diff', '--resolve-image', 'never', '-c', path, 'demo']);
      assert.equal(
        edited.stdout,
        '~ service demo_web\n    TaskTemplate.ContainerSpec.Env: ["GREETING=hello"] → ["GREETING=bonjour"]\n',
      );
      const before = await services('demo');
      const dry = await cli('shoal', [
        'stack',
        'deploy',
        '--dry-run',
        '--resolve-image',
        'never',
        '-c',
        path,
        'demo',
      ]);
      assert.equal(dry.stdout, edited.stdout);
      assert.deepEqual(await services('demo'), before, 'nothing changed');
      // A new service, with --prune a removal.
      const grown = await cli('shoal', [
        'stack',
        'diff',
        '--prune',
        '--resolve-image',
        'never',
        '-c',
        file('grown.yml', app({ webReplicas: 3 }).replace('web:', 'front:')),
        'demo',
      ]);
      assert.equal(grown.stdout, '- service demo_web\n+ service demo_front\n+ service demo_worker\n');
    });

    it('stack rm leaves no service, network, secret or config of the stack', async () => {
      const rm = await cli('shoal', ['stack', 'rm', '--detach=false', 'demo']);
      assert.equal(
        rm.stdout,
        'Removing service demo_web\nRemoving secret demo_app_secret\nRemoving config demo_app_config\nRemoving network demo_default\n',
      );
      assert.deepEqual(await leftovers('demo'), NOTHING);
      const again = await cli('shoal', ['stack', 'rm', 'demo']);
      assert.equal(again.stderr, 'Nothing found in stack: demo\n');
    });

    it('--detach=false follows every service until it converges', async () => {
      const out = await cli('shoal', [
        'stack',
        'deploy',
        '--detach=false',
        '--resolve-image',
        'never',
        '-c',
        file('wait.yml', app({ webReplicas: 1 })),
        'waited',
      ]);
      assert.match(
        out.stdout,
        /\nCreating service waited_web\nCreating service waited_worker\noverall progress: 0 out of 1 tasks\n/,
      );
      assert.equal(out.stdout.match(/^verify: Service [0-9a-z]{25} converged$/gm)?.length, 2);
      await cli('shoal', ['stack', 'rm', 'waited']);
    });

    it('depends_on with service_healthy: the dependent has no running task until its dependency is healthy', async () => {
      const ready = join(dir, 'db-ready');
      const path = file(
        'deps.yml',
        [
          'version: "3.8"',
          'x-shoal:',
          '  depends_on: true',
          'services:',
          '  db:',
          '    image: busybox',
          '    command: ["sleep", "3600"]',
          '    healthcheck:',
          `      test: ["CMD-SHELL", "test -f ${ready}"]`,
          '      interval: 1s',
          '      timeout: 1s',
          '      retries: 100',
          '  app:',
          '    image: busybox',
          '    command: ["sleep", "3600"]',
          '    depends_on:',
          '      db:',
          '        condition: service_healthy',
          '',
        ].join('\n'),
      );
      await cli('shoal', ['stack', 'deploy', '--resolve-image', 'never', '-c', path, 'deps']);
      const labels = (await services('deps')).find((s) => s.Spec.Name === 'deps_app')!.Spec.Labels!;
      assert.equal(labels['shoal.stack.depends-on'], 'deps_db:service_healthy');
      const appID = (await services('deps')).find((s) => s.Spec.Name === 'deps_app')!.ID;
      const dbID = (await services('deps')).find((s) => s.Spec.Name === 'deps_db')!.ID;
      // The db starts but is not healthy: the app's task waits, saying why.
      await eventually(
        async () => {
          const tasks = await tasksOf('deps');
          assert.ok(tasks.some((t) => t.ServiceID === dbID && t.Status.State === 'starting'));
          const app = tasks.find((t) => t.ServiceID === appID);
          assert.equal(app?.Status.State, 'pending');
          assert.equal(app?.Status.Err, 'waiting for deps_db to be healthy');
        },
        { timeoutMs: 30_000, description: 'db starting, app held' },
      );
      const ps = await cli('docker', [
        'stack',
        'ps',
        'deps',
        '--format',
        '{{.Name}} {{.CurrentState}} {{.Error}}',
      ]);
      assert.match(ps.stdout, /^deps_app\.1 Pending .* "waiting for deps_db/m);
      await new Promise((r) => setTimeout(r, 2000));
      assert.ok(!(await tasksOf('deps')).some((t) => t.ServiceID === appID && t.Status.State === 'running'));
      writeFileSync(ready, '');
      const running = await converged('deps', 2);
      const db = running.find((t) => t.ServiceID === dbID)!;
      const appTask = running.find((t) => t.ServiceID === appID)!;
      // The app's task was placed only after the db's was healthy (running).
      const hist = await api<{ Status: { Timestamp: string } }>('GET', `/v1.44/tasks/${db.ID}`);
      assert.ok(Date.parse(appTask.Status.Timestamp) >= Date.parse(hist.Status.Timestamp));
      // Without x-shoal, depends_on is ignored, as Docker ignores it.
      file(
        'deps.yml',
        readFileSync(path, 'utf8')
          .replace('x-shoal:\n  depends_on: true\n', '')
          .replace(/ {4}depends_on:\n {6}db:\n {8}condition: service_healthy\n/, '    depends_on: [db]\n'),
      );
      await cli('shoal', ['stack', 'deploy', '--resolve-image', 'never', '-c', path, 'deps']);
      const after = (await services('deps')).find((s) => s.Spec.Name === 'deps_app')!.Spec.Labels ?? {};
      assert.equal(after['shoal.stack.depends-on'], undefined);
      await cli('shoal', ['stack', 'rm', 'deps']);
    });
  });
});
