// The etcd backend of the KV contract (../kv.ts), for swarms with several managers: a thin adapter over the
// `etcd3` client library (github.com/microsoft/etcd3), talking to etcd's v3 gRPC API. The contract was
// modelled on etcd, so nearly every call is one etcd call; what is not one-to-one is written down here.
//
// Revisions. An empty etcd is at revision 1 and its first write takes revision 2; the contract says an empty
// store is at 0 and its first write takes 1. The adapter subtracts one from every revision it reads (store,
// create, mod, compaction) and adds one to every revision it sends (compares, watch starts, compaction).
// etcd revision 1 never belongs to a key, so a compare on 0 (a missing key) is sent as 0, unchanged.
//
// Keys and values. An optional namespace is prepended to every key (so the cluster store can share etcd with
// the leader election's keys); values are their JSON text, so compares on values are byte-wise on the JSON
// as in the embedded backend.
//
// Writes are never retried by the adapter: a write whose reply was lost may have been applied, and sending a
// compare-and-swap again would report a conflict for a write that succeeded. The library's default retry and
// circuit-breaker policies are replaced by pass-through ones for that reason; idempotent reads (get, range,
// revision) are retried a few times on a transient error instead. A write that fails on a transport error is
// reported as it is: the caller does not know whether it was applied, as with any network store.
//
// Watches are the adapter's own gRPC watch streams rather than the library's watch manager, because the
// library resumes a broken stream from the response header's revision, which during a catch-up is past the
// events actually delivered (a reconnect there would skip revisions). Here each watch keeps the next revision
// it needs, taken from the events it delivered, and a broken stream is reopened from exactly there. Events
// of one etcd revision (one transaction) arrive in one response — etcd never splits a revision unless asked
// to fragment, which the adapter does not — and are delivered as one batch. A watch without a start
// revision starts after the newest revision this client has seen in any reply, so a write the caller makes
// after `watch()` returns is always delivered.
//
// Leases. The contract's lease IDs are JavaScript numbers; etcd's are 63-bit. The adapter asks etcd for an ID
// of its choosing, random below 2^53, so the ID survives the round trip; a collision (etcd says the lease
// exists) is retried with another.
//
// History. etcd keeps every revision until compacted. Like the embedded backend, this one keeps the newest
// `historyRevisions` revisions (default 10,000): after a write that takes the store past that bound by a
// tenth, it compacts back to it. Several clients doing so at once is harmless: compacting at or below the
// current compaction point is a no-op, as in the embedded backend.

import { randomInt } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

import {
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  GRPCUnavailableError,
  isRecoverableError,
  type IOptions,
} from 'etcd3';
import type * as RPC from 'etcd3';

import {
  CompactedError,
  LeaseNotFoundError,
  StoreUnavailableError,
  type Compare,
  type JsonValue,
  type KV,
  type KVEntry,
  type Op,
  type OpResult,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
  type Watch,
  type WatchBatch,
  type WatchEvent,
  type WatchOptions,
} from '../kv.js';

export interface EtcdTls {
  /** PEM: the CA that signed the members' certificates. */
  ca: Buffer | string;
  /** PEM: this client's certificate (etcd checks it when started with client certificate auth). */
  cert: Buffer | string;
  /** PEM: this client's private key. */
  key: Buffer | string;
}

export interface EtcdKVOptions {
  /** Client URLs of the members, e.g. `https://10.0.0.1:2379`. */
  endpoints: readonly string[];
  /** Mutual TLS; without it the endpoints must be `http://` (tests on loopback only). */
  tls?: EtcdTls;
  /**
   * The name the members' certificates are checked for, instead of the address dialled (shoal's members
   * carry the manager role's name). Without it, the address, which then needs an IP SAN.
   */
  serverName?: string;
  /** Prepended to every key (default: none). */
  namespace?: string;
  /**
   * How long a write (or a lease call) may take before it fails with `StoreUnavailableError` (default
   * 5 s): a member without quorum, or frozen, must not hang the caller. Reads get six times as long (a
   * range over a big store takes time).
   */
  callTimeoutMs?: number;
  /** Newest revisions of watch history kept by automatic compaction (default 10,000; `Infinity`: off). */
  historyRevisions?: number;
  /** Told about a failed background compaction (default: ignored; the next write tries again). */
  onBackgroundError?: (err: Error) => void;
}

