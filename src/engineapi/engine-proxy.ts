// The node's container engine behind shoal's socket: every Engine API call shoal does not serve itself is
// passed to the engine (`shoald --engine-host`), as a Swarm node's dockerd serves containers, images,
// volumes, exec and the rest beside its swarm endpoints.
//
// - Plain requests: the request line and headers are sent on (hop-by-hop headers dropped), the body is
//   streamed as it arrives (any size: `docker load`, build contexts), and the answer comes back as the
//   engine writes it: headers at once, then each chunk as it comes (`logs -f`, `stats`, pull progress).
//   The framing is kept: a length, chunks, or (an old client's raw attach) a body that ends with the
//   connection.
// - Upgrades (`POST /containers/{id}/attach` and `POST /exec/{id}/start` with `Upgrade: tcp`, the
//   websocket attach, BuildKit's `/session` and `/grpc` with `h2c`): the request head is written to a new
//   connection to the engine byte for byte, and from then on the two connections are spliced in both
//   directions, whatever the engine answers (`101 UPGRADED`, `200` with a raw stream, an error). A
//   half-close is passed on: a client that ends its stdin (`docker exec -i … < file`) shuts down the
//   writing side towards the engine, which then closes the container's stdin, and the output still
//   comes back.
// - The API version: a path keeps the `/vX.Y` prefix the client sent, unless the engine is older than
//   that version (the docker CLI negotiates shoal's 1.44, Debian's dockerd 20.10 serves up to 1.41): then
//   the engine's newest version is asked for instead, as a client would have negotiated it with the engine
//   directly. The engine's version comes from its `/_ping` and from the `Api-Version` header of each of its
//   answers.
// - An engine that cannot be reached is a 502 naming its address; one that accepts the connection but does
//   not answer (a stopped process) is found by probing its `/_ping` while a request waits for the first
//   byte of its answer, and is a 504 naming its address. Long calls of a live engine (a `wait`, a big
//   `load`) are never cut.

import { request as httpRequest, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { systemClock, type Clock, type Timer } from '../api/clock.js';
import { ShoalError } from '../api/errors.js';

export type ProxyLog = (
  level: 'debug' | 'info' | 'warn' | 'error',
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface EngineProxyOptions {
  /** The engine's address: `unix:///path` or `tcp://host:port` (plain HTTP). */
  engineHost: string;
  log: ProxyLog;
  /** Timers (the probes of a silent engine). Default: the system clock. */
  clock?: Clock;
  /** How long a request waits for the engine's first byte before the engine is probed. Default 10 s. */
  probeAfterMs?: number;
  /** How long a probe (`GET /_ping` on a new connection) may take. Default 5 s. */
  probeTimeoutMs?: number;
}

type EngineAddress = { socketPath: string } | { host: string; port: number };

/** Parses `unix:///path` or `tcp://host:port`; throws an error naming the address otherwise. */
export function parseEngineHost(address: string): EngineAddress {
  if (address.startsWith('unix://')) {
    const socketPath = address.slice('unix://'.length);
    if (socketPath.startsWith('/')) return { socketPath };
  }
  const m = /^tcp:\/\/([^:/]+|\[[^\]]+\]):(\d{1,5})\/?$/.exec(address);
  if (m && Number(m[2]) > 0 && Number(m[2]) < 65536) {
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  }
  throw new Error(`invalid engine address ${address}: use unix:///path or tcp://host:port`);
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1, and the old ones Go's reverse proxy also drops): they describe one
 * connection, not the message, so they are not passed on. Upgrades are tunnelled byte for byte instead.
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Answered by this server already (Node sends `100 Continue` itself).
  'expect',
]);

