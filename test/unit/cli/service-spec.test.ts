// Flags → ServiceSpec: the request bodies of `service create` and `service update` must be the ones the
// docker CLI sends (field order, omitted empty fields, defaults filled in), as recorded
// from the docker CLI.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient, routes, runShoal, type RecordedRequest } from './helpers.js';

const NETWORK = { Id: 'boe8wx5kbjka1z4a5llf8mt1r', Name: 'mynet' };
const SECRET = { ID: 'fmgyijuvs8ihg0fzs59s8u12k', Spec: { Name: 'mysecret' } };
const CONFIG = { ID: 'xh3tkm047i2ti14tfovf1589f', Spec: { Name: 'myconfig' } };

function createClient(): FakeClient {
  return new FakeClient(
    routes({
      'GET /networks/mynet': { body: NETWORK },
      'GET /secrets': { body: [SECRET] },
      'GET /configs': { body: [CONFIG] },
      // As traced: the daemon could not reach Docker Hub.
      'GET /distribution/*': {
        status: 500,
        body: {
          message:
            'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on <dns-resolver>:53: no such host',
        },
      },
      'POST /services/create': { status: 201, body: { ID: '2hl4j963o2qhxyuvkiqwwvpyz' } },
    }),
  );
}

const createBody = (client: FakeClient): unknown =>
  JSON.parse(client.requests.find((r) => r.path === '/services/create')!.body) as unknown;

test('service create: the traced body of a service with most options', async () => {
  const client = createClient();
  const r = await runShoal(
    [
      ...'service create -d --name web --replicas 3 --env A=1 --label x=y --constraint node.role==manager'.split(
        ' ',
      ),
      ...'--limit-memory 64M --reserve-cpu 0.1 --restart-condition on-failure --update-parallelism 2'.split(
        ' ',
      ),
      ...'--update-delay 1s --update-failure-action rollback --rollback-parallelism 1 --health-cmd true'.split(
        ' ',
      ),
      ...'--health-interval 5s --publish 8080:80 --mount type=tmpfs,target=/tmp --secret mysecret'.split(' '),
      ...'--config myconfig --network mynet --mode replicated --endpoint-mode vip busybox:local httpd -f -p 80'.split(
        ' ',
      ),
    ],
    { client },
  );
  // The traced warning (Fprintln of a text that ends in a newline: an empty line follows).
  assert.equal(
    r.err,
    'image busybox:local could not be accessed on a registry to record\n' +
      'its digest. Each node will access busybox:local independently,\n' +
      'possibly leading to different nodes running different\n' +
      'versions of the image.\n\n',
  );
  assert.equal(r.out, '2hl4j963o2qhxyuvkiqwwvpyz\n');
  assert.deepEqual(client.lines, [
    'GET /networks/mynet?scope=swarm',
    'GET /secrets?filters=%7B%22name%22%3A%7B%22mysecret%22%3Atrue%7D%7D',
    'GET /configs?filters=%7B%22name%22%3A%7B%22myconfig%22%3Atrue%7D%7D',
    'GET /distribution/busybox:local/json',
    'POST /services/create',
  ]);
  assert.equal(client.requests[3]!.headers['X-Registry-Auth'], undefined);
  // The body exactly as traced (key order included).
  assert.equal(
    client.requests[4]!.body,
    JSON.stringify({
      Name: 'web',
      Labels: { x: 'y' },
      TaskTemplate: {
        ContainerSpec: {
          Image: 'busybox:local',
          Args: ['httpd', '-f', '-p', '80'],
          Env: ['A=1'],
          Init: false,
          Mounts: [{ Type: 'tmpfs', Target: '/tmp' }],
          Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 5000000000 },
          DNSConfig: {},
          Secrets: [
            {
              File: { Name: 'mysecret', UID: '0', GID: '0', Mode: 292 },
              SecretID: SECRET.ID,
              SecretName: 'mysecret',
            },
          ],
          Configs: [
            {
              File: { Name: 'myconfig', UID: '0', GID: '0', Mode: 292 },
              ConfigID: CONFIG.ID,
              ConfigName: 'myconfig',
            },
          ],
        },
        Resources: { Limits: { MemoryBytes: 67108864 }, Reservations: { NanoCPUs: 100000000 } },
        RestartPolicy: { Condition: 'on-failure', Delay: 5000000000, MaxAttempts: 0 },
        Placement: { Constraints: ['node.role==manager'] },
        Networks: [{ Target: NETWORK.Id }],
        ForceUpdate: 0,
      },
      Mode: { Replicated: { Replicas: 3 } },
      UpdateConfig: {
        Parallelism: 2,
        Delay: 1000000000,
        FailureAction: 'rollback',
        Monitor: 5000000000,
        MaxFailureRatio: 0,
        Order: 'stop-first',
      },
      RollbackConfig: {
        Parallelism: 1,
        FailureAction: 'pause',
        Monitor: 5000000000,
        MaxFailureRatio: 0,
        Order: 'stop-first',
      },
      EndpointSpec: {
        Mode: 'vip',
        Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
      },
    }),
  );
});

