// Errors cross the cluster port unchanged: what the manager throws is what the node's call rejects with.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { errorFromResponse, errorFromWire, transportError } from '../../../src/agent/transport/errors.js';
import { invalidArgument, permissionDenied, ShoalError } from '../../../src/api/errors.js';
import { errorResponse } from '../../../src/manager/clusterapi/errors.js';

function roundTrip(err: unknown): ShoalError {
  const { status, body } = errorResponse(err);
  return errorFromResponse(status, JSON.stringify(body));
}

describe('errors on the wire', () => {
  it('a ShoalError keeps its code, message, rpc flag and status', () => {
    const cases = [
      invalidArgument('A valid join token is necessary to join this cluster', { rpc: true }),
      permissionDenied('no client certificates in request', { rpc: true }),
      new ShoalError('NotFound', 'node not registered'),
      invalidArgument('request body larger than 10 bytes', { status: 413 }),
    ];
    for (const original of cases) {
      const received = roundTrip(original);
      assert.ok(received instanceof ShoalError);
      assert.deepEqual(
        { code: received.code, message: received.message, rpc: received.rpc, status: received.status },
        { code: original.code, message: original.message, rpc: original.rpc, status: original.status },
      );
      assert.equal(received.apiMessage(), original.apiMessage());
    }
  });

  it('any other error travels as Unknown, as gRPC reports a plain error', () => {
    const received = roundTrip(new Error('disk on fire'));
    assert.deepEqual([received.code, received.message, received.rpc], ['Unknown', 'disk on fire', true]);
  });

  it('a stream closing frame rebuilds the error with its code status', () => {
    const received = errorFromWire({ code: 'NotFound', message: 'node not found', rpc: false });
    assert.equal(received.status, 404);
  });

  it('what is not an error body says so', () => {
    assert.equal(
      errorFromResponse(502, '<html>').message,
      'unexpected response from manager (HTTP status 502)',
    );
    assert.equal(errorFromWire({ code: 'Bogus', message: 'x' }, 500).code, 'Unknown');
  });

  it('connection failures are Unavailable, with the underlying cause', () => {
    const cancelled = new Error('The pending stream has been canceled', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:2377'), { code: 'ECONNREFUSED' }),
    });
    const err = transportError(cancelled);
    assert.equal(err.code, 'Unavailable');
    assert.equal(err.message, 'connection error: connect ECONNREFUSED 127.0.0.1:2377');
    const keepalive = new ShoalError('Unavailable', 'manager stopped answering');
    assert.equal(transportError(new Error('cancelled', { cause: keepalive })), keepalive);
    assert.equal(transportError(keepalive), keepalive);
  });
});
