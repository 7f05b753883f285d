// The SQLite store shared by several processes (see kv-processes.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteKV } from '../../../src/store/sqlite.js';
import { runKVProcessConformance } from './kv-processes.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-sqlite-processes-'));
let counter = 0;

runKVProcessConformance('SqliteKV', {
  newLocation: async () => join(root, `store-${counter++}.db`),
  open: async (location) => new SqliteKV(location, { externalPollMs: 10 }),
  childOpenerModule: new URL('./sqlite-opener.js', import.meta.url).href,
  dispose: async () => rmSync(root, { recursive: true, force: true }),
});
