// What anyone who reaches the cluster port can hold there, and for how long: connections without a
// verified certificate are for joining only (few calls, short deadlines, closed after their CA call
// and at a time limit, a few per address), nodes keep what they need but cannot pin a request either,
// and nothing is left behind once the rules have run (the server's own count of what it holds).

import assert from 'node:assert/strict';
import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import net from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { after, afterEach, describe, it } from 'node:test';

import type { ClusterClient } from '../../../src/agent/transport/cluster-client.js';
import { CA_SERVER_NAME, clientTlsOptions, type NodeTlsCredentials } from '../../../src/api/certs.js';
import { CLUSTER_API_PATHS } from '../../../src/api/dispatcher.js';
import { ShoalError } from '../../../src/api/errors.js';
import {
  clientFor,
  joinWorker,
  outcome,
  removeStateDirs,
  startAgent,
  startCluster,
  waitFor,
  type RunningAgent,
  type TestCluster,
} from './helpers.js';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM } = http2.constants;

/** A client connection under the test's control, and what happened to it. */
interface RawConnection {
  session: ClientHttp2Session;
  /** Resolves once the connection is closed (by either end). */
  closed: Promise<void>;
  isClosed(): boolean;
  /** The code of the GOAWAY the server sent, if it sent one. */
  goaway?: number;
  /** PINGs the server sent. */
  pingsReceived: number;
}

function connect(c: TestCluster, options: ConnectionOptions): RawConnection {
  const session = http2.connect(`https://${c.managerAddr}`, options);
  let closed = false;
  const connection: RawConnection = {
    session,
    closed: new Promise((resolve) =>
      session.once('close', () => {
        closed = true;
        resolve();
      }),
    ),
    isClosed: () => closed,
    pingsReceived: 0,
  };
  session.on('error', () => {});
  session.on('goaway', (code) => (connection.goaway = code));
  session.on('ping', () => connection.pingsReceived++);
  return connection;
}

const anonymousTls = (c: TestCluster): ConnectionOptions =>
  clientTlsOptions({ rootCAPem: c.rootCAPem }, CA_SERVER_NAME);
const nodeTls = (credentials: NodeTlsCredentials): ConnectionOptions => clientTlsOptions(credentials);

interface CallOutcome {
  status?: number;
  body: string;
  /** The RST_STREAM code the stream ended with (0 when it ended normally). */
  rstCode?: number;
}

interface RawCall {
  stream: ClientHttp2Stream;
  done: Promise<CallOutcome>;
}

/** A call whose request body is `body`, left unfinished unless `end`. */
function call(connection: RawConnection, path: string, body: string, end = true): RawCall {
  const stream = connection.session.request({ ':method': 'POST', ':path': path });
  const done = new Promise<CallOutcome>((resolve) => {
    const outcome: CallOutcome = { body: '' };
    stream.setEncoding('utf8');
    stream.on('response', (headers) => (outcome.status = Number(headers[':status'])));
    stream.on('data', (chunk: string) => (outcome.body += chunk));
    stream.on('error', () => {});
    stream.on('close', () => resolve({ ...outcome, rstCode: stream.rstCode }));
  });
  if (end) stream.end(body);
  else stream.write(body);
  return { stream, done };
}

/** Keeps `stream` sending a byte now and then, never finishing: a slow body. Returns the stop function. */
function drip(stream: ClientHttp2Stream): () => void {
  const timer = setInterval(() => {
    if (!stream.closed && !stream.destroyed) stream.write(' ');
  }, 20);
  return () => clearInterval(timer);
}

/** One HTTP/2 frame, written by hand: for a client that ignores what the server asks of it. */
function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

const FRAME = { headers: 0x1, settings: 0x4 } as const;
const FLAG = { ack: 0x1, endHeaders: 0x4 } as const;

/** `POST <path>` (HPACK: :method POST, :scheme https, :authority x, :path literal). */
function requestHeaders(path: string): Buffer {
  return Buffer.concat([Buffer.from([0x83, 0x87, 0x01, 0x01, 0x78, 0x04, path.length]), Buffer.from(path)]);
}