test('service create: a minimal service still carries the empty structures Docker sends', async () => {
  const client = createClient();
  await runShoal(['service', 'create', '-d', '--name', 'websync', 'busybox:local', 'sleep', '3600'], {
    client,
  });
  assert.deepEqual(createBody(client), {
    Name: 'websync',
    Labels: {},
    TaskTemplate: {
      ContainerSpec: { Image: 'busybox:local', Args: ['sleep', '3600'], Init: false, DNSConfig: {} },
      Resources: { Limits: {}, Reservations: {} },
      Placement: {},
      ForceUpdate: 0,
    },
    Mode: { Replicated: {} },
    EndpointSpec: { Mode: 'vip' },
  });
});

test('service create: modes, jobs and the flags that only apply to some of them', async () => {
  const client = createClient();
  await runShoal(
    [
      'service',
      'create',
      '-d',
      '--mode',
      'replicated-job',
      '--replicas',
      '3',
      '--max-concurrent',
      '2',
      'busybox',
      'true',
    ],
    { client },
  );
  assert.deepEqual((createBody(client) as { Mode: unknown }).Mode, {
    ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 },
  });
  const client2 = createClient();
  await runShoal(
    ['service', 'create', '-d', '--mode', 'replicated-job', '--replicas', '4', 'busybox', 'true'],
    {
      client: client2,
    },
  );
  // --max-concurrent defaults to --replicas.
  assert.deepEqual((createBody(client2) as { Mode: unknown }).Mode, {
    ReplicatedJob: { MaxConcurrent: 4, TotalCompletions: 4 },
  });
});

test('service create: env files, env from the environment, capabilities, hosts and DNS', async () => {
  const client = createClient();
  await runShoal(
    [
      ...'service create -d -e FROM_ENV -e B=1 -e B=2 --cap-add net_admin --cap-drop NET_ADMIN --cap-drop chown'.split(
        ' ',
      ),
      ...'--host h:1.2.3.4 --dns 8.8.8.8 --dns-search example.com --group g --init --tty --read-only'.split(
        ' ',
      ),
      ...'--stop-grace-period 3s --restart-window 1m --limit-pids 5 --replicas-max-per-node 2 busybox'.split(
        ' ',
      ),
    ],
    { client, env: { FROM_ENV: 'value' } },
  );
  const body = createBody(client) as { TaskTemplate: Record<string, Record<string, unknown>> };
  const cs = body.TaskTemplate.ContainerSpec!;
  assert.deepEqual(cs.Env, ['FROM_ENV=value', 'B=2']);
  // Adding wins over dropping; names are normalized.
  assert.deepEqual(cs.CapabilityAdd, ['CAP_NET_ADMIN']);
  assert.deepEqual(cs.CapabilityDrop, ['CAP_CHOWN']);
  assert.deepEqual(cs.Hosts, ['1.2.3.4 h']);
  assert.deepEqual(cs.DNSConfig, { Nameservers: ['8.8.8.8'], Search: ['example.com'] });
  assert.deepEqual(cs.Groups, ['g']);
  assert.equal(cs.StopGracePeriod, 3000000000);
  assert.deepEqual([cs.Init, cs.TTY, cs.ReadOnly], [true, true, true]);
  assert.deepEqual(body.TaskTemplate.RestartPolicy, {
    Condition: 'any',
    Delay: 5000000000,
    MaxAttempts: 0,
    Window: 60000000000,
  });
  assert.deepEqual(body.TaskTemplate.Resources, { Limits: { Pids: 5 }, Reservations: {} });
  assert.deepEqual(body.TaskTemplate.Placement, { MaxReplicas: 2 });
});

