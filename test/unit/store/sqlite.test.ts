import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { CompactedError, type KV, type WatchBatch } from '../../../src/store/kv.js';
import { prefixEnd, SqliteKV, type SqliteKVOptions } from '../../../src/store/sqlite.js';
import { runKVConformance } from './kv-conformance.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-sqlite-test-'));
let counter = 0;
const newPath = () => join(root, `store-${counter++}.db`);

after(() => rmSync(root, { recursive: true, force: true }));

runKVConformance('SqliteKV', {
  newLocation: async () => newPath(),
  // A short poll keeps the cross-client tests quick; the default (100 ms) would only make them slower.
  open: async (location) => new SqliteKV(location, { externalPollMs: 10 }),
  childOpenerModule: new URL('./sqlite-opener.js', import.meta.url).href,
  leaseTtlSeconds: 1,
});

/** Opens a store for one test and closes it after. */
async function withKV(
  options: SqliteKVOptions,
  body: (kv: SqliteKV, path: string) => Promise<void>,
): Promise<void> {
  const path = newPath();
  const kv = new SqliteKV(path, options);
  try {
    await body(kv, path);
  } finally {
    await kv.close();
  }
}

function collect(kv: KV, prefix: string, fromRevision?: number): { batches: WatchBatch[]; errors: Error[] } {
  const seen = { batches: [] as WatchBatch[], errors: [] as Error[] };
  kv.watch(prefix, (batch) => seen.batches.push(batch), {
    fromRevision,
    onError: (err) => seen.errors.push(err),
  });
  return seen;
}

/** Lets queued microtasks (watch replays) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('SqliteKV', () => {
  it('puts the file in WAL mode', () =>
    withKV({}, async (kv, path) => {
      await kv.put('/a', 1);
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      } finally {
        db.close();
      }
    }));

  it('works in memory', async () => {
    const kv = new SqliteKV(':memory:');
    try {
      await kv.put('/a', 1);
      const seen = collect(kv, '', 1);
      await settle();
      assert.deepEqual(
        seen.batches.map((batch) => batch.revision),
        [1],
      );
    } finally {
      await kv.close();
    }
  });

  it('compacts its history automatically, keeping the newest revisions', () =>
    withKV({ historyRevisions: 10 }, async (kv) => {
      for (let i = 1; i <= 40; i++) await kv.put('/a', i);
      // At least the newest 10 revisions are kept, and at most 10 + slack (1) + 1.
      const old = collect(kv, '', 28);
      const kept = collect(kv, '', 31);
      await settle();
      assert.ok(old.errors[0] instanceof CompactedError, 'revision 28 should be compacted');
      assert.ok(old.errors[0].compactRevision >= 29 && old.errors[0].compactRevision <= 31);
      assert.deepEqual(
        kept.batches.map((batch) => batch.revision),
        [31, 32, 33, 34, 35, 36, 37, 38, 39, 40],
      );
    }));

  it('keeps lease deadlines in the file and expires overdue leases on the first access', async () => {
    let now = 1_000_000;
    const clock = () => now;
    const path = newPath();
    const first = new SqliteKV(path, { now: clock });
    const lease = await first.grantLease(10);
    const revision = await first.put('/leased', 'x', lease);
    await first.close();

    now += 9_000; // one second before the deadline: nothing expires, the deadline was not reset
    const second = new SqliteKV(path, { now: clock });
    assert.equal((await second.get('/leased'))?.lease, lease);
    await second.close();

    now += 1_000; // at the deadline
    const third = new SqliteKV(path, { now: clock });
    try {
      assert.equal(await third.get('/leased'), undefined);
      const seen = collect(third, '', revision + 1);
      await settle();
      assert.deepEqual(
        seen.batches.map((batch) => batch.events.map((event) => [event.type, event.key, event.value])),
        [[['delete', '/leased', 'x']]],
      );
    } finally {
      await third.close();
    }
  });

  it('renews a lease by its TTL from the time of the keep-alive', () => {
    let now = 0;
    return withKV({ now: () => now }, async (kv) => {
      const lease = await kv.grantLease(5);
      await kv.put('/a', 1, lease);
      now = 4_000;
      assert.equal(await kv.keepAlive(lease), 5);
      now = 8_999;
      assert.equal((await kv.get('/a'))?.value, 1);
      now = 9_000;
      assert.equal(await kv.get('/a'), undefined);
    });
  });

  it('keeps revision order for every watcher when a watcher writes from its callback', () =>
    withKV({}, async (kv) => {
      const order: string[] = [];
      kv.watch('/ping', (batch) => {
        order.push(`A${batch.revision}`);
        void kv.put('/pong', batch.revision);
      });
      kv.watch('', (batch) => order.push(`B${batch.revision}`));
      await kv.put('/ping', 1);
      await settle();
      assert.deepEqual(order, ['A1', 'B1', 'B2']);
      assert.equal((await kv.get('/pong'))?.value, 1);
    }));

  it('ends a watch whose callback throws, with that error', () =>
    withKV({}, async (kv) => {
      const errors: Error[] = [];
      const batches: number[] = [];
      kv.watch(
        '',
        (batch) => {
          batches.push(batch.revision);
          throw new Error('handler bug');
        },
        { onError: (err) => errors.push(err) },
      );
      await kv.put('/a', 1);
      await kv.put('/a', 2);
      assert.deepEqual(batches, [1]);
      assert.deepEqual(
        errors.map((err) => err.message),
        ['handler bug'],
      );
    }));

  it('does not parse the previous value of a put unless it is read', () =>
    withKV({}, async (kv) => {
      await kv.put('/a', { big: 'x'.repeat(1000) });
      const response = await kv.txn({ success: [{ type: 'put', key: '/a', value: 2 }] });
      const result = response.results[0];
      assert.ok(result?.type === 'put');
      assert.deepEqual(result.prev?.value, { big: 'x'.repeat(1000) });
    }));

  it('refuses a file written by a newer schema', () => {
    const path = newPath();
    new SqliteKV(path).close();
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => new SqliteKV(path), /schema version 99 is newer/);
  });

  it('refuses operations after close', async () => {
    const kv = new SqliteKV(newPath());
    await kv.close();
    await assert.rejects(kv.get('/a'), /closed/);
    assert.throws(() => kv.watch('', () => undefined), /closed/);
  });
});

describe('prefixEnd', () => {
  it('increments the last code point', () => {
    assert.equal(prefixEnd('/a/'), '/a0');
    assert.equal(prefixEnd('a'), 'b');
    assert.equal(prefixEnd('é'), 'ê');
    assert.equal(prefixEnd('\u{d7ff}'), '\u{e000}');
    assert.equal(prefixEnd('x\u{10ffff}'), 'y');
    assert.equal(prefixEnd('a😀'), 'a😁');
  });

  it('has no bound for the empty prefix', () => {
    assert.equal(prefixEnd(''), undefined);
    assert.equal(prefixEnd('\u{10ffff}'), undefined);
  });
});
