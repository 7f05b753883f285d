// The node's engine behind shoal's socket, against a fake engine (an HTTP server on a unix socket in the
// test): what is passed through and how (path, version, headers), streaming both ways without buffering,
// the framing of answers, hijacked connections (101 and half-close, websocket, an engine's refusal),
// what stays shoal's, `/info`'s counts, the engine's events merged into `/events`, and an engine that is
// missing or silent. Every wait is on data or on a state, never on time.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { EventMessage } from '../../../src/api/control.js';
import { NOT_A_MANAGER, unavailable } from '../../../src/api/errors.js';
import type { ControlBackend, EngineBackend, SwarmInfo } from '../../../src/engineapi/backend.js';
import { endToEndHeaders, parseEngineHost } from '../../../src/engineapi/engine-proxy.js';
import { unixSeconds } from '../../../src/engineapi/engine-events.js';
import { EngineServer } from '../../../src/engineapi/server.js';
import { EventHistory } from '../../../src/manager/events/history.js';

const S = 1_000_000_000n;

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** Parses dockerd's `seconds.nanoseconds`. */
function nanos(text: string): bigint {
  const [sec, frac = ''] = text.split('.');
  return BigInt(sec!) * S + BigInt(frac.padEnd(9, '0'));
}

function engineEvent(id: string, timeNano: bigint): string {
  return (
    `{"status":"start","id":"${id}","from":"bb:1","Type":"container","Action":"start",` +
    `"Actor":{"ID":"${id}","Attributes":{"image":"bb:1","name":"${id}"}},"scope":"local",` +
    `"time":${timeNano / S},"timeNano":${timeNano}}\n`
  );
}

function swarmEvent(name: string, timeNano: bigint): EventMessage {
  return {
    Type: 'service',
    Action: 'update',
    Actor: { ID: `id-${name}`, Attributes: { name } },
    scope: 'swarm',
    time: Number(timeNano / S),
    timeNano,
  };
}

/** A stand-in for dockerd: a few of its endpoints, each doing what the test needs to see. */
class FakeEngine {
  readonly socketPath: string;
  readonly seen: Seen[] = [];
  readonly server: Server;
  apiVersion = '1.41';
  /** Events it remembers, for `since`/`until`. */
  readonly past: { line: string; timeNano: bigint }[] = [];
  readonly eventStreams = new Set<ServerResponse>();
  private readonly waiters: (() => void)[] = [];
  private logsNext: (() => void) | undefined;
  /** Bytes of the load body received so far. */
  loadReceived = 0;
  logsClosed = false;
  private readonly hijacked = new Set<Duplex>();

