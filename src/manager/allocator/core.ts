// The allocator's pure core: given a view of the store and the address book, what to write so that
//   - every new task gets an address on each of its networks (the service's `--network`s, and the ingress
//     network when it publishes ports in ingress mode) and then moves from NEW to PENDING — at once when it
//     has no network at all, as swarmkit's allocator votes for such tasks right away;
//   - every node has its own address on each network one of its tasks (not done yet) is on, and on the
//     ingress network, and none on any other (swarmkit's node "network attachments");
//   - every service in endpoint mode `vip` (the default) has one virtual IP on each of its networks (and on
//     the ingress network when it publishes in ingress mode), and none on any other; in `dnsrr` mode none
//     (swarmkit's allocateService);
//   - a network stored without its allocation (none is, since the control API allocates networks when it
//     creates them; this covers stores written otherwise) gets its subnets and VXLAN IDs.
// Addresses are taken from the book as they are planned, so two tasks of one pass never get the same
// one; each action lists what it took, so that the loop can give it back if the write does not happen.
// Nothing is released here: releases come from the store (the book follows every committed change).

import { rank } from '../../api/taskstate.js';
import { isAllocated, isIngressNetwork } from '../../api/networks.js';
import type {
  Network,
  NetworkAttachment,
  NetworkAttachmentConfig,
  Node,
  Service,
  Task,
} from '../../api/types.js';
import type { ReadTx } from '../../store/objects.js';
import { nodeHolder, serviceHolder, taskHolder, type AddressBook } from './address-book.js';

/** swarmkit's allocatedStatusMessage: the message of a task that moved to PENDING. */
export const PENDING_MESSAGE = 'pending task scheduling';

/** What the core reads: the store's objects (a read transaction, or plain arrays in tests). */
export interface AllocationView {
  network(id: string): Network | undefined;
  networks(): readonly Network[];
  service(id: string): Service | undefined;
  services(): readonly Service[];
  task(id: string): Task | undefined;
  tasks(): readonly Task[];
  node(id: string): Node | undefined;
  nodes(): readonly Node[];
  tasksOnNode(nodeId: string): readonly Task[];
}

export function viewOfReadTx(tx: ReadTx): AllocationView {
  return {
    network: (id) => tx.get('network', id),
    networks: () => tx.list('network'),
    service: (id) => tx.get('service', id),
    services: () => tx.list('service'),
    task: (id) => tx.get('task', id),
    tasks: () => tx.list('task'),
    node: (id) => tx.get('node', id),
    nodes: () => tx.list('node'),
    tasksOnNode: (nodeId) => tx.tasksByNode(nodeId),
  };
}

/** An address taken for a planned write: given back if the write does not happen. */
export type Reservation = readonly [networkId: string, address: string, holder: string];

export type AllocatorAction =
  | {
      readonly kind: 'allocateTask';
      readonly taskId: string;
      /** The task's attachments (none for a task without networks): written with the move to PENDING. */
      readonly attachments: readonly NetworkAttachment[];
      readonly timestamp: string;
      readonly reserved: readonly Reservation[];
    }
  | {
      /** The task cannot get its addresses: it stays NEW and says why (`docker service ps` shows it). */
      readonly kind: 'failTaskAllocation';
      readonly taskId: string;
      readonly err: string;
      readonly reserved: readonly Reservation[];
    }
  | {
      readonly kind: 'setNodeAttachments';
      readonly nodeId: string;
      readonly attachments: readonly NetworkAttachment[];
      readonly reserved: readonly Reservation[];
    }
  | {
      /** The service's virtual IPs as they should be (`Endpoint.VirtualIPs`; none in `dnsrr` mode). */
      readonly kind: 'setServiceVirtualIPs';
      readonly serviceId: string;
      readonly virtualIPs: readonly { readonly NetworkID: string; readonly Addr: string }[];
      readonly reserved: readonly Reservation[];
    }
  | {
      readonly kind: 'allocateNetwork';
      readonly network: Network;
      readonly reserved: readonly Reservation[];
    };

