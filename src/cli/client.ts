// The CLI's Engine API client: negotiates the API version with `HEAD /_ping` like the docker CLI, then
// sends versioned requests over the daemon's unix socket (or TCP).

import { request as httpRequest, type IncomingMessage } from 'node:http';

/** The newest API version this CLI speaks. */
export const CLIENT_API_VERSION = '1.44';
/** Used when the daemon does not say (Docker's fallback). */
const FALLBACK_API_VERSION = '1.24';

export const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

export class DaemonError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DaemonError';
  }
}

export class ConnectionError extends Error {}

export interface ApiResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
}

function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

export class EngineClient {
  private negotiated: string | undefined;
  private readonly socketPath: string | undefined;
  private readonly tcp: { host: string; port: number } | undefined;

  constructor(readonly host: string = DEFAULT_HOST) {
    if (host.startsWith('unix://')) {
      this.socketPath = host.slice('unix://'.length);
    } else {
      const m = /^(?:tcp:\/\/)?([^:/]+):(\d+)$/.exec(host);
      if (!m)
        throw new ConnectionError(`invalid daemon address ${host}: use unix:///path or tcp://host:port`);
      this.tcp = { host: m[1]!, port: Number(m[2]) };
    }
  }

  /** The API version to prefix paths with, negotiated once per client. */
  async apiVersion(): Promise<string> {
    if (this.negotiated) return this.negotiated;
    const pinned = process.env.DOCKER_API_VERSION;
    let res = await this.raw('HEAD', '/_ping', {});
    if (res.status === 404 || res.status === 405) res = await this.raw('GET', '/_ping', {});
    const advertised = res.headers['api-version'];
    const server = typeof advertised === 'string' && advertised ? advertised : FALLBACK_API_VERSION;
    this.negotiated =
      pinned ?? (compareVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION);
    return this.negotiated;
  }

  /** A versioned request; non-2xx answers become DaemonError with the daemon's message. */
  async call(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const version = await this.apiVersion();
    const res = await this.raw(method, `/v${version}${path}`, options);
    if (res.status >= 400) throw new DaemonError(res.status, errorMessage(res));
    return res;
  }

  async get<T>(path: string, query?: RequestOptions['query']): Promise<T> {
    const res = await this.call('GET', path, { query });
    return JSON.parse(res.body.toString('utf8')) as T;
  }

  async post<T>(path: string, body?: unknown, query?: RequestOptions['query']): Promise<T | undefined> {
    const res = await this.call('POST', path, { body, query });
    const text = res.body.toString('utf8').trim();
    return text ? (JSON.parse(text) as T) : undefined;
  }

  async delete(path: string, query?: RequestOptions['query']): Promise<void> {
    await this.call('DELETE', path, { query });
  }

  /** Opens a streaming GET (logs, events); the caller consumes the response. */
  async stream(path: string, query: RequestOptions['query'], signal?: AbortSignal): Promise<IncomingMessage> {
    const version = await this.apiVersion();
    const res = await this.open('GET', `/v${version}${path}`, { query }, signal);
    if ((res.statusCode ?? 500) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      throw new DaemonError(
        res.statusCode ?? 500,
        errorMessage({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    }
    return res;
  }

  private async raw(method: string, path: string, options: RequestOptions): Promise<ApiResponse> {
    const res = await this.open(method, path, options);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks) };
  }

  private open(
    method: string,
    path: string,
    options: RequestOptions,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();
    const body = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
    const headers: Record<string, string> = { 'User-Agent': 'shoal-cli', ...options.headers };
    if (body) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(body.length);
    } else if (method === 'POST') {
      headers['Content-Length'] = '0';
    }
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          method,
          path: qs ? `${path}?${qs}` : path,
          headers: { Host: 'api.moby.localhost', ...headers },
          ...(this.socketPath
            ? { socketPath: this.socketPath }
            : { host: this.tcp!.host, port: this.tcp!.port }),
          signal,
        },
        resolve,
      );
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'EACCES') {
          reject(
            new ConnectionError(
              `Cannot connect to the shoal daemon at ${this.host}. Is the shoal daemon running?` +
                (err.code === 'EACCES' ? ' (permission denied: the socket is root-only)' : ''),
            ),
          );
        } else reject(err);
      });
      if (body) req.write(body);
      req.end();
    });
  }
}

function errorMessage(res: ApiResponse): string {
  const text = res.body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text.trim() || `status ${res.status}`;
}
