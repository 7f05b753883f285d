// A bootstrapped one-manager cluster serving the cluster protocol on loopback: real store, real
// dispatcher and log broker, the real CA; and helpers to join nodes and run agents against it.

import { mkdtempSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import net, { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Agent } from '../../../src/agent/agent.js';
import { ClusterClient, type ClusterClientOptions } from '../../../src/agent/transport/cluster-client.js';
import type { NodeCredentials } from '../../../src/agent/transport/credentials.js';
import { joinCluster } from '../../../src/agent/transport/join.js';
import { generateNodeKeyAndCsr, type NodeTlsCredentials } from '../../../src/api/certs.js';
import type { StreamHandle } from '../../../src/api/dispatcher.js';
import { newId } from '../../../src/api/ids.js';
import type { Cluster, JoinTokens, Node, NodeDescription } from '../../../src/api/types.js';
import { bootstrapCluster } from '../../../src/manager/bootstrap.js';
import { ClusterApiServer, type ClusterApiLimits } from '../../../src/manager/clusterapi/server.js';
import { Dispatcher } from '../../../src/manager/dispatcher/dispatcher.js';
import type { DispatcherServer, Peer } from '../../../src/manager/dispatcher/server.js';
import { LogBroker } from '../../../src/manager/logbroker/broker.js';
import { ClusterStore } from '../../../src/store/cluster-store.js';
import { SqliteKV } from '../../../src/store/sqlite.js';
import { FakeExecutor } from '../../unit/agent/fake-executor.js';

export const DESCRIPTION: NodeDescription = {
  Hostname: 'worker-under-test',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
  Engine: { EngineVersion: 'shoal-test' },
};

/** A dispatcher call as the server made it: which method, for which peer (from the certificate). */
export interface RecordedCall {
  method: keyof DispatcherServer;
  peer: Peer;
}

/** Passes every call through to `inner`, recording it. */
function recordingDispatcher(inner: DispatcherServer, calls: RecordedCall[]): DispatcherServer {
  const record = (method: keyof DispatcherServer, peer: Peer): void => void calls.push({ method, peer });
  return {
    session(peer, request, sink): StreamHandle {
      record('session', peer);
      return inner.session(peer, request, sink);
    },
    heartbeat(peer, sessionId) {
      record('heartbeat', peer);
      return inner.heartbeat(peer, sessionId);
    },
    updateTaskStatus(peer, sessionId, updates) {
      record('updateTaskStatus', peer);
      return inner.updateTaskStatus(peer, sessionId, updates);
    },
    assignments(peer, sessionId, sink) {
      record('assignments', peer);
      return inner.assignments(peer, sessionId, sink);
    },
    logSubscriptions(peer, sessionId, sink) {
      record('logSubscriptions', peer);
      return inner.logSubscriptions(peer, sessionId, sink);
    },
    publishLogs(peer, sessionId, message) {
      record('publishLogs', peer);
      return inner.publishLogs(peer, sessionId, message);
    },
  };
}

export interface TestCluster {
  clusterId: string;
  managerNodeId: string;
  /** `127.0.0.1:<port>` */
  managerAddr: string;
  rootCAPem: string;
  managerCredentials: NodeTlsCredentials;
  store: ClusterStore;
  dispatcher: Dispatcher;
  broker: LogBroker;
  readonly server: ClusterApiServer;
  /** Stops the cluster port and serves it again on the same address (a manager restart, for its nodes). */
  restartServer(): Promise<void>;
  /** Every dispatcher call that reached the dispatcher through the network. */
  calls: RecordedCall[];
  tokens(): JoinTokens;
  cluster(): Cluster;
  node(id: string): Node | undefined;
  close(): Promise<void>;
}

export interface TestClusterOptions {
  /** Dispatcher heartbeat period (ns). */
  heartbeatPeriodNs?: number;
  /** CAConfig.NodeCertExpiry (ns). */
  nodeCertExpiryNs?: number;
  limits?: Partial<ClusterApiLimits>;
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export async function startCluster(options: TestClusterOptions = {}): Promise<TestCluster> {
  const store = await ClusterStore.open(new SqliteKV(':memory:'));
  const clusterId = newId();
  const managerNodeId = newId();
  const port = await freePort();
  const managerAddr = `127.0.0.1:${port}`;
  const { keyPem, csrPem } = await generateNodeKeyAndCsr();
  const { rootCACertPem, nodeCertPem } = await bootstrapCluster(store, {
    clusterId,
    nodeId: managerNodeId,
    spec: {
      Name: 'default',
      Dispatcher: { HeartbeatPeriod: options.heartbeatPeriodNs ?? 5e9 },
      CAConfig: { NodeCertExpiry: options.nodeCertExpiryNs ?? 2160 * 3600 * 1e9 },
    },
    description: { ...DESCRIPTION, Hostname: 'manager' },
    advertiseAddr: managerAddr,
    availability: 'active',
    defaultAddrPool: null,
    subnetSize: 24,
    dataPathPort: 4789,
    csrPem,
  });
  const managerCredentials = { certPem: nodeCertPem, keyPem, rootCAPem: rootCACertPem };
  const broker = new LogBroker({ store });
  const dispatcher = new Dispatcher({ store, managerNodeId, managerAddr, logs: broker });
  await dispatcher.start();
  const calls: RecordedCall[] = [];
  const recording = recordingDispatcher(dispatcher, calls);
  const newServer = (): ClusterApiServer =>
    new ClusterApiServer({
      listenAddr: { host: '127.0.0.1', port },
      store,
      dispatcher: recording,
      credentials: managerCredentials,
      clusterId,
      limits: options.limits,
    });
  let server = newServer();
  await server.start();

  const cluster = (): Cluster => store.view((tx) => tx.get('cluster', clusterId))!;
  return {
    clusterId,
    managerNodeId,
    managerAddr,
    rootCAPem: rootCACertPem,
    managerCredentials,
    store,
    dispatcher,
    broker,
    get server() {
      return server;
    },
    async restartServer() {
      await server.stop();
      server = newServer();
      await server.start();
    },
    calls,
    tokens: () => cluster().JoinTokens,
    cluster,
    node: (id) => store.view((tx) => tx.get('node', id)),
    async close() {
      await server.stop();
      broker.stop();
      await dispatcher.stop();
      await store.close();
    },
  };
}

/** Joins a worker with the cluster's worker token. */
export function joinWorker(c: TestCluster, token = c.tokens().Worker): Promise<NodeCredentials> {
  return joinCluster({ managerAddr: c.managerAddr, token, availability: 'active', description: DESCRIPTION });
}

export function clientFor(
  c: TestCluster,
  credentials: NodeTlsCredentials,
  options: Partial<ClusterClientOptions> = {},
): ClusterClient {
  return new ClusterClient({ managerAddr: c.managerAddr, credentials, ...options });
}

// ---------------------------------------------------------------- agents

const dirs: string[] = [];

export function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-clusterapi-test-'));
  dirs.push(dir);
  return dir;
}

export function removeStateDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface RunningAgent {
  agent: Agent;
  executor: FakeExecutor;
  client: ClusterClient;
  stop(): Promise<void>;
}

export async function startAgent(
  client: ClusterClient,
  executor: FakeExecutor = new FakeExecutor(),
): Promise<RunningAgent> {
  const agent = new Agent({ client, executor, stateDir: stateDir() });
  await agent.start();
  return {
    agent,
    executor,
    client,
    async stop() {
      await agent.stop();
      client.close();
    },
  };
}

// ---------------------------------------------------------------- waiting

/** Waits until `check` passes; tests assert outcomes, this only guards against hanging forever. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The settled outcome of a promise, for asserting on errors. */
export async function outcome<T>(promise: Promise<T>): Promise<{ value?: T; error?: Error }> {
  try {
    return { value: await promise };
  } catch (error) {
    return { error: error as Error };
  }
}

// ---------------------------------------------------------------- raw HTTP/2 calls

export interface RawResponse {
  status?: number;
  body: string;
  error?: Error;
}

/** One request on a fresh connection, returning whatever came back (for probing the server). */
export function rawCall(
  url: string,
  options: http2.SecureClientSessionOptions,
  path: string,
  request: { method?: string; body?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const response: RawResponse = { body: '' };
    const session = http2.connect(url, options);
    session.on('error', (err) => (response.error ??= err));
    const finish = (): void => {
      session.destroy();
      resolve(response);
    };
    const stream = session.request({ ':method': request.method ?? 'POST', ':path': path });
    stream.setEncoding('utf8');
    stream.on('response', (headers) => (response.status = Number(headers[':status'])));
    stream.on('data', (chunk: string) => (response.body += chunk));
    stream.on('error', (err) => (response.error ??= err));
    stream.on('close', finish);
    stream.setTimeout(10_000, () => stream.close());
    stream.end(request.body ?? '{}');
  });
}

// ---------------------------------------------------------------- a link that can be cut

export interface CuttableLink {
  /** Where clients connect instead of the manager. */
  addr: string;
  /** From now on bytes are dropped in both directions, and no connection is closed: a cut cable. */
  cut(): void;
  close(): Promise<void>;
}

/** A TCP relay to `targetAddr` (`host:port`) on loopback, to cut links without closing them. */
export async function cuttableLink(targetAddr: string): Promise<CuttableLink> {
  const [host, port] = targetAddr.split(':') as [string, string];
  const sockets = new Set<net.Socket>();
  let cut = false;
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(Number(port), host);
    for (const [from, to] of [
      [inbound, outbound],
      [outbound, inbound],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk: Buffer) => {
        if (!cut) to.write(chunk);
      });
      from.on('error', () => {});
      from.on('close', () => {
        sockets.delete(from);
        if (!cut) to.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const { port: relayPort } = relay.address() as AddressInfo;
  return {
    addr: `127.0.0.1:${relayPort}`,
    cut: () => void (cut = true),
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}
