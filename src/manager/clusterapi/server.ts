// The manager's cluster port (2377): HTTP/2 over TLS carrying the CA calls nodes join with and the
// dispatcher calls they live by (see CLUSTER_API_PATHS in src/api/dispatcher.ts for the wire format).
//
// TLS asks for a client certificate but lets connections without one through, because a joining
// node has none yet. Every call is therefore authorized on its own, from the verified peer
// certificate only (authorize(): role by OU, cluster by O, removed nodes by the blacklist): only the
// two CA bootstrap calls answer a caller without a certificate. Identity never comes from a body.
//
// Since anyone who reaches the port can connect, what a connection may hold depends on whether it
// presented a verified certificate of a node of this cluster (see ClusterApiLimits for the numbers):
// - every connection counts against `maxConnections`, and one IP address may have only so many in
//   their TLS handshake at once;
// - a connection without such a certificate is for joining only (fetch the root CA, then trade the
//   token for a certificate, one connection each): one IP address may hold only so many, each may
//   have only a few calls open at once (more are refused with REFUSED_STREAM), each call must have
//   sent its request within a short deadline, and the connection is closed once a CA call on it is
//   done, and after a fixed time in any case. The manager does not ping it: keepalive must not keep
//   it open;
// - a node's connection keeps the generous limits it needs, pings included, but a call's request must
//   still arrive within a (longer) deadline, so a broken node cannot pin the manager's memory.

import http2, {
  constants,
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import { serverTlsOptions, type CertificateIdentity, type NodeTlsCredentials } from '../../api/certs.js';
import type { StreamHandle } from '../../api/dispatcher.js';
import { ShoalError, unimplemented } from '../../api/errors.js';
import type { ObjectEventBatch, ObjectStore } from '../../store/objects.js';
import { authorize } from '../ca/auth.js';
import type { DispatcherLog } from '../dispatcher/log.js';
import { silentLog } from '../dispatcher/log.js';
import type { DispatcherServer } from '../dispatcher/server.js';
import { IpQuota, type Release } from './admission.js';
import { enforceRequestDeadline, FrameWriter, readJsonBody, respondError, respondJson } from './exchange.js';
import { keepSessionAlive, type KeepaliveOptions } from '../../api/keepalive.js';
import { NodeCertificateAuthority } from './node-ca.js';
import { clusterApiRoutes, type Access, type Caller, type Route } from './routes.js';

/** Roles whose verified certificates make a node's connection. */
const NODE_ROLES = ['worker', 'manager'] as const;

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
  /** Calls a node's connection may have open at once (a node needs a handful). */
  maxConcurrentStreams: number;
  /** Calls a connection without a verified certificate may have open at once; more are refused. */
  maxAnonymousConcurrentStreams: number;
  /** A node must have sent a call's whole request (its body) within this time, else the call is reset. */
  requestBodyTimeoutMs: number;
  /** The same for a caller without a verified certificate. */
  anonymousRequestBodyTimeoutMs: number;
  /**
   * A connection without a verified certificate is closed this long after it was set up, whatever it
   * does (it is closed sooner once a CA call on it is done).
   */
  anonymousConnectionTimeoutMs: number;
  /** Connections (TCP, in any state) open at once; more are refused as they arrive. */
  maxConnections: number;
  /** Connections from one IP address that may be in their TLS handshake at once; more are refused. */
  maxHandshakesPerIp: number;
  /** Connections without a verified certificate one IP address may hold at once; more are refused. */
  maxAnonymousConnectionsPerIp: number;
  /** Output a stream's peer may leave unread before it is cut off. */
  maxStreamBufferBytes: number;
  /** A TLS handshake must finish within this time. */
  handshakeTimeoutMs: number;
  /** Pings on nodes' connections (connections without a certificate are not pinged: they end by the rules above). */
  keepalive: KeepaliveOptions;
}

export const DEFAULT_CLUSTER_API_LIMITS: ClusterApiLimits = {
  maxRequestBytes: 16 * 2 ** 20,
  maxAnonymousRequestBytes: 64 * 2 ** 10,
  maxConcurrentStreams: 128,
  maxAnonymousConcurrentStreams: 4,
  requestBodyTimeoutMs: 60_000,
  anonymousRequestBodyTimeoutMs: 10_000,
  anonymousConnectionTimeoutMs: 30_000,
  maxConnections: 4096,
  maxHandshakesPerIp: 32,
  maxAnonymousConnectionsPerIp: 32,
  maxStreamBufferBytes: 64 * 2 ** 20,
  handshakeTimeoutMs: 10_000,
  keepalive: { intervalMs: 10_000, timeoutMs: 20_000 },
};

