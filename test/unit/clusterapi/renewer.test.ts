// When the renewer renews, what it does with the result, and how it retries — on a fake clock, with
// the CA replaced by a function that signs locally.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ClusterClient } from '../../../src/agent/transport/cluster-client.js';
import type { NodeCredentials } from '../../../src/agent/transport/credentials.js';
import { CertificateRenewer } from '../../../src/agent/transport/renewer.js';
import { parseNodeCertificate } from '../../../src/api/certs.js';
import type { Clock } from '../../../src/api/clock.js';
import { newTestCluster, newTestNode, type TestCluster } from '../ca/pki.js';
import { FakeClock } from '../dispatcher/helpers.js';

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

interface Setup {
  clock: FakeClock;
  pki: TestCluster;
  client: ClusterClient;
  initial: NodeCredentials;
  /** Timer lengths the renewer asked for. */
  timers: number[];
  /** A renew function that signs a fresh certificate at the fake time, failing while `failures` > 0. */
  renew: (client: ClusterClient) => Promise<NodeCredentials>;
  renewCalls: number;
  failures: number;
}

async function setup(expirySeconds: number): Promise<Setup> {
  const clock = new FakeClock();
  const pki = await newTestCluster();
  const node = await newTestNode(pki, 'worker', { now: new Date(clock.now()), expirySeconds });
  const initial: NodeCredentials = { ...node, rootCAPem: pki.rootCAPem, clusterId: pki.clusterId };
  const s: Setup = {
    clock,
    pki,
    client: new ClusterClient({ managerAddr: '127.0.0.1:2377', credentials: initial }),
    initial,
    timers: [],
    renewCalls: 0,
    failures: 0,
    renew: async () => {
      s.renewCalls++;
      if (s.failures > 0) {
        s.failures--;
        throw new Error('manager unreachable');
      }
      const renewed = await newTestNode(pki, 'worker', { now: new Date(clock.now()), expirySeconds });
      return { ...renewed, nodeId: initial.nodeId, rootCAPem: pki.rootCAPem, clusterId: pki.clusterId };
    },
  };
  return s;
}

