// Renewing a node's certificate over its mutual-TLS connection: a fresh key and CSR made here (the key
// never leaves the node), a certificate from the CA (which takes the node's role from the store, so
// a promotion or demotion arrives this way), and the same checks as at the join before it is used.

import { generateNodeKeyAndCsr, parseNodeCertificate } from '../../api/certs.js';
import { ShoalError } from '../../api/errors.js';
import type { ClusterClient } from './cluster-client.js';
import { acceptIssuedCertificate, type NodeCredentials } from './credentials.js';

/**
 * Asks the manager `client` talks to for a new certificate and returns the new credentials. The
 * client keeps using the old ones until the caller has stored the new ones and calls
 * `client.setCredentials`.
 */
export async function renewCertificate(client: ClusterClient): Promise<NodeCredentials> {
  const current = client.credentials;
  const { nodeId, clusterId } = parseNodeCertificate(current.certPem);
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const response = await client.renewNodeCertificate(csrPem);
  if (typeof response?.certificate !== 'string') {
    throw new ShoalError('Internal', 'malformed certificate response from manager');
  }
  return acceptIssuedCertificate({
    certPem: response.certificate,
    keyPem,
    rootCAPem: current.rootCAPem,
    expected: { nodeId, clusterId },
  });
}