/** What the cluster port holds right now. */
export interface ClusterApiStats {
  /** Established HTTP/2 connections. */
  connections: number;
  /** …of which without a verified node certificate. */
  anonymousConnections: number;
  /** TCP connections still in their TLS handshake. */
  handshakes: number;
  /** Calls open on all connections. */
  streams: number;
}

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
  /** Established connections. */
  private readonly sessions = new Map<Http2Session, Connection>();
  /** TCP connections in their TLS handshake, by `address|port`, with their slot of `handshakesPerIp`. */
  private readonly handshakes = new Map<string, { socket: Socket; release: Release }>();
  private readonly handshakesPerIp: IpQuota;
  private readonly anonymousPerIp: IpQuota;
  private openStreams = 0;
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
    this.routes = clusterApiRoutes(options.dispatcher, this.ca, this.log);
    this.handshakesPerIp = new IpQuota(this.limits.maxHandshakesPerIp);
    this.anonymousPerIp = new IpQuota(this.limits.maxAnonymousConnectionsPerIp);
  }

  /** Starts listening; resolves with the address actually bound. */
  async start(): Promise<ListenAddress> {
    if (this.server) throw new Error('cluster API server already started');
    const server = http2.createSecureServer({
      ...serverTlsOptions(this.credentials),
      handshakeTimeout: this.limits.handshakeTimeoutMs,
      allowHTTP1: false,
      // What every connection is offered first; a node's connection is offered its own number as soon
      // as its certificate is known (onSession), before any of its calls is read.
      settings: { maxConcurrentStreams: this.limits.maxAnonymousConcurrentStreams },
    });
    server.maxConnections = this.limits.maxConnections;
    server.on('connection', (socket: Socket) => this.onConnection(socket));
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
    for (const { socket } of this.handshakes.values()) socket.destroy();
    for (const session of this.sessions.keys()) session.destroy();
    this.sessions.clear();
    await closed;
  }

  /** What the port holds open right now (for tests: none of it may outlive the rules above). */
  stats(): ClusterApiStats {
    let anonymous = 0;
    for (const connection of this.sessions.values()) if (connection.anonymous) anonymous++;
    return {
      connections: this.sessions.size,
      anonymousConnections: anonymous,
      handshakes: this.handshakes.size,
      streams: this.openStreams,
    };
  }

  // ---------------------------------------------------------------- connections

  /** A TCP connection, before TLS: one more handshake for its address, if it may have one. */
  private onConnection(socket: Socket): void {
    const address = socket.remoteAddress;
    const release = address === undefined ? undefined : this.handshakesPerIp.acquire(peerIp(address));
    if (!release) {
      this.log.debug('cluster API: too many handshakes from one address; connection refused', {
        addr: peerIp(address),
      });
      socket.destroy();
      return;
    }
    const key = connectionKey(socket);
    this.handshakes.set(key, { socket, release });
    // The raw socket closes with the connection, whether the handshake failed or it was served.
    socket.once('close', () => this.endHandshake(key, socket));
  }

  private endHandshake(key: string, socket?: Socket): void {
    const handshake = this.handshakes.get(key);
    if (!handshake || (socket !== undefined && handshake.socket !== socket)) return;
    this.handshakes.delete(key);
    handshake.release();
  }

  /** A connection after its TLS handshake: a node's, or one without a verified certificate. */
  private onSession(session: ServerHttp2Session): void {
    const socket = session.socket;
    this.endHandshake(connectionKey(socket));
    session.on('error', (err) => this.log.debug('cluster API: connection error', { err }));
    const nodeId = this.verifiedNode(socket);
    if (nodeId !== undefined) {
      this.sessions.set(session, { nodeId, anonymous: false });
      session.once('close', () => this.sessions.delete(session));
      if (!session.destroyed) session.settings({ maxConcurrentStreams: this.limits.maxConcurrentStreams });
      keepSessionAlive(session, this.limits.keepalive, () => {
        this.log.debug('cluster API: peer stopped answering pings; dropping the connection', {
          node: this.sessions.get(session)?.nodeId,
        });
        session.destroy();
      });
      return;
    }

    const addr = peerIp(socket.remoteAddress);
    const release = this.anonymousPerIp.acquire(addr);
    if (!release) {
      this.log.debug('cluster API: too many connections without a certificate from one address; refused', {
        addr,
      });
      const refusal = new Error(`too many connections without a certificate from ${addr}`);
      session.destroy(refusal, constants.NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    this.sessions.set(session, { anonymous: true });
    // Not pinged, and closed at this time whatever it does: joining takes two short calls.
    const expiry = setTimeout(() => {
      this.log.debug('cluster API: closing a connection without a certificate at its time limit', { addr });
      session.destroy();
    }, this.limits.anonymousConnectionTimeoutMs);
    session.once('close', () => {
      clearTimeout(expiry);
      release();
      this.sessions.delete(session);
    });
  }

  /** The node ID of a verified certificate of a node of this cluster that was not removed. */
  private verifiedNode(socket: Socket): string | undefined {
    try {
      return authorize(socket, {
        allowedRoles: NODE_ROLES,
        clusterId: this.options.clusterId,
        blacklist: this.ca.blacklist(),
      }).nodeId;
    } catch {
      return undefined;
    }
  }

  /** Cuts the connections of nodes that were just removed; their next connection is refused anyway. */
  private onStoreEvents(batch: ObjectEventBatch): void {
    for (const event of batch.events) {
      if (event.kind !== 'cluster' || event.action === 'delete') continue;
      if (event.object.ID !== this.options.clusterId) continue;
      const blacklist = event.object.RootCA?.BlacklistedCertificates ?? {};
      for (const [session, { nodeId }] of this.sessions) {
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
    const session = stream.session;
    const connection = session && this.sessions.get(session);
    if (!session || !connection) {
      // A connection refused in onSession: nothing of it is served.
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    this.openStreams++;
    stream.once('close', () => this.openStreams--);
    const { anonymous } = connection;
    enforceRequestDeadline(
      stream,
      anonymous ? this.limits.anonymousRequestBodyTimeoutMs : this.limits.requestBodyTimeoutMs,
    );
    if (anonymous && this.routes.get(headers[':path'] ?? '')?.access === 'anyone') {
      // The CA call this connection was for is done (answered, refused or reset): no more on it. Calls
      // already open finish; the client makes its next call on a new connection.
      stream.once('close', () => session.close());
    }
    this.serve(stream, headers, anonymous).catch((err: unknown) => respondError(stream, err));
  }

  private async serve(
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    anonymous: boolean,
  ): Promise<void> {
    const path = headers[':path'] ?? '';
    const route = this.routes.get(path);
    if (!route) throw unimplemented(`unknown method ${path}`, { rpc: true });
    if (headers[':method'] !== 'POST') {
      throw new ShoalError('Unimplemented', 'cluster API calls are POST requests', { status: 405 });
    }
    // Before the body is read: an unauthenticated caller gets nothing, not even a parse error.
    const caller = this.authorizeCaller(stream.session, route.access);
    const limit =
      caller.identity && !anonymous ? this.limits.maxRequestBytes : this.limits.maxAnonymousRequestBytes;
    const body = await readJsonBody(stream, Math.min(limit, route.maxRequestBytes ?? limit));
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
    const connection = this.sessions.get(session);
    if (connection) connection.nodeId = identity.nodeId;
    return { addr, identity };
  }
}

/** An established connection on the cluster port. */
interface Connection {
  /** The node it belongs to, by its verified certificate (or, without one, by a call that proved it). */
  nodeId?: string;
  /** Without a verified certificate of a node of this cluster: for joining only, under tight limits. */
  anonymous: boolean;
}

/** Names one TCP connection, the same before TLS (raw socket) and after (the session's TLS socket). */
function connectionKey(socket: Socket): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}

/** The peer's IP as the store records it: IPv4 peers of a dual-stack socket without the `::ffff:` prefix. */
export function peerIp(remoteAddress: string | undefined): string {
  if (!remoteAddress) return '';
  return remoteAddress.startsWith('::ffff:') && remoteAddress.includes('.')
    ? remoteAddress.slice('::ffff:'.length)
    : remoteAddress;
}
