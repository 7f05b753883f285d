// The event history and its filters: dockerd's filter semantics key by key, the since/until replay, the
// bound, and live subscribers — then the whole source over a real (in-memory SQLite) store.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Filters } from '../../../src/api/filters.js';
import { formatTimestampNanos } from '../../../src/api/time.js';
import type { Node, Service } from '../../../src/api/types.js';
import type { EventMessage } from '../../../src/api/control.js';
import { EVENT_FILTERS } from '../../../src/engineapi/routes/events.js';
import { eventMatches, familiarName } from '../../../src/manager/events/filter.js';
import { EventHistory, EVENT_HISTORY_LIMIT } from '../../../src/manager/events/history.js';
import { ClusterEvents } from '../../../src/manager/events/source.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';

function event(
  type: EventMessage['Type'],
  action: EventMessage['Action'],
  id: string,
  attributes: Record<string, string>,
  second = 1_800_000_000,
): EventMessage {
  return {
    Type: type,
    Action: action,
    Actor: { ID: id, Attributes: attributes },
    scope: 'swarm',
    time: second,
    timeNano: BigInt(second) * 1_000_000_000n,
  };
}

const WEB = event('service', 'create', 'fpcvu7yldmnz9u7jbtd19bq2g', { name: 'web' });
const WEB_SCALED = event('service', 'update', 'fpcvu7yldmnz9u7jbtd19bq2g', {
  name: 'web',
  'replicas.new': '1',
  'replicas.old': '2',
});
const NODE = event('node', 'update', 'l10qbp0g9toa6m5iucowhgdx1', { name: 'vm' });
const NET = event('network', 'remove', 'ixq76k939r5dqovl3pnchxi98', { name: 'webnet' });
const ALL = [WEB, WEB_SCALED, NODE, NET];

const filters = (terms: Record<string, string[]>): Filters =>
  Filters.parse(JSON.stringify(terms), EVENT_FILTERS);
const matching = (terms: Record<string, string[]>): EventMessage[] =>
  ALL.filter((e) => eventMatches(filters(terms), e));

describe('event filters', () => {
  it('lets everything through without filters', () => {
    assert.deepEqual(matching({}), ALL);
  });

  it('matches type, scope and event exactly; several values are alternatives', () => {
    assert.deepEqual(matching({ type: ['service'] }), [WEB, WEB_SCALED]);
    assert.deepEqual(matching({ type: ['node', 'network'] }), [NODE, NET]);
    assert.deepEqual(matching({ type: ['serv'] }), []);
    assert.deepEqual(matching({ scope: ['swarm'] }), ALL);
    assert.deepEqual(matching({ scope: ['local'] }), []);
    assert.deepEqual(matching({ event: ['update'] }), [WEB_SCALED, NODE]);
    assert.deepEqual(matching({ event: ['up'] }), []);
    assert.deepEqual(matching({ event: ['update'], type: ['node'] }), [NODE]);
  });

  it('matches event by prefix when health_status, exec_create or exec_start is among the values', () => {
    assert.deepEqual(matching({ event: ['health_status', 'up'] }), [WEB_SCALED, NODE]);
  });

  it('matches object keys against the ID or the name, by prefix, whatever the type', () => {
    assert.deepEqual(matching({ service: ['web'] }), [WEB, WEB_SCALED, NET]);
    assert.deepEqual(matching({ service: ['fpcvu7'] }), [WEB, WEB_SCALED]);
    assert.deepEqual(matching({ node: ['vm'] }), [NODE]);
    assert.deepEqual(matching({ network: ['ixq76k939r5dqovl3pnchxi98'] }), [NET]);
    for (const key of ['config', 'container', 'daemon', 'plugin', 'secret', 'volume']) {
      assert.deepEqual(matching({ [key]: ['web'] }), [WEB, WEB_SCALED, NET], key);
      assert.deepEqual(matching({ [key]: ['nothing'] }), [], key);
    }
    // Different keys must all hold.
    assert.deepEqual(matching({ service: ['web'], node: ['vm'] }), []);
  });

  it('matches image against the actor ID or its image attribute, with or without tag', () => {
    assert.deepEqual(matching({ image: ['busybox'] }), []);
    assert.deepEqual(matching({ image: ['l10qbp0g9toa6m5iucowhgdx1'] }), [NODE]);
    const container = event('service', 'create', 'x1', {
      image: 'docker.io/library/busybox:latest',
      name: 'c',
    });
    assert.ok(eventMatches(filters({ image: ['busybox'] }), container));
    assert.ok(eventMatches(filters({ image: ['docker.io/library/busybox:latest'] }), container));
    assert.ok(!eventMatches(filters({ image: ['alpine'] }), container));
  });

  it('matches labels over the attributes, every term', () => {
    assert.deepEqual(matching({ label: ['name=web'] }), [WEB, WEB_SCALED]);
    assert.deepEqual(matching({ label: ['replicas.new'] }), [WEB_SCALED]);
    assert.deepEqual(matching({ label: ['name=web', 'replicas.new=1'] }), [WEB_SCALED]);
    assert.deepEqual(matching({ label: ['name=web', 'replicas.new=2'] }), []);
    assert.deepEqual(matching({ label: ['team=a'] }), []);
    assert.deepEqual(matching({ label: ['constructor'] }), [], 'no inherited property is an attribute');
  });

  it('refuses keys dockerd does not look at, with Docker’s message', () => {
    assert.throws(() => filters({ foo: ['bar'] }), { message: "Invalid filter 'foo'" });
    assert.throws(() => filters({ name: ['web'] }), { message: "Invalid filter 'name'" });
  });

  it('strips tags, digests and Docker Hub prefixes from image references', () => {
    assert.equal(familiarName('busybox:latest'), 'busybox');
    assert.equal(familiarName('docker.io/library/busybox:1.36'), 'busybox');
    assert.equal(familiarName('docker.io/me/app@sha256:' + 'a'.repeat(64)), 'me/app');
    assert.equal(familiarName('registry:5000/team/app:v2'), 'registry:5000/team/app');
    assert.equal(familiarName('a'.repeat(64)), 'a'.repeat(64));
    assert.equal(familiarName('Not A Reference'), 'Not A Reference');
  });
});

