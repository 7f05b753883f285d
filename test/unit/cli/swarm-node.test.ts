// swarm and node commands: request bodies as traced from the docker CLI and Docker's
// messages.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGo, goView, indentJSON, NODE, SERVICE_SPEC } from '../../../src/cli/wire.js';
import { FakeClient, routes, runShoal } from './helpers.js';

const NODE_ID = '3owh83m4ho97gdnl8iup4ps7n';
const NODE_JSON = {
  ID: NODE_ID,
  Version: { Index: 9 },
  CreatedAt: '2026-11-25T22:01:52.998656619Z',
  UpdatedAt: '2026-11-25T22:01:53.5Z',
  Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
  Description: {
    Hostname: 'vm',
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: {},
    Engine: { EngineVersion: '20.10.24' },
  },
  Status: { State: 'ready', Addr: '198.18.0.1' },
  ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '198.18.0.1:2377' },
};
const SWARM = {
  ID: 'cluster',
  Version: { Index: 20 },
  Spec: {
    Name: 'default',
    Labels: {},
    Orchestration: { TaskHistoryRetentionLimit: 5 },
    Raft: {
      SnapshotInterval: 10000,
      KeepOldSnapshots: 0,
      LogEntriesForSlowFollowers: 500,
      ElectionTick: 10,
      HeartbeatTick: 1,
    },
    Dispatcher: { HeartbeatPeriod: 5000000000 },
    CAConfig: { NodeCertExpiry: 7776000000000000 },
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  },
  TLSInfo: {
    TrustRoot: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    CertIssuerSubject: 'S',
    CertIssuerPublicKey: 'K',
  },
  JoinTokens: { Worker: 'SWMTKN-1-w', Manager: 'SWMTKN-1-m' },
};

function swarmClient(extra: Parameters<typeof routes>[0] = {}): FakeClient {
  return new FakeClient(
    routes({
      'POST /swarm/init': { body: NODE_ID },
      [`GET /nodes/${NODE_ID}`]: { body: NODE_JSON },
      'GET /swarm': { body: SWARM },
      'GET /swarm/unlockkey': { body: { UnlockKey: 'SWMKEY-1-abc' } },
      'POST /swarm/update': { body: undefined },
      'GET /info': { body: { Swarm: { NodeID: NODE_ID, LocalNodeState: 'active', ControlAvailable: true } } },
      // Later keys replace earlier ones in place: the test's own answers win.
      ...extra,
    }),
  );
}

test('swarm init: the traced request body and the join instructions', async () => {
  const client = swarmClient();
  const r = await runShoal(
    [
      ...'swarm init --advertise-addr 198.18.0.1 --listen-addr 198.18.0.1:2377 --data-path-port 4790'.split(
        ' ',
      ),
      ...'--default-addr-pool 10.20.0.0/16 --default-addr-pool-mask-length 26 --task-history-limit 3'.split(
        ' ',
      ),
      ...'--cert-expiry 48h --dispatcher-heartbeat 10s --autolock --availability active'.split(' '),
    ],
    { client },
  );
  assert.equal(r.err, '');
  assert.equal(
    client.requests[0]!.body,
    JSON.stringify({
      ListenAddr: '198.18.0.1:2377',
      AdvertiseAddr: '198.18.0.1',
      DataPathAddr: '',
      DataPathPort: 4790,
      ForceNewCluster: false,
      Spec: {
        Labels: null,
        Orchestration: { TaskHistoryRetentionLimit: 3 },
        Raft: { ElectionTick: 0, HeartbeatTick: 0 },
        Dispatcher: { HeartbeatPeriod: 10000000000 },
        CAConfig: { NodeCertExpiry: 172800000000000 },
        TaskDefaults: {},
        EncryptionConfig: { AutoLockManagers: true },
      },
      AutoLockManagers: true,
      Availability: 'active',
      DefaultAddrPool: ['10.20.0.0/16'],
      SubnetSize: 26,
    }),
  );
  assert.equal(
    r.out,
    `Swarm initialized: current node (${NODE_ID}) is now a manager.\n\n` +
      'To add a worker to this swarm, run the following command:\n\n    shoal swarm join --token SWMTKN-1-w 198.18.0.1:2377\n\n' +
      "To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.\n" +
      'To unlock a swarm manager after it restarts, run the `shoal swarm unlock`\ncommand and provide the following key:\n\n' +
      '    SWMKEY-1-abc\n\nRemember to store this key in a password manager, since without it you\n' +
      'will not be able to restart the manager.\n',
  );
});

