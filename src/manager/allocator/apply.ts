// Writing the allocator's actions in a store transaction. Each action re-reads its object and is skipped
// when the store has moved past what it was planned from: a task no longer NEW (or no longer meant to
// run) keeps what it has, a network allocated meanwhile is left alone. Nothing is written for an action
// that changes nothing. The loop gives back the addresses of the skipped actions.

import { jsonEqual } from '../../api/json-equal.js';
import { isAllocated } from '../../api/networks.js';
import type { Endpoint, Node, Task, TaskStatus } from '../../api/types.js';
import type { WriteTx } from '../../store/objects.js';
import { awaitsAllocation, PENDING_MESSAGE, type AllocatorAction } from './core.js';

/** For each action, whether it was written. */
export function applyAllocatorActions(tx: WriteTx, actions: readonly AllocatorAction[]): boolean[] {
  return actions.map((action) => applyOne(tx, action));
}

function applyOne(tx: WriteTx, action: AllocatorAction): boolean {
  switch (action.kind) {
    case 'allocateTask': {
      const task = tx.get('task', action.taskId);
      if (!task || !awaitsAllocation(task) || (task.NetworksAttachments?.length ?? 0) > 0) return false;
      const { Err: _err, ...status } = task.Status;
      const next: Task = {
        ...task,
        Status: { ...status, State: 'pending', Message: PENDING_MESSAGE, Timestamp: action.timestamp },
      };
      if (action.attachments.length > 0) next.NetworksAttachments = [...action.attachments];
      tx.update('task', next);
      return true;
    }
    case 'failTaskAllocation': {
      const task = tx.get('task', action.taskId);
      if (!task || !awaitsAllocation(task) || task.Status.Err === action.err) return false;
      const status: TaskStatus = { ...task.Status, Err: action.err };
      tx.update('task', { ...task, Status: status });
      return true;
    }
    case 'setNodeAttachments': {
      const node = tx.get('node', action.nodeId);
      if (!node || jsonEqual(node.Attachments ?? [], action.attachments)) return false;
      const next: Node = { ...node, Attachments: [...action.attachments] };
      if (action.attachments.length === 0) delete next.Attachments;
      tx.update('node', next);
      return true;
    }
    case 'setServiceVirtualIPs': {
      const service = tx.get('service', action.serviceId);
      if (!service || jsonEqual(service.Endpoint?.VirtualIPs ?? [], action.virtualIPs)) return false;
      const endpoint: Endpoint = { ...service.Endpoint, Spec: service.Endpoint?.Spec ?? {} };
      if (action.virtualIPs.length > 0) endpoint.VirtualIPs = action.virtualIPs.map((vip) => ({ ...vip }));
      else delete endpoint.VirtualIPs;
      tx.update('service', { ...service, Endpoint: endpoint });
      return true;
    }
    case 'allocateNetwork': {
      const network = tx.get('network', action.network.ID);
      if (!network || isAllocated(network)) return false;
      tx.update('network', {
        ...network,
        IPAMOptions: action.network.IPAMOptions!,
        DriverState: action.network.DriverState!,
      });
      return true;
    }
  }
}
