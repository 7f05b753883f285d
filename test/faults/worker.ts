// A worker in hostile hands, for the fault tests of the cluster port: it joins a real shoald with the
// worker token (so it holds a real worker certificate, trusted by the manager), then speaks the cluster
// protocol on port 2377 directly — well-formed calls through the agent's own client, and any bytes at
// all through a raw HTTP/2 connection with the same certificate.

import http2 from 'node:http2';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterClient } from '../../src/agent/transport/cluster-client.js';
import type { NodeCredentials } from '../../src/agent/transport/credentials.js';
import { joinCluster } from '../../src/agent/transport/join.js';
import { managerUrl } from '../../src/agent/transport/address.js';
import { clientTlsOptions, MANAGER_SERVER_NAME } from '../../src/api/certs.js';
import type { SessionMessage } from '../../src/api/dispatcher.js';
import type { NodeDescription } from '../../src/api/types.js';
import type { ShoalDaemon } from '../harness/index.js';
import { API, createSleepService } from './support.js';

/** What a shoald node says about itself. */
export const WORKER_DESCRIPTION: NodeDescription = {
  Hostname: 'hostile-worker',
  Platform: { Architecture: 'x86_64', OS: 'linux' },
  Resources: { NanoCPUs: 2e9, MemoryBytes: 2 ** 31 },
  Engine: { EngineVersion: '0.1.0' },
};

/**
 * A sleep service (support.ts) kept on the manager: the hostile worker is a ready node too, and a task
 * placed there would never run, which says nothing about whether the manager still converges.
 */
export async function createManagerService(daemon: ShoalDaemon, name: string): Promise<string> {
  const id = await createSleepService(daemon, name, 0);
  const service = await daemon.apiOk<{ Version: { Index: number }; Spec: Record<string, unknown> }>(
    'GET',
    `${API}/services/${id}`,
  );
  const spec = structuredClone(service.Spec) as { TaskTemplate: { Placement?: unknown }; Mode: unknown };
  spec.TaskTemplate.Placement = { Constraints: ['node.role==manager'] };
  spec.Mode = { Replicated: { Replicas: 1 } };
  await daemon.apiOk('POST', `${API}/services/${id}/update?version=${service.Version.Index}`, spec);
  return id;
}

export interface WireResponse {
  /** HTTP status; 0 when the call got no response (reset, connection lost). */
  status: number;
  /** The body as text (for a stream: what arrived before it was cut off here). */
  body: string;
  error?: Error;
}

/** The manager's cluster address and worker token, from its Engine API. */
export async function clusterAccess(daemon: ShoalDaemon): Promise<{ managerAddr: string; token: string }> {
  const swarm = await daemon.apiOk<{ JoinTokens: { Worker: string } }>('GET', `${API}/swarm`);
  const nodes = await daemon.apiOk<{ ManagerStatus?: { Addr: string } }[]>('GET', `${API}/nodes`);
  const managerAddr = nodes.find((n) => n.ManagerStatus)?.ManagerStatus?.Addr;
  if (!managerAddr) throw new Error('no manager address in GET /nodes');
  return { managerAddr, token: swarm.JoinTokens.Worker };
}

export class HostileWorker {
  readonly client: ClusterClient;
  /** Raw HTTP/2 connections by channel: a flood on one does not share flow control with another. */
  private readonly wires = new Map<string, http2.ClientHttp2Session>();
  private heartbeats: NodeJS.Timeout | undefined;

  private constructor(
    readonly managerAddr: string,
    readonly token: string,
    readonly credentials: NodeCredentials,
  ) {
    this.client = new ClusterClient({ managerAddr, credentials });
  }

  /** Joins the daemon's swarm as a worker (a new node object, a real certificate). */
  static async join(daemon: ShoalDaemon, description = WORKER_DESCRIPTION): Promise<HostileWorker> {
    const { managerAddr, token } = await clusterAccess(daemon);
    const credentials = await joinCluster({ managerAddr, token, description });
    return new HostileWorker(managerAddr, token, credentials);
  }

