// Test helper: a cluster's PKI made with the real code paths (root CA, node key + CSR, signing).

import { generateNodeKeyAndCsr } from '../../../src/api/certs.js';
import { newId } from '../../../src/api/ids.js';
import type { NodeRole } from '../../../src/api/types.js';
import { createRootCA, loadRootCASigner, type RootCASigner } from '../../../src/manager/ca/rootca.js';
import { DEFAULT_NODE_CERT_EXPIRY_SECONDS, signNodeCertificate } from '../../../src/manager/ca/signer.js';

export interface TestCluster {
  clusterId: string;
  rootCAPem: string;
  rootCAKeyPem: string;
  signer: RootCASigner;
}

export interface TestNode {
  nodeId: string;
  role: NodeRole;
  certPem: string;
  keyPem: string;
}

export async function newTestCluster(): Promise<TestCluster> {
  const material = await createRootCA();
  return {
    clusterId: newId(),
    rootCAPem: material.CACert,
    rootCAKeyPem: material.CAKey,
    signer: await loadRootCASigner(material),
  };
}

export async function newTestNode(
  cluster: TestCluster,
  role: NodeRole,
  options: { now?: Date; expirySeconds?: number } = {},
): Promise<TestNode> {
  const nodeId = newId();
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const certPem = await signNodeCertificate({
    csrPem,
    nodeId,
    role,
    clusterId: cluster.clusterId,
    expirySeconds: options.expirySeconds ?? DEFAULT_NODE_CERT_EXPIRY_SECONDS,
    rootCA: cluster.signer,
    now: options.now,
  });
  return { nodeId, role, certPem, keyPem };
}
