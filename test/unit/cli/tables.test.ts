// The list commands' rows and tables (service ls, service ps / node ps, node ls), checked against
// output recorded from the real docker CLI (docs/reference/docker-observed.md F and H).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Node, Service, Task } from '../../../src/api/types.js';
import { formatNodeList, NodeContext } from '../../../src/cli/formatters/node-list.js';
import { formatServiceList, servicePorts } from '../../../src/cli/formatters/service-list.js';
import { formatTasks, IDResolver, TaskContext } from '../../../src/cli/formatters/task-list.js';
import { displayImage, ellipsis, naturalCompare } from '../../../src/cli/format-helpers.js';
import { FakeClient, routes, runShoal } from './helpers.js';

const NODE_ID = 'l0pl6nytqwwsqiwj349vxd6vp';
const NODE = {
  ID: NODE_ID,
  Version: { Index: 9 },
  CreatedAt: '2026-11-25T23:26:55.924571393Z',
  UpdatedAt: '2026-11-25T23:26:56.5Z',
  Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
  Description: {
    Hostname: 'vm',
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: { NanoCPUs: 2000000000, MemoryBytes: 25276063744 },
    Engine: { EngineVersion: '20.10.24+dfsg1' },
  },
  Status: { State: 'ready', Addr: '127.0.0.1' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
} as unknown as Node;

function svc(name: string, id: string, mode: object, status: object, extra: object = {}): Service {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: {
      Name: name,
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest@sha256:' + 'a'.repeat(64) } },
      Mode: mode,
    },
    ServiceStatus: status,
    ...extra,
  } as unknown as Service;
}

test('service ls: modes, replica counts for every mode, sorted by name', () => {
  const services = [
    svc(
      'rj2',
      'ky3cl2uqhumuxuhvm6eeowk3a',
      { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 3 } },
      { RunningTasks: 0, DesiredTasks: 2, CompletedTasks: 3 },
    ),
    svc(
      'gsvc',
      'k00qs3xyn3e97oxq942bx9ocx',
      { Global: {} },
      { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 },
    ),
    svc(
      'prog',
      'stlbd7tv2aga5jehbhix733y7',
      { Replicated: { Replicas: 2 } },
      { RunningTasks: 2, DesiredTasks: 2, CompletedTasks: 0 },
    ),
    svc(
      'gj',
      'o72tqokobifz73r15ow9vq7tg',
      { GlobalJob: {} },
      { RunningTasks: 0, DesiredTasks: 0, CompletedTasks: 1 },
    ),
    svc(
      'prog10',
      'xchsicvy322gobnogl4z3zh9b',
      { Replicated: { Replicas: 1 } },
      { RunningTasks: 1, DesiredTasks: 1, CompletedTasks: 0 },
    ),
  ];
  assert.equal(
    formatServiceList(services, '', false),
    'ID             NAME      MODE             REPLICAS              IMAGE            PORTS\n' +
      'o72tqokobifz   gj        global job       0/0 (1/1 completed)   busybox:latest   \n' +
      'k00qs3xyn3e9   gsvc      global           1/1                   busybox:latest   \n' +
      'stlbd7tv2aga   prog      replicated       2/2                   busybox:latest   \n' +
      'xchsicvy322g   prog10    replicated       1/1                   busybox:latest   \n' +
      'ky3cl2uqhumu   rj2       replicated job   0/2 (3/3 completed)   busybox:latest   \n',
  );
  assert.equal(
    formatServiceList(services, '', true),
    'o72tqokobifz\nk00qs3xyn3e9\nstlbd7tv2aga\nxchsicvy322g\nky3cl2uqhumu\n',
  );
});

test('service ls: max replicas per node, ports grouped in ranges, JSON rows escape HTML like Docker', () => {
  const s = svc(
    'mx',
    'v1imne4ivo2mopg98ouw9owaz',
    { Replicated: { Replicas: 2 } },
    { RunningTasks: 1, DesiredTasks: 2, CompletedTasks: 0 },
    {
      Endpoint: {
        Ports: [
          { Protocol: 'udp', TargetPort: 9000, PublishedPort: 9000, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 81, PublishedPort: 8081, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 80, PublishedPort: 8080, PublishMode: 'ingress' },
          { Protocol: 'tcp', TargetPort: 22, PublishedPort: 2222, PublishMode: 'host' },
        ],
      },
    },
  );
  s.Spec.TaskTemplate!.Placement = { MaxReplicas: 1 };
  assert.equal(servicePorts(s), '*:8080-8081->80-81/tcp, *:9000->9000/udp');
  assert.equal(
    formatServiceList([s], 'json', false),
    '{"ID":"v1imne4ivo2m","Image":"busybox:latest","Mode":"replicated","Name":"mx",' +
      '"Ports":"*:8080-8081-\\u003e80-81/tcp, *:9000-\\u003e9000/udp","Replicas":"1/2 (max 1 per node)"}\n',
  );
});

