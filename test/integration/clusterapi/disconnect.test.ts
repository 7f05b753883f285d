// A lost connection must end the node's streams with an error, so its agent looks for the manager
// again: when the manager goes away, when the link is cut without a word, and when a call gets no
// answer within its deadline.

import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';

import type { ClusterClient } from '../../../src/agent/transport/cluster-client.js';
import { ShoalError } from '../../../src/api/errors.js';
import type { SessionMessage } from '../../../src/api/dispatcher.js';
import {
  DESCRIPTION,
  clientFor,
  cuttableLink,
  joinWorker,
  outcome,
  removeStateDirs,
  startAgent,
  startCluster,
  waitFor,
  type CuttableLink,
  type RunningAgent,
  type TestCluster,
} from './helpers.js';

interface OpenSession {
  messages: SessionMessage[];
  ended: Promise<Error | undefined>;
}

async function openSession(client: ClusterClient): Promise<OpenSession> {
  const messages: SessionMessage[] = [];
  const ended = new Promise<Error | undefined>((resolve) =>
    client.session({ description: DESCRIPTION }, (message) => messages.push(message), resolve),
  );
  await waitFor(() => messages.length > 0, 'the session to start');
  return { messages, ended };
}

describe('losing the connection to the manager', () => {
  let c: TestCluster | undefined;
  let link: CuttableLink | undefined;
  let agent: RunningAgent | undefined;
  const clients: ClusterClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await agent?.stop();
    agent = undefined;
    await link?.close();
    link = undefined;
    await c?.close();
    c = undefined;
  });
  after(removeStateDirs);

  it('ends every stream with Unavailable when the manager stops serving', async () => {
    c = await startCluster();
    const worker = await joinWorker(c);
    const client = clientFor(c, worker);
    clients.push(client);
    const session = await openSession(client);
    const sessionId = session.messages[0]!.sessionId;
    const assignments = new Promise<Error | undefined>((resolve) =>
      client.assignments(sessionId, () => {}, resolve),
    );
    await waitFor(() => c!.calls.some((call) => call.method === 'assignments'), 'the assignments stream');

    await c.server.stop();
    for (const ended of [await session.ended, await assignments]) {
      assert.ok(ended instanceof ShoalError);
      assert.equal(ended.code, 'Unavailable');
    }
    const { error } = await outcome(client.heartbeat(sessionId));
    assert.ok(error instanceof ShoalError);
    assert.equal(error.code, 'Unavailable');
  });

  it('notices a cut link by keepalive and ends the streams', async () => {
    c = await startCluster();
    const worker = await joinWorker(c);
    link = await cuttableLink(c.managerAddr);
    const client = clientFor(c, worker, {
      managerAddr: link.addr,
      connection: { keepalive: { intervalMs: 200, timeoutMs: 300 } },
    });
    clients.push(client);
    const session = await openSession(client);

    link.cut();
    const ended = await session.ended;
    assert.ok(ended instanceof ShoalError);
    assert.equal(ended.code, 'Unavailable');
    assert.match(ended.message, /stopped answering/);
  });

  it('a heartbeat without an answer fails at its deadline', async () => {
    c = await startCluster();
    const worker = await joinWorker(c);
    link = await cuttableLink(c.managerAddr);
    const client = clientFor(c, worker, {
      managerAddr: link.addr,
      heartbeatTimeoutMs: 300,
      // Keepalive would notice first; here the deadline must.
      connection: { keepalive: { intervalMs: 60_000, timeoutMs: 60_000 } },
    });
    clients.push(client);
    const session = await openSession(client);

    link.cut();
    const { error } = await outcome(client.heartbeat(session.messages[0]!.sessionId));
    assert.ok(error instanceof ShoalError);
    assert.equal(error.code, 'Unavailable');
    assert.match(error.message, /deadline exceeded after 300 ms/);
  });

  it('the agent finds the manager again once it is back', async () => {
    c = await startCluster({ heartbeatPeriodNs: 1e9 });
    const worker = await joinWorker(c);
    agent = await startAgent(clientFor(c, worker));
    const cluster = c;
    const sessions = (): number => cluster.calls.filter((call) => call.method === 'session').length;
    await waitFor(() => cluster.node(worker.nodeId)?.Status.State === 'ready', 'the node to be ready');
    assert.equal(sessions(), 1);

    await c.restartServer();
    const heartbeats = (): number => cluster.calls.filter((call) => call.method === 'heartbeat').length;
    const heartbeatsBefore = heartbeats();
    await waitFor(() => sessions() === 2, 'the agent to open a session again');
    await waitFor(() => heartbeats() > heartbeatsBefore, 'heartbeats on the new connection');
    assert.equal(cluster.node(worker.nodeId)?.Status.State, 'ready');
  });
});
