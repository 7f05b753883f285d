// Issuing node certificates from a CSR. Everything but the public key comes from the CA's arguments, never
// from the CSR, as swarmkit's SigningPolicy whitelists only the CSR's key (ca/config.go,
// ca/certificates.go PrepareCSR). Validity follows CFSSL's signer as swarmkit configures it.

import type { Extension, Pkcs10CertificateRequest } from '@peculiar/x509';
import { CA_SERVER_NAME, certificateRoleOf, encodePem, x509 } from '../../api/certs.js';
import { invalidArgument, ShoalError } from '../../api/errors.js';
import type { NodeRole } from '../../api/types.js';
import { randomSerialNumberHex, roundToMinute, type RootCASigner } from './rootca.js';

/** 2160h (90 days): the default `CAConfig.NodeCertExpiry`, and what the signer uses below the minimum. */
export const DEFAULT_NODE_CERT_EXPIRY_SECONDS = 2160 * 3600;
/** 1h: the smallest `CAConfig.NodeCertExpiry` the API accepts. */
export const MIN_NODE_CERT_EXPIRY_SECONDS = 3600;
/** Node certificates start 1h in the past so that nodes whose clocks lag still accept them. */
export const NODE_CERT_BACKDATE_SECONDS = 3600;

const NANOS_PER_SECOND = 1e9;

/**
 * Validates `CAConfig.NodeCertExpiry` (nanoseconds, as in the spec) for create/update of the cluster.
 * Throws swarmkit's InvalidArgument below 1h.
 */
export function validateNodeCertExpiry(nodeCertExpiryNanos: number): void {
  if (!(nodeCertExpiryNanos >= MIN_NODE_CERT_EXPIRY_SECONDS * NANOS_PER_SECOND)) {
    throw invalidArgument('minimum certificate expiry time is: 1h0m0s', { rpc: true });
  }
}

export interface SignNodeCertificateRequest {
  /** The node's CSR (PEM). Only its public key is used, after its signature is checked. */
  csrPem: string;
  /** CN: the node ID. */
  nodeId: string;
  /** OU: the role the certificate grants. */
  role: NodeRole;
  /** O: the cluster ID. */
  clusterId: string;
  /** `CAConfig.NodeCertExpiry` in seconds; below 1h (or not a number) the 90-day default is used. */
  expirySeconds: number;
  rootCA: RootCASigner;
  /**
   * IP SANs, for a certificate that also serves on addresses (an etcd member's: its peers and clients check
   * the address they dial). Node certificates have none.
   */
  ipAddresses?: readonly string[];
  now?: Date;
}

/**
 * Signs a node certificate and returns it as PEM. Subject O = cluster ID, OU = role, CN = node ID (Go's
 * order); DNS SANs: the role's OU string and the node ID, and for managers also `swarm-ca` (so that
 * nodes without a certificate can reach any manager as the CA). Key usage digital signature and key
 * encipherment, extended key usage server and client auth, not a CA. NotBefore is now (to the minute)
 * − 1h and NotAfter is now (to the minute) + expiry.
 *
 * Rejects a CSR that does not parse, does not carry an ECDSA key, or whose signature does not verify
 * (the requester must hold the key it asks a certificate for).
 */
export async function signNodeCertificate(request: SignNodeCertificateRequest): Promise<string> {
  const { rootCA } = request;
  if (!request.nodeId || !request.clusterId) {
    throw new ShoalError('Internal', 'a node certificate needs a node ID and a cluster ID');
  }
  const csr = await verifiedCsr(request.csrPem);

  const expirySeconds =
    request.expirySeconds >= MIN_NODE_CERT_EXPIRY_SECONDS
      ? request.expirySeconds
      : DEFAULT_NODE_CERT_EXPIRY_SECONDS;
  const issuedAt = roundToMinute(request.now ?? new Date());
  const notBefore = new Date(issuedAt.getTime() - NODE_CERT_BACKDATE_SECONDS * 1000);
  const notAfter = new Date(issuedAt.getTime() + expirySeconds * 1000);

  const ou = certificateRoleOf(request.role);
  const dnsNames = request.role === 'manager' ? [ou, request.nodeId, CA_SERVER_NAME] : [ou, request.nodeId];

  const extensions: Extension[] = [
    new x509.KeyUsagesExtension(
      x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
      true,
    ),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
    new x509.SubjectAlternativeNameExtension([
      ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...(request.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
    ]),
  ];
  // As Go does: the authority key identifier is the issuer's subject key identifier, when it has one.
  const issuerKeyId = rootCA.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  if (issuerKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId));

  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialNumberHex(),
    subject: [{ O: [request.clusterId] }, { OU: [ou] }, { CN: [request.nodeId] }],
    issuer: rootCA.certificate.subjectName,
    notBefore,
    notAfter,
    publicKey: csr.publicKey,
    signingKey: rootCA.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: rootCA.signatureHash },
    extensions,
  });
  return encodePem('CERTIFICATE', new Uint8Array(certificate.rawData));
}

const SUPPORTED_CURVES = new Set(['P-256', 'P-384', 'P-521']);

async function verifiedCsr(csrPem: string): Promise<Pkcs10CertificateRequest> {
  let csr: Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw csrError(`cannot parse CSR: ${(err as Error).message}`);
  }
  const algorithm = csr.publicKey.algorithm as { name?: string; namedCurve?: string };
  if (algorithm.name !== 'ECDSA' || !SUPPORTED_CURVES.has(algorithm.namedCurve ?? '')) {
    throw csrError('unsupported CSR key: only ECDSA P-256, P-384 and P-521 keys are accepted');
  }
  let valid: boolean;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw csrError('CSR signature verification failed');
  return csr;
}

function csrError(message: string): ShoalError {
  return new ShoalError('InvalidArgument', message);
}