/** swarmkit's IsIngressNetworkNeeded: a port published in ingress mode (the default mode). */
export function needsIngress(service: Pick<Service, 'Spec'> | undefined): boolean {
  return (service?.Spec.EndpointSpec?.Ports ?? []).some((p) => (p.PublishMode ?? 'ingress') === 'ingress');
}

/**
 * The networks a task attaches to: its spec's, else (a spec that still uses the deprecated field) the
 * service's `Networks` — swarmkit's preference.
 */
export function networkConfigs(
  task: Pick<Task, 'Spec'>,
  service: Pick<Service, 'Spec'> | undefined,
): readonly NetworkAttachmentConfig[] {
  const own = task.Spec.Networks ?? [];
  return own.length > 0 ? own : (service?.Spec.Networks ?? []);
}

/** Whether a task has anything to allocate before it may be scheduled. */
export function needsAllocation(
  task: Pick<Task, 'Spec'>,
  service: Pick<Service, 'Spec'> | undefined,
): boolean {
  return networkConfigs(task, service).length > 0 || needsIngress(service);
}

/** A new task the allocator should look at: NEW, and still meant to run or complete. */
export function awaitsAllocation(task: Pick<Task, 'Status' | 'DesiredState'>): boolean {
  return task.Status.State === 'new' && rank(task.DesiredState) <= rank('complete');
}

/** The ingress network, when there is one. */
export function ingressNetwork(view: AllocationView): Network | undefined {
  return view.networks().find(isIngressNetwork);
}

/**
 * The action for one task awaiting allocation: its attachments and the move to PENDING, a refusal to
 * record, or undefined when it must wait (a network of it is not allocated yet).
 */
export function planTask(
  view: AllocationView,
  book: AddressBook,
  task: Task,
  timestamp: string,
): AllocatorAction | undefined {
  if (!awaitsAllocation(task)) return undefined;
  const service = view.service(task.ServiceID);
  const wanted: { network: Network; config?: NetworkAttachmentConfig }[] = [];
  const ingress = needsIngress(service) ? ingressNetwork(view) : undefined;
  if (ingress) wanted.push({ network: ingress });
  for (const config of networkConfigs(task, service)) {
    const network = view.network(config.Target);
    if (!network) {
      return {
        kind: 'failTaskAllocation',
        taskId: task.ID,
        err: `network ${config.Target} not found`,
        reserved: [],
      };
    }
    if (!wanted.some((w) => w.network.ID === network.ID)) wanted.push({ network, config });
  }
  // Wait for the networks' own allocation (the book tracks allocated networks only).
  if (wanted.some(({ network }) => !isAllocated(network) || !book.has(network.ID))) return undefined;

  const holder = taskHolder(task.ID);
  const reserved: Reservation[] = [];
  const attachments: NetworkAttachment[] = [];
  for (const { network, config } of wanted) {
    const address = book.take(network.ID, holder);
    if (address === undefined) {
      for (const [networkId, taken] of reserved) book.release(networkId, taken, holder);
      return {
        kind: 'failTaskAllocation',
        taskId: task.ID,
        err: `failed to allocate network IP for task ${task.ID} network ${network.ID}: could not find an available IP`,
        reserved: [],
      };
    }
    reserved.push([network.ID, address, holder]);
    const attachment: NetworkAttachment = { Network: network, Addresses: [address] };
    if (config?.Aliases?.length) attachment.Aliases = [...config.Aliases];
    if (config?.DriverOpts && Object.keys(config.DriverOpts).length > 0) {
      attachment.DriverAttachmentOpts = { ...config.DriverOpts };
    }
    attachments.push(attachment);
  }
  return { kind: 'allocateTask', taskId: task.ID, attachments, timestamp, reserved };
}

