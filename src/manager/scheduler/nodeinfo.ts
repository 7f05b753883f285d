// The scheduler's working view of one node during a pass: what is left of its resources, which host
// ports are taken, and how many tasks (in total and per service) it runs. Built from the snapshot and
// charged with every decision of the pass, so that later tasks of the same pass see earlier ones.

import type { Node, Task } from '../../api/types.js';
import { isActive } from './candidates.js';
import { hostPortsOf, reservationOf, type HostPortKey } from './demands.js';

export class NodeInfo {
  readonly node: Node;
  /** May go negative when a node reports fewer resources than its tasks already reserve. */
  availableNanoCPUs: number;
  availableMemoryBytes: number;
  private active = 0;
  private readonly activeByService = new Map<string, number>();
  private readonly usedHostPorts = new Set<HostPortKey>();

  constructor(node: Node) {
    this.node = node;
    this.availableNanoCPUs = node.Description?.Resources?.NanoCPUs ?? 0;
    this.availableMemoryBytes = node.Description?.Resources?.MemoryBytes ?? 0;
  }

  get id(): string {
    return this.node.ID;
  }

  /** Tasks on the node whose desired state is at most COMPLETE. */
  get activeTasks(): number {
    return this.active;
  }

  activeTasksOf(serviceId: string): number {
    return this.activeByService.get(serviceId) ?? 0;
  }

  isHostPortUsed(port: HostPortKey): boolean {
    return this.usedHostPorts.has(port);
  }

  /** Charges a task that runs, or has just been placed, on this node. */
  charge(task: Task): void {
    const reservation = reservationOf(task);
    this.availableNanoCPUs -= reservation.nanoCPUs;
    this.availableMemoryBytes -= reservation.memoryBytes;
    for (const port of hostPortsOf(task)) this.usedHostPorts.add(port);
    if (isActive(task)) {
      this.active++;
      this.activeByService.set(task.ServiceID, this.activeTasksOf(task.ServiceID) + 1);
    }
  }
}
