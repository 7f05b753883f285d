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

let cluster: HaCluster | undefined;
after(() => cluster?.stop());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('managers on etcd', { timeout: 120_000 }, () => {
  it('survive the leader’s death twice: a new leader within 3 s, no acknowledged create lost', async () => {
    cluster = await HaCluster.start({ size: 3, ttlSeconds: 1 });
    const ha = cluster;
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
    const kv = await EtcdKV.open({ endpoints: [ha.endpoint()], namespace: ETCD_STORE_NAMESPACE });
    try {
      const store = await ClusterStore.open(kv, { sealer: KeyFileSealer.load(ha.keyFile()) });
      const names = new Set(store.view((tx) => tx.list('service').map((service) => service.Spec.Name)));
      await store.close();
      const lost = acknowledged.filter((name) => !names.has(name));
      assert.deepEqual(lost, [], 'acknowledged creates lost');
    } finally {
      await kv.close();
    }
    console.log(
      `failovers: ${failovers.map((ms) => `${Math.round(ms)} ms`).join(', ')}; ${acknowledged.length} creates acknowledged`,
    );
  });
});
