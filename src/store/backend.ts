// Which key-value backend holds a manager's cluster store is configuration: the manager is given a
// `StoreBackendConfig`, and this is the one place that turns it into a KV. Adding a backend (etcd, for
// several managers) means adding its kind and a case here; the manager does not change.

import { join } from 'node:path';
import type { KV } from './kv.js';
import { SqliteKV } from './sqlite.js';

/** The backend of a swarm's cluster store, as `swarm init --datastore` chose it. */
export interface StoreBackendConfig {
  readonly kind: 'embedded';
}

export interface OpenedBackend {
  kv: KV;
  /** Where the data is, for messages about it (the embedded store's file). */
  location: string;
}

/**
 * Opens the backend with its data in `dir` (`<data-dir>/swarm/manager`). With `create`, a missing store
 * is created; without, a missing or damaged one is a `DamagedStateError` naming it.
 */
export function openStoreBackend(config: StoreBackendConfig, dir: string, create: boolean): OpenedBackend {
  switch (config.kind) {
    case 'embedded': {
      const location = join(dir, 'store.db');
      // The manager is the file's only writer: no polling for other connections' commits.
      return { kv: new SqliteKV(location, { externalPollMs: 0, create }), location };
    }
  }
}
