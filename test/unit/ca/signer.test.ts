import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { encodePem, generateNodeKeyAndCsr, parseNodeCertificate, x509 } from '../../../src/api/certs.js';
import { isShoalError, ShoalError } from '../../../src/api/errors.js';
import {
  DEFAULT_NODE_CERT_EXPIRY_SECONDS,
  signNodeCertificate,
  validateNodeCertExpiry,
  type SignNodeCertificateRequest,
} from '../../../src/manager/ca/signer.js';
import { newTestCluster, type TestCluster } from './pki.js';

const NODE_ID = '3wfvnhsb9hl1v1ejugkp1wk9x';

async function sign(
  cluster: TestCluster,
  overrides: Partial<SignNodeCertificateRequest> = {},
): Promise<{ certPem: string; keyPem: string }> {
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const certPem = await signNodeCertificate({
    csrPem,
    nodeId: NODE_ID,
    role: 'worker',
    clusterId: cluster.clusterId,
    expirySeconds: DEFAULT_NODE_CERT_EXPIRY_SECONDS,
    rootCA: cluster.signer,
    ...overrides,
  });
  return { certPem, keyPem };
}

const isInvalidArgument = (message: string) => (err: unknown) =>
  isShoalError(err) && err.code === 'InvalidArgument' && err.message === message;

test('a manager certificate: subject, SANs, usages, as Node sees it', async () => {
  const cluster = await newTestCluster();
  const { certPem, keyPem } = await sign(cluster, { role: 'manager' });
  const cert = new NodeX509Certificate(certPem);

  // Go's subject order: O, OU, CN.
  assert.equal(cert.subject, `O=${cluster.clusterId}\nOU=swarm-manager\nCN=${NODE_ID}`);
  assert.equal(cert.issuer, 'CN=swarm-ca');
  assert.equal(cert.subjectAltName, `DNS:swarm-manager, DNS:${NODE_ID}, DNS:swarm-ca`);
  assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']); // server and client auth
  assert.equal(cert.ca, false);
  assert.ok(cert.checkPrivateKey(createPrivateKey(keyPem)));

  const root = new NodeX509Certificate(cluster.rootCAPem);
  assert.ok(cert.checkIssued(root));
  assert.ok(cert.verify(root.publicKey));
  assert.ok(cert.checkHost('swarm-manager'), 'clients reach managers by this name');
  assert.ok(cert.checkHost('swarm-ca'), 'nodes without a certificate reach the CA by this name');
});

test('a worker certificate: subject, SANs, usages, as @peculiar/x509 sees it', async () => {
  const cluster = await newTestCluster();
  const { certPem } = await sign(cluster, { role: 'worker' });
  const cert = new x509.X509Certificate(certPem);

  assert.deepEqual(cert.subjectName.getField('CN'), [NODE_ID]);
  assert.deepEqual(cert.subjectName.getField('OU'), ['swarm-worker']);
  assert.deepEqual(cert.subjectName.getField('O'), [cluster.clusterId]);
  const sans = cert.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
  assert.deepEqual(sans, [
    { type: 'dns', value: 'swarm-worker' },
    { type: 'dns', value: NODE_ID },
  ]);

  const keyUsage = cert.getExtension(x509.KeyUsagesExtension)!;
  assert.ok(keyUsage.critical);
  assert.equal(keyUsage.usages, x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment);
  assert.deepEqual(
    [...cert.getExtension(x509.ExtendedKeyUsageExtension)!.usages],
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
  );
  const constraints = cert.getExtension(x509.BasicConstraintsExtension)!;
  assert.ok(constraints.critical);
  assert.equal(constraints.ca, false);

  // The authority key identifier is the root's subject key identifier.
  const root = new x509.X509Certificate(cluster.rootCAPem);
  assert.equal(
    cert.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId,
    root.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId,
  );
  assert.ok(await cert.verify({ publicKey: root.publicKey, signatureOnly: true }));

  assert.deepEqual(parseNodeCertificate(certPem), {
    nodeId: NODE_ID,
    role: 'worker',
    clusterId: cluster.clusterId,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  });
});

test('validity: from now (to the minute) minus 1h to now (to the minute) plus the expiry', async () => {
  const cluster = await newTestCluster();
  const now = new Date('2026-03-01T12:00:40.500Z'); // rounds up to 12:01
  const { certPem } = await sign(cluster, { now, expirySeconds: 30 * 3600 });
  const info = parseNodeCertificate(certPem);
  assert.deepEqual(info.notBefore, new Date('2026-03-01T11:01:00Z'));
  assert.deepEqual(info.notAfter, new Date('2026-03-02T18:01:00Z'));
});

