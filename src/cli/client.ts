// The CLI's Engine API client: negotiates the API version with `HEAD /_ping` like the docker CLI, then
// sends versioned requests over the daemon's unix socket (or TCP), shaped as docker's Go client
// shapes them: query parameters sorted by name (url.Values.Encode), JSON bodies as json.Encoder
// writes them (HTML characters escaped, a trailing newline), filters as `{"key":{"value":true}}`.
// Errors are Docker's: `Error response from daemon: <message>` for non-2xx answers and `Cannot
// connect to the shoal daemon at …` when the socket does not answer.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { goJSON } from './format/gojson.js';
import type { FilterArgs } from './filter-args.js';
import { RawJSON } from './wire.js';
import type {
  Config,
  ConfigSpec,
  Node,
  NodeSpec,
  Secret,
  SecretSpec,
  Service,
  ServiceSpec,
  SwarmSpec,
  Task,
} from '../api/types.js';
import type { NetworkResource } from '../api/networks.js';
import { SHOAL_VERSION } from '../version.js';

/** The newest API version this CLI speaks. */
export const CLIENT_API_VERSION = '1.44';
/** Used when the daemon does not say (Docker's fallback). */
const FALLBACK_API_VERSION = '1.24';

export const DEFAULT_HOST = 'unix:///run/shoal/shoal.sock';

/** A non-2xx answer. `message` is what Docker prints; `daemonMessage` is the daemon's own text. */
export class DaemonError extends Error {
  constructor(
    readonly status: number,
    readonly daemonMessage: string,
  ) {
    super(`Error response from daemon: ${daemonMessage}`);
    this.name = 'DaemonError';
  }
}

export class ConnectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** Docker's errdefs.IsNotFound for daemon answers. */
export const isNotFound = (err: unknown): boolean => err instanceof DaemonError && err.status === 404;

export interface ApiResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export type QueryValue = string | number | boolean | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** A value to send as JSON (Go's encoder: HTML-escaped, newline-terminated); RawJSON is sent as is. */
  body?: unknown;
  headers?: Record<string, string>;
}

export function compareVersions(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am !== bm ? am - bm : an - bn;
}

/** The `/info` answer, as far as the CLI reads it (the rest is kept for `--format`). */
export interface SystemInfo {
  ID?: string;
  Name?: string;
  ServerVersion?: string;
  Swarm: SwarmInfo;
  [key: string]: unknown;
}

export interface SwarmInfo {
  NodeID: string;
  NodeAddr: string;
  LocalNodeState: string;
  ControlAvailable: boolean;
  Error: string;
  RemoteManagers: { NodeID: string; Addr: string }[] | null;
  Nodes?: number;
  Managers?: number;
  Cluster?: ClusterInfo | null;
}

export interface ClusterInfo {
  ID: string;
  Version: { Index: number };
  CreatedAt: string;
  UpdatedAt: string;
  Spec: SwarmSpec;
  TLSInfo: { TrustRoot: string; CertIssuerSubject: string; CertIssuerPublicKey: string };
  RootRotationInProgress: boolean;
  DefaultAddrPool: string[] | null;
  SubnetSize: number;
  DataPathPort: number;
}

/** `GET /swarm`: the cluster with its join tokens. */
export interface SwarmInspect extends ClusterInfo {
  JoinTokens: { Worker: string; Manager: string };
}

export interface ServiceUpdateResponse {
  Warnings: string[] | null;
}

export interface ServiceCreateResponse {
  ID: string;
  Warnings?: string[] | null;
}

/** `GET /distribution/{name}/json` (moby's registry.DistributionInspect), as far as the CLI reads it. */
export interface DistributionInspect {
  Descriptor?: { digest?: string };
  Platforms?: { architecture?: string; os?: string }[] | null;
}

export interface NamedObject {
  ID: string;
  Spec: { Name?: string };
}

/** Options of the service and task log endpoints (Docker's container.LogsOptions). */
export interface LogsOptions {
  since?: string;
  timestamps?: boolean;
  follow?: boolean;
  tail?: string;
  details?: boolean;
}

export class EngineClient {
  private negotiated: string | undefined;
  private readonly socketPath: string | undefined;
  private readonly tcp: { host: string; port: number } | undefined;

