// The etcd cluster's membership as a manager joining or leaving changes it (src/store/etcd/members.ts),
// against real etcd 3.4 members: a learner added, started, caught up and promoted, holding the data; then
// removed, and the list agreeing each time.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { EtcdKV } from '../../../src/store/etcd/kv.js';
import { EtcdMembers, initialClusterFor } from '../../../src/store/etcd/members.js';
import { TestEtcds } from './etcd-servers.js';

const etcds = new TestEtcds();
after(() => etcds.dispose());

describe('etcd membership', () => {
  it('adds a learner, promotes it once caught up, and removes it', async () => {
    const first = await etcds.start();
    const members = new EtcdMembers({ endpoints: [first.endpoint] });
    const kv = await EtcdKV.open({ endpoints: [first.endpoint] });
    try {
      for (let i = 0; i < 50; i++) await kv.put(`/before/${i}`, i);
      assert.equal((await members.list()).length, 1);

      const planned = await etcds.plan();
      const { member, members: withNew } = await members.addLearner(planned.peerUrl);
      assert.equal(member.isLearner, true);
      const initialCluster = initialClusterFor(withNew, planned.name, planned.peerUrl);
      assert.equal(initialCluster.split(',').length, 2);
      assert.match(initialCluster, new RegExp(`${planned.name}=${planned.peerUrl}`));
      const second = await etcds.launch(planned, initialCluster, 'existing');
      await members.promote(member.id);

      const listed = await members.list();
      assert.deepEqual(
        listed.map((m) => [m.name, m.isLearner]).sort(),
        [
          [first.process.config.name, false],
          [planned.name, false],
        ].sort(),
      );
      // The new member holds what was written before it joined, and what is written through the other.
      const onSecond = await EtcdKV.open({ endpoints: [second.endpoint] });
      try {
        assert.equal((await onSecond.range('/before/')).entries.length, 50);
        await kv.put('/after', 'x');
        assert.equal((await onSecond.get('/after'))?.value, 'x');
      } finally {
        await onSecond.close();
      }

      await members.remove(member.id);
      assert.deepEqual(
        (await members.list()).map((m) => m.name),
        [first.process.config.name],
      );
      // (etcd refuses removals until the new member has been connected for 5 s: that is waited out.)
      await second.process.stop();
    } finally {
      members.close();
      await kv.close();
    }
  });
});
