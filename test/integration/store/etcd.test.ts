// What the etcd backend must do beyond the shared conformance suite (etcd-conformance.test.ts), against real
// etcd 3.4 members on loopback: no acknowledged write lost when the member is killed with SIGKILL, a watch
// that carries on across the member's restart with no gap, the history bound, and the cluster store over
// etcd keeping secrets sealed in etcd's own files.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { Cluster, Secret } from '../../../src/api/types.js';
import { newId } from '../../../src/api/ids.js';
import { ClusterStore, objectKey } from '../../../src/store/cluster-store.js';
import { EtcdKV } from '../../../src/store/etcd/kv.js';
import { CompactedError, type WatchBatch } from '../../../src/store/kv.js';
import { AesGcmSealer } from '../../../src/store/sealer.js';
import { TestEtcds } from './etcd-servers.js';

const etcds = new TestEtcds();
after(() => etcds.dispose());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(
  done: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Every regular file under `dir`, concatenated. */
function filesUnder(dir: string): Buffer {
  const parts: Buffer[] = [];
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const path = join(dir, name);
    if (statSync(path).isFile()) parts.push(readFileSync(path));
  }
  return Buffer.concat(parts);
}

describe('etcd backend', () => {
  it('keeps every acknowledged write when the member is killed with SIGKILL, and a watch resumes with no gap', async () => {
    let member = await etcds.start();
    const kv = await EtcdKV.open({ endpoints: [member.endpoint] });
    const batches: WatchBatch[] = [];
    const errors: Error[] = [];
    kv.watch('/k/', (batch) => batches.push(batch), { fromRevision: 1, onError: (err) => errors.push(err) });
    try {
      // Writes race the kill: those acknowledged before it must all be there afterwards.
      const acknowledged: number[] = [];
      let stop = false;
      const writer = (async () => {
        for (let i = 0; !stop; i++) {
          try {
            await kv.put(`/k/${String(i).padStart(5, '0')}`, { i });
            acknowledged.push(i);
          } catch {
            return; // the member is gone: this write is unacknowledged, and so are the rest
          }
        }
      })();
      await until(() => acknowledged.length >= 50, '50 acknowledged writes');
      await member.process.kill();
      stop = true;
      await writer;

      member = await etcds.restart(member);
      const { entries } = await kv.range('/k/');
      const stored = new Set(entries.map((entry) => (entry.value as { i: number }).i));
      for (const i of acknowledged) assert.ok(stored.has(i), `acknowledged write ${i} lost`);

      // The watch reconnects by itself and delivers what follows, every revision once, in order.
      const revision = await kv.put('/k/after-restart', 'x');
      await until(
        () => batches.at(-1)?.revision === revision,
        'the watch to deliver the write after the restart',
      );
      const revisions = batches.map((batch) => batch.revision);
      assert.deepEqual(
        revisions,
        [...new Set(revisions)].sort((a, b) => a - b),
        'no duplicate, in order',
      );
      assert.deepEqual(
        revisions.slice(0, -1),
        entries.map((entry) => entry.modRevision),
        'no gap',
      );
      assert.deepEqual(errors, []);
    } finally {
      await kv.close();
    }
  });

  it('bounds the watch history by compacting it after writes', async () => {
    const member = await etcds.start();
    const kv = await EtcdKV.open({ endpoints: [member.endpoint], historyRevisions: 10 });
    try {
      let revision = 0;
      for (let i = 0; i < 30; i++) revision = await kv.put('/h', i);
      await until(async () => {
        const probe = new Promise<Error | undefined>((resolve) => {
          const watch = kv.watch('', () => undefined, { fromRevision: 1, onError: resolve });
          setTimeout(() => {
            watch.cancel();
            resolve(undefined);
          }, 500);
        });
        return (await probe) instanceof CompactedError;
      }, 'old revisions to be compacted');
      // The newest `historyRevisions` are still there.
      const kept: number[] = [];
      const watch = kv.watch('', (batch) => kept.push(batch.revision), { fromRevision: revision - 9 });
      await until(() => kept.at(-1) === revision, 'the kept history');
      watch.cancel();
      assert.equal(kept.length, 10);
    } finally {
      await kv.close();
    }
  });

  it('keeps secret data and the CA key sealed in etcd’s files, readable through the cluster store', async () => {
    const member = await etcds.start();
    const sealer = new AesGcmSealer(Buffer.alloc(32, 9));
    const plaintext = 'ETCD-TOP-SECRET-PLAINTEXT-4242';
    const caKey = 'ETCD-CA-KEY-PLAINTEXT-1717';
    const now = new Date().toISOString();
    const meta = () => ({ ID: newId(), Version: { Index: 0 }, CreatedAt: now, UpdatedAt: now });
    const secret: Secret = {
      ...meta(),
      Spec: { Name: 'etcd-secret-name', Data: Buffer.from(plaintext).toString('base64') },
    };
    const cluster = {
      ...meta(),
      Spec: { Name: 'default' },
      JoinTokens: { Worker: 'SWMTKN-worker-token', Manager: 'SWMTKN-manager-token' },
      RootCA: { CACert: 'cert', CAKey: caKey },
    } as unknown as Cluster;

    const kv = await EtcdKV.open({ endpoints: [member.endpoint] });
    try {
      const store = await ClusterStore.open(kv, { sealer });
      await store.update((tx) => {
        tx.create('secret', secret);
        tx.create('cluster', cluster);
      });
      assert.equal(
        store.view((tx) => tx.get('secret', secret.ID)?.Spec.Data),
        secret.Spec.Data,
      );
      const raw = (await kv.get(objectKey('secret', secret.ID)))?.value as { Spec: { Data: unknown } };
      assert.equal(typeof (raw.Spec.Data as { $sealed?: unknown }).$sealed, 'string');
      await store.close();

      // Another client, as another manager would open it: the same plaintext through the same key.
      const other = await ClusterStore.open(kv, { sealer });
      assert.equal(
        other.view((tx) => tx.get('cluster', cluster.ID)?.RootCA?.CAKey),
        caKey,
      );
      await other.close();
    } finally {
      await kv.close();
    }
    await member.process.stop();
    const contents = filesUnder(member.dataDir);
    assert.ok(contents.includes('etcd-secret-name'), 'control: unsealed fields are in etcd’s files');
    for (const text of [plaintext, secret.Spec.Data!, caKey, 'SWMTKN-manager-token']) {
      assert.ok(!contents.includes(text), `${text} is in etcd's data dir`);
    }
  });
});
