// Secrets and configs in the control API over a real (in-memory SQLite) store: Docker 20.10's validation
// texts and order, lookup by ID, name and ID prefix, swarmkit's list filters, label-only updates, removal
// refused while a service uses one — and a secret's data never in what the API hands out.
//
// The in-use tests write services that use secrets straight into the store (written before executors
// delivered secrets, when the control API still refused such services); the last ones create them through
// the control API.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isShoalError } from '../../../src/api/errors.js';
import { Filters } from '../../../src/api/filters.js';
import type { ConfigSpec, Driver, Node, SecretSpec, Service, ServiceSpec } from '../../../src/api/types.js';
import { ControlAPI } from '../../../src/manager/controlapi/control-api.js';
import { dataLength, validateName } from '../../../src/manager/controlapi/secrets.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { testCluster } from '../support/cluster.js';

const NODE_ID = 'n0000000000000000000000001';
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const VALUE = 'the-value-of-db_pw-4711';

async function rejects(promise: Promise<unknown>, status: number, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isShoalError(err), `expected a ShoalError, got ${String(err)}`);
    assert.equal(err.apiMessage(), message);
    assert.equal(err.status, status);
    return true;
  });
}

const filters = (raw: Record<string, string[]>): Filters =>
  Filters.parse(JSON.stringify(raw), ['id', 'label', 'name', 'names']);

