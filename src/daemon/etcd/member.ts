// A manager's etcd member, supervised by shoald: its files under `<data-dir>/swarm/etcd/`, its certificate
// from the swarm's root CA, starting it, restarting it when it dies, and stopping it with the node.
//
//   <swarm>/etcd/data/      etcd's data directory (its WAL and snapshots)
//   <swarm>/etcd/tls/       ca.crt (the swarm's root CA), member.crt and member.key (0600)
//   <swarm>/etcd/etcd.log   etcd's output
//   <swarm>/etcd/etcd.pid   the running member's PID, so that a member left behind by a shoald killed with
//                           SIGKILL is stopped before a new one starts on the same data
//
// Security. Client and peer traffic are mutual TLS. The member's certificate is issued by the swarm's root
// CA with the manager's identity (O = cluster, OU = swarm-manager, CN = node ID) and, unlike a node
// certificate, IP SANs (peers and clients check the address they dial). Every node certificate comes from
// the same CA, so trusting the CA alone would let any worker into etcd: the member is started with
// `--client-cert-allowed-hostname swarm-manager` and `--peer-cert-allowed-hostname swarm-manager`, so etcd
// accepts only certificates naming the manager role (a worker's names `swarm-worker`).
//
// Supervision. If the member exits while the node runs, it is started again after a delay that doubles
// from 250 ms up to 10 s (reset after a minute of running); the store's client reconnects by itself.

import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

import { MANAGER_SERVER_NAME, parseNodeCertificate } from '../../api/certs.js';
import type { EtcdTls } from '../../store/etcd/kv.js';
import type { Logger } from '../logger.js';
import { writeFileAtomic } from '../state.js';
import { EtcdProcess, type EtcdMemberConfig } from './process.js';

export interface EtcdMemberFiles {
  caPem: string;
  certPem: string;
  keyPem: string;
}

export interface EtcdMemberOptions {
  /** `<data-dir>/swarm/etcd`. */
  dir: string;
  /** The member's name: the node ID. */
  name: string;
  /** The address the member serves and advertises (the manager's advertise address, without a port). */
  host: string;
  clientPort: number;
  peerPort: number;
  /** `name=peerUrl,…` of the cluster it starts or joins (default: this member alone). */
  initialCluster?: string;
  initialClusterState?: 'new' | 'existing';
  /** Raft timing (default MEMBER_HEARTBEAT_MS and MEMBER_ELECTION_MS). */
  heartbeatMs?: number;
  electionMs?: number;
  log: Logger;
}

/**
 * Raft timing of a manager's member: half etcd's defaults (100 ms, 1 s), so that a dead member is replaced as
 * raft leader within about 0.5–1 s and etcd's minimum lease TTL is 1 s (1.5 election timeouts, rounded up),
 * which the leader election uses. Measured with bench/leader-failover (three runs of 5): a new leader
 * accepting writes after a median of 1.1, 2.1 and 2.1 s, 3.1 s at worst (when the dead manager's member was
 * etcd's raft leader, which etcd must replace first); with etcd's defaults and a 2 s lease, a median of 4.4 s. Managers are on a LAN: 50 ms is well above its round trips.
 */
export const MEMBER_HEARTBEAT_MS = 50;
export const MEMBER_ELECTION_MS = 500;

const RESTART_MIN_MS = 250;
const RESTART_MAX_MS = 10_000;
const STABLE_MS = 60_000;

