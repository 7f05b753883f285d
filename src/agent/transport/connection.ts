// One node's HTTP/2 connection to a manager's cluster port, and the two kinds of call made over it:
// unary (JSON in, JSON out, usually with a deadline) and server streams (newline-delimited frames). The
// connection is opened on first use and again after it is lost; every call and stream on a lost
// connection fails at once with Unavailable, and reconnecting is up to the caller (the agent's
// session loop, with its backoff).

import http2, { type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import type { ConnectionOptions } from 'node:tls';
import { JSON_CONTENT_TYPE, type StreamHandle } from '../../api/dispatcher.js';
import { ShoalError, unavailable } from '../../api/errors.js';
import { deadlineExceeded, errorFromResponse, errorFromWire, transportError } from './errors.js';
import { FrameDecoder } from './frames.js';
import { keepSessionAlive, type KeepaliveOptions } from '../../api/keepalive.js';

export interface ConnectionSettings {
  keepalive: KeepaliveOptions;
  /** A connection (TCP + TLS) must be up within this time. */
  connectTimeoutMs: number;
  /** Largest unary response or stream frame accepted. */
  maxMessageBytes: number;
}

export const DEFAULT_CONNECTION_SETTINGS: ConnectionSettings = {
  // Agents notice a cut link within about 5 s (managers use longer periods: they only reclaim
  // connections, the heartbeat expiry decides about the node).
  keepalive: { intervalMs: 2_000, timeoutMs: 3_000 },
  connectTimeoutMs: 10_000,
  maxMessageBytes: 64 * 2 ** 20,
};

/** Where and how to connect; read again for every new connection. */
export interface ConnectionTarget {
  /** `https://host:port` */
  url: string;
  tls: ConnectionOptions;
}

const CANCEL = http2.constants.NGHTTP2_CANCEL;

export class ManagerConnection {
  private session: ClientHttp2Session | undefined;
  private closed = false;

  constructor(
    private readonly target: () => ConnectionTarget,
    private readonly settings: ConnectionSettings = DEFAULT_CONNECTION_SETTINGS,
  ) {}

  /**
   * A unary call: resolves with the manager's JSON answer, rejects with its ShoalError. Without
   * `timeoutMs` the call waits as long as the manager takes; a lost connection still ends it (the
   * keepalive pings notice a silent one).
   */
  unary<T>(path: string, body: unknown, timeoutMs?: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let request: ClientHttp2Stream;
      try {
        request = this.request(path);
      } catch (err) {
        reject(transportError(err));
        return;
      }
      let settled = false;
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              settle(() => reject(deadlineExceeded(path, timeoutMs)));
              request.close(CANCEL);
            }, timeoutMs);
      const settle = (outcome: () => void): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };

      let status = 0;
      const chunks: Buffer[] = [];
      let size = 0;
      request.on('response', (headers) => (status = Number(headers[':status'])));
      request.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > this.settings.maxMessageBytes) {
          settle(() =>
            reject(new ShoalError('Internal', `response larger than ${this.settings.maxMessageBytes} bytes`)),
          );
          request.close(CANCEL);
          return;
        }
        chunks.push(chunk);
      });
      request.on('end', () =>
        settle(() => {
          // Ended without an answer: the connection went away under the call.
          if (status === 0) return reject(unavailable(`connection lost during ${path}`));
          const text = Buffer.concat(chunks).toString('utf8');
          if (status !== 200) return reject(errorFromResponse(status, text));
          try {
            resolve(JSON.parse(text) as T);
          } catch {
            reject(new ShoalError('Internal', `malformed response from manager to ${path}`));
          }
        }),
      );
      request.on('error', (err) => settle(() => reject(transportError(err))));
      request.on('close', () => settle(() => reject(unavailable(`connection lost during ${path}`))));
      request.end(JSON.stringify(body));
    });
  }

  /**
   * A server stream: `onMessage` for each message, then `onEnd` once — undefined when the caller
   * closed it, the manager's error, or Unavailable when the connection or stream was cut.
   */
  stream<T>(
    path: string,
    body: unknown,
    onMessage: (message: T) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    let open = true;
    let request: ClientHttp2Stream | undefined;
    const finish = (err?: Error): void => {
      if (!open) return;
      open = false;
      request?.close(CANCEL);
      onEnd(err);
    };
    try {
      request = this.request(path);
    } catch (err) {
      const failure = transportError(err);
      // Asynchronously, as every other outcome: the caller has its handle before onEnd runs.
      queueMicrotask(() => finish(failure));
      return { close: () => finish() };
    }

    let status = 0;
    const errorBody: Buffer[] = [];
    const decoder = new FrameDecoder<T>(this.settings.maxMessageBytes);
    request.on('response', (headers) => (status = Number(headers[':status'])));
    request.on('data', (chunk: Buffer) => {
      if (!open) return;
      if (status !== 200) {
        errorBody.push(chunk);
        return;
      }
      try {
        for (const frame of decoder.push(chunk)) {
          if (!open) return;
          if ('message' in frame) onMessage(frame.message);
          else if ('error' in frame) finish(errorFromWire(frame.error));
          else finish();
        }
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
      }
    });
    request.on('end', () => {
      if (status !== 200) finish(errorFromResponse(status, Buffer.concat(errorBody).toString('utf8')));
      else finish(unavailable(`${path}: stream ended by the manager without a status`));
    });
    request.on('error', (err) => finish(transportError(err)));
    request.on('close', () => finish(unavailable(`${path}: connection to manager lost`)));
    request.end(JSON.stringify(body));
    return {
      close: () => {
        if (!open) return;
        open = false;
        request?.close(CANCEL);
        queueMicrotask(() => onEnd());
      },
    };
  }

  /**
   * New calls use a new connection (after new credentials or a new address). Calls and streams in
   * flight finish on the old one, which closes when they are done: nothing running is interrupted.
   */
  reconnect(): void {
    const old = this.session;
    this.session = undefined;
    old?.close();
  }

  /** Drops the connection (ending everything on it) and refuses further calls. */
  close(): void {
    this.closed = true;
    const old = this.session;
    this.session = undefined;
    old?.destroy();
  }

  private request(path: string): ClientHttp2Stream {
    return this.current().request({
      ':method': 'POST',
      ':path': path,
      'content-type': JSON_CONTENT_TYPE,
    });
  }

  private current(): ClientHttp2Session {
    if (this.closed) throw unavailable('cluster client is closed');
    const existing = this.session;
    if (existing && !existing.closed && !existing.destroyed) return existing;

    const { url, tls } = this.target();
    const session = http2.connect(url, tls);
    this.session = session;
    const forget = (): void => {
      if (this.session === session) this.session = undefined;
    };
    const connectTimer = setTimeout(
      () => session.destroy(unavailable(`connecting to ${url} timed out`)),
      this.settings.connectTimeoutMs,
    ).unref();
    session.once('connect', () => {
      clearTimeout(connectTimer);
      keepSessionAlive(session, this.settings.keepalive, () =>
        session.destroy(
          unavailable(
            `manager at ${url} stopped answering (no ping answer within ${this.settings.keepalive.timeoutMs} ms)`,
          ),
        ),
      );
    });
    // Failures reach the calls through their own streams; the session's error needs a listener only.
    session.on('error', () => {});
    // A manager going away (GOAWAY) takes no new calls on this connection.
    session.once('goaway', forget);
    session.once('close', () => {
      clearTimeout(connectTimer);
      forget();
    });
    return session;
  }
}
