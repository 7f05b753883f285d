// The KV conformance suite: what every backend of the contract in src/store/kv.ts must do, written against
// the interface only, so that the etcd backend runs exactly the same tests as the SQLite one.
//
// Usage, from a backend's test file:
//
//   runKVConformance('SqliteKV', {
//     newLocation: async () => join(tempDir, `${n++}.db`),
//     open: async (location) => new SqliteKV(location),
//   });
//
// What takes several processes (a writer killed with SIGKILL, processes racing on one key) is in
// test/integration/store/kv-processes.ts.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import {
  CompactedError,
  LeaseNotFoundError,
  type Compare,
  type CompareOp,
  type CompareTarget,
  type JsonValue,
  type KV,
  type WatchBatch,
  type WatchOptions,
} from '../../../src/store/kv.js';

export interface KVConformanceTarget {
  /** A location for a new, empty store: a file path, an etcd key namespace… */
  newLocation(): Promise<string>;
  /**
   * Opens the store at `location`. The suite opens a location again after closing it (a restart), and
   * several times at once (several clients sharing one store).
   */
  open(location: string): Promise<KV>;
  /** Removes whatever `newLocation` created; called once, after the suite. */
  dispose?(): Promise<void>;
  /** A short lease TTL in seconds that the backend honours (default 1). Lease tests take a few TTLs. */
  leaseTtlSeconds?: number;
}

/** Generous bound for things that should happen promptly; only reached when a test is failing. */
const EVENTUALLY_MS = 10_000;

