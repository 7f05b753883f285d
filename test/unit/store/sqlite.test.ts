import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import Database from 'better-sqlite3';

import { ShoalError } from '../../../src/api/errors.js';
import { DamagedStateError } from '../../../src/store/file-errors.js';
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

/** The bytes the store takes on disk: the file and its WAL. */
function storeBytes(path: string): number {
  return [path, `${path}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
async function until(condition: () => boolean, description: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A file in the layout of schema 1 (before the history's sizes were kept), without auto-vacuum. */
function writeSchema1File(path: string, events: { key: string; value: string }[]): void {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE state (id INTEGER PRIMARY KEY CHECK (id = 1), revision INTEGER NOT NULL,
      compact_revision INTEGER NOT NULL);
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, create_revision INTEGER NOT NULL,
      mod_revision INTEGER NOT NULL, version INTEGER NOT NULL, lease INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX kv_by_lease ON kv (lease) WHERE lease != 0;
    CREATE TABLE events (revision INTEGER NOT NULL, seq INTEGER NOT NULL,
      type TEXT NOT NULL CHECK (type IN ('put', 'delete')), key TEXT NOT NULL, value TEXT NOT NULL,
      create_revision INTEGER NOT NULL, PRIMARY KEY (revision, seq)) WITHOUT ROWID;
    CREATE TABLE leases (id INTEGER PRIMARY KEY AUTOINCREMENT, ttl_ms INTEGER NOT NULL,
      expires_at INTEGER NOT NULL);
    CREATE INDEX leases_by_expiry ON leases (expires_at);
  `);
  db.prepare('INSERT INTO state (id, revision, compact_revision) VALUES (1, ?, 0)').run(events.length);
  events.forEach(({ key, value }, i) => {
    const revision = i + 1;
    db.prepare('INSERT INTO events VALUES (?, 0, ?, ?, ?, ?)').run(revision, 'put', key, value, revision);
    db.prepare(
      `INSERT INTO kv VALUES (?, ?, ?, ?, 1, 0)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, mod_revision = excluded.mod_revision`,
    ).run(key, value, revision, revision);
  });
  db.pragma('user_version = 1');
  db.close();
}

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

  it('bounds the history by bytes as well as by revisions, keeping the newest revision whatever its size', () =>
    withKV({ historyBytes: 10_000 }, async (kv) => {
      const value = 'v'.repeat(1_000); // about 1 KB of JSON per revision
      for (let i = 1; i <= 30; i++) await kv.put('/a', `${value}${i}`);
      // Kept: at most 10,000 bytes, trimmed back to 9,000 when over: the newest 8 or 9 revisions.
      const old = collect(kv, '', 20);
      const kept = collect(kv, '', 23);
      await settle();
      assert.ok(old.errors[0] instanceof CompactedError, 'revision 20 should be compacted');
      assert.deepEqual(
        kept.batches.map((batch) => batch.revision),
        [23, 24, 25, 26, 27, 28, 29, 30],
      );
      // One revision larger than the bound is kept on its own: a watcher at the head can still resume.
      const huge = await kv.put('/b', 'h'.repeat(50_000));
      const resumed = collect(kv, '', huge);
      const older = collect(kv, '', huge - 1);
      await settle();
      assert.deepEqual(
        resumed.batches.map((batch) => batch.revision),
        [huge],
      );
      assert.ok(older.errors[0] instanceof CompactedError);
    }));

  it('gives the space of deleted values back to the filesystem, the WAL included', () =>
    withKV({ historyBytes: 1024 * 1024 }, async (kv, path) => {
      const big = 'x'.repeat(400_000);
      for (let i = 0; i < 40; i++) await kv.put(`/big/${i}`, `${big}${i}`);
      const full = storeBytes(path);
      assert.ok(full > 16_000_000, `16 MB of values take ${full} bytes`);
      for (let i = 0; i < 40; i++) await kv.delete(`/big/${i}`);
      await kv.put('/small', 1);
      // The history still holds the newest deletes (each carries the deleted value): at most 1 MiB.
      await until(() => storeBytes(path) < 3_000_000, `the store shrinks (now ${storeBytes(path)} bytes)`);
      assert.equal((await kv.get('/small'))?.value, 1);
      assert.equal((await kv.range('/big/')).entries.length, 0);
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('auto_vacuum', { simple: true }), 2, 'incremental');
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
      } finally {
        db.close();
      }
    }));

  it('converts a file of schema 1 without auto-vacuum: sizes counted, space given back, data kept', async () => {
    const path = newPath();
    const big = JSON.stringify('y'.repeat(300_000));
    writeSchema1File(path, [
      ...Array.from({ length: 20 }, (_, i) => ({ key: `/big/${i % 5}`, value: big })),
      { key: '/small', value: '42' },
    ]);
    const before = storeBytes(path);
    const kv = new SqliteKV(path, { historyBytes: 1024 * 1024 });
    try {
      assert.equal(await kv.revision(), 21);
      assert.equal((await kv.get('/small'))?.value, 42);
      assert.equal((await kv.range('/big/')).entries.length, 5);
      // The history was trimmed to its byte bound (about 3 revisions of 300 KB) and the file converted.
      const compacted = collect(kv, '', 17);
      const kept = collect(kv, '', 19);
      await settle();
      assert.ok(compacted.errors[0] instanceof CompactedError);
      assert.deepEqual(
        kept.batches.map((batch) => batch.revision),
        [19, 20, 21],
      );
      await until(() => storeBytes(path) < before / 2, `the store shrinks from ${before} bytes`);
      const db = new Database(path, { readonly: true });
      try {
        assert.equal(db.pragma('auto_vacuum', { simple: true }), 2);
        assert.equal(db.pragma('user_version', { simple: true }), 2);
      } finally {
        db.close();
      }
    } finally {
      await kv.close();
    }
  });

  it('fails writes on a full disk with an error naming the file, and works again once there is room', () =>
    withKV({ maxFileBytes: 2 * 1024 * 1024, historyRevisions: 5 }, async (kv, path) => {
      const seen = collect(kv, '/');
      const chunk = 'z'.repeat(100_000);
      let failure: unknown;
      let written = 0;
      for (; written < 100; written++) {
        try {
          await kv.put(`/fill/${written}`, chunk);
        } catch (err) {
          failure = err;
          break;
        }
      }
      assert.ok(failure instanceof ShoalError, `a ShoalError, not ${String(failure)}`);
      assert.equal(failure.status, 500);
      assert.equal(
        failure.message,
        `the cluster store ${path} could not be written because the disk is full`,
      );
      const revision = await kv.revision();
      assert.equal(await kv.get(`/fill/${written}`), undefined, 'the failed write left nothing behind');
      // Room again (compacting the history frees pages without taking any), and the watch goes on
      // without a gap.
      await kv.compact(revision);
      for (let i = 0; i < written; i++) await kv.delete(`/fill/${i}`);
      await kv.put('/after', 'ok');
      assert.equal((await kv.get('/after'))?.value, 'ok');
      await settle();
      const revisions = seen.batches.map((batch) => batch.revision);
      assert.deepEqual(
        revisions,
        Array.from({ length: revision + written + 1 }, (_, i) => i + 1),
      );
      assert.deepEqual(seen.errors, []);
    }));

  it('makes the file and its -wal and -shm private (0600), also when an older version made them 0644', async () => {
    const path = newPath();
    const first = new SqliteKV(path);
    await first.put('/a', 1);
    for (const file of [path, `${path}-wal`, `${path}-shm`]) {
      assert.equal(statSync(file).mode & 0o777, 0o600, file);
    }
    await first.close();
    chmodSync(path, 0o644);
    const second = new SqliteKV(path);
    try {
      await second.put('/a', 2);
      for (const file of [path, `${path}-wal`, `${path}-shm`]) {
        assert.equal(statSync(file).mode & 0o777, 0o600, file);
      }
    } finally {
      await second.close();
    }
  });

  it('opened with create: false, refuses a missing, empty, foreign or garbage file and leaves it as it is', async () => {
    const damaged = (problem: RegExp) => (err: unknown) => {
      assert.ok(err instanceof DamagedStateError, String(err));
      assert.equal(err.kind, 'cluster-store');
      assert.match(err.message, problem);
      return true;
    };
    const missing = newPath();
    assert.throws(
      () => new SqliteKV(missing, { create: false }),
      damaged(/^the cluster store .* is missing$/),
    );
    assert.equal(existsSync(missing), false, 'nothing was created');

    const empty = newPath();
    writeFileSync(empty, '');
    assert.throws(() => new SqliteKV(empty, { create: false }), damaged(/ is empty$/));
    assert.equal(statSync(empty).size, 0);

    const foreign = newPath();
    new Database(foreign).exec('CREATE TABLE other (x)');
    const foreignBytes = readFileSync(foreign);
    assert.throws(() => new SqliteKV(foreign, { create: false }), damaged(/holds no cluster store/));
    assert.deepEqual(readFileSync(foreign), foreignBytes);

    const garbage = newPath();
    writeFileSync(garbage, Buffer.alloc(8192, 'garbage!'));
    assert.throws(() => new SqliteKV(garbage, { create: false }), damaged(/is not a database or is corrupt/));
    assert.deepEqual(readFileSync(garbage), Buffer.alloc(8192, 'garbage!'));

    // A store that exists opens.
    const good = newPath();
    await new SqliteKV(good).close();
    await new SqliteKV(good, { create: false }).close();
  });

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
