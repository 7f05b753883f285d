// The dashboard's HTTP server (`shoald --web-addr`): the page and its files (plain HTML, CSS and ES modules
// from ./static, no build step), the live stream of the swarm (/api/stream, server-sent events fed by the
// one hub) and a service's logs (/api/logs). Every path answers 401 without the token when one is
// required (src/web/access.ts).

import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LogMessage, LogsRequest } from '../api/control.js';
import { Access, TOKEN_COOKIE } from './access.js';
import { DashboardHub, MAX_BUFFERED_BYTES, type HubClient } from './hub.js';
import type { DashboardSourceProvider } from './source.js';

/** The page's files: beside this module in the build (`npm run build` copies them to dist/). */
export const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

/** How long a page's log lines are collected before they go out (ms). */
const LOG_BATCH_MS = 50;

export interface DashboardServerOptions {
  host: string;
  port: number;
  /** Required on every request when given (the daemon gives one for every address that is not loopback). */
  token: string | undefined;
  provider: DashboardSourceProvider;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  staticDir?: string;
  /** The hub's batching window (ms). */
  batchMs?: number;
}

export class DashboardServer {
  private readonly server: Server;
  private readonly access: Access;
  readonly hub: DashboardHub;
  private readonly files = new Map<string, { body: Buffer; type: string }>();

  constructor(private readonly options: DashboardServerOptions) {
    this.access = new Access(options.token);
    this.hub = new DashboardHub(options.provider, {
      ...(options.batchMs !== undefined ? { batchMs: options.batchMs } : {}),
      onError: (message, error) => options.log('error', message, { error: String(error) }),
    });
    const dir = options.staticDir ?? STATIC_DIR;
    for (const name of readdirSync(dir)) {
      const type = CONTENT_TYPES[extname(name)];
      if (type) this.files.set(name, { body: readFileSync(join(dir, name)), type });
    }
    if (!this.files.has('index.html')) throw new Error(`the dashboard's page is missing from ${dir}`);
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 60_000;
  }

  /** Listens; resolves with the port (the one given, or the one the kernel chose for port 0). */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : this.options.port;
  }

  async close(): Promise<void> {
    this.hub.close();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://dashboard');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!this.access.allows(req, url)) {
      res.writeHead(401, {
        'Content-Type': 'text/plain; charset=utf-8',
        'WWW-Authenticate': 'Bearer realm="shoal dashboard"',
      });
      res.end(
        '401 Unauthorized: this dashboard needs its token. Open the address shoald logged at start (…/?token=…), or the one made with the token given to --web-token.\n',
      );
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('405 Method Not Allowed\n');
      return;
    }
    // The token came in the address: keep it in a cookie (for the streams) and out of the address bar.
    if (!this.access.open && url.searchParams.has('token') && !url.pathname.startsWith('/api/')) {
      const token = url.searchParams.get('token')!;
      url.searchParams.delete('token');
      res.writeHead(303, {
        Location: url.pathname + url.search,
        'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict`,
      });
      res.end();
      return;
    }
    if (url.pathname === '/api/stream') return this.stream(req, res);
    if (url.pathname === '/api/logs') return this.logs(res, url);
    const name =
      url.pathname === '/'
        ? 'index.html'
        : url.pathname === '/favicon.ico'
          ? 'favicon.svg'
          : url.pathname.replace(/^\/static\//, '');
    const file =
      url.pathname === '/' || url.pathname === '/favicon.ico' || url.pathname.startsWith('/static/')
        ? this.files.get(name)
        : undefined;
    if (!file) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 Not Found\n');
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': String(file.body.length) });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  }

  /** The live stream: the picture, then the differences, as server-sent events. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    openEventStream(res);
    const client: HubClient = {
      send: (event, data) => {
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          // Cannot keep up: cut off; the browser reconnects and starts over with a picture.
          this.options.log('warn', 'a dashboard page fell behind and was cut off', {});
          this.hub.remove(client);
          res.destroy();
          return false;
        }
        res.write(`event: ${event}\ndata: ${data}\n\n`);
        return true;
      },
      ping: () => void res.write(': keep-alive\n\n'),
    };
    req.socket.setNoDelay(true);
    res.on('close', () => this.hub.remove(client));
    this.hub.add(client);
  }

  /** A service's logs, the last 200 lines then new ones, in batches, as server-sent events. */
  private logs(res: ServerResponse, url: URL): void {
    const service = url.searchParams.get('service') ?? '';
    const current = this.options.provider.current();
    if ('unavailable' in current) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${current.unavailable}\n`);
      return;
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const request: LogsRequest = {
      follow: true,
      stdout: true,
      stderr: true,
      timestamps: true,
      details: false,
      tail: '200',
      since: 0,
      until: 0,
    };
    let lines: LogMessage[];
    let stream: AsyncIterable<LogMessage>;
    try {
      stream = current.source.serviceLogs(service, request, abort.signal);
    } catch (error) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${error instanceof Error ? error.message : String(error)}\n`);
      return;
    }
    openEventStream(res);
    lines = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      timer = undefined;
      const batch = lines.map((m) => ({
        t: m.timestamp,
        task: m.context.taskId,
        node: m.context.nodeId,
        stream: m.stream,
        line: m.line.toString('utf8').replace(/\n$/, ''),
      }));
      lines = [];
      if (batch.length > 0 && res.writableLength < MAX_BUFFERED_BYTES)
        res.write(`event: lines\ndata: ${JSON.stringify(batch)}\n\n`);
    };
    void (async () => {
      try {
        for await (const message of stream) {
          lines.push(message);
          timer ??= setTimeout(flush, LOG_BATCH_MS);
        }
        clearTimeout(timer);
        flush();
        res.write(`event: end\ndata: {}\n\n`);
      } catch (error) {
        if (!abort.signal.aborted)
          res.write(`event: failed\ndata: ${JSON.stringify({ message: String(error) })}\n\n`);
      } finally {
        clearTimeout(timer);
        res.end();
      }
    })();
  }
}

function openEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'X-Accel-Buffering': 'no',
  });
  // The browser reconnects a second after a cut (its default is 3 s).
  res.write('retry: 1000\n\n');
}
