// What subnets must stay clear of on the hosts themselves: every node's address (`Status.Addr`) and the
// routes of the manager that allocates (its main routing table, read from /proc/net/route). A subnet that
// overlapped them would make a host, or a whole network the manager reaches, unreachable from the tasks.

import { readFileSync } from 'node:fs';
import { formatPrefix, parseIPv4, type Ipv4Prefix } from '../../api/ip.js';
import type { Node } from '../../api/types.js';
import type { HostPrefix } from './networks.js';

/** One IPv4 address as a /32. */
const single = (address: number): Ipv4Prefix => ({ base: address, prefix: 32 });

/** The nodes' own addresses. */
export function nodeHostAddresses(nodes: readonly Node[]): HostPrefix[] {
  return nodes.flatMap((node) => {
    const address = parseIPv4(node.Status?.Addr ?? '');
    if (address === undefined) return [];
    const name = node.Description?.Hostname || node.ID;
    return [{ prefix: single(address), what: `the address ${node.Status.Addr} of node ${name}` }];
  });
}

/** `0100000A` (little-endian hex, as /proc/net/route writes addresses) → 10.0.0.1. */
function hexAddress(hex: string): number | undefined {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) return undefined;
  const v = parseInt(hex, 16);
  return (((v & 0xff) << 24) | (((v >>> 8) & 0xff) << 16) | (((v >>> 16) & 0xff) << 8) | (v >>> 24)) >>> 0;
}

/** A netmask's length, or undefined for a mask that is not contiguous. */
function maskLength(mask: number): number | undefined {
  let length = 0;
  while (length < 32 && (mask & (0x80000000 >>> length)) !== 0) length++;
  return (mask << length) >>> 0 === 0 || length === 32 ? length : undefined;
}

/**
 * The routes of /proc/net/route's text (the main table), but the default route: subnets may not overlap
 * the networks this host reaches directly or through a gateway.
 */
export function parseRoutes(text: string): HostPrefix[] {
  const routes: HostPrefix[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const [iface, destination, , , , , , maskHex] = fields;
    const base = hexAddress(destination!);
    const mask = hexAddress(maskHex!);
    if (base === undefined || mask === undefined) continue;
    const prefix = maskLength(mask);
    if (prefix === undefined || prefix === 0) continue;
    const route: Ipv4Prefix = { base: (base & mask) >>> 0, prefix };
    routes.push({ prefix: route, what: `the route ${formatPrefix(route)} of this manager (${iface})` });
  }
  return routes;
}

/** This manager's routes; none when the table cannot be read (not Linux, no /proc). */
export function readHostRoutes(path = '/proc/net/route'): HostPrefix[] {
  try {
    return parseRoutes(readFileSync(path, 'utf8'));
  } catch {
    return [];
  }
}
