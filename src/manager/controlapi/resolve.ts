// Resolving what a user typed into an object, as the Docker daemon does: full ID first, then exact
// name (hostname for nodes), then unique ID prefix. Several matches are an error, not a guess.

import { invalidArgument, notFound } from '../../api/errors.js';
import type { Node, Service, Task } from '../../api/types.js';
import type { ReadTx } from '../../store/objects.js';

function pick<T>(kind: string, ref: string, matches: T[]): T {
  if (matches.length === 0) throw notFound(`${kind} ${ref} not found`);
  if (matches.length > 1)
    throw invalidArgument(`${kind} ${ref} is ambiguous (${matches.length} matches found)`);
  return matches[0]!;
}

/** `self` means the node answering the call (Docker's daemon gives 404 there; shoal does what was meant). */
export function resolveNode(tx: ReadTx, ref: string, localNodeId: string): Node {
  const id = ref === 'self' ? localNodeId : ref;
  const byId = tx.get('node', id);
  if (byId) return byId;
  const nodes = tx.list('node');
  const lower = ref.toLowerCase();
  const byName = nodes.filter((n) => (n.Spec.Name || n.Description?.Hostname || '').toLowerCase() === lower);
  if (byName.length > 0) return pick('node', ref, byName);
  return pick(
    'node',
    ref,
    nodes.filter((n) => n.ID.startsWith(ref)),
  );
}

export function resolveService(tx: ReadTx, ref: string): Service {
  const byId = tx.get('service', ref);
  if (byId) return byId;
  const byName = tx.getByName('service', ref);
  if (byName) return byName;
  return pick(
    'service',
    ref,
    tx.list('service').filter((s) => s.ID.startsWith(ref)),
  );
}

export function resolveTask(tx: ReadTx, ref: string): Task {
  const byId = tx.get('task', ref);
  if (byId) return byId;
  return pick(
    'task',
    ref,
    tx.list('task').filter((t) => t.ID.startsWith(ref)),
  );
}
