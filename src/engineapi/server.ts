// The Engine API HTTP server: version negotiation, routing, error mapping. Listens on a unix socket
// (root-only) or TCP. With the node's engine behind it (`engineHost`), what shoal does not serve itself
// goes to the engine (engine-proxy.ts): shoal's routes are matched first.

import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { Clock } from '../api/clock.js';
import { isShoalError } from '../api/errors.js';
import type { EngineBackend } from './backend.js';
import { EngineEvents } from './engine-events.js';
import { EngineProxy, writeRawError } from './engine-proxy.js';
import type { Reply, RequestContext } from './http.js';
import { Router } from './router.js';
import { registerDistributionRoutes } from './routes/distribution.js';
import { registerNetworkRoutes } from './routes/networks.js';
import { registerEventRoutes } from './routes/events.js';
import { registerNodeRoutes } from './routes/nodes.js';
import { registerSecretRoutes } from './routes/secrets.js';
import { registerServiceRoutes } from './routes/services.js';
import { registerSwarmRoutes } from './routes/swarm.js';
import { registerSystemRoutes } from './routes/system.js';
import { registerTaskRoutes } from './routes/tasks.js';
import { parseVersionedPath } from './version.js';

export interface EngineServerOptions {
  backend: EngineBackend;
  /** `unix:///path` or `tcp://host:port`. */
  address: string;
  serverVersion: string;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /**
   * The node's container engine (`unix:///path` or `tcp://host:port`): Engine API calls shoal does not
   * serve itself are passed to it, when shoal listens on a unix socket. Without one (or on a TCP address),
   * they are Docker's 404 `page not found`.
   */
  engineHost?: string;
  /** Timers of the engine proxy (its probes of a silent engine, the events stream's reconnections). */
  clock?: Clock;
  /** The engine proxy's timings (tests): see EngineProxyOptions, and the events stream's reconnection delay. */
  engineTimings?: { probeAfterMs?: number; probeTimeoutMs?: number; eventsReconnectMs?: number };
  /**
   * Told of every request shoal answered itself, streams and requests passed to the engine aside: its
   * route's template, status and duration (the metrics' API latency by route).
   */
  observeRequest?: (request: { method: string; route: string; status: number; seconds: number }) => void;
}

export class AddressInUseError extends Error {}

export class EngineServer {
  private readonly server: Server;
  private readonly router = new Router();

  private readonly engine: EngineProxy | undefined;