  constructor(readonly host: string = DEFAULT_HOST) {
    if (host.startsWith('unix://')) {
      this.socketPath = host.slice('unix://'.length);
    } else {
      const m = /^(?:tcp:\/\/)?([^:/]+):(\d+)\/?$/.exec(host);
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
      pinned || (compareVersions(server, CLIENT_API_VERSION) < 0 ? server : CLIENT_API_VERSION);
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

  async post<T>(
    path: string,
    body?: unknown,
    query?: RequestOptions['query'],
    headers?: Record<string, string>,
  ): Promise<T | undefined> {
    const res = await this.call('POST', path, { body, query, headers });
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

  // ---------------------------------------------------------------- typed endpoints

  info(): Promise<SystemInfo> {
    return this.get<SystemInfo>('/info');
  }

  version(): Promise<Record<string, unknown>> {
    return this.get<Record<string, unknown>>('/version');
  }

  swarmInspect(): Promise<SwarmInspect> {
    return this.get<SwarmInspect>('/swarm');
  }

  async swarmInit(request: unknown): Promise<string> {
    return (await this.post<string>('/swarm/init', request)) ?? '';
  }

  async swarmJoin(request: unknown): Promise<void> {
    await this.post('/swarm/join', request);
  }

  async swarmLeave(force: boolean): Promise<void> {
    await this.post('/swarm/leave', undefined, { force: force ? '1' : undefined });
  }

  async swarmUnlock(key: string): Promise<void> {
    await this.post('/swarm/unlock', { UnlockKey: key });
  }

  async swarmUnlockKey(): Promise<string> {
    const res = await this.get<{ UnlockKey?: string }>('/swarm/unlockkey');
    return res.UnlockKey ?? '';
  }

  /** `POST /swarm/update`: the rotation flags are always all sent, as Docker's client does. */
  async swarmUpdate(
    version: number,
    spec: unknown,
    flags: {
      rotateWorkerToken?: boolean;
      rotateManagerToken?: boolean;
      rotateManagerUnlockKey?: boolean;
    } = {},
  ): Promise<void> {
    await this.post('/swarm/update', spec, {
      version,
      rotateWorkerToken: flags.rotateWorkerToken ?? false,
      rotateManagerToken: flags.rotateManagerToken ?? false,
      rotateManagerUnlockKey: flags.rotateManagerUnlockKey ?? false,
    });
  }

  nodeList(filters?: FilterArgs): Promise<Node[]> {
    return this.get<Node[]>('/nodes', filterQuery(filters));
  }

  nodeInspect(id: string): Promise<Node> {
    return this.get<Node>(`/nodes/${encodePath(id)}`);
  }

  async nodeUpdate(id: string, version: number, spec: NodeSpec | RawJSON): Promise<void> {
    await this.post(`/nodes/${encodePath(id)}/update`, spec, { version });
  }

  async nodeRemove(id: string, force: boolean): Promise<void> {
    await this.delete(`/nodes/${encodePath(id)}`, { force: force ? '1' : undefined });
  }

  serviceList(options: { filters?: FilterArgs; status?: boolean } = {}): Promise<Service[]> {
    return this.get<Service[]>('/services', {
      ...filterQuery(options.filters),
      status: options.status ? 'true' : undefined,
    });
  }

  serviceInspect(id: string, insertDefaults = false): Promise<Service> {
    return this.get<Service>(`/services/${encodePath(id)}`, { insertDefaults: String(insertDefaults) });
  }

  async serviceCreate(spec: ServiceSpec | RawJSON, registryAuth?: string): Promise<ServiceCreateResponse> {
    const headers = registryAuth !== undefined ? { 'X-Registry-Auth': registryAuth } : undefined;
    return (
      (await this.post<ServiceCreateResponse>('/services/create', spec, undefined, headers)) ?? { ID: '' }
    );
  }

  async serviceUpdate(
    id: string,
    version: number,
    spec: ServiceSpec | RawJSON,
    options: { registryAuthFrom?: string; rollback?: string; registryAuth?: string } = {},
  ): Promise<ServiceUpdateResponse> {
    const headers =
      options.registryAuth !== undefined ? { 'X-Registry-Auth': options.registryAuth } : undefined;
    const res = await this.post<ServiceUpdateResponse>(
      `/services/${encodePath(id)}/update`,
      spec,
      { version, registryAuthFrom: options.registryAuthFrom, rollback: options.rollback },
      headers,
    );
    return res ?? { Warnings: null };
  }

  async serviceRemove(id: string): Promise<void> {
    await this.delete(`/services/${encodePath(id)}`);
  }

  taskList(filters?: FilterArgs): Promise<Task[]> {
    return this.get<Task[]>('/tasks', filterQuery(filters));
  }

  taskInspect(id: string): Promise<Task> {
    return this.get<Task>(`/tasks/${encodePath(id)}`);
  }

  /** `GET /services/{id}/logs` or `/tasks/{id}/logs`: the raw multiplexed stream. */
  logs(
    kind: 'services' | 'tasks',
    id: string,
    options: LogsOptions,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    return this.stream(
      `/${kind}/${encodePath(id)}/logs`,
      {
        stdout: '1',
        stderr: '1',
        since: options.since || undefined,
        timestamps: options.timestamps ? '1' : undefined,
        details: options.details ? '1' : undefined,
        follow: options.follow ? '1' : undefined,
        tail: options.tail ?? '',
      },
      signal,
    );
  }

  /**
   * `GET /distribution/{image}/json`: the registry's descriptor of the image (its digest) and platforms,
   * asked with the `X-Registry-Auth` credentials when given. The image goes into the path as it is.
   */
  distributionInspect(image: string, registryAuth?: string): Promise<DistributionInspect> {
    const path = `/distribution/${image.split('/').map(encodePath).join('/')}/json`;
    const headers = registryAuth ? { 'X-Registry-Auth': registryAuth } : undefined;
    return this.call('GET', path, { headers }).then(
      (res) => JSON.parse(res.body.toString('utf8')) as DistributionInspect,
    );
  }

  networkInspect(idOrName: string, scope?: string): Promise<{ Id: string; Name: string }> {
    return this.get<{ Id: string; Name: string }>(`/networks/${encodePath(idOrName)}`, { scope });
  }

  /** NetworkInspectWithRaw: the network and the daemon's JSON text of it (`network inspect` prints that). */
  async networkInspectWithRaw(
    idOrName: string,
    options: { verbose?: boolean; scope?: string } = {},
  ): Promise<{ network: NetworkResource; raw: string }> {
    const res = await this.call('GET', `/networks/${encodePath(idOrName)}`, {
      query: { verbose: options.verbose ? 'true' : undefined, scope: options.scope || undefined },
    });
    const raw = res.body.toString('utf8');
    return { network: JSON.parse(raw) as NetworkResource, raw };
  }

  networkList(filters?: FilterArgs): Promise<NetworkResource[]> {
    return this.get<NetworkResource[]>('/networks', filterQuery(filters));
  }

  async networkCreate(request: RawJSON): Promise<{ Id: string; Warning?: string }> {
    return (await this.post<{ Id: string; Warning?: string }>('/networks/create', request)) ?? { Id: '' };
  }

  async networkRemove(idOrName: string): Promise<void> {
    await this.delete(`/networks/${encodePath(idOrName)}`);
  }

  async networkPrune(filters?: FilterArgs): Promise<{ NetworksDeleted: string[] | null }> {
    const report = await this.post<{ NetworksDeleted: string[] | null }>(
      '/networks/prune',
      undefined,
      filterQuery(filters),
    );
    return report ?? { NetworksDeleted: null };
  }

  secretList(filters?: FilterArgs): Promise<Secret[]> {
    return this.get<Secret[]>('/secrets', filterQuery(filters));
  }

  configList(filters?: FilterArgs): Promise<Config[]> {
    return this.get<Config[]>('/configs', filterQuery(filters));
  }

  secretInspect(id: string): Promise<Secret> {
    return this.get<Secret>(`/secrets/${encodePath(id)}`);
  }

  async secretCreate(spec: SecretSpec | RawJSON): Promise<{ ID: string }> {
    return (await this.post<{ ID: string }>('/secrets/create', spec)) ?? { ID: '' };
  }

  /** `POST /secrets/{id}/update`: the whole spec with the version read (only labels may change). */
  async secretUpdate(id: string, version: number, spec: SecretSpec | RawJSON): Promise<void> {
    await this.post(`/secrets/${encodePath(id)}/update`, spec, { version });
  }

  async secretRemove(id: string): Promise<void> {
    await this.delete(`/secrets/${encodePath(id)}`);
  }

  configInspect(id: string): Promise<Config> {
    return this.get<Config>(`/configs/${encodePath(id)}`);
  }

  async configCreate(spec: ConfigSpec | RawJSON): Promise<{ ID: string }> {
    return (await this.post<{ ID: string }>('/configs/create', spec)) ?? { ID: '' };
  }

  /** `POST /configs/{id}/update`: the whole spec with the version read (only labels may change). */
  async configUpdate(id: string, version: number, spec: ConfigSpec | RawJSON): Promise<void> {
    await this.post(`/configs/${encodePath(id)}/update`, spec, { version });
  }

  async configRemove(id: string): Promise<void> {
    await this.delete(`/configs/${encodePath(id)}`);
  }

  // ---------------------------------------------------------------- transport

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
    const qs = encodeQuery(options.query ?? {});
    const body = encodeBody(options.body);
    const headers: Record<string, string> = {
      'User-Agent': `shoal-cli/${SHOAL_VERSION} (linux)`,
      ...options.headers,
    };
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

/** A request body as Go's json.Encoder writes it (a trailing newline); RawJSON as it is. */
export function encodeBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  return Buffer.from((body instanceof RawJSON ? body.text : goJSON(body)) + '\n');
}

/** Go's url.Values.Encode: keys sorted, values escaped with QueryEscape (spaces as `+`). */
export function encodeQuery(query: Record<string, QueryValue>): string {
  const esc = (s: string): string =>
    encodeURIComponent(s)
      .replace(/%20/g, '+')
      .replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return Object.keys(query)
    .filter((k) => query[k] !== undefined)
    .sort()
    .map((k) => `${esc(k)}=${esc(String(query[k]))}`)
    .join('&');
}

/** A path segment as Go's client sends it (IDs and names rarely need escaping). */
function encodePath(s: string): string {
  return encodeURIComponent(s).replace(/%3A/gi, ':').replace(/%40/g, '@');
}

function filterQuery(filters: FilterArgs | undefined): Record<string, QueryValue> {
  const json = filters?.toJSON() ?? '';
  return json ? { filters: json } : {};
}

function errorMessage(res: ApiResponse): string {
  const text = res.body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.trim();
  } catch {
    // not JSON
  }
  return text.trim() || `status ${res.status}`;
}
