// copyClusterState (src/store/migrate.ts): an embedded store's cluster state into a new etcd, as a swarm
// getting its second manager will move it: every object equal but for its version, the name reservations
// enforced on the target, sealed fields still sealed under the same data key, and no copy over a target
// that already holds a swarm.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { newId } from '../../../src/api/ids.js';
import { OBJECT_KINDS, type Cluster, type Secret, type Service } from '../../../src/api/types.js';
import { ETCD_STORE_NAMESPACE } from '../../../src/store/backend.js';
import { ClusterStore, NAME_PREFIX, objectKey } from '../../../src/store/cluster-store.js';
import { EtcdKV } from '../../../src/store/etcd/kv.js';
import { copyClusterState } from '../../../src/store/migrate.js';
import { AesGcmSealer } from '../../../src/store/sealer.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { TestEtcds } from './etcd-servers.js';

const etcds = new TestEtcds();
const dir = mkdtempSync(join(tmpdir(), 'shoal-migrate-'));
after(async () => {
  await etcds.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const now = new Date().toISOString();
const meta = () => ({ ID: newId(), Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now });

/** Every object of every kind, without its version (which each backend numbers itself). */
function snapshot(store: ClusterStore): Record<string, unknown[]> {
  return Object.fromEntries(
    OBJECT_KINDS.map((kind) => [
      kind,
      store.view((tx) =>
        tx
          .list(kind)
          .map(({ Version: _version, ...rest }) => rest)
          .sort((a, b) => a.ID.localeCompare(b.ID)),
      ),
    ]),
  );
}

describe('copying the cluster state to etcd', () => {
  it('moves every object, keeps names reserved and secrets sealed, and never copies over a swarm', async () => {
    const sealer = new AesGcmSealer(Buffer.alloc(32, 4));
    const sqlite = new SqliteKV(join(dir, 'store.db'));
    const source = await ClusterStore.open(sqlite, { sealer });
    const secret: Secret = {
      ...meta(),
      Spec: { Name: 'db', Data: Buffer.from('MIGRATE-PLAINTEXT-77').toString('base64') },
    };
    const cluster = {
      ...meta(),
      Spec: { Name: 'default' },
      JoinTokens: { Worker: 'w', Manager: 'm' },
      RootCA: { CACert: 'cert', CAKey: 'MIGRATE-CA-KEY' },
    } as unknown as Cluster;
    await source.update((tx) => {
      tx.create('cluster', cluster);
      tx.create('secret', secret);
    });
    // More than one batch of the copy (two keys per service: the object and its name).
    for (let i = 0; i < 600; i += 100) {
      await source.update((tx) => {
        for (let j = i; j < i + 100; j++) {
          const service: Service = { ...meta(), Spec: { Name: `svc-${j}`, Labels: { n: String(j) } } };
          tx.create('service', service);
        }
      });
    }
    const before = snapshot(source);
    await source.close();

    const member = await etcds.start();
    const etcd = await EtcdKV.open({ endpoints: [member.endpoint], namespace: ETCD_STORE_NAMESPACE });
    try {
      const result = await copyClusterState(sqlite, etcd);
      // The cluster, the secret and the services, each an object and a name.
      assert.equal(result.keys, (2 + 600) * 2);

      const target = await ClusterStore.open(etcd, { sealer });
      assert.deepEqual(snapshot(target), before);
      await assert.rejects(
        target.update((tx) => tx.create('service', { ...meta(), Spec: { Name: 'SVC-7', Labels: {} } })),
        /name conflicts with an existing object/,
      );
      // The reservations themselves, which another manager's writes are checked against.
      assert.equal((await etcd.range(`${NAME_PREFIX}service/`)).entries.length, 600);
      const raw = (await etcd.get(objectKey('secret', secret.ID)))?.value as { Spec: { Data: unknown } };
      assert.equal(typeof (raw.Spec.Data as { $sealed?: unknown }).$sealed, 'string');
      await target.close();

      await assert.rejects(copyClusterState(sqlite, etcd), /already holds cluster state/);
    } finally {
      await etcd.close();
      await sqlite.close();
    }
  });
});
