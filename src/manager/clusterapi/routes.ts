// The calls the cluster port answers, who may make each one, and what serves it. Access is declared
// here, per path, so that the server enforces it in one place before any handler runs: only the two
// CA bootstrap calls are open to callers without a certificate.

import { CLUSTER_API_PATHS, type HealthCheckResponse, type StreamHandle } from '../../api/dispatcher.js';
import type { CertificateIdentity } from '../../api/certs.js';
import { ShoalError } from '../../api/errors.js';
import type { NodeRole } from '../../api/types.js';
import { silentLog, type DispatcherLog } from '../dispatcher/log.js';
import type { DispatcherServer, Peer, StreamSink } from '../dispatcher/server.js';
import type { NodeCertificateAuthority } from './node-ca.js';
import { RefusalLog } from './refusals.js';
import {
  parseIssueRequest,
  parsePublishLogs,
  parseRenewRequest,
  parseSessionRequest,
  parseSessionScoped,
  parseUpdateTaskStatus,
} from './validate.js';

/** Who may call: anyone (CA bootstrap only), or verified nodes of these roles. */
export type Access = 'anyone' | readonly NodeRole[];

export interface Caller {
  /** The IP address of the connection's peer. */
  addr: string;
  /** The identity from the verified client certificate; set for every call not open to anyone. */
  identity?: CertificateIdentity;
}

/**
 * The largest request body of calls that carry little (a session ID, a CSR), and of a session request:
 * its description is at most PEER_LIMITS.descriptionBytes as stored. Anything larger is not read, let
 * alone parsed. Status updates and log batches get the server's limit for nodes.
 */
export const SMALL_REQUEST_BYTES = 64 * 1024;
export const SESSION_REQUEST_BYTES = 256 * 1024;

export interface UnaryRoute {
  kind: 'unary';
  access: Access;
  /** Bytes of request body this call reads at most (below the server's own limits; Infinity: theirs). */
  maxRequestBytes?: number;
  call(caller: Caller, body: unknown): Promise<unknown>;
}

export interface StreamRoute {
  kind: 'stream';
  access: readonly NodeRole[];
  maxRequestBytes?: number;
  open(caller: Caller, body: unknown, sink: StreamSink<unknown>): StreamHandle;
}

export type Route = UnaryRoute | StreamRoute;

const NODES: readonly NodeRole[] = ['worker', 'manager'];
const MANAGERS: readonly NodeRole[] = ['manager'];

function identityOf(caller: Caller): CertificateIdentity {
  // The server authorizes before routing; reaching here without an identity is a bug, not a client error.
  if (!caller.identity) throw new ShoalError('Internal', 'call reached a handler without an identity');
  return caller.identity;
}

/** The dispatcher's view of the caller; the node ID comes from the certificate only. */
const peerOf = (caller: Caller): Peer => ({ nodeId: identityOf(caller).nodeId, addr: caller.addr });

export function clusterApiRoutes(
  dispatcher: DispatcherServer,
  ca: NodeCertificateAuthority,
  log: DispatcherLog = silentLog,
): ReadonlyMap<string, Route> {
  const paths = CLUSTER_API_PATHS;
  const refusals = new RefusalLog(log);
  // Every call's refusal of what it was sent (a malformed message, a node over its rate limit) is
  // noted, whether it is thrown while parsing or ends a stream later.
  const unary = (
    path: string,
    access: Access,
    call: (caller: Caller, body: unknown) => Promise<unknown>,
    maxRequestBytes = SMALL_REQUEST_BYTES,
  ): [string, Route] => [
    path,
    {
      kind: 'unary',
      access,
      maxRequestBytes,
      call: async (caller, body) => {
        try {
          return await call(caller, body);
        } catch (err) {
          refusals.note(path, caller, err);
          throw err;
        }
      },
    },
  ];
  const stream = (
    path: string,
    open: StreamRoute['open'],
    maxRequestBytes = SMALL_REQUEST_BYTES,
  ): [string, Route] => [
    path,
    {
      kind: 'stream',
      access: NODES,
      maxRequestBytes,
      open: (caller, body, sink) => {
        try {
          return open(caller, body, refusals.watch(path, caller, sink));
        } catch (err) {
          refusals.note(path, caller, err);
          throw err;
        }
      },
    },
  ];
  const routes: [string, Route][] = [
    unary(paths.rootCACertificate, 'anyone', async () => ca.rootCACertificate()),
    unary(paths.issueNodeCertificate, 'anyone', (caller, body) =>
      ca.issue(parseIssueRequest(body), { addr: caller.addr }),
    ),
    unary(paths.renewNodeCertificate, NODES, (caller, body) =>
      ca.renew(identityOf(caller), parseRenewRequest(body)),
    ),
    unary(paths.health, MANAGERS, async (): Promise<HealthCheckResponse> => ({ status: 'SERVING' })),
    stream(
      paths.session,
      (caller, body, sink) => dispatcher.session(peerOf(caller), parseSessionRequest(body), sink),
      SESSION_REQUEST_BYTES,
    ),
    unary(paths.heartbeat, NODES, (caller, body) =>
      dispatcher.heartbeat(peerOf(caller), parseSessionScoped(body).sessionId),
    ),
    unary(
      paths.updateTaskStatus,
      NODES,
      async (caller, body) => {
        const request = parseUpdateTaskStatus(body);
        await dispatcher.updateTaskStatus(peerOf(caller), request.sessionId, request.updates);
        return {};
      },
      Infinity,
    ),
    stream(paths.assignments, (caller, body, sink) =>
      dispatcher.assignments(peerOf(caller), parseSessionScoped(body).sessionId, sink),
    ),
    stream(paths.logSubscriptions, (caller, body, sink) =>
      dispatcher.logSubscriptions(peerOf(caller), parseSessionScoped(body).sessionId, sink),
    ),
    unary(
      paths.publishLogs,
      NODES,
      async (caller, body) => {
        const request = parsePublishLogs(body);
        await dispatcher.publishLogs(peerOf(caller), request.sessionId, request.message);
        return {};
      },
      Infinity,
    ),
  ];
  return new Map(routes);
}
