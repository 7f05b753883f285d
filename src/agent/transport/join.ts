// Joining a swarm (`swarm join --token T host:2377`), the node's side of swarmkit's join flow
// (swarmkit's ca.DownloadRootCA and the node's first certificate request):
//   1. fetch the root CA from the manager without verifying the manager — nothing is trusted yet;
//   2. check it against the digest in the join token; on a mismatch stop there, having sent nothing;
//   3. make a key and CSR locally (the key never leaves the node);
//   4. trade the token and CSR for a certificate, over TLS now verified against that root
//      (server name `swarm-ca`), and check the certificate before keeping it.

import {
  assertRootCAMatchesToken,
  CA_SERVER_NAME,
  clientTlsOptions,
  generateNodeKeyAndCsr,
  parseJoinToken,
} from '../../api/certs.js';
import {
  CLUSTER_API_PATHS,
  type IssueNodeCertificateRequest,
  type NodeCertificateResponse,
  type RootCACertificateResponse,
} from '../../api/dispatcher.js';
import { ShoalError } from '../../api/errors.js';
import type { NodeAvailability, NodeDescription } from '../../api/types.js';
import { managerUrl } from './address.js';
import {
  DEFAULT_CONNECTION_SETTINGS,
  ManagerConnection,
  type ConnectionSettings,
  type ConnectionTarget,
} from './connection.js';
import { acceptIssuedCertificate, type NodeCredentials } from './credentials.js';

export interface JoinOptions {
  /** A manager's cluster address, `host:port`. */
  managerAddr: string;
  token: string;
  availability?: NodeAvailability;
  /** What the node is (the session sends it again; given here, `node ls` shows it from the start). */
  description?: NodeDescription;
  /** The node's `--advertise-addr`, `host:port`. */
  advertiseAddr?: string;
  /** Deadline of each of the two calls. */
  callTimeoutMs?: number;
  connection?: Partial<ConnectionSettings>;
}

export const DEFAULT_JOIN_CALL_TIMEOUT_MS = 20_000;

export async function joinCluster(options: JoinOptions): Promise<NodeCredentials> {
  // A malformed token fails here, before anything goes on the network.
  parseJoinToken(options.token);
  const url = managerUrl(options.managerAddr);
  const settings = { ...DEFAULT_CONNECTION_SETTINGS, ...options.connection };
  const timeoutMs = options.callTimeoutMs ?? DEFAULT_JOIN_CALL_TIMEOUT_MS;

  const rootCAPem = await fetchRootCA(url, settings, timeoutMs);
  assertRootCAMatchesToken(rootCAPem, options.token);

  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const request: IssueNodeCertificateRequest = {
    csr: csrPem,
    token: options.token,
    availability: options.availability ?? 'active',
    ...(options.description !== undefined ? { description: options.description } : {}),
    ...(options.advertiseAddr !== undefined ? { advertiseAddr: options.advertiseAddr } : {}),
  };
  const response = await callOnce<NodeCertificateResponse>(
    { url, tls: clientTlsOptions({ rootCAPem }, CA_SERVER_NAME) },
    settings,
    (connection) => connection.unary(CLUSTER_API_PATHS.issueNodeCertificate, request, timeoutMs),
  );
  if (typeof response?.certificate !== 'string' || typeof response.nodeId !== 'string') {
    throw new ShoalError('Internal', 'malformed certificate response from manager');
  }
  // Only the root the token pinned is trusted, whatever root the answer names.
  return acceptIssuedCertificate({
    certPem: response.certificate,
    keyPem,
    rootCAPem,
    expected: { nodeId: response.nodeId },
  });
}

/** The root CA bundle as the manager sends it, unverified: the caller checks it against the token. */
async function fetchRootCA(url: string, settings: ConnectionSettings, timeoutMs: number): Promise<string> {
  const response = await callOnce<RootCACertificateResponse>(
    // Nothing to verify the manager against yet: the token's digest will judge what it sends.
    { url, tls: { rejectUnauthorized: false, servername: CA_SERVER_NAME, minVersion: 'TLSv1.2' } },
    settings,
    (connection) => connection.unary(CLUSTER_API_PATHS.rootCACertificate, {}, timeoutMs),
  );
  if (typeof response?.certificate !== 'string') {
    throw new ShoalError('Internal', 'malformed root CA response from manager');
  }
  return response.certificate;
}

async function callOnce<T>(
  target: ConnectionTarget,
  settings: ConnectionSettings,
  call: (connection: ManagerConnection) => Promise<T>,
): Promise<T> {
  const connection = new ManagerConnection(() => target, settings);
  try {
    return await call(connection);
  } finally {
    connection.close();
  }
}
