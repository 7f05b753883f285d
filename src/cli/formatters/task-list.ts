// The task tables of `service ps` and `node ps` (docker/cli task.Print and task.taskContext): tasks
// named `<service>.<slot>` (or `<service>.<node ID>` for global services), grouped by that name with
// the newest first and older ones indented as ` \_ name`, node IDs shown as hostnames, states as
// `Running 2 minutes ago`, errors quoted and cut to 30 columns.

import { prettyPrint, taskStateSince } from '../../api/duration.js';
import type { Task } from '../../api/types.js';
import type { EngineClient } from '../client.js';
import { formatList, isTableFormat, resolveListFormat } from '../format/formatter.js';
import { GO_TYPE } from '../format/govalue.js';
import { displayImage, ellipsis, naturalLess, truncateID } from '../format-helpers.js';

export const DEFAULT_TASK_TABLE_FORMAT =
  'table {{.ID}}\t{{.Name}}\t{{.Image}}\t{{.Node}}\t{{.DesiredState}}\t{{.CurrentState}}\t{{.Error}}\t{{.Ports}}';

export const TASK_HEADERS = {
  ID: 'ID',
  Name: 'NAME',
  Image: 'IMAGE',
  Node: 'NODE',
  DesiredState: 'DESIRED STATE',
  CurrentState: 'CURRENT STATE',
  Error: 'ERROR',
  Ports: 'PORTS',
} as const;

const MAX_ERR_LENGTH = 30;

/** Go's zero time (0001-01-01T00:00:00Z) in milliseconds since the epoch. */
const GO_ZERO_TIME_MS = -62_135_596_800_000;
const MAX_DURATION_NS = (1n << 63n) - 1n;

/** RFC 3339 to milliseconds since the epoch; Go's zero time when missing or unreadable. */
export function parseTime(ts: string | undefined): number {
  const ms = ts ? Date.parse(ts) : NaN;
  return Number.isNaN(ms) ? GO_ZERO_TIME_MS : ms;
}

/** Nanoseconds from `ts` to `nowMs` (time.Since), saturating as Go's durations do. */
export function nanosSince(ts: string | undefined, nowMs: number): bigint {
  const ms = parseTime(ts);
  // Keep the sub-millisecond digits JavaScript dates drop.
  const frac = ts ? (/\.(\d+)/.exec(ts)?.[1] ?? '') : '';
  const subMs = BigInt((frac.slice(3, 9) || '0').padEnd(6, '0'));
  const ns = (BigInt(nowMs) - BigInt(ms)) * 1_000_000n - subMs;
  return ns > MAX_DURATION_NS ? MAX_DURATION_NS : ns;
}

/** Maps IDs to names by asking the daemon, once per ID (docker/cli idresolver). */
export class IDResolver {
  private readonly cache = new Map<string, string>();

  constructor(
    private readonly client: EngineClient,
    private readonly noResolve: boolean,
  ) {}

  /** A node's name (its spec name, else its hostname); the ID itself when unknown. */
  async node(id: string): Promise<string> {
    if (this.noResolve) return id;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    let name = id;
    if (id !== '') {
      try {
        const node = await this.client.nodeInspect(id);
        name = node.Spec?.Name || node.Description?.Hostname || id;
      } catch {
        name = id;
      }
    }
    this.cache.set(id, name);
    return name;
  }

  /** A service's name; the ID itself when the service is gone. */
  async service(id: string): Promise<string> {
    if (this.noResolve) return id;
    const cached = this.cache.get(id);
    if (cached !== undefined) return cached;
    let name = id;
    if (id !== '') {
      try {
        name = (await this.client.serviceInspect(id)).Spec?.Name ?? '';
      } catch {
        name = id;
      }
    }
    this.cache.set(id, name);
    return name;
  }
}

export class TaskContext {
  readonly #task: Task;
  readonly #name: string;
  readonly #node: string;
  readonly #trunc: boolean;
  readonly #nowMs: number;

  constructor(task: Task, name: string, node: string, trunc: boolean, nowMs: number) {
    this.#task = task;
    this.#name = name;
    this.#node = node;
    this.#trunc = trunc;
    this.#nowMs = nowMs;
  }

  get ID(): string {
    return this.#trunc ? truncateID(this.#task.ID) : this.#task.ID;
  }

  get Name(): string {
    return this.#name;
  }

  get Image(): string {
    const image = this.#task.Spec?.ContainerSpec?.Image ?? '';
    return this.#trunc ? displayImage(image) : image;
  }

  get Node(): string {
    return this.#node;
  }

  get DesiredState(): string {
    return prettyPrint(this.#task.DesiredState ?? '');
  }

  get CurrentState(): string {
    return taskStateSince(
      this.#task.Status?.State ?? '',
      nanosSince(this.#task.Status?.Timestamp, this.#nowMs),
    );
  }

  get Error(): string {
    let err = this.#task.Status?.Err ?? '';
    if (this.#trunc) err = ellipsis(err, MAX_ERR_LENGTH);
    return err.length > 0 ? `"${err}"` : err;
  }

  get Ports(): string {
    const ports = this.#task.Status?.PortStatus?.Ports ?? [];
    return ports.map((p) => `*:${p.PublishedPort ?? 0}->${p.TargetPort ?? 0}/${p.Protocol ?? ''}`).join(',');
  }
}
Object.defineProperty(TaskContext.prototype, GO_TYPE, { value: '*task.taskContext' });

/**
 * task.Print: names the tasks, sorts them (by name, newest first within a name) and renders them.
 * In table formats the older tasks of a slot are indented.
 */
export async function formatTasks(
  tasks: Task[],
  resolver: IDResolver,
  options: { trunc: boolean; quiet: boolean; format: string; nowMs: number },
): Promise<string> {
  const named: { task: Task; name: string; created: number }[] = [];
  for (const task of tasks) {
    const service = await resolver.service(task.ServiceID);
    const slot = task.Slot ?? 0;
    named.push({
      task,
      name: `${service}.${slot !== 0 ? slot : (task.NodeID ?? '')}`,
      created: parseTime(task.CreatedAt),
    });
  }
  const order = named.map((n, i) => ({ ...n, i }));
  order.sort((a, b) => {
    if (a.name !== b.name)
      return naturalLess(a.name, b.name) ? -1 : naturalLess(b.name, a.name) ? 1 : a.i - b.i;
    if (b.created < a.created) return -1;
    if (a.created < b.created) return 1;
    return a.i - b.i;
  });
  const format = resolveListFormat({
    format: options.format,
    quiet: options.quiet,
    defaultTableFormat: DEFAULT_TASK_TABLE_FORMAT,
    rawFormat: RAW_TASK_FORMAT,
    rawQuietFormat: 'id: {{.ID}}',
  });
  const indent = isTableFormat(format) ? ' \\_ ' : '';
  const rows: TaskContext[] = [];
  let prevName = '';
  for (const { task, name } of order) {
    const display = name === prevName ? indent + name : name;
    prevName = name;
    rows.push(
      new TaskContext(task, display, await resolver.node(task.NodeID ?? ''), options.trunc, options.nowMs),
    );
  }
  return formatList(rows, { format, defaultTableFormat: DEFAULT_TASK_TABLE_FORMAT, header: TASK_HEADERS });
}

const RAW_TASK_FORMAT =
  'id: {{.ID}}\\nname: {{.Name}}\\nimage: {{.Image}}\\nnode: {{.Node}}\\ndesired_state: {{.DesiredState}}\\ncurrent_state: {{.CurrentState}}\\nerror: {{.Error}}\\nports: {{.Ports}}\\n';