/** The networks a node must have an address on: the ingress network, and those of its tasks not done yet. */
export function nodeNetworks(view: AllocationView, nodeId: string): Map<string, Network> {
  const wanted = new Map<string, Network>();
  const ingress = ingressNetwork(view);
  if (ingress && isAllocated(ingress)) wanted.set(ingress.ID, ingress);
  for (const task of view.tasksOnNode(nodeId)) {
    if (rank(task.Status.State) > rank('running')) continue;
    for (const attachment of task.NetworksAttachments ?? []) {
      const network = view.network(attachment.Network.ID);
      if (network && isAllocated(network) && !wanted.has(network.ID)) wanted.set(network.ID, network);
    }
  }
  return wanted;
}

/**
 * The node's attachments as they should be, or undefined when they already are. `missing` lists the
 * networks no address was left on (the node is retried when one is freed).
 */
export function planNode(
  view: AllocationView,
  book: AddressBook,
  nodeId: string,
  missing: string[] = [],
): AllocatorAction | undefined {
  const node = view.node(nodeId);
  if (!node) return undefined;
  const wanted = nodeNetworks(view, nodeId);
  const holder = nodeHolder(nodeId);
  const current = node.Attachments ?? [];
  const next: NetworkAttachment[] = [];
  let changed = false;
  for (const attachment of current) {
    const id = attachment.Network?.ID;
    if (id && wanted.has(id) && book.has(id) && (attachment.Addresses?.length ?? 0) > 0) {
      next.push(attachment);
    } else {
      changed = true;
    }
  }
  const reserved: Reservation[] = [];
  for (const [id, network] of wanted) {
    if (next.some((a) => a.Network.ID === id)) continue;
    const address = book.take(id, holder);
    if (address === undefined) {
      missing.push(id);
      continue;
    }
    reserved.push([id, address, holder]);
    next.push({ Network: network, Addresses: [address] });
    changed = true;
  }
  return changed ? { kind: 'setNodeAttachments', nodeId, attachments: next, reserved } : undefined;
}

/** The networks a service's virtual IPs are on: none in `dnsrr` mode, else ingress (if needed) and its own. */
export function serviceVipNetworks(view: AllocationView, service: Service): Network[] {
  if (service.Spec.EndpointSpec?.Mode === 'dnsrr') return [];
  const wanted: Network[] = [];
  const ingress = needsIngress(service) ? ingressNetwork(view) : undefined;
  if (ingress) wanted.push(ingress);
  const configs = service.Spec.TaskTemplate?.Networks?.length
    ? service.Spec.TaskTemplate.Networks
    : (service.Spec.Networks ?? []);
  for (const config of configs) {
    const network = view.network(config.Target);
    if (network && !wanted.some((n) => n.ID === network.ID)) wanted.push(network);
  }
  return wanted;
}

/**
 * The service's virtual IPs as they should be, or undefined when they already are. Those on networks it
 * keeps stay; `missing` lists the networks on which none was left (or that are not allocated yet).
 */
export function planService(
  view: AllocationView,
  book: AddressBook,
  service: Service,
  missing: string[] = [],
): AllocatorAction | undefined {
  const wanted = serviceVipNetworks(view, service);
  const holder = serviceHolder(service.ID);
  const current = service.Endpoint?.VirtualIPs ?? [];
  const next: { NetworkID: string; Addr: string }[] = [];
  const reserved: Reservation[] = [];
  for (const network of wanted) {
    const kept = current.find((vip) => vip.NetworkID === network.ID && vip.Addr);
    if (kept && book.has(network.ID)) {
      next.push({ NetworkID: kept.NetworkID, Addr: kept.Addr });
      continue;
    }
    if (!isAllocated(network) || !book.has(network.ID)) {
      missing.push(network.ID);
      continue;
    }
    const address = book.take(network.ID, holder);
    if (address === undefined) {
      missing.push(network.ID);
      continue;
    }
    reserved.push([network.ID, address, holder]);
    next.push({ NetworkID: network.ID, Addr: address });
  }
  const same =
    next.length === current.length &&
    next.every((vip, i) => vip.NetworkID === current[i]?.NetworkID && vip.Addr === current[i]?.Addr);
  return same
    ? undefined
    : { kind: 'setServiceVirtualIPs', serviceId: service.ID, virtualIPs: next, reserved };
}