describe('event history', () => {
  const at = (second: number, name: string): EventMessage =>
    event('service', 'update', 's1', { name }, second);
  const none = Filters.empty();

  it('replays nothing without since or until', () => {
    const history = new EventHistory();
    history.publish(at(10, 'a'));
    assert.deepEqual(history.replay({ filters: none }), []);
  });

  it('replays the window, oldest first, through the filters', () => {
    const history = new EventHistory();
    for (let s = 10; s <= 15; s++) history.publish(at(s, `e${s}`));
    const names = (since?: number, until?: number, f = none): string[] =>
      history
        .replay({
          since: since === undefined ? undefined : BigInt(since) * 1_000_000_000n,
          until: until === undefined ? undefined : BigInt(until) * 1_000_000_000n,
          filters: f,
        })
        .map((e) => e.Actor.Attributes.name!);
    assert.deepEqual(names(12), ['e12', 'e13', 'e14', 'e15']);
    assert.deepEqual(names(12, 13), ['e12', 'e13']);
    assert.deepEqual(names(undefined, 11), ['e10', 'e11']);
    assert.deepEqual(names(0), ['e10', 'e11', 'e12', 'e13', 'e14', 'e15']);
    // An until of 0 (the epoch) bounds nothing, as in dockerd.
    assert.deepEqual(names(undefined, 0), ['e10', 'e11', 'e12', 'e13', 'e14', 'e15']);
    assert.deepEqual(names(12, undefined, filters({ label: ['name=e14'] })), ['e14']);
  });

  it('stops at the first event older than since, walking back from the newest (as dockerd)', () => {
    const history = new EventHistory();
    for (const s of [10, 20, 12, 21]) history.publish(at(s, `e${s}`));
    const replayed = history.replay({ since: 15n * 1_000_000_000n, filters: none });
    assert.deepEqual(
      replayed.map((e) => e.Actor.Attributes.name),
      ['e21'],
    );
  });

  it(`keeps the newest ${EVENT_HISTORY_LIMIT} events`, () => {
    const history = new EventHistory();
    for (let i = 0; i < EVENT_HISTORY_LIMIT + 10; i++) history.publish(at(100 + i, `e${i}`));
    const all = history.replay({ since: 0n, filters: none });
    assert.equal(all.length, EVENT_HISTORY_LIMIT);
    assert.equal(all[0]!.Actor.Attributes.name, 'e10');
    assert.equal(all.at(-1)!.Actor.Attributes.name, `e${EVENT_HISTORY_LIMIT + 9}`);
    const small = new EventHistory({ limit: 2 });
    for (const s of [1, 2, 3]) small.publish(at(s, `e${s}`));
    assert.deepEqual(
      small.replay({ since: 0n, filters: none }).map((e) => e.time),
      [2, 3],
    );
  });

  it('hands new events to subscribers through their filters until they close', () => {
    const history = new EventHistory();
    history.publish(at(10, 'old'));
    const seen: string[] = [];
    const sub = history.subscribe({ since: 0n, filters: filters({ label: ['name=keep'] }) }, (e) =>
      seen.push(e.Actor.Attributes.name!),
    );
    assert.deepEqual(sub.past, []);
    history.publish(at(11, 'keep'));
    history.publish(at(12, 'drop'));
    assert.equal(history.listenerCount, 1);
    sub.close();
    history.publish(at(13, 'keep'));
    assert.deepEqual(seen, ['keep']);
    assert.equal(history.listenerCount, 0);
  });

  it('keeps going when a listener throws', () => {
    const errors: unknown[] = [];
    const history = new EventHistory({ onListenerError: (err) => errors.push(err) });
    const seen: number[] = [];
    history.subscribe({ filters: none }, () => {
      throw new Error('broken');
    });
    history.subscribe({ filters: none }, (e) => seen.push(e.time));
    history.publish(at(1, 'a'));
    assert.deepEqual(seen, [1]);
    assert.equal(errors.length, 1);
  });
});

