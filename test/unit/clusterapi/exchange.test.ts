// A call over a real HTTP/2 connection on loopback (plaintext: TLS is not the subject here): frames
// arrive in order and end with a status; a peer that stops reading is cut off instead of making the
// manager buffer without bound; a request that does not arrive in time is reset.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';

import { FrameDecoder } from '../../../src/agent/transport/frames.js';
import type { StreamFrame } from '../../../src/api/dispatcher.js';
import { ShoalError } from '../../../src/api/errors.js';
import {
  enforceRequestDeadline,
  FrameWriter,
  readJsonBody,
  respondError,
  respondJson,
} from '../../../src/manager/clusterapi/exchange.js';

async function withServer(
  onStream: (stream: http2.ServerHttp2Stream) => void,
  run: (url: string) => Promise<void>,
): Promise<void> {
  const server = http2.createServer();
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    onStream(stream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('server streams', () => {
  it('delivers messages in order, then the closing status', async () => {
    await withServer(
      (stream) => {
        const writer = new FrameWriter<number>(stream, 1 << 20);
        writer.start();
        for (let i = 0; i < 100; i++) writer.send(i);
        writer.end(new ShoalError('NotFound', 'node not found'));
        writer.send(101); // after the end: dropped
      },
      async (url) => {
        const session = http2.connect(url);
        const request = session.request({ ':method': 'POST', ':path': '/' });
        request.end();
        const decoder = new FrameDecoder<number>(1 << 20);
        const frames: StreamFrame<number>[] = [];
        request.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
        await new Promise((resolve) => request.on('close', resolve));
        session.close();
        assert.deepEqual(
          frames.slice(0, -1).map((frame) => ('message' in frame ? frame.message : undefined)),
          Array.from({ length: 100 }, (_, i) => i),
        );
        assert.deepEqual(frames.at(-1), {
          error: { code: 'NotFound', message: 'node not found', rpc: false },
        });
      },
    );
  });

  it('cuts off a peer that leaves too much unread', async () => {
    await withServer(
      (stream) => {
        const writer = new FrameWriter<string>(stream, 256 * 1024);
        writer.start();
        const line = 'x'.repeat(1024);
        // Far beyond the peer's flow-control window (64 KiB) plus the allowed backlog.
        for (let i = 0; i < 2048; i++) writer.send(line);
      },
      async (url) => {
        const session = http2.connect(url);
        const request = session.request({ ':method': 'POST', ':path': '/' });
        request.end();
        request.pause(); // never reads
        request.on('error', () => {});
        await new Promise((resolve) => request.on('close', resolve));
        assert.equal(request.rstCode, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
        session.close();
      },
    );
  });
});

/** Answers with the body it read, unless the request misses its deadline; `delayMs` before answering. */
function echoWithin(deadlineMs: number, delayMs = 0): (stream: http2.ServerHttp2Stream) => void {
  return (stream) => {
    enforceRequestDeadline(stream, deadlineMs);
    readJsonBody(stream, 1 << 20).then(
      (body) => setTimeout(() => respondJson(stream, 200, body), delayMs),
      (err: unknown) => respondError(stream, err),
    );
  };
}

interface Outcome {
  status?: number;
  body: string;
  rstCode?: number;
}

function outcomeOf(request: http2.ClientHttp2Stream): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { body: '' };
    request.setEncoding('utf8');
    request.on('response', (headers) => (outcome.status = Number(headers[':status'])));
    request.on('data', (chunk: string) => (outcome.body += chunk));
    request.on('error', () => {});
    request.on('close', () => resolve({ ...outcome, rstCode: request.rstCode }));
  });
}

describe('request deadlines', () => {
  it('resets a request whose body is still coming at the deadline', async () => {
    await withServer(echoWithin(100), async (url) => {
      const session = http2.connect(url);
      const request = session.request({ ':method': 'POST', ':path': '/' });
      const done = outcomeOf(request);
      request.write('{"a": ');
      const drip = setInterval(() => request.write(' '), 10);
      const outcome = await done;
      clearInterval(drip);
      session.close();
      assert.equal(outcome.rstCode, http2.constants.NGHTTP2_CANCEL);
      assert.equal(outcome.status, undefined);
    });
  });

  it('resets a request that never sends its body', async () => {
    await withServer(echoWithin(100), async (url) => {
      const session = http2.connect(url);
      const request = session.request({ ':method': 'POST', ':path': '/' });
      const outcome = await outcomeOf(request);
      session.close();
      assert.equal(outcome.rstCode, http2.constants.NGHTTP2_CANCEL);
    });
  });

  it('limits the request only: an answer may take longer than the deadline', async () => {
    await withServer(echoWithin(50, 200), async (url) => {
      const session = http2.connect(url);
      const request = session.request({ ':method': 'POST', ':path': '/' });
      const done = outcomeOf(request);
      request.end('{"a": 1}');
      const outcome = await done;
      session.close();
      assert.equal(outcome.status, 200);
      assert.deepEqual(JSON.parse(outcome.body), { a: 1 });
      assert.equal(outcome.rstCode, http2.constants.NGHTTP2_NO_ERROR);
    });
  });
});
