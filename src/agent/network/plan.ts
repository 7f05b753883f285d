// The pure half of the node's data path: how shoal names what it creates in the kernel, what each task's
// interfaces and files hold, and which forwarding entries a network's view asks for. Everything here is a
// function of its arguments; src/agent/network/kernel.ts turns it into commands.
//
// Naming (everything is found again by its name, so a restarted agent knows what is its own):
//   network namespaces (/run/netns)  sh-<scope>-n-<network ID>   one per overlay network with a local task
//                                                                (and the ingress network, while the mesh is)
//                                    sh-<scope>-t-<task ID>      one per task
//                                    sh-<scope>-s-<network ID>   the routing mesh's sandbox, on ingress
//   in a network's namespace         br<i>, vxlan<i>             per subnet i; vt<task ID:12> a task's port,
//                                                                vsbox the sandbox's
//   in a task's namespace            eth<j>                      network j of the task, then the gateway leg
//   in the sandbox's namespace       eth0, eth1                  on ingress; its leg on the gateway bridge
//   in the host's namespace          shgw-<scope>                the gateway bridge (Docker's docker_gwbridge)
//                                    sg<scope:4><task ID:9>      a task's leg on it; sg<scope:4>ingress the
//                                                                sandbox's
//                                    shv<scope><VNI hex>         a VXLAN device, only while it is made
//                                    table ip shoal_<scope>      nftables: masquerade, no forwarding for
//                                                                internal-only tasks
// `<scope>` is 6 hex digits of a hash of the data dir, so daemons with different data dirs on one machine
// (tests) never touch each other's objects.

import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import {
  formatIPv4,
  parseIPv4Address,
  parseIpv4Prefix,
  prefixContains,
  prefixesOverlap,
  type Ipv4Prefix,
} from '../../api/ip.js';
import type { OverlayNetworkInfo } from '../../api/network-view.js';
import {
  isIngressNetwork,
  mtuOf,
  overlaySubnetsOf,
  type OverlayPeer,
  type OverlayTask,
} from '../../api/networks.js';
import type { NetworkAttachment, Task } from '../../api/types.js';

/** Docker's overlay MTU: 1500 less the 50 bytes of VXLAN encapsulation. */
export const DEFAULT_OVERLAY_MTU = 1450;
/** Where a task's queries go; DNAT in the task's namespace sends them to the node's DNS. */
export const EMBEDDED_DNS_ADDRESS = '127.0.0.11';
export const NETNS_DIR = '/run/netns';

const ID = /^[a-z0-9]{1,64}$/;

export function checkId(id: string, what: string): string {
  if (!ID.test(id)) throw new Error(`invalid ${what} ${JSON.stringify(id)}`);
  return id;
}

/**
 * 6 hex digits naming one data dir's objects: of its real path, so that a symlinked or relative data dir
 * finds the namespaces it made on its next run (as the executors' scopes do).
 */
export function scopeOf(dataDir: string): string {
  let real = dataDir;
  try {
    real = realpathSync(dataDir);
  } catch {
    // not there (yet): its path as given
  }
  return createHash('sha256').update(real).digest('hex').slice(0, 6);
}

