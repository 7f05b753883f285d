// Node calls of the control API: list with filters, update (availability, labels, role), remove.

import { failedPrecondition, invalidArgument, outOfSequence } from '../../api/errors.js';
import type { Filters } from '../../api/filters.js';
import type { Node, NodeSpec } from '../../api/types.js';

const ROLES = ['worker', 'manager'];
const AVAILABILITIES = ['active', 'pause', 'drain'];

/** Docker's texts; a bad value is a client error (400), as in engines after 20.10 (which said 500). */
export function validateNodeFilters(filters: Filters): void {
  for (const role of filters.values('role')) {
    if (!ROLES.includes(role)) throw invalidArgument(`Invalid role filter: '${role}'`);
  }
  for (const membership of filters.values('membership')) {
    if (membership !== 'accepted' && membership !== 'pending') {
      throw invalidArgument(`Invalid membership filter: '${membership}'`);
    }
  }
}

export function nodeMatchesFilters(node: Node, filters: Filters): boolean {
  const role = node.Spec.Role ?? 'worker';
  return (
    filters.matchPrefix('id', node.ID) &&
    filters.matchPrefix('name', node.Spec.Name || node.Description?.Hostname) &&
    filters.matchExact('role', role) &&
    filters.matchExact('membership', 'accepted') &&
    filters.matchLabels('label', node.Description?.Engine?.Labels) &&
    filters.matchLabels('node.label', node.Spec.Labels)
  );
}

/** Docker's checks on a NodeSpec sent by a client (moby's NodeSpecToGRPC). */
export function validateNodeSpec(spec: NodeSpec): void {
  // The spec is always complete (clients read, modify and send it back): a missing role or
  // availability is as invalid as a wrong one, and must not silently reset the node.
  if (!ROLES.includes(spec.Role ?? '')) throw invalidArgument(`invalid Role: "${spec.Role ?? ''}"`);
  if (!AVAILABILITIES.includes(spec.Availability ?? '')) {
    throw invalidArgument(`invalid Availability: "${spec.Availability ?? ''}"`);
  }
  if (spec.Labels !== undefined && spec.Labels !== null) {
    if (typeof spec.Labels !== 'object' || Array.isArray(spec.Labels)) {
      throw invalidArgument(
        'json: cannot unmarshal into Go struct field Annotations.Labels of type map[string]string',
      );
    }
    for (const [key, value] of Object.entries(spec.Labels)) {
      if (typeof value !== 'string') {
        throw invalidArgument(
          `json: cannot unmarshal ${typeof value} into Go struct field Annotations.Labels of type string`,
        );
      }
      if (key === '') throw invalidArgument('invalid label: label name cannot be empty');
    }
  }
}

export interface NodeUpdatePlan {
  node: Node;
}

/** Applies a client's new spec to a stored node, checking the version and role rules. */
export function applyNodeUpdate(current: Node, version: number, spec: NodeSpec, managerCount: number): Node {
  if (current.Version.Index !== version) throw outOfSequence();
  validateNodeSpec(spec);
  const currentRole = current.Spec.Role ?? 'worker';
  const desiredRole = spec.Role ?? currentRole;
  if (currentRole === 'manager' && desiredRole === 'worker' && managerCount <= 1) {
    throw failedPrecondition('attempting to demote the last manager of the swarm');
  }
  if (currentRole === 'worker' && desiredRole === 'manager') {
    throw failedPrecondition(
      'promoting a worker to manager is not supported yet: shoal runs one manager per swarm (adding etcd members to a swarm is not built yet)',
    );
  }
  const next = structuredClone(current);
  next.Spec = {
    ...(spec.Name ? { Name: spec.Name } : {}),
    Labels: { ...(spec.Labels ?? {}) },
    Role: desiredRole,
    Availability: spec.Availability ?? current.Spec.Availability ?? 'active',
  };
  return next;
}

/** swarmkit's rules for removing a node. */
export function checkNodeRemovable(node: Node, force: boolean): void {
  if ((node.Spec.Role ?? 'worker') === 'manager' || node.Role === 'manager') {
    throw failedPrecondition(
      `node ${node.ID} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal`,
    );
  }
  if (!force && node.Status.State === 'ready') {
    throw failedPrecondition(`node ${node.ID} is not down and can't be removed`);
  }
}
