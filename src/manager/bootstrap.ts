// The first moments of a cluster (`swarm init`): a root CA, join tokens, the cluster object and the
// first node, a manager, with a certificate signed from the node's own CSR.

import { nodeTlsInfo, rootTlsInfo } from '../api/certs.js';
import type { Cluster, Node, NodeAvailability, NodeDescription, SwarmSpec } from '../api/types.js';
import type { ObjectStore } from '../store/objects.js';
import { createRootCA, loadRootCASigner } from './ca/rootca.js';
import { signNodeCertificate } from './ca/signer.js';
import { generateJoinTokens } from './ca/tokens.js';

export interface BootstrapRequest {
  clusterId: string;
  nodeId: string;
  spec: SwarmSpec;
  description: NodeDescription;
  /** `ip:port` of the cluster port other nodes will use. */
  advertiseAddr: string;
  availability: NodeAvailability;
  defaultAddrPool: string[] | null;
  subnetSize: number;
  dataPathPort: number;
  /** The first node's CSR: its key stays with the node. */
  csrPem: string;
}

export interface BootstrapResult {
  rootCACertPem: string;
  nodeCertPem: string;
}

export async function bootstrapCluster(
  store: ObjectStore,
  request: BootstrapRequest,
): Promise<BootstrapResult> {
  const rootCA = await createRootCA();
  const signer = await loadRootCASigner(rootCA);
  const nodeCertPem = await signNodeCertificate({
    csrPem: request.csrPem,
    nodeId: request.nodeId,
    role: 'manager',
    clusterId: request.clusterId,
    expirySeconds: (request.spec.CAConfig?.NodeCertExpiry ?? 0) / 1e9,
    rootCA: signer,
  });
  const cluster: Cluster = {
    ID: request.clusterId,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: request.spec,
    TLSInfo: rootTlsInfo(rootCA.CACert),
    RootRotationInProgress: false,
    DefaultAddrPool: request.defaultAddrPool,
    SubnetSize: request.subnetSize,
    DataPathPort: request.dataPathPort,
    JoinTokens: generateJoinTokens(rootCA.CACert),
    RootCA: { CACert: rootCA.CACert, CAKey: rootCA.CAKey },
  };
  const [ip] = splitHostPort(request.advertiseAddr);
  const node: Node = {
    ID: request.nodeId,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: { Labels: {}, Role: 'manager', Availability: request.availability },
    // What the node's certificate says about its issuer, as Docker keeps it in the description.
    Description: { ...request.description, TLSInfo: nodeTlsInfo(nodeCertPem, rootCA.CACert) },
    Status: { State: 'unknown', Addr: ip },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: request.advertiseAddr },
    Role: 'manager',
  };
  await store.update((tx) => {
    tx.create('cluster', cluster);
    tx.create('node', node);
  });
  return { rootCACertPem: rootCA.CACert, nodeCertPem };
}

export function splitHostPort(addr: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (!m) return [addr, 0];
  return [m[1]!, Number(m[2])];
}