  constructor(private readonly options: EngineServerOptions) {
    const timings = options.engineTimings ?? {};
    // The engine's API is root's: it is passed through only on shoal's root-only unix socket, never on a
    // TCP address, which would open it to the network.
    const passThrough = options.engineHost !== undefined && options.address.startsWith('unix://');
    if (options.engineHost !== undefined && !passThrough) {
      options.log('warn', "the node's engine is not passed through on a TCP address", {
        address: options.address,
        engine: options.engineHost,
      });
    }
    const engine = passThrough
      ? new EngineProxy({
          engineHost: options.engineHost!,
          log: options.log,
          ...(options.clock ? { clock: options.clock } : {}),
          ...(timings.probeAfterMs !== undefined ? { probeAfterMs: timings.probeAfterMs } : {}),
          ...(timings.probeTimeoutMs !== undefined ? { probeTimeoutMs: timings.probeTimeoutMs } : {}),
        })
      : undefined;
    this.engine = engine;
    registerSystemRoutes(this.router, options.backend, options.serverVersion, engine);
    registerSwarmRoutes(this.router, options.backend);
    registerNodeRoutes(this.router, options.backend);
    registerServiceRoutes(this.router, options.backend);
    registerTaskRoutes(this.router, options.backend);
    registerNetworkRoutes(this.router, options.backend, engine);
    registerSecretRoutes(this.router, options.backend);
    registerEventRoutes(
      this.router,
      options.backend,
      engine &&
        new EngineEvents(engine, options.log, {
          ...(options.clock ? { clock: options.clock } : {}),
          ...(timings.eventsReconnectMs !== undefined ? { reconnectMs: timings.eventsReconnectMs } : {}),
        }),
    );
    // With an engine the proxy passes `/distribution/{name}/json` to it, credentials included, as dockerd
    // answers it; without one shoal says why it cannot.
    if (!engine) registerDistributionRoutes(this.router);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
    if (engine) {
      // Hijacked connections (attach, exec, BuildKit sessions) are spliced to the engine.
      this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        this.handleUpgrade(req, socket, head),
      );
      // A request body may take as long as the engine takes to read it (`docker load` of a big image):
      // Node's 5-minute limit on receiving a request would cut it. Headers still have their 60 s.
      this.server.requestTimeout = 0;
    }
  }

  async listen(): Promise<void> {
    const { address } = this.options;
    if (address.startsWith('unix://')) {
      const path = address.slice('unix://'.length);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      await removeStaleSocket(path);
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        // Created with a restrictive umask-equivalent right away: chmod after listen leaves a window.
        const oldMask = process.umask(0o177);
        try {
          this.server.listen(path, () => resolve());
        } finally {
          process.umask(oldMask);
        }
      });
      chmodSync(path, 0o600);
      return;
    }
    const m = /^tcp:\/\/([^:]*|\[[^\]]*\]):(\d+)$/.exec(address);
    if (!m) throw new Error(`invalid API address ${address}: use unix:///path or tcp://host:port`);
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(Number(m[2]), m[1]!.replace(/^\[|\]$/g, '') || '127.0.0.1', () => resolve());
    });
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.engine?.close();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.setHeader('Server', `shoal/${this.options.serverVersion} (linux)`);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const started = performance.now();
    let route: string | undefined;
    try {
      const { version, path } = parseVersionedPath(url.pathname);
      res.setHeader('Api-Version', version);
      const match = this.router.match(method, path);
      if ((match === undefined || match === 'method') && this.engine) {
        await this.engine.forward(req, res);
        this.options.log('debug', 'api request passed to the engine', {
          method,
          path: url.pathname,
          status: res.statusCode,
        });
        return;
      }
      if (match === undefined || match === 'method') {
        // Docker answers unknown routes with 404 and a JSON message.
        this.write(res, { status: 404, json: { message: 'page not found' } });
        return;
      }
      route = match.template;
      const ctx: RequestContext = {
        method,
        path,
        version,
        params: match.params,
        query: url.searchParams,
        req,
        res,
        signal: abort.signal,
      };
      const reply = await match.handler(ctx);
      if ('passToEngine' in reply) {
        if (!this.engine) throw new Error(`${method} ${path} asked for an engine this node does not have`);
        await this.engine.forward(req, res, reply.body);
        return;
      }
      this.write(res, reply);
      if (!('streamed' in reply)) this.observe(method, route, res.statusCode, started);
      this.options.log('debug', 'api request', { method, path: url.pathname, status: res.statusCode });
    } catch (err) {
      const failure = toApiError(err);
      // Expected refusals (not a manager, not found, bad input) are the client's business; only
      // unexpected failures are ours to report.
      const unexpected = !isShoalError(err) || err.code === 'Internal';
      this.options.log(unexpected ? 'error' : 'debug', 'api request failed', {
        method,
        path: url.pathname,
        status: failure.status,
        error: unexpected && err instanceof Error ? (err.stack ?? err.message) : failure.message,
      });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      this.write(res, { status: failure.status, json: { message: failure.message } });
      if (route !== undefined) this.observe(method, route, failure.status, started);
    }
  }

  /**
   * A request with `Connection: Upgrade` (only listened for with an engine): the engine's hijacking
   * endpoints. shoal serves none of its own routes upgraded; such a request is refused.
   */
  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const engine = this.engine!;
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://localhost');
    let path: string;
    try {
      path = parseVersionedPath(url.pathname).path;
    } catch (err) {
      writeRawError(socket, toApiError(err));
      return;
    }
    const match = this.router.match(method, path);
    if (match !== undefined && match !== 'method') {
      writeRawError(socket, {
        status: 400,
        message: `${method} ${url.pathname} does not upgrade the connection`,
      });
      return;
    }
    this.options.log('debug', 'api connection spliced to the engine', { method, path: url.pathname });
    engine.tunnel(req, socket, head).catch((err: unknown) => {
      this.options.log('error', 'engine tunnel failed', { method, path: url.pathname, error: err });
      socket.destroy();
    });
  }

  private observe(method: string, route: string, status: number, started: number): void {
    this.options.observeRequest?.({ method, route, status, seconds: (performance.now() - started) / 1000 });
  }

  private write(res: ServerResponse, reply: Exclude<Reply, { passToEngine: true }>): void {
    if ('streamed' in reply) return;
    if ('empty' in reply) {
      res.writeHead(reply.status, { 'Content-Length': '0' });
      res.end();
    } else if ('text' in reply) {
      const body = Buffer.from(reply.text);
      res.writeHead(reply.status, {
        'Content-Type': reply.contentType ?? 'text/plain; charset=utf-8',
        'Content-Length': String(body.length),
      });
      res.end(body);
    } else {
      const body = Buffer.from(JSON.stringify(reply.json) + '\n');
      res.writeHead(reply.status, {
        'Content-Type': 'application/json',
        'Content-Length': String(body.length),
      });
      res.end(body);
    }
  }
}

function toApiError(err: unknown): { status: number; message: string } {
  if (isShoalError(err)) return { status: err.status, message: err.apiMessage() };
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, message };
}

/** Removes a socket file left by a daemon that died, but refuses to steal one that is in use. */
async function removeStaleSocket(path: string): Promise<void> {
  try {
    if (!statSync(path).isSocket()) throw new AddressInUseError(`${path} exists and is not a socket`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const inUse = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (inUse) throw new AddressInUseError(`another daemon is already listening on ${path}`);
  rmSync(path, { force: true });
}
