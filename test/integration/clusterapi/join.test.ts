// Joining over the network: a worker trades the token for a certificate, then its agent lives on the
// dispatcher across the cluster port (session, heartbeats, assignments, statuses, logs).

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, afterEach, describe, it } from 'node:test';

import { joinCluster } from '../../../src/agent/transport/join.js';
import { parseJoinToken, parseNodeCertificate } from '../../../src/api/certs.js';
import { CLUSTER_API_PATHS } from '../../../src/api/dispatcher.js';
import { ShoalError } from '../../../src/api/errors.js';
import { newId } from '../../../src/api/ids.js';
import type { Task } from '../../../src/api/types.js';
import { generateJoinToken } from '../../../src/manager/ca/tokens.js';
import { MANAGER_JOIN_UNSUPPORTED } from '../../../src/manager/clusterapi/node-ca.js';
import { FakeExecutor } from '../../unit/agent/fake-executor.js';
import {
  DESCRIPTION,
  clientFor,
  freePort,
  joinWorker,
  outcome,
  removeStateDirs,
  startAgent,
  startCluster,
  waitFor,
  type RunningAgent,
  type TestCluster,
} from './helpers.js';

const NO_VALID_TOKEN = 'A valid join token is necessary to join this cluster';

describe('joining a cluster over the cluster port', () => {
  let c: TestCluster | undefined;
  let agent: RunningAgent | undefined;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    await c?.close();
    c = undefined;
  });
  after(removeStateDirs);

  it('a worker joins with the worker token, then gets a session, heartbeats and assignments', async () => {
    c = await startCluster({ heartbeatPeriodNs: 1e9 });
    const joined = await joinWorker(c);

    assert.equal(joined.role, 'worker');
    assert.equal(joined.clusterId, c.clusterId);
    assert.equal(joined.rootCAPem, c.rootCAPem);
    const cert = parseNodeCertificate(joined.certPem);
    assert.deepEqual(
      { nodeId: cert.nodeId, role: cert.role, clusterId: cert.clusterId },
      { nodeId: joined.nodeId, role: 'worker', clusterId: c.clusterId },
    );
    const stored = c.node(joined.nodeId)!;
    assert.equal(stored.Spec.Role, 'worker');
    assert.equal(stored.Role, 'worker');
    assert.equal(stored.Spec.Availability, 'active');
    assert.deepEqual(stored.Spec.Labels, {});
    assert.equal(stored.Status.State, 'unknown');
    assert.equal(stored.Status.Addr, '127.0.0.1');
    assert.equal(stored.Description.Hostname, DESCRIPTION.Hostname);

    const task: Task = {
      ID: newId(),
      Version: { Index: 0 },
      CreatedAt: '',
      UpdatedAt: '',
      Spec: { ContainerSpec: { Image: 'busybox', Command: ['sleep', '1000'] } },
      ServiceID: 'service1',
      Slot: 1,
      NodeID: joined.nodeId,
      Status: { Timestamp: new Date().toISOString(), State: 'assigned', Message: 'assigned' },
      DesiredState: 'running',
    };
    await c.store.update((tx) => tx.create('task', task));

    agent = await startAgent(clientFor(c, joined));
    const cluster = c;
    await waitFor(() => cluster.node(joined.nodeId)?.Status.State === 'ready', 'the node to be ready');
    await waitFor(
      () => cluster.store.view((tx) => tx.get('task', task.ID))?.Status.State === 'running',
      'the assigned task to run',
    );
    assert.deepEqual(agent.executor.get(task.ID).calls, ['prepare', 'start', 'wait']);
    await waitFor(
      () => cluster.calls.filter((call) => call.method === 'heartbeat').length >= 2,
      'a second heartbeat',
    );

    // Every call the dispatcher saw was made as the node the certificate names, from its address.
    const methods = new Set(c.calls.map((call) => call.method));
    for (const method of ['session', 'heartbeat', 'assignments', 'logSubscriptions', 'updateTaskStatus']) {
      assert.ok(methods.has(method as never), `${method} went over the network`);
    }
    for (const call of c.calls) assert.deepEqual(call.peer, { nodeId: joined.nodeId, addr: '127.0.0.1' });
  });

  it('carries log subscriptions to the node and its lines back to the broker', async () => {
    c = await startCluster();
    const joined = await joinWorker(c);
    const taskId = newId();
    await c.store.update((tx) =>
      tx.create('task', {
        ID: taskId,
        Version: { Index: 0 },
        CreatedAt: '',
        UpdatedAt: '',
        Spec: { ContainerSpec: { Image: 'busybox' } },
        ServiceID: 'service1',
        Slot: 1,
        NodeID: joined.nodeId,
        Status: { Timestamp: new Date().toISOString(), State: 'assigned', Message: 'assigned' },
        DesiredState: 'running',
      }),
    );
    const executor = new FakeExecutor();
    executor.output.set(taskId, [
      { stream: 'stdout', timestamp: '2024-05-01T12:00:00.000000000Z', data: Buffer.from('hello\n') },
      { stream: 'stderr', timestamp: '2024-05-01T12:00:01.000000000Z', data: Buffer.from('oops\n') },
    ]);
    agent = await startAgent(clientFor(c, joined), executor);
    const cluster = c;
    await waitFor(
      () => cluster.store.view((tx) => tx.get('task', taskId))?.Status.State === 'running',
      'the task to run',
    );

    const lines: string[] = [];
    const controller = new AbortController();
    for await (const message of c.broker.subscribe(
      { taskIds: [taskId] },
      { follow: false, stdout: true, stderr: true },
      controller.signal,
    )) {
      assert.equal(message.context.nodeId, joined.nodeId);
      lines.push(`${message.stream}: ${message.line.toString('utf8')}`);
    }
    assert.deepEqual(lines, ['stdout: hello\n', 'stderr: oops\n']);
    assert.ok(c.calls.some((call) => call.method === 'publishLogs'));
  });

  it('a wrong token is refused with Docker message, and no node is created', async () => {
    c = await startCluster();
    const { digest } = parseJoinToken(c.tokens().Worker);
    const wrong = `SWMTKN-1-${digest}-${'0'.repeat(24)}1`;
    const nodesBefore = c.store.view((tx) => tx.list('node').length);
    const { error } = await outcome(joinWorker(c, wrong));
    assert.ok(error instanceof ShoalError);
    assert.equal(error.code, 'InvalidArgument');
    assert.equal(error.message, NO_VALID_TOKEN);
    assert.equal(error.apiMessage(), `rpc error: code = InvalidArgument desc = ${NO_VALID_TOKEN}`);
    assert.equal(error.status, 400);
    assert.equal(
      c.store.view((tx) => tx.list('node').length),
      nodesBefore,
    );
  });

  it('a rotated token stops working at once; nodes already in keep working', async () => {
    c = await startCluster();
    const old = c.tokens().Worker;
    const member = await joinWorker(c, old);

    const rotated = generateJoinToken(c.rootCAPem);
    await c.store.update((tx) => {
      const cluster = structuredClone(tx.get('cluster', c!.clusterId)!);
      cluster.JoinTokens.Worker = rotated;
      tx.update('cluster', cluster);
    });

    const { error } = await outcome(joinWorker(c, old));
    assert.ok(error instanceof ShoalError);
    assert.equal(error.message, NO_VALID_TOKEN);
    assert.equal((await joinWorker(c, rotated)).role, 'worker');

    // The member's certificate still opens its session.
    agent = await startAgent(clientFor(c, member));
    const cluster = c;
    await waitFor(() => cluster.node(member.nodeId)?.Status.State === 'ready', 'the member to be ready');
  });

  it('a CA whose digest does not match the token ends the join before the CSR is sent', async () => {
    c = await startCluster();
    const token = c.tokens().Worker;
    // A manager of another swarm (or a man in the middle) answering on the address the node was given.
    const impostor = await startCluster();
    const paths: string[] = [];
    const port = await freePort();
    const fake = http2.createSecureServer({
      cert: impostor.managerCredentials.certPem,
      key: impostor.managerCredentials.keyPem,
    });
    fake.on('stream', (stream, headers) => {
      paths.push(String(headers[':path']));
      stream.resume();
      stream.respond({ ':status': 200, 'content-type': 'application/json' });
      stream.end(JSON.stringify({ certificate: impostor.rootCAPem }));
    });
    await new Promise<void>((resolve) => fake.listen(port, '127.0.0.1', resolve));
    try {
      const { error } = await outcome(
        joinCluster({ managerAddr: `127.0.0.1:${port}`, token, availability: 'active' }),
      );
      assert.ok(error instanceof ShoalError);
      assert.equal(
        error.message,
        `remote CA does not match fingerprint. Expected: ${parseJoinToken(token).digestHex}`,
      );
      assert.deepEqual(paths, [CLUSTER_API_PATHS.rootCACertificate], 'nothing but the root CA request');
    } finally {
      await new Promise<void>((resolve) => fake.close(() => resolve()));
      await impostor.close();
    }
  });

  it('the manager token is refused while the datastore supports one manager only', async () => {
    c = await startCluster();
    const { error } = await outcome(joinWorker(c, c.tokens().Manager));
    assert.ok(error instanceof ShoalError);
    assert.equal(error.code, 'FailedPrecondition');
    assert.equal(error.message, MANAGER_JOIN_UNSUPPORTED);
    assert.equal(
      c.store.view((tx) => tx.list('node').length),
      1,
    );
  });

  it('a malformed token fails before anything is sent', async () => {
    // Nothing listens there: reaching the network would fail differently.
    const { error } = await outcome(
      joinCluster({ managerAddr: '127.0.0.1:1', token: 'SWMTKN-1-abc-def', availability: 'active' }),
    );
    assert.ok(error instanceof ShoalError);
    assert.equal(error.message, 'invalid join token');
  });

  it('an unreachable manager fails the join with Unavailable', async () => {
    c = await startCluster();
    const token = c.tokens().Worker;
    await c.close();
    const managerAddr = c.managerAddr;
    c = undefined;
    const { error } = await outcome(joinCluster({ managerAddr, token, availability: 'active' }));
    assert.ok(error instanceof ShoalError);
    assert.equal(error.code, 'Unavailable');
    assert.match(error.message, /ECONNREFUSED/);
  });
});
