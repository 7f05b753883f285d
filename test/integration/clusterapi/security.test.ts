// Who gets what on the cluster port: strangers and plaintext get nothing; a node without a certificate
// reaches only the two CA bootstrap calls; certificates of another CA or cluster, workers on
// manager-only calls and removed nodes are refused with swarmkit's texts.

import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { after, afterEach, describe, it } from 'node:test';

import { ClusterClient } from '../../../src/agent/transport/cluster-client.js';
import { renewCertificate } from '../../../src/agent/transport/renew.js';
import {
  CA_SERVER_NAME,
  clientTlsOptions,
  generateNodeKeyAndCsr,
  type NodeTlsCredentials,
} from '../../../src/api/certs.js';
import { CLUSTER_API_PATHS } from '../../../src/api/dispatcher.js';
import { ShoalError } from '../../../src/api/errors.js';
import { newId } from '../../../src/api/ids.js';
import { createRootCA, loadRootCASigner } from '../../../src/manager/ca/rootca.js';
import { signNodeCertificate } from '../../../src/manager/ca/signer.js';
import { ClusterApiServer } from '../../../src/manager/clusterapi/server.js';
import {
  DESCRIPTION,
  clientFor,
  freePort,
  joinWorker,
  outcome,
  rawCall,
  removeStateDirs,
  startCluster,
  waitFor,
  type TestCluster,
} from './helpers.js';

/** Every path but the two CA bootstrap calls needs a verified certificate. */
const AUTHENTICATED_PATHS = Object.values(CLUSTER_API_PATHS).filter(
  (path) => path !== CLUSTER_API_PATHS.rootCACertificate && path !== CLUSTER_API_PATHS.issueNodeCertificate,
);

/** A body each call would accept, so a refusal can only come from authorization. */
const PLAUSIBLE_BODY = JSON.stringify({
  sessionId: 'x',
  csr: 'x',
  updates: [],
  message: { subscriptionId: 'x', entries: [], close: true },
  description: {
    Hostname: 'h',
    Platform: { Architecture: 'x86_64', OS: 'linux' },
    Resources: {},
    Engine: { EngineVersion: 'x' },
  },
});

async function certificateFor(
  signer: Awaited<ReturnType<typeof loadRootCASigner>>,
  role: 'worker' | 'manager',
  clusterId: string,
  rootCAPem: string,
): Promise<NodeTlsCredentials> {
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const certPem = await signNodeCertificate({
    csrPem,
    nodeId: newId(),
    role,
    clusterId,
    expirySeconds: 3600,
    rootCA: signer,
  });
  return { certPem, keyPem, rootCAPem };
}

