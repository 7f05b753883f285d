import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { FrameDecoder } from '../../../src/agent/transport/frames.js';
import type { StreamFrame } from '../../../src/api/dispatcher.js';

const encode = (frames: StreamFrame<unknown>[]): Buffer =>
  Buffer.from(frames.map((frame) => JSON.stringify(frame) + '\n').join(''), 'utf8');

describe('reading newline-delimited frames', () => {
  it('returns frames however the bytes are split, including inside a multi-byte character', () => {
    const frames: StreamFrame<unknown>[] = [
      { message: { hostname: 'nœud-1', n: 1 } },
      { message: { text: '日本語' } },
      { end: true },
    ];
    const bytes = encode(frames);
    for (let size = 1; size <= bytes.length; size += 3) {
      const decoder = new FrameDecoder<unknown>(1024);
      const decoded: StreamFrame<unknown>[] = [];
      for (let i = 0; i < bytes.length; i += size) decoded.push(...decoder.push(bytes.subarray(i, i + size)));
      assert.deepEqual(decoded, frames, `chunks of ${size}`);
      assert.equal(decoder.hasPartialFrame, false);
    }
  });

  it('reports a frame cut off in the middle', () => {
    const decoder = new FrameDecoder<unknown>(1024);
    assert.deepEqual(decoder.push(Buffer.from('{"message":')), []);
    assert.equal(decoder.hasPartialFrame, true);
  });

  it('refuses lines that are not frames', () => {
    assert.throws(() => new FrameDecoder(1024).push(Buffer.from('not json\n')), /not JSON/);
    assert.throws(() => new FrameDecoder(1024).push(Buffer.from('{"other":1}\n')), /malformed stream frame/);
    assert.throws(() => new FrameDecoder(1024).push(Buffer.from('[1]\n')), /malformed stream frame/);
  });

  it('refuses a frame longer than the limit', () => {
    const decoder = new FrameDecoder<unknown>(16);
    assert.throws(() => decoder.push(Buffer.from('{"message":"' + 'x'.repeat(32))), /larger than 16 bytes/);
  });
});
