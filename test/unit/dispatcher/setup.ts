// A dispatcher over a real store, on a fake clock, with nodes ready to register.

import type { DispatcherClient, SessionMessage } from '../../../src/api/dispatcher.js';
import type { Node } from '../../../src/api/types.js';
import { LogBroker } from '../../../src/manager/logbroker/broker.js';
import { Dispatcher } from '../../../src/manager/dispatcher/dispatcher.js';
import type { ClusterStore } from '../../../src/store/cluster-store.js';
import { FakeClock, Recorder, clusterFixture, nodeFixture, openStore, until } from './helpers.js';

export interface Harness {
  clock: FakeClock;
  store: ClusterStore;
  dispatcher: Dispatcher;
  broker: LogBroker;
  nodes: Node[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  nodes?: number;
  heartbeatPeriodNs?: number;
  /** Start the dispatcher (default true). */
  start?: boolean;
  random?: () => number;
}

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new FakeClock();
  const store = await openStore();
  const nodes = Array.from({ length: options.nodes ?? 1 }, () => nodeFixture());
  await store.update((tx) => {
    tx.create('cluster', clusterFixture(options.heartbeatPeriodNs));
    for (const node of nodes) tx.create('node', node);
  });
  const broker = new LogBroker({ store });
  const dispatcher = new Dispatcher({
    store,
    managerNodeId: 'manager-node',
    managerAddr: '192.0.2.10:2377',
    clock,
    logs: broker,
    random: options.random ?? (() => 0.5),
  });
  if (options.start !== false) await dispatcher.start();
  return {
    clock,
    store,
    dispatcher,
    broker,
    nodes,
    async close() {
      broker.stop();
      await dispatcher.stop();
      await store.close();
    },
  };
}

export const DESCRIPTION = {
  Hostname: 'worker-1',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
  Engine: { EngineVersion: 'shoal-test' },
};

/** Opens a session for the client and waits for the first SessionMessage. */
export async function register(
  h: Harness,
  client: DispatcherClient,
  sessionId?: string,
): Promise<{ session: Recorder<SessionMessage>; sessionId: string; close(): void }> {
  const session = new Recorder<SessionMessage>();
  const handle = client.session(
    { ...(sessionId ? { sessionId } : {}), description: DESCRIPTION },
    session.onMessage,
    session.onEnd,
  );
  await until(h.clock, () => session.messages.length > 0 || session.ended);
  if (session.ended) throw session.error ?? new Error('session ended');
  return { session, sessionId: session.messages[0]!.sessionId, close: () => handle.close() };
}