/** `https://host:port`, with IPv6 hosts in brackets. */
export function memberUrl(host: string, port: number): string {
  return `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Writes the member's certificate, key and CA, each replaced atomically (etcd reads them at each
 * handshake, so a running member never reads half a file).
 */
export function writeEtcdMemberFiles(dir: string, files: EtcdMemberFiles): void {
  const tls = join(dir, 'tls');
  mkdirSync(tls, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(tls, 'ca.crt'), files.caPem, 0o644);
  writeFileAtomic(join(tls, 'member.key'), files.keyPem, 0o600);
  writeFileAtomic(join(tls, 'member.crt'), files.certPem, 0o644);
}

/** When a member's certificate is due for renewal: half-way through its validity, as node certificates. */
export function etcdCertificateDue(certPem: string): Date {
  const { notBefore, notAfter } = parseNodeCertificate(certPem);
  return new Date(notBefore.getTime() + (notAfter.getTime() - notBefore.getTime()) / 2);
}

export class EtcdMember {
  private process: EtcdProcess | undefined;
  private stopping = false;
  private supervising: Promise<void> | undefined;

  constructor(private readonly options: EtcdMemberOptions) {}

  get clientUrl(): string {
    return memberUrl(this.options.host, this.options.clientPort);
  }

  get peerUrl(): string {
    return memberUrl(this.options.host, this.options.peerPort);
  }

  /** How this manager's store reaches the member: its URL, its certificate, the name members carry. */
  clientOptions(): { endpoints: string[]; tls: EtcdTls; serverName: string } {
    return { endpoints: [this.clientUrl], tls: this.clientTls(), serverName: MANAGER_SERVER_NAME };
  }

  /** The client credentials of this manager for the store: the member's own certificate. */
  clientTls(): EtcdTls {
    const tls = join(this.options.dir, 'tls');
    return {
      ca: readFileSync(join(tls, 'ca.crt')),
      cert: readFileSync(join(tls, 'member.crt')),
      key: readFileSync(join(tls, 'member.key')),
    };
  }

  private config(): EtcdMemberConfig {
    const { dir, name } = this.options;
    const tls = join(dir, 'tls');
    return {
      name,
      dataDir: join(dir, 'data'),
      clientUrl: this.clientUrl,
      peerUrl: this.peerUrl,
      initialCluster: this.options.initialCluster ?? `${name}=${this.peerUrl}`,
      initialClusterState: this.options.initialClusterState ?? 'new',
      tls: {
        caFile: join(tls, 'ca.crt'),
        certFile: join(tls, 'member.crt'),
        keyFile: join(tls, 'member.key'),
        allowedHostname: MANAGER_SERVER_NAME,
      },
      heartbeatMs: this.options.heartbeatMs ?? MEMBER_HEARTBEAT_MS,
      electionMs: this.options.electionMs ?? MEMBER_ELECTION_MS,
      logFile: join(dir, 'etcd.log'),
    };
  }

  /**
   * Starts the member and waits until it serves; from then on restarts it whenever it exits. With
   * `forceNewCluster`, this first start makes it the only member of a new cluster on its data (the
   * restarts after it do not).
   */
  async start(options: { forceNewCluster?: boolean } = {}): Promise<void> {
    this.stopping = false;
    await this.stopLeftover();
    this.process = await this.launch(options.forceNewCluster ?? false);
    this.supervising = this.supervise();
  }

  private async launch(forceNewCluster = false): Promise<EtcdProcess> {
    const config = { ...this.config(), ...(forceNewCluster && { forceNewCluster }) };
    const member = await EtcdProcess.start(config, { tlsPem: this.clientTls() });
    writeFileSync(this.pidFile, `${member.pid}\n`, { mode: 0o600 });
    this.options.log.info('etcd member running', {
      pid: member.pid,
      client: this.clientUrl,
      peer: this.peerUrl,
    });
    return member;
  }

  private async supervise(): Promise<void> {
    let backoff = RESTART_MIN_MS;
    while (!this.stopping && this.process) {
      const startedAt = Date.now();
      const exit = await this.process.exited;
      if (this.stopping) return;
      if (Date.now() - startedAt > STABLE_MS) backoff = RESTART_MIN_MS;
      this.options.log.error('etcd member exited; starting it again', { exit, inMs: backoff });
      await delay(backoff);
      backoff = Math.min(backoff * 2, RESTART_MAX_MS);
      if (this.stopping) return;
      try {
        this.process = await this.launch();
      } catch (err) {
        // The old process has exited, so the loop waits no further and tries again after the delay.
        this.options.log.error('etcd member did not start', { error: err });
      }
    }
  }

  /** Stops the member (SIGTERM, then SIGKILL after 10 s) and its supervision. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.process?.stop(10_000);
    await this.supervising;
    this.process = undefined;
    rmSync(this.pidFile, { force: true });
  }

  /** The running member's PID (tests kill it to see it come back). */
  get pid(): number | undefined {
    return this.process?.running ? this.process.pid : undefined;
  }

  private get pidFile(): string {
    return join(this.options.dir, 'etcd.pid');
  }

  /** A member still running from a shoald that was killed holds the data dir and the ports: stop it. */
  private async stopLeftover(): Promise<void> {
    if (!existsSync(this.pidFile)) return;
    const pid = Number(readFileSync(this.pidFile, 'utf8').trim());
    rmSync(this.pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 0 || !isOurEtcd(pid, join(this.options.dir, 'data'))) return;
    this.options.log.warn('stopping the etcd member left running by a previous shoald', { pid });
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; waited < 10_000 && isOurEtcd(pid, join(this.options.dir, 'data')); waited += 50) {
      await delay(50);
    }
    if (isOurEtcd(pid, join(this.options.dir, 'data'))) process.kill(pid, 'SIGKILL');
  }
}

/** Whether `pid` is an etcd serving `dataDir` (its command line says so), not a reused PID. */
function isOurEtcd(pid: number, dataDir: string): boolean {
  let cmdline: string[];
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) [ZX] /.test(stat)) return false;
  } catch {
    return false;
  }
  const at = cmdline.indexOf('--data-dir');
  return at >= 0 && cmdline[at + 1] === dataDir && /etcd$/.test(cmdline[0] ?? '');
}
