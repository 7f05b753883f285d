// Which slots a replicated service keeps when it scales down, and which numbers it fills when it scales
// up (swarmkit replicated/slot.go and services.go).

import type { Slot } from '../slots.js';

const LAST = Number.MAX_SAFE_INTEGER;

/**
 * Chooses the `replicas` slots to keep out of the occupied ones:
 * a. slots with a task observed RUNNING first, then by ascending slot number;
 * b. in that order, each slot gets its ordinal among the service's slots on its node (1st, 2nd … copy);
 *    a slot that is unassigned or holds several tasks comes last;
 * c. keep the first `replicas` by ordinal.
 * So the nodes with the most copies lose them first, and non-running and higher slots go before
 * running and lower ones. swarmkit's sorts are not stable (ties have no defined order); these are, which
 * makes the choice deterministic.
 */
export function chooseSlotsToKeep(
  occupied: ReadonlyMap<number, Slot>,
  replicas: number,
): { keep: number[]; remove: number[] } {
  const hasRunning = (slot: Slot): number => (slot.some((task) => task.Status.State === 'running') ? 1 : 0);
  const preferred = [...occupied].sort(
    ([a, slotA], [b, slotB]) => hasRunning(slotB) - hasRunning(slotA) || a - b,
  );

  const copiesOnNode = new Map<string, number>();
  const ranked = preferred.map(([number, slot]) => {
    const nodeId = slot.length === 1 ? slot[0]!.NodeID : undefined;
    if (!nodeId) return { number, ordinal: LAST };
    const ordinal = (copiesOnNode.get(nodeId) ?? 0) + 1;
    copiesOnNode.set(nodeId, ordinal);
    return { number, ordinal };
  });
  ranked.sort((a, b) => a.ordinal - b.ordinal);

  const numbers = ranked.map((r) => r.number);
  return { keep: numbers.slice(0, replicas), remove: numbers.slice(replicas) };
}

/**
 * The `count` lowest slot numbers from `first` that are not occupied (a dead slot's number is free).
 * Replicated services number slots from 1, replicated jobs from 0.
 */
export function lowestFreeSlots(occupied: ReadonlySet<number>, count: number, first = 1): number[] {
  const free: number[] = [];
  for (let number = first; free.length < count; number++) {
    if (!occupied.has(number)) free.push(number);
  }
  return free;
}