const DEFAULT_HISTORY_REVISIONS = 10_000;
const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/** Lease IDs are chosen below this, so they are exact as JavaScript numbers. */
const MAX_LEASE_ID = 2 ** 48;
const READ_ATTEMPTS = 3;
const WATCH_BACKOFF_MIN_MS = 50;
const WATCH_BACKOFF_MAX_MS = 1_000;

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

/**
 * Runs the call once, as it is. The library's policies (retries, a circuit breaker that refuses calls for 5 s
 * after three failures) would resend writes and delay recovery; this adapter decides itself what to retry.
 * Only `execute` is used by the library's connection pool, which expects a promise even when the call throws.
 */
export const passThrough = {
  execute: async <T>(fn: () => T | Promise<T>): Promise<T> => fn(),
} as unknown as FaultPolicy;

/** etcd revision → store revision (see the top of this file). */
function fromEtcdRevision(revision: string | number): number {
  const n = Number(revision);
  return n > 0 ? n - 1 : 0;
}

/** Store revision → etcd revision. */
function toEtcdRevision(revision: number): number {
  return revision > 0 ? revision + 1 : revision;
}

/** The smallest key after every key that starts with `prefix` (etcd's range end for a prefix). */
export function prefixRangeEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  // Empty, or all 0xff: to the end of the keyspace.
  return Buffer.of(0);
}

function encodeValue(value: JsonValue): Buffer {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('value is not JSON');
  return Buffer.from(text, 'utf8');
}