describe('limits on the cluster port', () => {
  let c: TestCluster | undefined;
  let agent: RunningAgent | undefined;
  const connections: RawConnection[] = [];
  const sockets: net.Socket[] = [];
  const clients: ClusterClient[] = [];
  afterEach(async () => {
    for (const connection of connections.splice(0)) connection.session.destroy();
    for (const socket of sockets.splice(0)) socket.destroy();
    for (const client of clients.splice(0)) client.close();
    await agent?.stop();
    agent = undefined;
    await c?.close();
    c = undefined;
  });
  after(removeStateDirs);

  const open = (cluster: TestCluster, options: ConnectionOptions): RawConnection => {
    const connection = connect(cluster, options);
    connections.push(connection);
    return connection;
  };
  const connected = async (connection: RawConnection): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      connection.session.once('connect', () => resolve());
      connection.session.once('close', () => reject(new Error('connection closed before it was set up')));
    });
  };
  const nothingHeld = (cluster: TestCluster): boolean => {
    const stats = cluster.server.stats();
    return stats.connections === 0 && stats.streams === 0 && stats.handshakes === 0;
  };

  it('a slow body without a certificate is cut at its deadline, and its connection closed', async () => {
    c = await startCluster({ limits: { anonymousRequestBodyTimeoutMs: 200 } });
    const connection = open(c, anonymousTls(c));
    const slow = call(connection, CLUSTER_API_PATHS.issueNodeCertificate, '{"csr": "', false);
    const stop = drip(slow.stream);
    const outcome = await slow.done;
    stop();
    assert.equal(outcome.rstCode, NGHTTP2_CANCEL, 'reset by the server');
    assert.equal(outcome.status, undefined, 'never answered');
    await connection.closed;
    const cluster = c;
    await waitFor(() => nothingHeld(cluster), 'the server to hold nothing');
  });

  it("a node's request may take longer, but it is cut at the node's deadline; the connection stays", async () => {
    c = await startCluster({
      limits: { anonymousRequestBodyTimeoutMs: 50, requestBodyTimeoutMs: 1_000 },
    });
    const worker = await joinWorker(c);
    const connection = open(c, nodeTls(worker));

    // Slower than a joining node may be, within a node's deadline: answered.
    const slowButInTime = call(connection, CLUSTER_API_PATHS.heartbeat, '{"sessionId":', false);
    const stop = drip(slowButInTime.stream);
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop();
    slowButInTime.stream.end('"none"}');
    const answered = await slowButInTime.done;
    assert.ok(answered.status !== undefined && answered.status >= 400, 'an answer (no such session)');
    assert.equal(typeof JSON.parse(answered.body).code, 'string');

    // Never finished: reset.
    const stalled = call(connection, CLUSTER_API_PATHS.heartbeat, '{"sessionId":', false);
    const stopStalled = drip(stalled.stream);
    const cut = await stalled.done;
    stopStalled();
    assert.equal(cut.rstCode, NGHTTP2_CANCEL);
    assert.equal(cut.status, undefined);

    // The node's connection is still there, and serves its next call.
    assert.equal(connection.isClosed(), false);
    const next = await call(connection, CLUSTER_API_PATHS.heartbeat, '{"sessionId":"none"}').done;
    assert.ok(next.status !== undefined);
    assert.equal(c.server.stats().connections, 1);
  });

  it('a connection without a certificate is closed once its CA call is answered', async () => {
    c = await startCluster();
    const connection = open(c, anonymousTls(c));
    const root = await call(connection, CLUSTER_API_PATHS.rootCACertificate, '{}').done;
    assert.equal(root.status, 200);
    assert.equal(JSON.parse(root.body).certificate, c.rootCAPem);
    await connection.closed;
    assert.equal(connection.goaway, http2.constants.NGHTTP2_NO_ERROR, 'closed gracefully');
    const cluster = c;
    await waitFor(() => nothingHeld(cluster), 'the server to hold nothing');
  });

  it('a connection without a certificate is closed at its time limit, pings notwithstanding', async () => {
    c = await startCluster({
      limits: { anonymousConnectionTimeoutMs: 500, keepalive: { intervalMs: 20, timeoutMs: 1_000 } },
    });
    const worker = await joinWorker(c);
    const node = open(c, nodeTls(worker));
    const anonymous = open(c, anonymousTls(c));
    await Promise.all([connected(node), connected(anonymous)]);
    // The client keeps the connection busy: pings (answered) and calls that are not CA calls.
    const pinger = setInterval(() => {
      if (!anonymous.isClosed()) anonymous.session.ping(() => {});
    }, 20);
    try {
      const refused = await call(anonymous, CLUSTER_API_PATHS.heartbeat, '{"sessionId":"x"}').done;
      assert.equal(refused.status, 403);
      await anonymous.closed;
    } finally {
      clearInterval(pinger);
    }
    assert.equal(anonymous.pingsReceived, 0, 'the manager does not ping a connection without a certificate');
    assert.ok(node.pingsReceived > 0, "it pings nodes' connections");
    assert.equal(node.isClosed(), false);
    assert.deepEqual(c.server.stats(), {
      connections: 1,
      anonymousConnections: 0,
      handshakes: 0,
      streams: 0,
    });
  });

  it('one address gets only so many connections without a certificate; nodes keep working', async () => {
    c = await startCluster({ heartbeatPeriodNs: 1e9, limits: { maxAnonymousConnectionsPerIp: 3 } });
    const cluster = c;
    const worker = await joinWorker(c);
    agent = await startAgent(clientFor(c, worker));
    await waitFor(() => cluster.node(worker.nodeId)?.Status.State === 'ready', 'the node to be ready');

    const held = [1, 2, 3].map(() => open(cluster, anonymousTls(cluster)));
    await Promise.all(held.map(connected));
    await waitFor(() => cluster.server.stats().anonymousConnections === 3, 'three connections held');

    const refused = open(c, anonymousTls(c));
    const answer = await call(refused, CLUSTER_API_PATHS.rootCACertificate, '{}').done;
    await refused.closed;
    assert.equal(answer.status, undefined, 'no answer');
    assert.equal(refused.goaway, NGHTTP2_ENHANCE_YOUR_CALM);
    assert.equal(c.server.stats().anonymousConnections, 3);

    // Nodes from the same address: the agent's session goes on, and a new connection is served.
    const heartbeats = (): number => cluster.calls.filter((entry) => entry.method === 'heartbeat').length;
    const before = heartbeats();
    await waitFor(() => heartbeats() > before, 'another heartbeat from the agent');
    const manager = clientFor(c, c.managerCredentials);
    clients.push(manager);
    assert.deepEqual(await manager.health(), { status: 'SERVING' });
    assert.equal(cluster.calls.filter((entry) => entry.method === 'session').length, 1, 'no reconnect');

    // Once the address holds fewer, it may join again.
    for (const connection of held) connection.session.destroy();
    await waitFor(() => cluster.server.stats().anonymousConnections === 0, 'the connections to go');
    assert.equal((await joinWorker(c)).role, 'worker');
  });

  it('a connection without a certificate may have only a few calls open; a node may have many', async () => {
    c = await startCluster({
      limits: { maxAnonymousConcurrentStreams: 2, anonymousRequestBodyTimeoutMs: 300 },
    });
    const worker = await joinWorker(c);

    // Sent at once, before the client has seen the server's SETTINGS: the server refuses the excess.
    const anonymous = open(c, anonymousTls(c));
    const calls = Array.from({ length: 6 }, () =>
      call(anonymous, CLUSTER_API_PATHS.issueNodeCertificate, '{"csr": "', false),
    );
    const outcomes = await Promise.all(calls.map((entry) => entry.done));
    const refused = outcomes.filter((outcome) => outcome.rstCode === NGHTTP2_REFUSED_STREAM);
    assert.equal(refused.length, 4, JSON.stringify(outcomes));

    const node = open(c, nodeTls(worker));
    const nodeCalls = Array.from({ length: 20 }, () =>
      call(node, CLUSTER_API_PATHS.heartbeat, '{"sessionId":"none"}'),
    );
    for (const outcome of await Promise.all(nodeCalls.map((entry) => entry.done))) {
      assert.notEqual(outcome.rstCode, NGHTTP2_REFUSED_STREAM);
      assert.ok(outcome.status !== undefined, 'answered');
    }
  });

  it('a client that opens more calls than it was allowed loses its connection', async () => {
    c = await startCluster({ limits: { maxAnonymousConcurrentStreams: 2 } });
    const cluster = c;
    const [host, port] = c.managerAddr.split(':') as [string, string];
    const socket = tls.connect({ ...anonymousTls(c), host, port: Number(port), ALPNProtocols: ['h2'] });
    socket.on('error', () => {});
    sockets.push(socket);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    await new Promise((resolve) => socket.once('secureConnect', resolve));
    socket.write(
      Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(FRAME.settings, 0, 0)]),
    );
    let received = Buffer.alloc(0);
    let flooded = false;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 9 && received.length >= 9 + received.readUIntBE(0, 3)) {
        const [type, flags] = [received[3], received[4]!];
        received = received.subarray(9 + received.readUIntBE(0, 3));
        if (type !== FRAME.settings || flags & FLAG.ack || flooded) continue;
        // The server's SETTINGS (at most 2 calls at once): acknowledged, then ignored.
        flooded = true;
        const calls = Array.from({ length: 8 }, (_, i) =>
          frame(
            FRAME.headers,
            FLAG.endHeaders,
            1 + 2 * i,
            requestHeaders(CLUSTER_API_PATHS.issueNodeCertificate),
          ),
        );
        socket.write(Buffer.concat([frame(FRAME.settings, FLAG.ack, 0), ...calls]));
      }
    });
    await closed;
    assert.ok(flooded);
    await waitFor(() => nothingHeld(cluster), 'the server to hold nothing');
    const root = await call(open(c, anonymousTls(c)), CLUSTER_API_PATHS.rootCACertificate, '{}').done;
    assert.equal(root.status, 200, 'others are still served');
  });

  it('many slow connections without a certificate leave nothing behind, and nodes are served meanwhile', async () => {
    c = await startCluster({
      limits: {
        anonymousRequestBodyTimeoutMs: 300,
        anonymousConnectionTimeoutMs: 1_000,
        maxAnonymousConnectionsPerIp: 16,
      },
    });
    const cluster = c;
    const worker = await joinWorker(c);
    const node = clientFor(c, worker);
    clients.push(node);

    // What the review found: connections each opening many certificate requests with a large body
    // that never ends; here more connections than one address may hold.
    const chunk = '{"csr": "' + 'A'.repeat(60 * 1024);
    let maxStreams = 0;
    const attackers = Array.from({ length: 20 }, () => {
      const connection = open(cluster, anonymousTls(cluster));
      const calls = Array.from({ length: 16 }, () =>
        call(connection, CLUSTER_API_PATHS.issueNodeCertificate, chunk, false),
      );
      return { connection, calls };
    });
    const sampler = setInterval(() => (maxStreams = Math.max(maxStreams, cluster.server.stats().streams)), 5);
    try {
      // The manager answers (there is no such session) while all that is going on.
      const { error } = await outcome(node.heartbeat('none'));
      assert.ok(error instanceof ShoalError);
      assert.notEqual(error.code, 'Unavailable', error.message);
      await Promise.all(attackers.map(({ connection }) => connection.closed));
      // All that is left is the node's connection.
      const onlyTheNode = { connections: 1, anonymousConnections: 0, handshakes: 0, streams: 0 };
      await waitFor(
        () => JSON.stringify(cluster.server.stats()) === JSON.stringify(onlyTheNode),
        'the server to hold nothing but the node',
      );
    } finally {
      clearInterval(sampler);
    }
    assert.ok(maxStreams <= 16 * 4, `at most 16 connections of 4 calls held at once (saw ${maxStreams})`);
    for (const { calls } of attackers) {
      for (const outcome of await Promise.all(calls.map((entry) => entry.done))) {
        assert.equal(outcome.status, undefined, 'no certificate request was answered');
      }
    }
  });

  it('beyond maxConnections, connections are refused as they arrive', async () => {
    c = await startCluster({ limits: { maxConnections: 2 } });
    const cluster = c;
    const held = [open(c, anonymousTls(c)), open(c, anonymousTls(c))];
    await Promise.all(held.map(connected));
    const refused = open(c, anonymousTls(c));
    await refused.closed;
    assert.equal(c.server.stats().connections, 2);
    for (const connection of held) connection.session.destroy();
    await waitFor(() => nothingHeld(cluster), 'the connections to go');
    const root = await call(open(c, anonymousTls(c)), CLUSTER_API_PATHS.rootCACertificate, '{}').done;
    assert.equal(root.status, 200);
  });

  it('one address may have only so many connections in their TLS handshake', async () => {
    c = await startCluster({ limits: { maxHandshakesPerIp: 2 } });
    const cluster = c;
    const [host, port] = c.managerAddr.split(':') as [string, string];
    const silent = (): net.Socket => {
      const socket = net.connect(Number(port), host);
      socket.on('error', () => {});
      sockets.push(socket);
      return socket;
    };
    silent();
    silent();
    await waitFor(() => cluster.server.stats().handshakes === 2, 'two handshakes pending');
    const refused = silent();
    await new Promise((resolve) => refused.once('close', resolve));
    assert.equal(c.server.stats().handshakes, 2);

    for (const socket of sockets) socket.destroy();
    await waitFor(() => nothingHeld(cluster), 'the handshakes to go');
    assert.deepEqual(await clientFor(c, c.managerCredentials).health(), { status: 'SERVING' });
  });

  it('joining and a node session work within tight limits', async () => {
    c = await startCluster({
      heartbeatPeriodNs: 1e9,
      limits: {
        maxAnonymousConcurrentStreams: 2,
        maxAnonymousConnectionsPerIp: 1,
        maxHandshakesPerIp: 2,
        anonymousRequestBodyTimeoutMs: 2_000,
        anonymousConnectionTimeoutMs: 300,
      },
    });
    const cluster = c;
    const worker = await joinWorker(c);
    assert.equal(worker.role, 'worker');
    await waitFor(() => cluster.server.stats().connections === 0, 'the join connections to close');

    agent = await startAgent(clientFor(c, worker));
    await waitFor(() => cluster.node(worker.nodeId)?.Status.State === 'ready', 'the node to be ready');
    // Longer than a connection without a certificate may live: the node's connection stays.
    const heartbeats = (): number => cluster.calls.filter((entry) => entry.method === 'heartbeat').length;
    const after = heartbeats() + 2;
    await waitFor(() => heartbeats() >= after, 'two more heartbeats');
    assert.equal(cluster.calls.filter((entry) => entry.method === 'session').length, 1, 'no reconnect');
    assert.deepEqual(c.server.stats().connections, 1);
    assert.equal(c.server.stats().anonymousConnections, 0);
  });
});
