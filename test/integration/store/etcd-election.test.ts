// Leader election and fenced writes (src/store/election.ts, ClusterStore's WriteFence) against a real etcd:
// one leader at a time, a quick handover when it resigns, a leader that cannot renew stepping down before
// its lease can expire, a restarted node taking its own key back at once, and a deposed leader's late write
// refused by etcd itself while the new leader's goes through.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { newId } from '../../../src/api/ids.js';
import type { Service } from '../../../src/api/types.js';
import { ClusterStore, type WriteFence } from '../../../src/store/cluster-store.js';
import { LeaderElection, type LeadershipState } from '../../../src/store/election.js';
import { EtcdKV } from '../../../src/store/etcd/kv.js';
import type { KV } from '../../../src/store/kv.js';
import { TestEtcds } from './etcd-servers.js';

const etcds = new TestEtcds();
const clients: KV[] = [];
after(async () => {
  for (const kv of clients) await kv.close();
  await etcds.dispose();
});

const KEY = '/shoal/leader';
const TTL = 2;

async function client(endpoint: string): Promise<EtcdKV> {
  const kv = await EtcdKV.open({ endpoints: [endpoint] });
  clients.push(kv);
  return kv;
}

function elect(kv: KV, nodeId: string): { election: LeaderElection; states: LeadershipState[] } {
  const states: LeadershipState[] = [];
  const election = new LeaderElection({
    kv,
    key: KEY,
    self: { nodeId, addr: `${nodeId}:2377` },
    ttlSeconds: TTL,
    onChange: (state) => states.push(state),
  });
  election.start();
  return { election, states };
}

async function until(done: () => boolean, what: string, timeoutMs = 10_000): Promise<number> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

function service(name: string): Service {
  const now = new Date().toISOString();
  return {
    ID: newId(),
    Version: { Index: 0 },
    CreatedAt: now,
    UpdatedAt: now,
    Spec: { Name: name, Labels: {} },
  };
}

const lostLeadership = () => new Error('node lost leader status');

function fenceOf(election: LeaderElection): WriteFence {
  return {
    current: () => {
      const fence = election.fence();
      if (!fence) throw lostLeadership();
      return fence;
    },
    refused: lostLeadership,
  };
}

describe('leader election on etcd', () => {
  it('elects one leader, which the others see, and hands over quickly when it resigns', async () => {
    const { endpoint } = await etcds.start();
    const a = elect(await client(endpoint), 'A');
    await until(() => a.election.leading, 'A to lead');
    const b = elect(await client(endpoint), 'B');
    await until(() => b.election.leader?.nodeId === 'A', 'B to see A');
    assert.equal(b.election.leading, false);
    assert.equal(b.election.fence(), undefined);

    await a.election.stop();
    const handover = await until(() => b.election.leading, 'B to lead');
    assert.ok(handover < 1_000, `handover took ${handover} ms`);
    assert.equal(a.election.leading, false);
    await b.election.stop();
  });

  it('steps down before its lease can expire when it cannot renew', async () => {
    const member = await etcds.start();
    const a = elect(await client(member.endpoint), 'A');
    await until(() => a.election.leading, 'A to lead');
    // etcd frozen: no renewal gets through.
    process.kill(member.process.pid, 'SIGSTOP');
    try {
      const stepped = await until(() => !a.election.leading, 'A to step down');
      assert.ok(stepped < TTL * 1000, `stepped down after ${stepped} ms, the lease lasts ${TTL * 1000} ms`);
    } finally {
      process.kill(member.process.pid, 'SIGCONT');
    }
    // Once etcd answers again, it leads again (its old lease expired or was revoked first).
    await until(() => a.election.leading, 'A to lead again');
    await a.election.stop();
  });

  it('takes its own key back at once after a crash, without waiting for the lease', async () => {
    const { endpoint } = await etcds.start();
    const crashed = await EtcdKV.open({ endpoints: [endpoint] });
    const first = elect(crashed, 'A');
    await until(() => first.election.leading, 'A to lead');
    // The process dies: its client goes away, its lease stays in etcd.
    await crashed.close();
    const again = elect(await client(endpoint), 'A');
    const took = await until(() => again.election.leading, 'the restarted A to lead');
    assert.ok(took < TTL * 1000, `took ${took} ms`);
    await again.election.stop();
    await first.election.stop(); // its timers, which the dead process would not have had
  });

  it("refuses a deposed leader's late write, and takes the new leader's", async () => {
    const { endpoint } = await etcds.start();
    const kvA = await client(endpoint);
    const kvB = await client(endpoint);
    const a = elect(kvA, 'A');
    await until(() => a.election.leading, 'A to lead');
    const storeA = await ClusterStore.open(kvA, { fence: fenceOf(a.election) });
    await storeA.update((tx) => tx.create('service', service('by-a')));

    // A is paused long enough to lose its lease without noticing: its fence is what it held then. (Its
    // election is stopped, so that it does not simply win again; the lease ends with it.)
    const stale = a.election.fence()!;
    const pausedA: WriteFence = { current: () => stale, refused: lostLeadership };
    const storeAPaused = await ClusterStore.open(kvA, { fence: pausedA });
    await a.election.stop();
    const b = elect(kvB, 'B');
    await until(() => b.election.leading, 'B to lead');
    const storeB = await ClusterStore.open(kvB, { fence: fenceOf(b.election) });

    await assert.rejects(
      storeAPaused.update((tx) => tx.create('service', service('late-by-a'))),
      /node lost leader status/,
    );
    // And A, knowing it does not lead, refuses before sending anything.
    await assert.rejects(
      storeA.update((tx) => tx.create('service', service('by-a-after'))),
      /node lost leader status/,
    );
    await storeB.update((tx) => tx.create('service', service('by-b')));
    const names = storeB.view((tx) =>
      tx
        .list('service')
        .map((s) => s.Spec.Name)
        .sort(),
    );
    assert.deepEqual(names, ['by-a', 'by-b']);
    for (const store of [storeA, storeAPaused, storeB]) await store.close();
    await a.election.stop();
    await b.election.stop();
  });
});
