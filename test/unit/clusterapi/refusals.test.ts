import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { notFound } from '../../../src/api/errors.js';
import { malformedRequest, rateLimited } from '../../../src/api/peer-limits.js';
import type { DispatcherLog } from '../../../src/manager/dispatcher/log.js';
import { RefusalLog } from '../../../src/manager/clusterapi/refusals.js';

describe('the log of refused calls', () => {
  it('logs one line per caller and interval, counting what it stands for', () => {
    const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log: DispatcherLog = {
      debug: () => {},
      info: () => {},
      error: () => {},
      warn: (msg, fields) => void lines.push({ msg, fields }),
    };
    let now = 0;
    const refusals = new RefusalLog(log, () => now, 10_000);
    const worker = { addr: '10.0.0.2', identity: { nodeId: 'n1', role: 'worker' as const, clusterId: 'c' } };
    const stranger = { addr: '10.0.0.9' };
    for (let i = 0; i < 1000; i++) refusals.note('/p', worker, malformedRequest('x must be a string'));
    refusals.note('/p', stranger, malformedRequest('csr must be a string'));
    refusals.note('/p', worker, notFound('node not registered')); // routine: not logged
    now = 10_000;
    refusals.note('/q', worker, rateLimited('node n1 exceeded its rate limit'));
    assert.deepEqual(lines, [
      {
        msg: 'cluster API: refused a malformed call',
        fields: { call: '/p', node: 'n1', addr: '10.0.0.2', error: 'malformed request: x must be a string' },
      },
      {
        msg: 'cluster API: refused a malformed call',
        fields: { call: '/p', addr: '10.0.0.9', error: 'malformed request: csr must be a string' },
      },
      {
        msg: 'cluster API: refused a call over the rate limit',
        fields: {
          call: '/q',
          node: 'n1',
          addr: '10.0.0.2',
          error: 'node n1 exceeded its rate limit',
          refusedSinceLastLine: 999,
        },
      },
    ]);
  });
});