export function runKVConformance(name: string, target: KVConformanceTarget): void {
  const ttl = target.leaseTtlSeconds ?? 1;

  /** Runs `body` against a fresh store, closing every client it opened even if the body fails. */
  async function withStore(body: (kv: KV, stores: StoreOpener) => Promise<void>): Promise<void> {
    const location = await target.newLocation();
    const opened: KV[] = [];
    const stores: StoreOpener = {
      location,
      open: async () => {
        const kv = await target.open(location);
        opened.push(kv);
        return kv;
      },
    };
    try {
      await body(await stores.open(), stores);
    } finally {
      for (const kv of opened) await kv.close();
    }
  }

  describe(`KV conformance: ${name}`, () => {
    after(async () => {
      await target.dispose?.();
    });

    describe('keys and revisions', () => {
      it('starts empty at revision 0', () =>
        withStore(async (kv) => {
          assert.equal(await kv.revision(), 0);
          assert.equal(await kv.get('/a'), undefined);
          assert.deepEqual(await kv.range(''), { entries: [], revision: 0 });
        }));

      it('keeps create/mod revisions and versions per key, one global revision per write', () =>
        withStore(async (kv) => {
          assert.equal(await kv.put('/a', { n: 1 }), 1);
          assert.deepEqual(await kv.get('/a'), {
            key: '/a',
            value: { n: 1 },
            createRevision: 1,
            modRevision: 1,
            version: 1,
            lease: 0,
          });
          assert.equal(await kv.put('/b', 'b'), 2);
          assert.equal(await kv.put('/a', { n: 2 }), 3);
          assert.deepEqual(await kv.get('/a'), {
            key: '/a',
            value: { n: 2 },
            createRevision: 1,
            modRevision: 3,
            version: 2,
            lease: 0,
          });
          assert.equal(await kv.revision(), 3);
        }));

      it('stores any JSON value and hands out copies', () =>
        withStore(async (kv) => {
          const values: JsonValue[] = [
            null,
            true,
            0,
            -1.5,
            '',
            'ünïcødé 😀',
            [],
            [1, 'two', null],
            { a: { b: [{}] } },
          ];
          for (const [i, value] of values.entries()) await kv.put(`/v/${i}`, value);
          for (const [i, value] of values.entries())
            assert.deepEqual((await kv.get(`/v/${i}`))?.value, value);

          const original = { list: [1, 2] };
          await kv.put('/copy', original);
          original.list.push(3);
          const read = (await kv.get('/copy'))!.value as { list: number[] };
          assert.deepEqual(read, { list: [1, 2] });
          read.list.push(4);
          assert.deepEqual((await kv.get('/copy'))?.value, { list: [1, 2] });
        }));

      it('ranges over a prefix in key byte order', () =>
        withStore(async (kv) => {
          const keys = ['/b', '/a/2', '/ab', '/a', '/a/1/x', '/a/é', '/a/😀', '/a/1', '/a/\u{ffff}', '/a0'];
          for (const key of keys) await kv.put(key, key);
          const byteOrder = (list: string[]) =>
            [...list].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
          const rangeKeys = async (prefix: string) =>
            (await kv.range(prefix)).entries.map((entry) => entry.key);

          assert.deepEqual(await rangeKeys('/a/'), byteOrder(keys.filter((key) => key.startsWith('/a/'))));
          assert.deepEqual(await rangeKeys('/a'), byteOrder(keys.filter((key) => key.startsWith('/a'))));
          assert.deepEqual(await rangeKeys('/a/1'), ['/a/1', '/a/1/x']);
          assert.deepEqual(await rangeKeys(''), byteOrder(keys));
          assert.deepEqual(await rangeKeys('/c'), []);
          const response = await kv.range('/b');
          assert.equal(response.revision, keys.length);
          assert.deepEqual(response.entries[0]?.value, '/b');
        }));

      it('deletes: returns the count, bumps the revision only when a key went away', () =>
        withStore(async (kv) => {
          await kv.put('/a', 1);
          assert.equal(await kv.delete('/a'), 1);
          assert.equal(await kv.revision(), 2);
          assert.equal(await kv.get('/a'), undefined);
          assert.equal(await kv.delete('/a'), 0);
          assert.equal(await kv.revision(), 2);
        }));

      it('starts a key over when it is created again after a delete', () =>
        withStore(async (kv) => {
          await kv.put('/a', 1);
          await kv.put('/a', 2);
          await kv.delete('/a');
          await kv.put('/a', 3);
          assert.deepEqual(await kv.get('/a'), {
            key: '/a',
            value: 3,
            createRevision: 4,
            modRevision: 4,
            version: 1,
            lease: 0,
          });
        }));
    });

    describe('transactions', () => {
      it('evaluates every compare target and operator', () =>
        withStore(async (kv) => {
          await kv.put('/other', 0); // revision 1, so that the key's create and mod revisions differ
          await kv.put('/k', 'm'); // 2
          await kv.put('/k', 'm'); // 3: version 2, createRevision 2, modRevision 3
          const actual: Record<Exclude<CompareTarget, 'value'>, number> = {
            version: 2,
            createRevision: 2,
            modRevision: 3,
          };
          const expect = (op: CompareOp, order: number) =>
            ({ '=': order === 0, '!=': order !== 0, '<': order < 0, '>': order > 0 })[op];
          const ops: CompareOp[] = ['=', '!=', '<', '>'];
          for (const op of ops) {
            for (const [target, value] of Object.entries(actual) as [CompareTarget, number][]) {
              for (const delta of [-1, 0, 1]) {
                const compare: Compare = { key: '/k', target, op, value: value + delta };
                const { succeeded } = await kv.txn({ compares: [compare] });
                assert.equal(succeeded, expect(op, -delta), `${target} ${op} ${value + delta}`);
              }
            }
            // Values compare by their JSON text, byte-wise: '"l"' < '"m"' < '"n"'.
            for (const [value, order] of [
              ['l', 1],
              ['m', 0],
              ['n', -1],
            ] as const) {
              const { succeeded } = await kv.txn({ compares: [{ key: '/k', target: 'value', op, value }] });
              assert.equal(succeeded, expect(op, order), `value ${op} ${value}`);
            }
          }
          const { succeeded } = await kv.txn({
            compares: [
              { key: '/k', target: 'value', op: '=', value: 'm' },
              { key: '/k', target: 'version', op: '=', value: 2 },
            ],
          });
          assert.equal(succeeded, true, 'all compares must hold');
          assert.equal(await kv.revision(), 3, 'read-only transactions do not write');
        }));

      it('treats a missing key as version and revisions 0, and fails any compare on its value', () =>
        withStore(async (kv) => {
          const compare = async (target: CompareTarget, op: CompareOp, value: JsonValue) =>
            (await kv.txn({ compares: [{ key: '/missing', target, op, value }] })).succeeded;
          for (const target of ['version', 'createRevision', 'modRevision'] as const) {
            assert.equal(await compare(target, '=', 0), true);
            assert.equal(await compare(target, '<', 1), true);
            assert.equal(await compare(target, '>', 0), false);
          }
          for (const op of ['=', '!=', '<', '>'] as const)
            assert.equal(await compare('value', op, 'x'), false);
        }));

      it('runs the failure branch when a compare fails', () =>
        withStore(async (kv) => {
          await kv.put('/k', 1);
          const response = await kv.txn({
            compares: [{ key: '/k', target: 'version', op: '=', value: 5 }],
            success: [{ type: 'put', key: '/chosen', value: 'success' }],
            failure: [
              { type: 'put', key: '/chosen', value: 'failure' },
              { type: 'get', key: '/k' },
            ],
          });
          assert.equal(response.succeeded, false);
          assert.equal(response.revision, 2);
          assert.equal(response.results.length, 2);
          assert.equal(response.results[0]?.type, 'put');
          const read = response.results[1];
          assert.equal(read?.type === 'get' && read.entry?.value, 1);
          assert.equal((await kv.get('/chosen'))?.value, 'failure');
        }));

      it('returns the previous entry of a put, and get/range results that see earlier writes', () =>
        withStore(async (kv) => {
          await kv.put('/d/a', 'old');
          const response = await kv.txn({
            success: [
              { type: 'put', key: '/d/a', value: 'new' },
              { type: 'put', key: '/d/b', value: 'b' },
              { type: 'get', key: '/d/a' },
              { type: 'range', prefix: '/d/' },
              { type: 'delete', key: '/d/missing' },
            ],
          });
          assert.equal(response.succeeded, true);
          assert.equal(response.revision, 2);
          const [putA, putB, get, range, del] = response.results;
          assert.ok(putA?.type === 'put' && putB?.type === 'put');
          assert.equal(putA.prev?.value, 'old');
          assert.equal(putA.prev?.modRevision, 1);
          assert.equal(putB.prev, undefined);
          assert.ok(get?.type === 'get');
          assert.deepEqual(get.entry, {
            key: '/d/a',
            value: 'new',
            createRevision: 1,
            modRevision: 2,
            version: 2,
            lease: 0,
          });
          assert.ok(range?.type === 'range');
          assert.deepEqual(
            range.entries.map((entry) => [entry.key, entry.value, entry.modRevision]),
            [
              ['/d/a', 'new', 2],
              ['/d/b', 'b', 2],
            ],
          );
          assert.deepEqual(del, { type: 'delete', deleted: 0 });
        }));

      it('takes one revision per transaction that writes, none for one that changes nothing', () =>
        withStore(async (kv) => {
          await kv.put('/a', 1);
          const many = await kv.txn({
            success: [
              { type: 'put', key: '/x', value: 1 },
              { type: 'put', key: '/y', value: 2 },
              { type: 'delete', key: '/a' },
            ],
          });
          assert.equal(many.revision, 2);
          assert.equal((await kv.get('/x'))?.modRevision, 2);
          assert.equal((await kv.get('/y'))?.modRevision, 2);

          const nothing = await kv.txn({
            success: [
              { type: 'delete', key: '/absent' },
              { type: 'deletePrefix', prefix: '/absent/' },
              { type: 'get', key: '/x' },
            ],
          });
          assert.equal(nothing.revision, 2);
          assert.equal(await kv.revision(), 2);
          assert.equal((await kv.txn({})).revision, 2);
        }));

      it('deletes every key under a prefix in one revision', () =>
        withStore(async (kv) => {
          for (const key of ['/p/1', '/p/2', '/p/2/x', '/pq', '/q']) await kv.put(key, key);
          const response = await kv.txn({ success: [{ type: 'deletePrefix', prefix: '/p/' }] });
          assert.deepEqual(response.results, [{ type: 'delete', deleted: 3 }]);
          assert.equal(response.revision, 6);
          assert.deepEqual(
            (await kv.range('')).entries.map((entry) => entry.key),
            ['/pq', '/q'],
          );
        }));

      it('refuses a key written twice by one branch, as etcd does', () =>
        withStore(async (kv) => {
          await assert.rejects(
            kv.txn({
              success: [
                { type: 'put', key: '/a', value: 1 },
                { type: 'put', key: '/a', value: 2 },
              ],
            }),
          );
          await assert.rejects(
            kv.txn({
              success: [
                { type: 'deletePrefix', prefix: '/' },
                { type: 'put', key: '/a', value: 2 },
              ],
            }),
          );
          assert.equal(await kv.revision(), 0);
        }));

      it('lets exactly one of many racing compare-and-swaps on a key win', () =>
        withStore(async (kv, stores) => {
          const other = await stores.open();
          const revision = await kv.put('/counter', 0);
          const clients = [kv, other];
          const attempts = Array.from({ length: 20 }, (_, i) =>
            clients[i % 2]!.txn({
              compares: [{ key: '/counter', target: 'modRevision', op: '=', value: revision }],
              success: [{ type: 'put', key: '/counter', value: i + 1 }],
            }),
          );
          const responses = await Promise.all(attempts);
          const winners = responses.filter((response) => response.succeeded);
          assert.equal(winners.length, 1);
          const entry = await other.get('/counter');
          assert.equal(entry?.version, 2);
          assert.equal(entry?.modRevision, winners[0]!.revision);
        }));
    });

    describe('watches', () => {
      it('delivers live changes under the prefix, one batch per transaction, in order', () =>
        withStore(async (kv) => {
          const recorder = new Recorder();
          const watch = kv.watch('/w/', recorder.onBatch, recorder.options());
          await kv.put('/w/a', 1);
          await kv.put('/elsewhere', 1);
          await kv.txn({
            success: [
              { type: 'put', key: '/w/b', value: 2 },
              { type: 'put', key: '/w/a', value: 3 },
              { type: 'put', key: '/elsewhere', value: 2 },
            ],
          });
          await kv.delete('/w/a');
          await recorder.waitForRevision(4);
          watch.cancel();
          assert.deepEqual(recorder.batches.slice(0, 2), [
            {
              revision: 1,
              events: [{ type: 'put', key: '/w/a', value: 1, modRevision: 1, createRevision: 1 }],
            },
            {
              revision: 3,
              events: [
                { type: 'put', key: '/w/b', value: 2, modRevision: 3, createRevision: 3 },
                { type: 'put', key: '/w/a', value: 3, modRevision: 3, createRevision: 1 },
              ],
            },
          ]);
          // A delete carries the last value. (Its createRevision is left to the backend.)
          const deletion = recorder.batches[2];
          assert.equal(recorder.batches.length, 3);
          assert.equal(deletion?.revision, 4);
          assert.deepEqual(
            deletion.events.map(({ type, key, value, modRevision }) => ({ type, key, value, modRevision })),
            [{ type: 'delete', key: '/w/a', value: 3, modRevision: 4 }],
          );
          assert.deepEqual(recorder.errors, []);
        }));

      it('starts after the current revision unless told otherwise', () =>
        withStore(async (kv) => {
          await kv.put('/a', 1);
          await kv.put('/a', 2);
          const recorder = new Recorder();
          kv.watch('', recorder.onBatch, recorder.options());
          await kv.put('/a', 3);
          await recorder.waitForRevision(3);
          assert.deepEqual(recorder.revisions(), [3]);
        }));

      it('replays from a past revision, then continues live with no gap and no duplicate', () =>
        withStore(async (kv) => {
          for (let i = 1; i <= 5; i++) await kv.put(`/k${i % 2}`, i);
          const recorder = new Recorder();
          kv.watch('', recorder.onBatch, recorder.options({ fromRevision: 3 }));
          // Written before the replay has had a chance to run: must arrive exactly once, in order.
          const racing = kv.put('/k0', 6);
          await racing;
          await kv.put('/k1', 7);
          await recorder.waitForRevision(7);
          assert.deepEqual(recorder.revisions(), [3, 4, 5, 6, 7]);
          assert.deepEqual(
            recorder.batches.map((batch) => batch.events[0]?.value),
            [3, 4, 5, 6, 7],
          );
        }));

      it('replays only what matches the prefix', () =>
        withStore(async (kv) => {
          await kv.put('/x/1', 1);
          await kv.put('/y/1', 2);
          await kv.put('/x/2', 3);
          const recorder = new Recorder();
          kv.watch('/x/', recorder.onBatch, recorder.options({ fromRevision: 1 }));
          await kv.put('/y/2', 4);
          await kv.put('/x/3', 5);
          await recorder.waitForRevision(5);
          assert.deepEqual(recorder.revisions(), [1, 3, 5]);
        }));

      it('sees changes made through another client of the same store', () =>
        withStore(async (kv, stores) => {
          const other = await stores.open();
          const recorder = new Recorder();
          kv.watch('/shared/', recorder.onBatch, recorder.options());
          await other.put('/shared/a', 'from the other client');
          await recorder.waitForRevision(1);
          assert.equal(recorder.batches[0]?.events[0]?.value, 'from the other client');
          await kv.put('/shared/b', 'mine');
          await other.put('/shared/c', 'theirs');
          await recorder.waitForRevision(3);
          assert.deepEqual(recorder.revisions(), [1, 2, 3]);
        }));

      it('stops delivering after cancel', () =>
        withStore(async (kv) => {
          const recorder = new Recorder();
          const watch = kv.watch('', recorder.onBatch, recorder.options());
          await kv.put('/a', 1);
          await recorder.waitForRevision(1);
          watch.cancel();
          await kv.put('/a', 2);
          const probe = new Recorder();
          kv.watch('', probe.onBatch, probe.options({ fromRevision: 2 }));
          await probe.waitForRevision(2);
          assert.deepEqual(recorder.revisions(), [1]);
        }));

      it('resumes from a revision after the store is closed and opened again', () =>
        withStore(async (first, stores) => {
          await first.put('/a', 1);
          await first.put('/b', 2);
          await first.put('/a', 3);
          await first.close();
          const reopened = await stores.open();
          assert.equal(await reopened.revision(), 3);
          assert.equal((await reopened.get('/a'))?.version, 2);
          const recorder = new Recorder();
          reopened.watch('', recorder.onBatch, recorder.options({ fromRevision: 2 }));
          await reopened.put('/c', 4);
          await recorder.waitForRevision(4);
          assert.deepEqual(recorder.revisions(), [2, 3, 4]);
        }));

      it('reports CompactedError for a revision older than the compaction point', () =>
        withStore(async (kv) => {
          for (let i = 1; i <= 6; i++) await kv.put('/a', i);
          await kv.compact(4);
          const tooOld = new Recorder();
          kv.watch('', tooOld.onBatch, tooOld.options({ fromRevision: 2 }));
          const err = await tooOld.waitForError();
          assert.ok(err instanceof CompactedError, String(err));
          assert.equal(err.requested, 2);
          assert.equal(err.compactRevision, 4);
          assert.deepEqual(tooOld.batches, []);

          const fine = new Recorder();
          kv.watch('', fine.onBatch, fine.options({ fromRevision: 4 }));
          await fine.waitForRevision(6);
          assert.deepEqual(fine.revisions(), [4, 5, 6]);
          assert.equal((await kv.get('/a'))?.value, 6, 'compaction keeps the current keys');
        }));

      it('refuses to compact a future revision', () =>
        withStore(async (kv) => {
          await kv.put('/a', 1);
          await assert.rejects(kv.compact(5));
        }));
    });

    describe('leases', { concurrency: true }, () => {
      it('attaches keys to a lease and deletes them, with events, on revoke', () =>
        withStore(async (kv) => {
          const lease = await kv.grantLease(60);
          await kv.put('/l/a', 1, lease);
          await kv.put('/l/b', 2, lease);
          await kv.put('/l/free', 3);
          assert.equal((await kv.get('/l/a'))?.lease, lease);
          const recorder = new Recorder();
          kv.watch('/l/', recorder.onBatch, recorder.options());
          await kv.revokeLease(lease);
          assert.deepEqual(
            (await kv.range('/l/')).entries.map((entry) => entry.key),
            ['/l/free'],
          );
          await recorder.waitForRevision(4);
          assert.deepEqual(
            recorder.batches.map((batch) =>
              batch.events.map((event) => [event.type, event.key, event.value]),
            ),
            [
              [
                ['delete', '/l/a', 1],
                ['delete', '/l/b', 2],
              ],
            ],
          );
          await assert.rejects(kv.revokeLease(lease), LeaseNotFoundError);
          await assert.rejects(kv.keepAlive(lease), LeaseNotFoundError);
        }));

      it('detaches a key put again without the lease', () =>
        withStore(async (kv) => {
          const lease = await kv.grantLease(60);
          await kv.put('/a', 1, lease);
          await kv.put('/a', 2);
          assert.equal((await kv.get('/a'))?.lease, 0);
          await kv.revokeLease(lease);
          assert.equal((await kv.get('/a'))?.value, 2);
        }));

      it('refuses a put with an unknown lease and writes nothing', () =>
        withStore(async (kv) => {
          await assert.rejects(kv.put('/a', 1, 987654321), LeaseNotFoundError);
          assert.equal(await kv.get('/a'), undefined);
          assert.equal(await kv.revision(), 0);
        }));

      it('deletes the keys of an expired lease, with events, and forgets the lease', () =>
        withStore(async (kv) => {
          const lease = await kv.grantLease(ttl);
          const revision = await kv.put('/e/a', 'a', lease);
          const recorder = new Recorder();
          kv.watch('/e/', recorder.onBatch, recorder.options({ fromRevision: revision + 1 }));
          await recorder.waitForRevision(revision + 1, ttl * 1000 + EVENTUALLY_MS);
          assert.deepEqual(
            recorder.batches[0]?.events.map((event) => [event.type, event.key, event.value]),
            [['delete', '/e/a', 'a']],
          );
          assert.equal(await kv.get('/e/a'), undefined);
          await assert.rejects(kv.keepAlive(lease), LeaseNotFoundError);
        }));

      it('keeps the keys while the lease is kept alive', () =>
        withStore(async (kv) => {
          const lease = await kv.grantLease(ttl);
          await kv.put('/k/a', 'a', lease);
          const recorder = new Recorder();
          kv.watch('/k/', recorder.onBatch, recorder.options());
          const keeper = setInterval(() => void kv.keepAlive(lease).catch(() => undefined), (ttl * 1000) / 5);
          try {
            await sleep(ttl * 1000 * 1.6);
            assert.equal(await kv.keepAlive(lease), ttl);
            assert.equal((await kv.get('/k/a'))?.value, 'a');
            assert.deepEqual(recorder.batches, []);
          } finally {
            clearInterval(keeper);
          }
          await recorder.waitForRevision(2, ttl * 1000 + EVENTUALLY_MS);
          assert.equal(await kv.get('/k/a'), undefined);
        }));

      it('keeps leases across a restart, and expires them afterwards', () =>
        withStore(async (first, stores) => {
          const lease = await first.grantLease(ttl);
          const revision = await first.put('/r/a', 'a', lease);
          await first.close();
          const reopened = await stores.open();
          const recorder = new Recorder();
          reopened.watch('/r/', recorder.onBatch, recorder.options({ fromRevision: revision }));
          await recorder.waitForRevision(revision + 1, ttl * 1000 + EVENTUALLY_MS);
          assert.deepEqual(
            recorder.batches.map((batch) => batch.events.map((event) => [event.type, event.key])),
            [[['put', '/r/a']], [['delete', '/r/a']]],
          );
          await assert.rejects(reopened.keepAlive(lease), LeaseNotFoundError);
        }));
    });
  });
}

