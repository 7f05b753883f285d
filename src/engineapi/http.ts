// Request/response plumbing for the Engine API: a request context and Docker's query conventions.
// Bodies are decoded by decode.ts, which behaves like Go's encoding/json.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidArgument } from '../api/errors.js';
import { NumError, parseUintBig } from '../api/strconv.js';

export interface RequestContext {
  method: string;
  /** Path without the version prefix, e.g. `/services/web`. */
  path: string;
  /** Negotiated API version of this request. */
  version: string;
  params: Record<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
  /** Aborted when the client goes away (for streams). */
  signal: AbortSignal;
}

/** What a handler answers; streaming handlers write to `ctx.res` themselves and return `{ streamed: true }`. */
export type Reply =
  | { status: number; json: unknown }
  | { status: number; text: string; contentType?: string }
  | { status: number; empty: true }
  | { streamed: true }
  /**
   * The node's engine answers this one (routes that share paths with it, e.g. networks): the request goes
   * to the engine as it came, with `body` when the handler has already read the body.
   */
  | { passToEngine: true; body?: Buffer };

export const json = (value: unknown, status = 200): Reply => ({ status, json: value });

/** See Reply: only a route registered with an engine may answer this. */
export const passToEngine = (body?: Buffer): Reply =>
  body === undefined ? { passToEngine: true } : { passToEngine: true, body };

/**
 * JSON text of each list element, by element. Lists the CLI polls (tasks every 200 ms while converging,
 * in a tight loop during `stack rm`) mostly hand back the same objects, so each is serialized once.
 */
const serialized = new WeakMap<object, string>();

/** A JSON array reply whose elements are serialized once per object (they must not be mutated). */
export function jsonList(items: readonly object[], status = 200): Reply {
  const parts = items.map((item) => {
    let text = serialized.get(item);
    if (text === undefined) {
      text = JSON.stringify(item);
      serialized.set(item, text);
    }
    return text;
  });
  return { status, text: `[${parts.join(',')}]\n`, contentType: 'application/json' };
}
export const empty = (status = 200): Reply => ({ status, empty: true });

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw invalidArgument('request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/**
 * Docker's boolean query parameters: absent, ``, `0`, `no`, `false` and `none` are false, anything else
 * true (so `force=bogus` forces, as in Docker; `force=none` does not).
 */
export function boolQuery(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  const lower = value.trim().toLowerCase();
  return !(lower === '' || lower === '0' || lower === 'false' || lower === 'no' || lower === 'none');
}

/** The `version` query parameter of update calls, with Docker's error for a missing or bad one. */
export function versionQuery(query: URLSearchParams, objectName: string): number {
  const raw = query.get('version') ?? '';
  let version: bigint;
  try {
    version = parseUintBig(raw, 10, 64);
  } catch (err) {
    if (err instanceof NumError)
      throw invalidArgument(`invalid ${objectName} version '${raw}': ${err.message}`);
    throw err;
  }
  // Versions are store revisions, far below 2^53; a larger one matches no object and is simply stale.
  return version > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(version);
}
