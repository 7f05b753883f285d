// Moving a swarm's cluster state from one backend to another: the embedded store's keys into a new etcd
// cluster, when a swarm gets its second manager (the join that triggers it is not built yet; this is the
// copy it will run). Values are copied as stored, so sealed fields stay sealed under the same data key;
// revisions are not (each backend numbers its own), so every object's `Version.Index` changes and a client
// holding an old version gets "update out of sequence" once, as after any concurrent update.
//
// The source must not change during the copy (the manager stops writing first); the copy reads it at one
// revision. The target must hold no cluster state: a copy that fails half-way leaves a partial target,
// which is discarded (a new etcd cluster is made for each attempt), never completed or mixed.

import type { KV, Op } from './kv.js';
import { NAME_PREFIX, OBJECT_PREFIX } from './cluster-store.js';

/** Puts per transaction: well under etcd's limit as shoal starts it (--max-txn-ops 10000, 10 MiB). */
const BATCH_OPS = 500;
const BATCH_BYTES = 4 * 1024 * 1024;

export interface CopyResult {
  /** Keys copied. */
  keys: number;
  /** The source's revision the copy was read at. */
  sourceRevision: number;
}

export async function copyClusterState(from: KV, to: KV): Promise<CopyResult> {
  for (const prefix of [OBJECT_PREFIX, NAME_PREFIX]) {
    if ((await to.range(prefix)).entries.length > 0) {
      throw new Error(
        `the target store already holds cluster state (keys under ${prefix}): not copying over it`,
      );
    }
  }
  const objects = await from.range(OBJECT_PREFIX);
  const names = await from.range(NAME_PREFIX);
  if (names.revision !== objects.revision) {
    throw new Error('the source store changed while it was read: stop its writers before copying it');
  }
  // Lease-bound keys are ephemeral (they would expire with a lease the target does not have): none of the
  // cluster state is, and any such key is left behind.
  const entries = [...objects.entries, ...names.entries].filter((entry) => entry.lease === 0);
  let batch: Op[] = [];
  let bytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    // Every key must still be absent: a second writer on the target would show here.
    const response = await to.txn({
      compares: batch.map((op) => ({
        key: (op as { key: string }).key,
        target: 'createRevision',
        op: '=',
        value: 0,
      })),
      success: batch,
    });
    if (!response.succeeded) throw new Error('the target store was written to during the copy');
    batch = [];
    bytes = 0;
  };
  for (const entry of entries) {
    const size = entry.key.length + JSON.stringify(entry.value).length;
    if (batch.length >= BATCH_OPS || bytes + size > BATCH_BYTES) await flush();
    batch.push({ type: 'put', key: entry.key, value: entry.value });
    bytes += size;
  }
  await flush();
  return { keys: entries.length, sourceRevision: objects.revision };
}
