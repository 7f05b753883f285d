// Opens an EtcdKV for the conformance suite's child processes (see kv-child.ts): the location is the
// member's client URL.

import type { KV } from '../../../src/store/kv.js';
import { EtcdKV } from '../../../src/store/etcd/kv.js';

export async function openKV(location: string): Promise<KV> {
  return EtcdKV.open({ endpoints: [location] });
}