const COMPARE_RESULT = { '=': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;

/**
 * A transport failure or a member without quorum, as `StoreUnavailableError`; anything else (a refused
 * request: a bad lease, a duplicate key…) as it is.
 */
function unavailableOr(err: unknown): unknown {
  const text = String(err);
  const transport =
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCUnavailableError ||
    /etcdserver: (no leader|request timed out|leader changed|too many requests)/.test(text);
  return transport
    ? new StoreUnavailableError(`etcd did not answer: ${(err as Error).message}`, { cause: err })
    : err;
}

function isLeaseNotFound(err: unknown): boolean {
  return err instanceof EtcdLeaseInvalidError || /requested lease not found/.test(String(err));
}

export class EtcdKV implements KV {
  private client: Etcd3;
  private readonly namespace: Buffer;
  private readonly historyRevisions: number;
  private readonly callTimeoutMs: number;
  private readonly onBackgroundError: (err: Error) => void;
  private readonly watches = new Set<EtcdWatch>();
  /** Newest etcd revision seen in any reply; where a watch without a start revision starts after. */
  private seenRevision = 0;
  /** Store revision below which this client last compacted (0: not yet). */
  private compactedBelow = 0;
  private compacting = false;
  private closed = false;

  private constructor(private readonly options: EtcdKVOptions) {
    this.client = this.newClient(options.tls);
    this.callTimeoutMs = options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
    this.namespace = Buffer.from(options.namespace ?? '', 'utf8');
    this.historyRevisions = options.historyRevisions ?? DEFAULT_HISTORY_REVISIONS;
    this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
  }

  private newClient(tls: EtcdTls | undefined): Etcd3 {
    const { options } = this;
    return new Etcd3({
      hosts: [...options.endpoints],
      ...(tls && {
        credentials: {
          rootCertificate: Buffer.from(tls.ca),
          certChain: Buffer.from(tls.cert),
          privateKey: Buffer.from(tls.key),
        },
      }),
      grpcOptions: {
        // A range over every object of a big swarm can be large; etcd itself bounds requests.
        'grpc.max_receive_message_length': 512 * 1024 * 1024,
        'grpc.max_send_message_length': 64 * 1024 * 1024,
        ...(options.serverName && {
          'grpc.ssl_target_name_override': options.serverName,
          'grpc.default_authority': options.serverName,
        }),
      },
      faultHandling: { global: passThrough, host: () => passThrough },
      // Streams (watches, keep-alives) have no deadline; keepAlive() bounds its own wait.
      defaultCallOptions: (context) =>
        context.isStream
          ? {}
          : {
              deadline:
                Date.now() + (context.method === 'range' ? this.callTimeoutMs * 6 : this.callTimeoutMs),
            },
    });
  }

  /**
   * Talks to etcd with a new client certificate from now on (the old one is about to expire). Connections
   * are made anew: calls under way on the old ones fail as on a dropped connection, and watches reopen on
   * the new ones from the next revision they need.
   */
  setTls(tls: EtcdTls): void {
    this.checkOpen();
    const old = this.client;
    this.client = this.newClient(tls);
    old.close();
  }

  /** Connects (one read, so that an unreachable etcd fails here rather than at first use). */
  static async open(options: EtcdKVOptions): Promise<EtcdKV> {
    const kv = new EtcdKV(options);
    try {
      await kv.revision();
    } catch (err) {
      await kv.close();
      throw err;
    }
    return kv;
  }

  // ------------------------------------------------------------------ keys

  private key(key: string): Buffer {
    return Buffer.concat([this.namespace, Buffer.from(key, 'utf8')]);
  }

  private prefixRange(prefix: string): { key: Buffer; range_end: Buffer } {
    const key = this.key(prefix);
    // The whole keyspace is [\0, \0) in etcd's terms.
    return key.length === 0
      ? { key: Buffer.of(0), range_end: Buffer.of(0) }
      : { key, range_end: prefixRangeEnd(key) };
  }

  private storeKey(key: Buffer): string {
    return key.subarray(this.namespace.length).toString('utf8');
  }

  private entry(kv: RPC.IKeyValue): KVEntry {
    return {
      key: this.storeKey(kv.key),
      value: JSON.parse(kv.value.toString('utf8')) as JsonValue,
      createRevision: fromEtcdRevision(kv.create_revision),
      modRevision: fromEtcdRevision(kv.mod_revision),
      version: Number(kv.version),
      lease: Number(kv.lease),
    };
  }

  private seen(header: RPC.IResponseHeader): number {
    const revision = Number(header.revision);
    if (revision > this.seenRevision) this.seenRevision = revision;
    return fromEtcdRevision(revision);
  }

  // ------------------------------------------------------------------ reads

  /** An idempotent read, retried a few times on a transient error (a member restarting, a lost connection). */
  private async read<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      this.checkOpen();
      try {
        return await call();
      } catch (err) {
        if (attempt >= READ_ATTEMPTS || !(err instanceof Error) || !isRecoverableError(err)) {
          throw unavailableOr(err);
        }
        await delay(100 * attempt);
      }
    }
  }

  /** One call that changes something: not retried (see the top of this file); transport failures typed. */
  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw unavailableOr(err);
    }
  }

  async revision(): Promise<number> {
    const response = await this.read(() => this.client.kv.range({ key: this.key('\0'), count_only: true }));
    return this.seen(response.header);
  }

  async get(key: string): Promise<KVEntry | undefined> {
    const response = await this.read(() => this.client.kv.range({ key: this.key(key) }));
    this.seen(response.header);
    const kv = response.kvs[0];
    return kv && this.entry(kv);
  }

  async range(prefix: string): Promise<RangeResponse> {
    const response = await this.read(() => this.client.kv.range(this.prefixRange(prefix)));
    return { entries: response.kvs.map((kv) => this.entry(kv)), revision: this.seen(response.header) };
  }

  // ------------------------------------------------------------------ writes

  async put(key: string, value: JsonValue, lease = 0): Promise<number> {
    this.checkOpen();
    try {
      const response = await this.call(() =>
        this.client.kv.put({ key: this.key(key), value: encodeValue(value), lease }),
      );
      return this.wrote(this.seen(response.header));
    } catch (err) {
      if (lease !== 0 && isLeaseNotFound(err)) throw new LeaseNotFoundError(lease);
      throw err;
    }
  }

  async delete(key: string): Promise<number> {
    this.checkOpen();
    const response = await this.call(() => this.client.kv.deleteRange({ key: this.key(key) }));
    const deleted = Number(response.deleted);
    const revision = this.seen(response.header);
    if (deleted > 0) this.wrote(revision);
    return deleted;
  }

  async txn(request: TxnRequest): Promise<TxnResponse> {
    this.checkOpen();
    const compares = (request.compares ?? []).map((compare) => this.compare(compare));
    const success = (request.success ?? []).map((op) => this.op(op));
    const failure = (request.failure ?? []).map((op) => this.op(op));
    let response: RPC.ITxnResponse;
    try {
      response = await this.call(() => this.client.kv.txn({ compare: compares, success, failure }));
    } catch (err) {
      const ops = [...(request.success ?? []), ...(request.failure ?? [])];
      const leased = ops.find((op) => op.type === 'put' && (op.lease ?? 0) !== 0);
      if (leased?.type === 'put' && isLeaseNotFound(err)) throw new LeaseNotFoundError(leased.lease!);
      throw err;
    }
    const ops = (response.succeeded ? request.success : request.failure) ?? [];
    const results = ops.map((op, i) => this.opResult(op, response.responses[i]));
    const revision = this.seen(response.header);
    if (results.some((result) => result.type === 'put' || (result.type === 'delete' && result.deleted > 0))) {
      this.wrote(revision);
    }
    return { succeeded: response.succeeded, revision, results };
  }

  private compare(compare: Compare): RPC.ICompare {
    const key = this.key(compare.key);
    const result = COMPARE_RESULT[compare.op];
    switch (compare.target) {
      case 'value':
        return { key, result, target: 'Value', value: encodeValue(compare.value) };
      case 'version':
        return { key, result, target: 'Version', version: revisionNumber(compare) };
      case 'createRevision':
        return { key, result, target: 'Create', create_revision: toEtcdRevision(revisionNumber(compare)) };
      case 'modRevision':
        return { key, result, target: 'Mod', mod_revision: toEtcdRevision(revisionNumber(compare)) };
    }
  }

  private op(op: Op): RPC.IRequestOp {
    switch (op.type) {
      case 'put':
        return {
          request_put: {
            key: this.key(op.key),
            value: encodeValue(op.value),
            lease: op.lease ?? 0,
            prev_kv: true,
          },
        };
      case 'delete':
        return { request_delete_range: { key: this.key(op.key) } };
      case 'deletePrefix':
        return { request_delete_range: this.prefixRange(op.prefix) };
      case 'get':
        return { request_range: { key: this.key(op.key) } };
      case 'range':
        return { request_range: this.prefixRange(op.prefix) };
    }
  }

  private opResult(op: Op, response: RPC.IResponseOp | undefined): OpResult {
    switch (op.type) {
      case 'put': {
        const prev = response?.response_put?.prev_kv;
        return prev ? { type: 'put', prev: this.entry(prev) } : { type: 'put' };
      }
      case 'delete':
      case 'deletePrefix':
        return { type: 'delete', deleted: Number(response?.response_delete_range?.deleted ?? 0) };
      case 'get': {
        const kv = response?.response_range?.kvs[0];
        return kv ? { type: 'get', entry: this.entry(kv) } : { type: 'get' };
      }
      case 'range':
        return { type: 'range', entries: (response?.response_range?.kvs ?? []).map((kv) => this.entry(kv)) };
    }
  }

  /** After a write that took `revision`: compacts the history when it has grown past its bound. */
  private wrote(revision: number): number {
    const bound = this.historyRevisions;
    if (
      Number.isFinite(bound) &&
      !this.compacting &&
      revision - this.compactedBelow > bound + Math.ceil(bound / 10)
    ) {
      const below = revision - bound + 1;
      this.compacting = true;
      this.compact(below)
        .then(() => {
          this.compactedBelow = Math.max(this.compactedBelow, below);
        })
        .catch((err: unknown) => {
          if (!this.closed) this.onBackgroundError(err instanceof Error ? err : new Error(String(err)));
        })
        .finally(() => {
          this.compacting = false;
        });
    }
    return revision;
  }

  // ------------------------------------------------------------------ watches

  watch(prefix: string, onBatch: (batch: WatchBatch) => void, options: WatchOptions = {}): Watch {
    this.checkOpen();
    const start =
      options.fromRevision !== undefined ? toEtcdRevision(options.fromRevision) : this.seenRevision + 1;
    const watch = new EtcdWatch(() => this.client, this.prefixRange(prefix), Math.max(start, 1), {
      onBatch,
      onError: options.onError,
      entry: (kv) => this.entry(kv),
      storeKey: (key) => this.storeKey(key),
      ended: (ended) => this.watches.delete(ended),
    });
    this.watches.add(watch);
    return watch;
  }

  // ------------------------------------------------------------------ leases

  async grantLease(ttlSeconds: number): Promise<number> {
    this.checkOpen();
    for (let attempt = 0; ; attempt++) {
      const id = randomInt(1, MAX_LEASE_ID);
      try {
        const response = await this.call(() =>
          this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id }),
        );
        if (response.error) throw new Error(`etcd refused the lease: ${response.error}`);
        this.seen(response.header);
        return id;
      } catch (err) {
        if (attempt < 3 && /lease already exists/.test(String(err))) continue;
        throw err;
      }
    }
  }

  async keepAlive(lease: number): Promise<number> {
    this.checkOpen();
    const stream = await this.call(() => this.client.leaseClient.leaseKeepAlive());
    let timer: NodeJS.Timeout | undefined;
    const response = await new Promise<RPC.ILeaseKeepAliveResponse>((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', (err) => reject(unavailableOr(err)));
      stream.on('end', () => reject(new StoreUnavailableError('etcd ended the lease keep-alive stream')));
      timer = setTimeout(
        () =>
          reject(
            new StoreUnavailableError(`etcd did not answer a lease keep-alive in ${this.callTimeoutMs} ms`),
          ),
        this.callTimeoutMs,
      );
      stream.write({ ID: lease });
    }).finally(() => {
      clearTimeout(timer);
      // Errors after the answer (the cancellation itself) have nobody to go to.
      stream.on('error', () => undefined);
      stream.cancel();
    });
    this.seen(response.header);
    const ttl = Number(response.TTL);
    // etcd answers a keep-alive of an unknown or expired lease with a TTL of 0.
    if (ttl <= 0) throw new LeaseNotFoundError(lease);
    return ttl;
  }

  async revokeLease(lease: number): Promise<void> {
    this.checkOpen();
    try {
      const response = await this.call(() => this.client.leaseClient.leaseRevoke({ ID: lease }));
      this.seen(response.header);
    } catch (err) {
      if (isLeaseNotFound(err)) throw new LeaseNotFoundError(lease);
      throw err;
    }
  }

  // ------------------------------------------------------------------ history

  async compact(revision: number): Promise<void> {
    this.checkOpen();
    try {
      const response = await this.call(() => this.client.kv.compact({ revision: toEtcdRevision(revision) }));
      this.seen(response.header);
    } catch (err) {
      // At or below the current compaction point: nothing to do (automatic and explicit compaction may race).
      if (/required revision has been compacted/.test(String(err))) return;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.watches]) watch.cancel();
    this.client.close();
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('etcd store client is closed');
  }
}

