// The calls the cluster port answers, who may make each one, and what serves it. Access is declared
// here, per path, so that the server enforces it in one place before any handler runs: only the two
// CA bootstrap calls are open to callers without a certificate.

import { CLUSTER_API_PATHS, type HealthCheckResponse, type StreamHandle } from '../../api/dispatcher.js';
import type { CertificateIdentity } from '../../api/certs.js';
import { ShoalError } from '../../api/errors.js';
import type { NodeRole } from '../../api/types.js';
import type { DispatcherServer, Peer, StreamSink } from '../dispatcher/server.js';
import type { NodeCertificateAuthority } from './node-ca.js';
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

export interface UnaryRoute {
  kind: 'unary';
  access: Access;
  call(caller: Caller, body: unknown): Promise<unknown>;
}

export interface StreamRoute {
  kind: 'stream';
  access: readonly NodeRole[];
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
): ReadonlyMap<string, Route> {
  const paths = CLUSTER_API_PATHS;
  const routes: [string, Route][] = [
    [paths.rootCACertificate, { kind: 'unary', access: 'anyone', call: async () => ca.rootCACertificate() }],
    [
      paths.issueNodeCertificate,
      {
        kind: 'unary',
        access: 'anyone',
        call: (caller, body) => ca.issue(parseIssueRequest(body), { addr: caller.addr }),
      },
    ],
    [
      paths.renewNodeCertificate,
      {
        kind: 'unary',
        access: NODES,
        call: (caller, body) => ca.renew(identityOf(caller), parseRenewRequest(body)),
      },
    ],
    [
      paths.health,
      {
        kind: 'unary',
        access: MANAGERS,
        call: async (): Promise<HealthCheckResponse> => ({ status: 'SERVING' }),
      },
    ],
    [
      paths.session,
      {
        kind: 'stream',
        access: NODES,
        open: (caller, body, sink) => dispatcher.session(peerOf(caller), parseSessionRequest(body), sink),
      },
    ],
    [
      paths.heartbeat,
      {
        kind: 'unary',
        access: NODES,
        call: (caller, body) => dispatcher.heartbeat(peerOf(caller), parseSessionScoped(body).sessionId),
      },
    ],
    [
      paths.updateTaskStatus,
      {
        kind: 'unary',
        access: NODES,
        call: async (caller, body) => {
          const request = parseUpdateTaskStatus(body);
          await dispatcher.updateTaskStatus(peerOf(caller), request.sessionId, request.updates);
          return {};
        },
      },
    ],
    [
      paths.assignments,
      {
        kind: 'stream',
        access: NODES,
        open: (caller, body, sink) =>
          dispatcher.assignments(peerOf(caller), parseSessionScoped(body).sessionId, sink),
      },
    ],
    [
      paths.logSubscriptions,
      {
        kind: 'stream',
        access: NODES,
        open: (caller, body, sink) =>
          dispatcher.logSubscriptions(peerOf(caller), parseSessionScoped(body).sessionId, sink),
      },
    ],
    [
      paths.publishLogs,
      {
        kind: 'unary',
        access: NODES,
        call: async (caller, body) => {
          const request = parsePublishLogs(body);
          await dispatcher.publishLogs(peerOf(caller), request.sessionId, request.message);
          return {};
        },
      },
    ],
  ];
  return new Map(routes);
}
