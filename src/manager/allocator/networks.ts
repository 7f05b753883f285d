// A network's own allocation: a subnet per IPAM config (the one given, or the first free one of the swarm's
// address pools), its gateway, and a VXLAN ID per subnet — what swarmkit's cnmallocator does with
// libnetwork's default IPAM driver and overlay ovmanager. Pure: the other networks, the pools and the
// addresses of the hosts are given; the result is the network with `IPAMOptions` and `DriverState`.
//
// Subnets never overlap each other (within the network and across the swarm's networks, allocated or only
// declared), the nodes' addresses, or the manager's own routes. Texts are libnetwork's where it has one.

import { ShoalError, invalidArgument } from '../../api/errors.js';
import {
  formatIPv4,
  formatPrefix,
  parseIPv4,
  parseIpv4Prefix,
  prefixContains,
  prefixEnd,
  prefixesOverlap,
  prefixSize,
  type Ipv4Prefix,
} from '../../api/ip.js';
import {
  DEFAULT_IPAM_DRIVER,
  FIRST_VXLAN_ID,
  MAX_VXLAN_ID,
  OVERLAY_DRIVER,
  VXLAN_ID_LIST_OPTION,
  isAllocated,
  vxlanIds,
} from '../../api/networks.js';
import type { Cluster, Network, SwarmIPAMConfig } from '../../api/types.js';

/** Docker's default address pool for swarm networks (libnetwork ipamutils), in /24s. */
export const DEFAULT_ADDRESS_POOL = '10.0.0.0/8';
export const DEFAULT_SUBNET_SIZE = 24;

/** libnetwork's texts. */
export const POOL_OVERLAP = 'Pool overlaps with other one on this address space';
export const NO_AVAILABLE_POOL =
  'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network';
export const NO_AVAILABLE_IPS = 'No available addresses on this pool';
export const ADDRESS_IN_USE = 'Address already in use';

/** An address or prefix subnets must stay clear of, with what it is (for the refusal). */
export interface HostPrefix {
  readonly prefix: Ipv4Prefix;
  /** `the route 192.168.1.0/24 of this manager (eth0)`, `the address 192.0.2.7 of node vm2`. */
  readonly what: string;
}

export interface NetworkAllocationContext {
  /** Every other network of the swarm, allocated or not. */
  readonly networks: readonly Network[];
  /** The swarm's address pools, in order. */
  readonly pools: readonly Ipv4Prefix[];
  /** The prefix length of a subnet taken from the pools. */
  readonly subnetSize: number;
  /** The nodes' addresses and the manager's routes. */
  readonly host: readonly HostPrefix[];
}

/** The swarm's address pools: `swarm init --default-addr-pool` (Docker's 10.0.0.0/8 when none) and the size. */
export function addressPools(cluster: Pick<Cluster, 'DefaultAddrPool' | 'SubnetSize'> | undefined): {
  pools: Ipv4Prefix[];
  subnetSize: number;
} {
  const texts = cluster?.DefaultAddrPool?.length ? cluster.DefaultAddrPool : [DEFAULT_ADDRESS_POOL];
  const pools = texts.flatMap((text) => {
    const prefix = parseIpv4Prefix(text);
    return prefix ? [prefix] : [];
  });
  // Only a pool given at init carries a size; without one Docker uses /24 whatever was asked.
  const subnetSize = cluster?.DefaultAddrPool?.length ? cluster.SubnetSize || DEFAULT_SUBNET_SIZE : 24;
  return { pools, subnetSize };
}

/** The subnets a network holds or asks for: its allocation, else the subnets of its spec. */
export function networkPrefixes(network: Network): Ipv4Prefix[] {
  const configs = isAllocated(network) ? network.IPAMOptions?.Configs : network.Spec.IPAMOptions?.Configs;
  return (configs ?? []).flatMap((config) => {
    const prefix = config.Subnet ? parseIpv4Prefix(config.Subnet) : undefined;
    return prefix ? [prefix] : [];
  });
}

/** The VXLAN IDs a network holds or asks for (`--opt com.docker.network.driver.overlay.vxlanid_list`). */
function networkVxlanIds(network: Network): number[] {
  if (isAllocated(network)) return vxlanIds(network);
  const asked = network.Spec.DriverConfiguration?.Options?.[VXLAN_ID_LIST_OPTION];
  return asked ? asked.split(',').map(Number) : [];
}

/**
 * The VXLAN IDs given with `--opt com.docker.network.driver.overlay.vxlanid_list`, checked as the overlay
 * driver reads them (`invalid vxlan id value "x" passed`).
 */
export function requestedVxlanIds(options: Readonly<Record<string, string>> | undefined): number[] {
  const list = options?.[VXLAN_ID_LIST_OPTION];
  if (list === undefined) return [];
  return list.split(',').map((text) => {
    const id = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(id)) throw invalidArgument(`invalid vxlan id value "${text}" passed`);
    if (id < 1 || id > MAX_VXLAN_ID) {
      throw invalidArgument(`could not obtain vxlan id: ${id} is not a VXLAN ID (1 to ${MAX_VXLAN_ID})`);
    }
    return id;
  });
}

/** The first address a subnet gives out, and the last: its range, without network and broadcast address. */
export function usableSpan(subnet: Ipv4Prefix, range: Ipv4Prefix | undefined): [number, number] {
  const span = range ?? subnet;
  let first = span.base;
  let last = prefixEnd(span);
  if (first === subnet.base) first++;
  if (last === prefixEnd(subnet)) last--;
  return [first, last];
}

function poolOverlap(detail?: string): ShoalError {
  return new ShoalError('PermissionDenied', detail ? `${POOL_OVERLAP}: ${detail}` : POOL_OVERLAP);
}