test('service create: a missing secret is reported by name', async () => {
  const client = new FakeClient(routes({ 'GET /secrets': { body: [] } }));
  const r = await runShoal(['service', 'create', '-d', '--secret', 'nosuch', 'busybox'], { client });
  assert.deepEqual(r, { out: '', err: 'secret not found: nosuch\n', code: 1 });
});

test('service create: daemon errors are shown as Docker shows them', async () => {
  const client = new FakeClient(
    routes({
      'POST /services/create': {
        status: 409,
        body: {
          message:
            'rpc error: code = AlreadyExists desc = name conflicts with an existing object: service dup already exists',
        },
      },
    }),
  );
  const r = await runShoal(['service', 'create', '-d', '--name', 'dup', 'busybox'], { client });
  assert.deepEqual(r, {
    out: '',
    err: 'Error response from daemon: rpc error: code = AlreadyExists desc = name conflicts with an existing object: service dup already exists\n',
    code: 1,
  });
});

// ---------------------------------------------------------------- update

/** A service as the daemon returns it (unknown fields included: the CLI drops them, like Go). */
const SERVICE = {
  ID: 'ulmjzsm026slox0vbwu2olgr5',
  Version: { Index: 85 },
  CreatedAt: '2026-11-25T21:50:35.271359999Z',
  UpdatedAt: '2026-11-25T21:50:35.271359999Z',
  Spec: {
    Name: 'websync',
    Labels: { l1: 'v1' },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'busybox:local',
        Args: ['sleep', '3600'],
        Env: ['A=1', 'C=3'],
        Init: false,
        Mounts: [{ Type: 'tmpfs', Target: '/t1' }],
        DNSConfig: { Nameservers: ['8.8.8.8'] },
        Isolation: 'default',
        ShoalExtension: 'dropped',
      },
      Resources: { Limits: {}, Reservations: {} },
      Placement: { Constraints: ['node.role==manager'] },
      Networks: [{ Target: 'boe8wx5kbjka1z4a5llf8mt1r' }],
      ForceUpdate: 0,
      Runtime: 'container',
    },
    Mode: { Replicated: { Replicas: 2 } },
    EndpointSpec: {
      Mode: 'vip',
      Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }],
    },
  },
  Endpoint: {},
};

async function update(
  flags: string[],
): Promise<{ body: Record<string, unknown>; request: RecordedRequest; out: string; err: string }> {
  const client = new FakeClient(
    routes({
      'GET /services/websync': { body: SERVICE },
      [`POST /services/${SERVICE.ID}/update`]: { body: { Warnings: null } },
      'GET /networks/*': (req) => ({
        body: { Id: req.path.endsWith('other') ? 'aaaaaaaaaaaaaaaaaaaaaaaaa' : NETWORK.Id, Name: 'x' },
      }),
    }),
  );
  const r = await runShoal(['service', 'update', '-d', ...flags, 'websync'], { client });
  assert.equal(r.err, '');
  const request = client.requests.find((q) => q.method === 'POST')!;
  return { body: JSON.parse(request.body) as Record<string, unknown>, request, out: r.out, err: r.err };
}