  constructor(dir: string) {
    this.socketPath = join(dir, 'engine.sock');
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(this.socketPath, resolve));
  }

  async close(): Promise<void> {
    for (const socket of this.hijacked) socket.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves once `condition` holds (checked at each thing the engine sees). */
  async until(condition: () => boolean): Promise<void> {
    while (!condition()) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  private changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  requests(path: string): Seen[] {
    return this.seen.filter((s) => s.url.split('?')[0] === path);
  }

  sendLogLine(): void {
    this.logsNext?.();
  }

  emit(line: string): void {
    for (const res of this.eventStreams) res.write(line);
  }

  breakEventStreams(): void {
    for (const res of this.eventStreams) res.destroy();
    this.eventStreams.clear();
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    this.changed();
    res.setHeader('Server', 'Docker/20.10.24 (linux)');
    res.setHeader('Api-Version', this.apiVersion);
    const url = new URL(req.url!, 'http://engine');
    const path = url.pathname.replace(/^\/v\d+\.\d+/, '');
    const json = (status: number, body: unknown): void => {
      const text = JSON.stringify(body) + '\n';
      res.writeHead(status, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(text),
      });
      res.end(text);
    };
    if (path === '/_ping') {
      res.end('OK');
    } else if (path === '/containers/json') {
      res.setHeader('X-Engine', 'yes');
      json(200, [{ Id: 'c1' }]);
    } else if (path === '/info') {
      json(200, {
        Containers: 7,
        ContainersRunning: 5,
        ContainersPaused: 0,
        ContainersStopped: 2,
        Images: 3,
      });
    } else if (path === '/images/load') {
      const hash = createHash('sha256');
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        this.loadReceived += chunk.length;
        this.changed();
      });
      req.on('end', () =>
        json(200, {
          bytes: this.loadReceived,
          sha256: hash.digest('hex'),
          length: req.headers['content-length'],
        }),
      );
    } else if (path === '/images/refuse') {
      // Refuses at once, without reading the body, and closes its side as Go's server does with a big
      // unread body (a FIN after the answer; the socket itself goes a little later).
      res.shouldKeepAlive = false;
      json(400, { message: 'refused before reading' });
      res.on('finish', () => req.socket.end());
    } else if (path === '/containers/c1/logs') {
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.multiplexed-stream' });
      res.write('one\n');
      res.on('close', () => {
        this.logsClosed = true;
        this.changed();
      });
      this.logsNext = () => {
        this.logsNext = undefined;
        res.end('two\n');
      };
    } else if (path === '/containers/c1/archive' && req.method === 'HEAD') {
      res.writeHead(200, { 'X-Docker-Container-Path-Stat': 'eyJuYW1lIjoiZiJ9', 'Content-Length': '0' });
      res.end();
    } else if (path === '/containers/old/attach') {
      // An old client's hijack: 200 and a raw stream that ends with the connection.
      req.socket.end('HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw output');
    } else if (path === '/containers/slow/wait') {
      const timer = setTimeout(() => json(200, { StatusCode: 0 }), 300);
      res.on('close', () => clearTimeout(timer));
    } else if (path === '/events') {
      const since = url.searchParams.get('since');
      const until = url.searchParams.get('until');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      if (since !== null || until !== null) {
        for (const e of this.past) {
          if (since !== null && e.timeNano < nanos(since)) continue;
          if (until !== null && e.timeNano > nanos(until)) continue;
          res.write(e.line);
        }
      }
      if (until !== null) {
        // dockerd ends the stream at until (at once when it has passed).
        const leftMs = Number((nanos(until) - BigInt(Date.now()) * 1_000_000n) / 1_000_000n);
        if (leftMs <= 0) {
          res.end();
          return;
        }
        const timer = setTimeout(() => res.end(), leftMs);
        res.on('close', () => clearTimeout(timer));
      }
      this.eventStreams.add(res);
      res.on('close', () => {
        this.eventStreams.delete(res);
        this.changed();
      });
      this.changed();
    } else {
      json(404, { message: 'page not found' });
    }
  }

  /** Hijacks: an echo in capitals after the request body, `EOF` once the client half-closes. */
  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.seen.push({ method: req.method!, url: req.url!, headers: req.headers });
    this.changed();
    this.hijacked.add(socket);
    socket.on('close', () => this.hijacked.delete(socket));
    const path = req.url!.replace(/^\/v\d+\.\d+/, '');
    if (path.startsWith('/containers/missing/')) {
      const body = '{"message":"No such container: missing"}\n';
      socket.write(
        `HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    const websocket = req.headers.upgrade === 'websocket';
    socket.write(
      websocket
        ? 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'
        : 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    let bodyLeft = Number(req.headers['content-length'] ?? 0);
    let body = '';
    const take = (chunk: Buffer): void => {
      const inBody = chunk.subarray(0, bodyLeft);
      body += inBody.toString();
      bodyLeft -= inBody.length;
      if (bodyLeft === 0 && inBody.length > 0) socket.write(`body=${body}\n`);
      const rest = chunk.subarray(inBody.length);
      if (rest.length > 0) socket.write(rest.toString().toUpperCase());
    };
    if (head.length > 0) take(head);
    socket.on('data', take);
    socket.on('end', () => socket.end('EOF\n'));
  }
}

/** A raw connection to shoal's socket, read as it comes. */
class RawClient {
  readonly socket: Socket;
  text = '';
  ended = false;
  private wake: (() => void) | undefined;

  constructor(socketPath: string) {
    this.socket = connect({ path: socketPath, allowHalfOpen: true });
    this.socket.setEncoding('latin1');
    this.socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.wake?.();
    });
    this.socket.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  async waitFor(condition: (text: string) => boolean, what: string): Promise<void> {
    while (!condition(this.text)) {
      if (this.ended) assert.fail(`connection ended before ${what}; got ${JSON.stringify(this.text)}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async waitForEnd(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
  }
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

function call(
  socketPath: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function open(socketPath: string, path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method: 'GET', path }, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Reads a streaming answer line by line, waiting for each. */
class Lines {
  private buffer = '';
  private readonly lines: string[] = [];
  private wake: (() => void) | undefined;
  ended = false;

  constructor(res: IncomingMessage) {
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        this.lines.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
      this.wake?.();
    });
    res.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
  }

  async next(): Promise<string | undefined> {
    while (this.lines.length === 0 && !this.ended) await new Promise<void>((r) => (this.wake = r));
    return this.lines.shift();
  }

  async rest(): Promise<string[]> {
    const out: string[] = [];
    for (let line = await this.next(); line !== undefined; line = await this.next()) out.push(line);
    return out;
  }
}

const inactive: SwarmInfo = {
  NodeID: '',
  NodeAddr: '',
  LocalNodeState: 'inactive',
  ControlAvailable: false,
  Error: '',
  RemoteManagers: null,
};

function backend(history: EventHistory, state: { manager: boolean }): EngineBackend {
  const control = {
    subscribeEvents: (req, listener) => history.subscribe(req, listener),
    listNetworks: async () => [],
  } as Partial<ControlBackend> as ControlBackend;
  return {
    swarmInfo: async () => inactive,
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
      containers: { total: 1, running: 1, paused: 0, stopped: 0 },
      serverVersion: '0.1.0',
      plugins: { Volume: [], Network: [], Log: ['json-file'] },
      driver: 'shoal-process',
    }),
    init: async () => 'id',
    join: async () => {},
    leave: async () => {},
    unlock: async () => {},
    control: () => {
      if (!state.manager) throw unavailable(NOT_A_MANAGER);
      return control;
    },
  };
}

