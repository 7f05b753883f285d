// Opens a SqliteKV for the conformance suite's child processes (see kv-child.ts).

import type { KV } from '../../../src/store/kv.js';
import { SqliteKV } from '../../../src/store/sqlite.js';

export async function openKV(location: string): Promise<KV> {
  return new SqliteKV(location);
}
