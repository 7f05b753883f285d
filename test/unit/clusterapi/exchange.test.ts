// A server stream over a real HTTP/2 connection on loopback (plaintext: TLS is not the subject here):
// frames arrive in order and end with a status; a peer that stops reading is cut off instead of
// making the manager buffer without bound.

import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';

import { FrameDecoder } from '../../../src/agent/transport/frames.js';
import type { StreamFrame } from '../../../src/api/dispatcher.js';
import { ShoalError } from '../../../src/api/errors.js';
import { FrameWriter } from '../../../src/manager/clusterapi/exchange.js';

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
