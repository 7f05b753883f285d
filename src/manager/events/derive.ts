// Swarm events from store changes, as dockerd derives them from swarmkit's store watch (daemon/events.go:
// generateClusterEvent). Every committed write of a node, service, network, secret or config is one event,
// even when nothing a user sees changed (a node's labels, a service's endpoint): only `name` is then
// attached. Updates of nodes and services also compare the old and new objects and attach what changed:
//
//   service  image.old/new         the container image of the task template
//            replicas.old/new      the replica count, when both are replicated services
//            updatestate.new       the update state, when the old object had no update status
//            updatestate.old/new   the update state, when it changed
//   node     availability.old/new  Spec.Availability
//            role.old/new          the observed role
//            state.old/new         Status.State
//            leader.old/new        "true"/"false", when both have a manager status
//            reachability.old/new  ManagerStatus.Reachability, when both have a manager status
//
// The event's time is the object's CreatedAt for a create, its UpdatedAt for an update (both stamped by the
// store at the write) and the current time for a removal, as in dockerd. Tasks and the cluster object
// give no events.

import type { EventMessage } from '../../api/control.js';
import type { Node, Service } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';

type SwarmEventType = EventMessage['Type'];

const EVENT_TYPES: ReadonlySet<string> = new Set<SwarmEventType>([
  'service',
  'node',
  'secret',
  'config',
  'network',
]);

const ACTIONS = { create: 'create', update: 'update', delete: 'remove' } as const;

/** The event a store change gives, or undefined for kinds that give none (tasks, the cluster). */
export function deriveEvent(change: ObjectEvent, nowMs: number): EventMessage | undefined {
  if (!EVENT_TYPES.has(change.kind)) return undefined;
  const type = change.kind as SwarmEventType;
  const attributes: Record<string, string> = {};
  let name: string;
  if (change.kind === 'node') {
    const node = change.object;
    name = node.Spec?.Name || node.Description?.Hostname || '';
    if (change.action === 'update') nodeChanges(change.old, node, attributes);
  } else if (change.kind === 'service') {
    name = change.object.Spec?.Name ?? '';
    if (change.action === 'update') serviceChanges(change.old, change.object, attributes);
  } else {
    name = (change.object as { Spec?: { Name?: string } }).Spec?.Name ?? '';
  }
  attributes.name = name;
  const timeNano =
    change.action === 'create'
      ? timestampNanos(change.object.CreatedAt, nowMs)
      : change.action === 'update'
        ? timestampNanos(change.object.UpdatedAt, nowMs)
        : BigInt(nowMs) * 1_000_000n;
  return {
    Type: type,
    Action: ACTIONS[change.action],
    Actor: { ID: change.object.ID, Attributes: sortedAttributes(attributes) },
    scope: 'swarm',
    time: Number(floorDiv(timeNano, 1_000_000_000n)),
    timeNano,
  };
}

function serviceChanges(old: Service, next: Service, out: Record<string, string>): void {
  const image = next.Spec?.TaskTemplate?.ContainerSpec;
  const oldImage = old.Spec?.TaskTemplate?.ContainerSpec;
  if (image && oldImage && (image.Image ?? '') !== (oldImage.Image ?? '')) {
    out['image.old'] = oldImage.Image ?? '';
    out['image.new'] = image.Image ?? '';
  }
  const replicated = next.Spec?.Mode?.Replicated;
  const oldReplicated = old.Spec?.Mode?.Replicated;
  if (replicated && oldReplicated) {
    // A replicated mode without a count is one replica (what the control API stores for it).
    const replicas = replicated.Replicas ?? 1;
    const oldReplicas = oldReplicated.Replicas ?? 1;
    if (replicas !== oldReplicas) {
      out['replicas.old'] = String(oldReplicas);
      out['replicas.new'] = String(replicas);
    }
  }
  if (next.UpdateStatus) {
    // swarmkit's enum: a status without a state is UNKNOWN.
    const state = next.UpdateStatus.State ?? 'unknown';
    if (!old.UpdateStatus) {
      out['updatestate.new'] = state;
    } else {
      const oldState = old.UpdateStatus.State ?? 'unknown';
      if (state !== oldState) {
        out['updatestate.old'] = oldState;
        out['updatestate.new'] = state;
      }
    }
  }
}

function nodeChanges(old: Node, next: Node, out: Record<string, string>): void {
  // Unset enums read as swarmkit's zero values: ACTIVE, WORKER, UNKNOWN.
  const availability = next.Spec?.Availability ?? 'active';
  const oldAvailability = old.Spec?.Availability ?? 'active';
  if (availability !== oldAvailability) {
    out['availability.old'] = oldAvailability;
    out['availability.new'] = availability;
  }
  const role = observedRole(next);
  const oldRole = observedRole(old);
  if (role !== oldRole) {
    out['role.old'] = oldRole;
    out['role.new'] = role;
  }
  const state = next.Status?.State ?? 'unknown';
  const oldState = old.Status?.State ?? 'unknown';
  if (state !== oldState) {
    out['state.old'] = oldState;
    out['state.new'] = state;
  }
  // Only a change within the manager role: a promotion or demotion shows as role.old/new alone.
  if (next.ManagerStatus && old.ManagerStatus) {
    const leader = next.ManagerStatus.Leader === true;
    if (leader !== (old.ManagerStatus.Leader === true)) {
      out['leader.old'] = String(!leader);
      out['leader.new'] = String(leader);
    }
    const reachability = next.ManagerStatus.Reachability ?? 'unknown';
    const oldReachability = old.ManagerStatus.Reachability ?? 'unknown';
    if (reachability !== oldReachability) {
      out['reachability.old'] = oldReachability;
      out['reachability.new'] = reachability;
    }
  }
}

/** The role the node has now (its certificate's), which follows `Spec.Role` once the change is done. */
function observedRole(node: Node): string {
  return node.Role ?? node.Spec?.Role ?? 'worker';
}

/** Attributes with their keys in byte order, as Go writes a map[string]string. */
function sortedAttributes(attributes: Record<string, string>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(attributes).sort(compareBytes)) sorted[key] = attributes[key]!;
  return sorted;
}

function compareBytes(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9})\d*)?(Z|[+-]\d{2}:\d{2})$/;

/** An RFC 3339 timestamp in Unix nanoseconds, exactly (JS dates stop at milliseconds); else `nowMs`. */
export function timestampNanos(timestamp: string | undefined, nowMs: number): bigint {
  const m = timestamp ? RFC3339.exec(timestamp) : null;
  const wholeSecondMs = m ? Date.parse(`${m[1]}${m[3]}`) : NaN;
  if (!m || Number.isNaN(wholeSecondMs)) return BigInt(nowMs) * 1_000_000n;
  return BigInt(wholeSecondMs) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** Floor division of bigints (BigInt's `/` truncates towards zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}
