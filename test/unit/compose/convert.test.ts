// The conversion of every example stack to the objects its README lists (test/fixtures/stacks/README.md),
// plus the rules of stack-semantics.md §8–§10 the examples do not reach. The request bodies the real docker
// CLI sends for the same files are compared in the e2e suite (stack-docker-cli.test.ts).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { convertNetworks, convertStack, Namespace, type StackObjects } from '../../../src/compose/convert.js';
import type { ServiceSpec } from '../../../src/api/types.js';
import { applyDependsOn } from '../../../src/compose/depends-on.js';
import { host, load, testEnv } from './support.js';

/** Every secret and config found, with an ID derived from its name. */
const ids = new Proxy(new Map<string, string>(), {
  get: (target, prop) => (prop === 'get' ? (name: string) => `id-${name}` : Reflect.get(target, prop)),
}) as ReadonlyMap<string, string>;

async function convert(
  stack: string,
  files: string[],
  env: Record<string, string> = {},
): Promise<StackObjects> {
  const config = await load(files, host(env));
  return convertStack(config, stack, { readFile: (p) => readFileSync(p), secretIDs: ids, configIDs: ids });
}

function service(objects: StackObjects, name: string): ServiceSpec {
  const found = objects.services.find((s) => s.spec.Name === name);
  assert.ok(found, `no service ${name}`);
  return found.spec;
}

const NS = 'com.docker.stack.namespace';
const S = 1_000_000_000;

