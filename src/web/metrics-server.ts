// The metrics' HTTP server (`shoald --metrics-addr`): GET /metrics answers Prometheus' text format, under the
// dashboard's access rule — open on a loopback address, the token (`Authorization: Bearer …`, as
// Prometheus' `authorization` setting sends it) on any other.

import { createServer, type Server } from 'node:http';
import { Access } from './access.js';

export interface MetricsServerOptions {
  host: string;
  port: number;
  token: string | undefined;
  /** The exposition (prom-client's registry, which the daemon holds). */
  render(): Promise<{ contentType: string; body: string }>;
  log: (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
}

export class MetricsServer {
  private readonly server: Server;

  constructor(private readonly options: MetricsServerOptions) {
    const access = new Access(options.token);
    this.server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://metrics');
      if (!access.allows(req, url)) {
        res.writeHead(401, {
          'Content-Type': 'text/plain; charset=utf-8',
          'WWW-Authenticate': 'Bearer realm="shoal metrics"',
        });
        res.end('401 Unauthorized: send the token as "Authorization: Bearer <token>"\n');
        return;
      }
      if (url.pathname !== '/metrics') {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('404 Not Found: the metrics are at /metrics\n');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('405 Method Not Allowed\n');
        return;
      }
      options.render().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : body);
        },
        (error: unknown) => {
          options.log('error', 'cannot render the metrics', { error: String(error) });
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`500 Internal Server Error: ${String(error)}\n`);
        },
      );
    });
  }

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
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