test('service update: read-modify-write of the full spec with its version', async () => {
  const { body, request, out } = await update(['--env-add', 'B=2']);
  assert.equal(out, 'websync\n');
  assert.equal(request.query, 'registryAuthFrom=spec&version=85');
  assert.equal(
    request.body,
    '{"Name":"websync","Labels":{"l1":"v1"},"TaskTemplate":{"ContainerSpec":{"Image":"busybox:local","Args":["sleep","3600"],' +
      '"Env":["A=1","C=3","B=2"],"Init":false,"Mounts":[{"Type":"tmpfs","Target":"/t1"}],"DNSConfig":{"Nameservers":["8.8.8.8"]},' +
      '"Isolation":"default"},"Resources":{"Limits":{},"Reservations":{}},"Placement":{"Constraints":["node.role==manager"]},' +
      '"Networks":[{"Target":"boe8wx5kbjka1z4a5llf8mt1r"}],"ForceUpdate":0,"Runtime":"container"},"Mode":{"Replicated":{"Replicas":2}},' +
      '"EndpointSpec":{"Mode":"vip","Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}}',
  );
  assert.ok(body);
});

test('service update: list flags add, remove and keep Docker order', async () => {
  const env = (await update(['--env-add', 'A=9', '--env-rm', 'C'])).body as {
    TaskTemplate: { ContainerSpec: { Env: string[] } };
  };
  assert.deepEqual(env.TaskTemplate.ContainerSpec.Env, ['A=9']);
  const constraints = (await update(['--constraint-add', 'node.labels.a==b'])).body as {
    TaskTemplate: { Placement: { Constraints: string[] } };
  };
  assert.deepEqual(constraints.TaskTemplate.Placement.Constraints, [
    'node.labels.a==b',
    'node.role==manager',
  ]);
  const ports = (await update(['--publish-add', '9090:90', '--publish-rm', '80'])).body as {
    EndpointSpec: { Ports: unknown[] };
  };
  assert.deepEqual(ports.EndpointSpec.Ports, [
    { Protocol: 'tcp', TargetPort: 90, PublishedPort: 9090, PublishMode: 'ingress' },
  ]);
  const mounts = (await update(['--mount-add', 'type=tmpfs,target=/t0'])).body as {
    TaskTemplate: { ContainerSpec: { Mounts: unknown[] } };
  };
  assert.deepEqual(mounts.TaskTemplate.ContainerSpec.Mounts, [
    { Type: 'tmpfs', Target: '/t0' },
    { Type: 'tmpfs', Target: '/t1' },
  ]);
  const labels = (await update(['--label-add', 'l2=v2', '--label-rm', 'l1'])).body as { Labels: unknown };
  assert.deepEqual(labels.Labels, { l2: 'v2' });
});

test('service update: settings start from swarmkit defaults when the spec has none', async () => {
  const { body } = await update([
    '--update-parallelism',
    '3',
    '--restart-max-attempts',
    '2',
    '--force',
    '--limit-cpu',
    '1',
  ]);
  const spec = body as { UpdateConfig: unknown; TaskTemplate: Record<string, unknown> };
  assert.deepEqual(spec.UpdateConfig, {
    Parallelism: 3,
    FailureAction: 'pause',
    Monitor: 5000000000,
    MaxFailureRatio: 0,
    Order: 'stop-first',
  });
  assert.deepEqual(spec.TaskTemplate.RestartPolicy, { Condition: 'any', Delay: 5000000000, MaxAttempts: 2 });
  assert.equal(spec.TaskTemplate.ForceUpdate, 1);
  assert.deepEqual(spec.TaskTemplate.Resources, { Limits: { NanoCPUs: 1000000000 }, Reservations: {} });
});