describe('web-worker-cache.yml as stack shop', () => {
  it('networks: frontend and backend, overlay, labelled; no default', async () => {
    const o = await convert('shop', ['web-worker-cache.yml']);
    assert.deepEqual(o.networks.external, []);
    assert.deepEqual(o.networks.create, [
      {
        name: 'shop_backend',
        driver: 'overlay',
        options: undefined,
        labels: { 'com.example.purpose': 'internal-traffic', [NS]: 'shop' },
        internal: false,
        attachable: true,
      },
      {
        name: 'shop_frontend',
        driver: 'overlay',
        options: undefined,
        labels: { [NS]: 'shop' },
        internal: false,
        attachable: false,
      },
    ]);
    assert.deepEqual(
      o.services.map((s) => s.spec.Name),
      ['shop_cache', 'shop_web', 'shop_worker'],
    );
  });

  it('shop_web', async () => {
    const web = service(await convert('shop', ['web-worker-cache.yml']), 'shop_web');
    const c = web.TaskTemplate!.ContainerSpec!;
    assert.deepEqual(c.Args, ['serve', '--port', '8080']);
    assert.equal(c.Command, undefined);
    assert.deepEqual(c.Env, ['CACHE_URL=redis://cache:6379/0', 'WORKERS=4']);
    assert.deepEqual(web.EndpointSpec!.Ports, [
      { Protocol: 'tcp', TargetPort: 8080, PublishedPort: 8080, PublishMode: 'ingress' },
      { Protocol: 'tcp', TargetPort: 9100, PublishedPort: 9100, PublishMode: 'host' },
    ]);
    assert.deepEqual(web.TaskTemplate!.Networks, [
      { Target: 'shop_backend', Aliases: ['web'], DriverOpts: undefined },
      { Target: 'shop_frontend', Aliases: ['web'], DriverOpts: undefined },
    ]);
    assert.deepEqual(web.UpdateConfig, {
      Parallelism: 1,
      Delay: 10 * S,
      FailureAction: 'rollback',
      Monitor: 0,
      MaxFailureRatio: 0,
      Order: 'start-first',
    });
    assert.equal(web.RollbackConfig!.Parallelism, 2);
    assert.deepEqual(web.TaskTemplate!.RestartPolicy, {
      Condition: 'on-failure',
      Delay: undefined,
      MaxAttempts: 5,
      Window: 120 * S,
    });
    assert.deepEqual(web.TaskTemplate!.Resources!.Limits, {
      NanoCPUs: 500_000_000,
      MemoryBytes: 268435456,
      Pids: 0,
    });
    assert.deepEqual(web.TaskTemplate!.Resources!.Reservations, {
      NanoCPUs: 100_000_000,
      MemoryBytes: 67108864,
      GenericResources: undefined,
    });
    assert.deepEqual(web.Labels, {
      'com.example.owner': 'shop-team',
      [NS]: 'shop',
      'com.docker.stack.image': 'registry.example.test/shop/web:1.4.2',
    });
    assert.deepEqual(c.Labels, { 'com.example.tier': 'frontend', [NS]: 'shop' });
    assert.deepEqual(c.Healthcheck, {
      Test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/healthz'],
      Interval: 15 * S,
      Timeout: 3 * S,
      StartPeriod: 20 * S,
      StartInterval: 0,
      Retries: 3,
    });
    assert.equal(c.StopGracePeriod, 30 * S);
    assert.deepEqual(web.Mode, { Replicated: { Replicas: 2 } });
  });

  it('shop_worker and shop_cache', async () => {
    const o = await convert('shop', ['web-worker-cache.yml']);
    const worker = service(o, 'shop_worker');
    assert.deepEqual(worker.TaskTemplate!.ContainerSpec!.Command, ['/usr/local/bin/worker']);
    assert.deepEqual(worker.TaskTemplate!.ContainerSpec!.Args, ['--queue', 'default', '--concurrency', '8']);
    assert.deepEqual(worker.TaskTemplate!.Networks, [
      { Target: 'shop_backend', Aliases: ['jobs', 'worker'], DriverOpts: undefined },
    ]);
    assert.deepEqual(worker.Mode, { Replicated: { Replicas: 3 } });
    assert.deepEqual(worker.TaskTemplate!.RestartPolicy, {
      Condition: 'any',
      Delay: 5 * S,
      MaxAttempts: undefined,
      Window: undefined,
    });
    const cache = service(o, 'shop_cache');
    assert.equal(cache.EndpointSpec!.Mode, 'dnsrr');
    assert.deepEqual(cache.TaskTemplate!.Placement!.Constraints, ['node.role == manager']);
    assert.deepEqual(cache.TaskTemplate!.ContainerSpec!.Ulimits, [
      { Name: 'nofile', Soft: 10240, Hard: 20480 },
    ]);
    assert.deepEqual(cache.TaskTemplate!.ContainerSpec!.Mounts, [
      {
        Type: 'volume',
        Target: '/data',
        ReadOnly: false,
        Source: 'shop_cache-data',
        Consistency: '',
        VolumeOptions: { Labels: { 'com.example.backup': 'daily', [NS]: 'shop' } },
      },
    ]);
  });
});

