// Request/response plumbing for the Engine API: a request context with Docker's query and body
// conventions, and JSON decoding that fails with the messages Go's decoder gives (the CLI prints them).

import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidArgument } from '../api/errors.js';

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
  | { streamed: true };

export const json = (value: unknown, status = 200): Reply => ({ status, json: value });
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
 * Parses a JSON request body. Errors use the texts of Go's encoding/json so that clients see what they
 * would see from Docker: `EOF` for an empty body, `unexpected EOF` for a truncated one, `invalid
 * character …` for garbage.
 */
export function decodeJson(body: Buffer): unknown {
  const text = body.toString('utf8');
  if (text.trim() === '') throw invalidArgument('EOF');
  try {
    return JSON.parse(text);
  } catch {
    throw invalidArgument(goJsonSyntaxError(text));
  }
}

/** Approximates Go's syntax error for `text` by finding where a JSON scan first fails. */
function goJsonSyntaxError(text: string): string {
  const failure = scanJson(text);
  if (failure === 'eof') return 'unexpected EOF';
  const ch = failure.char;
  const shown = ch === "'" ? "'\\''" : `'${ch}'`;
  return `invalid character ${shown} ${failure.context}`;
}

type ScanFailure = 'eof' | { char: string; context: string };

/** A minimal JSON scanner used only to describe syntax errors the way Go's decoder does. */
function scanJson(text: string): ScanFailure {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const fail = (context: string): ScanFailure => (i >= text.length ? 'eof' : { char: text[i]!, context });
  const value = (): ScanFailure | undefined => {
    ws();
    if (i >= text.length) return 'eof';
    const c = text[i]!;
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return undefined;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') return fail('looking for beginning of object key string');
        const s = string();
        if (s) return s;
        ws();
        if (text[i] !== ':') return fail('after object key');
        i++;
        const v = value();
        if (v) return v;
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return undefined;
        }
        return fail('after object key:value pair');
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return undefined;
      }
      for (;;) {
        const v = value();
        if (v) return v;
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return undefined;
        }
        return fail('after array element');
      }
    }
    if (c === '"') return string();
    const literal = /^(true|false|null|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?)/.exec(text.slice(i));
    if (literal) {
      i += literal[0].length;
      return undefined;
    }
    return fail('looking for beginning of value');
  };
  const string = (): ScanFailure | undefined => {
    i++;
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\\') i += 2;
      else if (c === '"') {
        i++;
        return undefined;
      } else i++;
    }
    return 'eof';
  };
  const result = value();
  if (result) return result;
  ws();
  if (i < text.length) return { char: text[i]!, context: 'after top-level value' };
  return { char: '?', context: 'looking for beginning of value' };
}

/** Reads and decodes a JSON object body; anything but an object is refused as Go would refuse it. */
export async function readJsonObject(
  ctx: RequestContext,
  typeName: string,
): Promise<Record<string, unknown>> {
  const value = decodeJson(await readBody(ctx.req));
  if (value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    const got = Array.isArray(value) ? 'array' : typeof value === 'string' ? 'string' : typeof value;
    throw invalidArgument(`json: cannot unmarshal ${got} into Go value of type ${typeName}`);
  }
  return value as Record<string, unknown>;
}

/** Docker's boolean query parameters: `1`, `true`, `True`… are true; absent, `0`, `false`, `` are false. */
export function boolQuery(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  if (value === null) return false;
  const lower = value.toLowerCase();
  return !(lower === '' || lower === '0' || lower === 'false' || lower === 'no');
}

/** The `version` query parameter of update calls, with Docker's error for a missing or bad one. */
export function versionQuery(query: URLSearchParams, objectName: string): number {
  const raw = query.get('version') ?? '';
  if (!/^\d+$/.test(raw)) {
    const reason = raw === '' ? 'invalid syntax' : 'invalid syntax';
    throw invalidArgument(
      `invalid ${objectName} version '${raw}': strconv.ParseUint: parsing "${raw}": ${reason}`,
    );
  }
  return Number(raw);
}
