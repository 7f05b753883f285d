// A manager's control API over a real (in-memory SQLite) store, with one node and one service, for the
// dashboard's tests: what the daemon hands the dashboard, without a daemon.

import type { Node, Task, TaskState } from '../../../src/api/types.js';
import { ControlAPI } from '../../../src/manager/controlapi/control-api.js';
import { ClusterEvents } from '../../../src/manager/events/source.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { testCluster } from '../support/cluster.js';

export const NODE_ID = 'n0000000000000000000000001';

export interface Fixture {
  store: ClusterStore;
  api: ControlAPI;
  serviceId: string;
  addTask(slot: number, state: TaskState): Promise<string>;
  setTaskState(id: string, state: TaskState): Promise<void>;
  close(): Promise<void>;
}

export async function controlFixture(): Promise<Fixture> {
  const kv = new SqliteKV(':memory:');
  const store = await ClusterStore.open(kv);
  const events = new ClusterEvents(store);
  const api = new ControlAPI({
    store,
    localNodeId: NODE_ID,
    isTaskUpToDate: (task, service) => task.SpecVersion?.Index === service.SpecVersion?.Index,
    newJoinToken: () => 'SWMTKN-1-rotated',
    subscribeLogs: async function* (target) {
      yield {
        stream: 'stdout' as const,
        timestamp: '2030-01-01T00:00:00.000000000Z',
        line: Buffer.from('hello from the task\n'),
        context: { nodeId: NODE_ID, serviceId: 'serviceId' in target ? target.serviceId : '', taskId: 't1' },
      };
    },
    subscribeEvents: (request, listener) => events.subscribe(request, listener),
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
      Engine: { EngineVersion: '0.1.0', Labels: { 'shoal.executor': 'process' } },
    },
    Status: { State: 'ready', Addr: '127.0.0.1' },
    ManagerStatus: { Leader: true, Reachability: 'reachable', Addr: '127.0.0.1:2377' },
  };
  await store.update((tx) => {
    tx.create('node', node);
    tx.create('cluster', testCluster());
  });
  const { ID: serviceId } = await api.createService({
    Name: 'web',
    TaskTemplate: { ContainerSpec: { Image: 'busybox:latest', Args: ['sleep', '3600'] } },
    Mode: { Replicated: { Replicas: 2 } },
  });
  let next = 1;
  return {
    store,
    api,
    serviceId,
    async addTask(slot, state) {
      const id = `t${String(next++).padStart(24, '0')}`;
      const service = store.view((tx) => tx.get('service', serviceId)!);
      const task: Task = {
        ID: id,
        Version: { Index: 0 },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: structuredClone(service.Spec.TaskTemplate ?? {}),
        ServiceID: serviceId,
        Slot: slot,
        NodeID: NODE_ID,
        Status: { State: state, Message: state, Timestamp: new Date().toISOString() },
        DesiredState: 'running',
        SpecVersion: { Index: service.SpecVersion?.Index ?? 0 },
      };
      await store.update((tx) => tx.create('task', task));
      return id;
    },
    async setTaskState(id, state) {
      await store.update((tx) => {
        const task = structuredClone(tx.get('task', id)!);
        task.Status = {
          ...task.Status,
          State: state,
          Message: state,
          Err: state === 'failed' ? 'exit 1' : undefined,
        };
        tx.update('task', task);
      });
    },
    async close() {
      events.close();
      await store.close();
      await kv.close();
    },
  };
}