describe('secrets-configs.yml as stack billing', () => {
  it('secrets and configs created, used or not; the default network', async () => {
    const o = await convert('billing', ['secrets-configs.yml']);
    assert.deepEqual(
      o.secrets.map((s) => [s.Name, s.Labels]),
      [
        ['billing-signing-key-v2', { [NS]: 'billing' }],
        ['billing_db_password', { 'com.example.rotation': 'quarterly', [NS]: 'billing' }],
        ['billing_tls_key', { [NS]: 'billing' }],
      ],
    );
    assert.equal(
      Buffer.from(o.secrets[1]!.Data!, 'base64').toString(),
      'placeholder-db-password-for-tests\n',
    );
    assert.deepEqual(
      o.configs.map((c) => [c.Name, c.Templating]),
      [
        ['billing_app_properties', undefined],
        ['billing_proxy_conf', { Name: 'golang' }],
      ],
    );
    assert.deepEqual(
      o.networks.create.map((n) => [n.name, n.driver, n.attachable]),
      [['billing_default', 'overlay', false]],
    );
  });

  it('billing_api and billing_proxy references', async () => {
    const o = await convert('billing', ['secrets-configs.yml']);
    const api = service(o, 'billing_api').TaskTemplate!.ContainerSpec!;
    assert.deepEqual(api.Secrets, [
      {
        File: { Name: 'db_password', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: 'id-billing_db_password',
        SecretName: 'billing_db_password',
      },
      {
        File: { Name: 'server.key', UID: '1000', GID: '1000', Mode: 0o400 },
        SecretID: 'id-billing_tls_key',
        SecretName: 'billing_tls_key',
      },
      {
        File: { Name: 'payment_gateway_token', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: 'id-payment_gateway_token',
        SecretName: 'payment_gateway_token',
      },
    ]);
    assert.deepEqual(api.Configs, [
      {
        File: { Name: '/etc/billing/app.properties', UID: '0', GID: '0', Mode: 0o440 },
        ConfigID: 'id-billing_app_properties',
        ConfigName: 'billing_app_properties',
      },
      {
        File: { Name: 'ca_bundle', UID: '0', GID: '0', Mode: 0o444 },
        ConfigID: 'id-corp-ca-bundle',
        ConfigName: 'corp-ca-bundle',
      },
    ]);
    const proxy = service(o, 'billing_proxy');
    assert.deepEqual(
      proxy.TaskTemplate!.ContainerSpec!.Secrets!.map((s) => [s.SecretName, s.File?.Name]),
      [['billing_tls_key', '/etc/proxy/tls/server.key']],
    );
    assert.deepEqual(
      proxy.TaskTemplate!.ContainerSpec!.Configs!.map((c) => [c.ConfigName, c.File?.Name]),
      [['billing_proxy_conf', '/etc/proxy/proxy.conf']],
    );
    assert.deepEqual(proxy.EndpointSpec!.Ports, [
      { Protocol: 'tcp', TargetPort: 8443, PublishedPort: 443, PublishMode: 'ingress' },
    ]);
  });

  it('an external secret that does not exist is the lookup error', async () => {
    const config = await load(['secrets-configs.yml']);
    const known = new Map([
      ['billing_db_password', 'a'],
      ['billing_tls_key', 'b'],
    ]);
    assert.throws(
      () =>
        convertStack(config, 'billing', {
          readFile: (p) => readFileSync(p),
          secretIDs: known,
          configIDs: ids,
        }),
      /^Error: service api: secret not found: payment_gateway_token$/,
    );
  });
});

describe('global-placement.yml as stack ops', () => {
  it('networks and the global services', async () => {
    const o = await convert('ops', ['global-placement.yml']);
    assert.deepEqual(
      o.networks.create.map((n) => [n.name, n.attachable, n.options]),
      [
        ['ops_monitoring', true, undefined],
        ['ops_public', false, { encrypted: 'true' }],
      ],
    );
    const exporter = service(o, 'ops_node-exporter');
    assert.deepEqual(exporter.Mode, { Global: {} });
    assert.equal(exporter.TaskTemplate!.ContainerSpec!.Hostname, '{{.Node.Hostname}}');
    assert.deepEqual(exporter.TaskTemplate!.ContainerSpec!.Mounts, [
      {
        Type: 'bind',
        Target: '/host',
        ReadOnly: true,
        Source: '/',
        Consistency: '',
        BindOptions: { Propagation: 'rslave' },
      },
    ]);
    assert.deepEqual(exporter.EndpointSpec!.Ports, [
      { Protocol: '', TargetPort: 9100, PublishedPort: 9100, PublishMode: 'host' },
    ]);
    const shipper = service(o, 'ops_log-shipper');
    assert.deepEqual(shipper.Mode, { Global: {} });
    assert.deepEqual(
      shipper.TaskTemplate!.ContainerSpec!.Mounts!.map((m) => [
        m.Type,
        m.Source,
        m.Target,
        m.ReadOnly,
        m.TmpfsOptions,
      ]),
      [
        ['bind', '/var/log', '/var/log/host', true, undefined],
        ['tmpfs', '', '/buffer', false, { SizeBytes: 67108864 }],
      ],
    );
  });

  it('ops_api and the job', async () => {
    const o = await convert('ops', ['global-placement.yml']);
    const api = service(o, 'ops_api');
    assert.deepEqual(api.Mode, { Replicated: { Replicas: 6 } });
    assert.deepEqual(api.TaskTemplate!.Placement, {
      Constraints: ['node.role == worker', 'node.labels.tier != batch'],
      Preferences: [
        { Spread: { SpreadDescriptor: 'node.labels.zone' } },
        { Spread: { SpreadDescriptor: 'node.labels.rack' } },
      ],
      MaxReplicas: 2,
    });
    assert.deepEqual(api.TaskTemplate!.Resources!.Reservations!.GenericResources, [
      { DiscreteResourceSpec: { Kind: 'ssd', Value: 1 } },
    ]);
    // Docker's CLI drops oom_score_adj (a decoding bug); shoal honours it, as the README expects.
    assert.equal(api.TaskTemplate!.ContainerSpec!.OomScoreAdj, -200);
    assert.deepEqual(api.TaskTemplate!.Networks, [
      { Target: 'ops_monitoring', Aliases: ['api'], DriverOpts: undefined },
      { Target: 'ops_public', Aliases: ['api-internal', 'api'], DriverOpts: undefined },
    ]);
    assert.deepEqual(service(o, 'ops_db-migrate').Mode, {
      ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 },
    });
  });
});

describe('interpolation.yml as stack interp', () => {
  it('every field of the table', async () => {
    const app = service(await convert('interp', ['interpolation.yml'], testEnv()), 'interp_app');
    const c = app.TaskTemplate!.ContainerSpec!;
    assert.equal(c.Image, 'registry.example.test/acme/app:2.3.1');
    assert.deepEqual(c.Args, ['sh', '-c', 'echo started in ${DEPLOY_REGION:-nowhere} && exec app-server']);
    assert.deepEqual(c.Env, [
      'FEATURE_FLAGS=',
      'GREETING=cost is $5 per hour',
      'LOG_LEVEL=info',
      'REGION=eu-west',
      'SHELL_VAR=$HOME',
    ]);
    assert.deepEqual(c.Labels, {
      'com.example.build': '20240611.3',
      'com.example.quirk': 'hour',
      [NS]: 'interp',
    });
    assert.equal(c.ReadOnly, false);
    assert.deepEqual(app.EndpointSpec!.Ports, [
      { Protocol: '', TargetPort: 8080, PublishedPort: 8088, PublishMode: '' },
    ]);
    assert.deepEqual(app.Mode, { Replicated: { Replicas: 3 } });
    assert.equal(app.Labels!['com.example.region'], 'eu-west');
    assert.deepEqual(app.TaskTemplate!.Placement!.Constraints, ['node.labels.region == eu-west']);
    assert.equal(app.TaskTemplate!.Resources!.Limits!.MemoryBytes, 268435456);
  });
});

describe('merge-base.yml + merge-override.yml as stack shop', () => {
  it('the merged web and the replaced default network', async () => {
    const o = await convert('shop', ['merge-base.yml', 'merge-override.yml']);
    assert.deepEqual(
      o.services.map((s) => s.spec.Name),
      ['shop_cache', 'shop_metrics', 'shop_web'],
    );
    for (const s of o.services)
      assert.deepEqual(
        s.spec.TaskTemplate!.Networks!.map((n) => n.Target),
        ['shop_default'],
      );
    const web = service(o, 'shop_web');
    const c = web.TaskTemplate!.ContainerSpec!;
    assert.equal(c.Image, 'registry.example.test/shop/web:1.5.0');
    assert.equal(c.ReadOnly, true);
    assert.deepEqual(c.Env, ['CACHE_URL=redis://cache:6379/0', 'MODE=production']);
    assert.deepEqual(web.EndpointSpec!.Ports, [
      { Protocol: '', TargetPort: 8081, PublishedPort: 8080, PublishMode: '' },
      { Protocol: 'tcp', TargetPort: 9090, PublishedPort: 9090, PublishMode: 'ingress' },
    ]);
    assert.deepEqual(c.CapabilityAdd, ['CAP_NET_BIND_SERVICE', 'CAP_SYS_TIME']);
    assert.deepEqual(c.DNSConfig, { Nameservers: ['10.0.0.2', '10.0.0.2'], Search: undefined });
    assert.deepEqual(web.Mode, { Replicated: { Replicas: 0 } });
    assert.deepEqual(web.TaskTemplate!.Placement!.Constraints, [
      'node.role == worker',
      'node.labels.zone == a',
    ]);
    assert.deepEqual(c.Healthcheck!.Test, ['CMD', 'wget', '-qO-', 'http://127.0.0.1:8080/healthz']);
    assert.deepEqual(o.networks.create, [
      {
        name: 'shop_default',
        driver: 'overlay',
        options: undefined,
        labels: { [NS]: 'shop' },
        internal: false,
        attachable: true,
      },
    ]);
  });
});

describe('conversion errors of the invalid examples', () => {
  it('global-with-replicas.yml and undefined-network.yml', async () => {
    await assert.rejects(convert('demo', ['invalid/global-with-replicas.yml']), {
      message: 'service agent: replicas can only be used with replicated or replicated-job mode',
    });
    await assert.rejects(convert('demo', ['invalid/undefined-network.yml']), {
      message: 'service web: undefined network "backend"',
    });
    // Docker creates the undeclared network before it finds the error: it is among the networks.
    const config = await load(['invalid/undefined-network.yml']);
    assert.deepEqual(
      convertNetworks(new Namespace('demo'), config).create.map((n) => n.name),
      ['demo_backend'],
    );
  });
});

describe('other rules', () => {
  const inline = async (yml: string): Promise<StackObjects> => {
    const config = await load(['a.yml'], host({}, { 'a.yml': yml }, '/w'));
    return convertStack(config, 's', { readFile: () => Buffer.from('x'), secretIDs: ids, configIDs: ids });
  };
  const V = 'version: "3.8"\nservices:\n  a:\n    image: busybox\n';

  it('the restart fallback, healthcheck disable, caps, hosts, explicit names, external networks', async () => {
    const restart = async (r: string) =>
      service(await inline(`${V}    restart: "${r}"\n`), 's_a').TaskTemplate!.RestartPolicy;
    assert.deepEqual(await restart('always'), { Condition: 'any', MaxAttempts: undefined });
    assert.deepEqual(await restart('on-failure:3'), { Condition: 'on-failure', MaxAttempts: 3 });
    assert.equal(await restart('no'), undefined);
    assert.deepEqual(await restart('on-failure'), { Condition: 'on-failure', MaxAttempts: undefined });
    await assert.rejects(restart('sometimes'), {
      message:
        "service a: invalid restart policy: unknown policy 'sometimes' (must be one of 'no', 'always', 'on-failure', or 'unless-stopped')",
    });
    const o = await inline(
      `${V}    healthcheck: {disable: true}\n    cap_add: [net_admin, ALL]\n    cap_drop: [net_admin, chown]\n` +
        '    extra_hosts: ["db:10.0.0.5"]\n    networks: [ext, named]\nnetworks:\n  ext: {external: true}\n  named: {name: custom}\n',
    );
    const a = service(o, 's_a');
    const c = a.TaskTemplate!.ContainerSpec!;
    assert.deepEqual(c.Healthcheck, { Test: ['NONE'] });
    assert.deepEqual(c.CapabilityAdd, ['ALL']);
    assert.deepEqual(c.CapabilityDrop, ['CAP_CHOWN', 'CAP_NET_ADMIN']);
    assert.deepEqual(c.Hosts, ['10.0.0.5 db']);
    assert.deepEqual(
      a.TaskTemplate!.Networks!.map((n) => [n.Target, n.Aliases]),
      [
        ['custom', ['a']],
        ['ext', ['a']],
      ],
    );
    assert.deepEqual(o.networks.external, ['ext']);
    assert.deepEqual(
      o.networks.create.map((n) => n.name),
      ['custom'],
    );
  });

  it('modes, duplicate targets, undefined references', async () => {
    const mode = async (m: string, replicas = '') =>
      service(await inline(`${V}    deploy:\n      mode: ${m}\n${replicas}`), 's_a').Mode;
    assert.deepEqual(await mode('global-job'), { GlobalJob: {} });
    assert.deepEqual(await mode('replicated'), { Replicated: { Replicas: undefined } });
    await assert.rejects(mode('bogus'), { message: 'service a: unknown mode: bogus' });
    await assert.rejects(inline(`${V}    secrets: [nope]\n`), {
      message: 'service a: undefined secret "nope"',
    });
    await assert.rejects(
      inline(
        `${V}    secrets: [{source: x, target: t}, {source: y, target: t}]\nsecrets:\n  x: {file: x}\n  y: {file: y}\n`,
      ),
      { message: 'service a: duplicate secret target for s_y not allowed' },
    );
    await assert.rejects(inline(`${V}    volumes: ["data:/d"]\n`), {
      message: 'service a: undefined volume "data"',
    });
  });
});

describe('x-shoal depends_on', () => {
  const stack = async (body: string): Promise<StackObjects> => {
    const config = await load(
      ['a.yml'],
      host({}, { 'a.yml': `version: "3.8"\nx-shoal:\n  depends_on: true\n${body}` }, '/w'),
    );
    const objects = convertStack(config, 's', {
      readFile: () => Buffer.from('x'),
      secretIDs: ids,
      configIDs: ids,
    });
    applyDependsOn(config, 's', objects.services);
    return objects;
  };
  const label = (o: StackObjects, name: string) => service(o, name).Labels!['shoal.stack.depends-on'];

  it('labels the dependents: the short syntax means service_started', async () => {
    const o = await stack(
      'services:\n  db:\n    image: x\n  cache:\n    image: x\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_healthy\n      cache:\n        condition: service_started\n  job:\n    image: x\n    depends_on: [db]\n',
    );
    assert.equal(label(o, 's_web'), 's_cache:service_started,s_db:service_healthy');
    assert.equal(label(o, 's_job'), 's_db:service_started');
    assert.equal(label(o, 's_db'), undefined);
  });

  it('refuses an undefined dependency, a cycle and restart: true; skips an optional one', async () => {
    await assert.rejects(stack('services:\n  web:\n    image: x\n    depends_on: [db]\n'), {
      message: 'service web depends on undefined service db',
    });
    await assert.rejects(
      stack('services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n'),
      { message: 'dependency cycle detected: a -> b -> a' },
    );
    await assert.rejects(
      stack(
        'services:\n  db:\n    image: x\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_started\n        restart: true\n',
      ),
      {
        message:
          'service web: depends_on.db.restart is not supported: a service is not restarted when its dependency is',
      },
    );
    const o = await stack(
      'services:\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_started\n        required: false\n',
    );
    assert.equal(label(o, 's_web'), undefined);
  });

  it('without the key, depends_on is ignored', async () => {
    const config = await load(
      ['a.yml'],
      host(
        {},
        { 'a.yml': 'version: "3.8"\nservices:\n  web:\n    image: x\n    depends_on: [nowhere]\n' },
        '/w',
      ),
    );
    const objects = convertStack(config, 's', {
      readFile: () => Buffer.from('x'),
      secretIDs: ids,
      configIDs: ids,
    });
    applyDependsOn(config, 's', objects.services);
    assert.equal(service(objects, 's_web').Labels!['shoal.stack.depends-on'], undefined);
  });
});
