// Store changes → Docker's swarm events: which attributes each change of a node or a service carries
// (dockerd's daemon/events.go over swarmkit's watch), the times, and the kinds that give no event.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cluster, Config, Network, Node, Secret, Service, Task } from '../../../src/api/types.js';
import { deriveEvent, timestampNanos } from '../../../src/manager/events/derive.js';
import type { ObjectEvent } from '../../../src/store/objects.js';

const NOW = Date.parse('2026-12-06T23:30:00.5Z');
const CREATED = '2026-12-06T23:26:56.215Z';
const UPDATED = '2026-12-06T23:27:21.06951Z';

function node(patch: Partial<Node> = {}): Node {
  return {
    ID: 'l10qbp0g9toa6m5iucowhgdx1',
    Version: { Index: 5 },
    CreatedAt: CREATED,
    UpdatedAt: UPDATED,
    Spec: { Labels: {}, Role: 'manager', Availability: 'active' },
    Description: {
      Hostname: 'vm',
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: '0.1.0' },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
    Role: 'manager',
    ...patch,
  };
}

function service(patch: Partial<Service> = {}): Service {
  return {
    ID: 'fpcvu7yldmnz9u7jbtd19bq2g',
    Version: { Index: 9 },
    CreatedAt: CREATED,
    UpdatedAt: UPDATED,
    Spec: {
      Name: 'web',
      Labels: { team: 'a' },
      TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] } },
      Mode: { Replicated: { Replicas: 2 } },
    },
    ...patch,
  };
}

const withSpec = (s: Service, spec: Partial<Service['Spec']>): Service => ({
  ...s,
  Spec: { ...s.Spec, ...spec },
});

function updated<K extends 'node' | 'service'>(kind: K, old: Node | Service, object: Node | Service) {
  return deriveEvent({ action: 'update', kind, object, old } as ObjectEvent, NOW);
}

