// One etcd member as a child process: the command line shoal starts it with, waiting until it serves, and
// stopping it. The daemon's supervisor and the tests start members through this one place, so the tests run
// etcd exactly as a manager does.
//
// Flags. Beyond naming, URLs and TLS: `--max-txn-ops` and `--max-request-bytes` are raised from etcd's
// defaults (128 operations, 1.5 MiB) because one store transaction writes every task of a scaled service at
// once; `--auto-compaction-*` is left off, the store compacts its own history (src/store/etcd/kv.ts);
// `--snapshot-count` keeps etcd's in-memory raft log short. etcd fsyncs its WAL before it acknowledges a
// write (always, it has no switch to turn that off), so an acknowledged write survives `kill -9`.

import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface EtcdTlsFiles {
  /** PEM file of the CA whose certificates clients and peers must present. */
  caFile: string;
  certFile: string;
  keyFile: string;
  /**
   * A DNS name every client and peer certificate must carry (`--client-cert-allowed-hostname`,
   * `--peer-cert-allowed-hostname`): shoal's members accept only the manager role's.
   */
  allowedHostname?: string;
}

export interface EtcdMemberConfig {
  /** The member's name in the cluster (shoal uses the node ID). */
  name: string;
  /** etcd's data directory (created, mode 0700). */
  dataDir: string;
  /** URL clients reach this member on, e.g. `https://10.0.0.1:2379`; it listens on the same. */
  clientUrl: string;
  /** URL peers reach this member on, e.g. `https://10.0.0.1:2380`. */
  peerUrl: string;
  /** `name=peerUrl,…` of every member, this one included. */
  initialCluster: string;
  /** `new` for the first member of a cluster, `existing` for one added to it. */
  initialClusterState: 'new' | 'existing';
  /**
   * Start as the only member of a new cluster, keeping the data (`--force-new-cluster`): what `swarm init
   * --force-new-cluster` does on a surviving manager. Only for that one start.
   */
  forceNewCluster?: boolean;
  /** Mutual TLS for client and peer traffic. Without it, plain HTTP: only for tests on loopback. */
  tls?: EtcdTlsFiles;
  /** Raft heartbeat and election timeout (default 100 ms and 1000 ms, etcd's own). */
  heartbeatMs?: number;
  electionMs?: number;
  /** The etcd binary (default `etcd` on the PATH). */
  binary?: string;
  /** Where etcd's output goes (default `<dataDir>/../etcd.log`, appended). */
  logFile?: string;
}

export function etcdArgs(config: EtcdMemberConfig): string[] {
  const args = [
    '--name',
    config.name,
    '--data-dir',
    config.dataDir,
    '--listen-client-urls',
    config.clientUrl,
    '--advertise-client-urls',
    config.clientUrl,
    '--listen-peer-urls',
    config.peerUrl,
    '--initial-advertise-peer-urls',
    config.peerUrl,
    '--initial-cluster',
    config.initialCluster,
    '--initial-cluster-state',
    config.initialClusterState,
    ...(config.forceNewCluster ? ['--force-new-cluster'] : []),
    '--heartbeat-interval',
    String(config.heartbeatMs ?? 100),
    '--election-timeout',
    String(config.electionMs ?? 1000),
    '--max-txn-ops',
    '10000',
    '--max-request-bytes',
    String(10 * 1024 * 1024),
    '--snapshot-count',
    '10000',
    '--logger',
    'zap',
    '--log-level',
    'warn',
  ];
  const tls = config.tls;
  if (tls) {
    args.push(
      '--client-cert-auth',
      '--trusted-ca-file',
      tls.caFile,
      '--cert-file',
      tls.certFile,
      '--key-file',
      tls.keyFile,
      '--peer-client-cert-auth',
      '--peer-trusted-ca-file',
      tls.caFile,
      '--peer-cert-file',
      tls.certFile,
      '--peer-key-file',
      tls.keyFile,
    );
    if (tls.allowedHostname) {
      args.push(
        '--client-cert-allowed-hostname',
        tls.allowedHostname,
        '--peer-cert-allowed-hostname',
        tls.allowedHostname,
      );
    }
  }
  return args;
}