function revisionNumber(compare: Compare): number {
  if (typeof compare.value !== 'number' || !Number.isInteger(compare.value)) {
    throw new TypeError(
      `compare on ${compare.target} of ${compare.key} needs an integer, got ${JSON.stringify(compare.value)}`,
    );
  }
  return compare.value;
}

interface WatchSink {
  onBatch(batch: WatchBatch): void;
  onError: ((err: Error) => void) | undefined;
  entry(kv: RPC.IKeyValue): KVEntry;
  storeKey(key: Buffer): string;
  ended(watch: EtcdWatch): void;
}

/** One watch: its own gRPC stream, reopened from the next revision it needs if the stream breaks. */
class EtcdWatch implements Watch {
  private stream: RPC.IDuplexStream<RPC.IWatchRequest, RPC.IWatchResponse> | undefined;
  private cancelled = false;
  private backoffMs = WATCH_BACKOFF_MIN_MS;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    /** The KV's current client (it changes with `setTls`). */
    private readonly client: () => Etcd3,
    private readonly range: { key: Buffer; range_end: Buffer },
    /** The etcd revision of the next events to deliver. */
    private next: number,
    private readonly sink: WatchSink,
  ) {
    this.connect();
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    clearTimeout(this.retryTimer);
    this.closeStream();
    this.sink.ended(this);
  }

  private connect(): void {
    this.client()
      .watchClient.watch()
      .then(
        (stream) => {
          if (this.cancelled) {
            stream.on('error', () => undefined);
            stream.cancel();
            return;
          }
          this.stream = stream;
          stream.on('data', (response) => {
            if (this.stream === stream) this.receive(response);
          });
          stream.on('error', (err) => {
            if (this.stream === stream) this.broken(err);
          });
          stream.on('end', () => {
            if (this.stream === stream) this.broken(new Error('etcd ended the watch stream'));
          });
          stream.write({
            create_request: { ...this.range, start_revision: this.next, prev_kv: true },
          });
        },
        (err: unknown) => this.broken(err),
      );
  }

  private receive(response: RPC.IWatchResponse): void {
    if (this.cancelled) return;
    if (response.canceled) {
      const compactRevision = Number(response.compact_revision);
      this.fail(
        compactRevision > 0
          ? new CompactedError(fromEtcdRevision(this.next), fromEtcdRevision(compactRevision))
          : new Error(
              `etcd cancelled the watch${response.cancel_reason ? `: ${response.cancel_reason}` : ''}`,
            ),
      );
      return;
    }
    this.backoffMs = WATCH_BACKOFF_MIN_MS;
    let batch: WatchBatch | undefined;
    for (const event of response.events ?? []) {
      const etcdRevision = Number(event.kv.mod_revision);
      const revision = fromEtcdRevision(etcdRevision);
      if (batch && batch.revision !== revision) this.deliver(batch);
      if (this.cancelled) return;
      if (!batch || batch.revision !== revision) batch = { revision, events: [] };
      batch.events.push(this.event(event));
      this.next = etcdRevision + 1;
    }
    if (batch) this.deliver(batch);
  }

  private event(event: RPC.IEvent): WatchEvent {
    if (event.type === 'Put') {
      const entry = this.sink.entry(event.kv);
      return {
        type: 'put',
        key: entry.key,
        value: entry.value,
        modRevision: entry.modRevision,
        createRevision: entry.createRevision,
      };
    }
    const prev = event.prev_kv ? this.sink.entry(event.prev_kv) : undefined;
    return {
      type: 'delete',
      key: this.sink.storeKey(event.kv.key),
      // The watch asks for previous values; etcd omits one only if it was compacted away meanwhile.
      value: prev?.value ?? null,
      modRevision: fromEtcdRevision(event.kv.mod_revision),
      createRevision: prev?.createRevision ?? 0,
    };
  }

  private deliver(batch: WatchBatch): void {
    if (!this.cancelled) this.sink.onBatch(batch);
  }

  /** The stream broke (a member restarted, the connection dropped): reopen it from `next`, backing off. */
  private broken(_err: unknown): void {
    if (this.cancelled) return;
    this.closeStream();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.cancelled) this.connect();
    }, this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, WATCH_BACKOFF_MAX_MS);
  }

  private fail(err: Error): void {
    const onError = this.sink.onError;
    this.cancel();
    onError?.(err);
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = undefined;
    if (!stream) return;
    stream.on('error', () => undefined);
    stream.cancel();
  }
}
