// The node side: key and CSR, reading and verifying certificates, TLSInfo, PEM helpers.

import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { test } from 'node:test';
import {
  certificateIdentity,
  certificateSubject,
  decodePem,
  encodePem,
  generateNodeKeyAndCsr,
  nodeRoleOf,
  nodeTlsInfo,
  parseNodeCertificate,
  rootTlsInfo,
  splitCertificates,
  verifyNodeCertificate,
  x509,
} from '../../../src/api/certs.js';
import { isShoalError } from '../../../src/api/errors.js';
import { newTestCluster, newTestNode } from './pki.js';

const failsWith = (prefix: string) => (err: unknown) => isShoalError(err) && err.message.startsWith(prefix);

test('a node makes an ECDSA P-256 key and a CSR that carries only its public key', async () => {
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  const key = createPrivateKey(keyPem);
  assert.equal(key.asymmetricKeyType, 'ec');
  assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');

  assert.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----\n/);
  const csr = new x509.Pkcs10CertificateRequest(csrPem);
  assert.ok(await csr.verify());
  assert.equal(csr.subject, '');
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  assert.deepEqual(Buffer.from(csr.publicKey.rawData), spki);

  const other = await generateNodeKeyAndCsr();
  assert.notEqual(other.keyPem, keyPem, 'a fresh key every time');
});

test('identity from a certificate in any of the forms Node hands over', async () => {
  const cluster = await newTestCluster();
  const node = await newTestNode(cluster, 'manager');
  const expected = { nodeId: node.nodeId, role: 'manager', clusterId: cluster.clusterId };

  assert.deepEqual(certificateIdentity(node.certPem), expected);
  assert.deepEqual(certificateIdentity(new NodeX509Certificate(node.certPem)), expected);
  assert.deepEqual(certificateSubject(node.certPem), {
    commonName: node.nodeId,
    organizationalUnits: ['swarm-manager'],
    organizations: [cluster.clusterId],
  });
  // The first certificate of a bundle is the node's.
  assert.deepEqual(certificateIdentity(node.certPem + cluster.rootCAPem), expected);
  // Subjects are remembered by the certificate's bytes: read again, the same answer, which no caller can
  // change for the next one.
  const again = certificateSubject(new NodeX509Certificate(node.certPem));
  assert.throws(() => again.organizationalUnits.push('swarm-worker'), TypeError);
  assert.deepEqual(certificateSubject(node.certPem).organizationalUnits, ['swarm-manager']);

  assert.throws(() => certificateIdentity(cluster.rootCAPem), failsWith('certificate has no swarm role'));
  assert.throws(() => parseNodeCertificate('no PEM here'), failsWith('no certificate found'));
  assert.equal(nodeRoleOf('swarm-worker'), 'worker');
  assert.equal(nodeRoleOf('swarm-manager'), 'manager');
  assert.equal(nodeRoleOf('swarm-ca'), undefined);
});

test('verifying a certificate from the CA: root, key, validity period', async () => {
  const cluster = await newTestCluster();
  const other = await newTestCluster();
  const now = new Date();
  const node = await newTestNode(cluster, 'worker', { now, expirySeconds: 3600 * 10 });
  const stranger = await newTestNode(other, 'worker');

  const verified = verifyNodeCertificate({
    certPem: node.certPem,
    rootCAPem: cluster.rootCAPem,
    keyPem: node.keyPem,
  });
  assert.equal(verified.nodeId, node.nodeId);
  assert.equal(verified.role, 'worker');
  assert.equal(verified.issuer.subject, 'CN=swarm-ca');

  assert.throws(
    () => verifyNodeCertificate({ certPem: node.certPem, rootCAPem: other.rootCAPem }),
    failsWith('x509: certificate signed by unknown authority'),
  );
  assert.throws(
    () =>
      verifyNodeCertificate({ certPem: node.certPem, rootCAPem: cluster.rootCAPem, keyPem: stranger.keyPem }),
    failsWith('certificate does not match the private key'),
  );
  const later = new Date(now.getTime() + 11 * 3600_000);
  assert.throws(
    () => verifyNodeCertificate({ certPem: node.certPem, rootCAPem: cluster.rootCAPem, now: later }),
    failsWith(`certificate (1 - ${node.nodeId}) not valid after`),
  );
  const earlier = new Date(now.getTime() - 2 * 3600_000);
  assert.throws(
    () => verifyNodeCertificate({ certPem: node.certPem, rootCAPem: cluster.rootCAPem, now: earlier }),
    failsWith(`certificate (1 - ${node.nodeId}) not valid before`),
  );
  // A root bundle with several roots: any of them may have signed.
  const both = other.rootCAPem + cluster.rootCAPem;
  assert.equal(verifyNodeCertificate({ certPem: node.certPem, rootCAPem: both }).nodeId, node.nodeId);
});

test("a node's TLSInfo names the root that signed its certificate", async () => {
  const cluster = await newTestCluster();
  const node = await newTestNode(cluster, 'worker');
  const info = nodeTlsInfo(node.certPem, cluster.rootCAPem);
  assert.deepEqual(info, rootTlsInfo(cluster.rootCAPem));

  const root = new NodeX509Certificate(cluster.rootCAPem);
  const spki = root.publicKey.export({ type: 'spki', format: 'der' });
  assert.equal(info.CertIssuerPublicKey, spki.toString('base64'));
  const otherRoot = (await newTestCluster()).rootCAPem;
  assert.throws(() => nodeTlsInfo(node.certPem, otherRoot), failsWith('x509: certificate signed by unknown'));
});

test('PEM helpers: Go layout, headers, bundles', async () => {
  const der = Buffer.alloc(100, 7);
  const pem = encodePem('TEST DATA', der, { 'raft-dek': 'abc', 'kek-version': '3' });
  assert.match(pem, /^-----BEGIN TEST DATA-----\nraft-dek: abc\nkek-version: 3\n\n/);
  assert.ok(pem.endsWith('-----END TEST DATA-----\n'));
  assert.ok(pem.split('\n').every((line) => line.length <= 64));

  const [block] = decodePem(pem);
  assert.equal(block?.type, 'TEST DATA');
  assert.deepEqual(block?.headers, { 'raft-dek': 'abc', 'kek-version': '3' });
  assert.deepEqual(block?.der, der);

  const cluster = await newTestCluster();
  const node = await newTestNode(cluster, 'worker');
  const parts = splitCertificates(node.certPem + node.keyPem + cluster.rootCAPem);
  assert.deepEqual(parts, [node.certPem, cluster.rootCAPem]);
  assert.deepEqual(decodePem('nothing'), []);
});
