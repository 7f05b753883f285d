// Which addresses of each allocated network are taken, and by whom: the allocator's in-memory index of
// the store. The store is the truth — a network's gateway, the addresses of tasks that are not done yet
// (their state is RUNNING or earlier), the nodes' network attachments and the services' virtual IPs — and the book is built from it
// when the allocator starts and kept in step with every committed change (applyEvent), so a restarted
// manager hands out exactly what is free. Addresses are given out serially, as swarmkit asks libnetwork's
// IPAM to: after the last one given, wrapping around, so a released address is not reused at once.
//
// An address may be listed under several holders (two writes in flight, or a damaged store); it is free
// only once none holds it, so a release can never free an address that something still uses.

import { rank } from '../../api/taskstate.js';
import {
  formatAddress,
  parseIPv4Address,
  parseIpv4Prefix,
  prefixContains,
  type Ipv4Prefix,
} from '../../api/ip.js';
import { isAllocated } from '../../api/networks.js';
import type { Network, NetworkAttachment, Node, Service, Task } from '../../api/types.js';
import type { ObjectEvent } from '../../store/objects.js';
import { usableSpan } from './networks.js';

export const GATEWAY_HOLDER = 'gateway';
export const taskHolder = (id: string): string => `task/${id}`;
export const nodeHolder = (id: string): string => `node/${id}`;
export const serviceHolder = (id: string): string => `service/${id}`;

interface Pool {
  readonly subnet: Ipv4Prefix;
  readonly first: number;
  readonly last: number;
  /** Where the next serial search starts. */
  cursor: number;
}

class NetworkAddresses {
  readonly pools: Pool[];
  /** Address → its holders. */
  readonly holders = new Map<number, string[]>();

  constructor(network: Network) {
    this.pools = (network.IPAMOptions?.Configs ?? []).flatMap((config) => {
      const subnet = config.Subnet ? parseIpv4Prefix(config.Subnet) : undefined;
      if (!subnet) return [];
      const range = config.Range ? parseIpv4Prefix(config.Range) : undefined;
      const [first, last] = usableSpan(subnet, range);
      return [{ subnet, first, last, cursor: first }];
    });
    for (const config of network.IPAMOptions?.Configs ?? []) {
      const gateway = config.Gateway ? parseIPv4Address(config.Gateway) : undefined;
      if (gateway !== undefined) this.add(gateway, GATEWAY_HOLDER);
    }
  }

  poolOf(address: number): Pool | undefined {
    return this.pools.find((p) => prefixContains(p.subnet, address));
  }

  add(address: number, holder: string): void {
    const holders = this.holders.get(address);
    if (!holders) this.holders.set(address, [holder]);
    else if (!holders.includes(holder)) holders.push(holder);
    const pool = this.poolOf(address);
    // Serial: the search goes on after the newest address taken.
    if (pool && address >= pool.cursor && address <= pool.last) {
      pool.cursor = address + 1 > pool.last ? pool.first : address + 1;
    }
  }

  remove(address: number, holder: string): void {
    const holders = this.holders.get(address);
    if (!holders) return;
    const rest = holders.filter((h) => h !== holder);
    if (rest.length === 0) this.holders.delete(address);
    else this.holders.set(address, rest);
  }

  /** The next free address, serially from each pool's cursor; undefined when every pool is full. */
  take(holder: string): string | undefined {
    for (const pool of this.pools) {
      const count = pool.last - pool.first + 1;
      for (let i = 0; i < count; i++) {
        const address = pool.first + ((pool.cursor - pool.first + i) % count);
        if (this.holders.has(address)) continue;
        this.add(address, holder);
        return formatAddress(address, pool.subnet.prefix);
      }
    }
    return undefined;
  }
}

/** The addresses a task holds: those of its attachments while it is not done (RUNNING or earlier). */
export function taskAddresses(
  task: Pick<Task, 'Status' | 'NetworksAttachments'> | undefined,
): [string, string][] {
  if (!task || rank(task.Status.State) > rank('running')) return [];
  return attachmentAddresses(task.NetworksAttachments);
}

/** The virtual IPs a service holds (`Endpoint.VirtualIPs`). */
export function serviceAddresses(service: Pick<Service, 'Endpoint'> | undefined): [string, string][] {
  return (service?.Endpoint?.VirtualIPs ?? []).map((vip) => [vip.NetworkID, vip.Addr]);
}

/** The addresses of a node's own attachments. */
export function nodeAddresses(node: Pick<Node, 'Attachments'> | undefined): [string, string][] {
  return attachmentAddresses(node?.Attachments);
}

