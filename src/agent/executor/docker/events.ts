// The executor's view of its engine: one `GET /events` stream, filtered to this node's task containers,
// through which exits and health changes arrive (nothing polls a container). When the stream ends the
// engine is asked whether it is still there: if so the stream is opened again at once; if not, the engine
// is down — the executor fails what depends on it — and the stream is retried with backoff until the
// engine answers again. Every (re)connection is announced once the stream is open, so that the executor
// can look at its containers again knowing that no later change can be missed.

import type { IncomingMessage } from 'node:http';
import type { ExecutorLog } from '../process/log.js';
import { EngineUnreachableError, isUnreachable, type EngineClient } from './client.js';

/** An event as the engine sends it (Docker's events.Message; the fields the executor reads). */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  id?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  timeNano?: number;
}

export type EngineState = 'connecting' | 'up' | 'down';

export interface EngineMonitorOptions {
  client: EngineClient;
  /** The `filters` of the stream (Docker's filter JSON: key → values). */
  filters: Record<string, string[]>;
  log: ExecutorLog;
  onEvent(event: EngineEvent): void;
  /** The stream is open (first time, or again after a break): time to look at the containers again. */
  onConnected(again: boolean): void;
  /** The engine does not answer: what depends on it fails with `err`. Called once per outage. */
  onDown(err: Error): void;
}

/** Reconnection backoff while the engine is down: 100 ms doubling to 2 s. */
export const RECONNECT_INITIAL_MS = 100;
export const RECONNECT_MAX_MS = 2_000;

export class EngineMonitor {
  private current: EngineState = 'connecting';
  private downError: Error | undefined;
  private closed = false;
  private response: IncomingMessage | undefined;
  private abort = new AbortController();
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs = 0;
  private connectedOnce = false;
  private readonly waiters = new Set<{ resolve: () => void; reject: (err: Error) => void }>();

  constructor(private readonly options: EngineMonitorOptions) {}

  get state(): EngineState {
    return this.current;
  }

  /** Why the engine is down, while it is. */
  get error(): Error | undefined {
    return this.current === 'down' ? this.downError : undefined;
  }

  start(): void {
    void this.connect();
  }

  /**
   * Resolves once the event stream is open; rejects at once while the engine is down (new work is
   * refused with the engine's error rather than left waiting for it).
   */
  ready(): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the docker executor is closed'));
    if (this.current === 'up') return Promise.resolve();
    if (this.current === 'down') return Promise.reject(this.downError!);
    return new Promise((resolve, reject) => this.waiters.add({ resolve, reject }));
  }

  /** A request could not reach the engine: find out now whether it is down, rather than at the next break. */
  suspect(): void {
    if (this.current === 'up') this.response?.destroy();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    this.abort.abort();
    this.response?.destroy();
    for (const waiter of this.waiters) waiter.reject(new Error('the docker executor is closed'));
    this.waiters.clear();
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.abort = new AbortController();
    let response: IncomingMessage;
    try {
      this.options.client.renegotiate();
      response = await this.options.client.stream('GET', '/events', {
        query: { filters: JSON.stringify(this.options.filters) },
        signal: this.abort.signal,
      });
    } catch (err) {
      if (this.closed) return;
      this.failed(err);
      return;
    }
    if (this.closed) {
      response.destroy();
      return;
    }
    this.response = response;
    const again = this.connectedOnce;
    this.connectedOnce = true;
    this.backoffMs = 0;
    if (this.current === 'down') this.options.log.info('the container engine answers again', {});
    this.current = 'up';
    this.downError = undefined;
    for (const waiter of this.waiters) waiter.resolve();
    this.waiters.clear();
    try {
      this.options.onConnected(again);
    } catch (err) {
      this.options.log.error('docker executor: resynchronising with the engine failed', { err });
    }
    this.read(response);
  }

  private read(response: IncomingMessage): void {
    let pending = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, newline).trim();
        pending = pending.slice(newline + 1);
        if (line === '') continue;
        let event: EngineEvent;
        try {
          event = JSON.parse(line) as EngineEvent;
        } catch {
          this.options.log.warn('docker executor: an engine event that is not JSON was ignored', {
            line: line.slice(0, 200),
          });
          continue;
        }
        try {
          this.options.onEvent(event);
        } catch (err) {
          this.options.log.error('docker executor: handling an engine event failed', { err });
        }
      }
    });
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (this.response === response) this.response = undefined;
      if (this.closed) return;
      this.current = 'connecting';
      // Straight back: if the engine is there, nothing was lost but the connection.
      void this.connect();
    };
    response.on('end', end);
    response.on('close', end);
    response.on('error', end);
  }

  /** The stream could not be opened: the engine is down (or answers with an error), retry with backoff. */
  private failed(err: unknown): void {
    const error =
      err instanceof Error ? err : new EngineUnreachableError(this.options.client.address.display, err);
    if (this.current !== 'down') {
      this.current = 'down';
      this.downError = error;
      this.options.log.warn('the container engine does not answer; tasks depending on it fail', {
        engine: this.options.client.address.display,
        error: isUnreachable(error)
          ? String((error.cause as Error | undefined)?.message ?? '')
          : error.message,
      });
      for (const waiter of this.waiters) waiter.reject(error);
      this.waiters.clear();
      try {
        this.options.onDown(error);
      } catch (cause) {
        this.options.log.error('docker executor: failing tasks of a lost engine failed', { err: cause });
      }
    } else {
      this.downError = error;
    }
    this.backoffMs = Math.min(
      this.backoffMs === 0 ? RECONNECT_INITIAL_MS : this.backoffMs * 2,
      RECONNECT_MAX_MS,
    );
    this.retryTimer = setTimeout(() => void this.connect(), this.backoffMs);
    this.retryTimer.unref();
  }
}
