// `service logs` output (docker/cli cli/command/service/logs.go): the daemon's multiplexed stream
// (8-byte frame headers: stream 1 = stdout, 2 = stderr) is split back into stdout and stderr, and
// each line's details prefix (`com.docker.swarm.node.id=…,…service.id=…,…task.id=… `) is turned into
// Docker's `<service>.<slot>.<task>@<node>    | ` context, padded so the bars line up.

import type { Task } from '../api/types.js';
import { truncateID } from './format-helpers.js';

export interface LogFrame {
  stream: number;
  payload: Buffer;
}

/** stdcopy's demultiplexer as an incremental parser: feed chunks, get complete frames. */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): LogFrame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const frames: LogFrame[] = [];
    while (this.buffer.length >= 8) {
      const size = this.buffer.readUInt32BE(4);
      if (this.buffer.length < 8 + size) break;
      frames.push({ stream: this.buffer[0]!, payload: this.buffer.subarray(8, 8 + size) });
      this.buffer = this.buffer.subarray(8 + size);
    }
    return frames;
  }

  /** Bytes of an incomplete frame left at the end of the stream. */
  get pending(): number {
    return this.buffer.length;
  }
}

/** logs.ParseLogDetails: `k=v,k=v` with URL-escaped keys and values. */
export function parseLogDetails(details: string): Map<string, string> {
  if (details === '') throw new Error('invalid details format');
  const out = new Map<string, string>();
  for (const pair of details.split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error('invalid details format');
    const unescape = (s: string): string => {
      try {
        return decodeURIComponent(s.replace(/\+/g, ' '));
      } catch {
        throw new Error(`invalid URL escape ${JSON.stringify(s)}`);
      }
    };
    out.set(unescape(pair.slice(0, eq)), unescape(pair.slice(eq + 1)));
  }
  return out;
}

export interface LogLineOptions {
  timestamps: boolean;
  details: boolean;
  noTaskIDs: boolean;
  noTrunc: boolean;
}

/** What the formatter needs to name a task's lines: resolved lazily, cached per context. */
export interface LogNameResolver {
  node(id: string): Promise<string>;
  service(id: string): Promise<string>;
  task(id: string): Promise<Task>;
}

/** The number of decimal digits of a slot number (getMaxLength). */
export const digits = (n: number): number => String(n).length;

/**
 * Turns one frame's payload (`[timestamp ]details message`) into the printed line (logWriter.Write
 * plus taskFormatter.format): `[timestamp ]name.slot.task@node<padding>    | [details ]message`.
 */
export class LogLineFormatter {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly resolver: LogNameResolver,
    private readonly options: LogLineOptions,
    /** Digits of the highest slot (the replica count), for padding. */
    private readonly padding: number,
  ) {}

  async format(payload: Buffer): Promise<Buffer> {
    const numParts = this.options.timestamps ? 3 : 2;
    const detailsIndex = this.options.timestamps ? 1 : 0;
    const parts: Buffer[] = [];
    let rest = payload;
    while (parts.length < numParts - 1) {
      const sp = rest.indexOf(0x20);
      if (sp < 0) break;
      parts.push(rest.subarray(0, sp));
      rest = rest.subarray(sp + 1);
    }
    parts.push(rest);
    if (parts.length !== numParts)
      throw new Error(`invalid context in log message: ${payload.toString('utf8')}`);
    const details = parseLogDetails(parts[detailsIndex]!.toString('utf8'));
    const nodeID = details.get('com.docker.swarm.node.id');
    if (nodeID === undefined) throw new Error(`missing node id in details: ${mapText(details)}`);
    details.delete('com.docker.swarm.node.id');
    const serviceID = details.get('com.docker.swarm.service.id');
    if (serviceID === undefined) throw new Error(`missing service id in details: ${mapText(details)}`);
    details.delete('com.docker.swarm.service.id');
    const taskID = details.get('com.docker.swarm.task.id');
    if (taskID === undefined) throw new Error(`missing task id in details: ${mapText(details)}`);
    details.delete('com.docker.swarm.task.id');

    const chunks: Buffer[] = [];
    if (this.options.timestamps) chunks.push(parts[0]!, Buffer.from(' '));
    chunks.push(Buffer.from((await this.context(nodeID, serviceID, taskID)) + '    | '));
    if (this.options.details) {
      const pairs = [...details].map(([k, v]) => `${k}=${v}`).sort();
      chunks.push(Buffer.from(pairs.join(',') + ' '));
    }
    chunks.push(parts[detailsIndex + 1]!);
    return Buffer.concat(chunks);
  }

  private async context(nodeID: string, serviceID: string, taskID: string): Promise<string> {
    const key = `${nodeID}\x00${serviceID}\x00${taskID}`;
    const cached = this.cache.get(key);
    if (cached !== undefined) return cached;
    const nodeName = await this.resolver.node(nodeID);
    const serviceName = await this.resolver.service(serviceID);
    const task = await this.resolver.task(taskID);
    const slot = task.Slot ?? 0;
    let name = `${serviceName}.${slot}`;
    if (!this.options.noTaskIDs) name += '.' + (this.options.noTrunc ? task.ID : truncateID(task.ID));
    const pad = this.padding - digits(slot);
    const formatted = `${name}@${nodeName}${pad > 0 ? ' '.repeat(pad) : ''}`;
    this.cache.set(key, formatted);
    return formatted;
  }
}

/** Go's `%v` of a map[string]string: `map[k:v k2:v2]` (sorted keys). */
function mapText(m: Map<string, string>): string {
  return `map[${[...m]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}:${v}`)
    .join(' ')}]`;
}

/**
 * timetypes.GetTimestamp for `--since`: a duration before now (`42m`), an RFC 3339 time or date, or
 * a Unix timestamp, as the `seconds[.nanoseconds]` string the API takes.
 */
export function sinceTimestamp(value: string, nowMs: number, parseDurationNs: (s: string) => number): string {
  if (value !== '0') {
    try {
      const ns = parseDurationNs(value);
      return String(Math.floor((nowMs - ns / 1e6) / 1000));
    } catch {
      // not a duration
    }
  }
  const m =
    /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(\.\d+)?)?)?)?(Z|z|[+-]\d{2}:\d{2})?$/.exec(
      value,
    );
  if (m) {
    const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone] = m;
    const iso = `${y}-${mo}-${d}T${h}:${mi}:${s}${zone && zone.toUpperCase() !== 'Z' ? zone : 'Z'}`;
    let ms = Date.parse(iso);
    if (Number.isNaN(ms)) throw new Error(`parsing time "${value}": invalid date`);
    if (!zone) ms += new Date(ms).getTimezoneOffset() * 60_000;
    const nanos = (frac.slice(1) + '000000000').slice(0, 9);
    return `${Math.floor(ms / 1000)}.${nanos}`;
  }
  if (value.includes('-')) throw new Error(`parsing time ${JSON.stringify(value)}: cannot parse`);
  if (/^\d+(\.\d{1,9})?$/.test(value)) return value;
  throw new Error(`failed to parse value as time or duration: ${JSON.stringify(value)}`);
}