export class Names {
  constructor(readonly scope: string) {
    if (!/^[0-9a-f]{6}$/.test(scope)) throw new Error(`invalid scope ${scope}`);
  }
  get prefix(): string {
    return `sh-${this.scope}-`;
  }
  networkNs(networkId: string): string {
    return `${this.prefix}n-${checkId(networkId, 'network ID')}`;
  }
  taskNs(taskId: string): string {
    return `${this.prefix}t-${checkId(taskId, 'task ID')}`;
  }
  /** The routing mesh's sandbox (Docker's `ingress_sbox`), named after the ingress network it is on. */
  sandboxNs(networkId: string): string {
    return `${this.prefix}s-${checkId(networkId, 'network ID')}`;
  }
  /** The sandbox's leg on the gateway bridge (no task's: those end in 9 characters of a task ID). */
  get sandboxLeg(): string {
    return `${this.legPrefix}ingress`;
  }
  get gatewayBridge(): string {
    return `shgw-${this.scope}`;
  }
  gatewayLeg(taskId: string): string {
    return `${this.legPrefix}${checkId(taskId, 'task ID').slice(0, 9)}`;
  }
  /** What every gateway leg's name starts with. */
  get legPrefix(): string {
    return `sg${this.scope.slice(0, 4)}`;
  }
  vxlanTemp(vni: number): string {
    return `shv${this.scope}${vni.toString(16).padStart(6, '0')}`;
  }
  get nftTable(): string {
    return `shoal_${this.scope}`;
  }
  /** What a namespace name stands for, if it is one of this scope's. */
  parseNs(name: string): { kind: 'network' | 'task' | 'sandbox'; id: string } | undefined {
    if (!name.startsWith(this.prefix)) return undefined;
    const rest = name.slice(this.prefix.length);
    const kinds = { 'n-': 'network', 't-': 'task', 's-': 'sandbox' } as const;
    const kind = kinds[rest.slice(0, 2) as keyof typeof kinds] as
      (typeof kinds)[keyof typeof kinds] | undefined;
    const id = rest.slice(2);
    return kind && ID.test(id) ? { kind, id } : undefined;
  }
}

/** A task's port on a network's bridge. */
export const taskPort = (taskId: string): string => `vt${checkId(taskId, 'task ID').slice(0, 12)}`;
/** The routing mesh sandbox's port on the ingress network's bridge. */
export const SANDBOX_PORT = 'vsbox';
export const bridgeName = (subnetIndex: number): string => `br${subnetIndex}`;
export const vxlanName = (subnetIndex: number): string => `vxlan${subnetIndex}`;

