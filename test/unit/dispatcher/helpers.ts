// Shared by the dispatcher, log broker and agent tests: the fake clock (../support), the real cluster store over an
// in-memory SQLite, object fixtures, and a recorder for the streams a DispatcherClient opens.

import { newId } from '../../../src/api/ids.js';
import type { FakeClock } from '../support/fake-clock.js';
import type { Cluster, Node, Task, TaskState } from '../../../src/api/types.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';

// ---------------------------------------------------------------- time

export { FakeClock, settle } from '../support/fake-clock.js';

/** Advances the clock in steps until `check` passes (or gives up after `maxMs`). */
export async function until(
  clock: FakeClock,
  check: () => boolean,
  stepMs = 50,
  maxMs = 60_000,
): Promise<void> {
  for (let waited = 0; !check(); waited += stepMs) {
    if (waited > maxMs) throw new Error('condition not reached');
    await clock.advance(stepMs);
  }
}

// ---------------------------------------------------------------- store and fixtures

export async function openStore(): Promise<ClusterStore> {
  return ClusterStore.open(new SqliteKV(':memory:'));
}

const meta = (id = newId()) => ({ ID: id, Version: { Index: 0 }, CreatedAt: '', UpdatedAt: '' });

export function nodeFixture(id = newId(), state: Node['Status']['State'] = 'ready'): Node {
  return {
    ...meta(id),
    Spec: { Role: 'worker', Availability: 'active' },
    Description: {
      Hostname: `host-${id.slice(0, 4)}`,
      Platform: { Architecture: 'x86_64', OS: 'linux' },
      Resources: {},
      Engine: { EngineVersion: 'test' },
    },
    Status: { State: state, Addr: '192.0.2.1' },
  };
}

export function clusterFixture(heartbeatPeriodNs = 5e9): Cluster {
  return {
    ...meta(),
    Spec: { Name: 'default', Dispatcher: { HeartbeatPeriod: heartbeatPeriodNs } },
    TLSInfo: { TrustRoot: 'ROOT-PEM', CertIssuerSubject: '', CertIssuerPublicKey: '' },
    RootRotationInProgress: false,
    DefaultAddrPool: null,
    SubnetSize: 24,
    DataPathPort: 4789,
    JoinTokens: { Worker: '', Manager: '' },
  };
}

export interface TaskFixtureOptions {
  id?: string;
  nodeId?: string;
  serviceId?: string;
  state?: TaskState;
  desired?: TaskState;
}

export function taskFixture(options: TaskFixtureOptions = {}): Task {
  return {
    ...meta(options.id),
    Spec: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1000'] } },
    ServiceID: options.serviceId ?? 'service1',
    Slot: 1,
    NodeID: options.nodeId,
    Status: {
      Timestamp: '2024-05-01T11:00:00.000Z',
      State: options.state ?? 'assigned',
      Message: 'scheduler assigned task to node',
    },
    DesiredState: options.desired ?? 'running',
  };
}

export function getTask(store: ClusterStore, id: string): Task {
  const task = store.view((tx) => tx.get('task', id));
  if (!task) throw new Error(`no task ${id}`);
  return task;
}

export function getNode(store: ClusterStore, id: string): Node {
  const node = store.view((tx) => tx.get('node', id));
  if (!node) throw new Error(`no node ${id}`);
  return node;
}

/** Changes a stored task (re-read inside the transaction, as control loops do). */
export async function updateTask(
  store: ClusterStore,
  id: string,
  change: (task: Task) => void,
): Promise<void> {
  await store.update((tx) => {
    const task = structuredClone(tx.get('task', id)!);
    change(task);
    tx.update('task', task);
  });
}

// ---------------------------------------------------------------- streams

/** What one client stream received. */
export class Recorder<T> {
  readonly messages: T[] = [];
  ended = false;
  error: Error | undefined;
  readonly onMessage = (message: T): void => void this.messages.push(message);
  readonly onEnd = (err?: Error): void => {
    this.ended = true;
    this.error = err;
  };

  get last(): T | undefined {
    return this.messages[this.messages.length - 1];
  }
}