test('an expiry below 1h (or not a number) falls back to 90 days; 1h itself is honoured', async () => {
  const cluster = await newTestCluster();
  const now = new Date('2026-03-01T12:00:00Z');
  const lifetimeHours = async (expirySeconds: number): Promise<number> => {
    const info = parseNodeCertificate((await sign(cluster, { now, expirySeconds })).certPem);
    return (info.notAfter.getTime() - info.notBefore.getTime()) / 3_600_000;
  };
  // The 1h backdate is part of the lifetime.
  assert.equal(await lifetimeHours(1800), 2160 + 1);
  assert.equal(await lifetimeHours(0), 2160 + 1);
  assert.equal(await lifetimeHours(-5), 2160 + 1);
  assert.equal(await lifetimeHours(Number.NaN), 2160 + 1);
  assert.equal(await lifetimeHours(3599), 2160 + 1);
  assert.equal(await lifetimeHours(3600), 1 + 1);
});

test('only the public key comes from the CSR: its subject and requested extensions are ignored', async () => {
  const cluster = await newTestCluster();
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=intruder, OU=swarm-manager, O=another-cluster',
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'evil.example' }]),
      new x509.BasicConstraintsExtension(true, undefined, true),
    ],
  });
  const certPem = await signNodeCertificate({
    csrPem: csr.toString('pem'),
    nodeId: NODE_ID,
    role: 'worker',
    clusterId: cluster.clusterId,
    expirySeconds: DEFAULT_NODE_CERT_EXPIRY_SECONDS,
    rootCA: cluster.signer,
  });
  const cert = new NodeX509Certificate(certPem);
  assert.equal(cert.subject, `O=${cluster.clusterId}\nOU=swarm-worker\nCN=${NODE_ID}`);
  assert.equal(cert.subjectAltName, `DNS:swarm-worker, DNS:${NODE_ID}`);
  assert.equal(cert.ca, false);
  assert.deepEqual(
    cert.publicKey.export({ type: 'spki', format: 'der' }),
    Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)),
  );
});

test('a CSR whose signature does not verify is rejected', async () => {
  const cluster = await newTestCluster();
  const holder = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  const victim = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ]);
  // Asks for a certificate on someone else's public key, signed with a key it does hold.
  const forged = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { publicKey: victim.publicKey, privateKey: holder.privateKey },
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  await assert.rejects(
    sign(cluster, { csrPem: forged.toString('pem') }),
    isInvalidArgument('CSR signature verification failed'),
  );
});

test('a CSR that is not one, or carries a non-ECDSA key, is rejected', async () => {
  const cluster = await newTestCluster();
  await assert.rejects(sign(cluster, { csrPem: 'hello' }), (err: unknown) => {
    return isShoalError(err) && err.code === 'InvalidArgument' && err.message.startsWith('cannot parse CSR');
  });
  await assert.rejects(
    sign(cluster, { csrPem: encodePem('CERTIFICATE REQUEST', Buffer.from('3003020100', 'hex')) }),
    (err: unknown) => isShoalError(err) && err.message.startsWith('cannot parse CSR'),
  );

  const rsa = await webcrypto.subtle.generateKey(
    {
      name: 'RSASSA-PKCS1-v1_5',
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: 'SHA-256',
    },
    true,
    ['sign', 'verify'],
  );
  const rsaCsr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: rsa,
    signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' },
  });
  await assert.rejects(
    sign(cluster, { csrPem: rsaCsr.toString('pem') }),
    isInvalidArgument('unsupported CSR key: only ECDSA P-256, P-384 and P-521 keys are accepted'),
  );
});

test('NodeCertExpiry below 1h is refused by the API with swarmkit text', () => {
  const hour = 3600e9;
  for (const nanos of [0, -1, hour - 1, 30 * 60e9, Number.NaN]) {
    assert.throws(
      () => validateNodeCertExpiry(nanos),
      (err: unknown) => {
        assert.ok(err instanceof ShoalError);
        assert.equal(err.code, 'InvalidArgument');
        assert.equal(err.status, 400);
        assert.equal(
          err.apiMessage(),
          'rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s',
        );
        return true;
      },
    );
  }
  validateNodeCertExpiry(hour);
  validateNodeCertExpiry(2160 * hour);
});
