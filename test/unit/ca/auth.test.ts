import assert from 'node:assert/strict';
import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { Socket } from 'node:net';
import { test } from 'node:test';
import type { PeerCertificate } from 'node:tls';
import { peerIdentity, x509 } from '../../../src/api/certs.js';
import { ShoalError } from '../../../src/api/errors.js';
import { authorize } from '../../../src/manager/ca/auth.js';
import { newTestCluster, newTestNode, type TestCluster } from './pki.js';

const deniedWith = (message: string) => (err: unknown) => {
  assert.ok(err instanceof ShoalError);
  assert.equal(err.code, 'PermissionDenied');
  assert.equal(err.status, 403);
  assert.equal(err.message, message);
  return true;
};

const peer = (certPem: string): NodeX509Certificate => new NodeX509Certificate(certPem);

test('a manager passes a manager-only check; its identity comes back', async () => {
  const cluster = await newTestCluster();
  const manager = await newTestNode(cluster, 'manager');
  const identity = authorize(peer(manager.certPem), {
    allowedRoles: ['manager'],
    clusterId: cluster.clusterId,
  });
  assert.deepEqual(identity, { nodeId: manager.nodeId, role: 'manager', clusterId: cluster.clusterId });
});

test('a worker is refused a manager-only call, with the OU list as Go prints it', async () => {
  const cluster = await newTestCluster();
  const worker = await newTestNode(cluster, 'worker');
  assert.throws(
    () => authorize(peer(worker.certPem), { allowedRoles: ['manager'], clusterId: cluster.clusterId }),
    deniedWith('Permission denied: remote certificate not part of OUs: [swarm-manager]'),
  );
  assert.equal(
    authorize(peer(worker.certPem), { allowedRoles: ['worker', 'manager'], clusterId: cluster.clusterId })
      .role,
    'worker',
  );
});

test('a certificate with no swarm role is refused whatever roles are allowed', async () => {
  const cluster = await newTestCluster();
  const odd = await certificateWithSubject(cluster, `O=${cluster.clusterId}, OU=swarm-ca, CN=someone`);
  assert.throws(
    () => authorize(peer(odd), { allowedRoles: ['manager', 'worker'], clusterId: cluster.clusterId }),
    deniedWith('Permission denied: remote certificate not part of OUs: [swarm-manager swarm-worker]'),
  );
});

test('a removed node is refused, before the cluster is even checked', async () => {
  const cluster = await newTestCluster();
  const worker = await newTestNode(cluster, 'worker');
  const blacklist = { [worker.nodeId]: '2027-01-01T00:00:00Z' };
  assert.throws(
    () =>
      authorize(peer(worker.certPem), { allowedRoles: ['worker'], clusterId: cluster.clusterId, blacklist }),
    deniedWith(`Permission denied: node ${worker.nodeId} was removed from swarm`),
  );
  assert.throws(
    () => authorize(peer(worker.certPem), { allowedRoles: ['worker'], clusterId: 'another', blacklist }),
    deniedWith(`Permission denied: node ${worker.nodeId} was removed from swarm`),
  );
  // Other nodes are unaffected, and inherited object keys are not node IDs.
  const other = await newTestNode(cluster, 'worker');
  authorize(peer(other.certPem), { allowedRoles: ['worker'], clusterId: cluster.clusterId, blacklist });
  const toString = await certificateWithSubject(
    cluster,
    `O=${cluster.clusterId}, OU=swarm-worker, CN=toString`,
  );
  authorize(peer(toString), { allowedRoles: ['worker'], clusterId: cluster.clusterId, blacklist });
});

test('a node of another cluster is refused', async () => {
  const cluster = await newTestCluster();
  const worker = await newTestNode(cluster, 'worker');
  assert.throws(
    () => authorize(peer(worker.certPem), { allowedRoles: ['worker'], clusterId: 'othercluster' }),
    deniedWith('Permission denied: remote certificate not part of organization: othercluster'),
  );
});

test('peers without TLS or without a certificate are refused with swarmkit text', async () => {
  const cluster = await newTestCluster();
  const policy = { allowedRoles: ['worker', 'manager'] as const, clusterId: cluster.clusterId };
  assert.throws(() => authorize(new Socket(), policy), deniedWith('request is not using TLS'));
  // What getPeerCertificate() returns when the client sent none.
  const none = {} as PeerCertificate;
  assert.throws(() => authorize(none, policy), deniedWith('no client certificates in request'));
  assert.throws(() => peerIdentity(none), deniedWith('no client certificates in request'));

  const worker = await newTestNode(cluster, 'worker');
  const detailed = { raw: peer(worker.certPem).raw } as PeerCertificate;
  assert.equal(authorize(detailed, policy).nodeId, worker.nodeId);
});

/** A certificate signed by the cluster's root with an arbitrary subject, as our signer would never make. */
async function certificateWithSubject(cluster: TestCluster, subject: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const cert = await x509.X509CertificateGenerator.create({
    subject,
    issuer: cluster.signer.certificate.subjectName,
    publicKey: keys.publicKey,
    signingKey: cluster.signer.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 3600_000),
  });
  return cert.toString('pem');
}
