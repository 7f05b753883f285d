// The agent's cluster client against a stand-in manager over real HTTP/2 + mutual TLS on loopback:
// which calls carry a deadline. A log batch may wait as long as the manager's log queue holds it
// (backpressure from a slow `service logs -f` reader); a lost connection still ends it.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { ClusterClient } from '../../../src/agent/transport/cluster-client.js';
import { serverTlsOptions, type NodeTlsCredentials } from '../../../src/api/certs.js';
import { CLUSTER_API_PATHS, JSON_CONTENT_TYPE } from '../../../src/api/dispatcher.js';
import { isShoalError } from '../../../src/api/errors.js';
import { newTestCluster, newTestNode } from '../ca/pki.js';

/** How the stand-in manager answers a call: after `delayMs`, or by cutting the connection. */
type Answer = { delayMs: number } | 'cut-connection';

interface StandInManager {
  addr: string;
  /** Calls whose answer has been sent, by path. */
  answered: string[];
  close(): Promise<void>;
}

async function standInManager(
  credentials: NodeTlsCredentials,
  answer: (path: string) => Answer,
): Promise<StandInManager> {
  const server = http2.createSecureServer(serverTlsOptions(credentials));
  const sessions = new Set<http2.ServerHttp2Session>();
  const timers = new Set<NodeJS.Timeout>();
  const answered: string[] = [];
  server.on('session', (session) => {
    sessions.add(session);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream, headers) => {
    stream.on('error', () => {});
    const path = String(headers[':path']);
    stream.resume(); // the request body does not matter here
    stream.on('end', () => {
      const how = answer(path);
      if (how === 'cut-connection') {
        stream.session?.destroy();
        return;
      }
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (stream.destroyed) return;
        stream.respond({ ':status': 200, 'content-type': JSON_CONTENT_TYPE });
        stream.end('{}');
        answered.push(path);
      }, how.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    addr: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    answered,
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('cluster client deadlines', () => {
  /** Far shorter than the manager's answers below. */
  const CALL_TIMEOUT_MS = 50;
  const SLOW_ANSWER_MS = 400;
  let manager: NodeTlsCredentials;
  let worker: NodeTlsCredentials;
  const cleanups: (() => Promise<void> | void)[] = [];

  before(async () => {
    const pki = await newTestCluster();
    manager = { ...(await newTestNode(pki, 'manager')), rootCAPem: pki.rootCAPem };
    worker = { ...(await newTestNode(pki, 'worker')), rootCAPem: pki.rootCAPem };
  });
  after(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function connect(answer: (path: string) => Answer): Promise<{
    server: StandInManager;
    client: ClusterClient;
  }> {
    const server = await standInManager(manager, answer);
    cleanups.push(() => server.close());
    const client = new ClusterClient({
      managerAddr: server.addr,
      credentials: worker,
      callTimeoutMs: CALL_TIMEOUT_MS,
    });
    cleanups.push(() => client.close());
    return { server, client };
  }

  const publish = (client: ClusterClient) =>
    client.publishLogs('session-1', { subscriptionId: 'subscription-1', entries: [], close: false });

  it('lets a log batch wait for as long as the manager holds it back', async () => {
    const { server, client } = await connect(() => ({ delayMs: SLOW_ANSWER_MS }));
    await publish(client);
    assert.deepEqual(server.answered, [CLUSTER_API_PATHS.publishLogs]);
  });

  it('still gives other calls their deadline', async () => {
    const { client } = await connect(() => ({ delayMs: SLOW_ANSWER_MS }));
    await assert.rejects(client.updateTaskStatus('session-1', []), (err: unknown) => {
      assert.ok(isShoalError(err));
      assert.equal(err.code, 'Unavailable');
      assert.match(err.message, /deadline exceeded/);
      return true;
    });
  });

  it('ends a waiting log batch when the connection is lost', async () => {
    const { client } = await connect(() => 'cut-connection');
    await assert.rejects(publish(client), (err: unknown) => {
      assert.ok(isShoalError(err));
      assert.equal(err.code, 'Unavailable');
      return true;
    });
  });
});
