// The first moments of a cluster (`swarm init`): a root CA, join tokens, the cluster object, the first
// node, a manager, with a certificate signed from the node's own CSR, and the ingress network (as
// swarmkit makes it for a fresh swarm: named `ingress`, its subnet the first of the address pools).

import { nodeTlsInfo, rootTlsInfo } from '../api/certs.js';
import { newUnlockKey } from '../api/unlock-key.js';
import type { Cluster, Node, NodeAvailability, NodeDescription, SwarmSpec } from '../api/types.js';
import type { ObjectStore } from '../store/objects.js';
import { createRootCA, loadRootCASigner, type RootCAKeyMaterial } from './ca/rootca.js';
import { signNodeCertificate } from './ca/signer.js';
import { generateJoinTokens } from './ca/tokens.js';
import { readHostRoutes } from './allocator/host.js';
import type { HostPrefix } from './allocator/networks.js';
import { allocate, newIngressNetwork } from './controlapi/networks.js';

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
  /** The root CA, when the caller made it first (an etcd store needs certificates before it exists). */
  rootCA?: RootCAKeyMaterial;
  /** This manager's routes, which the ingress network's subnet must not overlap (default: the host's). */
  hostRoutes?: () => HostPrefix[];
}

export interface BootstrapResult {
  rootCACertPem: string;
  nodeCertPem: string;
}

export async function bootstrapCluster(
  store: ObjectStore,
  request: BootstrapRequest,
): Promise<BootstrapResult> {
  const rootCA = request.rootCA ?? (await createRootCA());
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
    // `swarm init --autolock`: the key managers wrap their data key under from the start.
    ...(request.spec.EncryptionConfig?.AutoLockManagers && { UnlockKey: newUnlockKey() }),
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
  const routes = (request.hostRoutes ?? readHostRoutes)();
  await store.update((tx) => {
    tx.create('cluster', cluster);
    tx.create('node', node);
    const ingress = newIngressNetwork();
    let allocated = ingress;
    try {
      allocated = allocate(tx, ingress, routes);
    } catch {
      // No subnet left for it (the host's routes cover the pools): it is stored as it is, and the
      // allocator keeps trying (and saying why) until the routes or the pools allow one.
    }
    tx.create('network', allocated);
  });
  return { rootCACertPem: rootCA.CACert, nodeCertPem };
}

export function splitHostPort(addr: string): [string, number] {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (!m) return [addr, 0];
  return [m[1]!, Number(m[2])];
}
