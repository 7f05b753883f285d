// Which key-value backend holds a manager's cluster store is configuration: the manager is given a
// `StoreBackendConfig`, and this is the one place that turns it into a KV. Adding a backend means adding its
// kind and a case here; the manager does not change.

import { join } from 'node:path';
import { EtcdKV, type EtcdTls } from './etcd/kv.js';
import type { KV } from './kv.js';
import { SqliteKV } from './sqlite.js';

/** The cluster store's keys in etcd, apart from the leader election's and anything else sharing etcd. */
export const ETCD_STORE_NAMESPACE = '/shoal/store';

/** The backend of a swarm's cluster store, as `swarm init --datastore` chose it. */
export type StoreBackendConfig =
  | { readonly kind: 'embedded' }
  | {
      readonly kind: 'etcd';
      /** Client URLs of the etcd members (this manager's own first). */
      readonly endpoints: readonly string[];
      /**
       * This manager's client certificate for etcd, and the CA the members' certificates are checked with.
       * shoald always gives it; only tests on loopback talk to a plaintext etcd.
       */
      readonly tls?: EtcdTls;
      /** The name the members' certificates must carry (checked instead of their address). */
      readonly serverName?: string;
    };

export interface OpenedBackend {
  kv: KV;
  /** Where the data is, for messages about it (the embedded store's file, etcd's endpoints). */
  location: string;
}

/**
 * Opens the backend. The embedded store has its data in `dir` (`<data-dir>/swarm/manager`): with `create`, a
 * missing store is created; without, a missing or damaged one is a `DamagedStateError` naming it. etcd's data
 * is the members' own (the daemon supervises this manager's member); opening fails if none answers.
 */
export async function openStoreBackend(
  config: StoreBackendConfig,
  dir: string,
  create: boolean,
): Promise<OpenedBackend> {
  switch (config.kind) {
    case 'embedded': {
      const location = join(dir, 'store.db');
      // The manager is the file's only writer: no polling for other connections' commits.
      return { kv: new SqliteKV(location, { externalPollMs: 0, create }), location };
    }
    case 'etcd': {
      const kv = await EtcdKV.open({
        endpoints: config.endpoints,
        ...(config.tls && { tls: config.tls }),
        ...(config.serverName && { serverName: config.serverName }),
        namespace: ETCD_STORE_NAMESPACE,
      });
      return { kv, location: `etcd at ${config.endpoints.join(', ')}` };
    }
  }
}
