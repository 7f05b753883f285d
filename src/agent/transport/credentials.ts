// What a node holds after the CA has signed for it, and the checks it makes before trusting a
// certificate the CA sent: that it chains to the root the node trusts, is for the key the node just
// made, and names the node it was asked for.

import { verifyNodeCertificate, type CertificateIdentity, type NodeTlsCredentials } from '../../api/certs.js';
import { ShoalError } from '../../api/errors.js';

/** A node's TLS credentials together with the identity its certificate carries. */
export interface NodeCredentials extends NodeTlsCredentials, CertificateIdentity {}

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  rootCAPem: string;
  /** Identity fields the certificate must carry (the node ID the CA answered with, the old cluster…). */
  expected: Partial<Pick<CertificateIdentity, 'nodeId' | 'clusterId'>>;
}

export function acceptIssuedCertificate(issued: IssuedCertificate): NodeCredentials {
  const verified = verifyNodeCertificate({
    certPem: issued.certPem,
    rootCAPem: issued.rootCAPem,
    keyPem: issued.keyPem,
  });
  for (const field of ['nodeId', 'clusterId'] as const) {
    const expected = issued.expected[field];
    if (expected !== undefined && verified[field] !== expected) {
      throw new ShoalError(
        'Internal',
        `the CA issued a certificate for ${field} ${verified[field]}, expected ${expected}`,
      );
    }
  }
  return {
    certPem: issued.certPem,
    keyPem: issued.keyPem,
    rootCAPem: issued.rootCAPem,
    nodeId: verified.nodeId,
    role: verified.role,
    clusterId: verified.clusterId,
  };
}