export interface EtcdTlsPem {
  ca: Buffer | string;
  cert: Buffer | string;
  key: Buffer | string;
}

/** A running etcd member. */
export class EtcdProcess {
  /** Resolves with the exit code (or the signal's name) when the process has exited. */
  readonly exited: Promise<number | string>;
  private exitedFlag = false;

  private constructor(
    private readonly child: ChildProcess,
    readonly config: EtcdMemberConfig,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.exitedFlag = true;
        resolve(code ?? signal ?? 'unknown');
      });
      // A process that could not be spawned may never emit 'exit'.
      child.once('error', () => {
        this.exitedFlag = true;
        resolve('not started');
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return !this.exitedFlag;
  }

  /** Starts the member; resolves once it answers `/health` (it has a leader), or rejects. */
  static async start(
    config: EtcdMemberConfig,
    options: { tlsPem?: EtcdTlsPem; timeoutMs?: number } = {},
  ): Promise<EtcdProcess> {
    // Another process on a port would answer the health check in this member's place: say so first.
    await assertPortFree('client', config.clientUrl);
    await assertPortFree('peer', config.peerUrl);
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
    const logFile = config.logFile ?? join(config.dataDir, '..', 'etcd.log');
    const log = openSync(logFile, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(config.binary ?? 'etcd', etcdArgs(config), { stdio: ['ignore', log, log] });
    } finally {
      closeSync(log);
    }
    const member = new EtcdProcess(child, config);
    const binary = config.binary ?? 'etcd';
    const spawnError = new Promise<never>((_, reject) =>
      child.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          err.code === 'ENOENT'
            ? new Error(
                `etcd is not installed (${binary} not found): a swarm on etcd needs it (Debian: apt-get install etcd-server)`,
              )
            : err,
        ),
      ),
    );
    spawnError.catch(() => undefined);
    try {
      await Promise.race([member.waitHealthy(options.tlsPem, options.timeoutMs ?? 30_000), spawnError]);
    } catch (err) {
      await member.kill();
      throw err;
    }
    return member;
  }

  /** Waits until the member answers `/health` with `true` (it sees a leader). */
  async waitHealthy(tlsPem: EtcdTlsPem | undefined, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!this.running) {
        const why = lastLogError(this.config.logFile ?? join(this.config.dataDir, '..', 'etcd.log'));
        throw new Error(
          `etcd member ${this.config.name} exited while starting (${await this.exited})${why ? `: ${why}` : ''}`,
        );
      }
      try {
        const body = await getHealth(this.config.clientUrl, tlsPem);
        if (/"health"\s*:\s*"true"/.test(body)) return;
        last = body;
      } catch (err) {
        last = (err as Error).message;
      }
      await delay(20);
    }
    throw new Error(`etcd member ${this.config.name} not healthy after ${timeoutMs} ms: ${last}`);
  }

  /** SIGTERM, then SIGKILL if it has not exited after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL: a crash, as the tests make one. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

async function assertPortFree(what: string, url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  const host = hostname.replace(/^\[|\]$/g, '');
  await new Promise<void>((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(`the etcd ${what} port ${host}:${port} is in use by another process`)
          : new Error(`the etcd ${what} address ${host}:${port} cannot be used: ${err.message}`),
      ),
    );
    server.listen(Number(port), host, () => server.close(() => resolve()));
  });
}

/** The last error etcd logged (its log is JSON lines), as `message: error`; undefined when none. */
export function lastLogError(logFile: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(logFile, 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.trimEnd().split('\n').slice(-50).reverse();
  for (const line of lines) {
    let entry: { level?: unknown; msg?: unknown; error?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (entry.level === 'error' || entry.level === 'fatal' || entry.level === 'panic') {
      return [entry.msg, entry.error].filter((part) => typeof part === 'string' && part).join(': ');
    }
  }
  return undefined;
}

function getHealth(clientUrl: string, tlsPem: EtcdTlsPem | undefined): Promise<string> {
  const url = new URL('/health', clientUrl);
  return new Promise((resolve, reject) => {
    const options = { timeout: 1_000, ...(tlsPem && { ca: tlsPem.ca, cert: tlsPem.cert, key: tlsPem.key }) };
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}