function attachmentAddresses(attachments: readonly NetworkAttachment[] | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const attachment of attachments ?? []) {
    const id = attachment.Network?.ID;
    if (!id) continue;
    for (const address of attachment.Addresses ?? []) out.push([id, address]);
  }
  return out;
}

export class AddressBook {
  private readonly networks = new Map<string, NetworkAddresses>();

  /** The book of the store's state: allocated networks, then what tasks, nodes and services hold. */
  static build(
    networks: readonly Network[],
    tasks: Iterable<Task>,
    nodes: readonly Node[],
    services: readonly Service[] = [],
  ): AddressBook {
    const book = new AddressBook();
    for (const network of networks) book.register(network);
    for (const task of tasks) book.reserveAll(taskAddresses(task), taskHolder(task.ID));
    for (const node of nodes) book.reserveAll(nodeAddresses(node), nodeHolder(node.ID));
    for (const service of services) book.reserveAll(serviceAddresses(service), serviceHolder(service.ID));
    return book;
  }

  /** Starts tracking an allocated network (its gateways taken); one already tracked is kept as it is. */
  register(network: Network): void {
    if (this.networks.has(network.ID) || !isAllocated(network)) return;
    this.networks.set(network.ID, new NetworkAddresses(network));
  }

  unregister(networkId: string): void {
    this.networks.delete(networkId);
  }

  has(networkId: string): boolean {
    return this.networks.has(networkId);
  }

  /** Records that `holder` holds `address` (`10.0.1.3/24`) on the network; ignored for unknown networks. */
  reserve(networkId: string, address: string, holder: string): void {
    const value = parseIPv4Address(address);
    if (value !== undefined) this.networks.get(networkId)?.add(value, holder);
  }

  reserveAll(addresses: readonly [string, string][], holder: string): void {
    for (const [networkId, address] of addresses) this.reserve(networkId, address, holder);
  }

  release(networkId: string, address: string, holder: string): void {
    const value = parseIPv4Address(address);
    if (value !== undefined) this.networks.get(networkId)?.remove(value, holder);
  }

  releaseAll(addresses: readonly [string, string][], holder: string): void {
    for (const [networkId, address] of addresses) this.release(networkId, address, holder);
  }

  /** A free address for `holder` on the network, now taken; undefined when none is left. */
  take(networkId: string, holder: string): string | undefined {
    return this.networks.get(networkId)?.take(holder);
  }

  /** Who holds `address` on the network (for tests and diagnostics). */
  holdersOf(networkId: string, address: string): readonly string[] {
    const value = parseIPv4Address(address);
    return value === undefined ? [] : (this.networks.get(networkId)?.holders.get(value) ?? []);
  }

  /** Every (network, address, holders) entry, sorted: for comparing two books. */
  entries(): string[] {
    const out: string[] = [];
    for (const [id, network] of this.networks) {
      for (const [address, holders] of network.holders) {
        out.push(`${id} ${address} ${[...holders].sort().join(',')}`);
      }
    }
    return out.sort();
  }

  /**
   * Follows one committed change. Returns whether an address was freed (waiting allocations may now
   * succeed). Network changes must be applied before the task and node changes of the same batch.
   */
  applyEvent(event: ObjectEvent): boolean {
    switch (event.kind) {
      case 'network':
        if (event.action === 'delete') {
          const had = this.networks.has(event.object.ID);
          this.unregister(event.object.ID);
          return had;
        }
        this.register(event.object);
        return false;
      case 'task': {
        const before =
          event.action === 'create'
            ? []
            : taskAddresses(event.action === 'update' ? event.old : event.object);
        const after = event.action === 'delete' ? [] : taskAddresses(event.object);
        return this.follow(before, after, taskHolder(event.object.ID));
      }
      case 'node': {
        const before =
          event.action === 'create'
            ? []
            : nodeAddresses(event.action === 'update' ? event.old : event.object);
        const after = event.action === 'delete' ? [] : nodeAddresses(event.object);
        return this.follow(before, after, nodeHolder(event.object.ID));
      }
      case 'service': {
        const before =
          event.action === 'create'
            ? []
            : serviceAddresses(event.action === 'update' ? event.old : event.object);
        const after = event.action === 'delete' ? [] : serviceAddresses(event.object);
        return this.follow(before, after, serviceHolder(event.object.ID));
      }
      default:
        return false;
    }
  }

  private follow(before: [string, string][], after: [string, string][], holder: string): boolean {
    const key = ([n, a]: [string, string]): string => `${n} ${a}`;
    const kept = new Set(after.map(key));
    const gone = before.filter((entry) => !kept.has(key(entry)));
    this.releaseAll(gone, holder);
    this.reserveAll(after, holder);
    return gone.length > 0;
  }
}
