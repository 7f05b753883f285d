// Keeping the node's certificate valid (swarmkit's TLS renewer): renew at a
// random point between 50% and 80% of the certificate's validity, retry failures with exponential
// backoff (5 s up to 1 h), and hand each new certificate to the daemon to store before the client
// starts presenting it. Renewal never interrupts running work: open streams stay on the connection
// they were made on, new calls use the new certificate.
//
// A certificate that expired before it could be renewed cannot renew itself (the manager refuses it
// on the handshake); the renewer keeps retrying and logging, and the node must join again.

import { parseNodeCertificate, renewalDelayMs, type NodeTlsCredentials } from '../../api/certs.js';
import { systemClock, type Clock, type Timer } from '../../api/clock.js';
import { silentAgentLog, type AgentLog } from '../log.js';
import { ClusterClient } from './cluster-client.js';
import type { NodeCredentials } from './credentials.js';
import { renewCertificate } from './renew.js';

export interface RenewalRetry {
  initialMs: number;
  maxMs: number;
}

export const DEFAULT_RENEWAL_RETRY: RenewalRetry = { initialMs: 5_000, maxMs: 3_600_000 };

/**
 * What presents the node's certificate and switches to a new one: a ClusterClient, or for a manager
 * whatever the daemon wires (its client and its cluster API server).
 */
export interface CredentialsHolder {
  readonly credentials: NodeTlsCredentials;
  setCredentials(credentials: NodeTlsCredentials): void;
}

export interface CertificateRenewerOptions {
  /** Whose certificate is renewed; a ClusterClient also renews through its connection. */
  client: CredentialsHolder;
  /**
   * Stores the new credentials (certificate and key together, atomically). Once it resolves the
   * renewer switches the client to them; if it throws, the renewal counts as failed and is retried.
   * A manager also swaps its cluster API server's credentials here.
   */
  onRenewed: (credentials: NodeCredentials) => Promise<void> | void;
  /** How to obtain a new certificate; needed unless `client` is a ClusterClient (renewCertificate). */
  renew?: () => Promise<NodeCredentials>;
  clock?: Clock;
  /** Source of the renewal point's jitter, [0, 1). */
  random?: () => number;
  retry?: RenewalRetry;
  log?: AgentLog;
}

/** setTimeout fires at once beyond 2^31-1 ms (≈ 24.8 days), shorter than a certificate's life. */
const LONGEST_TIMER_MS = 24 * 3600 * 1000;

export class CertificateRenewer {
  private readonly client: CredentialsHolder;
  private readonly onRenewed: (credentials: NodeCredentials) => Promise<void> | void;
  private readonly renew: () => Promise<NodeCredentials>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly retry: RenewalRetry;
  private readonly log: AgentLog;
  private running = false;
  private timer: Timer | undefined;
  private inFlight: Promise<NodeCredentials> | undefined;
  private failures = 0;
  private next: Date | undefined;

  constructor(options: CertificateRenewerOptions) {
    this.client = options.client;
    this.onRenewed = options.onRenewed;
    this.renew = options.renew ?? defaultRenew(options.client);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.retry = options.retry ?? DEFAULT_RENEWAL_RETRY;
    this.log = options.log ?? silentAgentLog;
  }

  /** When the next attempt is due, if one is scheduled. */
  get nextRenewal(): Date | undefined {
    return this.next;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    if (!this.inFlight) this.scheduleFromCertificate();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
    this.next = undefined;
  }

  /**
   * Renews now rather than at the scheduled time (a role change, a root rotation, tests). Resolves with
   * the new credentials once stored and in use; joins an attempt already under way.
   */
  renewNow(): Promise<NodeCredentials> {
    return this.attempt();
  }

  private attempt(): Promise<NodeCredentials> {
    if (this.inFlight) return this.inFlight;
    this.timer?.cancel();
    this.timer = undefined;
    this.next = undefined;
    const attempt = (async () => {
      const renewed = await this.renew();
      await this.onRenewed(renewed);
      this.client.setCredentials(renewed);
      return renewed;
    })();
    this.inFlight = attempt;
    attempt.then(
      (renewed) => {
        this.inFlight = undefined;
        this.failures = 0;
        this.log.info('agent: node certificate renewed', { node: renewed.nodeId, role: renewed.role });
        if (this.running) this.scheduleFromCertificate();
      },
      (err: unknown) => {
        this.inFlight = undefined;
        this.failures++;
        const delayMs = Math.min(this.retry.initialMs * 2 ** (this.failures - 1), this.retry.maxMs);
        this.log.warn('agent: renewing the node certificate failed; retrying', { err, delayMs });
        if (this.running) this.scheduleIn(delayMs);
      },
    );
    return attempt;
  }

  private scheduleFromCertificate(): void {
    let delayMs: number;
    try {
      const validity = parseNodeCertificate(this.client.credentials.certPem);
      delayMs = renewalDelayMs(validity, new Date(this.clock.now()), this.random);
    } catch (err) {
      this.log.error('agent: cannot read the node certificate; renewing at once', { err });
      delayMs = 0;
    }
    this.scheduleIn(delayMs);
  }

  private scheduleIn(delayMs: number): void {
    this.timer?.cancel();
    const at = this.clock.now() + delayMs;
    this.next = new Date(at);
    this.waitUntil(at);
  }

  /** Waits in steps no longer than a day, so that months-long delays stay exact. */
  private waitUntil(at: number): void {
    const remaining = at - this.clock.now();
    if (remaining <= 0) {
      void this.attempt().catch(() => {});
      return;
    }
    this.timer = this.clock.setTimer(Math.min(remaining, LONGEST_TIMER_MS), () => this.waitUntil(at));
  }
}

function defaultRenew(client: CredentialsHolder): () => Promise<NodeCredentials> {
  if (!(client instanceof ClusterClient)) {
    throw new Error('CertificateRenewer: a renew function is needed unless the client is a ClusterClient');
  }
  return () => renewCertificate(client);
}
