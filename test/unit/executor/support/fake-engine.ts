// A pretend container engine for the docker executor's unit tests: the part of the Engine API the
// executor uses, over a unix socket in a temporary folder, with containers kept in memory. The test plays
// what a real engine's containers do (exit, turn healthy or unhealthy) and what happens to the engine
// (it stops, its event stream breaks, it comes back); every change is sent on the event streams as
// dockerd sends it. Requests are recorded for assertions.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeContainer {
  Id: string;
  Name: string;
  Config: {
    Image: string;
    Labels: Record<string, string>;
    Tty: boolean;
    Healthcheck?: { Test?: string[] } | null;
  };
  body: Record<string, unknown>;
  State: {
    Status: string;
    Pid: number;
    ExitCode: number;
    Error: string;
    Health?: { Status: string; FailingStreak: number; Log: unknown[] };
  };
  logs: Buffer[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export class FakeEngine {
  readonly dir = mkdtempSync(join(tmpdir(), 'shoal-fake-engine-'));
  readonly socketPath = join(this.dir, 'engine.sock');
  readonly host = `unix://${this.socketPath}`;
  readonly containers = new Map<string, FakeContainer>();
  /** Image names the engine has (familiar form, `busybox:latest`). */
  readonly images = new Set<string>(['busybox:latest']);
  /** Images a pull succeeds for; any other pull fails with the registry's error. */
  readonly pullable = new Set<string>();
  readonly volumes = new Map<string, unknown>();
  readonly requests: RecordedRequest[] = [];
  private server: Server | undefined;
  private readonly streams = new Set<{ res: ServerResponse; labels: string[] }>();
  private nextId = 1;
  private nextPid = 1000;

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(this.socketPath, resolve));
  }

  /** The engine goes away: its socket closes and every stream ends. */
  async stop(): Promise<void> {
    this.breakStreams();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Ends the event streams (the connection broke), the engine staying up. */
  breakStreams(): void {
    for (const stream of this.streams) stream.res.destroy();
    this.streams.clear();
  }

  get streamCount(): number {
    return this.streams.size;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Adds a container as if an earlier run had created it. */
  add(container: {
    name: string;
    labels: Record<string, string>;
    status: string;
    exitCode?: number;
  }): FakeContainer {
    const id = this.newId();
    const made: FakeContainer = {
      Id: id,
      Name: `/${container.name}`,
      Config: { Image: 'busybox:latest', Labels: container.labels, Tty: false },
      body: {},
      State: {
        Status: container.status,
        Pid: container.status === 'running' ? this.nextPid++ : 0,
        ExitCode: container.exitCode ?? 0,
        Error: '',
      },
      logs: [],
    };
    this.containers.set(id, made);
    return made;
  }

  /** The container's process ends with `code` (silently: `emit` false plays a missed event). */
  exit(id: string, code: number, emit = true): void {
    const container = this.containers.get(id)!;
    container.State = { ...container.State, Status: 'exited', Pid: 0, ExitCode: code };
    if (emit) this.emit(container, 'die', { exitCode: String(code) });
  }

  /** The engine's health check reaches a verdict. */
  health(id: string, status: 'healthy' | 'unhealthy'): void {
    const container = this.containers.get(id)!;
    container.State.Health = { Status: status, FailingStreak: status === 'healthy' ? 0 : 3, Log: [] };
    this.emit(container, `health_status: ${status}`);
  }

  byName(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.Name === `/${name}`);
  }

  calls(method: string, pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pattern.test(r.path));
  }

  private newId(): string {
    return (this.nextId++).toString(16).padStart(64, '0');
  }

  private emit(container: FakeContainer, action: string, extra: Record<string, string> = {}): void {
    const attributes = {
      ...container.Config.Labels,
      name: container.Name.slice(1),
      image: container.Config.Image,
      ...extra,
    };
    const event = {
      Type: 'container',
      Action: action,
      id: container.Id,
      Actor: { ID: container.Id, Attributes: attributes },
    };
    for (const stream of this.streams) {
      if (!stream.labels.every((filter) => matchesLabel(attributes, filter))) continue;
      stream.res.write(`${JSON.stringify(event)}\n`);
    }
  }

  private find(idOrName: string): FakeContainer | undefined {
    return this.containers.get(idOrName) ?? this.byName(idOrName);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://engine');
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString();
    const body: unknown = text ? JSON.parse(text) : undefined;
    const path = url.pathname.replace(/^\/v1\.\d+/, '');
    const method = req.method ?? 'GET';
    this.requests.push({ method, path, query: url.searchParams, headers: req.headers, body });
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(value === undefined ? '' : JSON.stringify(value));
    };
    const fail = (status: number, message: string): void => json(status, { message });
    let m: RegExpExecArray | null;

    if (path === '/_ping') {
      res.writeHead(200, { 'API-Version': '1.41' });
      res.end('OK');
    } else if (path === '/info') {
      json(200, {
        Name: 'fake-node',
        ServerVersion: '20.10.99',
        OSType: 'linux',
        Architecture: 'x86_64',
        NCPU: 4,
        MemTotal: 8 * 2 ** 30,
        Labels: ['engine=fake'],
        Plugins: { Volume: ['local'], Network: ['bridge'], Log: ['json-file'] },
      });
    } else if (path === '/version') {
      json(200, { Version: '20.10.99', ApiVersion: '1.41' });
    } else if (path === '/events') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.flushHeaders();
      const stream = { res, labels: filters.label ?? [] };
      this.streams.add(stream);
      res.on('close', () => this.streams.delete(stream));
    } else if (path === '/containers/create' && method === 'POST') {
      const name = url.searchParams.get('name') ?? '';
      const create = body as {
        Image: string;
        Labels?: Record<string, string>;
        Tty?: boolean;
        Healthcheck?: { Test?: string[] };
      };
      const existing = this.byName(name);
      if (existing) {
        fail(
          409,
          `Conflict. The container name "/${name}" is already in use by container "${existing.Id}". You have to remove (or rename) that container to be able to reuse that name.`,
        );
        return;
      }
      if (!this.images.has(create.Image)) {
        fail(404, `No such image: ${create.Image}`);
        return;
      }
      const container: FakeContainer = {
        Id: this.newId(),
        Name: `/${name}`,
        Config: {
          Image: create.Image,
          Labels: create.Labels ?? {},
          Tty: create.Tty ?? false,
          Healthcheck: create.Healthcheck ?? null,
        },
        body: body as Record<string, unknown>,
        State: { Status: 'created', Pid: 0, ExitCode: 0, Error: '' },
        logs: [],
      };
      this.containers.set(container.Id, container);
      this.emit(container, 'create');
      json(201, { Id: container.Id, Warnings: [] });
    } else if ((m = /^\/containers\/([^/]+)\/json$/.exec(path))) {
      const container = this.find(m[1]!);
      if (!container) return fail(404, `No such container: ${m[1]}`);
      json(200, { Id: container.Id, Name: container.Name, Config: container.Config, State: container.State });
    } else if ((m = /^\/containers\/([^/]+)\/start$/.exec(path))) {
      const container = this.find(m[1]!);
      if (!container) return fail(404, `No such container: ${m[1]}`);
      if (container.State.Status === 'running') return json(304, undefined);
      const test = container.Config.Healthcheck?.Test ?? [];
      container.State = {
        ...container.State,
        Status: 'running',
        Pid: this.nextPid++,
        ...(test.length > 0 && test[0] !== 'NONE'
          ? { Health: { Status: 'starting', FailingStreak: 0, Log: [] } }
          : {}),
      };
      this.emit(container, 'start');
      json(204, undefined);
    } else if ((m = /^\/containers\/([^/]+)\/stop$/.exec(path))) {
      const container = this.find(m[1]!);
      if (!container) return fail(404, `No such container: ${m[1]}`);
      if (container.State.Status !== 'running') return json(304, undefined);
      this.emit(container, 'kill', { signal: '15' });
      this.exit(container.Id, 143);
      this.emit(container, 'stop');
      json(204, undefined);
    } else if ((m = /^\/containers\/([^/]+)\/kill$/.exec(path))) {
      const container = this.find(m[1]!);
      if (!container) return fail(404, `No such container: ${m[1]}`);
      if (container.State.Status !== 'running') return fail(409, `Container ${container.Id} is not running`);
      this.emit(container, 'kill', { signal: '9' });
      this.exit(container.Id, 137);
      json(204, undefined);
    } else if ((m = /^\/containers\/([^/]+)$/.exec(path)) && method === 'DELETE') {
      const container = this.find(m[1]!);
      if (!container) return fail(404, `No such container: ${m[1]}`);
      if (container.State.Status === 'running') this.exit(container.Id, 137);
      this.containers.delete(container.Id);
      this.emit(container, 'destroy');
      json(204, undefined);
    } else if (path === '/containers/json') {
      const filters = JSON.parse(url.searchParams.get('filters') ?? '{}') as { label?: string[] };
      const list = [...this.containers.values()]
        .filter((c) => (filters.label ?? []).every((filter) => matchesLabel(c.Config.Labels, filter)))
        .map((c) => ({ Id: c.Id, Names: [c.Name], State: c.State.Status, Labels: c.Config.Labels }));
      json(200, list);
    } else if ((m = /^\/containers\/([^/]+)\/logs$/.exec(path))) {
      const container = this.find(m[1]!);
      if (!container) return fail(404, `No such container: ${m[1]}`);
      res.writeHead(200, { 'Content-Type': 'application/vnd.docker.raw-stream' });
      for (const log of container.logs) res.write(log);
      res.end();
    } else if ((m = /^\/images\/(.+)\/json$/.exec(path))) {
      if (this.images.has(m[1]!)) json(200, { Id: 'sha256:feed' });
      else fail(404, `No such image: ${m[1]}`);
    } else if (path === '/images/create') {
      const image = `${url.searchParams.get('fromImage')}:${url.searchParams.get('tag')}`;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (this.pullable.has(image)) {
        this.images.add(image);
        res.end(
          `{"status":"Pulling from ${image}"}\n{"status":"Status: Downloaded newer image for ${image}"}\n`,
        );
      } else {
        const error = `pull access denied for ${image}, repository does not exist or may require 'docker login'`;
        res.end(`{"errorDetail":{"message":"${error}"},"error":"${error}"}\n`);
      }
    } else if (path === '/volumes/create') {
      const volume = body as { Name: string };
      this.volumes.set(volume.Name, volume);
      json(201, volume);
    } else {
      fail(404, `page not found: ${method} ${path}`);
    }
  }
}

/** Docker's label filter: `key` (present) or `key=value`. */
function matchesLabel(labels: Record<string, string>, filter: string): boolean {
  const equals = filter.indexOf('=');
  if (equals === -1) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, equals)] === filter.slice(equals + 1);
}

/** One frame of Docker's multiplexed log stream. */
export function logFrame(stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}
