// The etcd backend against the same conformance suites as the embedded one (test/unit/store/kv-conformance.ts
// and kv-processes.ts), each store a fresh one-member etcd 3.4 on loopback: etcd's revisions are global to a
// cluster, so "a new, empty store at revision 0" is a new cluster (one starts in about 50 ms).

import { EtcdKV } from '../../../src/store/etcd/kv.js';
import { runKVConformance } from '../../unit/store/kv-conformance.js';
import { runKVProcessConformance } from './kv-processes.js';
import { TestEtcds } from './etcd-servers.js';

const etcds = new TestEtcds();
const target = {
  newLocation: async () => (await etcds.start()).endpoint,
  open: (location: string) => EtcdKV.open({ endpoints: [location] }),
};

runKVConformance('EtcdKV', target);
runKVProcessConformance('EtcdKV', {
  ...target,
  childOpenerModule: new URL('./etcd-opener.js', import.meta.url).href,
  // The last suite to run removes every member.
  dispose: () => etcds.dispose(),
});