describe('event attributes', () => {
  it('gives a service create only its name, at CreatedAt', () => {
    const event = deriveEvent({ action: 'create', kind: 'service', object: service() }, NOW);
    assert.deepEqual(event, {
      Type: 'service',
      Action: 'create',
      Actor: { ID: 'fpcvu7yldmnz9u7jbtd19bq2g', Attributes: { name: 'web' } },
      scope: 'swarm',
      time: 1796599616,
      timeNano: 1796599616215000000n,
    });
  });

  it('gives a removal its name, at the time it is seen', () => {
    const event = deriveEvent({ action: 'delete', kind: 'service', object: service() }, NOW)!;
    assert.equal(event.Action, 'remove');
    assert.deepEqual(event.Actor.Attributes, { name: 'web' });
    assert.equal(event.timeNano, BigInt(NOW) * 1_000_000n);
    assert.equal(event.time, Math.floor(NOW / 1000));
  });

  it('gives an update that changes nothing visible only the name, at UpdatedAt', () => {
    const event = updated('service', service(), service({ Endpoint: { Spec: { Mode: 'vip' } } }))!;
    assert.equal(event.Action, 'update');
    assert.deepEqual(event.Actor.Attributes, { name: 'web' });
    assert.equal(event.timeNano, 1796599641069510000n);
    assert.equal(event.time, 1796599641);
  });

  it('names a changed replica count of a replicated service', () => {
    const old = service();
    const event = updated('service', old, withSpec(old, { Mode: { Replicated: { Replicas: 1 } } }))!;
    assert.deepEqual(event.Actor.Attributes, { name: 'web', 'replicas.new': '1', 'replicas.old': '2' });
  });

  it('reads a replicated mode without a count as one replica, and ignores job modes', () => {
    const old = withSpec(service(), { Mode: { Replicated: {} } });
    assert.deepEqual(
      updated('service', old, withSpec(old, { Mode: { Replicated: { Replicas: 1 } } }))!.Actor.Attributes,
      { name: 'web' },
    );
    const job = withSpec(service(), { Mode: { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } } });
    const more = withSpec(job, { Mode: { ReplicatedJob: { MaxConcurrent: 2, TotalCompletions: 4 } } });
    assert.deepEqual(updated('service', job, more)!.Actor.Attributes, { name: 'web' });
  });

  it('names a changed image', () => {
    const old = service();
    const next = withSpec(old, { TaskTemplate: { ContainerSpec: { Image: 'busybox:1.36' } } });
    assert.deepEqual(updated('service', old, next)!.Actor.Attributes, {
      'image.new': 'busybox:1.36',
      'image.old': 'busybox:latest',
      name: 'web',
    });
  });

  it('gives updatestate.new alone when the old service had no update status', () => {
    const old = service();
    const next = service({ UpdateStatus: { State: 'updating', Message: 'update in progress' } });
    assert.deepEqual(updated('service', old, next)!.Actor.Attributes, {
      name: 'web',
      'updatestate.new': 'updating',
    });
  });

  it('gives updatestate.old and .new when the state changed, nothing when it did not', () => {
    const old = service({ UpdateStatus: { State: 'updating' } });
    const next = service({ UpdateStatus: { State: 'rollback_started', Message: 'update paused' } });
    assert.deepEqual(updated('service', old, next)!.Actor.Attributes, {
      name: 'web',
      'updatestate.new': 'rollback_started',
      'updatestate.old': 'updating',
    });
    const same = service({ UpdateStatus: { State: 'updating', Message: 'other message' } });
    assert.deepEqual(updated('service', old, same)!.Actor.Attributes, { name: 'web' });
    // An update status cleared by a new spec is no change of state (dockerd looks at the new status only).
    assert.deepEqual(updated('service', old, service())!.Actor.Attributes, { name: 'web' });
  });

  it('reads an update status without a state as swarmkit’s UNKNOWN', () => {
    const next = service({ UpdateStatus: { Message: 'x' } });
    assert.deepEqual(updated('service', service(), next)!.Actor.Attributes, {
      name: 'web',
      'updatestate.new': 'unknown',
    });
  });

  it('combines service attributes, keys sorted as Go writes a map', () => {
    const old = service({ UpdateStatus: { State: 'updating' } });
    const next = withSpec(service({ UpdateStatus: { State: 'rollback_started' } }), {
      Mode: { Replicated: { Replicas: 1 } },
    });
    const event = updated('service', old, next)!;
    assert.deepEqual(Object.keys(event.Actor.Attributes), [
      'name',
      'replicas.new',
      'replicas.old',
      'updatestate.new',
      'updatestate.old',
    ]);
  });

  it('names a node by Spec.Name, else by its hostname; a label change carries only the name', () => {
    const old = node();
    const labelled = node({ Spec: { ...old.Spec, Labels: { zone: 'a' } } });
    assert.deepEqual(updated('node', old, labelled)!.Actor.Attributes, { name: 'vm' });
    const named = node({ Spec: { ...old.Spec, Name: 'front' } });
    assert.deepEqual(updated('node', old, named)!.Actor.Attributes, { name: 'front' });
  });

  it('names changes of availability, state and role', () => {
    const old = node();
    assert.deepEqual(
      updated('node', old, node({ Spec: { ...old.Spec, Availability: 'pause' } }))!.Actor.Attributes,
      {
        'availability.new': 'pause',
        'availability.old': 'active',
        name: 'vm',
      },
    );
    const unknown = node({ Status: { State: 'unknown', Addr: '127.0.0.1' } });
    assert.deepEqual(updated('node', unknown, old)!.Actor.Attributes, {
      name: 'vm',
      'state.new': 'ready',
      'state.old': 'unknown',
    });
    const worker = node({ Role: 'worker', Spec: { ...old.Spec, Role: 'worker' }, ManagerStatus: undefined });
    assert.deepEqual(updated('node', worker, node({ ManagerStatus: undefined }))!.Actor.Attributes, {
      name: 'vm',
      'role.new': 'manager',
      'role.old': 'worker',
    });
  });

  it('reads the observed role: a desired role not yet taken is no role change', () => {
    const old = node({ Role: 'worker', Spec: { Role: 'worker' }, ManagerStatus: undefined });
    const promoting = node({ Role: 'worker', Spec: { Role: 'manager' }, ManagerStatus: undefined });
    assert.deepEqual(updated('node', old, promoting)!.Actor.Attributes, { name: 'vm' });
  });

  it('names leader and reachability changes only between two manager statuses', () => {
    const old = node();
    const follower = node({
      ManagerStatus: { Leader: false, Reachability: 'unreachable', Addr: '127.0.0.1:2377' },
    });
    assert.deepEqual(updated('node', old, follower)!.Actor.Attributes, {
      'leader.new': 'false',
      'leader.old': 'true',
      name: 'vm',
      'reachability.new': 'unreachable',
      'reachability.old': 'reachable',
    });
    assert.deepEqual(updated('node', follower, old)!.Actor.Attributes, {
      'leader.new': 'true',
      'leader.old': 'false',
      name: 'vm',
      'reachability.new': 'reachable',
      'reachability.old': 'unreachable',
    });
    // Demoted: the manager status goes away; only the role says so.
    const demoted = node({ Role: 'worker', ManagerStatus: undefined });
    assert.deepEqual(updated('node', old, demoted)!.Actor.Attributes, {
      name: 'vm',
      'role.new': 'worker',
      'role.old': 'manager',
    });
  });

  it('gives networks, secrets and configs their name only, and tasks and the cluster no event', () => {
    const meta = { Version: { Index: 1 }, CreatedAt: CREATED, UpdatedAt: UPDATED };
    const network: Network = { ID: 'ixq76k939r5dqovl3pnchxi98', ...meta, Spec: { Name: 'evnet' } };
    const secret: Secret = {
      ID: 'jx5glipe1lq1g0kpgffsg4b36',
      ...meta,
      Spec: { Name: 'evsecret', Data: 'eA==' },
    };
    const config: Config = {
      ID: 'mid5e82a3km67a529uv52ndpc',
      ...meta,
      Spec: { Name: 'evconfig', Data: 'eA==' },
    };
    for (const [kind, object] of [
      ['network', network],
      ['secret', secret],
      ['config', config],
    ] as const) {
      for (const action of ['create', 'update', 'delete'] as const) {
        const change = (
          action === 'update' ? { action, kind, object, old: object } : { action, kind, object }
        ) as ObjectEvent;
        const event = deriveEvent(change, NOW)!;
        assert.equal(event.Type, kind);
        assert.equal(event.Action, action === 'delete' ? 'remove' : action);
        assert.deepEqual(event.Actor, { ID: object.ID, Attributes: { name: object.Spec.Name } });
      }
    }
    const task = { ID: 't1', ...meta } as Task;
    const cluster = { ID: 'c1', ...meta } as Cluster;
    assert.equal(deriveEvent({ action: 'create', kind: 'task', object: task }, NOW), undefined);
    assert.equal(
      deriveEvent({ action: 'update', kind: 'cluster', object: cluster, old: cluster }, NOW),
      undefined,
    );
  });
});

describe('event times', () => {
  it('keeps every digit of an RFC 3339 timestamp, in any zone', () => {
    assert.equal(timestampNanos('2026-11-25T21:56:16.040166964Z', 0), 1795643776040166964n);
    assert.equal(timestampNanos('2026-11-25T21:56:16Z', 0), 1795643776000000000n);
    assert.equal(timestampNanos('2026-11-25T22:56:16.5+01:00', 0), 1795643776500000000n);
  });

  it('uses the current time when the object has no usable timestamp', () => {
    assert.equal(timestampNanos('', NOW), BigInt(NOW) * 1_000_000n);
    assert.equal(timestampNanos(undefined, NOW), BigInt(NOW) * 1_000_000n);
    assert.equal(timestampNanos('yesterday', NOW), BigInt(NOW) * 1_000_000n);
  });
});