test("swarm init --datastore adds shoal's Datastore field; other values are refused", async () => {
  const client = swarmClient();
  await runShoal(['swarm', 'init', '--datastore', 'etcd'], { client });
  assert.match(client.requests[0]!.body, /"SubnetSize":24,"Datastore":"etcd"\}$/);
  const bad = await runShoal(['swarm', 'init', '--datastore', 'zk'], { client: swarmClient() });
  assert.deepEqual(bad, {
    out: '',
    err: 'invalid datastore "zk", only embedded, etcd and auto are supported\n',
    code: 1,
  });
});

test("swarm init and update --max-tasks[-per-service] set shoal's limit labels", async () => {
  const init = swarmClient();
  await runShoal(['swarm', 'init', '--max-tasks-per-service', '500', '--max-tasks', '2000'], {
    client: init,
  });
  assert.match(
    init.requests[0]!.body,
    /"Labels":\{"shoal\.max-tasks":"2000","shoal\.max-tasks-per-service":"500"\}/,
  );
  const update = swarmClient();
  await runShoal(['swarm', 'update', '--max-tasks-per-service', '10'], { client: update });
  const sent = update.requests.find((q) => q.path === '/swarm/update')!;
  assert.match(sent.body, /"Labels":\{[^}]*"shoal\.max-tasks-per-service":"10"/);
});

test('swarm join-token --rotate: all rotation flags and the current spec are sent', async () => {
  const client = swarmClient();
  const r = await runShoal(['swarm', 'join-token', '--rotate', 'worker'], { client });
  assert.equal(
    r.out,
    'Successfully rotated worker join token.\n\nTo add a worker to this swarm, run the following command:\n\n' +
      '    shoal swarm join --token SWMTKN-1-w 198.18.0.1:2377\n\n',
  );
  const update = client.requests.find((q) => q.path === '/swarm/update')!;
  assert.equal(
    update.query,
    'rotateManagerToken=false&rotateManagerUnlockKey=false&rotateWorkerToken=true&version=20',
  );
  assert.equal(update.body, JSON.stringify(SWARM.Spec));
  assert.equal(
    (await runShoal(['swarm', 'join-token', '-q', 'manager'], { client: swarmClient() })).out,
    'SWMTKN-1-m\n',
  );
});

test('swarm update: only the changed settings; the unlock key when autolock is turned on', async () => {
  const client = swarmClient();
  const r = await runShoal(['swarm', 'update', '--task-history-limit', '3', '--autolock=true'], { client });
  const update = client.requests.find((q) => q.path === '/swarm/update')!;
  const spec = JSON.parse(update.body) as typeof SWARM.Spec;
  assert.equal(spec.Orchestration.TaskHistoryRetentionLimit, 3);
  assert.equal(spec.EncryptionConfig.AutoLockManagers, true);
  assert.equal(spec.Raft.SnapshotInterval, 10000);
  assert.ok(r.out.startsWith('Swarm updated.\nTo unlock a swarm manager after it restarts'));
  const help = await runShoal(['swarm', 'update'], { client: swarmClient() });
  assert.match(help.out, /^Usage: {2}shoal swarm update \[OPTIONS\]\n/);
});

test('swarm leave, ca, unlock-key: messages and errors', async () => {
  const client = swarmClient({ 'POST /swarm/leave': { body: undefined } });
  assert.equal((await runShoal(['swarm', 'leave', '--force'], { client })).out, 'Node left the swarm.\n');
  assert.equal(client.requests[0]!.query, 'force=1');
  assert.equal((await runShoal(['swarm', 'ca'], { client: swarmClient() })).out, SWARM.TLSInfo.TrustRoot);
  assert.deepEqual(await runShoal(['swarm', 'ca', '--cert-expiry', '1h'], { client: swarmClient() }), {
    out: '',
    err: '`--cert-expiry` flag requires the `--rotate` flag to update the CA\n',
    code: 1,
  });
  const noKey = swarmClient({ 'GET /swarm/unlockkey': { body: { UnlockKey: '' } } });
  assert.deepEqual(await runShoal(['swarm', 'unlock-key'], { client: noKey }), {
    out: '',
    err: 'no unlock key is set\n',
    code: 1,
  });
  const notManager = new FakeClient(
    routes({
      'GET /swarm/unlockkey': {
        status: 503,
        body: {
          message:
            'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.',
        },
      },
    }),
  );
  assert.equal(
    (await runShoal(['swarm', 'unlock-key'], { client: notManager })).err,
    'could not fetch unlock key: Error response from daemon: This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.\n',
  );
});

