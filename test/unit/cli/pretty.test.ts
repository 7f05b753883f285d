// `service inspect --pretty` and `node inspect --pretty`, compared with the pages the docker CLI
// printed for the same objects (docs/reference/docker-observed.md G.6 and H).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service } from '../../../src/api/types.js';
import { nodePretty, servicePretty } from '../../../src/cli/formatters/pretty.js';
import { FakeClient, routes, runShoal } from './helpers.js';

const DEFAULT_UPDATE = {
  Parallelism: 1,
  FailureAction: 'pause',
  Monitor: 5000000000,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};

/** `rich` with the defaults `insertDefaults=true` adds (H). */
const RICH = {
  ID: 'ozu42xibk3dyxppjjvssdg9si',
  Version: { Index: 900 },
  Spec: {
    Name: 'rich',
    Labels: { team: 'x' },
    TaskTemplate: {
      ContainerSpec: {
        Image: 'busybox:latest',
        Labels: { c: '1' },
        Args: ['sleep', '3600'],
        Env: ['A=1'],
        Dir: '/tmp',
        User: '0',
        Init: false,
        Mounts: [{ Type: 'tmpfs', Target: '/tmpx' }],
        StopGracePeriod: 3000000000,
        Healthcheck: { Test: ['CMD-SHELL', 'true'], Interval: 30000000000 },
        DNSConfig: {},
      },
      Resources: {
        Limits: { NanoCPUs: 500000000, MemoryBytes: 67108864 },
        Reservations: { MemoryBytes: 8388608 },
      },
      RestartPolicy: { Condition: 'on-failure', Delay: 3000000000, MaxAttempts: 4, Window: 60000000000 },
      Placement: {
        Constraints: ['node.role==manager'],
        Preferences: [{ Spread: { SpreadDescriptor: 'node.labels.zone' } }],
      },
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: 2 } },
    UpdateConfig: {
      Parallelism: 2,
      Delay: 10000000000,
      FailureAction: 'rollback',
      Monitor: 7000000000,
      MaxFailureRatio: 0.25,
      Order: 'start-first',
    },
    RollbackConfig: { ...DEFAULT_UPDATE, Parallelism: 3 },
    EndpointSpec: { Mode: 'vip' },
  },
  Endpoint: { Spec: {} },
} as unknown as Service;

const RICH_PAGE =
  '\nID:\t\tozu42xibk3dyxppjjvssdg9si\nName:\t\trich\nLabels:\n team=x\nService Mode:\tReplicated\n Replicas:\t2\n' +
  'Placement:\n Constraints:\t[node.role==manager]\n Preferences:   [spread=node.labels.zone]\n' +
  'UpdateConfig:\n Parallelism:\t2\n Delay:\t\t10s\n On failure:\trollback\n Monitoring Period: 7s\n Max failure ratio: 0.25\n' +
  ' Update order:      start-first\nRollbackConfig:\n Parallelism:\t3\n On failure:\tpause\n Monitoring Period: 5s\n' +
  ' Max failure ratio: 0\n Rollback order:    stop-first\nContainerSpec:\n Image:\t\tbusybox:latest\n Args:\t\tsleep 3600 \n' +
  ' Env:\t\tA=1 \n Dir:\t\t/tmp\n Init:\t\tfalse\n User: 0\nMounts:\n Target:\t/tmpx\n  Source:\t\n  ReadOnly:\tfalse\n' +
  '  Type:\t\ttmpfs\nResources:\n Reservations:\n  Memory:\t8MiB\n Limits:\n  CPU:\t\t0.5\n  Memory:\t64MiB\n' +
  'Endpoint Mode:\tvip\n Healthcheck:\n  Interval = 30s\n  Retries = 0\n  StartPeriod =\t0s\n  Timeout =\t0s\n  Tests:\n' +
  '\t Test = CMD-SHELL\n\t Test = true \n\n';

test('service inspect --pretty of a service with many options (H, `rich`)', () => {
  assert.equal(servicePretty(RICH, new Map(), 0), RICH_PAGE);
});