describe('secrets and configs in the control API', () => {
  let kv: SqliteKV;
  let store: ClusterStore;
  let api: ControlAPI;

  beforeEach(async () => {
    kv = new SqliteKV(':memory:');
    store = await ClusterStore.open(kv);
    api = new ControlAPI({
      store,
      localNodeId: NODE_ID,
      isTaskUpToDate: () => true,
      newJoinToken: () => 'SWMTKN-1-rotated',
      subscribeLogs: async function* () {},
    });
    const node: Node = {
      ID: NODE_ID,
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
      Description: {
        Hostname: 'vm',
        Platform: { Architecture: 'x86_64', OS: 'linux' },
        Resources: { NanoCPUs: 2e9, MemoryBytes: 8e9 },
        Engine: { EngineVersion: '0.1.0' },
      },
      Status: { State: 'ready', Addr: '127.0.0.1' },
      ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
    };
    await store.update((tx) => {
      tx.create('node', node);
      tx.create('cluster', testCluster());
    });
  });
  afterEach(async () => {
    await store.close();
    await kv.close();
  });

  /** A service using the secrets and configs, written as the control API will once tasks can get them. */
  async function serviceUsing(
    name: string,
    id: string,
    refs: { secrets?: string[]; configs?: string[] },
  ): Promise<void> {
    const file = (target: string) => ({ Name: target, UID: '0', GID: '0', Mode: 0o444 });
    const secrets = await Promise.all((refs.secrets ?? []).map((ref) => api.getSecret(ref)));
    const configs = await Promise.all((refs.configs ?? []).map((ref) => api.getConfig(ref)));
    const service: Service = {
      ID: id,
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: {
        Name: name,
        TaskTemplate: {
          ContainerSpec: {
            Image: 'busybox',
            Secrets: secrets.map((s) => ({
              File: file(s.Spec.Name!),
              SecretID: s.ID,
              SecretName: s.Spec.Name!,
            })),
            Configs: configs.map((c) => ({
              File: file(c.Spec.Name!),
              ConfigID: c.ID,
              ConfigName: c.Spec.Name!,
            })),
          },
        },
        Mode: { Replicated: { Replicas: 1 } },
      },
    };
    await store.update((tx) => tx.create('service', service));
  }

  describe('create', () => {
    it('creates a secret and hands it out without its data, in Docker’s field order', async () => {
      const { ID } = await api.createSecret({ Name: 'db_pw', Labels: { a: 'b' }, Data: b64(VALUE) });
      const secret = await api.getSecret(ID);
      assert.deepEqual(Object.keys(secret), ['ID', 'Version', 'CreatedAt', 'UpdatedAt', 'Spec']);
      assert.deepEqual(secret.Spec, { Name: 'db_pw', Labels: { a: 'b' } });
      assert.ok(!JSON.stringify(await api.listSecrets(Filters.empty())).includes(b64(VALUE)));
      // The store holds it (sealed at rest by the store itself, see cluster-store.test.ts).
      assert.equal(
        store.view((tx) => tx.get('secret', ID)!.Spec.Data),
        b64(VALUE),
      );
    });

    it('stores labels as {} when none are given, and the templating driver as given', async () => {
      const { ID } = await api.createSecret({ Name: 'tpl', Data: b64('x'), Templating: { Name: 'golang' } });
      assert.deepEqual((await api.getSecret(ID)).Spec, {
        Name: 'tpl',
        Labels: {},
        Templating: { Name: 'golang' },
      });
    });

    it('hands configs out with their data', async () => {
      const spec: ConfigSpec = {
        Name: 'app.conf',
        Labels: { c: 'd' },
        Data: b64('listen {{ env "HOSTNAME" }}\n'),
        Templating: { Name: 'golang' },
      };
      const { ID } = await api.createConfig(spec);
      const config = await api.getConfig(ID);
      assert.deepEqual(config.Spec, spec);
      assert.deepEqual(Object.keys(config.Spec), ['Name', 'Labels', 'Data', 'Templating']);
      assert.deepEqual(await api.listConfigs(Filters.empty()), [config]);
    });

    it('refuses a name taken by another secret, case-insensitively, with Docker’s 409', async () => {
      await api.createSecret({ Name: 'mysecret', Data: b64('x') });
      await rejects(
        api.createSecret({ Name: 'MySecret', Data: b64('y') }),
        409,
        'rpc error: code = AlreadyExists desc = secret MySecret already exists',
      );
      await api.createConfig({ Name: 'mysecret', Data: b64('x') }); // another kind: no conflict
      await rejects(
        api.createConfig({ Name: 'mysecret', Data: b64('x') }),
        409,
        'rpc error: code = AlreadyExists desc = config mysecret already exists',
      );
    });

    it('checks names with swarmkit’s rules and text', async () => {
      const bad =
        'rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]';
      await rejects(
        api.createSecret({ Data: b64('x') }),
        400,
        'rpc error: code = InvalidArgument desc = name must be provided',
      );
      for (const name of ['-a', 'a-', '_a', 'a.', 'a b', 'a/b', 'é', 'a'.repeat(65)]) {
        await rejects(api.createSecret({ Name: name, Data: b64('x') }), 400, bad);
        await rejects(api.createConfig({ Name: name, Data: b64('x') }), 400, bad);
      }
      for (const name of ['a', 'A.b-c_d', '0', 'x'.repeat(64), 'a--b..c__d'])
        assert.doesNotThrow(() => validateName(name));
    });

    it('limits the data as swarmkit does: secrets below 500 KiB, configs below 1000 KiB, never empty', async () => {
      const of = (n: number): string => Buffer.alloc(n, 'a').toString('base64');
      await api.createSecret({ Name: 's1', Data: of(512_000 - 1) });
      const secretTooBig =
        'rpc error: code = InvalidArgument desc = secret data must be larger than 0 and less than 512000 bytes';
      await rejects(api.createSecret({ Name: 's2', Data: of(512_000) }), 400, secretTooBig);
      await rejects(api.createSecret({ Name: 's3' }), 400, secretTooBig);
      await rejects(api.createSecret({ Name: 's3', Data: '' }), 400, secretTooBig);
      await api.createConfig({ Name: 'c1', Data: of(1_024_000 - 1) });
      await rejects(
        api.createConfig({ Name: 'c2', Data: of(1_024_000) }),
        400,
        'rpc error: code = InvalidArgument desc = config data must be larger than 0 and less than 1024000 bytes',
      );
      // Only white space is data too (Docker 20.10 accepts it).
      await api.createSecret({ Name: 'ws', Data: b64('   ') });
      for (const n of [1, 2, 3, 4, 5, 100]) assert.equal(dataLength(of(n)), n);
    });

    it('checks the name before the data, and a driver before the data (swarmkit’s order)', async () => {
      await rejects(
        api.createSecret({ Name: '-x' }),
        400,
        'rpc error: code = InvalidArgument desc = invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]',
      );
      await rejects(
        api.createSecret({ Name: 'x', Driver: { Name: '' } }),
        400,
        'rpc error: code = InvalidArgument desc = secret driver must have a name',
      );
    });

    it('refuses an external secret driver rather than storing it and handing tasks nothing', async () => {
      await rejects(
        api.createSecret({ Name: 'vault', Driver: { Name: 'vault-plugin' } }),
        400,
        'secret driver "vault-plugin" is not available: shoal has no secret driver plugins; create the secret with its data instead',
      );
      assert.deepEqual(await api.listSecrets(Filters.empty()), []);
    });

    it('refuses a template driver no node knows (Docker stores it and every task using it fails)', async () => {
      const message = 'template driver "jinja" is not supported: the only template driver is "golang"';
      await rejects(
        api.createConfig({ Name: 'c', Data: b64('x'), Templating: { Name: 'jinja' } }),
        400,
        message,
      );
      await rejects(
        api.createSecret({ Name: 's', Data: b64('x'), Templating: { Name: 'jinja' } }),
        400,
        message,
      );
      await rejects(
        api.createSecret({ Name: 's', Data: b64('x'), Templating: {} as Driver }),
        400,
        'template driver "" is not supported: the only template driver is "golang"',
      );
    });

    it('never puts the data into a refusal', async () => {
      const specs: SecretSpec[] = [
        { Name: '-bad', Data: b64(VALUE) },
        { Name: 'ok', Data: b64(VALUE), Driver: { Name: 'x' } },
        { Name: 'ok', Data: b64(VALUE), Templating: { Name: 'x' } },
        { Name: 'ok', Data: b64(VALUE.repeat(30_000)) },
      ];
      for (const spec of specs) {
        await assert.rejects(api.createSecret(spec), (err: Error) => {
          assert.ok(!err.message.includes(VALUE) && !err.message.includes(b64(VALUE)), err.message);
          return true;
        });
      }
    });
  });

  describe('lookup', () => {
    it('finds by full ID, then by name (case-insensitively), then by a unique ID prefix', async () => {
      const { ID } = await api.createSecret({ Name: 'db_pw', Data: b64('x') });
      assert.equal((await api.getSecret(ID)).ID, ID);
      assert.equal((await api.getSecret('DB_PW')).ID, ID);
      assert.equal((await api.getSecret(ID.slice(0, 3))).ID, ID);
      await rejects(api.getSecret('nosuchsecret'), 404, 'secret nosuchsecret not found');
      await rejects(api.getConfig('nosuchconfig'), 404, 'config nosuchconfig not found');
    });

    it('a name wins over another object’s ID prefix, and an ambiguous prefix is a 400', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await api.createSecret({ Name: `s${i}`, Data: b64('x') })).ID);
      // Two IDs sharing a first character exist among 40 (36 possible characters).
      const shared = ids.map((id) => id[0]!).find((c, i, all) => all.indexOf(c) !== i)!;
      const count = ids.filter((id) => id.startsWith(shared)).length;
      await rejects(api.getSecret(shared), 400, `secret ${shared} is ambiguous (${count} matches found)`);
      const named = await api.createSecret({ Name: shared, Data: b64('x') });
      assert.equal((await api.getSecret(shared)).ID, named.ID);
    });
  });

  describe('list filters (swarmkit: names, name prefixes and ID prefixes ORed, then labels)', () => {
    let ids: Record<string, string>;
    beforeEach(async () => {
      ids = {};
      for (const [name, labels] of [
        ['mysecret', {}],
        ['mysecret2', { a: 'b' }],
        ['MyOther', { a: 'c', z: '' }],
        ['other', { a: 'b' }],
      ] as const) {
        ids[name] = (await api.createSecret({ Name: name, Labels: { ...labels }, Data: b64('x') })).ID;
      }
    });
    const names = async (raw: Record<string, string[]>): Promise<string[]> =>
      (await api.listSecrets(filters(raw))).map((s) => s.Spec.Name!).sort();

    it('name is a case-insensitive prefix, names an exact case-insensitive name', async () => {
      assert.deepEqual(await names({ name: ['mysecret'] }), ['mysecret', 'mysecret2']);
      assert.deepEqual(await names({ name: ['MY'] }), ['MyOther', 'mysecret', 'mysecret2']);
      assert.deepEqual(await names({ names: ['MYSECRET'] }), ['mysecret']);
      assert.deepEqual(await names({ names: ['mysec'] }), []);
    });

    it('different keys select together (any of them), labels then narrow', async () => {
      assert.deepEqual(await names({ name: ['mysecret2'], id: [ids.other!] }), ['mysecret2', 'other']);
      assert.deepEqual(await names({ names: ['other'], name: ['MyO'] }), ['MyOther', 'other']);
      assert.deepEqual(await names({ label: ['a=b'] }), ['mysecret2', 'other']);
      assert.deepEqual(await names({ label: ['a'] }), ['MyOther', 'mysecret2', 'other']);
      assert.deepEqual(await names({ label: ['a', 'z'] }), ['MyOther']);
      assert.deepEqual(await names({ label: ['a='] }), ['MyOther', 'mysecret2', 'other']);
      assert.deepEqual(await names({ name: ['my'], label: ['a=b'] }), ['mysecret2']);
      assert.deepEqual(await names({ label: ['toString'] }), []);
    });

    it('lists by ID, as swarmkit’s store does', async () => {
      const listed = (await api.listSecrets(Filters.empty())).map((s) => s.ID);
      assert.deepEqual(listed, [...listed].sort());
      assert.equal(listed.length, 4);
    });
  });

  describe('update', () => {
    it('changes the labels only; the same data may be sent again (docker stack deploy does)', async () => {
      const { ID } = await api.createSecret({ Name: 'db_pw', Labels: { a: 'b' }, Data: b64(VALUE) });
      const before = await api.getSecret(ID);
      await api.updateSecret('db_pw', before.Version.Index, {
        Name: 'db_pw',
        Labels: { x: 'y' },
        Data: b64(VALUE),
      });
      const after = await api.getSecret(ID);
      assert.deepEqual(after.Spec.Labels, { x: 'y' });
      assert.ok(after.Version.Index > before.Version.Index);
      assert.equal(after.CreatedAt, before.CreatedAt);
      await api.updateSecret(ID, after.Version.Index, { Name: 'db_pw' });
      assert.deepEqual((await api.getSecret(ID)).Spec.Labels, {});
      assert.equal(
        store.view((tx) => tx.get('secret', ID)!.Spec.Data),
        b64(VALUE),
      );
    });

    it('refuses a data change or a new name with Docker’s 400, and a stale version with its 500', async () => {
      const { ID } = await api.createSecret({ Name: 'db_pw', Data: b64(VALUE) });
      const version = (await api.getSecret(ID)).Version.Index;
      const onlyLabels = 'rpc error: code = InvalidArgument desc = only updates to Labels are allowed';
      await rejects(api.updateSecret(ID, version, { Name: 'db_pw', Data: b64('another') }), 400, onlyLabels);
      await rejects(api.updateSecret(ID, version, { Name: 'DB_PW' }), 400, onlyLabels);
      await rejects(api.updateSecret(ID, version, { Labels: {} }), 400, onlyLabels);
      await rejects(
        api.updateSecret(ID, version - 1, { Name: 'db_pw' }),
        500,
        'rpc error: code = Unknown desc = update out of sequence',
      );
      await rejects(api.updateSecret('nosuch', version, { Name: 'nosuch' }), 404, 'secret nosuch not found');
      const config = await api.createConfig({ Name: 'app', Data: b64('a=1') });
      await rejects(
        api.updateConfig(config.ID, (await api.getConfig(config.ID)).Version.Index, {
          Name: 'app',
          Data: b64('a=2'),
        }),
        400,
        onlyLabels,
      );
    });
  });

  describe('remove', () => {
    it('removes by name, ID or prefix; an unknown one is a 404', async () => {
      const a = await api.createSecret({ Name: 'a', Data: b64('x') });
      await api.createSecret({ Name: 'b', Data: b64('x') });
      const c = await api.createConfig({ Name: 'c', Data: b64('x') });
      await api.removeSecret('b');
      await api.removeSecret(a.ID);
      await api.removeConfig(c.ID.slice(0, 5));
      assert.deepEqual(await api.listSecrets(Filters.empty()), []);
      assert.deepEqual(await api.listConfigs(Filters.empty()), []);
      await rejects(api.removeSecret('nosuchsecret'), 404, 'secret nosuchsecret not found');
      await rejects(api.removeConfig('nosuchconfig'), 404, 'config nosuchconfig not found');
    });

    it('refuses while services use it, naming them in ID order (Docker’s text), and succeeds once they are gone', async () => {
      await api.createSecret({ Name: 'mysecret', Data: b64(VALUE) });
      await api.createSecret({ Name: 'unused', Data: b64('x') });
      await api.createConfig({ Name: 'myconfig', Data: b64('x') });
      await serviceUsing('web', 'z0000000000000000000000001', {
        secrets: ['mysecret'],
        configs: ['myconfig'],
      });
      await rejects(
        api.removeSecret('mysecret'),
        400,
        "rpc error: code = InvalidArgument desc = secret 'mysecret' is in use by the following service: web",
      );
      await rejects(
        api.removeConfig('myconfig'),
        400,
        "rpc error: code = InvalidArgument desc = config 'myconfig' is in use by the following service: web",
      );
      await serviceUsing('api', 'a0000000000000000000000001', { secrets: ['mysecret'] });
      await rejects(
        api.removeSecret('mysecret'),
        400,
        "rpc error: code = InvalidArgument desc = secret 'mysecret' is in use by the following services: api, web",
      );
      await api.removeSecret('unused');
      await api.removeService('web');
      await api.removeService('api');
      await api.removeSecret('mysecret');
      await api.removeConfig('myconfig');
      assert.deepEqual(await api.listSecrets(Filters.empty()), []);
    });
  });

  describe('references from services', () => {
    const withSecret = (secretId: string, secretName: string): ServiceSpec => ({
      Name: 'web',
      TaskTemplate: {
        ContainerSpec: {
          Image: 'busybox',
          Secrets: [
            {
              File: { Name: secretName, UID: '0', GID: '0', Mode: 0o444 },
              SecretID: secretId,
              SecretName: secretName,
            },
          ],
        },
      },
      Mode: { Replicated: { Replicas: 1 } },
    });

    it('an unknown secret or config is Docker’s "not found", before the executors’ refusal', async () => {
      await rejects(
        api.createService(withSecret('nosuchid', 'db_pw')),
        400,
        'rpc error: code = InvalidArgument desc = secret not found: db_pw',
      );
      // The right name under another secret's ID is not the secret either (swarmkit checks both).
      const other = await api.createSecret({ Name: 'other', Data: b64('x') });
      await rejects(
        api.createService(withSecret(other.ID, 'db_pw')),
        400,
        'rpc error: code = InvalidArgument desc = secret not found: db_pw',
      );
      const spec = withSecret('nosuchid', 'db_pw');
      spec.TaskTemplate!.ContainerSpec!.Secrets!.push({
        File: { Name: 'b', UID: '0', GID: '0', Mode: 0o444 },
        SecretID: 'nosuch2',
        SecretName: 'b',
      });
      await rejects(
        api.createService(spec),
        400,
        'rpc error: code = InvalidArgument desc = secrets not found: db_pw, b',
      );
    });

    it('an existing secret is taken, now that executors deliver secrets; on update too', async () => {
      const { ID } = await api.createSecret({ Name: 'db_pw', Data: b64(VALUE) });
      const { ID: web } = await api.createService(withSecret(ID, 'db_pw'));
      const created = await api.getService(web, false);
      assert.deepEqual(
        created.Spec.TaskTemplate?.ContainerSpec?.Secrets?.map((ref) => [ref.SecretID, ref.SecretName]),
        [[ID, 'db_pw']],
      );
      await rejects(
        api.updateService(web, created.Version.Index, withSecret('nosuchid', 'nosuch'), {}),
        400,
        'rpc error: code = InvalidArgument desc = secret not found: nosuch',
      );
      const { ID: other } = await api.createSecret({ Name: 'db_pw2', Data: b64('x') });
      await api.updateService(web, created.Version.Index, withSecret(other, 'db_pw2'), {});
      assert.equal(
        (await api.getService(web, false)).Spec.TaskTemplate?.ContainerSpec?.Secrets?.[0]?.SecretID,
        other,
      );
      assert.ok(!JSON.stringify(await api.getService(web, false)).includes(b64(VALUE)));
    });
  });
});
