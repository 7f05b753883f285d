import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { ShoalError } from '../../../src/api/errors.js';
import { newId } from '../../../src/api/ids.js';
import type { Cluster, Node, Secret, Service, Task } from '../../../src/api/types.js';
import {
  ClusterStore,
  nameReservationKey,
  objectKey,
  type ClusterStoreOptions,
} from '../../../src/store/cluster-store.js';
import type { ObjectEventBatch } from '../../../src/store/objects.js';
import { CompactedError } from '../../../src/store/kv.js';
import { AesGcmSealer, KeyFileSealer } from '../../../src/store/sealer.js';
import { SqliteKV, type SqliteKVOptions } from '../../../src/store/sqlite.js';

const root = mkdtempSync(join(tmpdir(), 'shoal-cluster-store-test-'));
let counter = 0;
const newPath = () => join(root, `store-${counter++}.db`);
after(() => rmSync(root, { recursive: true, force: true }));

const meta = (id = newId()) => ({ ID: id, Version: { Index: 0 }, CreatedAt: '', UpdatedAt: '' });

function service(name: string, id?: string): Service {
  return { ...meta(id), Spec: { Name: name, Labels: {} } };
}

function node(hostname: string): Node {
  return {
    ...meta(),
    Spec: { Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: hostname,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: 'test' },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
  };
}

function task(serviceId: string, nodeId?: string): Task {
  return {
    ...meta(),
    Spec: {},
    ServiceID: serviceId,
    NodeID: nodeId,
    Status: { Timestamp: '', State: 'new', Message: '' },
    DesiredState: 'running',
  };
}

function secret(name: string, plaintext: string): Secret {
  return { ...meta(), Spec: { Name: name, Data: Buffer.from(plaintext).toString('base64') } };
}

function cluster(caKey: string): Cluster {
  return {
    ...meta(),
    Spec: { Name: 'default' },
    TLSInfo: { TrustRoot: '', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DefaultAddrPool: null,
    SubnetSize: 24,
    DataPathPort: 4789,
    JoinTokens: { Worker: 'w', Manager: 'm' },
    RootCA: { CACert: '-----BEGIN CERTIFICATE-----', CAKey: caKey },
  };
}

interface Opened {
  kv: SqliteKV;
  store: ClusterStore;
}

/** Opens stores on SQLite files for one test; closes everything it opened afterwards. */
async function withStores(
  body: (
    open: (path: string, options?: ClusterStoreOptions & SqliteKVOptions) => Promise<Opened>,
  ) => Promise<void>,
): Promise<void> {
  const opened: Opened[] = [];
  try {
    await body(async (path, options = {}) => {
      const kv = new SqliteKV(path, { externalPollMs: 10, ...options });
      try {
        const store = await ClusterStore.open(kv, options);
        opened.push({ kv, store });
        return { kv, store };
      } catch (err) {
        await kv.close();
        throw err;
      }
    });
  } finally {
    for (const { kv, store } of opened.reverse()) {
      await store.close();
      await kv.close();
    }
  }
}

/** One fresh store for a test. */
const withStore = (body: (opened: Opened) => Promise<void>) =>
  withStores(async (open) => body(await open(newPath())));

const isShoalError = (code: ShoalError['code'], message: string | RegExp) => (err: unknown) => {
  assert.ok(err instanceof ShoalError, String(err));
  assert.equal(err.code, code);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
};

/** Resolves when `condition` holds, re-checking after every change of the store. */
function eventually(store: ClusterStore, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error('timed out waiting for the store to catch up'));
    }, timeoutMs);
    const unsubscribe = store.watch(() => {
      if (!condition()) return;
      clearTimeout(timer);
      unsubscribe();
      resolve();
    });
  });
}

const ids = (objects: { ID: string }[]) => objects.map((object) => object.ID).sort();