/** The tasks of `exit3` (F.1), newest last as the daemon lists them. */
const SERVICE_ID = '9lm3v0x5s8csq5m8lcmwbtvpd';
function task(id: string, slot: number, desired: string, created: string, status: object): Task {
  return {
    ID: id,
    Version: { Index: 1 },
    CreatedAt: created,
    UpdatedAt: created,
    ServiceID: SERVICE_ID,
    Slot: slot,
    NodeID: NODE_ID,
    DesiredState: desired,
    Spec: { ContainerSpec: { Image: 'busybox:latest' } },
    Status: status,
  } as unknown as Task;
}
const failed = (ts: string): object => ({
  Timestamp: ts,
  State: 'failed',
  Message: 'started',
  Err: 'task: non-zero exit (3)',
});
const EXIT3_TASKS = [
  task(
    'wa6wv94gllt1vj3b8spnmrmx1',
    1,
    'shutdown',
    '2026-11-25T23:30:18.682743097Z',
    failed('2026-11-25T23:30:23.943966079Z'),
  ),
  task(
    'm0z3wu6khg4gdi4ahckc3i3xa',
    1,
    'shutdown',
    '2026-11-25T23:30:24.019539023Z',
    failed('2026-11-25T23:30:29.320825957Z'),
  ),
  task(
    'ojmy48abmd5yvin6vwvoam608',
    1,
    'shutdown',
    '2026-11-25T23:30:29.358684381Z',
    failed('2026-11-25T23:30:34.593174341Z'),
  ),
  task(
    '9rt9jkoc60uhadhseox6zvznl',
    1,
    'shutdown',
    '2026-11-25T23:30:34.698314928Z',
    failed('2026-11-25T23:30:40.011046926Z'),
  ),
  task('i0s97xuyd3o9sqs4ztu7qtilf', 1, 'ready', '2026-11-25T23:30:40.050911003Z', {
    Timestamp: '2026-11-25T23:30:40.250650291Z',
    State: 'ready',
    Message: 'prepared',
  }),
];
const NOW = Date.parse('2026-11-25T23:30:44.050Z');

function psClient(): FakeClient {
  return new FakeClient(
    routes({
      'GET /services': (req) => ({
        body: req.query.includes('name') ? [{ ID: SERVICE_ID, Spec: { Name: 'exit3' } }] : [],
      }),
      'GET /tasks': { body: EXIT3_TASKS },
      [`GET /services/${SERVICE_ID}`]: { body: { ID: SERVICE_ID, Spec: { Name: 'exit3' } } },
      [`GET /nodes/${NODE_ID}`]: { body: NODE },
    }),
  );
}

test('service ps: history indented under the current task, errors quoted, as recorded (F.1)', async () => {
  const client = psClient();
  const r = await runShoal(['service', 'ps', 'exit3'], { client, now: NOW });
  assert.equal(r.err, '');
  assert.equal(
    r.out,
    'ID             NAME          IMAGE            NODE      DESIRED STATE   CURRENT STATE           ERROR                       PORTS\n' +
      'i0s97xuyd3o9   exit3.1       busybox:latest   vm        Ready           Ready 3 seconds ago                                 \n' +
      '9rt9jkoc60uh    \\_ exit3.1   busybox:latest   vm        Shutdown        Failed 4 seconds ago    "task: non-zero exit (3)"   \n' +
      'ojmy48abmd5y    \\_ exit3.1   busybox:latest   vm        Shutdown        Failed 9 seconds ago    "task: non-zero exit (3)"   \n' +
      'm0z3wu6khg4g    \\_ exit3.1   busybox:latest   vm        Shutdown        Failed 14 seconds ago   "task: non-zero exit (3)"   \n' +
      'wa6wv94gllt1    \\_ exit3.1   busybox:latest   vm        Shutdown        Failed 20 seconds ago   "task: non-zero exit (3)"   \n',
  );
  assert.deepEqual(client.lines, [
    'GET /services?filters=%7B%22id%22%3A%7B%22exit3%22%3Atrue%7D%7D',
    'GET /services?filters=%7B%22name%22%3A%7B%22exit3%22%3Atrue%7D%7D',
    `GET /tasks?filters=%7B%22service%22%3A%7B%22${SERVICE_ID}%22%3Atrue%7D%7D`,
    `GET /services/${SERVICE_ID}?insertDefaults=false`,
    `GET /nodes/${NODE_ID}`,
  ]);
});

