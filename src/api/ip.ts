// IP addresses and CIDR prefixes as Go's net package reads them (ParseIP, ParseCIDR), for the network
// calls of the control API, the allocator and the CLI's own checks of `docker network create`'s flags.
// IPv4 values are unsigned 32-bit numbers; IPv6 values are bigints (shoal allocates IPv4 only, but must
// recognise IPv6 input to refuse it with the right words).

export interface ParsedIP {
  readonly family: 4 | 6;
  /** The address as an unsigned integer (IPv4: below 2^32). */
  readonly value: bigint;
}

export interface ParsedCIDR {
  readonly family: 4 | 6;
  /** The address as written (`10.0.0.7` of `10.0.0.7/24`). */
  readonly ip: bigint;
  /** The network address (host bits cleared). */
  readonly network: bigint;
  readonly prefix: number;
}

/** An IPv4 prefix: `base` is the network address, `prefix` its length. */
export interface Ipv4Prefix {
  readonly base: number;
  readonly prefix: number;
}

const BITS = { 4: 32, 6: 128 } as const;

/** A dotted quad as Go reads it: four decimal bytes, no leading zeros (since Go 1.17). */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || (part.length > 1 && part.startsWith('0'))) return undefined;
    const byte = Number(part);
    if (byte > 255) return undefined;
    value = value * 256 + byte;
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  if (text.includes('%')) return undefined;
  let head = text;
  let tailV4: number | undefined;
  // An IPv4 address may end the text (`::ffff:1.2.3.4`): it stands for the last two groups.
  const lastColon = text.lastIndexOf(':');
  if (lastColon >= 0 && text.slice(lastColon + 1).includes('.')) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    // Keep a `::` that ends right before the IPv4 part; drop a single separating colon.
    head = text.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const groupsWanted = tailV4 === undefined ? 8 : 6;
  const halves = head.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (s: string): string[] | undefined => {
    if (s === '') return [];
    const groups = s.split(':');
    return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g)) ? groups : undefined;
  };
  let groups: string[];
  if (halves.length === 2) {
    const left = groupsOf(halves[0]!);
    const right = groupsOf(halves[1]!);
    if (!left || !right || left.length + right.length >= groupsWanted) return undefined;
    groups = [...left, ...Array<string>(groupsWanted - left.length - right.length).fill('0'), ...right];
  } else {
    const all = groupsOf(head);
    if (!all || all.length !== groupsWanted) return undefined;
    groups = all;
  }
  let value = 0n;
  for (const group of groups) value = (value << 16n) | BigInt(parseInt(group, 16));
  if (tailV4 !== undefined) value = (value << 32n) | BigInt(tailV4);
  return value;
}

/** net.ParseIP: an IPv4 dotted quad or an IPv6 address (no zone). */
export function parseIP(text: string): ParsedIP | undefined {
  const v4 = parseIPv4(text);
  if (v4 !== undefined) return { family: 4, value: BigInt(v4) };
  if (!text.includes(':')) return undefined;
  const v6 = parseIPv6(text);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

/** net.ParseCIDR: `address/prefix`; undefined where Go answers `invalid CIDR address: …`. */
export function parseCIDR(text: string): ParsedCIDR | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(text.slice(0, slash));
  const mask = text.slice(slash + 1);
  if (!ip || !/^\d+$/.test(mask)) return undefined;
  const prefix = Number(mask);
  const bits = BITS[ip.family];
  if (prefix > bits) return undefined;
  return { family: ip.family, ip: ip.value, network: maskOf(ip.value, prefix, bits), prefix };
}

function maskOf(value: bigint, prefix: number, bits: number): bigint {
  const host = BigInt(bits - prefix);
  return (value >> host) << host;
}

/** Whether `cidr` contains the address `ip` (of the same family). */
export function cidrContains(cidr: ParsedCIDR, ip: ParsedIP): boolean {
  return cidr.family === ip.family && maskOf(ip.value, cidr.prefix, BITS[cidr.family]) === cidr.network;
}

/** The text Go's ParseCIDR error gives: `invalid CIDR address: x`. */
export const invalidCIDRText = (text: string): string => `invalid CIDR address: ${text}`;

// ---------------------------------------------------------------- IPv4 prefixes (what shoal allocates)

export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** An IPv4 CIDR (host bits cleared), or undefined for anything else. */
export function parseIpv4Prefix(text: string): Ipv4Prefix | undefined {
  const cidr = parseCIDR(text);
  if (!cidr || cidr.family !== 4) return undefined;
  return { base: Number(cidr.network), prefix: cidr.prefix };
}

export function formatPrefix(prefix: Ipv4Prefix): string {
  return `${formatIPv4(prefix.base)}/${prefix.prefix}`;
}

/** How many addresses the prefix spans. */
export const prefixSize = (prefix: Ipv4Prefix): number => 2 ** (32 - prefix.prefix);

/** The last address of the prefix. */
export const prefixEnd = (prefix: Ipv4Prefix): number => prefix.base + prefixSize(prefix) - 1;

export function prefixContains(prefix: Ipv4Prefix, address: number): boolean {
  return address >= prefix.base && address <= prefixEnd(prefix);
}

/** Whether two prefixes share an address (one then contains the other). */
export function prefixesOverlap(a: Ipv4Prefix, b: Ipv4Prefix): boolean {
  return a.base <= prefixEnd(b) && b.base <= prefixEnd(a);
}

/** `10.0.1.7/24`: an address with the length of the prefix it belongs to, as tasks' addresses are written. */
export const formatAddress = (address: number, prefix: number): string => `${formatIPv4(address)}/${prefix}`;

/** The address of `10.0.1.7/24` or of `10.0.1.7`, as a number; undefined for anything but IPv4. */
export function parseIPv4Address(text: string): number | undefined {
  const slash = text.indexOf('/');
  return parseIPv4(slash < 0 ? text : text.slice(0, slash));
}