describe('cluster port security', () => {
  let c: TestCluster | undefined;
  const clients: ClusterClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await c?.close();
    c = undefined;
  });
  after(removeStateDirs);

  const url = (cluster: TestCluster): string => `https://${cluster.managerAddr}`;
  const track = (client: ClusterClient): ClusterClient => (clients.push(client), client);

  it('a plaintext HTTP/2 client gets nothing', async () => {
    c = await startCluster();
    const response = await rawCall(`http://${c.managerAddr}`, {}, CLUSTER_API_PATHS.rootCACertificate);
    assert.equal(response.status, undefined, 'no HTTP/2 response');
    assert.equal(response.body, '');
  });

  it('a plaintext HTTP/1 client gets nothing', async () => {
    c = await startCluster();
    const [host, port] = c.managerAddr.split(':');
    const received = await new Promise<string>((resolve) => {
      let data = '';
      const socket = net.connect({ host, port: Number(port) }, () =>
        socket.write(
          `POST ${CLUSTER_API_PATHS.rootCACertificate} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`,
        ),
      );
      socket.setEncoding('latin1');
      socket.setTimeout(10_000, () => socket.destroy());
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('error', () => {});
      socket.on('close', () => resolve(data));
    });
    assert.ok(!received.includes('HTTP/1.1'), 'no HTTP answer');
    assert.ok(!received.includes('BEGIN CERTIFICATE'));
  });

  it('an HTTP/1.1 client over TLS gets nothing', async () => {
    c = await startCluster();
    const [host, port] = c.managerAddr.split(':');
    const result = await new Promise<{ status?: number; error?: Error }>((resolve) => {
      const request = https.request(
        {
          host,
          port: Number(port),
          method: 'POST',
          path: CLUSTER_API_PATHS.rootCACertificate,
          rejectUnauthorized: false,
        },
        (response) => {
          response.resume();
          resolve({ status: response.statusCode });
        },
      );
      request.setTimeout(10_000, () => request.destroy(new Error('hung')));
      request.on('error', (error) => resolve({ error }));
      request.end('{}');
    });
    assert.equal(result.status, undefined);
    assert.ok(result.error);
    assert.notEqual(result.error.message, 'hung');
  });

  it('without a certificate only the two CA calls answer', async () => {
    c = await startCluster();
    const anonymous = clientTlsOptions({ rootCAPem: c.rootCAPem }, CA_SERVER_NAME);

    const root = await rawCall(url(c), anonymous, CLUSTER_API_PATHS.rootCACertificate);
    assert.equal(root.status, 200);
    assert.equal(JSON.parse(root.body).certificate, c.rootCAPem, 'the root CA bundle, byte for byte');

    const issue = await rawCall(url(c), anonymous, CLUSTER_API_PATHS.issueNodeCertificate, {
      body: JSON.stringify({ csr: 'x', token: 'SWMTKN-1-x-y', availability: 'active' }),
    });
    assert.equal(issue.status, 400);
    assert.deepEqual(JSON.parse(issue.body), {
      code: 'InvalidArgument',
      message: 'A valid join token is necessary to join this cluster',
      rpc: true,
    });

    for (const path of AUTHENTICATED_PATHS) {
      const response = await rawCall(url(c), anonymous, path, { body: PLAUSIBLE_BODY });
      assert.equal(response.status, 403, path);
      assert.deepEqual(
        JSON.parse(response.body),
        { code: 'PermissionDenied', message: 'no client certificates in request', rpc: true },
        path,
      );
    }
    assert.deepEqual(c.calls, [], 'nothing reached the dispatcher');
  });

  it('a certificate from another CA is refused', async () => {
    c = await startCluster();
    const otherRoot = await createRootCA();
    const foreign = await certificateFor(
      await loadRootCASigner(otherRoot),
      'manager',
      c.clusterId,
      c.rootCAPem,
    );
    // It trusts our root, so it reaches our manager; the manager does not trust its certificate.
    const client = track(clientFor(c, foreign));
    const calls: (() => Promise<unknown>)[] = [
      () => client.heartbeat('x'),
      () => client.health(),
      () => client.renewNodeCertificate('x'),
    ];
    for (const call of calls) {
      const { error } = await outcome(call());
      assert.ok(error instanceof ShoalError);
      assert.equal(error.code, 'PermissionDenied');
      assert.equal(error.message, 'no verified chains for remote certificate');
    }
    const session = await new Promise<Error | undefined>((resolve) =>
      client.session({ description: DESCRIPTION }, () => {}, resolve),
    );
    assert.ok(session instanceof ShoalError);
    assert.equal(session.code, 'PermissionDenied');
    assert.deepEqual(c.calls, []);
  });

  it('a certificate of another cluster under the same root is refused', async () => {
    c = await startCluster();
    const signer = await loadRootCASigner(c.cluster().RootCA!);
    const otherCluster = await certificateFor(signer, 'worker', newId(), c.rootCAPem);
    const { error } = await outcome(track(clientFor(c, otherCluster)).heartbeat('x'));
    assert.ok(error instanceof ShoalError);
    assert.equal(
      error.message,
      `Permission denied: remote certificate not part of organization: ${c.clusterId}`,
    );
  });

  it("a worker's certificate cannot call a manager-only method", async () => {
    c = await startCluster();
    const worker = await joinWorker(c);
    const { error } = await outcome(track(clientFor(c, worker)).health());
    assert.ok(error instanceof ShoalError);
    assert.equal(error.code, 'PermissionDenied');
    assert.equal(error.message, 'Permission denied: remote certificate not part of OUs: [swarm-manager]');
    assert.equal(error.status, 403);
    assert.equal(error.rpc, true);

    assert.deepEqual(await track(clientFor(c, c.managerCredentials)).health(), { status: 'SERVING' });
  });

  it("a removed node's certificate is refused, and its open connection is cut", async () => {
    c = await startCluster();
    const worker = await joinWorker(c);
    const client = track(clientFor(c, worker));
    const cluster = c;
    let registered = false;
    const sessionEnded = new Promise<Error | undefined>((resolve) =>
      client.session({ description: DESCRIPTION }, () => (registered = true), resolve),
    );
    await waitFor(() => registered, 'the session to start');

    // What `node rm` does to the store: blacklist the certificate (then delete the node). The
    // blacklist alone makes the manager drop the node's connection.
    await c.store.update((tx) => {
      const updated = structuredClone(tx.get('cluster', cluster.clusterId)!);
      updated.RootCA!.BlacklistedCertificates = {
        ...updated.RootCA!.BlacklistedCertificates,
        [worker.nodeId]: new Date(Date.now() + 3600_000).toISOString(),
      };
      tx.update('cluster', updated);
    });
    const ended = await sessionEnded;
    assert.ok(ended instanceof ShoalError);
    assert.equal(ended.code, 'Unavailable');
    await c.store.update((tx) => tx.delete('node', worker.nodeId));

    const removed = `Permission denied: node ${worker.nodeId} was removed from swarm`;
    const calls: (() => Promise<unknown>)[] = [() => client.heartbeat('x'), () => renewCertificate(client)];
    for (const call of calls) {
      const { error } = await outcome(call());
      assert.ok(error instanceof ShoalError);
      assert.equal(error.code, 'PermissionDenied');
      assert.equal(error.message, removed);
    }
  });

  it('unknown methods and other HTTP methods are refused', async () => {
    c = await startCluster();
    const options = clientTlsOptions(c.managerCredentials);
    const unknown = await rawCall(url(c), options, '/shoal.Control/ListNodes');
    assert.equal(unknown.status, 501);
    assert.equal(JSON.parse(unknown.body).code, 'Unimplemented');
    const get = await rawCall(url(c), options, CLUSTER_API_PATHS.rootCACertificate, { method: 'GET' });
    assert.equal(get.status, 405);
  });

  it('nodes accept only a manager of their root as the server', async () => {
    c = await startCluster();
    const worker = await joinWorker(c);
    // A server presenting a worker's certificate: valid under the root, but not a manager.
    const port = await freePort();
    const impostor = new ClusterApiServer({
      listenAddr: { host: '127.0.0.1', port },
      store: c.store,
      dispatcher: c.dispatcher,
      credentials: worker,
      clusterId: c.clusterId,
    });
    await impostor.start();
    try {
      const client = track(new ClusterClient({ managerAddr: `127.0.0.1:${port}`, credentials: worker }));
      const { error } = await outcome(client.heartbeat('x'));
      assert.ok(error instanceof ShoalError);
      assert.equal(error.code, 'Unavailable');
      assert.match(error.message, /swarm-manager/);
    } finally {
      await impostor.stop();
    }
  });
});
