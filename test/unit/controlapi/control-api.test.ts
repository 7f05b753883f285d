// The control API over a real (in-memory SQLite) store: validation with Docker's messages, optimistic
// concurrency, rollback, node rules and the status counts `service ls` shows.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Filters } from '../../../src/api/filters.js';
import { isShoalError } from '../../../src/api/errors.js';
import type { Node, ServiceSpec, Task } from '../../../src/api/types.js';
import { ControlAPI } from '../../../src/manager/controlapi/control-api.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { testCluster } from '../support/cluster.js';

const NODE_ID = 'n0000000000000000000000001';

function spec(overrides: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] } },
    Mode: { Replicated: { Replicas: 3 } },
    ...overrides,
  };
}

async function rejects(promise: Promise<unknown>, status: number, message: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isShoalError(err), `expected a ShoalError, got ${String(err)}`);
    assert.equal(err.apiMessage(), message);
    assert.equal(err.status, status);
    return true;
  });
}

describe('control API', () => {
  let kv: SqliteKV;
  let store: ClusterStore;
  let api: ControlAPI;

  beforeEach(async () => {
    kv = new SqliteKV(':memory:');
    store = await ClusterStore.open(kv);
    api = new ControlAPI({
      store,
      localNodeId: NODE_ID,
      isTaskUpToDate: (task, service) => task.SpecVersion?.Index === service.SpecVersion?.Index,
      newJoinToken: () => 'SWMTKN-1-rotated',
      // Logs go through the log broker; these tests do not read any.
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

  describe('services', () => {
    it('refuses a duplicate name, case-insensitively', async () => {
      await api.createService(spec());
      await rejects(
        api.createService(spec({ Name: 'WEB' })),
        409,
        'rpc error: code = AlreadyExists desc = name conflicts with an existing object: service WEB already exists',
      );
    });

    it('refuses invalid names with swarmkit texts', async () => {
      await rejects(
        api.createService(spec({ Name: 'a.b' })),
        400,
        'rpc error: code = InvalidArgument desc = name must be valid as a DNS name component',
      );
      await rejects(
        api.createService(spec({ Name: 'a'.repeat(64) })),
        400,
        'rpc error: code = InvalidArgument desc = name must be 63 characters or fewer',
      );
    });

    it('names a service without a name', async () => {
      const { ID } = await api.createService(spec({ Name: '' }));
      const created = await api.getService(ID, false);
      assert.match(created.Spec.Name ?? '', /^[a-z]+_[a-z]+$/);
    });

    it('refuses a bad constraint expression as Docker does (500, Unknown)', async () => {
      await rejects(
        api.createService(
          spec({
            TaskTemplate: {
              ContainerSpec: { Image: 'busybox' },
              Placement: { Constraints: ['node.labels.x=y'] },
            },
          }),
        ),
        500,
        'rpc error: code = Unknown desc = constraint expected one operator from ==, !=',
      );
    });

    it('refuses negative replicas the way Go decodes a uint64', async () => {
      await rejects(
        api.createService(spec({ Mode: { Replicated: { Replicas: -1 } } })),
        400,
        'json: cannot unmarshal number -1 into Go struct field ReplicatedService.Mode.Replicated.Replicas of type uint64',
      );
    });

    it('refuses both replicated and global mode', async () => {
      await rejects(
        api.createService(spec({ Mode: { Replicated: { Replicas: 2 }, Global: {} } })),
        400,
        'cannot specify both replicated mode and global mode',
      );
    });

    it('refuses a memory limit below the reservation', async () => {
      await rejects(
        api.createService(
          spec({
            TaskTemplate: {
              ContainerSpec: { Image: 'busybox' },
              Resources: {
                Limits: { MemoryBytes: 4 * 1024 * 1024 },
                Reservations: { MemoryBytes: 8 * 1024 * 1024 },
              },
            },
          }),
        ),
        400,
        'rpc error: code = InvalidArgument desc = Minimum memory limit can not be less than memory reservation limit, see usage',
      );
    });

    it('refuses an update config on jobs and a failure ratio above 1', async () => {
      await rejects(
        api.createService(spec({ Mode: { ReplicatedJob: {} }, UpdateConfig: { Parallelism: 1 } })),
        400,
        'rpc error: code = InvalidArgument desc = Jobs may not have an update config',
      );
      await rejects(
        api.createService(spec({ UpdateConfig: { MaxFailureRatio: 2 } })),
        400,
        'rpc error: code = InvalidArgument desc = TaskSpec: update-maxfailureratio cannot be less than 0 or bigger than 1',
      );
    });

    it('keeps no endpoint for a service with nothing to allocate, as Docker shows: {"Spec": {}}', async () => {
      const { ID } = await api.createService(spec({ EndpointSpec: { Mode: 'vip' } }));
      const created = await api.getService(ID, true);
      assert.deepEqual(created.Endpoint, { Spec: {} });
      assert.deepEqual(created.Spec.EndpointSpec, { Mode: 'vip' });
      await api.updateService(
        ID,
        created.Version.Index,
        { ...created.Spec, EndpointSpec: { Mode: 'dnsrr' } },
        {},
      );
      assert.deepEqual((await api.getService(ID, false)).Endpoint, { Spec: {} });
    });

    it('defaults a replicated job to MaxConcurrent 1 and TotalCompletions = MaxConcurrent', async () => {
      const { ID } = await api.createService(spec({ Mode: { ReplicatedJob: { MaxConcurrent: 2 } } }));
      const job = await api.getService(ID, false);
      assert.deepEqual(job.Spec.Mode, { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 2 } });
      // Go's Version has an omitempty Index: the first iteration shows as {} (as Docker's does).
      assert.deepEqual(job.JobStatus?.JobIteration, {});
    });

    it('fails an update that names a stale version with `update out of sequence`', async () => {
      const { ID } = await api.createService(spec());
      const current = await api.getService(ID, false);
      await api.updateService(ID, current.Version.Index, { ...current.Spec, Labels: { a: '1' } }, {});
      await rejects(
        api.updateService(ID, current.Version.Index, { ...current.Spec, Labels: { a: '2' } }, {}),
        500,
        'rpc error: code = Unknown desc = update out of sequence',
      );
    });

    it('refuses mode changes and renames', async () => {
      const { ID } = await api.createService(spec());
      const current = await api.getService(ID, false);
      await rejects(
        api.updateService(ID, current.Version.Index, { ...current.Spec, Mode: { Global: {} } }, {}),
        501,
        'rpc error: code = Unimplemented desc = service mode change is not allowed',
      );
      await rejects(
        api.updateService(ID, current.Version.Index, { ...current.Spec, Name: 'other' }, {}),
        501,
        'rpc error: code = Unimplemented desc = renaming services is not supported',
      );
      await rejects(
        api.updateService(ID, current.Version.Index, { ...current.Spec, Name: undefined }, {}),
        501,
        'rpc error: code = Unimplemented desc = renaming services is not supported',
      );
    });

    it('rolls back to the previous spec, and a second rollback returns to the newer one', async () => {
      const { ID } = await api.createService(spec());
      await rejects(
        (async () => {
          const s = await api.getService(ID, false);
          await api.updateService(ID, s.Version.Index, s.Spec, { rollback: 'previous' });
        })(),
        400,
        `rpc error: code = FailedPrecondition desc = service ${ID} does not have a previous spec`,
      );
      let s = await api.getService(ID, false);
      const env = {
        ...s.Spec,
        TaskTemplate: {
          ...s.Spec.TaskTemplate,
          ContainerSpec: { ...s.Spec.TaskTemplate!.ContainerSpec, Env: ['V=2'] },
        },
      };
      await api.updateService(ID, s.Version.Index, env, {});
      s = await api.getService(ID, false);
      assert.deepEqual(s.Spec.TaskTemplate?.ContainerSpec?.Env, ['V=2']);
      await api.updateService(ID, s.Version.Index, s.Spec, { rollback: 'previous' });
      s = await api.getService(ID, false);
      assert.equal(s.Spec.TaskTemplate?.ContainerSpec?.Env, undefined);
      assert.equal(s.UpdateStatus?.State, 'rollback_started');
      assert.equal(s.UpdateStatus?.Message, 'manually requested rollback');
      await api.updateService(ID, s.Version.Index, s.Spec, { rollback: 'previous' });
      s = await api.getService(ID, false);
      assert.deepEqual(s.Spec.TaskTemplate?.ContainerSpec?.Env, ['V=2']);
    });

    it('shows the defaults Docker inserts with insertDefaults', async () => {
      const { ID } = await api.createService(spec());
      const s = await api.getService(ID, true);
      assert.equal(s.Spec.TaskTemplate?.ContainerSpec?.StopGracePeriod, 10e9);
      assert.deepEqual(s.Spec.TaskTemplate?.RestartPolicy, { Condition: 'any', Delay: 5e9, MaxAttempts: 0 });
      assert.deepEqual(s.Spec.UpdateConfig, {
        Parallelism: 1,
        FailureAction: 'pause',
        Monitor: 5e9,
        MaxFailureRatio: 0,
        Order: 'stop-first',
      });
      const plain = await api.getService(ID, false);
      assert.equal(plain.Spec.UpdateConfig, undefined);
    });

    it('resolves services by ID prefix and reports ambiguity', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 40; i++) ids.push((await api.createService(spec({ Name: `s${i}` }))).ID);
      const byFirst = new Map<string, number>();
      for (const id of ids) byFirst.set(id[0]!, (byFirst.get(id[0]!) ?? 0) + 1);
      const [prefix, count] = [...byFirst].find(([, n]) => n > 1)!;
      await rejects(
        api.getService(prefix, false),
        400,
        `service ${prefix} is ambiguous (${count} matches found)`,
      );
      const unique = ids[0]!.slice(0, 12);
      assert.equal((await api.getService(unique, false)).ID, ids[0]);
      await rejects(api.getService('nosuch', false), 404, 'service nosuch not found');
    });

    it('counts running, desired and completed tasks as ListServiceStatuses does', async () => {
      const { ID } = await api.createService(spec());
      const task = (slot: number, state: Task['Status']['State']): Task => ({
        ID: `t${slot}`.padEnd(25, '0'),
        Version: { Index: 0 },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: {},
        ServiceID: ID,
        Slot: slot,
        Status: { State: state, Message: '', Timestamp: '' },
        DesiredState: 'running',
      });
      await store.update((tx) => {
        tx.create('task', task(1, 'running'));
        tx.create('task', task(2, 'running'));
        tx.create('task', task(3, 'pending'));
      });
      const [listed] = await api.listServices(
        Filters.parse('{"name":{"web":true}}', ['id', 'label', 'mode', 'name']),
        true,
      );
      assert.deepEqual(listed?.ServiceStatus, { RunningTasks: 2, DesiredTasks: 3, CompletedTasks: 0 });
    });
  });

  describe('registry credentials (X-Registry-Auth)', () => {
    const auth = (user: string) =>
      Buffer.from(JSON.stringify({ username: user, password: `${user}-pw` })).toString('base64url');
    const FIRST = auth('first-user');
    const SECOND = auth('second-user');
    /** The credentials as stored (the API never shows them). */
    const storedAuth = (id: string, which: 'Spec' | 'PreviousSpec' = 'Spec') =>
      store.view(
        (tx) => tx.get('service', id)?.[which]?.TaskTemplate?.ContainerSpec?.PullOptions?.RegistryAuth,
      );
    const current = (id: string) => store.view((tx) => tx.get('service', id)!);
    /** A read-modify-write as a client does it, with the spec as the API shows it. */
    const update = async (id: string, options: Parameters<ControlAPI['updateService']>[3], change = {}) => {
      const shown = await api.getService(id, false);
      await api.updateService(id, shown.Version.Index, { ...shown.Spec, ...change }, options);
    };

    it('keeps the header with the spec, never from a body, and never shows it', async () => {
      const { ID } = await api.createService(spec(), 'v1.41', { registryAuth: FIRST });
      assert.equal(storedAuth(ID), FIRST);
      const shown = JSON.stringify([
        await api.getService(ID, false),
        await api.getService(ID, true),
        await api.listServices(Filters.empty(), true),
      ]);
      assert.ok(!shown.includes(FIRST) && !shown.includes('PullOptions'), shown);

      const body = spec({ Name: 'body' });
      body.TaskTemplate!.ContainerSpec!.PullOptions = { RegistryAuth: SECOND };
      const fromBody = await api.createService(body);
      assert.equal(storedAuth(fromBody.ID), undefined, 'credentials in a body are dropped');
    });

    it('an update without a header keeps them (registryAuthFrom empty or spec), as dockerd 20.10 does', async () => {
      const { ID } = await api.createService(spec(), 'v1.41', { registryAuth: FIRST });
      await update(ID, {}, { Labels: { scaled: 'yes' } }); // `docker service scale`: neither
      assert.equal(storedAuth(ID), FIRST);
      await update(ID, { registryAuthFrom: 'spec' }, { Labels: { updated: 'yes' } }); // `service update`
      assert.equal(storedAuth(ID), FIRST);
      await update(ID, { registryAuth: SECOND }); // `service update --with-registry-auth`
      assert.equal(storedAuth(ID), SECOND);
      assert.equal(storedAuth(ID, 'PreviousSpec'), FIRST);
      // A header wins over registryAuthFrom.
      await update(ID, { registryAuth: FIRST, registryAuthFrom: 'previous-spec' });
      assert.equal(storedAuth(ID), FIRST);
    });

    it("registryAuthFrom=previous-spec takes the previous spec's, and bad values fail as in dockerd", async () => {
      const { ID } = await api.createService(spec(), 'v1.41', { registryAuth: FIRST });
      await rejects(
        update(ID, { registryAuthFrom: 'previous-spec' }),
        500,
        'service does not have a previous spec',
      );
      await rejects(update(ID, { registryAuthFrom: 'elsewhere' }), 500, 'unsupported registryAuthFrom value');
      await update(ID, { registryAuth: SECOND });
      await update(ID, { registryAuthFrom: 'previous-spec' }, { Labels: { back: 'yes' } });
      assert.equal(storedAuth(ID), FIRST);
      // The previous spec had none: the new one has none either.
      const bare = await api.createService(spec({ Name: 'bare' }));
      await update(bare.ID, { registryAuth: SECOND });
      await update(bare.ID, { registryAuthFrom: 'previous-spec' });
      assert.equal(storedAuth(bare.ID), undefined);
    });

    it('a rollback restores the previous spec with its credentials', async () => {
      const { ID } = await api.createService(spec(), 'v1.41', { registryAuth: FIRST });
      await update(ID, { registryAuth: SECOND }, { Labels: { v: '2' } });
      const s = current(ID);
      await api.updateService(ID, s.Version.Index, s.Spec, {
        rollback: 'previous',
        registryAuthFrom: 'spec',
      });
      assert.equal(storedAuth(ID), FIRST);
      assert.equal(storedAuth(ID, 'PreviousSpec'), SECOND);
    });

    it('tasks carry them in the store and never show them', async () => {
      const { ID } = await api.createService(spec(), 'v1.41', { registryAuth: FIRST });
      const template = current(ID).Spec.TaskTemplate!;
      await store.update((tx) =>
        tx.create('task', {
          ID: 't0000000000000000000000001',
          Version: { Index: 0 },
          CreatedAt: '',
          UpdatedAt: '',
          Spec: structuredClone(template),
          ServiceID: ID,
          Slot: 1,
          NodeID: NODE_ID,
          Status: { State: 'running', Message: '', Timestamp: '' },
          DesiredState: 'running',
        }),
      );
      const stored = store.view((tx) => tx.get('task', 't0000000000000000000000001')!);
      assert.equal(stored.Spec.ContainerSpec?.PullOptions?.RegistryAuth, FIRST);
      const shown = JSON.stringify([
        await api.getTask('t0000000000000000000000001'),
        await api.listTasks(Filters.empty()),
      ]);
      assert.ok(shown.includes('busybox:latest'), 'control: the task spec is shown');
      assert.ok(!shown.includes(FIRST) && !shown.includes('PullOptions'), shown);
      assert.equal(
        stored.Spec.ContainerSpec?.PullOptions?.RegistryAuth,
        FIRST,
        'the stored task is untouched',
      );
    });
  });

  describe('nodes', () => {
    it('resolves `self`, hostnames and ID prefixes', async () => {
      assert.equal((await api.getNode('self')).ID, NODE_ID);
      assert.equal((await api.getNode('vm')).ID, NODE_ID);
      assert.equal((await api.getNode(NODE_ID.slice(0, 5))).ID, NODE_ID);
      await rejects(api.getNode('nosuchnode'), 404, 'node nosuchnode not found');
    });

    it('updates labels and availability with the current version only', async () => {
      const node = await api.getNode('self');
      await api.updateNode('self', node.Version.Index, {
        ...node.Spec,
        Labels: { a: 'b' },
        Availability: 'drain',
      });
      const updated = await api.getNode('self');
      assert.deepEqual(updated.Spec.Labels, { a: 'b' });
      assert.equal(updated.Spec.Availability, 'drain');
      await rejects(
        api.updateNode('self', node.Version.Index, node.Spec),
        500,
        'rpc error: code = Unknown desc = update out of sequence',
      );
    });

    it('refuses invalid availability and role values', async () => {
      const node = await api.getNode('self');
      await rejects(
        api.updateNode('self', node.Version.Index, { ...node.Spec, Availability: 'bogus' as 'active' }),
        400,
        'invalid Availability: "bogus"',
      );
    });

    it('refuses to demote or remove the last manager', async () => {
      const node = await api.getNode('self');
      await rejects(
        api.updateNode('self', node.Version.Index, { ...node.Spec, Role: 'worker' }),
        400,
        'rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm',
      );
      await rejects(
        api.removeNode('self', true),
        400,
        `rpc error: code = FailedPrecondition desc = node ${NODE_ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
      );
    });
  });

  describe('swarm', () => {
    it('updates settings with the current version and rotates join tokens', async () => {
      const cluster = await api.inspectSwarm();
      assert.equal(cluster.RootCA, undefined, 'the CA key never leaves the manager');
      await api.updateSwarm(
        cluster.Version.Index,
        { ...cluster.Spec, Orchestration: { TaskHistoryRetentionLimit: 3 } },
        { rotateWorkerToken: true, rotateManagerToken: false, rotateManagerUnlockKey: false },
      );
      const updated = await api.inspectSwarm();
      assert.equal(updated.Spec.Orchestration?.TaskHistoryRetentionLimit, 3);
      assert.equal(updated.JoinTokens.Worker, 'SWMTKN-1-rotated');
      assert.equal(updated.JoinTokens.Manager, 'SWMTKN-1-m');
    });

    it('refuses another cluster name and a root CA rotation it cannot do', async () => {
      const cluster = await api.inspectSwarm();
      const flags = { rotateWorkerToken: false, rotateManagerToken: false, rotateManagerUnlockKey: false };
      await rejects(
        api.updateSwarm(cluster.Version.Index, { ...cluster.Spec, Name: 'other' }, flags),
        400,
        'swarm spec must be named "default"',
      );
      await rejects(
        api.updateSwarm(
          cluster.Version.Index,
          { ...cluster.Spec, CAConfig: { ...cluster.Spec.CAConfig, ForceRotate: 1 } },
          flags,
        ),
        400,
        'root CA rotation is not supported yet by shoal',
      );
    });

    it('refuses a certificate expiry below one hour and a negative heartbeat', async () => {
      const cluster = await api.inspectSwarm();
      const flags = { rotateWorkerToken: false, rotateManagerToken: false, rotateManagerUnlockKey: false };
      await rejects(
        api.updateSwarm(
          cluster.Version.Index,
          { ...cluster.Spec, CAConfig: { NodeCertExpiry: 60e9 } },
          flags,
        ),
        400,
        'rpc error: code = InvalidArgument desc = minimum certificate expiry time is: 1h0m0s',
      );
      await rejects(
        api.updateSwarm(
          cluster.Version.Index,
          { ...cluster.Spec, Dispatcher: { HeartbeatPeriod: -1 } },
          flags,
        ),
        400,
        'rpc error: code = InvalidArgument desc = heartbeat time period cannot be a negative duration',
      );
    });
  });
});
