// Log streams in Docker's framing: without a TTY each chunk is an 8-byte header (stream type 1 for
// stdout, 2 for stderr, three zero bytes, big-endian payload length) followed by the payload. Details
// and timestamps are prepended to each line as the Docker Engine does.

import type { LogMessage, LogsRequest } from '../../api/control.js';
import { boolQuery, type Reply, type RequestContext } from '../http.js';
import { compareVersions } from '../version.js';

export function parseLogsRequest(query: URLSearchParams): LogsRequest {
  const seconds = (name: string): number => {
    const raw = query.get(name);
    if (raw === null || raw === '') return 0;
    const n = Number(raw);
    if (Number.isFinite(n)) return n;
    // Docker also accepts RFC 3339 timestamps here.
    const t = Date.parse(raw);
    return Number.isNaN(t) ? 0 : t / 1000;
  };
  return {
    follow: boolQuery(query, 'follow'),
    stdout: boolQuery(query, 'stdout'),
    stderr: boolQuery(query, 'stderr'),
    timestamps: boolQuery(query, 'timestamps'),
    details: boolQuery(query, 'details'),
    tail: query.get('tail') ?? 'all',
    since: seconds('since'),
    until: seconds('until'),
  };
}

/** Go's RFC3339NanoFixed: always nine fractional digits. */
export function fixedNanoTimestamp(timestamp: string): string {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(timestamp);
  if (!m) return timestamp;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0').slice(0, 9)}${m[3]}`;
}

export function formatLogLine(message: LogMessage, request: LogsRequest): Buffer {
  const parts: Buffer[] = [];
  if (request.timestamps) parts.push(Buffer.from(fixedNanoTimestamp(message.timestamp) + ' '));
  if (request.details) {
    const c = message.context;
    const attrs = [
      ['com.docker.swarm.node.id', c.nodeId],
      ['com.docker.swarm.service.id', c.serviceId],
      ['com.docker.swarm.task.id', c.taskId],
    ]
      .map(([k, v]) => `${k}=${encodeURIComponent(v!)}`)
      .join(',');
    parts.push(Buffer.from(attrs + ' '));
  }
  parts.push(message.line);
  return Buffer.concat(parts);
}

export function frame(stream: 'stdout' | 'stderr', payload: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = stream === 'stdout' ? 1 : 2;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

export async function streamLogs(
  ctx: RequestContext,
  request: LogsRequest,
  messages: AsyncIterable<LogMessage>,
): Promise<Reply> {
  const iterator = messages[Symbol.asyncIterator]();
  // Resolve the first message (or the end) before answering, so that errors such as an unknown
  // service still become a proper status code rather than a broken stream.
  let first = await iterator.next();
  const headers: Record<string, string> = {};
  if (compareVersions(ctx.version, '1.42') >= 0)
    headers['Content-Type'] = 'application/vnd.docker.multiplexed-stream';
  ctx.res.writeHead(200, headers);
  ctx.res.flushHeaders();
  try {
    while (!first.done) {
      const message = first.value;
      const wanted = message.stream === 'stdout' ? request.stdout : request.stderr;
      if (wanted && !ctx.res.write(frame(message.stream, formatLogLine(message, request)))) {
        await drainedOrClosed(ctx.res);
      }
      if (ctx.signal.aborted) break;
      first = await iterator.next();
    }
  } finally {
    await iterator.return?.();
    ctx.res.end();
  }
  return { streamed: true };
}

/** Waits until a slow reader has taken what was written, or went away; leaves no listener behind. */
function drainedOrClosed(res: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
