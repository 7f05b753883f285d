// What a stack update would change in a service, field by field (`stack diff`, `stack deploy --dry-run`):
// the spec the deploy would send against the one stored, both as the daemon would store them — the
// docker CLI's Go shapes (unknown fields dropped, empty ones left out), the defaults the daemon fills in
// (one replica, `Isolation: default`, `Runtime: container`, endpoint mode `vip`), and network names
// resolved to the IDs the daemon stores. Only what differs is reported, with its path in the spec.

import type { ServiceSpec } from '../../api/types.js';
import { normalizeGo, SERVICE_SPEC } from '../wire.js';

export interface Change {
  /** The field's path in the ServiceSpec: `TaskTemplate.ContainerSpec.Env`. */
  path: string;
  before: unknown;
  after: unknown;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The spec as the daemon stores it, in the CLI's Go shape. */
function stored(spec: ServiceSpec, networkIDs: ReadonlyMap<string, string>): Json {
  const s = normalizeGo<Json>(spec, SERVICE_SPEC);
  const mode = (s['Mode'] ??= {}) as Json;
  if (isObject(mode['Replicated'])) (mode['Replicated'] as Json)['Replicas'] ??= 1;
  if (isObject(mode['ReplicatedJob'])) {
    const job = mode['ReplicatedJob'] as Json;
    job['MaxConcurrent'] ??= 1;
    job['TotalCompletions'] ??= job['MaxConcurrent'];
  }
  if (!mode['Replicated'] && !mode['Global'] && !mode['ReplicatedJob'] && !mode['GlobalJob']) {
    mode['Replicated'] = { Replicas: 1 };
  }
  const task = (s['TaskTemplate'] ??= {}) as Json;
  if (isObject(task['ContainerSpec'])) {
    const container = task['ContainerSpec'] as Json;
    if (!container['Isolation']) container['Isolation'] = 'default';
    if (!task['Runtime']) task['Runtime'] = 'container';
  }
  task['ForceUpdate'] ??= 0;
  if (Array.isArray(task['Networks'])) {
    task['Networks'] = (task['Networks'] as Json[])
      .map((n) => ({ ...n, Target: networkIDs.get(String(n['Target'])) ?? n['Target'] }))
      .sort((a, b) => (String(a.Target) < String(b.Target) ? -1 : 1));
  }
  const endpoint = (s['EndpointSpec'] ??= {}) as Json;
  if (!endpoint['Mode']) endpoint['Mode'] = 'vip';
  return s;
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function walk(before: unknown, after: unknown, path: string, out: Change[]): void {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const key of keys) walk(before[key], after[key], path ? `${path}.${key}` : key, out);
    return;
  }
  if (!equal(before, after)) out.push({ path, before, after });
}

/** Every field that differs between the stored spec and the one a deploy would send. */
export function serviceChanges(
  current: ServiceSpec,
  next: ServiceSpec,
  networkIDs: ReadonlyMap<string, string>,
): Change[] {
  const out: Change[] = [];
  walk(stored(current, networkIDs), stored(next, networkIDs), '', out);
  return out;
}

/** A value in a change line: JSON, `(none)` for a field that is not there. */
export function changeValue(v: unknown): string {
  return v === undefined ? '(none)' : JSON.stringify(v);
}