describe('cluster events over a store', () => {
  let kv: SqliteKV;
  let store: ClusterStore;
  let events: ClusterEvents;
  const seen: EventMessage[] = [];

  beforeEach(async () => {
    kv = new SqliteKV(':memory:');
    store = await ClusterStore.open(kv);
    events = new ClusterEvents(store);
    seen.length = 0;
    events.subscribe({ filters: Filters.empty() }, (e) => seen.push(e));
  });
  afterEach(async () => {
    events.close();
    await store.close();
    await kv.close();
  });

  it('turns each committed write into an event, stamped with the store’s times', async () => {
    const service: Service = {
      ID: 'svc1',
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: {
        Name: 'web',
        TaskTemplate: { ContainerSpec: { Image: 'busybox' } },
        Mode: { Replicated: { Replicas: 2 } },
      },
    };
    await store.update((tx) => tx.create('service', service));
    const stored = store.view((tx) => tx.get('service', 'svc1'))!;
    await store.update((tx) =>
      tx.update('service', { ...stored, Spec: { ...stored.Spec, Mode: { Replicated: { Replicas: 3 } } } }),
    );
    const scaled = store.view((tx) => tx.get('service', 'svc1'))!;
    await store.update((tx) =>
      tx.create('task', { ID: 't1', Version: { Index: 0 }, CreatedAt: '', UpdatedAt: '' } as never),
    );
    await store.update((tx) => tx.delete('service', 'svc1'));
    assert.deepEqual(
      seen.map((e) => [e.Type, e.Action, e.Actor.Attributes]),
      [
        ['service', 'create', { name: 'web' }],
        ['service', 'update', { name: 'web', 'replicas.new': '3', 'replicas.old': '2' }],
        ['service', 'remove', { name: 'web' }],
      ],
    );
    // To the nanosecond, as the store writes them.
    assert.equal(formatTimestampNanos(seen[0]!.timeNano), stored.CreatedAt);
    assert.equal(formatTimestampNanos(seen[1]!.timeNano), scaled.UpdatedAt);
  });

  it('emits node events and remembers them for a replay', async () => {
    const node = {
      ID: 'node1',
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { Role: 'manager', Availability: 'active' },
      Description: { Hostname: 'host1' },
      Status: { State: 'unknown', Addr: '10.0.0.1' },
      Role: 'manager',
    } as Node;
    await store.update((tx) => tx.create('node', node));
    const stored = store.view((tx) => tx.get('node', 'node1'))!;
    await store.update((tx) =>
      tx.update('node', { ...stored, Status: { ...stored.Status, State: 'ready' } }),
    );
    const replay = events.subscribe({ since: 0n, filters: Filters.empty() }, () => undefined);
    replay.close();
    assert.deepEqual(
      replay.past.map((e) => [e.Type, e.Action, e.Actor.Attributes]),
      [
        ['node', 'create', { name: 'host1' }],
        ['node', 'update', { name: 'host1', 'state.new': 'ready', 'state.old': 'unknown' }],
      ],
    );
  });

  it('stops following the store when closed', async () => {
    events.close();
    await store.update((tx) =>
      tx.create('network', {
        ID: 'n1',
        Version: { Index: 0 },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: { Name: 'x' },
      }),
    );
    assert.deepEqual(seen, []);
  });
});
