// The real cluster store over an in-memory SQLite backend, for the loop tests.

import { ClusterStore } from '../../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../../src/store/sqlite.js';

const opened: { kv: SqliteKV; store: ClusterStore }[] = [];

export async function openStore(): Promise<ClusterStore> {
  const kv = new SqliteKV(':memory:');
  const store = await ClusterStore.open(kv);
  opened.push({ kv, store });
  return store;
}

/** Closes every store opened so far (call from `afterEach`). */
export async function closeStores(): Promise<void> {
  for (const { kv, store } of opened.splice(0)) {
    await store.close();
    await kv.close();
  }
}
