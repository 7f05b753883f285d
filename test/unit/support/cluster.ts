// The cluster object of a swarm as a unit test's store needs it: `swarm init`'s default spec, a fixed ID
// and placeholder TLS and tokens.

import type { Cluster } from '../../../src/api/types.js';
import { defaultSwarmSpec } from '../../../src/manager/controlapi/cluster.js';

export const TEST_CLUSTER_ID = 'c0000000000000000000000001';

export function testCluster(
  joinTokens: Cluster['JoinTokens'] = { Worker: 'SWMTKN-1-w', Manager: 'SWMTKN-1-m' },
): Cluster {
  return {
    ID: TEST_CLUSTER_ID,
    Version: { Index: 0 },
    CreatedAt: '',
    UpdatedAt: '',
    Spec: defaultSwarmSpec(),
    TLSInfo: { TrustRoot: 'root', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DefaultAddrPool: null,
    SubnetSize: 24,
    DataPathPort: 4789,
    JoinTokens: joinTokens,
  };
}
