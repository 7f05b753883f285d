// Certificate renewal over the cluster port: the CA signs with the role the store holds, the node
// stores the new certificate before using it, and nothing running is interrupted.

import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';

import type { NodeCredentials } from '../../../src/agent/transport/credentials.js';
import { renewCertificate } from '../../../src/agent/transport/renew.js';
import { CertificateRenewer } from '../../../src/agent/transport/renewer.js';
import { parseNodeCertificate, verifyNodeCertificate } from '../../../src/api/certs.js';
import { ShoalError } from '../../../src/api/errors.js';
import {
  clientFor,
  joinWorker,
  outcome,
  removeStateDirs,
  startAgent,
  startCluster,
  waitFor,
  type RunningAgent,
  type TestCluster,
} from './helpers.js';

const HOUR_NS = 3600 * 1e9;
const MINUTE_MS = 60_000;

/** Renewal is due between 50% and 80% of the 2h validity, counted from NotBefore (whole minutes). */
function assertScheduledInWindow(renewer: CertificateRenewer, notBefore: Date): void {
  const due = renewer.nextRenewal!.getTime() - notBefore.getTime();
  assert.ok(
    due >= 60 * MINUTE_MS && due < 96 * MINUTE_MS,
    `renewal due ${due / MINUTE_MS} min after NotBefore`,
  );
}

describe('renewing node certificates', () => {
  let c: TestCluster | undefined;
  let agent: RunningAgent | undefined;
  let renewer: CertificateRenewer | undefined;
  afterEach(async () => {
    renewer?.stop();
    renewer = undefined;
    await agent?.stop();
    agent = undefined;
    await c?.close();
    c = undefined;
  });
  after(removeStateDirs);

  it('renews a short-lived certificate with the role in the store, without interrupting the session', async () => {
    c = await startCluster({ nodeCertExpiryNs: HOUR_NS, heartbeatPeriodNs: 1e9 });
    const joined = await joinWorker(c);
    const first = parseNodeCertificate(joined.certPem);
    // NodeCertExpiry 1h, backdated 1h.
    assert.equal(first.notAfter.getTime() - first.notBefore.getTime(), 120 * MINUTE_MS);

    const client = clientFor(c, joined);
    agent = await startAgent(client);
    const cluster = c;
    await waitFor(() => cluster.node(joined.nodeId)?.Status.State === 'ready', 'the node to be ready');
    const { error: refused } = await outcome(client.health());
    assert.equal((refused as ShoalError).code, 'PermissionDenied', 'a worker is no manager');

    const stored: NodeCredentials[] = [];
    renewer = new CertificateRenewer({
      client,
      onRenewed: (renewed) => void stored.push(renewed),
      // The late end of the window: with a 1h expiry and the 1h backdate, the early end is about now.
      random: () => 0.99,
    });
    renewer.start();
    assertScheduledInWindow(renewer, first.notBefore);

    // The role in the store is what the CA signs (as when a promotion reaches the node this way).
    await c.store.update((tx) => {
      const node = structuredClone(tx.get('node', joined.nodeId)!);
      node.Role = 'manager';
      node.Spec.Role = 'manager';
      tx.update('node', node);
    });
    const sessionsBefore = c.calls.filter((call) => call.method === 'session').length;
    const renewed = await renewer.renewNow();

    assert.equal(renewed.nodeId, joined.nodeId);
    assert.equal(renewed.clusterId, c.clusterId);
    assert.equal(renewed.role, 'manager');
    assert.notEqual(renewed.keyPem, joined.keyPem, 'a new key, made on the node');
    assert.equal(parseNodeCertificate(renewed.certPem).role, 'manager');
    verifyNodeCertificate({ certPem: renewed.certPem, rootCAPem: c.rootCAPem, keyPem: renewed.keyPem });
    assert.deepEqual(stored, [renewed], 'handed over to be stored');
    assert.equal(client.credentials, renewed, 'and then used');
    // The next renewal is scheduled from the new certificate.
    assertScheduledInWindow(renewer, parseNodeCertificate(renewed.certPem).notBefore);

    // New calls present the new certificate; the session carried on.
    assert.deepEqual(await client.health(), { status: 'SERVING' });
    const heartbeats = c.calls.filter((call) => call.method === 'heartbeat').length;
    await waitFor(
      () => cluster.calls.filter((call) => call.method === 'heartbeat').length > heartbeats,
      'a heartbeat after the renewal',
    );
    assert.equal(c.calls.filter((call) => call.method === 'session').length, sessionsBefore);
    assert.equal(c.node(joined.nodeId)?.Status.State, 'ready');
  });

  it('a certificate the node failed to store is not used, and the renewal is retried', async () => {
    c = await startCluster({ nodeCertExpiryNs: HOUR_NS });
    const joined = await joinWorker(c);
    const client = clientFor(c, joined);
    try {
      renewer = new CertificateRenewer({
        client,
        onRenewed: () => {
          throw new Error('disk full');
        },
      });
      renewer.start();
      const { error } = await outcome(renewer.renewNow());
      assert.equal(error?.message, 'disk full');
      assert.equal(client.credentials.certPem, joined.certPem);
      const retryIn = renewer.nextRenewal!.getTime() - Date.now();
      assert.ok(retryIn > 0 && retryIn <= 5_000, `retry in ${retryIn} ms`);
    } finally {
      client.close();
    }
  });

  it('a node deleted from the store (without removal) cannot renew', async () => {
    c = await startCluster();
    const joined = await joinWorker(c);
    await c.store.update((tx) => tx.delete('node', joined.nodeId));
    const client = clientFor(c, joined);
    try {
      const { error } = await outcome(renewCertificate(client));
      assert.ok(error instanceof ShoalError);
      assert.equal(error.code, 'NotFound');
      assert.equal(error.message, `node ${joined.nodeId} not found`);
    } finally {
      client.close();
    }
  });
});
