// The CA's calls on the cluster port (swarmkit's CA and NodeCA services): the root certificate for a
// node about to join, a first certificate in exchange for a join token, and renewals.
//
// Simplification: swarmkit's IssueNodeCertificate only records the CSR (state PENDING), a signing loop
// on the leader signs it, and the node polls NodeCertificateStatus until it is ISSUED. With one
// manager that loop adds nothing, so the certificate is signed within the call and returned at once;
// there is no NodeCertificateStatus.

import type {
  IssueNodeCertificateRequest,
  NodeCertificateResponse,
  RenewNodeCertificateRequest,
  RootCACertificateResponse,
} from '../../api/dispatcher.js';
import { nodeTlsInfo, type CertificateIdentity } from '../../api/certs.js';
import { failedPrecondition, notFound, ShoalError } from '../../api/errors.js';
import { newId } from '../../api/ids.js';
import type { Cluster, Node, NodeRole, RootCAMaterial } from '../../api/types.js';
import type { ObjectStore } from '../../store/objects.js';
import { loadRootCASigner, type RootCASigner } from '../ca/rootca.js';
import { signNodeCertificate } from '../ca/signer.js';
import { roleForJoinToken } from '../ca/tokens.js';

export interface NodeCertificateAuthorityOptions {
  store: ObjectStore;
  clusterId: string;
  /**
   * Whether the manager token may be used. A second manager needs a datastore that several managers
   * can share (etcd) and a new etcd member; until adding members is built, this stays false.
   */
  allowManagerJoins?: boolean;
  /** The time certificates are issued at (tests). */
  now?: () => Date;
}

export const MANAGER_JOIN_UNSUPPORTED =
  'joining as a manager is not supported yet: shoal runs one manager per swarm (adding etcd members to a swarm is not built yet)';

const NANOS_PER_SECOND = 1e9;

/** What the CA knows of the caller of an unauthenticated call. */
export interface JoiningPeer {
  /** The IP address the connection comes from; the new node's `Status.Addr`. */
  addr: string;
}

export class NodeCertificateAuthority {
  private readonly store: ObjectStore;
  private readonly clusterId: string;
  private readonly allowManagerJoins: boolean;
  private readonly now: () => Date;
  /** The signer for the current root, imported once (keyed by the PEMs it came from). */
  private signer: { cert: string; key: string; signer: Promise<RootCASigner> } | undefined;

  constructor(options: NodeCertificateAuthorityOptions) {
    this.store = options.store;
    this.clusterId = options.clusterId;
    this.allowManagerJoins = options.allowManagerJoins ?? false;
    this.now = options.now ?? (() => new Date());
  }

  /** Node IDs whose certificates are refused (removed nodes). */
  blacklist(): Readonly<Record<string, string>> | undefined {
    return this.store.view((tx) => tx.get('cluster', this.clusterId))?.RootCA?.BlacklistedCertificates;
  }

  /** The root bundle exactly as stored: the joining node hashes these bytes against its token. */
  rootCACertificate(): RootCACertificateResponse {
    return { certificate: this.rootCA(this.cluster()).CACert };
  }

  /**
   * A new node: the token decides the role; the node object is created and its CSR signed. The CSR is
   * signed before the node is stored, so a bad CSR leaves no node behind.
   */
  async issue(request: IssueNodeCertificateRequest, peer: JoiningPeer): Promise<NodeCertificateResponse> {
    const cluster = this.cluster();
    const rootCA = this.rootCA(cluster);
    const role = roleForJoinToken(request.token, cluster.JoinTokens);
    if (role === 'manager' && !this.allowManagerJoins) throw failedPrecondition(MANAGER_JOIN_UNSUPPORTED);

    const nodeId = newId();
    const certificate = await this.sign(cluster, rootCA, request.csr, nodeId, role);
    const node: Node = {
      ID: nodeId,
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { Labels: {}, Role: role, Availability: request.availability },
      // The session replaces the description with what the node's executor reports, all but TLSInfo:
      // what the certificate says about its issuer is the CA's to write, here and at renewal.
      Description: {
        ...(request.description ?? {
          Hostname: '',
          Platform: { Architecture: '', OS: '' },
          Resources: {},
          Engine: { EngineVersion: '' },
        }),
        TLSInfo: nodeTlsInfo(certificate, rootCA.CACert, this.now()),
      },
      Status: { State: 'unknown', Addr: peer.addr },
      Role: role,
    };
    await this.store.update((tx) => tx.create('node', node));
    return { nodeId, certificate, rootCA: rootCA.CACert };
  }

  /**
   * A new certificate for an authenticated node. Subject from the store, not from the old certificate
   * nor the CSR: the node's observed role, so a promotion or demotion takes effect through renewal.
   */
  async renew(
    caller: CertificateIdentity,
    request: RenewNodeCertificateRequest,
  ): Promise<NodeCertificateResponse> {
    const cluster = this.cluster();
    const rootCA = this.rootCA(cluster);
    const node = this.store.view((tx) => tx.get('node', caller.nodeId));
    if (!node) throw notFound(`node ${caller.nodeId} not found`, { rpc: true });
    const role: NodeRole = node.Role ?? node.Spec.Role ?? caller.role;
    const certificate = await this.sign(cluster, rootCA, request.csr, node.ID, role);
    const tlsInfo = nodeTlsInfo(certificate, rootCA.CACert, this.now());
    const known = node.Description?.TLSInfo;
    if (
      known?.TrustRoot !== tlsInfo.TrustRoot ||
      known.CertIssuerSubject !== tlsInfo.CertIssuerSubject ||
      known.CertIssuerPublicKey !== tlsInfo.CertIssuerPublicKey
    ) {
      await this.store.update((tx) => {
        const current = tx.get('node', node.ID);
        if (current)
          tx.update('node', { ...current, Description: { ...current.Description, TLSInfo: tlsInfo } });
      });
    }
    return { nodeId: node.ID, certificate, rootCA: rootCA.CACert };
  }

  private cluster(): Cluster {
    const cluster = this.store.view((tx) => tx.get('cluster', this.clusterId));
    if (!cluster) throw new ShoalError('Unavailable', 'the cluster object is not available');
    return cluster;
  }

  private rootCA(cluster: Cluster): RootCAMaterial {
    if (!cluster.RootCA?.CACert || !cluster.RootCA.CAKey) {
      throw new ShoalError('Unavailable', 'this manager holds no root CA key and cannot sign certificates');
    }
    return cluster.RootCA;
  }

  private async sign(
    cluster: Cluster,
    rootCA: RootCAMaterial,
    csrPem: string,
    nodeId: string,
    role: NodeRole,
  ): Promise<string> {
    return signNodeCertificate({
      csrPem,
      nodeId,
      role,
      clusterId: this.clusterId,
      expirySeconds: (cluster.Spec.CAConfig?.NodeCertExpiry ?? 0) / NANOS_PER_SECOND,
      rootCA: await this.signerFor(rootCA),
      now: this.now(),
    });
  }

  private signerFor(rootCA: RootCAMaterial): Promise<RootCASigner> {
    if (this.signer?.cert !== rootCA.CACert || this.signer.key !== rootCA.CAKey) {
      const signer = loadRootCASigner({ CACert: rootCA.CACert, CAKey: rootCA.CAKey });
      // A failed import is not remembered: the next call tries again.
      signer.catch(() => {
        if (this.signer?.signer === signer) this.signer = undefined;
      });
      this.signer = { cert: rootCA.CACert, key: rootCA.CAKey, signer };
    }
    return this.signer.signer;
  }
}