test('service update: networks are resolved to IDs and sorted; health checks edited in place', async () => {
  const nets = (await update(['--network-add', 'other'])).body as { TaskTemplate: { Networks: unknown[] } };
  assert.deepEqual(nets.TaskTemplate.Networks, [
    { Target: 'aaaaaaaaaaaaaaaaaaaaaaaaa' },
    { Target: NETWORK.Id },
  ]);
  const none = (await update(['--no-healthcheck'])).body as {
    TaskTemplate: { ContainerSpec: { Healthcheck: unknown } };
  };
  assert.deepEqual(none.TaskTemplate.ContainerSpec.Healthcheck, { Test: ['NONE'] });
  const hc = (await update(['--health-cmd', 'true', '--health-retries', '2'])).body as {
    TaskTemplate: { ContainerSpec: { Healthcheck: unknown } };
  };
  assert.deepEqual(hc.TaskTemplate.ContainerSpec.Healthcheck, { Test: ['CMD-SHELL', 'true'], Retries: 2 });
});

test('service update --rollback asks the daemon for the previous spec; other flags are refused', async () => {
  const { request } = await update(['--rollback']);
  assert.equal(request.query, 'registryAuthFrom=spec&rollback=previous&version=85');
  const client = new FakeClient(routes({ 'GET /services/websync': { body: SERVICE } }));
  const r = await runShoal(['service', 'update', '--rollback', '--env-add', 'X=1', 'websync'], { client });
  assert.deepEqual(r, { out: '', err: 'other flags may not be combined with --rollback\n', code: 1 });
});

test('service update --with-registry-auth sends (empty) credentials instead of registryAuthFrom', async () => {
  const client = new FakeClient(
    routes({
      'GET /services/websync': { body: SERVICE },
      [`POST /services/${SERVICE.ID}/update`]: { body: { Warnings: ['a warning'] } },
    }),
  );
  const r = await runShoal(['service', 'update', '-d', '--with-registry-auth', 'websync'], { client });
  assert.equal(client.requests[1]!.query, 'version=85');
  assert.deepEqual(r, { out: 'websync\n', err: 'a warning\n', code: 0 });
});

test('service update --replicas on a global service fails before writing', async () => {
  const global = { ...SERVICE, Spec: { ...SERVICE.Spec, Mode: { Global: {} } } };
  const client = new FakeClient(routes({ 'GET /services/websync': { body: global } }));
  const r = await runShoal(['service', 'update', '-d', '--replicas', '2', 'websync'], { client });
  assert.deepEqual(r, { out: '', err: 'replicas can only be used with replicated mode\n', code: 1 });
  assert.deepEqual(client.lines, ['GET /services/websync?insertDefaults=false']);
});

test('service scale: sets replicas (or a job total) and reports every failure', async () => {
  const client = new FakeClient(
    routes({
      'GET /services/web': { body: SERVICE },
      'GET /services/glob': { body: { ...SERVICE, Spec: { ...SERVICE.Spec, Mode: { Global: {} } } } },
      'GET /services/nosuch': { status: 404, body: { message: 'service nosuch not found' } },
      [`POST /services/${SERVICE.ID}/update`]: { body: { Warnings: null } },
    }),
  );
  const r = await runShoal(['service', 'scale', '-d', 'web=5', 'glob=2', 'nosuch=1', 'x=-1'], { client });
  assert.equal(r.out, 'web scaled to 5\n');
  assert.equal(
    r.err,
    'glob: scale can only be used with replicated or replicated-job mode\n' +
      'nosuch: Error response from daemon: service nosuch not found\n' +
      'x: invalid replicas value -1: strconv.ParseUint: parsing "-1": invalid syntax\n',
  );
  assert.equal(r.code, 1);
  const post = client.requests.find((q) => q.method === 'POST')!;
  assert.equal(post.query, 'version=85');
  assert.deepEqual((JSON.parse(post.body) as { Mode: unknown }).Mode, { Replicated: { Replicas: 5 } });
});