/** Docker's MAC for an address: 02:42 and the four bytes of the IPv4 address. */
export function macOf(address: string): string {
  const ip = parseIPv4Address(address);
  if (ip === undefined) throw new Error(`not an IPv4 address: ${address}`);
  const bytes = [0x02, 0x42, ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** A network's facts as the node needs them, from a task's attachment (the view may not have it yet). */
export function networkInfoOf(attachment: NetworkAttachment): OverlayNetworkInfo {
  const network = attachment.Network;
  const mtu = mtuOf(network);
  return {
    id: network.ID,
    name: network.Spec.Name,
    internal: network.Spec.Internal ?? false,
    attachable: network.Spec.Attachable ?? false,
    ingress: isIngressNetwork(network),
    ...(mtu !== undefined ? { mtu } : {}),
    subnets: overlaySubnetsOf(network),
    // The services' VIPs come with the node's view.
    vips: [],
  };
}

/** The index of the subnet of `info` that holds `address` (`10.0.1.3/24`). */
export function subnetIndexOf(
  info: Pick<OverlayNetworkInfo, 'subnets'>,
  address: string,
): number | undefined {
  const ip = parseIPv4Address(address);
  if (ip === undefined) return undefined;
  const index = info.subnets.findIndex((s) => {
    const prefix = parseIpv4Prefix(s.subnet);
    return prefix !== undefined && prefixContains(prefix, ip);
  });
  return index < 0 ? undefined : index;
}

// ---------------------------------------------------------------- a task's attachment

export interface InterfacePlan {
  networkId: string;
  /** eth<j> in the task's namespace. */
  name: string;
  subnetIndex: number;
  /** `10.0.1.3/24` */
  address: string;
  mac: string;
  mtu: number;
  /** On the ingress network: reached by the routing mesh only, no names, no VIPs. */
  ingress: boolean;
}

export interface TaskNetworkPlan {
  taskId: string;
  interfaces: InterfacePlan[];
  /** Every network of the task is internal: no default route, no NAT out of the node. */
  internalOnly: boolean;
  hostname: string;
}

/**
 * The task's overlay attachments with an address, in the task's order: ingress first when the service
 * publishes through the routing mesh (as the allocator writes them, and as Docker's eth0).
 */
export function overlayAttachments(task: Task): NetworkAttachment[] {
  return (task.NetworksAttachments ?? []).filter((a) => (a.Addresses?.length ?? 0) > 0);
}

/** The task's hostname: its spec's, else the first 12 characters of its ID (as Docker's container ID). */
export function taskHostname(task: Task): string {
  return task.Spec.ContainerSpec?.Hostname || task.ID.slice(0, 12);
}

export function planTaskNetwork(task: Task, hostname = taskHostname(task)): TaskNetworkPlan {
  const attachments = overlayAttachments(task);
  const interfaces = attachments.map((attachment, j): InterfacePlan => {
    const info = networkInfoOf(attachment);
    const address = attachment.Addresses![0]!;
    const subnetIndex = subnetIndexOf(info, address);
    if (subnetIndex === undefined) {
      throw new Error(`address ${address} of task ${task.ID} is in no subnet of network ${info.name}`);
    }
    return {
      networkId: info.id,
      name: `eth${j}`,
      subnetIndex,
      address,
      mac: macOf(address),
      mtu: info.mtu ?? DEFAULT_OVERLAY_MTU,
      ingress: info.ingress,
    };
  });
  return {
    taskId: checkId(task.ID, 'task ID'),
    interfaces,
    internalOnly: attachments.length > 0 && attachments.every((a) => a.Network.Spec.Internal === true),
    hostname,
  };
}

// ---------------------------------------------------------------- forwarding entries

/** A remote task's address on a network: its MAC is behind that VTEP (FDB), its IP has that MAC (ARP). */
export interface ForwardingEntry {
  subnetIndex: number;
  ip: string;
  mac: string;
  vtep: string;
}

export const entryKey = (e: ForwardingEntry): string => `${e.subnetIndex}/${e.ip}/${e.mac}/${e.vtep}`;

/**
 * The forwarding entries a node needs on a network: one per address of each task placed on another node
 * that is a peer of the network (it has the network, and is not down), towards that node's underlay address.
 * `withPeers` (the ingress network): the peers' own addresses too — the routing mesh's sandboxes, which
 * tasks answer on the network.
 */
export function forwardingEntries(
  selfNodeId: string,
  info: Pick<OverlayNetworkInfo, 'subnets'>,
  peers: Iterable<OverlayPeer>,
  endpoints: Iterable<OverlayTask>,
  withPeers = false,
): ForwardingEntry[] {
  const vteps = new Map<string, string>();
  const remote: { nodeId: string; addresses: readonly string[] }[] = [];
  for (const peer of peers) {
    if (peer.nodeId === selfNodeId || !peer.underlayAddr) continue;
    vteps.set(peer.nodeId, peer.underlayAddr);
    if (withPeers && peer.address) remote.push({ nodeId: peer.nodeId, addresses: [peer.address] });
  }
  for (const endpoint of endpoints) {
    if (endpoint.nodeId && endpoint.nodeId !== selfNodeId) remote.push(endpoint);
  }
  const entries = new Map<string, ForwardingEntry>();
  for (const { nodeId, addresses } of remote) {
    const vtep = vteps.get(nodeId);
    if (!vtep) continue;
    for (const address of addresses) {
      const subnetIndex = subnetIndexOf(info, address);
      if (subnetIndex === undefined) continue;
      const ip = address.split('/')[0]!;
      const entry = { subnetIndex, ip, mac: macOf(ip), vtep };
      entries.set(`${subnetIndex}/${ip}`, entry);
    }
  }
  return [...entries.values()].sort((a, b) => (entryKey(a) < entryKey(b) ? -1 : 1));
}

export interface ForwardingDiff {
  add: ForwardingEntry[];
  remove: ForwardingEntry[];
}

/** What to replace and what to delete to go from `current` to `desired` (keyed by subnet and IP). */
export function diffForwarding(
  current: readonly ForwardingEntry[],
  desired: readonly ForwardingEntry[],
): ForwardingDiff {
  const have = new Map(current.map((e) => [entryKey(e), e]));
  const want = new Map(desired.map((e) => [entryKey(e), e]));
  return {
    add: desired.filter((e) => !have.has(entryKey(e))),
    remove: current.filter((e) => !want.has(entryKey(e))),
  };
}

// ---------------------------------------------------------------- the gateway bridge

/** Docker's candidates for docker_gwbridge, in order: 172.18–31.0.0/16, then 192.168.0–240.0/20. */
export function gatewayCandidates(): Ipv4Prefix[] {
  const out: Ipv4Prefix[] = [];
  for (let b = 18; b <= 31; b++) out.push(parseIpv4Prefix(`172.${b}.0.0/16`)!);
  for (let c = 0; c <= 240; c += 16) out.push(parseIpv4Prefix(`192.168.${c}.0/20`)!);
  return out;
}

/** The first candidate that overlaps none of `taken` (the host's routes, the overlay subnets). */
export function chooseGatewaySubnet(taken: readonly string[]): Ipv4Prefix | undefined {
  const used = taken.flatMap((t) => {
    const p = parseIpv4Prefix(t.includes('/') ? t : `${t}/32`);
    return p ? [p] : [];
  });
  return gatewayCandidates().find((c) => !used.some((u) => prefixesOverlap(c, u)));
}

/** The next free host address of `subnet` after the bridge's own (.1), skipping `used`. */
export function nextGatewayAddress(
  subnet: Ipv4Prefix,
  used: ReadonlySet<string>,
  after?: string,
): string | undefined {
  const size = 2 ** (32 - subnet.prefix);
  const first = subnet.base + 2;
  const last = subnet.base + size - 2;
  const start = after !== undefined ? (parseIPv4Address(after) ?? first - 1) + 1 : first;
  for (let i = 0; i <= last - first; i++) {
    const candidate = first + ((start - first + i + (last - first + 1)) % (last - first + 1));
    const text = formatIPv4(candidate);
    if (!used.has(text)) return text;
  }
  return undefined;
}

// ---------------------------------------------------------------- files

const DEFAULT_HOSTS = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/**
 * The task's /etc/hosts as Docker writes a swarm container's: the defaults, the spec's extra hosts
 * (`IP name [aliases…]`), then the task's own address on its first network with its hostname.
 */
export function hostsFile(plan: TaskNetworkPlan, extraHosts: readonly string[] = []): string {
  const lines = [...DEFAULT_HOSTS];
  for (const entry of extraHosts) {
    const [ip, ...names] = entry.trim().split(/\s+/);
    if (ip && names.length > 0) lines.push(`${ip}\t${names.join(' ')}`);
  }
  // The first network the task asked for; the ingress address only when it is on no other.
  const first = plan.interfaces.find((i) => !i.ingress) ?? plan.interfaces[0];
  if (first) lines.push(`${first.address.split('/')[0]}\t${plan.hostname}`);
  return `${lines.join('\n')}\n`;
}

export interface ResolvConf {
  nameservers: string[];
  search: string[];
  options: string[];
}

/** Reads resolv.conf(5): nameservers (at most 3, as the resolver uses), the last search line, options. */
export function parseResolvConf(text: string): ResolvConf {
  const out: ResolvConf = { nameservers: [], search: [], options: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const [key, ...values] = line.split(/\s+/);
    if (key === 'nameserver' && values[0] && out.nameservers.length < 3) out.nameservers.push(values[0]);
    else if (key === 'search' || key === 'domain') out.search = values;
    else if (key === 'options') out.options.push(...values);
  }
  return out;
}

/**
 * The task's /etc/resolv.conf: the embedded DNS as its only nameserver, the search domains and options of
 * the spec's DNS config if it has them, else the host's, and `ndots:0` unless ndots is set (libnetwork's).
 */
export function resolvConfFile(host: ResolvConf, spec?: { Search?: string[]; Options?: string[] }): string {
  const search = spec?.Search?.length ? spec.Search : host.search;
  const options = spec?.Options?.length ? [...spec.Options] : [...host.options];
  if (!options.some((o) => o.startsWith('ndots:'))) options.unshift('ndots:0');
  const lines: string[] = [];
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  lines.push(`nameserver ${EMBEDDED_DNS_ADDRESS}`);
  lines.push(`options ${options.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
