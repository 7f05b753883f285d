// The HTTP/2 side of one call on the cluster port: reading the JSON request body (bounded in size and
// time), answering a unary call, and writing a server stream as newline-delimited JSON frames.

import { constants, type ServerHttp2Stream } from 'node:http2';
import { JSON_CONTENT_TYPE, STREAM_CONTENT_TYPE, type StreamFrame } from '../../api/dispatcher.js';
import { invalidArgument, ShoalError } from '../../api/errors.js';
import type { StreamSink } from '../dispatcher/server.js';
import { errorResponse } from './errors.js';

/**
 * Reads and parses the request body. An empty body reads as `{}`. Fails with InvalidArgument when the
 * body is not JSON or grows beyond `limitBytes` (then the rest is not read).
 */
export function readJsonBody(stream: ServerHttp2Stream, limitBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error): void => {
      if (done) return;
      done = true;
      stream.removeAllListeners('data');
      reject(err);
    };
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limitBytes) {
        fail(invalidArgument(`request body larger than ${limitBytes} bytes`, { status: 413 }));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => {
      if (done) return;
      done = true;
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        reject(invalidArgument('malformed request body: not JSON'));
      }
    });
    stream.on('error', (err) => fail(err));
    // The client cancelled, the connection went, or the request deadline reset the stream. Every stream
    // closes, most after their body was read: the error (and its stack) is made only when it is one.
    stream.on('close', () => {
      if (!done) fail(new ShoalError('Unavailable', 'stream closed before the request was complete'));
    });
  });
}

/**
 * Gives the client `deadlineMs` from now to send the rest of its request (its body, up to the end of
 * its side of the stream). A stream whose request is still incomplete then is reset with CANCEL, which
 * drops whatever part of the body the server holds: a client sending slowly, or starting a body and
 * never finishing it, cannot pin the stream and its memory. The request counts as complete once the
 * body has been read to its end (readJsonBody) or the stream has closed; what happens after (the
 * handler, the answer, a long-lived server stream) is not limited here.
 */
export function enforceRequestDeadline(stream: ServerHttp2Stream, deadlineMs: number): void {
  if (stream.destroyed || stream.closed) return;
  const timer = setTimeout(() => {
    if (!stream.destroyed && !stream.closed) stream.close(constants.NGHTTP2_CANCEL);
  }, deadlineMs);
  const done = (): void => clearTimeout(timer);
  stream.once('end', done);
  stream.once('close', done);
}

/** Whether the response can still be started on this stream. */
const canRespond = (stream: ServerHttp2Stream): boolean =>
  !stream.destroyed && !stream.closed && !stream.headersSent;

export function respondJson(stream: ServerHttp2Stream, status: number, body: unknown): void {
  if (!canRespond(stream)) return;
  stream.respond({ ':status': status, 'content-type': JSON_CONTENT_TYPE, 'cache-control': 'no-store' });
  stream.end(JSON.stringify(body));
}

export function respondError(stream: ServerHttp2Stream, err: unknown): void {
  const { status, body } = errorResponse(err);
  respondJson(stream, status, body);
}

/**
 * A server stream as the dispatcher's sink: each message becomes one line. HTTP/2 flow control
 * decides how fast lines leave; what the peer has not yet accepted waits in the stream's buffer, and
 * a peer that lets more than `maxBufferedBytes` pile up is cut off (it reconnects and starts from a
 * COMPLETE set) rather than letting the manager's memory grow without bound.
 */
export class FrameWriter<T> implements StreamSink<T> {
  private ended = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    private readonly maxBufferedBytes: number,
  ) {}

  /** Sends the response headers (if no frame has yet); frames follow. */
  start(): void {
    if (!canRespond(this.stream)) return;
    this.stream.respond({
      ':status': 200,
      'content-type': STREAM_CONTENT_TYPE,
      'cache-control': 'no-store',
    });
  }

  send(message: T): void {
    this.write({ message });
  }

  end(err?: Error): void {
    if (this.ended) return;
    this.write(err === undefined ? { end: true } : { error: errorResponse(err).body });
    this.ended = true;
    if (!this.stream.destroyed && !this.stream.closed) this.stream.end();
  }

  private write(frame: StreamFrame<T>): void {
    if (this.ended || this.stream.destroyed || this.stream.closed || !this.stream.writable) return;
    // The dispatcher may answer within the call that opens the stream, before start().
    this.start();
    this.stream.write(JSON.stringify(frame) + '\n');
    if (this.stream.writableLength > this.maxBufferedBytes) {
      this.ended = true;
      this.stream.close(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    }
  }
}
