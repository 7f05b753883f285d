// When a manager's etcd member certificate is renewed, and the command line its member starts with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { generateNodeKeyAndCsr } from '../../../src/api/certs.js';
import {
  etcdCertificateDue,
  MEMBER_ELECTION_MS,
  MEMBER_HEARTBEAT_MS,
} from '../../../src/daemon/etcd/member.js';
import { etcdArgs } from '../../../src/daemon/etcd/process.js';
import { createRootCA, loadRootCASigner } from '../../../src/manager/ca/rootca.js';
import { signNodeCertificate } from '../../../src/manager/ca/signer.js';

describe('etcd member', () => {
  it('renews its certificate half-way through its validity', async () => {
    const now = new Date('2026-06-01T12:00:00Z');
    const { csrPem } = await generateNodeKeyAndCsr();
    const certPem = await signNodeCertificate({
      csrPem,
      nodeId: 'node1',
      role: 'manager',
      clusterId: 'cluster1',
      expirySeconds: 7 * 3600,
      rootCA: await loadRootCASigner(await createRootCA(new Date('2026-06-01T00:00:00Z'))),
      ipAddresses: ['10.0.0.1'],
      now,
    });
    // Valid from now − 1 h (backdated) to now + 7 h: due at now + 3 h.
    assert.equal(etcdCertificateDue(certPem).toISOString(), '2026-06-01T15:00:00.000Z');
  });

  it('starts with mutual TLS for clients and peers, managers only, and shoal’s limits', () => {
    const args = etcdArgs({
      name: 'n1',
      dataDir: '/d',
      clientUrl: 'https://10.0.0.1:2379',
      peerUrl: 'https://10.0.0.1:2380',
      initialCluster: 'n1=https://10.0.0.1:2380',
      initialClusterState: 'new',
      heartbeatMs: MEMBER_HEARTBEAT_MS,
      electionMs: MEMBER_ELECTION_MS,
      tls: { caFile: '/ca', certFile: '/crt', keyFile: '/key', allowedHostname: 'swarm-manager' },
    });
    const flag = (name: string) => args[args.indexOf(name) + 1];
    for (const name of ['--client-cert-auth', '--peer-client-cert-auth'])
      assert.ok(args.includes(name), name);
    assert.equal(flag('--client-cert-allowed-hostname'), 'swarm-manager');
    assert.equal(flag('--peer-cert-allowed-hostname'), 'swarm-manager');
    assert.equal(flag('--trusted-ca-file'), '/ca');
    assert.equal(flag('--peer-trusted-ca-file'), '/ca');
    assert.equal(flag('--heartbeat-interval'), '50');
    assert.equal(flag('--election-timeout'), '500');
    assert.equal(flag('--max-txn-ops'), '10000');
    assert.ok(!args.includes('--force-new-cluster'));
    assert.ok(
      etcdArgs({
        ...{
          name: 'n',
          dataDir: '/d',
          clientUrl: 'http://a:1',
          peerUrl: 'http://a:2',
          initialCluster: 'n=http://a:2',
          initialClusterState: 'existing',
        },
        forceNewCluster: true,
      }).includes('--force-new-cluster'),
    );
  });
});
