// The CA's calls without the network: what a join creates, what a renewal signs.

import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';

import {
  generateNodeKeyAndCsr,
  parseNodeCertificate,
  verifyNodeCertificate,
} from '../../../src/api/certs.js';
import { ShoalError } from '../../../src/api/errors.js';
import { newId } from '../../../src/api/ids.js';
import { bootstrapCluster } from '../../../src/manager/bootstrap.js';
import {
  MANAGER_JOIN_UNSUPPORTED,
  NodeCertificateAuthority,
} from '../../../src/manager/clusterapi/node-ca.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';

const description = {
  Hostname: 'joiner',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: {},
  Engine: { EngineVersion: '1' },
};

async function setup(nodeCertExpiryNs = 3 * 3600 * 1e9) {
  const store = await ClusterStore.open(new SqliteKV(':memory:'));
  const clusterId = newId();
  const { csrPem } = await generateNodeKeyAndCsr();
  await bootstrapCluster(store, {
    clusterId,
    nodeId: newId(),
    spec: { Name: 'default', CAConfig: { NodeCertExpiry: nodeCertExpiryNs } },
    description,
    advertiseAddr: '198.18.0.1:2377',
    availability: 'active',
    defaultAddrPool: null,
    subnetSize: 24,
    dataPathPort: 4789,
    csrPem,
  });
  const cluster = store.view((tx) => tx.get('cluster', clusterId))!;
  // A whole minute (certificates are issued to the minute), within the new root's validity.
  const now = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 3_600_000);
  const ca = (allowManagerJoins = false) =>
    new NodeCertificateAuthority({ store, clusterId, allowManagerJoins, now: () => now });
  return { store, clusterId, cluster, ca, now };
}

describe('the node CA', () => {
  const stores: ClusterStore[] = [];
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
  });

  it('serves the root CA bundle exactly as stored', async () => {
    const s = await setup();
    stores.push(s.store);
    assert.equal(s.ca().rootCACertificate().certificate, s.cluster.RootCA!.CACert);
  });

  it('a worker token creates the node and signs its certificate at once', async () => {
    const s = await setup();
    stores.push(s.store);
    const { keyPem, csrPem } = await generateNodeKeyAndCsr();
    const response = await s
      .ca()
      .issue(
        { csr: csrPem, token: s.cluster.JoinTokens.Worker, availability: 'drain', description },
        { addr: '198.18.0.7' },
      );

    const cert = verifyNodeCertificate({
      certPem: response.certificate,
      rootCAPem: response.rootCA,
      keyPem,
      now: s.now,
    });
    assert.deepEqual(
      { nodeId: cert.nodeId, role: cert.role, clusterId: cert.clusterId },
      { nodeId: response.nodeId, role: 'worker', clusterId: s.clusterId },
    );
    // NodeCertExpiry 3h from the issuing time; backdated 1h.
    assert.equal(cert.notAfter.getTime(), s.now.getTime() + 3 * 3600_000);
    assert.equal(cert.notBefore.getTime(), s.now.getTime() - 3600_000);

    const node = s.store.view((tx) => tx.get('node', response.nodeId))!;
    assert.deepEqual(node.Spec, { Labels: {}, Role: 'worker', Availability: 'drain' });
    assert.equal(node.Role, 'worker');
    assert.deepEqual(node.Status, { State: 'unknown', Addr: '198.18.0.7' });
    // What its certificate says about the issuer, as Docker reports it: the swarm's root, as the cluster's.
    assert.deepEqual(node.Description, { ...description, TLSInfo: s.cluster.TLSInfo });
  });

  it('the first node, made at init, has the TLSInfo of its certificate too', async () => {
    const s = await setup();
    stores.push(s.store);
    const [node] = s.store.view((tx) => tx.list('node'));
    assert.deepEqual(node!.Description.TLSInfo, s.cluster.TLSInfo);
    assert.equal(node!.Description.TLSInfo!.CertIssuerSubject, 'MBMxETAPBgNVBAMTCHN3YXJtLWNh'); // CN=swarm-ca
  });

  it('a wrong token, a bad CSR, or a manager token with one manager only: refused, nothing stored', async () => {
    const s = await setup();
    stores.push(s.store);
    const { csrPem } = await generateNodeKeyAndCsr();
    const nodes = () => s.store.view((tx) => tx.list('node').length);
    const before = nodes();

    await assert.rejects(
      s.ca().issue({ csr: csrPem, token: 'SWMTKN-1-x-y', availability: 'active' }, { addr: '' }),
      {
        code: 'InvalidArgument',
        message: 'A valid join token is necessary to join this cluster',
      },
    );
    await assert.rejects(
      s
        .ca()
        .issue({ csr: 'garbage', token: s.cluster.JoinTokens.Worker, availability: 'active' }, { addr: '' }),
      { code: 'InvalidArgument', message: /cannot parse CSR/ },
    );
    await assert.rejects(
      s
        .ca()
        .issue({ csr: csrPem, token: s.cluster.JoinTokens.Manager, availability: 'active' }, { addr: '' }),
      (err: unknown) =>
        err instanceof ShoalError &&
        err.code === 'FailedPrecondition' &&
        err.message === MANAGER_JOIN_UNSUPPORTED,
    );
    assert.equal(nodes(), before);

    // Where several managers are possible, the manager token makes a manager.
    const manager = await s
      .ca(true)
      .issue({ csr: csrPem, token: s.cluster.JoinTokens.Manager, availability: 'active' }, { addr: '' });
    assert.equal(parseNodeCertificate(manager.certificate).role, 'manager');
  });

  it('renewal signs with the role in the store, whatever the caller presents', async () => {
    const s = await setup();
    stores.push(s.store);
    const joined = await s.ca().issue(
      {
        csr: (await generateNodeKeyAndCsr()).csrPem,
        token: s.cluster.JoinTokens.Worker,
        availability: 'active',
      },
      { addr: '' },
    );
    await s.store.update((tx) => {
      const node = structuredClone(tx.get('node', joined.nodeId)!);
      node.Role = 'manager';
      delete node.Description.TLSInfo; // as written by a version that did not record it
      tx.update('node', node);
    });
    const renewed = await s
      .ca()
      .renew(
        { nodeId: joined.nodeId, role: 'worker', clusterId: s.clusterId },
        { csr: (await generateNodeKeyAndCsr()).csrPem },
      );
    assert.equal(renewed.nodeId, joined.nodeId);
    assert.equal(parseNodeCertificate(renewed.certificate).role, 'manager');
    // The renewal records what the new certificate says about its issuer.
    const renewedNode = s.store.view((tx) => tx.get('node', joined.nodeId))!;
    assert.deepEqual(renewedNode.Description.TLSInfo, s.cluster.TLSInfo);

    await assert.rejects(
      s.ca().renew({ nodeId: 'gone', role: 'worker', clusterId: s.clusterId }, { csr: 'x' }),
      { code: 'NotFound', message: 'node gone not found' },
    );
  });
});