test('node update: labels and availability written back with the version', async () => {
  const client = swarmClient({ [`POST /nodes/${NODE_ID}/update`]: { body: undefined } });
  const r = await runShoal(['node', 'update', '--label-add', 'foo=bar', '--availability', 'drain', NODE_ID], {
    client,
  });
  assert.equal(r.out, `${NODE_ID}\n`);
  const post = client.requests.find((q) => q.method === 'POST')!;
  assert.equal(post.query, 'version=9');
  assert.equal(post.body, '{"Labels":{"foo":"bar"},"Role":"manager","Availability":"drain"}');
  const missing = await runShoal(['node', 'update', '--label-rm', 'nope', NODE_ID], {
    client: swarmClient(),
  });
  assert.deepEqual(missing, { out: '', err: "key nope doesn't exist in node's labels\n", code: 1 });
});

test('node promote / demote messages', async () => {
  const client = swarmClient({ [`POST /nodes/${NODE_ID}/update`]: { body: undefined } });
  assert.equal(
    (await runShoal(['node', 'promote', NODE_ID], { client })).out,
    `Node ${NODE_ID} is already a manager.\n`,
  );
  assert.equal(
    (await runShoal(['node', 'demote', NODE_ID], { client })).out,
    `Manager ${NODE_ID} demoted in the swarm.\n`,
  );
});

test('node inspect self resolves the ID through /info; JSON as Go writes it', async () => {
  const client = swarmClient();
  const r = await runShoal(['node', 'inspect', 'self'], { client });
  assert.deepEqual(client.lines, ['GET /info', `GET /nodes/${NODE_ID}`]);
  assert.equal(r.out, indentJSON(`[${encodeGo(NODE_JSON, NODE)}]`) + '\n');
  assert.ok(
    r.out.startsWith(
      '[\n    {\n        "ID": "3owh83m4ho97gdnl8iup4ps7n",\n        "Version": {\n            "Index": 9\n',
    ),
  );
  const tmpl = await runShoal(
    ['node', 'inspect', '--format', '{{.Status.State}} {{.CreatedAt}} {{.Nope}}', 'self'],
    { client: swarmClient() },
  );
  assert.equal(tmpl.out, '\n');
  assert.equal(
    tmpl.err,
    'template parsing error: template: :1:35: executing "" at <.Nope>: can\'t evaluate field Nope in type swarm.Node\n',
  );
});

test('Go struct views: zero values, omitempty, durations and times as Go prints them', () => {
  const spec = {
    Name: 'x',
    TaskTemplate: { ContainerSpec: { Image: 'i', Unknown: 1 } },
    UpdateConfig: { Delay: 1500000000 },
  };
  assert.equal(
    encodeGo(spec, SERVICE_SPEC),
    '{"Name":"x","Labels":null,"TaskTemplate":{"ContainerSpec":{"Image":"i"},"ForceUpdate":0},"Mode":{},' +
      '"UpdateConfig":{"Parallelism":0,"Delay":1500000000,"MaxFailureRatio":0,"Order":""}}',
  );
  const view = goView(spec, SERVICE_SPEC) as {
    UpdateConfig: { Delay: { String(): string } };
    Labels: object;
  };
  assert.equal(view.UpdateConfig.Delay.String(), '1.5s');
  assert.deepEqual(view.Labels, {});
  assert.equal(
    indentJSON('{"a":[],"b":{},"c":[1,{"d":"x"}]}'),
    '{\n    "a": [],\n    "b": {},\n    "c": [\n        1,\n        {\n            "d": "x"\n        }\n    ]\n}',
  );
});
