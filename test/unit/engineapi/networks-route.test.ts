// `/networks…` over a real server on a unix socket, the manager's control API over an in-memory store
// behind it: the trace's request bodies and Docker's answers (201 `{"Id","Warning"}`, the list's JSON text
// field for field, 204 on removal), query and filter errors, and what a node that is not a manager says.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NOT_A_MANAGER, unavailable, WORKER_NOT_MANAGER } from '../../../src/api/errors.js';
import type { ControlBackend, EngineBackend } from '../../../src/engineapi/backend.js';
import { EngineServer } from '../../../src/engineapi/server.js';
import { ControlAPI } from '../../../src/manager/controlapi/control-api.js';
import { allocate, newIngressNetwork } from '../../../src/manager/controlapi/networks.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { testCluster } from '../support/cluster.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

function call(socketPath: string, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The body `docker network create -d overlay --attachable mynet` sends (trace, network.md). */
const CREATE_MYNET = JSON.stringify({
  Driver: 'overlay',
  Scope: '',
  IPAM: { Driver: 'default', Options: {}, Config: [] },
  Internal: false,
  Attachable: true,
  Ingress: false,
  ConfigOnly: false,
  ConfigFrom: null,
  Options: {},
  Labels: {},
  Name: 'mynet',
  CheckDuplicate: true,
});

describe('Engine API: /networks', () => {
  let dir: string;
  let socket: string;
  let server: EngineServer;
  let kv: SqliteKV;
  let store: ClusterStore;
  const role: { is: 'manager' | 'worker' | 'none' } = { is: 'manager' };

  before(async () => {
    kv = new SqliteKV(':memory:');
    store = await ClusterStore.open(kv);
    await store.update((tx) => {
      tx.create('cluster', testCluster({ Worker: 'w', Manager: 'm' }));
      tx.create('network', allocate(tx, newIngressNetwork(), []));
    });
    const control = new ControlAPI({
      store,
      localNodeId: 'n1',
      isTaskUpToDate: () => true,
      newJoinToken: () => 'x',
      subscribeLogs: async function* () {},
      hostRoutes: () => [],
    });
    const backend = {
      control: (): ControlBackend => {
        if (role.is === 'worker') throw unavailable(WORKER_NOT_MANAGER);
        if (role.is === 'none') throw unavailable(NOT_A_MANAGER);
        return control;
      },
    } as unknown as EngineBackend;
    dir = mkdtempSync(join(tmpdir(), 'shoal-net-'));
    socket = join(dir, 'api.sock');
    server = new EngineServer({
      backend,
      address: `unix://${socket}`,
      serverVersion: '0.1.0',
      log: () => {},
    });
    await server.listen();
  });

  after(async () => {
    await server.close();
    await store.close();
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('create answers 201 {"Id","Warning"}; a duplicate 409 with Docker’s text', async () => {
    role.is = 'manager';
    const created = await call(socket, 'POST', '/v1.41/networks/create', CREATE_MYNET);
    assert.equal(created.status, 201);
    const body = JSON.parse(created.text) as { Id: string; Warning: string };
    assert.deepEqual(Object.keys(body), ['Id', 'Warning']);
    assert.equal(body.Warning, '');
    const again = await call(socket, 'POST', '/v1.41/networks/create', CREATE_MYNET);
    assert.equal(again.status, 409);
    assert.equal(again.text, '{"message":"network with name mynet already exists"}\n');
  });

  it('list and inspect: the fields in Docker’s order, null for empty maps', async () => {
    const mynet = store.view((tx) => tx.getByName('network', 'mynet')!);
    const inspect = await call(socket, 'GET', '/v1.41/networks/mynet?scope=swarm');
    assert.equal(inspect.status, 200);
    assert.equal(
      inspect.text,
      `{"Name":"mynet","Id":"${mynet.ID}","Created":"${mynet.CreatedAt}","Scope":"swarm","Driver":"overlay",` +
        `"EnableIPv6":false,"IPAM":{"Driver":"default","Options":null,"Config":[{"Subnet":"10.0.1.0/24","Gateway":"10.0.1.1"}]},` +
        `"Internal":false,"Attachable":true,"Ingress":false,"ConfigFrom":{"Network":""},"ConfigOnly":false,` +
        `"Containers":null,"Options":{"com.docker.network.driver.overlay.vxlanid_list":"4097"},"Labels":null}\n`,
    );
    const list = await call(
      socket,
      'GET',
      `/v1.41/networks?filters=${encodeURIComponent('{"driver":{"overlay":true},"scope":{"swarm":true}}')}`,
    );
    const names = (JSON.parse(list.text) as { Name: string }[]).map((n) => n.Name).sort();
    assert.deepEqual(names, ['ingress', 'mynet']);
    const verbose = await call(socket, 'GET', '/v1.41/networks/mynet?verbose=true');
    assert.equal(verbose.text, inspect.text);
  });

  it('query and filter errors as Docker’s', async () => {
    const bad = await call(socket, 'GET', '/v1.41/networks/mynet?verbose=maybe');
    assert.equal(bad.status, 400);
    assert.equal(
      bad.text,
      '{"message":"invalid value for verbose: maybe: strconv.ParseBool: parsing \\"maybe\\": invalid syntax"}\n',
    );
    const filter = await call(
      socket,
      'GET',
      `/v1.41/networks?filters=${encodeURIComponent('{"bogus":{"x":true}}')}`,
    );
    assert.equal(filter.status, 400);
    assert.equal(filter.text, `{"message":"Invalid filter 'bogus'"}\n`);
    const prune = await call(
      socket,
      'POST',
      `/v1.41/networks/prune?filters=${encodeURIComponent('{"name":{"x":true}}')}`,
    );
    assert.equal(prune.status, 400);
    assert.equal(prune.text, `{"message":"Invalid filter 'name'"}\n`);
    const connect = await call(socket, 'POST', '/v1.41/networks/mynet/connect', '{"Container":"c1"}');
    assert.equal(connect.status, 404);
    assert.equal(connect.text, '{"message":"No such container: c1"}\n');
  });

  it('remove answers 204 and an empty body; prune lists what it removed', async () => {
    await call(socket, 'POST', '/v1.41/networks/create', CREATE_MYNET.replace('"mynet"', '"spare"'));
    const removed = await call(socket, 'DELETE', '/v1.41/networks/mynet');
    assert.equal(removed.status, 204);
    assert.equal(removed.text, '');
    const pruned = await call(socket, 'POST', '/v1.41/networks/prune');
    assert.equal(pruned.text, '{"NetworksDeleted":["spare"]}\n');
    const nothing = await call(socket, 'POST', '/v1.41/networks/prune');
    assert.equal(nothing.text, '{"NetworksDeleted":null}\n');
  });

  it('a node that is not a manager lists and finds none; a worker refuses to create one', async () => {
    role.is = 'worker';
    try {
      assert.equal((await call(socket, 'GET', '/v1.41/networks')).text, '[]\n');
      const one = await call(socket, 'GET', '/v1.41/networks/ingress');
      assert.equal(one.status, 404);
      assert.equal(one.text, '{"message":"network ingress not found"}\n');
      const create = await call(socket, 'POST', '/v1.41/networks/create', CREATE_MYNET);
      assert.equal(create.status, 403);
      assert.equal(
        create.text,
        '{"message":"Cannot create a multi-host network from a worker node. Please create the network from a manager node."}\n',
      );
      role.is = 'none';
      const outside = await call(socket, 'POST', '/v1.41/networks/create', CREATE_MYNET);
      assert.equal(outside.status, 503);
      assert.equal((await call(socket, 'POST', '/v1.41/networks/prune')).text, '{"NetworksDeleted":null}\n');
    } finally {
      role.is = 'manager';
    }
  });
});