interface StoreOpener {
  readonly location: string;
  /** Opens another client of the same store (closed by the suite). */
  open(): Promise<KV>;
}

/** Collects a watch's batches and lets a test wait for a revision, or for the watch's error. */
class Recorder {
  readonly batches: WatchBatch[] = [];
  readonly errors: Error[] = [];
  private wake: (() => void) | undefined;

  readonly onBatch = (batch: WatchBatch): void => {
    this.batches.push(batch);
    this.wake?.();
  };

  options(extra: Omit<WatchOptions, 'onError'> = {}): WatchOptions {
    return {
      ...extra,
      onError: (err) => {
        this.errors.push(err);
        this.wake?.();
      },
    };
  }

  revisions(): number[] {
    return this.batches.map((batch) => batch.revision);
  }

  async waitForRevision(revision: number, timeoutMs = EVENTUALLY_MS): Promise<void> {
    await this.until(
      () => (this.batches.at(-1)?.revision ?? 0) >= revision,
      `revision ${revision}`,
      timeoutMs,
    );
  }

  async waitForError(timeoutMs = EVENTUALLY_MS): Promise<Error> {
    await this.until(() => this.errors.length > 0, 'a watch error', timeoutMs);
    return this.errors[0]!;
  }

  private async until(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.errors.length > 0 && what !== 'a watch error') throw this.errors[0];
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        throw new Error(`timed out waiting for ${what}; got revisions [${this.revisions().join(', ')}]`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(remaining, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