/** The headers of a message without its hop-by-hop ones (and those its `Connection` header names). */
export function endToEndHeaders(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const named = new Set(
    String(headers.connection ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter((h) => h !== ''),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const VERSION_PREFIX = /^\/v(\d+\.\d+)(?=\/|$)/;

function compareVersions(a: string, b: string): number {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor !== bMajor ? aMajor - bMajor : aMinor - bMinor;
}

/** What a request is waiting for from the engine, to be told if the engine turns out to be dead. */
interface Watchdog {
  stop(): void;
}

export class EngineProxy {
  readonly address: string;
  private readonly target: EngineAddress;
  private readonly clock: Clock;
  private readonly probeAfterMs: number;
  private readonly probeTimeoutMs: number;
  /** The engine's newest API version, once known. */
  private engineVersion: string | undefined;
  private versionLookup: Promise<'answered' | 'unreachable' | 'silent'> | undefined;
  /** Spliced connections (client and engine side), cut when the server closes. */
  private readonly tunnels = new Set<Socket | Duplex>();

  constructor(private readonly options: EngineProxyOptions) {
    this.address = options.engineHost;
    this.target = parseEngineHost(options.engineHost);
    this.clock = options.clock ?? systemClock;
    this.probeAfterMs = options.probeAfterMs ?? 10_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 5_000;
  }

  /** The engine's newest API version as last seen (undefined until it has answered once). */
  get apiVersion(): string | undefined {
    return this.engineVersion;
  }

  /**
   * The path (and query) to ask the engine for: the client's, with a version prefix above the engine's
   * newest version lowered to it. The query is kept byte for byte.
   */
  enginePath(rawUrl: string): string {
    const m = VERSION_PREFIX.exec(rawUrl);
    if (!m || this.engineVersion === undefined || compareVersions(m[1]!, this.engineVersion) <= 0) {
      return rawUrl;
    }
    return `/v${this.engineVersion}${rawUrl.slice(m[0].length)}`;
  }

  /**
   * Passes a plain request to the engine and its answer back; resolves once the exchange is over. `body`
   * is the request's body when a route has read it already (it is sent instead of the request stream).
   */
  async forward(req: IncomingMessage, res: ServerResponse, body?: Buffer): Promise<void> {
    try {
      await this.learnVersion();
    } catch (err) {
      writeError(res, err as ShoalError);
      this.logFailure(req.method, req.url, err as ShoalError);
      return;
    }
    const path = this.enginePath(req.url ?? '/');
    const headers = endToEndHeaders(req.headers);
    if (body !== undefined) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(body.length);
    } else if (/\bchunked\b/i.test(String(req.headers['transfer-encoding'] ?? ''))) {
      // A chunked body stays chunked (Node encodes what is written); a length stays as it is.
      headers['transfer-encoding'] = 'chunked';
    }
    // One connection per request, closed by us once the answer is in: asking the engine to close it
    // instead (`Connection: close`) lets it close while Node still finishes writing the request, and
    // that write's EPIPE would hide the answer.
    headers.connection = 'keep-alive';
    await new Promise<void>((resolve) => {
      let settled = false;
      let answered = false;
      const done = (): void => {
        if (settled) return;
        settled = true;
        watchdog.stop();
        resolve();
      };
      const upstream = httpRequest({ ...this.target, method: req.method, path, headers, agent: false });
      const fail = (err: ShoalError): void => {
        watchdog.stop();
        req.unpipe(upstream);
        upstream.destroy();
        if (!res.headersSent) {
          writeError(res, err);
        } else {
          // Mid-answer there is no way to say it but to cut the connection, as a dying engine would.
          res.destroy();
        }
        this.logFailure(req.method, path, err);
        done();
      };
      const watchdog = this.watchdog((err) => fail(err));
      upstream.on('error', (err) => {
        if (settled) return;
        // An engine may answer before it has read the whole body (a refusal) and close: the answer is
        // what counts, not the rest of the body it did not want.
        if (answered) req.unpipe(upstream);
        else fail(this.unreachable(err));
      });
      upstream.on('response', (answer) => {
        answered = true;
        watchdog.stop();
        this.noteVersion(answer);
        res.removeHeader('Server');
        res.removeHeader('Api-Version');
        const out = endToEndHeaders(answer.headers);
        const bodyless = req.method === 'HEAD' || answer.statusCode === 204 || answer.statusCode === 304;
        if (!bodyless && answer.headers['content-length'] === undefined) {
          if (!/\bchunked\b/i.test(String(answer.headers['transfer-encoding'] ?? ''))) {
            // Neither a length nor chunks: the body ends with the connection (an old client's raw
            // attach stream), and so it does towards the client.
            res.removeHeader('Content-Length');
            res.removeHeader('Transfer-Encoding');
            out.connection = 'close';
          }
        }
        res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
        res.flushHeaders();
        answer.pipe(res);
        answer.on('error', () => res.destroy());
        answer.on('end', () => {
          upstream.destroy();
          done();
        });
        answer.on('close', () => {
          if (!answer.complete) res.destroy();
          done();
        });
      });
      res.on('close', () => {
        // The client went away (or the answer is complete): nothing more to ask the engine.
        if (!res.writableFinished) upstream.destroy();
        done();
      });
      if (body === undefined) req.pipe(upstream);
      else upstream.end(body);
    });
  }

  /**
   * Splices an upgraded connection (`Connection: Upgrade`) to a new connection to the engine, after
   * writing the request head there. `head` is what the client sent after its headers.
   */
  async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    this.tunnels.add(client);
    client.on('close', () => this.tunnels.delete(client));
    client.on('error', () => client.destroy());
    try {
      await this.learnVersion();
    } catch (err) {
      writeRawError(client, err as ShoalError);
      this.logFailure(req.method, req.url, err as ShoalError);
      return;
    }
    if (client.destroyed) return;
    const path = this.enginePath(req.url ?? '/');
    const lines = [`${req.method ?? 'GET'} ${path} HTTP/${req.httpVersion}`];
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
      lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
    }
    const engine = connect(
      'socketPath' in this.target
        ? { path: this.target.socketPath, allowHalfOpen: true }
        : { ...this.target, allowHalfOpen: true },
    );
    this.tunnels.add(engine);
    engine.on('close', () => this.tunnels.delete(engine));
    let answered = false;
    const fail = (err: ShoalError): void => {
      watchdog.stop();
      engine.destroy();
      this.logFailure(req.method, path, err);
      if (answered) {
        client.destroy();
      } else {
        answered = true;
        writeRawError(client, err);
      }
    };
    const watchdog = this.watchdog((err) => fail(err));
    engine.on('error', (err) => {
      if (!answered) fail(this.unreachable(err));
      else client.destroy();
    });
    engine.setNoDelay(true);
    engine.once('data', () => {
      answered = true;
      watchdog.stop();
    });
    engine.on('end', () => {
      if (answered) client.end();
      else
        fail(
          new ShoalError(
            'Unavailable',
            `the node's engine at ${this.address} closed the connection without answering`,
            { status: 502 },
          ),
        );
    });
    engine.write(Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'latin1'));
    if (head.length > 0) engine.write(head);
    // Both ways, each side's end passed on to the other as a half-close (the engine's above).
    engine.pipe(client, { end: false });
    client.pipe(engine);
    engine.on('close', () => {
      watchdog.stop();
      if (!answered) client.destroy();
    });
    client.on('close', () => {
      watchdog.stop();
      engine.destroy();
    });
  }

  /**
   * A request of shoal's own to the engine (the events it merges, the counts of `/info`): the answer,
   * whatever its status, or a ShoalError (502/504) naming the engine when it cannot be had.
   */
  async request(
    method: string,
    path: string,
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<IncomingMessage> {
    await this.learnVersion();
    const aborted = (): ShoalError => new ShoalError('Unavailable', 'request aborted', { status: 499 });
    if (options.signal?.aborted) throw aborted();
    return await new Promise<IncomingMessage>((resolve, reject) => {
      let timer: Timer | undefined;
      let settled = false;
      const upstream = httpRequest({ ...this.target, method, path: this.enginePath(path), agent: false });
      const watchdog = this.watchdog((err) => settle(err));
      const settle = (err?: ShoalError, answer?: IncomingMessage): void => {
        if (settled) return;
        settled = true;
        watchdog.stop();
        timer?.cancel();
        options.signal?.removeEventListener('abort', onAbort);
        if (err) {
          upstream.destroy();
          reject(err);
        } else {
          resolve(answer!);
        }
      };
      const onAbort = (): void => settle(aborted());
      options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.timeoutMs !== undefined) {
        timer = this.clock.setTimer(options.timeoutMs, () =>
          settle(this.silent(`no answer within ${seconds(options.timeoutMs!)}`)),
        );
      }
      upstream.on('error', (err) => settle(this.unreachable(err)));
      upstream.on('response', (answer) => {
        this.noteVersion(answer);
        settle(undefined, answer);
      });
      upstream.end();
    });
  }

  /** A JSON answer of the engine to `GET path`, within `timeoutMs`; a ShoalError if it cannot be had. */
  async getJson(path: string, timeoutMs: number): Promise<unknown> {
    const answer = await this.request('GET', path, { timeoutMs });
    const chunks: Buffer[] = [];
    const body = await new Promise<string>((resolve, reject) => {
      const timer = this.clock.setTimer(timeoutMs, () => {
        answer.destroy();
        reject(this.silent(`no answer within ${seconds(timeoutMs)}`));
      });
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        timer.cancel();
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      answer.on('error', (err) => {
        timer.cancel();
        reject(this.unreachable(err));
      });
    });
    if ((answer.statusCode ?? 500) >= 400) {
      throw new ShoalError(
        'Unavailable',
        `the node's engine at ${this.address} answered ${path} with ${answer.statusCode}: ${body.trim()}`,
        { status: 502 },
      );
    }
    return JSON.parse(body) as unknown;
  }

  /** Cuts every spliced connection (the server is closing). */
  close(): void {
    for (const socket of this.tunnels) socket.destroy();
    this.tunnels.clear();
  }

  /**
   * Whether the engine answers `GET /_ping` within the probe timeout (`answered`), refuses the connection
   * (`unreachable`) or lets it wait (`silent`); learns its API version.
   */
  private ping(): Promise<'answered' | 'unreachable' | 'silent'> {
    return new Promise((resolve) => {
      const probe = httpRequest({ ...this.target, method: 'GET', path: '/_ping', agent: false });
      const timer = this.clock.setTimer(this.probeTimeoutMs, () => {
        probe.destroy();
        resolve('silent');
      });
      probe.on('error', () => {
        timer.cancel();
        resolve('unreachable');
      });
      probe.on('response', (answer) => {
        timer.cancel();
        this.noteVersion(answer);
        answer.resume();
        resolve('answered');
      });
      probe.end();
    });
  }

  /**
   * Asks the engine for its API version once, before the first call that may need the prefix lowered.
   * An engine that lets that probe wait does not answer: a 504 at once rather than after the watchdog's
   * probes. (One that cannot be reached fails the call itself, as quickly.)
   */
  private async learnVersion(): Promise<void> {
    if (this.engineVersion !== undefined) return;
    this.versionLookup ??= this.ping().then((result) => {
      this.versionLookup = undefined;
      return result;
    });
    if ((await this.versionLookup) === 'silent') {
      throw this.silent(`no answer to /_ping within ${seconds(this.probeTimeoutMs)}`);
    }
  }

  private noteVersion(answer: IncomingMessage): void {
    const version = answer.headers['api-version'];
    if (typeof version === 'string' && /^\d+\.\d+$/.test(version)) this.engineVersion = version;
  }

  /**
   * While a request waits for the engine's first byte: every `probeAfterMs`, a `/_ping` on a new
   * connection; when one is not answered within `probeTimeoutMs`, `onDead` with a 504 naming the engine.
   */
  private watchdog(onDead: (err: ShoalError) => void): Watchdog {
    let stopped = false;
    let timer: Timer | undefined;
    const arm = (): void => {
      timer = this.clock.setTimer(this.probeAfterMs, () => {
        void this.ping().then((result) => {
          if (stopped) return;
          if (result === 'answered') arm();
          else onDead(this.silent(`no answer to /_ping within ${seconds(this.probeTimeoutMs)}`));
        });
      });
    };
    arm();
    return {
      stop: () => {
        stopped = true;
        timer?.cancel();
      },
    };
  }

  private logFailure(method: string | undefined, path: string | undefined, err: ShoalError): void {
    this.options.log('warn', 'engine request failed', {
      method,
      path,
      engine: this.address,
      error: err.message,
    });
  }

  private unreachable(err: Error): ShoalError {
    return new ShoalError(
      'Unavailable',
      `the node's engine at ${this.address} is not reachable: ${err.message}`,
      {
        status: 502,
      },
    );
  }

  private silent(why: string): ShoalError {
    return new ShoalError('Unavailable', `the node's engine at ${this.address} does not answer: ${why}`, {
      status: 504,
    });
  }
}

function seconds(ms: number): string {
  return `${ms / 1000}s`;
}

function errorBody(err: ShoalError): Buffer {
  return Buffer.from(JSON.stringify({ message: err.apiMessage() }) + '\n');
}

function writeError(res: ServerResponse, err: ShoalError): void {
  const body = errorBody(err);
  res.removeHeader('Api-Version');
  res.writeHead(err.status, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  res.end(body);
}

/** An error answer written on a raw (upgraded) connection, which is then closed. */
export function writeRawError(socket: Duplex, err: { status: number; message: string }): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify({ message: err.message }) + '\n');
  // Closed once written, whether or not the client closes its side.
  socket.once('finish', () => socket.destroy());
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
          'Content-Type: application/json\r\n' +
          `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        'latin1',
      ),
      body,
    ]),
  );
}
