// Authorization of callers on the managers' mutual-TLS endpoints, by the subject of the peer's
// certificate: role (OU), removed nodes (blacklist by CN), cluster (O). Checks, order and texts as
// swarmkit's AuthorizeOrgAndRole (ca/auth.go).

import {
  certificateRoleOf,
  nodeRoleOf,
  peerCertificateSubject,
  type CertificateIdentity,
  type PeerSource,
} from '../../api/certs.js';
import { permissionDenied } from '../../api/errors.js';
import type { NodeRole } from '../../api/types.js';

export interface AuthorizationPolicy {
  /** Roles that may make this call. */
  allowedRoles: readonly NodeRole[];
  /** The cluster ID; the certificate's O must be it. */
  clusterId: string;
  /** Node IDs of removed nodes (the cluster's `BlacklistedCertificates`: node ID → expiry). */
  blacklist?: Readonly<Record<string, unknown>>;
}

/**
 * The verified identity of the peer if the policy admits it. Throws PermissionDenied with swarmkit's
 * text: first the TLS checks of peerCertificateSubject, then
 * `Permission denied: remote certificate not part of OUs: [swarm-manager]` (role),
 * `Permission denied: node <id> was removed from swarm` (blacklist),
 * `Permission denied: remote certificate not part of organization: <cluster>` (other cluster).
 */
export function authorize(peer: PeerSource, policy: AuthorizationPolicy): CertificateIdentity {
  const subject = peerCertificateSubject(peer);
  const allowedOUs = policy.allowedRoles.map(certificateRoleOf);
  const ou = subject.organizationalUnits.find((unit) => (allowedOUs as string[]).includes(unit));
  const role = ou === undefined ? undefined : nodeRoleOf(ou);
  if (role === undefined) {
    // Go prints a []string as `[a b]`.
    throw permissionDenied(
      `Permission denied: remote certificate not part of OUs: [${allowedOUs.join(' ')}]`,
      { rpc: true },
    );
  }
  const nodeId = subject.commonName;
  if (policy.blacklist && Object.hasOwn(policy.blacklist, nodeId)) {
    throw permissionDenied(`Permission denied: node ${nodeId} was removed from swarm`, { rpc: true });
  }
  if (subject.organizations[0] !== policy.clusterId) {
    throw permissionDenied(
      `Permission denied: remote certificate not part of organization: ${policy.clusterId}`,
      { rpc: true },
    );
  }
  return { nodeId, role, clusterId: policy.clusterId };
}
