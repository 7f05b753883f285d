// The Engine API's part in `--with-registry-auth` and digest pinning, over a real unix socket with a
// scripted backend: the X-Registry-Auth header reaches the control API (and nothing else), and
// `GET /distribution/{name}/json` goes to the node's engine when there is one, with the credentials.

import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type {
  ControlBackend,
  EngineBackend,
  ServiceCreateOptions,
  ServiceUpdateOptions,
} from '../../../src/engineapi/backend.js';
import { EngineServer } from '../../../src/engineapi/server.js';

interface Reply {
  status: number;
  json: { message?: string } & Record<string, unknown>;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  options: { body?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as Reply['json']) : {} });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const AUTH = Buffer.from('{"username":"u","password":"p"}').toString('base64url');

describe('Engine API: registry credentials and /distribution', () => {
  const dir = mkdtempSync(join(tmpdir(), 'shoal-api-registry-'));
  const servers: EngineServer[] = [];
  const logged: string[] = [];
  const creates: ServiceCreateOptions[] = [];
  const updates: ServiceUpdateOptions[] = [];
  const asked: { name: string; registryAuth: string | undefined }[] = [];

  function serve(name: string, withEngine: boolean): Promise<string> {
    const control = {
      createService: async (_spec: unknown, _version: string, options: ServiceCreateOptions = {}) => {
        creates.push(options);
        return { ID: 'svc1' };
      },
      updateService: async (_ref: string, _v: number, _spec: unknown, options: ServiceUpdateOptions) => {
        updates.push(options);
        return { Warnings: null };
      },
    } as unknown as ControlBackend;
    const backend = { control: () => control } as unknown as EngineBackend;
    const socket = join(dir, `${name}.sock`);
    const server = new EngineServer({
      backend,
      address: `unix://${socket}`,
      ...(withEngine ? { engineHost: `unix://${engineSocket}` } : {}),
      serverVersion: '0.1.0',
      log: (level, msg, fields) => logged.push(JSON.stringify({ level, msg, fields })),
    });
    servers.push(server);
    return server.listen().then(() => socket);
  }

  // A stand-in for the node's engine: answers `/distribution` as dockerd does, recording what it was asked.
  const engineSocket = join(dir, 'dockerd.sock');
  const fakeEngine = createServer((req, res) => {
    if (req.url === '/_ping' || req.url?.endsWith('/_ping')) {
      res.writeHead(200, { 'Api-Version': '1.41' }).end('OK');
      return;
    }
    const m = /^\/v[\d.]+\/distribution\/(.+)\/json$|^\/distribution\/(.+)\/json$/.exec(req.url ?? '');
    const image = m?.[1] ?? m?.[2] ?? '';
    asked.push({ name: image, registryAuth: req.headers['x-registry-auth'] as string | undefined });
    if (image.startsWith('private.test/')) {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'unauthorized: authentication required' }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ Descriptor: { digest: 'sha256:' + 'd'.repeat(64), size: 1 }, Platforms: [] }));
  });

  let plain: string;
  let engine: string;
  before(async () => {
    await new Promise<void>((resolve) => fakeEngine.listen(engineSocket, resolve));
    plain = await serve('plain', false);
    engine = await serve('engine', true);
  });
  after(async () => {
    for (const server of servers) await server.close();
    await new Promise((resolve) => fakeEngine.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes X-Registry-Auth and registryAuthFrom to the control API', async () => {
    const body = JSON.stringify({ Name: 'web', TaskTemplate: { ContainerSpec: { Image: 'busybox' } } });
    const headers = { 'Content-Type': 'application/json', 'X-Registry-Auth': AUTH };
    assert.equal((await call(plain, 'POST', '/v1.41/services/create', { body, headers })).status, 201);
    assert.equal((await call(plain, 'POST', '/v1.41/services/create', { body })).status, 201);
    assert.deepEqual(creates.splice(0), [{ registryAuth: AUTH }, {}]);
    await call(plain, 'POST', '/v1.41/services/svc1/update?version=3', { body, headers });
    await call(plain, 'POST', '/v1.41/services/svc1/update?version=3&registryAuthFrom=previous-spec', {
      body,
    });
    await call(plain, 'POST', '/v1.41/services/svc1/update?version=3&rollback=previous', { body });
    assert.deepEqual(updates.splice(0), [
      { registryAuth: AUTH },
      { registryAuthFrom: 'previous-spec' },
      { rollback: 'previous' },
    ]);
    assert.ok(!logged.join('\n').includes(AUTH), 'the header is never logged');
  });

  it('without an engine: checks the name as dockerd does, then fails so that the CLI warns', async () => {
    const res = await call(plain, 'GET', '/v1.41/distribution/registry.test:5000/busybox:1/json', {
      headers: { 'X-Registry-Auth': AUTH },
    });
    assert.equal(res.status, 501);
    assert.equal(
      res.json.message,
      'cannot look up registry.test:5000/busybox:1 on its registry: this node has no container engine (its executor does not pull images)',
    );
    const bad = await call(plain, 'GET', '/v1.41/distribution/Busybox/json');
    assert.equal(bad.status, 400);
    assert.equal(
      bad.json.message,
      'invalid reference format: repository name (library/Busybox) must be lowercase',
    );
    const id = await call(plain, 'GET', `/v1.41/distribution/${'e'.repeat(64)}/json`);
    assert.equal(id.status, 500);
    assert.equal(id.json.message, 'no manifest found for full image ID');
    assert.equal((await call(plain, 'POST', '/v1.41/distribution/busybox/json')).status, 404);
  });

  it('with an engine: passed to it with the credentials, names with slashes included', async () => {
    const res = await call(engine, 'GET', '/v1.41/distribution/registry.test:5000/team/app:2/json', {
      headers: { 'X-Registry-Auth': AUTH },
    });
    assert.equal(res.status, 200);
    assert.equal((res.json.Descriptor as { digest: string }).digest, 'sha256:' + 'd'.repeat(64));
    const refused = await call(engine, 'GET', '/distribution/private.test/app/json');
    assert.equal(refused.status, 401);
    assert.equal(refused.json.message, 'unauthorized: authentication required');
    assert.deepEqual(asked, [
      { name: 'registry.test:5000/team/app:2', registryAuth: AUTH },
      { name: 'private.test/app', registryAuth: undefined },
    ]);
  });
});
