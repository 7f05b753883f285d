// A small Engine API client for the node's container engine (the Docker Engine, or Podman's
// Docker-compatible service): JSON requests and streaming responses over its unix socket (or plain TCP),
// with the API version negotiated once per connection to the engine. Errors keep the engine's own text
// (`No such image: busybox:nope`), and an engine that does not answer gets the docker CLI's.

import { Agent, request, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';

/** The newest API version the executor speaks (Docker 20.10's); older engines are spoken to in theirs. */
export const MAX_API_VERSION = '1.41';

export interface EngineAddress {
  /** As the user wrote it, normalised: `unix:///var/run/docker.sock`, `tcp://10.0.0.1:2375`. */
  readonly display: string;
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
}

/** `unix:///path`, a bare `/path`, or `tcp://host:port` (plain HTTP). */
export function parseEngineHost(value: string): EngineAddress {
  if (value.startsWith('unix://')) {
    const socketPath = value.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new Error(`invalid engine host ${value}: a unix socket path must be absolute`);
    return { display: value, socketPath };
  }
  if (value.startsWith('/')) return { display: `unix://${value}`, socketPath: value };
  const tcp = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(value);
  if (tcp) {
    const port = Number(tcp[2]);
    if (port < 1 || port > 65535) throw new Error(`invalid engine host ${value}: bad port`);
    return { display: `tcp://${tcp[1]}:${port}`, host: tcp[1]!.replace(/^\[|\]$/g, ''), port };
  }
  throw new Error(`invalid engine host ${value}: use unix:///path/to/socket or tcp://host:port`);
}

/** The engine answered with an error status; the message is its own. */
export class EngineApiError extends Error {
  override name = 'EngineApiError';
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** The engine could not be reached (not running, socket missing, connection cut). */
export class EngineUnreachableError extends Error {
  override name = 'EngineUnreachableError';
  constructor(
    readonly address: string,
    cause?: unknown,
  ) {
    super(engineUnreachableMessage(address), { cause });
  }
}

/** The docker CLI's words for an engine that does not answer. */
export function engineUnreachableMessage(address: string): string {
  return `Cannot connect to the Docker daemon at ${address}. Is the docker daemon running?`;
}

export const isNotFound = (err: unknown): boolean => err instanceof EngineApiError && err.statusCode === 404;
export const isConflict = (err: unknown): boolean => err instanceof EngineApiError && err.statusCode === 409;
export const isUnreachable = (err: unknown): err is EngineUnreachableError =>
  err instanceof EngineUnreachableError;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Give up after this long (the engine is wedged); none by default. */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Error statuses answered as a result rather than thrown (304, 404…). */
  accept?: readonly number[];
  /**
   * A change that makes the engine work hard (create, start, remove a container): at most
   * `maxConcurrentChanges` are sent at a time, the rest wait their turn.
   */
  change?: boolean;
}

export interface EngineResponse<T> {
  status: number;
  headers: IncomingHttpHeaders;
  body: T;
}

/**
 * How many container creations, starts and removals are sent to the engine at once: it does them fastest
 * a few at a time (bench/converge-docker: 4 to 8 on two cores), and a hundred at once only make them
 * queue inside the engine, each holding a connection.
 */
export const DEFAULT_MAX_CONCURRENT_CHANGES = 8;

/** Connection errors after which a request on a reused keep-alive socket is sent again, once. */
const STALE_SOCKET_ERRORS = new Set(['ECONNRESET', 'EPIPE']);

export class EngineClient {
  /** Pooled keep-alive connections for ordinary requests; streams get connections of their own. */
  private readonly agent: Agent;
  private apiVersion: Promise<string> | undefined;
  private libpodVersion: string | undefined;

  private readonly maxChanges: number;
  private changes = 0;
  private readonly changeQueue: (() => void)[] = [];

  constructor(
    readonly address: EngineAddress,
    options: { maxSockets?: number; maxConcurrentChanges?: number } = {},
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 });
    this.maxChanges = options.maxConcurrentChanges ?? DEFAULT_MAX_CONCURRENT_CHANGES;
  }

  /** Forgets the negotiated version (the engine restarted, perhaps upgraded). */
  renegotiate(): void {
    this.apiVersion = undefined;
  }

  /** `GET /_ping`: resolves when the engine answers. */
  async ping(timeoutMs = 5_000): Promise<IncomingHttpHeaders> {
    const response = await this.send('GET', '/_ping', { timeoutMs }, false);
    return response.headers;
  }

  /** The engine is Podman (its Docker-compatible service), as far as the last negotiation showed. */
  get libpod(): boolean {
    return this.libpodVersion !== undefined;
  }

  /** The API version to speak: the engine's, capped at MAX_API_VERSION. */
  version(): Promise<string> {
    this.apiVersion ??= this.ping().then(
      (headers) => {
        this.libpodVersion = headerValue(headers['libpod-api-version']);
        const advertised = headerValue(headers['api-version']);
        return advertised && compareVersions(advertised, MAX_API_VERSION) < 0 ? advertised : MAX_API_VERSION;
      },
      (err: unknown) => {
        this.apiVersion = undefined;
        throw err;
      },
    );
    return this.apiVersion;
  }

  /** A JSON request; error statuses throw EngineApiError (unless accepted), connection failures EngineUnreachableError. */
  async request<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<EngineResponse<T>> {
    const versioned = `/v${await this.version()}${path}`;
    if (!options.change) return (await this.send(method, versioned, options, false)) as EngineResponse<T>;
    await this.acquireChange();
    try {
      return (await this.send(method, versioned, options, false)) as EngineResponse<T>;
    } finally {
      this.releaseChange();
    }
  }

  /**
   * Removes a container, forced; gone already is fine. When the engine is removing it already (a stop, a
   * leave and a task's removal can cross: Docker answers 409 "removal of container … is already in
   * progress"), waits until it is gone, so that "removed" always means gone.
   */
  async removeContainer(id: string, options: { volumes?: boolean; timeoutMs?: number } = {}): Promise<void> {
    try {
      await this.request('DELETE', `/containers/${id}`, {
        query: { force: true, ...(options.volumes ? { v: true } : {}) },
        accept: [404],
        change: true,
      });
      return;
    } catch (err) {
      if (!(
        err instanceof EngineApiError &&
        err.statusCode === 409 &&
        /already in progress/.test(err.message)
      ))
        throw err;
    }
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (;;) {
      const { status } = await this.request('GET', `/containers/${id}/json`, { accept: [404] });
      if (status === 404) return;
      if (Date.now() > deadline) throw new EngineApiError(409, `removal of container ${id} did not end`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private acquireChange(): Promise<void> {
    if (this.changes < this.maxChanges) {
      this.changes++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.changeQueue.push(resolve));
  }

  private releaseChange(): void {
    const next = this.changeQueue.shift();
    if (next) next();
    else this.changes--;
  }

  /** A request to Podman's own API (`/v<libpod version>/libpod/…`), for what the Docker API lacks. */
  async requestLibpod<T = unknown>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<EngineResponse<T>> {
    await this.version();
    if (!this.libpodVersion) throw new Error('the container engine is not Podman');
    return (await this.send(
      method,
      `/v${this.libpodVersion}/libpod${path}`,
      options,
      false,
    )) as EngineResponse<T>;
  }

  /** A streaming response (events, logs, pulls), on a connection of its own. The caller consumes it. */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<IncomingMessage> {
    const response = await this.send(method, `/v${await this.version()}${path}`, options, true);
    return response.message!;
  }

  close(): void {
    this.agent.destroy();
  }

  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    streaming: boolean,
  ): Promise<EngineResponse<unknown> & { message?: IncomingMessage }> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.sendOnce(method, path, options, streaming);
      } catch (err) {
        const retry =
          attempt === 0 &&
          (err as { staleSocket?: boolean }).staleSocket === true &&
          !options.signal?.aborted;
        if (!retry) throw (err as { error?: unknown }).error ?? err;
      }
    }
  }

  private sendOnce(
    method: string,
    path: string,
    options: RequestOptions,
    streaming: boolean,
  ): Promise<EngineResponse<unknown> & { message?: IncomingMessage }> {
    const query = encodeQuery(options.query);
    const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const target = this.address;
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      const req = request({
        ...(target.socketPath ? { socketPath: target.socketPath } : { host: target.host, port: target.port }),
        agent: streaming ? false : this.agent,
        method,
        path: `${path}${query}`,
        headers: {
          Host: 'docker',
          ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
          ...options.headers,
        },
        signal: options.signal,
      });
      if (options.timeoutMs !== undefined) {
        req.setTimeout(options.timeoutMs, () =>
          req.destroy(
            Object.assign(
              new Error(`the container engine at ${target.display} did not answer ${method} ${path} in time`),
              {
                code: 'ETIMEDOUT',
              },
            ),
          ),
        );
      }
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (options.signal?.aborted) {
          fail(err);
          return;
        }
        const unreachable = new EngineUnreachableError(target.display, err);
        // A keep-alive socket the engine closed meanwhile (it restarted): worth one more try.
        if (req.reusedSocket && STALE_SOCKET_ERRORS.has(err.code ?? '')) {
          fail({ staleSocket: true, error: unreachable });
        } else {
          fail(unreachable);
        }
      });
      req.on('response', (res) => {
        const status = res.statusCode ?? 0;
        const ok = (status >= 200 && status < 300) || (options.accept ?? []).includes(status);
        if (streaming && ok) {
          settled = true;
          resolve({ status, headers: res.headers, body: undefined, message: res });
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (err) => fail(new EngineUnreachableError(target.display, err)));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = text === '' ? undefined : JSON.parse(text);
          } catch {
            // not JSON: keep the text
          }
          if (!ok) {
            fail(new EngineApiError(status, errorMessage(body, status)));
            return;
          }
          if (settled) return;
          settled = true;
          resolve({ status, headers: res.headers, body });
        });
      });
      req.end(payload);
    });
  }
}

/** The engine's message from an error body (`{"message": …}`), or the text itself. */
function errorMessage(body: unknown, status: number): string {
  if (typeof body === 'object' && body !== null) {
    const message = (body as { message?: unknown }).message;
    if (typeof message === 'string') return message;
  }
  if (typeof body === 'string' && body.trim() !== '') return body.trim();
  return `the container engine answered ${status}`;
}

function encodeQuery(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.set(key, typeof value === 'boolean' ? (value ? '1' : '0') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Compares dotted version numbers (`1.41` < `1.43`). */
export function compareVersions(a: string, b: string): number {
  const left = a.split('.').map(Number);
  const right = b.split('.').map(Number);
  for (let i = 0; i < Math.max(left.length, right.length); i++) {
    const diff = (left[i] ?? 0) - (right[i] ?? 0);
    if (diff !== 0) return Number.isNaN(diff) ? 0 : diff;
  }
  return 0;
}
