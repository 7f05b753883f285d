// The Engine API server over a real unix socket with a scripted backend: version negotiation, the ping
// headers, error mapping and log stream framing, as the docker CLI sees them.

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { notFound, NOT_A_MANAGER, outOfSequence, unavailable } from '../../../src/api/errors.js';
import type { LogMessage } from '../../../src/api/control.js';
import type { ControlBackend, EngineBackend, SwarmInfo } from '../../../src/engineapi/backend.js';
import { EngineServer } from '../../../src/engineapi/server.js';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(socketPath: string, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { socketPath, method, path, headers: body ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const inactive: SwarmInfo = {
  NodeID: '',
  NodeAddr: '',
  LocalNodeState: 'inactive',
  ControlAvailable: false,
  Error: '',
  RemoteManagers: null,
};

function scriptedBackend(state: { manager: boolean }): EngineBackend {
  const lines: LogMessage[] = [
    {
      stream: 'stdout',
      timestamp: '2026-11-25T10:00:00.5Z',
      line: Buffer.from('hello\n'),
      context: { nodeId: 'n1', serviceId: 's1', taskId: 't1' },
    },
    {
      stream: 'stderr',
      timestamp: '2026-11-25T10:00:01.123456789Z',
      line: Buffer.from('oops\n'),
      context: { nodeId: 'n1', serviceId: 's1', taskId: 't1' },
    },
  ];
  const control = {
    inspectSwarm: async () => {
      throw outOfSequence();
    },
    getNode: async (ref: string) => {
      throw notFound(`node ${ref} not found`);
    },
    async *serviceLogs(ref: string) {
      if (ref !== 'web') throw notFound(`service ${ref} not found`);
      yield* lines;
    },
  } as unknown as ControlBackend;
  return {
    swarmInfo: async () =>
      state.manager
        ? { ...inactive, LocalNodeState: 'active', ControlAvailable: true, NodeID: 'n1' }
        : inactive,
    systemInfo: async () => ({
      name: 'host',
      ncpu: 2,
      memTotal: 1,
      kernelVersion: '6.1',
      operatingSystem: 'Debian',
      osVersion: '12',
      architecture: 'x86_64',
      dataRoot: '/var/lib/shoal',
      debug: false,
      labels: [],
      containers: { total: 0, running: 0, paused: 0, stopped: 0 },
      serverVersion: '0.1.0',
      plugins: { Volume: [], Network: [], Log: ['json-file'] },
      driver: 'shoal-process',
    }),
    init: async () => 'newnodeid',
    join: async () => {},
    leave: async () => {},
    unlock: async () => {
      throw unavailable('swarm is not locked');
    },
    control: () => {
      if (!state.manager) throw unavailable(NOT_A_MANAGER);
      return control;
    },
  };
}

describe('Engine API server', () => {
  let dir: string;
  let socket: string;
  let server: EngineServer;
  const state = { manager: false };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-api-'));
    socket = join(dir, 'api.sock');
    server = new EngineServer({
      backend: scriptedBackend(state),
      address: `unix://${socket}`,
      serverVersion: '0.1.0',
      log: () => {},
    });
    await server.listen();
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes the socket root-only', () => {
    assert.equal(statSync(socket).mode & 0o777, 0o600);
  });

  it('answers HEAD /_ping with the negotiation headers and no body', async () => {
    const res = await call(socket, 'HEAD', '/_ping');
    assert.equal(res.status, 200);
    assert.equal(res.headers['api-version'], '1.44');
    assert.equal(res.headers['ostype'], 'linux');
    assert.equal(res.headers['docker-experimental'], 'false');
    assert.equal(res.headers['swarm'], 'inactive');
    assert.equal(res.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(res.body.length, 0);
  });

  it('answers GET /_ping with OK and the swarm state', async () => {
    state.manager = true;
    try {
      const res = await call(socket, 'GET', '/_ping');
      assert.equal(res.body.toString(), 'OK');
      assert.equal(res.headers['swarm'], 'active/manager');
    } finally {
      state.manager = false;
    }
  });

  it('reports versions in /version', async () => {
    const res = await call(socket, 'GET', '/v1.41/version');
    const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
    assert.equal(body.ApiVersion, '1.44');
    assert.equal(body.MinAPIVersion, '1.24');
  });

  it('refuses versions above the maximum and below the minimum with Docker texts', async () => {
    const tooNew = await call(socket, 'GET', '/v1.99/info');
    assert.equal(tooNew.status, 400);
    assert.deepEqual(JSON.parse(tooNew.body.toString()), {
      message: 'client version 1.99 is too new. Maximum supported API version is 1.44',
    });
    const tooOld = await call(socket, 'GET', '/v1.12/info');
    assert.equal(tooOld.status, 400);
    assert.match(
      JSON.parse(tooOld.body.toString()).message,
      /^client version 1\.12 is too old\. Minimum supported API version is 1\.24/,
    );
  });

  it('serves unversioned paths', async () => {
    const res = await call(socket, 'GET', '/info');
    assert.equal(res.status, 200);
    assert.equal((JSON.parse(res.body.toString()) as { Swarm: SwarmInfo }).Swarm.LocalNodeState, 'inactive');
  });

  it('answers swarm calls on a node outside any swarm with 503', async () => {
    const res = await call(socket, 'GET', '/v1.41/nodes');
    assert.equal(res.status, 503);
    assert.equal(JSON.parse(res.body.toString()).message, NOT_A_MANAGER);
  });

  it('maps typed errors to status codes, keeping the rpc prefix where Docker shows it', async () => {
    state.manager = true;
    try {
      const missing = await call(socket, 'GET', '/v1.41/nodes/nosuch');
      assert.equal(missing.status, 404);
      assert.equal(JSON.parse(missing.body.toString()).message, 'node nosuch not found');
      const stale = await call(socket, 'GET', '/v1.41/swarm');
      assert.equal(stale.status, 500);
      assert.equal(
        JSON.parse(stale.body.toString()).message,
        'rpc error: code = Unknown desc = update out of sequence',
      );
    } finally {
      state.manager = false;
    }
  });

  it('refuses malformed JSON bodies with Go decoder texts', async () => {
    const truncated = await call(socket, 'POST', '/v1.41/swarm/init', '{"ListenAddr":"0.0.0.0:2377"');
    assert.equal(truncated.status, 400);
    assert.equal(JSON.parse(truncated.body.toString()).message, 'unexpected EOF');
    const garbage = await call(socket, 'POST', '/v1.41/swarm/init', 'garbage');
    assert.equal(
      JSON.parse(garbage.body.toString()).message,
      "invalid character 'g' looking for beginning of value",
    );
  });

  it('answers unknown routes with 404 and a JSON message', async () => {
    const res = await call(socket, 'GET', '/v1.41/nosuch');
    assert.equal(res.status, 404);
    assert.equal(res.headers['content-type'], 'application/json');
  });

  it('frames log streams as Docker does, with timestamps and details', async () => {
    state.manager = true;
    try {
      const res = await call(
        socket,
        'GET',
        '/v1.41/services/web/logs?stdout=1&stderr=1&timestamps=1&details=1',
      );
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], undefined, 'API 1.41 sends no content type for log streams');
      const frames: { stream: number; payload: string }[] = [];
      for (let at = 0; at < res.body.length;) {
        const size = res.body.readUInt32BE(at + 4);
        frames.push({ stream: res.body[at]!, payload: res.body.subarray(at + 8, at + 8 + size).toString() });
        at += 8 + size;
      }
      assert.deepEqual(frames, [
        {
          stream: 1,
          payload:
            '2026-11-25T10:00:00.500000000Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 hello\n',
        },
        {
          stream: 2,
          payload:
            '2026-11-25T10:00:01.123456789Z com.docker.swarm.node.id=n1,com.docker.swarm.service.id=s1,com.docker.swarm.task.id=t1 oops\n',
        },
      ]);
      const missing = await call(socket, 'GET', '/v1.41/services/nosuch/logs?stdout=1');
      assert.equal(missing.status, 404, 'an unknown service is a 404, not a broken stream');
    } finally {
      state.manager = false;
    }
  });
});
