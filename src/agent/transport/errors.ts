// Errors as the agent sees them from the network transport: a manager's refusal comes back as the
// ShoalError the manager raised (code, text, rpc flag and status as sent); a failure of the
// connection itself is Unavailable, which the agent answers by reconnecting with backoff.

import type { WireError } from '../../api/dispatcher.js';
import { isShoalError, ShoalError, type ErrorCode } from '../../api/errors.js';

const ERROR_CODES: ReadonlySet<string> = new Set<ErrorCode>([
  'InvalidArgument',
  'NotFound',
  'AlreadyExists',
  'FailedPrecondition',
  'PermissionDenied',
  'Unauthenticated',
  'Unavailable',
  'Unimplemented',
  'Unknown',
  'Internal',
]);

function isWireError(value: unknown): value is WireError {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<WireError>;
  return (
    typeof candidate.code === 'string' &&
    ERROR_CODES.has(candidate.code) &&
    typeof candidate.message === 'string'
  );
}

/**
 * The manager's error from a decoded error body, or an Unknown error describing what arrived instead.
 * `status` is the response's HTTP status; a stream's closing error frame has none, and the code's
 * usual one is used.
 */
export function errorFromWire(body: unknown, status?: number): ShoalError {
  if (!isWireError(body)) {
    return new ShoalError('Unknown', `unexpected response from manager (HTTP status ${status ?? 200})`);
  }
  return new ShoalError(body.code, body.message, {
    rpc: body.rpc === true,
    ...(status !== undefined ? { status } : {}),
  });
}

/** The manager's error from a non-200 response body (text). */
export function errorFromResponse(status: number, bodyText: string): ShoalError {
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch {
    body = undefined;
  }
  return errorFromWire(body, status);
}

/** A failure of the connection or the stream (refused, reset, TLS, keepalive): Unavailable. */
export function transportError(err: unknown): ShoalError {
  if (isShoalError(err)) return err;
  // Calls queued before the connection failed are cancelled with the failure as their cause.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : undefined;
  if (isShoalError(cause)) return cause;
  const message = (cause ?? (err instanceof Error ? err : undefined))?.message ?? String(err);
  return new ShoalError('Unavailable', `connection error: ${message}`);
}

export function deadlineExceeded(path: string, timeoutMs: number): ShoalError {
  return new ShoalError('Unavailable', `${path}: deadline exceeded after ${timeoutMs} ms`);
}
