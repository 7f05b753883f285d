// Running `shoal` in-process against a scripted daemon: the real client encodes every request (so
// tests see the exact bodies and queries the CLI sends), a route table answers them.

import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import {
  DaemonError,
  EngineClient,
  encodeBody,
  encodeQuery,
  type ApiResponse,
  type RequestOptions,
} from '../../../src/cli/client.js';
import { main } from '../../../src/cli/program.js';
import { BufferStream } from '../../../src/cli/streams.js';

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string as sent (keys sorted, URL-encoded). */
  query: string;
  /** The body as sent, without the trailing newline; '' when there is none. */
  body: string;
  /** Headers the CLI set (X-Registry-Auth); the transport's own are not included. */
  headers: Record<string, string>;
}

export interface Reply {
  status?: number;
  body?: unknown;
}

export type Route = (req: RecordedRequest) => Reply | undefined;

/** An EngineClient whose transport is a function: no sockets, every request recorded. */
export class FakeClient extends EngineClient {
  readonly requests: RecordedRequest[] = [];
  /** Raw multiplexed log streams by path. */
  readonly streams = new Map<string, Buffer>();

  constructor(
    private readonly route: Route,
    private readonly negotiatedVersion = '1.44',
  ) {
    super('unix:///fake.sock');
  }

  override async apiVersion(): Promise<string> {
    return this.negotiatedVersion;
  }

  override async call(method: string, path: string, options: RequestOptions = {}): Promise<ApiResponse> {
    const req: RecordedRequest = {
      method,
      path,
      query: encodeQuery(options.query ?? {}),
      body: (encodeBody(options.body)?.toString('utf8') ?? '').replace(/\n$/, ''),
      headers: { ...options.headers },
    };
    this.requests.push(req);
    const reply = this.route(req) ?? { status: 404, body: { message: `no route for ${method} ${path}` } };
    const status = reply.status ?? 200;
    if (status >= 400)
      throw new DaemonError(status, (reply.body as { message?: string } | undefined)?.message ?? '');
    const text = reply.body === undefined ? '' : JSON.stringify(reply.body);
    return { status, headers: {}, body: Buffer.from(text) };
  }

  override async stream(path: string, query: RequestOptions['query']): Promise<IncomingMessage> {
    this.requests.push({ method: 'GET', path, query: encodeQuery(query ?? {}), body: '', headers: {} });
    const data = this.streams.get(path);
    if (!data) throw new DaemonError(404, `no stream for ${path}`);
    return Readable.from([data]) as unknown as IncomingMessage;
  }

  /** The requests as `METHOD path?query` lines, for compact assertions. */
  get lines(): string[] {
    return this.requests.map((r) => `${r.method} ${r.path}${r.query ? '?' + r.query : ''}`);
  }
}

export interface RunResult {
  out: string;
  err: string;
  code: number;
}

export interface RunOptions {
  client?: FakeClient;
  env?: Record<string, string | undefined>;
  now?: number;
  tty?: boolean;
  columns?: number;
}

/** Runs `shoal <argv>` in-process with buffered output. */
export async function runShoal(argv: string[], options: RunOptions = {}): Promise<RunResult> {
  const out = new BufferStream(options.tty ?? false, options.columns);
  const err = new BufferStream(false);
  let now = options.now ?? Date.parse('2026-11-25T23:40:00Z');
  const code = await main(argv, { out, err, in: Readable.from([]), inIsTerminal: false }, options.env ?? {}, {
    clientFactory: options.client ? () => options.client! : undefined,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  });
  return { out: out.text, err: err.text, code };
}

/** A route table: the first matching `METHOD path` prefix answers. */
export function routes(table: Record<string, Reply | ((req: RecordedRequest) => Reply)>): Route {
  return (req) => {
    const key = `${req.method} ${req.path}`;
    for (const [pattern, reply] of Object.entries(table)) {
      if (key === pattern || (pattern.endsWith('*') && key.startsWith(pattern.slice(0, -1)))) {
        return typeof reply === 'function' ? reply(req) : reply;
      }
    }
    return undefined;
  };
}
