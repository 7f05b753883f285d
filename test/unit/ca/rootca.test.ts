import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { rootTlsInfo, x509 } from '../../../src/api/certs.js';
import { isShoalError } from '../../../src/api/errors.js';
import {
  createRootCA,
  loadRootCASigner,
  ROOT_CA_LIFETIME_SECONDS,
  roundToMinute,
} from '../../../src/manager/ca/rootca.js';
import {
  DOCKER_INIT_TIME,
  DOCKER_ROOT_CA_PEM,
  DOCKER_ROOT_NOT_AFTER,
  DOCKER_ROOT_NOT_BEFORE,
  DOCKER_TLS_INFO_ISSUER_PUBLIC_KEY,
  DOCKER_TLS_INFO_ISSUER_SUBJECT,
} from './docker-fixture.js';
import { newTestCluster, newTestNode } from './pki.js';

test('the root CA is a self-signed ECDSA P-256 CA named swarm-ca', async () => {
  const { CACert, CAKey } = await createRootCA();

  const nodeView = new NodeX509Certificate(CACert);
  assert.equal(nodeView.subject, 'CN=swarm-ca');
  assert.equal(nodeView.issuer, 'CN=swarm-ca');
  assert.equal(nodeView.ca, true);
  assert.equal(nodeView.publicKey.asymmetricKeyType, 'ec');
  assert.equal(nodeView.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
  assert.ok(nodeView.verify(nodeView.publicKey), 'self-signed');
  assert.ok(nodeView.checkPrivateKey(createPrivateKey(CAKey)));

  const cert = new x509.X509Certificate(CACert);
  const signatureAlgorithm = cert.signatureAlgorithm as { name?: string; hash?: { name: string } };
  assert.equal(signatureAlgorithm.name, 'ECDSA');
  assert.equal(signatureAlgorithm.hash?.name, 'SHA-256');
  const keyUsage = cert.getExtension(x509.KeyUsagesExtension);
  assert.ok(keyUsage?.critical);
  assert.equal(keyUsage.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  assert.ok(constraints?.critical);
  assert.equal(constraints.ca, true);
  assert.equal(constraints.pathLength, undefined);
  assert.ok(cert.getExtension(x509.SubjectKeyIdentifierExtension));
  // 20 random bytes with the top bit clear: at most 40 hex digits, positive.
  assert.ok(cert.serialNumber.length <= 40 && cert.serialNumber.length >= 30, cert.serialNumber);
  assert.ok(parseInt(cert.serialNumber.slice(0, 2), 16) < 0x80);

  assert.match(
    CACert,
    /^-----BEGIN CERTIFICATE-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END CERTIFICATE-----\n$/,
  );
  assert.match(CAKey, /^-----BEGIN PRIVATE KEY-----\n/);
});

test('the root CA lives 20 years from the init time, rounded to the minute, minus 5 minutes', async () => {
  // The same init time as the Docker trace gives the same validity as Docker's root.
  const { CACert } = await createRootCA(DOCKER_INIT_TIME);
  const cert = new x509.X509Certificate(CACert);
  assert.deepEqual(cert.notBefore, DOCKER_ROOT_NOT_BEFORE);
  assert.deepEqual(cert.notAfter, DOCKER_ROOT_NOT_AFTER);
  assert.equal((cert.notAfter.getTime() - cert.notBefore.getTime()) / 1000, ROOT_CA_LIFETIME_SECONDS);

  const docker = new x509.X509Certificate(DOCKER_ROOT_CA_PEM);
  assert.deepEqual(cert.notBefore, docker.notBefore);
  assert.deepEqual(cert.notAfter, docker.notAfter);
});

test('roundToMinute rounds half up, as Go does', () => {
  assert.deepEqual(roundToMinute(new Date('2026-01-01T10:00:29.999Z')), new Date('2026-01-01T10:00:00Z'));
  assert.deepEqual(roundToMinute(new Date('2026-01-01T10:00:30.000Z')), new Date('2026-01-01T10:01:00Z'));
});

test('the cluster TLSInfo is the root subject and public key, encoded as Docker does', async () => {
  const info = rootTlsInfo(DOCKER_ROOT_CA_PEM);
  assert.equal(info.TrustRoot, DOCKER_ROOT_CA_PEM);
  assert.equal(info.CertIssuerSubject, DOCKER_TLS_INFO_ISSUER_SUBJECT);
  assert.equal(info.CertIssuerPublicKey, DOCKER_TLS_INFO_ISSUER_PUBLIC_KEY);

  // Ours encodes the same subject bytes as Docker's.
  const { CACert } = await createRootCA();
  assert.equal(rootTlsInfo(CACert).CertIssuerSubject, DOCKER_TLS_INFO_ISSUER_SUBJECT);
});

test('loading the root CA accepts PKCS#8 and SEC 1 keys', async () => {
  const material = await createRootCA();
  const signer = await loadRootCASigner(material);
  assert.equal(signer.certPem, material.CACert);
  assert.equal(signer.signatureHash, 'SHA-256');

  const sec1 = createPrivateKey(material.CAKey).export({ type: 'sec1', format: 'pem' }).toString();
  assert.match(sec1, /^-----BEGIN EC PRIVATE KEY-----/);
  const fromSec1 = await loadRootCASigner({ CACert: material.CACert, CAKey: sec1 });
  assert.equal(fromSec1.certPem, material.CACert);
});

test('loading the root CA refuses a key of another certificate, a non-CA certificate, garbage', async () => {
  const a = await createRootCA();
  const b = await createRootCA();
  await assert.rejects(loadRootCASigner({ CACert: a.CACert, CAKey: b.CAKey }), {
    message: 'certificate key mismatch',
  });

  const cluster = await newTestCluster();
  const node = await newTestNode(cluster, 'manager');
  await assert.rejects(loadRootCASigner({ CACert: node.certPem, CAKey: node.keyPem }), {
    message: 'root CA certificate is not a CA certificate',
  });

  await assert.rejects(loadRootCASigner({ CACert: a.CACert, CAKey: 'not a key' }), (err: unknown) => {
    return isShoalError(err) && err.message.startsWith('malformed root CA key');
  });
  await assert.rejects(loadRootCASigner({ CACert: 'nothing', CAKey: a.CAKey }), {
    message: 'no root CA certificate found',
  });
});