async function startShoal(
  dir: string,
  name: string,
  history: EventHistory,
  state: { manager: boolean },
  engineHost?: string,
  /** How long a probe of the engine may take: short for an engine that never answers, else generous. */
  probeTimeoutMs = 5_000,
): Promise<{ server: EngineServer; socket: string }> {
  const socket = join(dir, `${name}.sock`);
  const server = new EngineServer({
    backend: backend(history, state),
    address: `unix://${socket}`,
    serverVersion: '0.1.0',
    log: () => {},
    ...(engineHost ? { engineHost } : {}),
    engineTimings: { probeAfterMs: 50, probeTimeoutMs, eventsReconnectMs: 20 },
  });
  await server.listen();
  return { server, socket };
}

describe('the engine behind shoal’s socket', () => {
  let dir: string;
  let engine: FakeEngine;
  let shoal: { server: EngineServer; socket: string };
  let history: EventHistory;
  const state = { manager: true };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-proxy-'));
    engine = new FakeEngine(dir);
    await engine.listen();
    history = new EventHistory();
    shoal = await startShoal(dir, 'shoal', history, state, `unix://${engine.socketPath}`);
  });
  after(async () => {
    await shoal.server.close();
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes what shoal does not serve to the engine, with its query and end-to-end headers', async () => {
    const query = `all=1&filters=${encodeURIComponent('{"label":{"a=b":true}}')}`;
    const res = await call(shoal.socket, 'GET', `/v1.41/containers/json?${query}`, {
      headers: {
        Connection: 'keep-alive, X-Hop',
        'X-Hop': 'dropped',
        'Keep-Alive': 'timeout=5',
        'X-Registry-Auth': 'e30=',
        'User-Agent': 'Docker-Client/28.2.2 (linux)',
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), [{ Id: 'c1' }]);
    // The answer is the engine's, its headers included.
    assert.equal(res.headers['x-engine'], 'yes');
    assert.equal(res.headers['server'], 'Docker/20.10.24 (linux)');
    assert.equal(res.headers['api-version'], '1.41');
    const seen = engine.requests('/v1.41/containers/json').at(-1)!;
    assert.equal(seen.url, `/v1.41/containers/json?${query}`);
    assert.equal(seen.headers['x-registry-auth'], 'e30=');
    assert.equal(seen.headers['user-agent'], 'Docker-Client/28.2.2 (linux)');
    assert.equal(seen.headers['x-hop'], undefined);
    assert.equal(seen.headers['keep-alive'], undefined);
  });

  it('keeps the version prefix the client sent, lowering one the engine does not have to its newest', async () => {
    await call(shoal.socket, 'GET', '/v1.44/containers/json?all=1');
    await call(shoal.socket, 'GET', '/v1.30/containers/json');
    await call(shoal.socket, 'GET', '/containers/json');
    const urls = engine.seen
      .filter((s) => s.url !== '/_ping')
      .slice(-3)
      .map((s) => s.url);
    assert.deepEqual(urls, ['/v1.41/containers/json?all=1', '/v1.30/containers/json', '/containers/json']);
  });

  it("keeps shoal's own routes: /_ping, /version, swarm calls; /info counts the engine's containers", async () => {
    const before = engine.seen.length;
    const ping = await call(shoal.socket, 'GET', '/_ping');
    assert.equal(ping.headers['api-version'], '1.44');
    assert.equal(ping.headers['swarm'], 'inactive');
    const version = await call(shoal.socket, 'GET', '/v1.44/version');
    assert.equal(JSON.parse(version.body).Platform.Name, 'shoal');
    state.manager = false;
    try {
      const nodes = await call(shoal.socket, 'GET', '/v1.44/nodes');
      assert.equal(nodes.status, 503);
      assert.equal(JSON.parse(nodes.body).message, NOT_A_MANAGER);
    } finally {
      state.manager = true;
    }
    const info = JSON.parse((await call(shoal.socket, 'GET', '/v1.44/info')).body) as Record<string, unknown>;
    assert.equal(info.ServerVersion, '0.1.0');
    assert.deepEqual(
      [info.Containers, info.ContainersRunning, info.ContainersPaused, info.ContainersStopped, info.Images],
      [7, 5, 0, 2, 3],
    );
    assert.equal(info.Warnings, null);
    // The engine saw shoal's own question for its counts, nothing else.
    assert.deepEqual(
      engine.seen
        .slice(before)
        .map((s) => s.url)
        .filter((url) => url !== '/_ping'),
      ['/info'],
    );
  });

  it('streams a chunked request body to the engine as it comes', async () => {
    engine.loadReceived = 0;
    const hash = createHash('sha256');
    const answer = new Promise<Reply>((resolve, reject) => {
      const req = request(
        { socketPath: shoal.socket, method: 'POST', path: '/v1.44/images/load?quiet=1' },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      void (async () => {
        const chunk = Buffer.alloc(1 << 20, 7);
        hash.update(chunk);
        req.write(chunk);
        // The engine has the first MiB while the client has not sent the rest: nothing waits for the end.
        await engine.until(() => engine.loadReceived === chunk.length);
        for (let i = 0; i < 24; i++) {
          const more = Buffer.alloc(1 << 20, i);
          hash.update(more);
          if (!req.write(more)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })();
    });
    const res = await answer;
    assert.equal(res.status, 200);
    const body = JSON.parse(res.body) as { bytes: number; sha256: string; length?: string };
    assert.equal(body.bytes, 25 << 20);
    assert.equal(body.sha256, hash.digest('hex'));
    assert.equal(body.length, undefined);
  });

  it('passes a request body with its length', async () => {
    engine.loadReceived = 0;
    const text = 'x'.repeat(100_000);
    const res = await call(shoal.socket, 'POST', '/v1.44/images/load', {
      headers: { 'Content-Type': 'application/x-tar' },
      body: text,
    });
    const body = JSON.parse(res.body) as { bytes: number; length?: string };
    assert.deepEqual([body.bytes, body.length], [100_000, '100000']);
  });

  it('passes on the answer of an engine that refuses a body before reading it', async () => {
    const res = await call(shoal.socket, 'POST', '/v1.44/images/refuse', {
      headers: { 'Content-Type': 'application/x-tar' },
      body: 'y'.repeat(8 << 20),
    });
    assert.equal(res.status, 400);
    assert.deepEqual(JSON.parse(res.body), { message: 'refused before reading' });
  });

  it('asks the engine to keep the connection (which shoal closes), so that it never closes mid-request', () => {
    assert.equal(engine.requests('/v1.41/containers/json').at(-1)!.headers.connection, 'keep-alive');
  });

  it('streams a chunked answer chunk by chunk, and stops the engine when the client leaves', async () => {
    const res = await open(shoal.socket, '/v1.44/containers/c1/logs?follow=1&stdout=1');
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    const lines = new Lines(res);
    // The first chunk arrives while the engine is still holding the second.
    assert.equal(await lines.next(), 'one');
    engine.sendLogLine();
    assert.equal(await lines.next(), 'two');
    assert.equal(await lines.next(), undefined);

    engine.logsClosed = false;
    const again = await open(shoal.socket, '/v1.44/containers/c1/logs?follow=1&stdout=1');
    const more = new Lines(again);
    assert.equal(await more.next(), 'one');
    again.destroy();
    await engine.until(() => engine.logsClosed);
  });

  it('answers HEAD with the headers and no body', async () => {
    const res = await call(shoal.socket, 'HEAD', '/v1.44/containers/c1/archive?path=%2Ff');
    assert.equal(res.status, 200);
    assert.equal(res.headers['x-docker-container-path-stat'], 'eyJuYW1lIjoiZiJ9');
    assert.equal(res.body, '');
  });

  it('passes a raw stream that ends with the connection as such (an old client’s attach)', async () => {
    const client = new RawClient(shoal.socket);
    client.socket.write(
      'POST /v1.24/containers/old/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: docker\r\n\r\n',
    );
    await client.waitForEnd();
    const [head, body] = client.text.split('\r\n\r\n');
    assert.match(head!, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(head!, /content-type: application\/vnd\.docker\.raw-stream/i);
    assert.doesNotMatch(head!, /transfer-encoding|content-length/i);
    assert.equal(body, 'raw output');
  });

  it('splices a hijacked exec both ways, passing on the client’s half-close', async () => {
    const client = new RawClient(shoal.socket);
    const body = '{"Detach":false,"Tty":false}';
    client.socket.write(
      'POST /v1.44/exec/e1/start HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: Docker-Client/28.2.2 (linux)\r\n' +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` +
        `Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n${body}`,
    );
    await client.waitFor((t) => t.includes('\r\n\r\n'), 'the 101');
    assert.match(client.text, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(client.text, /Upgrade: tcp\r\n/);
    await client.waitFor((t) => t.includes(`body=${body}\n`), 'the request body at the engine');
    // Interactive: each write comes back before the next is sent.
    client.socket.write('hello ');
    await client.waitFor((t) => t.endsWith('HELLO '), 'the first echo');
    client.socket.write('world');
    await client.waitFor((t) => t.endsWith('WORLD'), 'the second echo');
    // stdin's end: the engine sees it and still answers, and then the connection ends.
    client.socket.end();
    await client.waitForEnd();
    assert.ok(client.text.endsWith('WORLDEOF\n'), client.text);
    const seen = engine.requests('/v1.41/exec/e1/start').at(-1)!;
    assert.equal(seen.headers.upgrade, 'tcp');
    assert.equal(seen.headers.host, 'api.moby.localhost');
  });

  it('splices the websocket attach', async () => {
    const client = new RawClient(shoal.socket);
    client.socket.write(
      'GET /v1.44/containers/ws/attach/ws?stream=1&stdin=1 HTTP/1.1\r\nHost: docker\r\n' +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    await client.waitFor((t) => t.includes('\r\n\r\n'), 'the 101');
    assert.match(client.text, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    client.socket.write('frame');
    await client.waitFor((t) => t.endsWith('FRAME'), 'the echo');
    client.socket.destroy();
    assert.equal(
      engine.requests('/v1.41/containers/ws/attach/ws').at(-1)!.headers['sec-websocket-version'],
      '13',
    );
  });

  it("passes on the engine's refusal of a hijack", async () => {
    const client = new RawClient(shoal.socket);
    client.socket.write(
      'POST /v1.44/containers/missing/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    await client.waitFor((t) => t.endsWith('\n') && t.includes('No such container'), 'the 404');
    assert.match(client.text, /^HTTP\/1\.1 404 Not Found\r\n/);
    client.socket.destroy();
  });

  it('refuses to upgrade a connection to one of shoal’s own routes', async () => {
    const client = new RawClient(shoal.socket);
    client.socket.write(
      'GET /v1.44/nodes HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    await client.waitForEnd();
    assert.match(client.text, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(client.text, /GET \/v1\.44\/nodes does not upgrade the connection/);
  });

  it('merges the engine’s new events into the stream of swarm events', async () => {
    const filters = JSON.stringify({ type: { container: true, service: true } });
    const res = await open(shoal.socket, `/v1.44/events?filters=${encodeURIComponent(filters)}`);
    assert.equal(res.statusCode, 200);
    const lines = new Lines(res);
    await engine.until(() => engine.eventStreams.size === 1);
    const seen = engine.requests('/v1.41/events').at(-1)!;
    assert.equal(new URL(seen.url, 'http://x').searchParams.get('filters'), filters);
    assert.equal(new URL(seen.url, 'http://x').searchParams.get('since'), null);
    engine.emit(engineEvent('c-live', 2_000n * S));
    assert.match((await lines.next())!, /"id":"c-live"/);
    history.publish(swarmEvent('web', 2_001n * S));
    assert.match((await lines.next())!, /"ID":"id-web"/);
    res.destroy();
    await engine.until(() => engine.eventStreams.size === 0);
  });

  it('interleaves the past events of both by time, with the window passed to the engine', async () => {
    engine.past.push({ line: engineEvent('c-150', 150n * S), timeNano: 150n * S });
    engine.past.push({ line: engineEvent('c-250', 250n * S), timeNano: 250n * S });
    history.publish(swarmEvent('s-100', 100n * S));
    history.publish(swarmEvent('s-200', 200n * S));
    history.publish(swarmEvent('s-300', 300n * S));
    const res = await open(shoal.socket, '/v1.44/events?since=1970-01-01T00:02:00Z&until=280');
    const ids = (await new Lines(res).rest()).map((l) => /"ID":"([^"]+)"/.exec(l)![1]);
    assert.deepEqual(ids, ['c-150', 'id-s-200', 'c-250']);
    const query = new URL(engine.requests('/v1.41/events').at(-1)!.url, 'http://x').searchParams;
    assert.deepEqual([query.get('since'), query.get('until')], ['120.000000000', '280.000000000']);
  });

  it('replays the past of both, then follows both, and follows the engine again after its stream broke', async () => {
    const res = await open(shoal.socket, '/v1.44/events?since=260');
    const lines = new Lines(res);
    assert.match((await lines.next())!, /"ID":"id-s-300"/);
    await engine.until(() => engine.eventStreams.size === 1);
    // The live request starts just after the moment the past was read up to.
    const live = new URL(engine.requests('/v1.41/events').at(-1)!.url, 'http://x').searchParams;
    assert.equal(live.get('until'), null);
    assert.ok(nanos(live.get('since')!) > 300n * S);
    const t = BigInt(Date.now()) * 1_000_000n;
    engine.emit(engineEvent('c-a', t));
    assert.match((await lines.next())!, /"id":"c-a"/);
    // The engine goes away: its stream is opened again, from just after the last event seen.
    engine.breakEventStreams();
    await engine.until(() => engine.eventStreams.size === 1);
    const resumed = new URL(engine.requests('/v1.41/events').at(-1)!.url, 'http://x').searchParams;
    assert.equal(resumed.get('since'), unixSeconds(t + 1n));
    engine.emit(engineEvent('c-b', t + 5n));
    assert.match((await lines.next())!, /"id":"c-b"/);
    res.destroy();
    await engine.until(() => engine.eventStreams.size === 0);
  });

  it('waits for a slow engine that answers its pings', async () => {
    const res = await call(shoal.socket, 'POST', '/v1.44/containers/slow/wait');
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body), { StatusCode: 0 });
  });
});

describe('the engine behind shoal’s socket, missing or silent', () => {
  let dir: string;
  let silent: NetServer;
  const held: Socket[] = [];
  let missing: { server: EngineServer; socket: string };
  let mute: { server: EngineServer; socket: string };
  let stalling: { server: EngineServer; socket: string };
  let stallingEngine: Server;
  let none: { server: EngineServer; socket: string };
  const history = new EventHistory();
  const state = { manager: true };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shoal-proxy-'));
    // Accepts connections and never answers: a stopped engine.
    silent = createNetServer((socket) => held.push(socket));
    await new Promise<void>((resolve) => silent.listen(join(dir, 'silent.sock'), resolve));
    missing = await startShoal(dir, 'missing', history, state, `unix://${join(dir, 'nothing.sock')}`);
    mute = await startShoal(dir, 'mute', history, state, `unix://${join(dir, 'silent.sock')}`, 50);
    // Answers its /_ping until the first other call, and then nothing at all: an engine that stops.
    let stalled = false;
    stallingEngine = createServer((req, res) => {
      if (stalled) return;
      if (req.url === '/_ping') {
        res.setHeader('Api-Version', '1.41');
        res.end('OK');
        return;
      }
      stalled = true;
    });
    await new Promise<void>((resolve) => stallingEngine.listen(join(dir, 'stalling-engine.sock'), resolve));
    stalling = await startShoal(
      dir,
      'stalling',
      history,
      state,
      `unix://${join(dir, 'stalling-engine.sock')}`,
      50,
    );
    none = await startShoal(dir, 'none', history, state);
  });
  after(async () => {
    for (const s of [missing, mute, stalling, none]) await s?.server.close();
    stallingEngine?.closeAllConnections();
    await new Promise<void>((resolve) =>
      stallingEngine ? stallingEngine.close(() => resolve()) : resolve(),
    );
    for (const socket of held) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 502 naming the engine when it cannot be reached', async () => {
    const res = await call(missing.socket, 'GET', '/v1.44/containers/json');
    assert.equal(res.status, 502);
    assert.equal(
      JSON.parse(res.body).message,
      `the node's engine at unix://${join(dir, 'nothing.sock')} is not reachable: connect ENOENT ${join(dir, 'nothing.sock')}`,
    );
    const client = new RawClient(missing.socket);
    client.socket.write(
      'POST /v1.44/exec/e1/start HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    await client.waitForEnd();
    assert.match(client.text, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(client.text, /is not reachable: connect ENOENT/);
  });

  it('answers 504 naming the engine when it accepts but does not answer', async () => {
    const res = await call(mute.socket, 'GET', '/v1.44/containers/json');
    assert.equal(res.status, 504);
    assert.equal(
      JSON.parse(res.body).message,
      `the node's engine at unix://${join(dir, 'silent.sock')} does not answer: no answer to /_ping within 0.05s`,
    );
    const client = new RawClient(mute.socket);
    client.socket.write(
      'POST /v1.44/containers/c/attach HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n',
    );
    await client.waitForEnd();
    assert.match(client.text, /^HTTP\/1\.1 504 Gateway Timeout\r\n/);
  });

  it('answers 504 when an engine stops answering while a request waits (its /_ping is probed)', async () => {
    const res = await call(stalling.socket, 'POST', '/v1.44/containers/c/wait');
    assert.equal(res.status, 504);
    assert.equal(
      JSON.parse(res.body).message,
      `the node's engine at unix://${join(dir, 'stalling-engine.sock')} does not answer: no answer to /_ping within 0.05s`,
    );
  });

  it("keeps /info and the swarm events when the engine is away, and says so in /info's warnings", async () => {
    const info = JSON.parse((await call(missing.socket, 'GET', '/v1.44/info')).body) as Record<
      string,
      unknown
    >;
    assert.equal(info.Containers, 1);
    assert.equal(info.Images, 0);
    assert.match(
      String((info.Warnings as string[])[0]),
      /^WARNING: the node's engine at unix:\/\/.* is not reachable/,
    );
    const res = await open(missing.socket, '/v1.44/events');
    const lines = new Lines(res);
    history.publish(swarmEvent('alone', 5n * S));
    assert.match((await lines.next())!, /"ID":"id-alone"/);
    res.destroy();
  });

  it('never passes the engine through on a TCP address', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const warnings: string[] = [];
    const server = new EngineServer({
      backend: backend(history, state),
      address: `tcp://127.0.0.1:${port}`,
      serverVersion: '0.1.0',
      log: (level, msg) => void (level === 'warn' && warnings.push(msg)),
      engineHost: `unix://${join(dir, 'silent.sock')}`,
    });
    await server.listen();
    try {
      const res = await new Promise<Reply>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port, path: '/v1.44/containers/json' }, (answer) => {
          let body = '';
          answer.on('data', (c: Buffer) => (body += c.toString()));
          answer.on('end', () => resolve({ status: answer.statusCode!, headers: answer.headers, body }));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(res.status, 404);
      assert.deepEqual(JSON.parse(res.body), { message: 'page not found' });
      assert.deepEqual(warnings, ["the node's engine is not passed through on a TCP address"]);
    } finally {
      await server.close();
    }
  });

  it('without an engine, stays Docker’s 404 page not found', async () => {
    const res = await call(none.socket, 'GET', '/v1.44/containers/json');
    assert.equal(res.status, 404);
    assert.deepEqual(JSON.parse(res.body), { message: 'page not found' });
    const attach = await call(none.socket, 'POST', '/v1.44/containers/c/attach', {
      headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
    });
    assert.equal(attach.status, 404);
    const networks = await call(none.socket, 'GET', '/v1.44/networks');
    assert.deepEqual(JSON.parse(networks.body), []);
  });
});

describe('engine proxy pieces', () => {
  it('parses engine addresses', () => {
    assert.deepEqual(parseEngineHost('unix:///run/docker.sock'), { socketPath: '/run/docker.sock' });
    assert.deepEqual(parseEngineHost('tcp://127.0.0.1:2375'), { host: '127.0.0.1', port: 2375 });
    assert.deepEqual(parseEngineHost('tcp://[::1]:2375'), { host: '::1', port: 2375 });
    for (const bad of ['/run/docker.sock', 'unix://relative', 'tcp://host', 'tcp://h:0', 'ssh://x']) {
      assert.throws(() => parseEngineHost(bad), {
        message: `invalid engine address ${bad}: use unix:///path or tcp://host:port`,
      });
    }
  });

  it('drops hop-by-hop headers and those Connection names', () => {
    assert.deepEqual(
      endToEndHeaders({
        connection: 'close, x-a',
        'x-a': '1',
        'x-b': '2',
        'transfer-encoding': 'chunked',
        upgrade: 'tcp',
        te: 'trailers',
        'proxy-authorization': 'x',
        expect: '100-continue',
        'content-length': '5',
      }),
      { 'x-b': '2', 'content-length': '5' },
    );
  });

  it('writes Unix nanoseconds as dockerd reads them', () => {
    assert.equal(unixSeconds(1_700_000_000_000_000_001n), '1700000000.000000001');
    assert.equal(unixSeconds(0n), '0.000000000');
    assert.equal(unixSeconds(-5n), '0.000000000');
  });
});