  get nodeId(): string {
    return this.credentials.nodeId;
  }

  /**
   * Opens a session as an agent would, and keeps it alive with heartbeats. Resolves with the session
   * ID, or rejects with the manager's refusal.
   */
  register(description: unknown = WORKER_DESCRIPTION): Promise<string> {
    return new Promise((resolve, reject) => {
      this.client.session(
        { description: description as NodeDescription },
        (message: SessionMessage) => {
          this.keepAlive(message.sessionId, message.heartbeatPeriodMs);
          resolve(message.sessionId);
        },
        (err) => reject(err ?? new Error('session closed')),
      );
    });
  }

  private keepAlive(sessionId: string, periodMs: number): void {
    clearInterval(this.heartbeats);
    this.heartbeats = setInterval(
      () => void this.client.heartbeat(sessionId).catch(() => {}),
      Math.max(500, periodMs / 2),
    );
    this.heartbeats.unref();
  }

  /**
   * One call with any body: a value is sent as JSON, a string or Buffer as is. A streamed answer is
   * read for `streamMs` and then cut off by this side.
   */
  call(
    path: string,
    body: unknown,
    options: { timeoutMs?: number; streamMs?: number; channel?: string } = {},
  ): Promise<WireResponse> {
    const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
    return new Promise((resolve) => {
      const response: WireResponse = { status: 0, body: '' };
      let settled = false;
      const finish = (error?: Error): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error && response.status === 0) response.error = error;
        resolve(response);
      };
      const stream = this.connection(options.channel ?? '').request({ ':method': 'POST', ':path': path });
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        finish(response.status === 0 ? new Error(`${path}: no answer in time`) : undefined);
      }, options.timeoutMs ?? 15_000);
      stream.setEncoding('utf8');
      stream.on('response', (headers) => {
        response.status = Number(headers[':status']);
        if (String(headers['content-type']).includes('ndjson')) {
          setTimeout(() => {
            stream.close(http2.constants.NGHTTP2_CANCEL);
            finish();
          }, options.streamMs ?? 100);
        }
      });
      stream.on('data', (chunk: string) => {
        if (response.body.length < 1_000_000) response.body += chunk;
      });
      stream.on('error', (err) => {
        // The manager told this connection to calm down (too many resets, too much buffered): a new
        // connection for the next call, as a client that respects it would make.
        if (/ENHANCE_YOUR_CALM/.test(err.message)) this.drop(options.channel ?? '');
        finish(err);
      });
      stream.on('close', () => finish());
      stream.end(payload);
    });
  }

  /** A raw HTTP/2 connection with the worker's certificate (re-made if the manager dropped it). */
  private connection(channel: string): http2.ClientHttp2Session {
    let wire = this.wires.get(channel);
    if (!wire || wire.closed || wire.destroyed) {
      wire = http2.connect(
        managerUrl(this.managerAddr),
        clientTlsOptions(this.credentials, MANAGER_SERVER_NAME),
      );
      wire.on('error', () => {});
      wire.unref();
      this.wires.set(channel, wire);
    }
    return wire;
  }

  private drop(channel: string): void {
    this.wires.get(channel)?.destroy();
    this.wires.delete(channel);
  }

  close(): void {
    clearInterval(this.heartbeats);
    for (const wire of this.wires.values()) wire.destroy();
    this.client.close();
  }
}

/** Bytes of the manager's store on disk: the database and its write-ahead log. */
export function storeBytes(daemon: ShoalDaemon): number {
  let total = 0;
  for (const file of ['store.db', 'store.db-wal']) {
    try {
      total += statSync(join(daemon.dataDir, 'swarm', 'manager', file)).size;
    } catch {
      // no WAL right now
    }
  }
  return total;
}

/** The daemon's resident memory, from /proc. */
export function rssBytes(daemon: ShoalDaemon): number {
  const status = readFileSync(`/proc/${daemon.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) * 1024;
}