describe('ClusterStore', () => {
  describe('writes', () => {
    it('stamps creation times and gives all objects of a transaction the commit revision as version', () =>
      withStore(async ({ kv, store }) => {
        const before = new Date().toISOString();
        const web = service('web');
        const tasks = [task(web.ID), task(web.ID)];
        await store.update((tx) => {
          tx.create('service', web);
          for (const t of tasks) tx.create('task', t);
        });
        const revision = store.revision;
        assert.equal(revision, await kv.revision());
        store.view((tx) => {
          const objects = [tx.get('service', web.ID)!, ...tasks.map((t) => tx.get('task', t.ID)!)];
          for (const object of objects) {
            assert.equal(object.Version.Index, revision);
            assert.ok(Date.parse(object.CreatedAt) >= Date.parse(before));
            assert.equal(object.UpdatedAt, object.CreatedAt);
          }
        });
        assert.equal((await kv.get(objectKey('service', web.ID)))?.modRevision, revision);
      }));

    it('returns what the callback returns, and writes nothing for a callback that only reads', () =>
      withStore(async ({ store }) => {
        assert.equal(await store.update((tx) => tx.list('service').length), 0);
        assert.equal(store.revision, 0);
      }));

    it('updates: new version and UpdatedAt, CreatedAt kept; a stale version is out of sequence', () =>
      withStore(async ({ store }) => {
        const web = service('web');
        await store.update((tx) => tx.create('service', web));
        const stored = store.view((tx) => tx.get('service', web.ID)!);
        const changed = structuredClone(stored);
        changed.Spec.Labels = { tier: 'front' };
        changed.CreatedAt = '1999-01-01T00:00:00Z';
        await store.update((tx) => tx.update('service', changed));
        const updated = store.view((tx) => tx.get('service', web.ID)!);
        assert.ok(updated.Version.Index > stored.Version.Index);
        assert.equal(updated.CreatedAt, stored.CreatedAt);
        assert.ok(Date.parse(updated.UpdatedAt) >= Date.parse(stored.UpdatedAt));
        assert.deepEqual(updated.Spec.Labels, { tier: 'front' });

        await assert.rejects(
          store.update((tx) => tx.update('service', stored)),
          isShoalError('Unknown', 'update out of sequence'),
        );
        assert.equal(
          store.view((tx) => tx.get('service', web.ID)!.Version.Index),
          updated.Version.Index,
        );
      }));

    it('lets a transaction update one object twice', () =>
      withStore(async ({ store }) => {
        const web = service('web');
        await store.update((tx) => tx.create('service', web));
        await store.update((tx) => {
          const first = structuredClone(tx.get('service', web.ID)!);
          first.Spec.Labels = { step: '1' };
          tx.update('service', first);
          const second = structuredClone(tx.get('service', web.ID)!);
          second.Spec.Labels = { step: '2' };
          tx.update('service', second);
        });
        assert.deepEqual(
          store.view((tx) => tx.get('service', web.ID)!.Spec.Labels),
          { step: '2' },
        );
      }));

    it("stores copies, so the caller's objects cannot change the store afterwards", () =>
      withStore(async ({ store }) => {
        const web = service('web');
        await store.update((tx) => tx.create('service', web));
        web.Spec.Name = 'changed after create';
        const changed = structuredClone(store.view((tx) => tx.get('service', web.ID)!));
        changed.Spec.Labels = { a: '1' };
        await store.update((tx) => tx.update('service', changed));
        changed.Spec.Labels.a = 'changed after update';
        assert.equal(
          store.view((tx) => tx.get('service', web.ID)!.Spec.Name),
          'web',
        );
        assert.deepEqual(
          store.view((tx) => tx.get('service', web.ID)!.Spec.Labels),
          { a: '1' },
        );
      }));

    it('refuses a duplicate ID, a missing ID, and updates or deletes of missing objects', () =>
      withStore(async ({ store }) => {
        const web = service('web');
        await store.update((tx) => tx.create('service', web));
        await assert.rejects(
          store.update((tx) => tx.create('service', service('other', web.ID))),
          isShoalError('AlreadyExists', 'object already exists'),
        );
        await assert.rejects(
          store.update((tx) => tx.create('service', service('other', ''))),
          isShoalError('InvalidArgument', /ID/),
        );
        await assert.rejects(
          store.update((tx) => tx.update('service', service('ghost', 'nosuchservice'))),
          isShoalError('NotFound', 'service nosuchservice not found'),
        );
        await assert.rejects(
          store.update((tx) => tx.delete('task', 'nosuchtask')),
          isShoalError('NotFound', 'task nosuchtask not found'),
        );
      }));

    it('deletes', () =>
      withStore(async ({ kv, store }) => {
        const web = service('web');
        await store.update((tx) => tx.create('service', web));
        await store.update((tx) => tx.delete('service', web.ID));
        assert.equal(
          store.view((tx) => tx.get('service', web.ID)),
          undefined,
        );
        assert.equal(await kv.get(objectKey('service', web.ID)), undefined);
      }));

    it('writes nothing when the callback throws', () =>
      withStore(async ({ store }) => {
        await assert.rejects(
          store.update((tx) => {
            tx.create('service', service('web'));
            throw new Error('changed my mind');
          }),
          /changed my mind/,
        );
        assert.equal(store.revision, 0);
        assert.deepEqual(
          store.view((tx) => tx.list('service')),
          [],
        );
        await store.update((tx) => tx.create('service', service('web')));
        assert.equal(
          store.view((tx) => tx.list('service').length),
          1,
        );
      }));

    it('writes nothing for an object created and deleted in one transaction', () =>
      withStore(async ({ store }) => {
        const web = service('web');
        await store.update((tx) => {
          tx.create('service', web);
          tx.delete('service', web.ID);
        });
        assert.equal(store.revision, 0);
      }));

    it('refuses asynchronous callbacks and use of a transaction after its callback', () =>
      withStore(async ({ store }) => {
        await assert.rejects(
          store.update(async (tx) => tx.create('service', service('web'))),
          TypeError,
        );
        assert.equal(store.revision, 0);
        let leaked: Parameters<Parameters<ClusterStore['update']>[0]>[0] | undefined;
        await store.update((tx) => {
          leaked = tx;
        });
        assert.throws(() => leaked!.create('service', service('late')), /after its callback/);
      }));

    it('serializes updates: each sees the commits of the ones before it', () =>
      withStore(async ({ store }) => {
        const counterService = service('counter');
        await store.update((tx) => tx.create('service', counterService));
        const increments = Array.from({ length: 20 }, () =>
          store.update((tx) => {
            const current = structuredClone(tx.get('service', counterService.ID)!);
            current.Spec.Labels = { n: String(Number(current.Spec.Labels?.n ?? 0) + 1) };
            tx.update('service', current);
          }),
        );
        await Promise.all(increments);
        assert.equal(
          store.view((tx) => tx.get('service', counterService.ID)!.Spec.Labels?.n),
          '20',
        );
      }));
  });

  describe('names', () => {
    it('are unique per kind, case-insensitively, on create and on rename', () =>
      withStore(async ({ store }) => {
        const web = service('Web');
        await store.update((tx) => tx.create('service', web));
        const conflict = isShoalError('AlreadyExists', 'name conflicts with an existing object');
        await assert.rejects(
          store.update((tx) => tx.create('service', service('wEB'))),
          conflict,
        );
        const api = service('api');
        await store.update((tx) => tx.create('service', api));
        const renamed = structuredClone(store.view((tx) => tx.get('service', api.ID)!));
        renamed.Spec.Name = 'WEB';
        await assert.rejects(
          store.update((tx) => tx.update('service', renamed)),
          conflict,
        );
        // Other kinds have their own names.
        await store.update((tx) => tx.create('secret', secret('web', 'x')));
        // Within one transaction too.
        await assert.rejects(
          store.update((tx) => {
            tx.create('network', { ...meta(), Spec: { Name: 'net' } });
            tx.create('network', { ...meta(), Spec: { Name: 'NET' } });
          }),
          conflict,
        );
        assert.equal(
          store.view((tx) => tx.getByName('service', 'WEB')?.ID),
          web.ID,
        );
        assert.equal(
          store.view((tx) => tx.getByName('service', 'nope')),
          undefined,
        );
      }));

    it('are free again after a delete or a rename, even within the same transaction', () =>
      withStore(async ({ kv, store }) => {
        const first = service('web');
        await store.update((tx) => tx.create('service', first));
        assert.equal((await kv.get(nameReservationKey('service', 'web')))?.value, first.ID);

        const second = service('WEB');
        await store.update((tx) => {
          tx.delete('service', first.ID);
          tx.create('service', second);
        });
        assert.equal(
          store.view((tx) => tx.getByName('service', 'web')?.ID),
          second.ID,
        );
        assert.equal((await kv.get(nameReservationKey('service', 'web')))?.value, second.ID);

        const renamed = structuredClone(store.view((tx) => tx.get('service', second.ID)!));
        renamed.Spec.Name = 'api';
        await store.update((tx) => tx.update('service', renamed));
        assert.equal(await kv.get(nameReservationKey('service', 'web')), undefined);
        assert.equal(
          store.view((tx) => tx.getByName('service', 'web')),
          undefined,
        );
        assert.equal(
          store.view((tx) => tx.getByName('service', 'API')?.ID),
          second.ID,
        );

        await store.update((tx) => tx.create('service', service('web')));
        await store.update((tx) => tx.delete('service', second.ID));
        assert.equal(await kv.get(nameReservationKey('service', 'api')), undefined);
      }));

    it('can only be looked up for named kinds', () =>
      withStore(async ({ store }) => {
        assert.throws(() => store.view((tx) => tx.getByName('task', 'x')), RangeError);
      }));
  });

  describe('reads and indexes', () => {
    it('lets a transaction read its own writes', () =>
      withStore(async ({ store }) => {
        const web = service('web');
        const n1 = node('n1');
        const old = task(web.ID, n1.ID);
        await store.update((tx) => {
          tx.create('service', web);
          tx.create('node', n1);
          tx.create('task', old);
        });
        await store.update((tx) => {
          const api = service('api');
          tx.create('service', api);
          const fresh = task(web.ID, n1.ID);
          tx.create('task', fresh);
          tx.delete('task', old.ID);
          assert.equal(tx.get('service', api.ID)?.Spec.Name, 'api');
          assert.equal(tx.getByName('service', 'API')?.ID, api.ID);
          assert.deepEqual(ids(tx.list('service')), [api.ID, web.ID].sort());
          assert.deepEqual(ids(tx.tasksByService(web.ID)), [fresh.ID]);
          assert.deepEqual(ids(tx.tasksByNode(n1.ID)), [fresh.ID]);
          assert.equal(tx.get('task', old.ID), undefined);
          // The committed copy does not see any of it yet.
          assert.equal(
            store.view((committed) => committed.get('service', api.ID)),
            undefined,
          );
        });
      }));

    it('keeps tasks by service and by node right through moves and deletes', () =>
      withStore(async ({ store }) => {
        const [s1, s2] = [service('s1'), service('s2')];
        const [n1, n2] = [node('n1'), node('n2')];
        const [t1, t2, t3, unassigned] = [
          task(s1.ID, n1.ID),
          task(s1.ID, n2.ID),
          task(s2.ID, n1.ID),
          task(s2.ID),
        ];
        await store.update((tx) => {
          for (const s of [s1, s2]) tx.create('service', s);
          for (const n of [n1, n2]) tx.create('node', n);
          for (const t of [t1, t2, t3, unassigned]) tx.create('task', t);
        });
        const check = (byService: Record<string, Task[]>, byNode: Record<string, Task[]>) =>
          store.view((tx) => {
            for (const [id, tasks] of Object.entries(byService))
              assert.deepEqual(ids(tx.tasksByService(id)), ids(tasks));
            for (const [id, tasks] of Object.entries(byNode))
              assert.deepEqual(ids(tx.tasksByNode(id)), ids(tasks));
          });
        check({ [s1.ID]: [t1, t2], [s2.ID]: [t3, unassigned] }, { [n1.ID]: [t1, t3], [n2.ID]: [t2] });

        // t1 moves to n2; the unassigned task gets n1.
        await store.update((tx) => {
          const moved = structuredClone(tx.get('task', t1.ID)!);
          moved.NodeID = n2.ID;
          tx.update('task', moved);
          const assigned = structuredClone(tx.get('task', unassigned.ID)!);
          assigned.NodeID = n1.ID;
          tx.update('task', assigned);
        });
        check(
          { [s1.ID]: [t1, t2], [s2.ID]: [t3, unassigned] },
          { [n1.ID]: [t3, unassigned], [n2.ID]: [t1, t2] },
        );

        await store.update((tx) => {
          tx.delete('task', t2.ID);
          tx.delete('task', t3.ID);
        });
        check({ [s1.ID]: [t1], [s2.ID]: [unassigned] }, { [n1.ID]: [unassigned], [n2.ID]: [t1] });
        check({ nosuchservice: [] }, { nosuchnode: [] });
      }));

    it('hands out the cached objects without copying', () =>
      withStore(async ({ store }) => {
        const web = service('web');
        const t = task(web.ID);
        await store.update((tx) => {
          tx.create('service', web);
          tx.create('task', t);
        });
        store.view((tx) => {
          assert.equal(tx.list('task')[0], tx.get('task', t.ID));
          assert.equal(tx.tasksByService(web.ID)[0], tx.get('task', t.ID));
          assert.equal(tx.getByName('service', 'web'), tx.get('service', web.ID));
          // The lists themselves are fresh: sorting one does not disturb the store.
          assert.notEqual(tx.list('task'), tx.list('task'));
        });
      }));

    it("takes Version.Index from the backend's revision, not from the stored JSON", () =>
      withStore(async ({ kv, store }) => {
        const web = { ...service('web'), Version: { Index: 999 } };
        const revision = await kv.put(objectKey('service', web.ID), web as never);
        assert.equal(
          store.view((tx) => tx.get('service', web.ID)?.Version.Index),
          revision,
        );
        assert.equal(store.revision, revision);
      }));
  });

  describe('events', () => {
    it('reports creates, updates with the old object, and deletes, one batch per commit', () =>
      withStore(async ({ store }) => {
        const batches: ObjectEventBatch[] = [];
        const unsubscribe = store.watch((batch) => batches.push(batch));
        const web = service('web');
        const t = task(web.ID);
        await store.update((tx) => {
          tx.create('service', web);
          tx.create('task', t);
        });
        assert.equal(batches.length, 1, 'handlers run before update() resolves');
        const v1 = store.view((tx) => tx.get('service', web.ID)!);
        const changed = structuredClone(v1);
        changed.Spec.Labels = { a: 'b' };
        await store.update((tx) => tx.update('service', changed));
        await store.update((tx) => tx.delete('task', t.ID));
        unsubscribe();
        await store.update((tx) => tx.create('service', service('unseen')));

        assert.deepEqual(
          batches.map((batch) => batch.revision),
          [1, 2, 3],
        );
        const [created, updated, deleted] = batches;
        assert.deepEqual(
          created!.events.map((event) => [event.action, event.kind, event.object.ID]),
          [
            ['create', 'service', web.ID],
            ['create', 'task', t.ID],
          ],
        );
        const update = updated!.events[0]!;
        assert.ok(update.action === 'update' && update.kind === 'service');
        assert.equal(update.old, v1);
        assert.equal(update.object.Version.Index, 2);
        assert.deepEqual(update.object.Spec.Labels, { a: 'b' });
        const deletion = deleted!.events[0]!;
        assert.equal(deletion.action, 'delete');
        assert.equal(deletion.object.ID, t.ID);
        assert.equal(deletion.object.Version.Index, 1, 'a delete event carries the object as it was');
      }));

    it('reports a handler that throws to onHandlerError; the other handlers and the store carry on', () =>
      withStores(async (open) => {
        const reported: unknown[] = [];
        const { store } = await open(newPath(), { onHandlerError: (err) => reported.push(err) });
        const seen: number[] = [];
        store.watch(() => {
          throw new Error('handler bug');
        });
        store.watch((batch) => seen.push(batch.revision));
        await store.update((tx) => tx.create('service', service('a')));
        await store.update((tx) => tx.create('service', service('b')));
        assert.deepEqual(seen, [1, 2]);
        assert.deepEqual(
          reported.map((err) => (err as Error).message),
          ['handler bug', 'handler bug'],
        );
      }));
  });

  describe('a full disk', () => {
    it('fails the update with a clear error and leaves the copy and the watch working', () =>
      withStores(async (open) => {
        const path = newPath();
        // The "disk" has room for about 1 MB: small writes fit, a 2 MB one does not.
        const { store } = await open(path, { maxFileBytes: 1024 * 1024 });
        const batches: ObjectEventBatch[] = [];
        store.watch((batch) => batches.push(batch));
        const before = service('before');
        await store.update((tx) => tx.create('service', before));
        const huge = { ...service('huge'), Spec: { Name: 'huge', Labels: { pad: 'p'.repeat(2_000_000) } } };
        await assert.rejects(
          store.update((tx) => tx.create('service', huge)),
          (err: unknown) => {
            assert.ok(err instanceof ShoalError, String(err));
            assert.equal(err.status, 500);
            assert.equal(
              err.message,
              `the cluster store ${path} could not be written because the disk is full`,
            );
            return true;
          },
        );
        assert.deepEqual(ids(store.view((tx) => tx.list('service'))), [before.ID], 'the copy is unchanged');
        assert.equal(
          store.view((tx) => tx.getByName('service', 'huge')),
          undefined,
        );

        // The same store goes on: writes that fit are committed and watched, without a gap.
        const after = service('after');
        await store.update((tx) => tx.create('service', after));
        const changed = structuredClone(store.view((tx) => tx.get('service', before.ID)!));
        changed.Spec.Labels = { still: 'works' };
        await store.update((tx) => tx.update('service', changed));
        assert.deepEqual(ids(store.view((tx) => tx.list('service'))), ids([before, after]));
        assert.deepEqual(
          batches.map((batch) => batch.revision),
          [1, 2, 3],
        );
      }));
  });

  describe('several stores on one backend', () => {
    it('loads everything again on open, versions and indexes included', () =>
      withStores(async (open) => {
        const path = newPath();
        const first = await open(path);
        const web = service('web');
        const t = task(web.ID, 'node1');
        await first.store.update((tx) => {
          tx.create('service', web);
          tx.create('task', t);
        });
        const second = await open(path);
        second.store.view((tx) => {
          assert.deepEqual(
            tx.get('service', web.ID),
            first.store.view((f) => f.get('service', web.ID)),
          );
          assert.equal(tx.getByName('service', 'WEB')?.ID, web.ID);
          assert.deepEqual(ids(tx.tasksByService(web.ID)), [t.ID]);
          assert.deepEqual(ids(tx.tasksByNode('node1')), [t.ID]);
        });
        assert.equal(second.store.revision, first.store.revision);
      }));

    it("follows another store's writes to the same file, and refuses writes based on a stale copy", () =>
      withStores(async (open) => {
        const path = newPath();
        const a = await open(path);
        const b = await open(path);
        const web = service('web');
        await a.store.update((tx) => tx.create('service', web));
        await eventually(b.store, () => b.store.view((tx) => tx.get('service', web.ID)) !== undefined);
        assert.equal(b.store.revision, a.store.revision);

        const staleInA = a.store.view((tx) => tx.get('service', web.ID)!);
        const changedInB = structuredClone(b.store.view((tx) => tx.get('service', web.ID)!));
        changedInB.Spec.Labels = { by: 'b' };
        await b.store.update((tx) => tx.update('service', changedInB));

        const changedInA = structuredClone(staleInA);
        changedInA.Spec.Labels = { by: 'a' };
        await assert.rejects(
          a.store.update((tx) => tx.update('service', changedInA)),
          isShoalError('Unknown', 'update out of sequence'),
        );
        await eventually(a.store, () =>
          a.store.view((tx) => tx.get('service', web.ID)!.Spec.Labels?.by === 'b'),
        );
      }));

    it('lets only one of two stores that have not seen each other take a name', () =>
      withStores(async (open) => {
        const path = newPath();
        const a = await open(path);
        const b = await open(path);
        const results = await Promise.allSettled([
          a.store.update((tx) => tx.create('service', service('race'))),
          b.store.update((tx) => tx.create('service', service('RACE'))),
        ]);
        const rejected = results.filter((result) => result.status === 'rejected');
        assert.equal(rejected.length, 1);
        assert.ok(
          isShoalError('AlreadyExists', 'name conflicts with an existing object')(rejected[0]!.reason),
        );
        for (const { store } of [a, b]) {
          await eventually(store, () => store.revision === a.store.revision);
          assert.equal(
            store.view((tx) => tx.list('service').length),
            1,
          );
        }
      }));

    it('reloads after falling behind a compaction by bytes', () =>
      withStores(async (open) => {
        const path = newPath();
        // The writer keeps about 10 KB of history; the follower only looks when asked (no polling).
        const writer = await open(path, { historyBytes: 10_000 });
        const follower = await open(path, { externalPollMs: 0 });
        const padded = (name: string) => ({
          ...service(name),
          Spec: { Name: name, Labels: { pad: 'p'.repeat(3_000) } },
        });
        const first = padded('first');
        await writer.store.update((tx) => tx.create('service', first));
        await follower.kv.txn({});
        assert.ok(follower.store.view((tx) => tx.get('service', first.ID)));

        const batches: ObjectEventBatch[] = [];
        follower.store.watch((batch) => batches.push(batch));
        const created = Array.from({ length: 6 }, (_, i) => padded(`s${i}`));
        for (const s of created) await writer.store.update((tx) => tx.create('service', s));
        // Six revisions of 3 KB do not fit in 10 KB: the follower's next revision is gone.
        const compacted: Error[] = [];
        follower.kv.watch('', () => undefined, { fromRevision: 2, onError: (err) => compacted.push(err) });
        await follower.kv.txn({});
        await eventually(follower.store, () => follower.store.revision === writer.store.revision);
        assert.ok(compacted[0] instanceof CompactedError, 'revision 2 was compacted away');
        assert.equal(batches.length, 1, 'the difference arrives as one batch');
        assert.deepEqual(
          batches[0]!.events.map((event) => [event.action, event.object.ID]).sort(),
          created.map((s) => ['create', s.ID]).sort(),
        );
      }));

    it('reloads and reports the difference after falling behind the compacted history', () =>
      withStores(async (open) => {
        const path = newPath();
        // The writer keeps 2 revisions of history; the follower only looks when asked (no polling).
        const writer = await open(path, { historyRevisions: 2 });
        const follower = await open(path, { externalPollMs: 0 });
        const doomed = service('doomed');
        await writer.store.update((tx) => tx.create('service', doomed));
        await follower.kv.txn({}); // let the follower see revision 1
        assert.ok(follower.store.view((tx) => tx.get('service', doomed.ID)));

        const batches: ObjectEventBatch[] = [];
        follower.store.watch((batch) => batches.push(batch));
        await writer.store.update((tx) => tx.delete('service', doomed.ID));
        const created = Array.from({ length: 10 }, (_, i) => service(`s${i}`));
        for (const s of created) await writer.store.update((tx) => tx.create('service', s));

        await follower.kv.txn({}); // the follower notices; its watch is now too far behind
        await eventually(follower.store, () => follower.store.revision === writer.store.revision);
        assert.equal(batches.length, 1, 'the difference arrives as one batch');
        assert.deepEqual(
          batches[0]!.events.map((event) => [event.action, event.object.ID]).sort(),
          [['delete', doomed.ID], ...created.map((s) => ['create', s.ID])].sort(),
        );
        assert.deepEqual(ids(follower.store.view((tx) => tx.list('service'))), ids(created));
        // And it follows live again.
        await writer.store.update((tx) => tx.create('service', service('later')));
        await follower.kv.txn({});
        await eventually(
          follower.store,
          () => follower.store.view((tx) => tx.getByName('service', 'later')) !== undefined,
        );
      }));
  });

  describe('secrets at rest', () => {
    const plaintext = 'TOP-SECRET-PLAINTEXT-4711';
    const caKey = '-----BEGIN EC PRIVATE KEY-----\nCA-KEY-PLAINTEXT-0815\n-----END EC PRIVATE KEY-----';

    it('seals secret data and the CA key in the backend, and only there', async () => {
      const dir = mkdtempSync(join(root, 'sealed-'));
      const path = join(dir, 'store.db');
      const sealer = KeyFileSealer.loadOrCreate(join(dir, 'keys', 'data.key'));
      const s = secret('db-password', plaintext);
      const c = cluster(caKey);

      await withStores(async (open) => {
        const { kv, store } = await open(path, { sealer });
        await store.update((tx) => {
          tx.create('secret', s);
          tx.create('cluster', c);
        });
        // Plaintext in memory…
        assert.equal(
          store.view((tx) => tx.get('secret', s.ID)!.Spec.Data),
          s.Spec.Data,
        );
        assert.equal(
          store.view((tx) => tx.get('cluster', c.ID)!.RootCA?.CAKey),
          caKey,
        );
        // …sealed in the backend.
        const raw = (await kv.get(objectKey('secret', s.ID)))!.value as {
          Spec: { Data: unknown; Name: string };
        };
        assert.equal(raw.Spec.Name, 'db-password');
        assert.equal(typeof (raw.Spec.Data as { $sealed?: unknown }).$sealed, 'string');
        // Updates are sealed too.
        const changed = structuredClone(store.view((tx) => tx.get('secret', s.ID)!));
        changed.Spec.Labels = { rotated: 'no' };
        await store.update((tx) => tx.update('secret', changed));
      });

      const files = readdirSync(dir).filter((file) => file.startsWith('store.db'));
      const contents = Buffer.concat(files.map((file) => readFileSync(join(dir, file))));
      assert.ok(contents.includes('db-password'), 'control: unsealed fields are in the file');
      for (const secretText of [plaintext, s.Spec.Data!, 'CA-KEY-PLAINTEXT-0815']) {
        assert.ok(!contents.includes(secretText), `${secretText} is in the store file`);
      }

      // A restart with the same key file reads the plaintext back.
      await withStores(async (open) => {
        const { store } = await open(path, {
          sealer: KeyFileSealer.loadOrCreate(join(dir, 'keys', 'data.key')),
        });
        assert.equal(
          store.view((tx) => tx.get('secret', s.ID)!.Spec.Data),
          s.Spec.Data,
        );
        assert.equal(
          store.view((tx) => tx.get('cluster', c.ID)!.RootCA?.CAKey),
          caKey,
        );
      });
      // Without a sealer, or with another key, the store refuses to open rather than serve ciphertext.
      await withStores(async (open) => {
        await assert.rejects(open(path), /no sealer/);
        await assert.rejects(
          open(path, { sealer: new AesGcmSealer(Buffer.alloc(32, 7)) }),
          /cannot be opened/,
        );
      });
    });

    it('seals the join tokens, and reads tokens stored in clear by an older version', async () => {
      const dir = mkdtempSync(join(root, 'tokens-'));
      const path = join(dir, 'store.db');
      const sealer = new AesGcmSealer(Buffer.alloc(32, 3));
      const c = {
        ...cluster(caKey),
        JoinTokens: { Worker: 'SWMTKN-1-abc-worker', Manager: 'SWMTKN-1-abc-manager' },
      };
      const rawTokens = async (kv: SqliteKV) =>
        ((await kv.get(objectKey('cluster', c.ID)))!.value as { JoinTokens: Record<string, unknown> })
          .JoinTokens;

      // Written in clear, as a store made before tokens were sealed.
      await withStores(async (open) => {
        const { store } = await open(path);
        await store.update((tx) => tx.create('cluster', c));
      });
      await withStores(async (open) => {
        const { kv, store } = await open(path, { sealer });
        assert.deepEqual(await rawTokens(kv), c.JoinTokens, 'control: in clear');
        assert.deepEqual(
          store.view((tx) => tx.get('cluster', c.ID)!.JoinTokens),
          c.JoinTokens,
        );
        // The next write seals them; readers see no difference.
        const rotated = structuredClone(store.view((tx) => tx.get('cluster', c.ID)!));
        rotated.JoinTokens.Worker = 'SWMTKN-1-abc-rotated';
        await store.update((tx) => tx.update('cluster', rotated));
        const raw = await rawTokens(kv);
        assert.equal(typeof (raw.Worker as { $sealed?: unknown }).$sealed, 'string');
        assert.equal(typeof (raw.Manager as { $sealed?: unknown }).$sealed, 'string');
        assert.deepEqual(
          store.view((tx) => tx.get('cluster', c.ID)!.JoinTokens),
          {
            Worker: 'SWMTKN-1-abc-rotated',
            Manager: 'SWMTKN-1-abc-manager',
          },
        );
      });
      await withStores(async (open) => {
        const { kv, store } = await open(path, { sealer });
        assert.equal(
          store.view((tx) => tx.get('cluster', c.ID)!.JoinTokens.Manager),
          'SWMTKN-1-abc-manager',
        );
        // Compact away the history that still holds them in clear, then look at the bytes of the file.
        await kv.compact(await kv.revision());
      });
      const files = readdirSync(dir).filter((file) => file.startsWith('store.db'));
      const contents = Buffer.concat(files.map((file) => readFileSync(join(dir, file))));
      assert.ok(!contents.includes('SWMTKN-1-abc-rotated'), 'the rotated token is in the store file');
    });

    it('seals registry credentials of services (spec and previous spec) and tasks, and reads clear ones', async () => {
      const dir = mkdtempSync(join(root, 'registry-auth-'));
      const path = join(dir, 'store.db');
      const sealer = new AesGcmSealer(Buffer.alloc(32, 5));
      const credentials = (user: string) =>
        Buffer.from(JSON.stringify({ username: user, password: `${user}-PASSWORD` })).toString('base64url');
      const current = credentials('REGUSER-CURRENT');
      const previous = credentials('REGUSER-PREVIOUS');
      const specWith = (auth: string): Service['Spec'] => ({
        Name: 'private',
        TaskTemplate: {
          ContainerSpec: { Image: 'registry.test:5000/app:1', PullOptions: { RegistryAuth: auth } },
        },
      });
      const s: Service = { ...service('private'), Spec: specWith(current), PreviousSpec: specWith(previous) };
      const t: Task = { ...task(s.ID), Spec: structuredClone(s.Spec.TaskTemplate!) };
      const authOf = (spec: { ContainerSpec?: { PullOptions?: { RegistryAuth?: unknown } } } | undefined) =>
        spec?.ContainerSpec?.PullOptions?.RegistryAuth;

      await withStores(async (open) => {
        const { kv, store } = await open(path, { sealer });
        await store.update((tx) => {
          tx.create('service', s);
          tx.create('task', t);
        });
        const stored = store.view((tx) => tx.get('service', s.ID)!);
        assert.equal(authOf(stored.Spec.TaskTemplate), current, 'plaintext in memory');
        assert.equal(authOf(stored.PreviousSpec!.TaskTemplate), previous);
        assert.equal(authOf(store.view((tx) => tx.get('task', t.ID)!).Spec), current);
        assert.equal(authOf(s.Spec.TaskTemplate), current, "the caller's object is untouched");
        const raw = (await kv.get(objectKey('service', s.ID)))!.value as unknown as Service;
        assert.equal(typeof (authOf(raw.Spec.TaskTemplate) as { $sealed?: unknown }).$sealed, 'string');
        assert.equal(
          typeof (authOf(raw.PreviousSpec!.TaskTemplate) as { $sealed?: unknown }).$sealed,
          'string',
        );
        const rawTask = (await kv.get(objectKey('task', t.ID)))!.value as unknown as Task;
        assert.equal(typeof (authOf(rawTask.Spec) as { $sealed?: unknown }).$sealed, 'string');
        assert.equal(rawTask.Spec.ContainerSpec?.Image, 'registry.test:5000/app:1', 'the rest is in clear');
        // A task's status write (the commonest write of all) seals them again.
        const running = structuredClone(store.view((tx) => tx.get('task', t.ID)!));
        running.Status = { ...running.Status, State: 'running' };
        await store.update((tx) => tx.update('task', running));
        assert.equal(authOf(store.view((tx) => tx.get('task', t.ID)!).Spec), current);
        // A spec without credentials is stored as it is.
        await store.update((tx) => tx.create('service', service('public')));
      });

      const files = readdirSync(dir).filter((file) => file.startsWith('store.db'));
      const contents = Buffer.concat(files.map((file) => readFileSync(join(dir, file))));
      assert.ok(contents.includes('registry.test:5000/app:1'), 'control: the image is in the file');
      for (const text of [current, previous, 'REGUSER-CURRENT', 'REGUSER-PREVIOUS', 'PASSWORD']) {
        assert.ok(!contents.includes(text), `${text} is in the store file`);
      }

      // Read back after a restart; without the key the store refuses to open.
      await withStores(async (open) => {
        const { store } = await open(path, { sealer });
        assert.equal(authOf(store.view((tx) => tx.get('service', s.ID)!).Spec.TaskTemplate), current);
        assert.equal(authOf(store.view((tx) => tx.get('task', t.ID)!).Spec), current);
      });
      await withStores(async (open) => {
        await assert.rejects(open(path), /no sealer/);
      });

      // Credentials stored in clear (without a sealer) are read as they are, and sealed at the next write.
      const clearPath = join(dir, 'clear.db');
      await withStores(async (open) => {
        const { store } = await open(clearPath);
        await store.update((tx) => tx.create('service', { ...s, ID: newId() }));
      });
      await withStores(async (open) => {
        const { kv, store } = await open(clearPath, { sealer });
        const [stored] = store.view((tx) => tx.list('service'));
        assert.equal(authOf(stored!.Spec.TaskTemplate), current);
        await store.update((tx) => tx.update('service', structuredClone(stored!)));
        const raw = (await kv.get(objectKey('service', stored!.ID)))!.value as unknown as Service;
        assert.equal(typeof (authOf(raw.Spec.TaskTemplate) as { $sealed?: unknown }).$sealed, 'string');
      });
    });

    it('KeyFileSealer creates a private 32-byte key once and loads it afterwards', () => {
      const dir = mkdtempSync(join(root, 'key-'));
      const path = join(dir, 'data.key');
      const first = KeyFileSealer.loadOrCreate(path);
      const stat = statSync(path);
      assert.equal(stat.mode & 0o777, 0o600);
      assert.equal(stat.size, 32);
      assert.deepEqual(readdirSync(dir), ['data.key'], 'no temporary file is left behind');
      const sealed = first.seal(Buffer.from('hello'));
      assert.equal(KeyFileSealer.loadOrCreate(path).open(sealed).toString(), 'hello');
      assert.notEqual(first.seal(Buffer.from('hello')), sealed, 'every seal uses a fresh IV');

      writeFileSync(join(dir, 'short.key'), Buffer.alloc(5));
      assert.throws(() => KeyFileSealer.loadOrCreate(join(dir, 'short.key')), /holds 5 bytes/);
    });

    it('AesGcmSealer rejects altered or foreign data', () => {
      const sealer = new AesGcmSealer(Buffer.alloc(32, 1));
      const sealed = Buffer.from(sealer.seal(Buffer.from('payload')), 'base64');
      sealed[sealed.length - 20]! ^= 1;
      assert.throws(() => sealer.open(sealed.toString('base64')), /cannot be opened/);
      assert.throws(() => sealer.open('bm90IHNlYWxlZA=='), /malformed/);
      assert.throws(() => new AesGcmSealer(Buffer.alloc(16)), RangeError);
    });
  });
});
