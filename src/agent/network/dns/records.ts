// What the embedded DNS knows, and the rules by which a task's query is answered (libnetwork's
// Sandbox.ResolveName / Network.ResolveName / ResolveIP, with swarm's service records):
//
// - on each network, for every task that serves (observed RUNNING, not being stopped) with an address on it:
//   `<service>` (with `dnsrr`: the task addresses), `tasks.<service>`, each of its network aliases and
//   `tasks.<alias>`, and its task name (`<service>.<slot>.<task ID>`);
// - a service with a virtual IP on the network (endpoint mode `vip`) answers `<service>` and its aliases with
//   the VIP only, whether or not a task serves (libnetwork's service records); `tasks.*` stay the tasks';
// - a task sees only the networks it is on itself: a name is looked up in each of them in turn, first match
//   wins; `name.<network>` looks `name` up in that network only (libnetwork's split of `a.b.c` into `a.b`
//   in `c` and `a` in `b.c`);
// - names are case-insensitive, a trailing dot ignored;
// - an IPv6 query for a name that exists is answered with no records (NOERROR), never forwarded;
// - reverse lookups of a task's address on a shared network answer `<task name>.<network name>`.

import type { NetworkViewState } from '../../../api/network-view.js';
import type { OverlayTask, OverlayVip } from '../../../api/networks.js';

/** The records of one network: lower-cased name → addresses, and address → task name. */
export interface NetworkRecords {
  readonly networkId: string;
  readonly networkName: string;
  readonly names: ReadonlyMap<string, readonly string[]>;
  readonly reverse: ReadonlyMap<string, string>;
}

const addressOf = (cidr: string): string => cidr.split('/')[0]!;

/** The records of one network from its endpoints (the tasks of the view). */
export function buildRecords(
  networkId: string,
  networkName: string,
  endpoints: Iterable<OverlayTask>,
  vips: readonly OverlayVip[] = [],
): NetworkRecords {
  const names = new Map<string, string[]>();
  const reverse = new Map<string, string>();
  const add = (name: string, ip: string) => {
    if (!name) return;
    const key = name.toLowerCase();
    const list = names.get(key);
    if (!list) names.set(key, [ip]);
    else if (!list.includes(ip)) list.push(ip);
  };
  const withVip = new Set<string>();
  for (const vip of vips) {
    withVip.add(vip.serviceId);
    const ip = addressOf(vip.address);
    add(vip.serviceName, ip);
    for (const alias of vip.aliases) add(alias, ip);
  }
  for (const endpoint of endpoints) {
    if (!endpoint.serving) continue;
    const ip = endpoint.addresses[0] ? addressOf(endpoint.addresses[0]) : undefined;
    if (!ip) continue;
    const balanced = withVip.has(endpoint.serviceId);
    if (endpoint.serviceName) {
      if (!balanced) add(endpoint.serviceName, ip);
      add(`tasks.${endpoint.serviceName}`, ip);
    }
    for (const alias of endpoint.aliases) {
      if (!balanced) add(alias, ip);
      add(`tasks.${alias}`, ip);
    }
    add(endpoint.taskName, ip);
    reverse.set(ip, endpoint.taskName);
  }
  return { networkId, networkName, names, reverse };
}

/** The records of every network of a view. */
export function recordsOfView(view: NetworkViewState): Map<string, NetworkRecords> {
  const records = new Map<string, NetworkRecords>();
  for (const [id, network] of view.networks) {
    records.set(id, buildRecords(id, network.info.name, network.endpoints.values(), network.info.vips));
  }
  return records;
}

export interface NameAnswer {
  /** The addresses, in record order (the server shuffles them). */
  readonly addresses: readonly string[];
  /** The name exists in a network the task shares: never forward it, even with no address of the type. */
  readonly known: boolean;
}

/**
 * Resolves `query` for a task on `networks` (its networks' records, in the order it is attached to them).
 * IPv4 only: shoal's networks have no IPv6 addresses, so an AAAA query gets `known` with no addresses.
 */
export function resolveName(query: string, networks: readonly NetworkRecords[]): NameAnswer {
  const name = query.replace(/\.$/, '').toLowerCase();
  const candidates: { name: string; network: string }[] = [{ name, network: '' }];
  for (let i = name.lastIndexOf('.'); i > 0; i = name.lastIndexOf('.', i - 1)) {
    candidates.push({ name: name.slice(0, i), network: name.slice(i + 1) });
  }
  for (const candidate of candidates) {
    for (const network of networks) {
      if (candidate.network && candidate.network !== network.networkName.toLowerCase()) continue;
      const addresses = network.names.get(candidate.name);
      if (addresses && addresses.length > 0) return { addresses, known: true };
    }
  }
  return { addresses: [], known: false };
}

/** `5.1.0.10.in-addr.arpa` → `10.0.1.5`; undefined for anything else. */
export function reverseAddress(query: string): string | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(query);
  if (!match) return undefined;
  const bytes = match.slice(1, 5).reverse();
  if (bytes.some((b) => Number(b) > 255 || (b.length > 1 && b.startsWith('0')))) return undefined;
  return bytes.join('.');
}

/** The PTR of a task address on a network the asking task shares: `<task name>.<network name>`. */
export function resolveReverse(query: string, networks: readonly NetworkRecords[]): string | undefined {
  const ip = reverseAddress(query);
  if (!ip) return undefined;
  for (const network of networks) {
    const name = network.reverse.get(ip);
    if (name) return `${name}.${network.networkName}`;
  }
  return undefined;
}