test('service inspect --pretty: update status, jobs, networks, ports', () => {
  const upf = {
    ID: 'v1esvswx1szz2tgpai8dx62vy',
    Spec: {
      Name: 'upf',
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox:latest', Args: ['sh', '-c', 'exit 1'], Init: false },
        Resources: {},
      },
      Mode: { Replicated: { Replicas: 2 } },
      UpdateConfig: DEFAULT_UPDATE,
      RollbackConfig: DEFAULT_UPDATE,
      EndpointSpec: { Mode: 'vip' },
    },
    UpdateStatus: {
      State: 'paused',
      StartedAt: '2026-11-25T23:40:51.028594669Z',
      Message: 'update paused due to failure or early termination of task mz575nd7gavg1xgv2b5r9uw7j',
    },
  } as unknown as Service;
  assert.equal(
    servicePretty(upf, new Map(), Date.parse('2026-11-25T23:41:28.5Z')),
    '\nID:\t\tv1esvswx1szz2tgpai8dx62vy\nName:\t\tupf\nService Mode:\tReplicated\n Replicas:\t2\nUpdateStatus:\n State:\t\tpaused\n' +
      ' Started:\t37 seconds ago\n Message:\tupdate paused due to failure or early termination of task mz575nd7gavg1xgv2b5r9uw7j\n' +
      'Placement:\nUpdateConfig:\n Parallelism:\t1\n On failure:\tpause\n Monitoring Period: 5s\n Max failure ratio: 0\n' +
      ' Update order:      stop-first\nRollbackConfig:\n Parallelism:\t1\n On failure:\tpause\n Monitoring Period: 5s\n' +
      ' Max failure ratio: 0\n Rollback order:    stop-first\nContainerSpec:\n Image:\t\tbusybox:latest\n Args:\t\tsh -c exit 1 \n' +
      ' Init:\t\tfalse\nResources:\nEndpoint Mode:\tvip\n\n',
  );
  const web = {
    ID: '2hl4j963o2qhxyuvkiqwwvpyz',
    Spec: {
      Name: 'web',
      TaskTemplate: {
        ContainerSpec: { Image: 'busybox:local' },
        Networks: [{ Target: 'boe8wx5kbjka1z4a5llf8mt1r' }],
      },
      Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } },
      EndpointSpec: { Mode: 'vip' },
    },
    Endpoint: { Ports: [{ Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' }] },
  } as unknown as Service;
  assert.equal(
    servicePretty(web, new Map([['boe8wx5kbjka1z4a5llf8mt1r', 'mynet']]), 0),
    '\nID:\t\t2hl4j963o2qhxyuvkiqwwvpyz\nName:\t\tweb\nService Mode:\nPlacement:\nContainerSpec:\n Image:\t\tbusybox:local\n' +
      'Networks: mynet \nEndpoint Mode:\tvip\nPorts:\n PublishedPort = 8080\n  Protocol = tcp\n  TargetPort = 80\n' +
      '  PublishMode = ingress \n\n',
  );
});

test('service inspect --pretty asks for the defaults and resolves network names; nothing printed on error', async () => {
  const client = new FakeClient(
    routes({
      'GET /services/rich': { body: RICH },
      'GET /services/nosuch': { status: 404, body: { message: 'service nosuch not found' } },
    }),
  );
  const ok = await runShoal(['service', 'inspect', '--pretty', 'rich'], { client });
  assert.equal(ok.out, RICH_PAGE);
  assert.deepEqual(client.lines, ['GET /services/rich?insertDefaults=true']);
  const bad = await runShoal(['service', 'inspect', '--pretty', 'rich', 'nosuch'], { client });
  assert.deepEqual(bad, { out: '', err: 'Error: no such service: nosuch\n', code: 1 });
});

test('node inspect --pretty (H)', () => {
  const node = {
    ID: 'l0pl6nytqwwsqiwj349vxd6vp',
    CreatedAt: '2026-11-25T23:26:55.924571393Z',
    Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: 'vm',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: { NanoCPUs: 2000000000, MemoryBytes: 25276063744 },
      Engine: {
        EngineVersion: '20.10.24+dfsg1',
        Plugins: [
          { Type: 'Log', Name: 'awslogs' },
          { Type: 'Log', Name: 'fluentd' },
          { Type: 'Network', Name: 'bridge' },
          { Type: 'Volume', Name: 'local' },
        ],
      },
      TLSInfo: {
        TrustRoot: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        CertIssuerSubject: 'MBMx',
        CertIssuerPublicKey: 'MFkw',
      },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
  } as unknown as Node;
  assert.equal(
    nodePretty(node),
    'ID:\t\t\tl0pl6nytqwwsqiwj349vxd6vp\nHostname:              \tvm\nJoined at:             \t2026-11-25 23:26:55.924571393 +0000 utc\n' +
      'Status:\n State:\t\t\tReady\n Availability:         \tActive\n Address:\t\t127.0.0.1\nManager Status:\n' +
      ' Address:\t\t127.0.0.1:2377\n Raft Status:\t\tReachable\n Leader:\t\tYes\nPlatform:\n Operating System:\tlinux\n' +
      ' Architecture:\t\tx86_64\nResources:\n CPUs:\t\t\t2\n Memory:\t\t23.54GiB\nPlugins:\n Log:\t\tawslogs, fluentd\n' +
      ' Network:\t\tbridge\n Volume:\t\tlocal\nEngine Version:\t\t20.10.24+dfsg1\nTLS Info:\n TrustRoot:\n' +
      '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n\n Issuer Subject:\tMBMx\n Issuer Public Key:\tMFkw\n',
  );
});
