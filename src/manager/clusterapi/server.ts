// The manager's cluster port (2377): HTTP/2 over TLS carrying the CA calls nodes join with and the
// dispatcher calls they live by (see CLUSTER_API_PATHS in src/api/dispatcher.ts for the wire format).
//
// TLS asks for a client certificate but lets connections without one through, because a joining
// node has none yet. Every call is therefore authorized on its own, from the verified peer
// certificate only (authorize(): role by OU, cluster by O, removed nodes by the blacklist): only the
// two CA bootstrap calls answer a caller without a certificate. Identity never comes from a body.

import http2, {
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { serverTlsOptions, type CertificateIdentity, type NodeTlsCredentials } from '../../api/certs.js';
import type { StreamHandle } from '../../api/dispatcher.js';
import { ShoalError, unimplemented } from '../../api/errors.js';
import type { ObjectEventBatch, ObjectStore } from '../../store/objects.js';
import { authorize } from '../ca/auth.js';
import type { DispatcherLog } from '../dispatcher/log.js';
import { silentLog } from '../dispatcher/log.js';
import type { DispatcherServer } from '../dispatcher/server.js';
import { FrameWriter, readJsonBody, respondError, respondJson } from './exchange.js';
import { keepSessionAlive, type KeepaliveOptions } from '../../api/keepalive.js';
import { NodeCertificateAuthority } from './node-ca.js';
import { clusterApiRoutes, type Access, type Caller, type Route } from './routes.js';

export interface ListenAddress {
  host: string;
  /** 0 picks a free port (see `address()` once started). */
  port: number;
}

export interface ClusterApiLimits {
  /** Largest request body accepted from a node (a batch of log lines is the biggest legitimate one). */
  maxRequestBytes: number;
  /** Largest request body accepted from a caller without a certificate (a CSR and a description). */
  maxAnonymousRequestBytes: number;
  /** Calls one connection may have open at once (a node needs a handful). */
  maxConcurrentStreams: number;
  /** Output a stream's peer may leave unread before it is cut off. */
  maxStreamBufferBytes: number;
  /** A TLS handshake must finish within this time. */
  handshakeTimeoutMs: number;
  keepalive: KeepaliveOptions;
}

export const DEFAULT_CLUSTER_API_LIMITS: ClusterApiLimits = {
  maxRequestBytes: 16 * 2 ** 20,
  maxAnonymousRequestBytes: 64 * 2 ** 10,
  maxConcurrentStreams: 128,
  maxStreamBufferBytes: 64 * 2 ** 20,
  handshakeTimeoutMs: 10_000,
  keepalive: { intervalMs: 10_000, timeoutMs: 20_000 },
};

export interface ClusterApiServerOptions {
  listenAddr: ListenAddress;
  store: ObjectStore;
  dispatcher: DispatcherServer;
  /** This manager's certificate and key, and the root CA that client certificates must chain to. */
  credentials: NodeTlsCredentials;
  clusterId: string;
  log?: DispatcherLog;
  /** Accept the manager join token (needs a datastore several managers share; see NodeCertificateAuthority). */
  allowManagerJoins?: boolean;
  limits?: Partial<ClusterApiLimits>;
  /** The time certificates are issued at (tests). */
  now?: () => Date;
}

export class ClusterApiServer {
  private readonly options: ClusterApiServerOptions;
  private readonly limits: ClusterApiLimits;
  private readonly log: DispatcherLog;
  private readonly ca: NodeCertificateAuthority;
  private readonly routes: ReadonlyMap<string, Route>;
  private credentials: NodeTlsCredentials;
  private server: Http2SecureServer | undefined;
  /** Open connections, with the node ID once one of its calls proved who it is. */
  private readonly sessions = new Map<Http2Session, string | undefined>();
  private unwatch: (() => void) | undefined;

  constructor(options: ClusterApiServerOptions) {
    this.options = options;
    this.limits = { ...DEFAULT_CLUSTER_API_LIMITS, ...options.limits };
    this.log = options.log ?? silentLog;
    this.credentials = options.credentials;
    this.ca = new NodeCertificateAuthority({
      store: options.store,
      clusterId: options.clusterId,
      allowManagerJoins: options.allowManagerJoins,
      now: options.now,
    });
    this.routes = clusterApiRoutes(options.dispatcher, this.ca);
  }

  /** Starts listening; resolves with the address actually bound. */
  async start(): Promise<ListenAddress> {
    if (this.server) throw new Error('cluster API server already started');
    const server = http2.createSecureServer({
      ...serverTlsOptions(this.credentials),
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      allowHTTP1: false,
      settings: { maxConcurrentStreams: this.limits.maxConcurrentStreams },
    });
    server.on('session', (session: ServerHttp2Session) => this.onSession(session));
    server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) =>
      this.onStream(stream, headers),
    );
    // Whatever does not speak HTTP/2 after the handshake (an HTTP/1 client) is dropped at once.
    server.on('unknownProtocol', (socket) => socket.destroy());
    server.on('tlsClientError', (err) => this.log.debug('cluster API: TLS handshake failed', { err }));
    server.on('sessionError', (err) => this.log.debug('cluster API: connection error', { err }));

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listenAddr.port, this.options.listenAddr.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.log.error('cluster API: server error', { err }));
    this.server = server;
    this.unwatch = this.options.store.watch((batch) => this.onStoreEvents(batch));
    const bound = this.address()!;
    this.log.info('cluster API: listening', { addr: `${bound.host}:${bound.port}` });
    return bound;
  }

  address(): ListenAddress | undefined {
    const address = this.server?.address() as AddressInfo | null | undefined;
    return address ? { host: address.address, port: address.port } : undefined;
  }

  /**
   * Serves new connections with renewed credentials. Connections already open keep the certificate
   * they were set up with, so nothing running is interrupted.
   */
  setCredentials(credentials: NodeTlsCredentials): void {
    this.credentials = credentials;
    this.server?.setSecureContext(serverTlsOptions(credentials));
  }

  /** Stops listening and drops every connection; their streams end, which closes the dispatcher's side. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const session of this.sessions.keys()) session.destroy();
    this.sessions.clear();
    await closed;
  }

  // ---------------------------------------------------------------- connections

  private onSession(session: ServerHttp2Session): void {
    this.sessions.set(session, undefined);
    session.on('error', (err) => this.log.debug('cluster API: connection error', { err }));
    session.once('close', () => this.sessions.delete(session));
    keepSessionAlive(session, this.limits.keepalive, () => {
      this.log.debug('cluster API: peer stopped answering pings; dropping the connection', {
        node: this.sessions.get(session),
      });
      session.destroy();
    });
  }

  /** Cuts the connections of nodes that were just removed; their next connection is refused anyway. */
  private onStoreEvents(batch: ObjectEventBatch): void {
    for (const event of batch.events) {
      if (event.kind !== 'cluster' || event.action === 'delete') continue;
      if (event.object.ID !== this.options.clusterId) continue;
      const blacklist = event.object.RootCA?.BlacklistedCertificates ?? {};
      for (const [session, nodeId] of this.sessions) {
        if (nodeId !== undefined && Object.hasOwn(blacklist, nodeId)) {
          this.log.info('cluster API: disconnecting removed node', { node: nodeId });
          session.destroy();
        }
      }
    }
  }

  // ---------------------------------------------------------------- calls

  private onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    // A peer resetting its stream is routine (a closed session, a cancelled call).
    stream.on('error', (err) => this.log.debug('cluster API: stream error', { err }));
    this.serve(stream, headers).catch((err: unknown) => respondError(stream, err));
  }

  private async serve(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (!route) throw unimplemented(`unknown method ${path}`, { rpc: true });
    if (headers[':method'] !== 'POST') {
      throw new ShoalError('Unimplemented', 'cluster API calls are POST requests', { status: 405 });
    }
    // Before the body is read: an unauthenticated caller gets nothing, not even a parse error.
    const caller = this.authorizeCaller(stream.session, route.access);
    const limit = caller.identity ? this.limits.maxRequestBytes : this.limits.maxAnonymousRequestBytes;
    const body = await readJsonBody(stream, limit);
    if (route.kind === 'unary') {
      const result = await route.call(caller, body);
      respondJson(stream, 200, result ?? {});
      return;
    }
    this.openStream(stream, route, caller, body);
  }

  private openStream(
    stream: ServerHttp2Stream,
    route: Extract<Route, { kind: 'stream' }>,
    caller: Caller,
    body: unknown,
  ): void {
    if (stream.destroyed || stream.closed) return;
    const writer = new FrameWriter<unknown>(stream, this.limits.maxStreamBufferBytes);
    let handle: StreamHandle;
    try {
      handle = route.open(caller, body, writer);
    } catch (err) {
      // Refused before anything was sent (e.g. a malformed request): a plain error response.
      if (!stream.headersSent) respondError(stream, err);
      else writer.end(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    writer.start();
    // However the stream ends — the node closes it, its connection drops, the server stops — the
    // dispatcher's side is closed too.
    stream.once('close', () => handle.close());
  }

  private authorizeCaller(session: Http2Session | undefined, access: Access): Caller {
    const socket = session?.socket;
    if (!session || !socket) throw new ShoalError('Unavailable', 'connection closed');
    const addr = peerIp(socket.remoteAddress);
    if (access === 'anyone') return { addr };
    const identity: CertificateIdentity = authorize(socket, {
      allowedRoles: access,
      clusterId: this.options.clusterId,
      blacklist: this.ca.blacklist(),
    });
    this.sessions.set(session, identity.nodeId);
    return { addr, identity };
  }
}

/** The peer's IP as the store records it: IPv4 peers of a dual-stack socket without the `::ffff:` prefix. */
export function peerIp(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice('::ffff:'.length)
    : remoteAddress;
}
