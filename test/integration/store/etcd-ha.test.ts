// Managers on one etcd cluster, each a process on its own member (ha-cluster.ts): the leader's host dies
// (kill -9 of its manager and its member), twice, while services are created through every manager. Another
// manager leads within 3 s each time; every create that returned success is in the store at the end;
// creates sent to a manager that does not lead are refused with a message saying so (forwarding them to
// the leader is not built yet), never accepted and dropped.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { NO_LEADER } from '../../../src/api/errors.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { EtcdKV } from '../../../src/store/etcd/kv.js';
import { ETCD_STORE_NAMESPACE } from '../../../src/store/backend.js';
import { KeyFileSealer } from '../../../src/store/sealer.js';
import { HaCluster } from './ha-cluster.js';

const clusters: HaCluster[] = [];
after(async () => {
  for (const cluster of clusters) await cluster.stop();
});

/** The services' names in the store, read through a member that runs. */
async function serviceNames(ha: HaCluster): Promise<Set<string | undefined>> {
  const kv = await EtcdKV.open({ endpoints: [ha.endpoint()], namespace: ETCD_STORE_NAMESPACE });
  try {
    const store = await ClusterStore.open(kv, { sealer: KeyFileSealer.load(ha.keyFile()) });
    const names = new Set(store.view((tx) => tx.list('service').map((service) => service.Spec.Name)));
    await store.close();
    return names;
  } finally {
    await kv.close();
  }
}

async function until<T>(
  fn: () => Promise<T> | T,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('managers on etcd', { timeout: 120_000 }, () => {
  it('survive the leader’s death twice: a new leader within 3 s, no acknowledged create lost', async () => {
    const ha = await HaCluster.start({ size: 3, ttlSeconds: 1 });
    clusters.push(ha);
    const acknowledged: string[] = [];
    const refusals = new Set<string>();
    let writing = true;
    let n = 0;
    const writer = (async () => {
      const inFlight: Promise<void>[] = [];
      while (writing) {
        const index = n % ha.managers.length;
        const name = `svc-${n++}`;
        inFlight.push(
          ha.create(index, name).then((answer) => {
            if (answer === 'ok') acknowledged.push(name);
            else refusals.add(answer.replace(/manager\d+/g, 'managerN'));
          }),
        );
        await sleep(10);
      }
      await Promise.all(inFlight);
    })();

    const failovers: number[] = [];
    for (let round = 0; round < 2; round++) {
      await sleep(500);
      const leader = ha.leader();
      assert.ok(leader, 'a manager leads');
      const before = acknowledged.length;
      const killedAt = performance.now();
      await ha.kill(leader);
      // A new leader, and a create it accepted after the kill.
      const deadline = Date.now() + 10_000;
      let next;
      while (!(next = ha.leader())) {
        assert.ok(Date.now() < deadline, 'nobody leads 10 s after the leader died');
        await sleep(5);
      }
      failovers.push(next.ledAt - killedAt);
      while (acknowledged.length === before) {
        assert.ok(Date.now() < deadline, 'no create accepted after the failover');
        await sleep(5);
      }
      // The dead manager's host comes back: it rejoins and follows.
      await ha.restart(leader);
    }
    writing = false;
    await writer;

    for (const ms of failovers) assert.ok(ms < 3_000, `failover took ${Math.round(ms)} ms`);
    assert.ok(acknowledged.length > 20, `only ${acknowledged.length} creates went through`);
    // What a manager that does not lead says (or one whose process just died).
    for (const refusal of refusals) {
      assert.match(
        refusal,
        new RegExp(
          `this manager is not the leader: writes go to the leader|${NO_LEADER.slice(0, 40)}|lost its leadership|manager died|manager down|etcd did not answer`,
        ),
        refusal,
      );
    }

    // Every acknowledged create is there (names are unique, so none twice).
    const names = await serviceNames(ha);
    const lost = acknowledged.filter((name) => !names.has(name));
    assert.deepEqual(lost, [], 'acknowledged creates lost');
    console.log(
      `failovers: ${failovers.map((ms) => `${Math.round(ms)} ms`).join(', ')}; ${acknowledged.length} creates acknowledged`,
    );
  });

  it('with two of three down refuse writes with Docker’s message; --force-new-cluster on the survivor keeps the state', async () => {
    const ha = await HaCluster.start({ size: 3, ttlSeconds: 1 });
    clusters.push(ha);
    const leader = (await until(() => ha.leader(), Boolean, 'a leader'))!;
    for (let i = 0; i < 10; i++) assert.equal(await ha.create(leader.index, `before-${i}`), 'ok');
    const survivor = ha.managers.find((manager) => manager !== leader)!;
    for (const manager of ha.managers) if (manager !== survivor) await ha.kill(manager);

    // No quorum: the survivor cannot lead, and says so as Docker does.
    const refusal = await until(
      () => ha.create(survivor.index, `during-${Date.now()}`),
      (answer) => answer.startsWith(NO_LEADER),
      'the no-leader refusal',
    );
    assert.equal(refusal, NO_LEADER);
    const started = performance.now();
    assert.equal(await ha.create(survivor.index, 'refused-fast'), NO_LEADER);
    assert.ok(performance.now() - started < 1_000, 'a write is refused within a second');

    // The two are gone for good: the survivor's host is restarted as the only member of a new cluster.
    await ha.kill(survivor);
    await ha.restart(survivor, { forceNewCluster: true });
    await until(
      () => ha.create(survivor.index, `after-${Date.now()}`),
      (answer) => answer === 'ok',
      'a create after --force-new-cluster',
    );
    const names = await serviceNames(ha);
    for (let i = 0; i < 10; i++) assert.ok(names.has(`before-${i}`), `before-${i} kept`);
    assert.ok(!names.has('refused-fast'));
  });
});