/** Waits (in real time) for the renewal under way: signing is real crypto, not driven by the fake clock. */
async function eventually(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 5) {
    if (waited > 10_000) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function recordingClock(s: Setup): Clock {
  return {
    now: () => s.clock.now(),
    setTimer: (ms, fire) => {
      s.timers.push(ms);
      return s.clock.setTimer(ms, fire);
    },
  };
}

describe('certificate renewer', () => {
  it('renews between 50% and 80% of the validity, stores, then swaps the credentials', async () => {
    const s = await setup(3600 * 10); // 10h, so 11h of validity with the 1h backdate
    const stored: NodeCredentials[] = [];
    const renewer = new CertificateRenewer({
      client: s.client,
      onRenewed: (renewed) => {
        assert.equal(s.client.credentials, s.initial, 'stored before it is used');
        stored.push(renewed);
      },
      renew: () => s.renew(s.client),
      clock: s.clock,
      random: () => 0,
    });
    renewer.start();
    const { notBefore } = parseNodeCertificate(s.initial.certPem);
    // 50% of 660 minutes after NotBefore.
    assert.equal(renewer.nextRenewal!.getTime(), notBefore.getTime() + 330 * MINUTE_MS);

    await s.clock.advance(renewer.nextRenewal!.getTime() - s.clock.now() - 1);
    assert.equal(s.renewCalls, 0);
    await s.clock.advance(1);
    assert.equal(s.renewCalls, 1);
    await eventually(() => stored.length === 1);
    assert.equal(s.client.credentials, stored[0]);
    // Scheduled again from the new certificate.
    const renewedNotBefore = parseNodeCertificate(stored[0]!.certPem).notBefore;
    assert.equal(renewer.nextRenewal!.getTime(), renewedNotBefore.getTime() + 330 * MINUTE_MS);
    renewer.stop();
    s.client.close();
  });

  it('the late end of the window stays below 80%', async () => {
    const s = await setup(3600 * 10);
    const renewer = new CertificateRenewer({
      client: s.client,
      onRenewed: () => {},
      renew: () => s.renew(s.client),
      clock: s.clock,
      random: () => 0.9999,
    });
    renewer.start();
    const { notBefore } = parseNodeCertificate(s.initial.certPem);
    assert.equal(renewer.nextRenewal!.getTime(), notBefore.getTime() + 527 * MINUTE_MS); // 528 = 80%
    renewer.stop();
    s.client.close();
  });

  it('retries failures with exponential backoff from 5 s up to the cap, then starts over', async () => {
    const s = await setup(3600 * 10);
    s.failures = 4;
    const renewer = new CertificateRenewer({
      client: s.client,
      onRenewed: () => {},
      renew: () => s.renew(s.client),
      clock: s.clock,
      random: () => 0,
      retry: { initialMs: 5_000, maxMs: 20_000 },
    });
    renewer.start();
    await s.clock.advance(renewer.nextRenewal!.getTime() - s.clock.now());
    const retries: number[] = [];
    while (s.renewCalls <= 4) {
      retries.push(renewer.nextRenewal!.getTime() - s.clock.now());
      await s.clock.advance(renewer.nextRenewal!.getTime() - s.clock.now());
    }
    assert.deepEqual(retries, [5_000, 10_000, 20_000, 20_000]);
    await eventually(() => s.client.credentials !== s.initial);
    // Back to the regular schedule.
    assert.ok(renewer.nextRenewal!.getTime() - s.clock.now() > 4 * 3600_000);
    renewer.stop();
    s.client.close();
  });

  it('waits months in steps of at most a day (timers cannot be longer than ~24.8 days)', async () => {
    const s = await setup(90 * 24 * 3600);
    const renewer = new CertificateRenewer({
      client: s.client,
      onRenewed: () => {},
      renew: () => s.renew(s.client),
      clock: recordingClock(s),
      random: () => 0,
    });
    renewer.start();
    const due = renewer.nextRenewal!.getTime();
    assert.ok(due - s.clock.now() > 44 * DAY_MS);
    await s.clock.advance(due - s.clock.now() - 1);
    assert.equal(s.renewCalls, 0);
    await s.clock.advance(1);
    assert.equal(s.renewCalls, 1);
    await eventually(() => s.client.credentials !== s.initial);
    assert.ok(s.timers.length > 44);
    assert.ok(s.timers.every((ms) => ms <= DAY_MS));
    renewer.stop();
    s.client.close();
  });

  it('renewNow renews at once and joins an attempt under way; stop ends the schedule', async () => {
    const s = await setup(3600 * 10);
    const renewer = new CertificateRenewer({
      client: s.client,
      onRenewed: () => {},
      renew: () => s.renew(s.client),
      clock: s.clock,
    });
    renewer.start();
    const [a, b] = await Promise.all([renewer.renewNow(), renewer.renewNow()]);
    assert.equal(a, b);
    assert.equal(s.renewCalls, 1);
    assert.equal(s.client.credentials, a);
    renewer.stop();
    assert.equal(renewer.nextRenewal, undefined);
    assert.equal(s.clock.pendingTimers, 0);
    s.client.close();
  });

  it('renews any credentials holder given a renew function (a manager: its client and its server)', async () => {
    const s = await setup(3600 * 10);
    const presented: string[] = [];
    const holder = {
      credentials: s.initial as NodeCredentials,
      setCredentials(credentials: NodeCredentials) {
        this.credentials = credentials;
        presented.push(credentials.certPem);
      },
    };
    assert.throws(
      () => new CertificateRenewer({ client: holder, onRenewed: () => {} }),
      /a renew function is needed/,
    );
    const renewer = new CertificateRenewer({
      client: holder,
      onRenewed: () => {},
      renew: () => s.renew(s.client),
      clock: s.clock,
    });
    const renewed = await renewer.renewNow();
    assert.deepEqual(presented, [renewed.certPem]);
    s.client.close();
  });
});
