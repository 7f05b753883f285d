// Which store changes wake the orchestrators, and what they put in scope for the next pass.

import type { Node } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';
import { jsonEqualIgnoringEmpty } from '../../api/json-equal.js';

/** Scope collected between passes (mutable: only the loop holds one). */
export interface PendingScope {
  readonly services: Set<string>;
  readonly nodes: Set<string>;
  /** Reconcile everything (start, cluster settings that affect every service). */
  everything: boolean;
}

export const emptyScope = (): PendingScope => ({ services: new Set(), nodes: new Set(), everything: false });

/** Adds what the event touches to `scope`; returns whether it matters to the orchestrators at all. */
export function noteEvent(scope: PendingScope, event: ObjectEvent): boolean {
  switch (event.kind) {
    case 'service':
      scope.services.add(event.object.ID);
      return true;
    case 'task':
      scope.services.add(event.object.ServiceID);
      if (event.action === 'update' && event.old.ServiceID !== event.object.ServiceID) {
        scope.services.add(event.old.ServiceID);
      }
      return true;
    case 'node':
      // Heartbeat bookkeeping and the like do not matter; availability, state, labels, role and
      // resources do.
      if (event.action === 'update' && !nodeChangeMatters(event.old, event.object)) return false;
      scope.nodes.add(event.object.ID);
      return true;
    case 'cluster':
      // Only the retention limit changes what existing tasks need; the default log driver applies to
      // tasks created later.
      if (
        event.action === 'update' &&
        jsonEqualIgnoringEmpty(event.old.Spec.Orchestration, event.object.Spec.Orchestration)
      ) {
        return false;
      }
      scope.everything = true;
      return true;
    case 'network':
    case 'secret':
    case 'config':
      return false;
  }
}

function nodeChangeMatters(old: Node, node: Node): boolean {
  return (
    old.Status.State !== node.Status.State ||
    old.Status.Addr !== node.Status.Addr ||
    old.Role !== node.Role ||
    !jsonEqualIgnoringEmpty(old.Spec, node.Spec) ||
    !jsonEqualIgnoringEmpty(old.Description, node.Description)
  );
}