test('service ps -q prints full IDs; unknown services are reported after the table', async () => {
  const q = await runShoal(['service', 'ps', '-q', 'exit3'], { client: psClient(), now: NOW });
  assert.equal(
    q.out,
    EXIT3_TASKS.map((t) => t.ID)
      .reverse()
      .join('\n') + '\n',
  );
  const mixed = await runShoal(['service', 'ps', '--format', '{{.Name}}', 'exit3', 'nosuch'], {
    client: psClient(),
    now: NOW,
  });
  assert.deepEqual(mixed, { out: 'exit3.1\n'.repeat(5), err: 'no such service: nosuch\n', code: 1 });
  const none = await runShoal(['service', 'ps', 'nosuch'], { client: psClient(), now: NOW });
  assert.deepEqual(none, { out: '', err: 'no such service: nosuch\n', code: 1 });
});

test('task rows: long errors are cut to 30 columns unless --no-trunc; global tasks are named by node', async () => {
  const pending = {
    ...EXIT3_TASKS[0]!,
    NodeID: '',
    Slot: 0,
    DesiredState: 'running',
    Status: {
      Timestamp: '2026-11-25T23:31:11.08153721Z',
      State: 'pending',
      Message: 'pending task scheduling',
      Err: 'no suitable node (scheduling constraints not satisfied on 1 node)',
    },
  } as unknown as Task;
  const row = new TaskContext(pending, 'east.1', '', true, Date.parse('2026-11-25T23:31:16.2Z'));
  assert.equal(row.Error, '"no suitable node (scheduling …"');
  assert.equal(row.CurrentState, 'Pending 5 seconds ago');
  assert.equal(
    new TaskContext(pending, 'east.1', '', false, 0).Error,
    '"no suitable node (scheduling constraints not satisfied on 1 node)"',
  );
  const resolver = new IDResolver(psClient(), true);
  const out = await formatTasks([{ ...pending, NodeID: NODE_ID } as Task], resolver, {
    trunc: true,
    quiet: false,
    format: '{{.Name}} {{.Node}}',
    nowMs: NOW,
  });
  assert.equal(out, `${SERVICE_ID}.${NODE_ID} ${NODE_ID}\n`);
});

test('node ls: the * marker of the answering node, Docker columns, TLS status', () => {
  const worker = {
    ...NODE,
    ID: 'v1ke3jvwmgc8qslbcy6htb9i1',
    Description: { ...NODE.Description, Hostname: 'vm2' },
    ManagerStatus: undefined,
  } as unknown as Node;
  const swarm = {
    NodeID: NODE_ID,
    NodeAddr: '',
    LocalNodeState: 'active',
    ControlAvailable: true,
    Error: '',
    RemoteManagers: [],
  };
  assert.equal(
    formatNodeList([NODE, worker], swarm, '', false),
    'ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION\n' +
      'l0pl6nytqwwsqiwj349vxd6vp *   vm         Ready     Active         Leader           20.10.24+dfsg1\n' +
      'v1ke3jvwmgc8qslbcy6htb9i1     vm2        Ready     Active                          20.10.24+dfsg1\n',
  );
  assert.equal(new NodeContext(NODE, swarm).TLSStatus, 'Unknown');
});

test('helpers: natural order, ellipsis, familiar image names', () => {
  assert.deepEqual(['web10', 'web2', 'web1', 'a'].sort(naturalCompare), ['a', 'web1', 'web2', 'web10']);
  assert.equal(ellipsis('abcdef', 4), 'abc…');
  assert.equal(ellipsis('abc', 4), 'abc');
  assert.equal(displayImage('docker.io/library/busybox:1.36@sha256:' + 'b'.repeat(64)), 'busybox:1.36');
  assert.equal(displayImage('busybox'), 'busybox');
  assert.equal(
    displayImage('registry.example.com:5000/team/app:v2'),
    'registry.example.com:5000/team/app:v2',
  );
  assert.equal(displayImage('Bad:Image:x'), 'Bad:Image:x');
});
