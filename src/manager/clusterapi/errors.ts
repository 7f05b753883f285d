// How failures leave the manager on the cluster port: a ShoalError keeps its code, text and HTTP
// status, so the node's client can rebuild the very same error; anything else is reported the way
// gRPC reports a plain Go error (code Unknown), which is what swarmkit's nodes would see.

import type { WireError } from '../../api/dispatcher.js';
import { isShoalError } from '../../api/errors.js';

export interface ErrorResponse {
  status: number;
  body: WireError;
}

export function errorResponse(err: unknown): ErrorResponse {
  if (isShoalError(err)) {
    return { status: err.status, body: { code: err.code, message: err.message, rpc: err.rpc } };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { code: 'Unknown', message, rpc: true } };
}
