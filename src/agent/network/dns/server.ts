// The node's embedded DNS server: one UDP socket and one TCP listener on the gateway bridge's address,
// port 53, in the host's namespace. Each task's 127.0.0.11:53 is DNAT'ed there (src/agent/network/kernel.ts),
// and its queries arrive from its own gateway-leg address — which is how the server knows who asks, and so
// which networks' names it may see. Names of those networks are answered here (answer.ts); everything else
// goes to the host's resolvers (or the task's own `--dns` servers), from the host's namespace, over the
// protocol the task used. A forward that gets no usable answer is a SERVFAIL within a bounded time, never
// silence: each server gets FORWARD_TIMEOUT_MS, all of them together FORWARD_BUDGET_MS.

import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, isIP, type Server, type Socket } from 'node:net';
import type { DecodedPacket } from 'dns-packet';
import { answerQuery, errorResponse, type QueryOutcome } from './answer.js';
import type { NetworkRecords } from './records.js';

export const DNS_PORT = 53;
export const FORWARD_TIMEOUT_MS = 1_500;
export const FORWARD_BUDGET_MS = 3_000;
/** libnetwork's maxConcurrent: forwards in flight at once (more are answered SERVFAIL). */
export const MAX_CONCURRENT_FORWARDS = 1_024;
const TCP_IDLE_MS = 10_000;

export interface Asker {
  /** The records of the networks the task is on, in its order. */
  networks: readonly NetworkRecords[];
  /** The task's own `--dns` servers, which replace the host's for what is forwarded. */
  nameservers?: readonly string[];
  /** Every network of the task is `--internal`: nothing it asks is forwarded (it reaches nothing outside). */
  internalOnly?: boolean;
}

export interface DnsServerOptions {
  /** Who sends from this address (a task's gateway-leg address); undefined: not a task of this node. */
  asker(address: string): Asker | undefined;
  /** The host's resolvers (at most 3). */
  upstreams(): readonly string[];
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

export class DnsServer {
  private udp: UdpSocket | undefined;
  private tcp: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private inFlight = 0;

  constructor(private readonly options: DnsServerOptions) {}

  get address(): string | undefined {
    const bound = this.udp?.address();
    return bound?.address;
  }

  async listen(address: string, port = DNS_PORT): Promise<void> {
    await this.close();
    const udp = createSocket({ type: 'udp4' });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind({ address, port, exclusive: true }, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    udp.on('error', (err) => this.options.log?.('dns: UDP socket error', { err: err.message }));
    udp.on('message', (message, remote) => void this.onUdp(udp, message, remote));
    const tcp = createServer((socket) => this.onTcp(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen({ host: address, port, exclusive: true }, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    this.udp = udp;
    this.tcp = tcp;
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** Answers one query from `source` (the bytes of the answer, or undefined for none). */
  async handle(query: Buffer, source: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const asker = this.options.asker(source);
    const outcome: QueryOutcome = answerQuery(query, { networks: asker?.networks ?? [], transport });
    if (outcome.kind === 'answer') return outcome.response;
    if (outcome.kind === 'drop') return undefined;
    // Only this node's tasks are forwarded for: the server is nobody's open resolver. A task whose
    // networks are all internal gets no answer from outside either (a query is a way out).
    if (!asker) return refused(outcome.query);
    if (asker.internalOnly) return servfail(outcome.query);
    const servers = asker?.nameservers?.length ? asker.nameservers : this.options.upstreams();
    return (await this.forward(query, outcome.query, servers, transport)) ?? servfail(outcome.query);
  }

  private async onUdp(socket: UdpSocket, message: Buffer, remote: RemoteInfo): Promise<void> {
    try {
      const response = await this.handle(message, remote.address, 'udp');
      if (response && this.udp === socket) socket.send(response, remote.port, remote.address);
    } catch (err) {
      this.options.log?.('dns: query failed', { err: (err as Error).message });
    }
  }

  private onTcp(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(TCP_IDLE_MS, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const query = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        void this.handle(Buffer.from(query), socket.remoteAddress ?? '', 'tcp').then(
          (response) => {
            if (!response || socket.destroyed) return;
            const prefix = Buffer.alloc(2);
            prefix.writeUInt16BE(response.length);
            socket.write(Buffer.concat([prefix, response]));
          },
          () => socket.destroy(),
        );
      }
    });
  }

  /**
   * Asks each server in turn (libnetwork's order and rules): SERVFAIL, REFUSED, other errors and a
   * non-authoritative NXDOMAIN move on to the next; a success, an authoritative NXDOMAIN or a truncated answer
   * is passed back as the server wrote it.
   */
  private async forward(
    bytes: Buffer,
    query: DecodedPacket,
    servers: readonly string[],
    transport: 'udp' | 'tcp',
  ): Promise<Buffer | undefined> {
    if (servers.length === 0 || this.inFlight >= MAX_CONCURRENT_FORWARDS) return undefined;
    this.inFlight++;
    const deadline = Date.now() + FORWARD_BUDGET_MS;
    try {
      for (const server of servers.slice(0, 3)) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        if (!isIP(server)) continue;
        let response: Buffer | undefined;
        try {
          response =
            transport === 'udp'
              ? await askUdp(server, bytes, Math.min(FORWARD_TIMEOUT_MS, left))
              : await askTcp(server, bytes, Math.min(FORWARD_TIMEOUT_MS, left));
        } catch {
          continue;
        }
        if (!response || response.length < 12 || response.readUInt16BE(0) !== (query.id ?? 0)) continue;
        const flags = response.readUInt16BE(2);
        const rcode = flags & 0xf;
        const truncated = (flags & 0x0200) !== 0;
        const authoritative = (flags & 0x0400) !== 0;
        if (truncated || rcode === 0 || (rcode === 3 && authoritative)) return response;
      }
      return undefined;
    } finally {
      this.inFlight--;
    }
  }
}

function refused(query: DecodedPacket): Buffer {
  return errorResponse(query.id ?? 0, query.questions ?? [], query.flags ?? 0, 'REFUSED');
}

function servfail(query: DecodedPacket): Buffer {
  return errorResponse(query.id ?? 0, query.questions ?? [], query.flags ?? 0, 'SERVFAIL');
}

function askUdp(server: string, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(server.includes(':') ? 'udp6' : 'udp4');
    const done = (err?: Error, response?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(response!);
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('message', (message) => done(undefined, message));
    socket.connect(DNS_PORT, server, () => socket.send(query));
  });
}

function askTcp(server: string, query: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: server, port: DNS_PORT });
    let buffered = Buffer.alloc(0);
    const done = (err?: Error, response?: Buffer) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(response!);
    };
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    socket.on('error', (err) => done(err));
    socket.on('connect', () => {
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(query.length);
      socket.write(Buffer.concat([prefix, query]));
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        done(undefined, buffered.subarray(2, 2 + buffered.readUInt16BE(0)));
      }
    });
    socket.on('end', () => done(new Error('closed')));
  });
}