/**
 * The network with its allocation: `IPAMOptions` (driver `default`, each subnet with its range and
 * gateway) and `DriverState` (`overlay`, the spec's driver options and the VXLAN ID list). A network already
 * allocated is returned as it is. Throws Docker's errors: an overlapping subnet, exhausted pools, a gateway
 * that is taken, a VXLAN ID in use.
 */
export function allocateNetwork(network: Network, context: NetworkAllocationContext): Network {
  if (isAllocated(network)) return network;
  const others = context.networks.filter((n) => n.ID !== network.ID);
  const taken: Ipv4Prefix[] = others.flatMap(networkPrefixes);
  const specConfigs = network.Spec.IPAMOptions?.Configs ?? [];
  const configs: SwarmIPAMConfig[] = specConfigs.length > 0 ? specConfigs.map((c) => ({ ...c })) : [{}];

  const subnets: Ipv4Prefix[] = [];
  // Given subnets first, so that a pool's subnet never lands on one the network itself asks for.
  for (const config of configs) {
    if (!config.Subnet) continue;
    const subnet = parseIpv4Prefix(config.Subnet);
    if (!subnet) throw invalidArgument(`Invalid subnet ${config.Subnet}`);
    if ([...taken, ...subnets].some((t) => prefixesOverlap(t, subnet))) throw poolOverlap();
    const host = context.host.find((h) => prefixesOverlap(h.prefix, subnet));
    if (host) throw poolOverlap(`${formatPrefix(subnet)} overlaps ${host.what}`);
    subnets.push(subnet);
  }
  const result: SwarmIPAMConfig[] = [];
  for (const config of configs) {
    const subnet = config.Subnet
      ? parseIpv4Prefix(config.Subnet)!
      : choosePoolSubnet(context, [...taken, ...subnets]);
    if (!config.Subnet) subnets.push(subnet);
    const range = config.Range ? parseIpv4Prefix(config.Range) : undefined;
    const out: SwarmIPAMConfig = { Subnet: formatPrefix(subnet) };
    if (config.Range && range) out.Range = formatPrefix(range);
    out.Gateway = gatewayOf(subnet, range, config.Gateway);
    result.push(out);
  }

  const usedVxlan = new Set(others.flatMap(networkVxlanIds));
  const requested = requestedVxlanIds(network.Spec.DriverConfiguration?.Options);
  const ids: number[] = [];
  result.forEach((config, i) => {
    const wanted = requested[i];
    if (wanted !== undefined) {
      if (usedVxlan.has(wanted) || ids.includes(wanted)) {
        throw invalidArgument(
          `could not obtain vxlan id for pool ${config.Subnet}: requested bit is already allocated`,
        );
      }
      ids.push(wanted);
      return;
    }
    let id = FIRST_VXLAN_ID;
    while (usedVxlan.has(id) || ids.includes(id)) id++;
    if (id > MAX_VXLAN_ID) {
      throw invalidArgument(`could not obtain vxlan id for pool ${config.Subnet}: no bit available`);
    }
    ids.push(id);
  });

  const options: Record<string, string> = {};
  for (const [key, value] of Object.entries(network.Spec.DriverConfiguration?.Options ?? {})) {
    if (key !== VXLAN_ID_LIST_OPTION) options[key] = value;
  }
  options[VXLAN_ID_LIST_OPTION] = ids.join(',');
  const ipamDriver = network.Spec.IPAMOptions?.Driver;
  return {
    ...network,
    IPAMOptions: {
      Driver: {
        Name: ipamDriver?.Name || DEFAULT_IPAM_DRIVER,
        ...(ipamDriver?.Options && Object.keys(ipamDriver.Options).length > 0
          ? { Options: { ...ipamDriver.Options } }
          : {}),
      },
      Configs: result,
    },
    DriverState: { Name: OVERLAY_DRIVER, Options: options },
  };
}

/**
 * The first subnet of the pools, in order, that overlaps nothing taken and no host address or route
 * (libnetwork's getPredefinedPool over ipamutils' split of the pools).
 */
function choosePoolSubnet(context: NetworkAllocationContext, taken: readonly Ipv4Prefix[]): Ipv4Prefix {
  const blockers = [...taken, ...context.host.map((h) => h.prefix)];
  for (const pool of context.pools) {
    const size = context.subnetSize;
    if (size < pool.prefix || size > 32) continue;
    const step = 2 ** (32 - size);
    let base = pool.base;
    const end = prefixEnd(pool);
    while (base <= end) {
      const candidate: Ipv4Prefix = { base, prefix: size };
      const blocker = blockers.find((b) => prefixesOverlap(b, candidate));
      if (!blocker) return candidate;
      // Skip past the blocker (aligned to the subnet size): every subnet before its end overlaps it.
      const next = Math.floor((prefixEnd(blocker) + 1 - pool.base) / step) * step + pool.base;
      base = Math.max(base + step, next);
    }
  }
  throw invalidArgument(NO_AVAILABLE_POOL);
}

/** The gateway: the one given (which must be free to take), else the first address the subnet gives out. */
function gatewayOf(subnet: Ipv4Prefix, range: Ipv4Prefix | undefined, given: string | undefined): string {
  const [first, last] = usableSpan(subnet, range);
  if (given) {
    const address = parseIPv4(given);
    if (address === undefined || !prefixContains(subnet, address)) {
      throw invalidArgument(
        `ipam configuration: subnet ${formatPrefix(subnet)} does not contain gateway ${given}`,
      );
    }
    if (prefixSize(subnet) > 2 && (address === subnet.base || address === prefixEnd(subnet))) {
      throw new ShoalError('PermissionDenied', ADDRESS_IN_USE);
    }
    return given;
  }
  if (first > last) throw invalidArgument(NO_AVAILABLE_IPS);
  return formatIPv4(first);
}
