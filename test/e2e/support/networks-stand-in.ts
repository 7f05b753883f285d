// A stand-in for the overlay data path, for the stack tests only. Every stack service is on a network
// (`<stack>_default` when the file names none), and until an executor can attach tasks to networks
// shoald refuses such services (the `networks` need, src/api/executor-features.ts). To exercise deploy,
// redeploy, prune, diff, rm and depends_on end to end today, the stack tests talk to shoald through this
// proxy: it passes every request on as it is, except that it takes `Networks` out of service specs on
// their way in (create, update) and puts them back — with the network IDs the daemon would store — on
// their way out (inspect, list). Networks themselves are created, listed and removed for real.
//
// The tests use it only when shoald refuses a service on a network (`needsStandIn`); once an executor
// honours networks they talk to shoald directly and this file can go.

import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { existsSync, unlinkSync } from 'node:fs';

type Json = Record<string, unknown>;

export class NetworksStandIn {
  private server: Server | undefined;
  /** The networks each service asked for, by service ID, as sent (names). */
  private readonly networks = new Map<string, unknown[]>();

  constructor(
    private readonly upstream: string,
    readonly socketPath: string,
  ) {}

  get host(): string {
    return `unix://${this.socketPath}`;
  }

  async start(): Promise<void> {
    if (existsSync(this.socketPath)) unlinkSync(this.socketPath);
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void this.handle(req, Buffer.concat(chunks)).then(
          ({ status, headers, body }) => {
            res.writeHead(status, headers);
            res.end(body);
          },
          (err: Error) => {
            res.writeHead(502, { 'Content-Type': 'application/json' });
            res.end(JSON.stringify({ message: `stand-in: ${err.message}` }));
          },
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.socketPath, resolve));
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  private forward(
    method: string,
    path: string,
    headers: IncomingMessage['headers'],
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    return new Promise((resolve, reject) => {
      const out = { ...headers };
      delete out['content-length'];
      delete out['transfer-encoding'];
      if (body.length > 0) out['content-length'] = String(body.length);
      const req = request({ socketPath: this.upstream, method, path, headers: out }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined && k !== 'content-length' && k !== 'transfer-encoding') h[k] = v;
          }
          resolve({ status: res.statusCode ?? 500, headers: h, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  private async networkID(name: string, headers: IncomingMessage['headers']): Promise<string> {
    const res = await this.forward('GET', `/networks/${encodeURIComponent(name)}`, headers, Buffer.alloc(0));
    if (res.status !== 200) return name;
    return String((JSON.parse(res.body.toString()) as Json)['Id'] ?? name);
  }

  /** The spec as the daemon would have stored it with its networks. */
  private async withNetworks(service: Json, headers: IncomingMessage['headers']): Promise<Json> {
    const networks = this.networks.get(String(service['ID']));
    if (!networks) return service;
    const spec = service['Spec'] as Json;
    const task = (spec['TaskTemplate'] ??= {}) as Json;
    task['Networks'] = await Promise.all(
      (networks as Json[]).map(async (n) => ({
        ...n,
        Target: await this.networkID(String(n['Target']), headers),
      })),
    );
    return service;
  }

  private async handle(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> {
    const method = req.method ?? 'GET';
    const url = req.url ?? '/';
    const path = url.replace(/^\/v1\.\d+/, '').split('?')[0]!;
    const update = /^\/services\/([^/]+)\/update$/.exec(path);
    if (method === 'POST' && (path === '/services/create' || update)) {
      const spec = JSON.parse(body.toString()) as Json;
      const task = (spec['TaskTemplate'] ?? {}) as Json;
      const networks =
        (task['Networks'] as unknown[] | undefined) ?? (spec['Networks'] as unknown[] | undefined);
      delete task['Networks'];
      delete spec['Networks'];
      const res = await this.forward(method, url, req.headers, Buffer.from(JSON.stringify(spec)));
      if (res.status < 300) {
        let id = update?.[1];
        if (!update) id = String((JSON.parse(res.body.toString()) as Json)['ID']);
        else {
          // The update names the service as the client did: find its ID.
          const got = await this.forward('GET', `/services/${id}`, req.headers, Buffer.alloc(0));
          if (got.status === 200) id = String((JSON.parse(got.body.toString()) as Json)['ID']);
        }
        if (networks && networks.length > 0) this.networks.set(id!, networks);
        else this.networks.delete(id!);
      }
      return res;
    }
    const res = await this.forward(method, url, req.headers, body);
    if (method === 'GET' && res.status === 200 && /^\/services(\/[^/]+)?$/.test(path)) {
      const parsed = JSON.parse(res.body.toString()) as Json | Json[];
      const out = Array.isArray(parsed)
        ? await Promise.all(parsed.map((s) => this.withNetworks(s, req.headers)))
        : await this.withNetworks(parsed, req.headers);
      return { ...res, body: Buffer.from(JSON.stringify(out)) };
    }
    return res;
  }
}
