// The impure half of the data path: shell scripts of iproute2 (`ip`, `bridge`) and nftables commands that
// make, change, read and remove the kernel objects src/agent/network/plan.ts names. Node has no netlink
// and no setns, so each operation is one `/bin/sh` running the commands in order (`set -e`: the first that
// fails ends it, and its stderr is the error); a network namespace is entered with `ip -n` or `nsenter
// --net`. Every value put into a script is an ID, name, number or address that was checked first.

import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { formatPrefix, type Ipv4Prefix } from '../../api/ip.js';
import type { OverlayNetworkInfo } from '../../api/network-view.js';
import type { MeshPort } from '../../api/networks.js';
import { SANDBOX_INGRESS_IF, SANDBOX_LEG_IF } from './mesh.js';
import {
  bridgeName,
  DEFAULT_OVERLAY_MTU,
  EMBEDDED_DNS_ADDRESS,
  NETNS_DIR,
  SANDBOX_PORT,
  taskPort,
  vxlanName,
  type ForwardingEntry,
  type Names,
  type TaskNetworkPlan,
} from './plan.js';

const SAFE = /^[A-Za-z0-9_.:/-]+$/;
/** A value for a script: refused unless plain. */
function q(value: string | number): string {
  const text = String(value);
  if (!SAFE.test(text)) throw new Error(`refusing to put ${JSON.stringify(text)} into a command`);
  return text;
}

export interface ScriptResult {
  stdout: string;
}

export class ScriptError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'ScriptError';
  }
}

/** Runs a POSIX shell script; rejects with its stderr when it exits non-zero. */
export function runScript(script: string, input?: string): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `set -e\n${script}`], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString().trim();
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString() });
      else reject(new ScriptError(stderr || `exit status ${code}`, stderr));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** The namespace names under /run/netns that start with `prefix`. */
export async function listNamespaces(prefix: string): Promise<string[]> {
  try {
    return (await readdir(NETNS_DIR)).filter((name) => name.startsWith(prefix)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

// ---------------------------------------------------------------- scripts

/** `ip netns add` unless it exists, loopback up. */
function namespaceScript(ns: string): string[] {
  return [`[ -e ${NETNS_DIR}/${q(ns)} ] || ip netns add ${q(ns)}`, `ip -n ${q(ns)} link set lo up`];
}

export interface VxlanParams {
  vni: number;
  port: number;
  /** The node's underlay address: the source of its VXLAN packets. */
  local: string | undefined;
}

/**
 * A network's namespace with a bridge and a VXLAN device per subnet. The VXLAN device is made in the host's
 * namespace — its UDP socket stays there, on the data path port — and then moved into the network's,
 * where it is a port of the bridge; the bridge holds the subnet's gateway address (as Docker's overlay
 * sandbox). Learning is off and ARP is answered from the neighbour entries shoal writes (`proxy`).
 */
export function networkScript(
  names: Names,
  info: OverlayNetworkInfo,
  port: number,
  local: string | undefined,
): string {
  const ns = names.networkNs(info.id);
  const mtu = info.mtu ?? DEFAULT_OVERLAY_MTU;
  const lines = namespaceScript(ns);
  info.subnets.forEach((subnet, i) => {
    const temp = names.vxlanTemp(subnet.vxlanId);
    const vx = vxlanName(i);
    const br = bridgeName(i);
    const prefix = subnet.subnet.split('/')[1]!;
    lines.push(
      `if ! ip -n ${q(ns)} link show ${vx} >/dev/null 2>&1; then`,
      `  ip link del ${q(temp)} 2>/dev/null || true`,
      `  ip link add name ${q(temp)} type vxlan id ${q(subnet.vxlanId)} dstport ${q(port)}` +
        `${local ? ` local ${q(local)}` : ''} nolearning proxy`,
      `  ip link set ${q(temp)} netns ${q(ns)}`,
      `  ip -n ${q(ns)} link set ${q(temp)} name ${vx}`,
      'fi',
      `ip -n ${q(ns)} link show ${br} >/dev/null 2>&1 || ip -n ${q(ns)} link add name ${br} type bridge`,
      `ip -n ${q(ns)} link set ${vx} master ${br} mtu ${q(mtu)}`,
      `ip -n ${q(ns)} addr replace ${q(subnet.gateway)}/${q(prefix)} dev ${br}`,
      `ip -n ${q(ns)} link set ${br} mtu ${q(mtu)} up`,
      `ip -n ${q(ns)} link set ${vx} up`,
    );
  });
  return lines.join('\n');
}

/** Removes a network's namespace, its devices first (a namespace held open elsewhere keeps no VNI). */
export function removeNetworkScript(names: Names, networkId: string): string {
  const ns = q(names.networkNs(networkId));
  return [
    `if [ -e ${NETNS_DIR}/${ns} ]; then`,
    `  for dev in $(ip -n ${ns} -o link show | sed -n 's/^[0-9]*: \\(vxlan[0-9]*\\|br[0-9]*\\|vt[a-z0-9]*\\)[@:].*/\\1/p'); do`,
    `    ip -n ${ns} link del "$dev" 2>/dev/null || true`,
    '  done',
    // Gone meanwhile (another removal crossing this one) is as good as removed.
    `  ip netns del ${ns} 2>/dev/null || [ ! -e ${NETNS_DIR}/${ns} ]`,
    'fi',
  ].join('\n');
}

export interface GatewayParams {
  subnet: Ipv4Prefix;
  /** The bridge's own address (the tasks' default gateway and where the DNS listens). */
  address: string;
}

/**
 * The host's gateway bridge with its address, and forwarding on (as Docker sets it: the caller notes first
 * whether it was off, for nftScript's guard); `route_localnet` on the bridge, as Docker sets it on
 * docker_gwbridge, lets a connection to `localhost:P` be sent to a host-mode port's task (snat'd on the way,
 * and loopback destinations from outside dropped: nftScript).
 */
export function gatewayScript(names: Names, gateway: GatewayParams): string {
  const br = q(names.gatewayBridge);
  return [
    `ip link show ${br} >/dev/null 2>&1 || ip link add name ${br} type bridge`,
    `ip addr replace ${q(gateway.address)}/${q(gateway.subnet.prefix)} dev ${br}`,
    `ip link set ${br} up`,
    'echo 1 > /proc/sys/net/ipv4/ip_forward',
    `echo 1 > /proc/sys/net/ipv4/conf/${br}/route_localnet`,
  ].join('\n');
}

/** What the host's table holds besides the gateway's own rules. */
export interface HostTableParams {
  /** Gateway-leg addresses of tasks whose networks are all internal: nothing of theirs is forwarded. */
  noEgress?: readonly string[];
  /** Host-mode ports of local tasks. */
  hostPorts?: readonly HostPortRule[];
  /** The routing mesh's ports and where the sandbox is. */
  mesh?: MeshTarget;
  /** Forwarding was off before shoal turned it on (forwarding.ts): keep the host from routing. */
  guardForwarding?: boolean;
}

/**
 * The host's nftables table, replaced whole in one transaction:
 * - tasks' traffic out of the node is masqueraded, except that of tasks whose networks are all internal,
 *   which is not forwarded at all; tasks do not reach each other over the gateway bridge (only through
 *   their overlay networks), and nothing reaches a task's or the sandbox's link from outside unless a
 *   published port sent it there (DNAT);
 * - published ports: what arrives for one of the host's own addresses on the port goes to a task's
 *   gateway-leg address (host mode) or to the mesh sandbox's link (ingress mode), the client's address
 *   untouched; connections the host itself opens to its own addresses too, and to 127.0.0.1 (snat'd to the
 *   gateway address, as a loopback source cannot leave) — not the rest of 127/8 (a local resolver on
 *   127.0.0.53, say), and never the embedded DNS, which tasks reach on the gateway address's port 53;
 * - `route_localnet` is on for the bridge and the sandbox's link, so loopback destinations arriving from
 *   anywhere but `lo` are dropped before anything else (a task must not reach the host's 127.0.0.1 services);
 * - when shoal turned forwarding on, nothing is forwarded unless a bridge or a veth is on one side.
 */
export function nftScript(names: Names, gateway: GatewayParams, params: HostTableParams = {}): string {
  const table = q(names.nftTable);
  const br = q(names.gatewayBridge);
  const leg = q(names.sandboxLeg);
  const gw = q(gateway.address);
  const subnet = q(formatPrefix(gateway.subnet));
  const noEgress = params.noEgress ?? [];
  const elements = noEgress.length > 0 ? ` elements = { ${noEgress.map(q).join(', ')} }` : '';
  const hostPorts = params.hostPorts ?? [];
  const rules: HostPortRule[] = [...hostPorts];
  const taken = new Set(hostPorts.map((p) => `${p.protocol}/${p.published}`));
  for (const port of params.mesh?.ports ?? []) {
    // A host-mode port of a local task wins over the mesh on this node (the control API keeps them apart).
    if (!taken.has(`${port.protocol}/${port.published}`))
      rules.push({
        protocol: port.protocol,
        published: port.published,
        target: port.published,
        address: params.mesh!.address,
      });
  }
  const dnat = rules
    .sort((a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published)
    .map(
      (p) =>
        `    fib daddr type local ${q(p.protocol)} dport ${q(p.published)} dnat to ${q(p.address)}:${q(p.target)}`,
    );
  const notDns = `    ip daddr ${gw} meta l4proto { tcp, udp } th dport 53 return`;
  return [
    `table ip ${table} {}`,
    `delete table ip ${table}`,
    `table ip ${table} {`,
    `  set noegress { type ipv4_addr;${elements} }`,
    '  chain localnet {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    iifname != "lo" ip daddr 127.0.0.0/8 drop',
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr ${subnet} oifname != "${br}" ip saddr != @noegress masquerade`,
    `    ip saddr 127.0.0.0/8 oifname { "${br}", "${leg}" } snat to ${gw}`,
    '  }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy accept;',
    ...(params.guardForwarding ? ['    jump guard'] : []),
    `    iifname "${br}" oifname "${br}" drop`,
    `    iifname "${br}" ip saddr @noegress drop`,
    `    oifname { "${br}", "${leg}" } ct status dnat accept`,
    `    oifname { "${br}", "${leg}" } ct state new drop`,
    '  }',
    // A device without a link kind (a NIC) makes `meta iifkind` fail to match either way: only positive
    // matches return, so such traffic falls through to the drop.
    '  chain guard {',
    '    meta iifkind { "bridge", "veth" } return',
    '    meta oifkind { "bridge", "veth" } return',
    '    drop',
    '  }',
    '  chain hostports {',
    '    type nat hook prerouting priority dstnat; policy accept;',
    notDns,
    ...dnat,
    '  }',
    '  chain hostports_local {',
    '    type nat hook output priority -100; policy accept;',
    notDns,
    '    ip daddr 127.0.0.0/8 ip daddr != 127.0.0.1 return',
    ...dnat,
    '  }',
    '}',
  ].join('\n');
}

/** Where the host sends the routing mesh's ports: the sandbox's end of its link with the host. */
export interface MeshTarget {
  readonly ports: readonly MeshPort[];
  readonly address: string;
}

/** A host-mode published port of a local task: `protocol/published` on the host → `address:target`. */
export interface HostPortRule {
  readonly protocol: 'tcp' | 'udp';
  readonly published: number;
  readonly target: number;
  /** The task's address on the gateway bridge. */
  readonly address: string;
}

export interface AttachParams {
  plan: TaskNetworkPlan;
  gateway: GatewayParams;
  /** The task's address on the gateway bridge. */
  gatewayLegAddress: string;
  /** Adopt this process's network namespace (a sandbox container's) instead of making one. */
  adoptPid?: number;
}

/**
 * A task's namespace: a veth per network from the network's bridge (eth<j>, its address and Docker's MAC for
 * it), a leg on the gateway bridge (the default route, unless every network is internal), and the DNAT that
 * sends 127.0.0.11:53 to the node's DNS on the gateway address (route_localnet lets the loopback-sourced
 * query leave, and the SNAT gives it the task's gateway-leg address, by which the DNS knows the task).
 * Anything left of an earlier attempt is removed first.
 */
export function attachScript(names: Names, params: AttachParams): { script: string; nft: string } {
  const { plan, gateway } = params;
  const tns = q(names.taskNs(plan.taskId));
  const leg = q(names.gatewayLeg(plan.taskId));
  const port = taskPort(plan.taskId);
  const lines: string[] = [
    releaseTaskLines(
      names,
      plan.taskId,
      plan.interfaces.map((i) => i.networkId),
    ),
  ];
  if (params.adoptPid !== undefined) lines.push(`ip netns attach ${tns} ${q(params.adoptPid)}`);
  else lines.push(`ip netns add ${tns}`);
  lines.push(`ip -n ${tns} link set lo up`);
  for (const iface of plan.interfaces) {
    const ns = q(names.networkNs(iface.networkId));
    lines.push(
      `ip -n ${ns} link add name ${port} mtu ${q(iface.mtu)} type veth peer name ${q(iface.name)} mtu ${q(iface.mtu)} netns ${tns}`,
      `ip -n ${ns} link set ${port} master ${bridgeName(iface.subnetIndex)} up`,
      `ip -n ${tns} link set ${q(iface.name)} address ${q(iface.mac)}`,
      `ip -n ${tns} addr add ${q(iface.address)} dev ${q(iface.name)}`,
      `ip -n ${tns} link set ${q(iface.name)} up`,
    );
  }
  const legName = `eth${plan.interfaces.length}`;
  lines.push(
    `ip link add name ${leg} type veth peer name ${legName} netns ${tns}`,
    `ip link set ${leg} master ${q(names.gatewayBridge)} up`,
    `ip link set ${leg} type bridge_slave isolated on`,
    `ip -n ${tns} addr add ${q(params.gatewayLegAddress)}/${q(gateway.subnet.prefix)} dev ${legName}`,
    `ip -n ${tns} link set ${legName} up`,
  );
  if (!plan.internalOnly) lines.push(`ip -n ${tns} route add default via ${q(gateway.address)}`);
  lines.push(
    `nsenter --net=${NETNS_DIR}/${tns} /bin/sh -c 'echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet && nft -f -'`,
  );
  const nft = [
    'table ip shoal {',
    '  chain output {',
    '    type nat hook output priority -100; policy accept;',
    `    ip daddr ${EMBEDDED_DNS_ADDRESS} udp dport 53 dnat to ${q(gateway.address)}:53`,
    `    ip daddr ${EMBEDDED_DNS_ADDRESS} tcp dport 53 dnat to ${q(gateway.address)}:53`,
    '  }',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    ip saddr 127.0.0.0/8 ip daddr ${q(gateway.address)} snat to ${q(params.gatewayLegAddress)}`,
    '  }',
    '}',
  ].join('\n');
  return { script: lines.join('\n'), nft };
}

function releaseTaskLines(names: Names, taskId: string, networkIds: readonly string[]): string {
  const tns = q(names.taskNs(taskId));
  const lines = [`ip link del ${q(names.gatewayLeg(taskId))} 2>/dev/null || true`];
  for (const networkId of networkIds) {
    const ns = q(names.networkNs(networkId));
    lines.push(`[ ! -e ${NETNS_DIR}/${ns} ] || ip -n ${ns} link del ${taskPort(taskId)} 2>/dev/null || true`);
  }
  lines.push(`[ ! -e ${NETNS_DIR}/${tns} ] || ip netns del ${tns}`);
  return lines.join('\n');
}

/** Removes a task's namespace, its veth ends on its networks' bridges and its gateway leg. */
export function releaseTaskScript(names: Names, taskId: string, networkIds: readonly string[]): string {
  return releaseTaskLines(names, taskId, networkIds);
}

export interface SandboxParams {
  /** The ingress network. */
  networkId: string;
  /** The node's own address on it (`10.0.0.3/24`) and the index of its subnet. */
  address: string;
  subnetIndex: number;
  mac: string;
  mtu: number;
  gateway: GatewayParams;
  /** The sandbox's address on its link with the host (one of the gateway subnet, as a /32). */
  legAddress: string;
}

/**
 * The routing mesh's sandbox (Docker's ingress_sbox), made afresh: eth0 a port of the ingress network's
 * bridge with the node's own ingress address (Docker's MAC for it); eth1 a point-to-point link to the host
 * holding an address of the gateway subnet as a /32 (the host routes it there, the sandbox routes everything
 * back through the gateway address) — not a port of the gateway bridge, so that a task reaching a published
 * port through its own node's address is routed from the bridge to the link rather than bridged back
 * between two isolated ports (which br_netfilter would do after the DNAT, and isolation drop) — forwarding
 * on between the two.
 */
export function sandboxScript(names: Names, params: SandboxParams): string {
  const sns = q(names.sandboxNs(params.networkId));
  const nns = q(names.networkNs(params.networkId));
  const leg = q(names.sandboxLeg);
  const gw = q(params.gateway.address);
  return [
    removeSandboxScript(names, params.networkId),
    `ip netns add ${sns}`,
    `ip -n ${sns} link set lo up`,
    `ip -n ${nns} link add name ${SANDBOX_PORT} mtu ${q(params.mtu)} type veth peer name ${SANDBOX_INGRESS_IF} mtu ${q(params.mtu)} netns ${sns}`,
    `ip -n ${nns} link set ${SANDBOX_PORT} master ${bridgeName(params.subnetIndex)} up`,
    `ip -n ${sns} link set ${SANDBOX_INGRESS_IF} address ${q(params.mac)}`,
    `ip -n ${sns} addr add ${q(params.address)} dev ${SANDBOX_INGRESS_IF}`,
    `ip -n ${sns} link set ${SANDBOX_INGRESS_IF} up`,
    `ip link add name ${leg} type veth peer name ${SANDBOX_LEG_IF} netns ${sns}`,
    `echo 1 > /proc/sys/net/ipv4/conf/${leg}/route_localnet`,
    `ip link set ${leg} up`,
    `ip route replace ${q(params.legAddress)}/32 dev ${leg} src ${gw}`,
    `ip -n ${sns} addr add ${q(params.legAddress)}/32 dev ${SANDBOX_LEG_IF}`,
    `ip -n ${sns} link set ${SANDBOX_LEG_IF} up`,
    `ip -n ${sns} route add ${gw}/32 dev ${SANDBOX_LEG_IF}`,
    `ip -n ${sns} route add default via ${gw} dev ${SANDBOX_LEG_IF}`,
    // Each end knows the other's MAC: nothing depends on the host answering ARP for the gateway address on
    // a link that does not hold it (arp_ignore, a hardened host's setting, would stop it).
    `host_mac=$(ip -br link show ${leg} | awk '{print $3}')`,
    `sandbox_mac=$(ip -n ${sns} -br link show ${SANDBOX_LEG_IF} | awk '{print $3}')`,
    `ip -n ${sns} neigh replace ${gw} lladdr "$host_mac" dev ${SANDBOX_LEG_IF} nud permanent`,
    `ip neigh replace ${q(params.legAddress)} lladdr "$sandbox_mac" dev ${leg} nud permanent`,
    `nsenter --net=${NETNS_DIR}/${sns} /bin/sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'`,
  ].join('\n');
}

/** Removes the mesh's sandbox: its leg, its port on the ingress bridge, its namespace. */
export function removeSandboxScript(names: Names, networkId: string): string {
  const sns = q(names.sandboxNs(networkId));
  const nns = q(names.networkNs(networkId));
  return [
    `ip link del ${q(names.sandboxLeg)} 2>/dev/null || true`,
    `[ ! -e ${NETNS_DIR}/${nns} ] || ip -n ${nns} link del ${SANDBOX_PORT} 2>/dev/null || true`,
    `[ ! -e ${NETNS_DIR}/${sns} ] || ip netns del ${sns}`,
  ].join('\n');
}

/** Replaces FDB and neighbour entries (idempotent), then deletes those that went (missing ones ignored). */
export function forwardingScripts(
  names: Names,
  networkId: string,
  add: readonly ForwardingEntry[],
  remove: readonly ForwardingEntry[],
): { script: string; bridgeBatch: string; ipBatch: string; bridgeDeletes: string; ipDeletes: string } {
  const ns = q(names.networkNs(networkId));
  const bridgeBatch = add
    .map((e) => `fdb replace ${q(e.mac)} dev ${vxlanName(e.subnetIndex)} dst ${q(e.vtep)} self permanent`)
    .join('\n');
  const ipBatch = add
    .map((e) => `neigh replace ${q(e.ip)} lladdr ${q(e.mac)} dev ${vxlanName(e.subnetIndex)} nud permanent`)
    .join('\n');
  const bridgeDeletes = remove
    .map((e) => `fdb del ${q(e.mac)} dev ${vxlanName(e.subnetIndex)} self`)
    .join('\n');
  const ipDeletes = remove.map((e) => `neigh del ${q(e.ip)} dev ${vxlanName(e.subnetIndex)}`).join('\n');
  const script = [
    `[ -z "$1" ] || printf '%s\\n' "$1" | bridge -n ${ns} -force -batch - 2>/dev/null || true`,
    `[ -z "$2" ] || printf '%s\\n' "$2" | ip -n ${ns} -force -batch - 2>/dev/null || true`,
    `[ -z "$3" ] || printf '%s\\n' "$3" | bridge -n ${ns} -batch -`,
    `[ -z "$4" ] || printf '%s\\n' "$4" | ip -n ${ns} -batch -`,
  ].join('\n');
  return { script, bridgeBatch, ipBatch, bridgeDeletes, ipDeletes };
}

/** Runs a script with positional arguments ($1…). */
export function runScriptWithArgs(script: string, args: readonly string[]): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', `set -e\n${script}`, 'shoal-net', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString().trim();
      if (code === 0) resolve({ stdout: Buffer.concat(out).toString() });
      else reject(new ScriptError(stderr || `exit status ${code}`, stderr));
    });
  });
}

// ---------------------------------------------------------------- reading the kernel back

export interface ScannedTask {
  taskId: string;
  /** Its address on the gateway bridge, if it has its leg. */
  gatewayLegAddress?: string;
}

export interface ScannedNetwork {
  networkId: string;
  /** The short task IDs (12 characters) with a port on one of its bridges. */
  ports: string[];
  /** The forwarding entries found on its VXLAN devices (FDB joined with neighbours by MAC). */
  entries: ForwardingEntry[];
}

export interface ScannedSandbox {
  /** The ingress network it is on. */
  networkId: string;
  /** Its address on ingress (`10.0.0.3/24`) and on the gateway bridge, if it has them. */
  address?: string;
  legAddress?: string;
}

export interface KernelScan {
  gateway?: GatewayParams;
  tasks: ScannedTask[];
  sandboxes: ScannedSandbox[];
  networks: ScannedNetwork[];
  /** Gateway legs in the host namespace (names). */
  legs: string[];
}

interface IpAddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpLink {
  ifname: string;
}
interface FdbEntry {
  mac: string;
  ifname?: string;
  dev?: string;
  dst?: string;
  flags?: string[];
}
interface NeighEntry {
  dst: string;
  dev?: string;
  lladdr?: string;
}

function parseJson<T>(text: string): T[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  try {
    const value = JSON.parse(trimmed) as unknown;
    return Array.isArray(value) ? (value as T[]) : [];
  } catch {
    return [];
  }
}

/**
 * What of this scope's is in the kernel: the gateway bridge and its subnet, each task namespace with its
 * gateway-leg address, each network namespace with its task ports and forwarding entries, the legs.
 * One shell reads everything, each section behind a marker line.
 */
export async function scanKernel(names: Names): Promise<KernelScan> {
  const namespaces = await listNamespaces(names.prefix);
  const lines = [
    `echo '@@gateway'`,
    `ip -j addr show dev ${q(names.gatewayBridge)} 2>/dev/null || echo '[]'`,
    `echo '@@legs'`,
    `ip -j link show 2>/dev/null || echo '[]'`,
  ];
  for (const ns of namespaces) {
    const parsed = names.parseNs(ns);
    if (!parsed) continue;
    if (parsed.kind === 'task') {
      lines.push(`echo '@@task ${q(parsed.id)}'`, `ip -n ${q(ns)} -j addr show 2>/dev/null || echo '[]'`);
    } else if (parsed.kind === 'sandbox') {
      lines.push(`echo '@@sandbox ${q(parsed.id)}'`, `ip -n ${q(ns)} -j addr show 2>/dev/null || echo '[]'`);
    } else {
      lines.push(
        `echo '@@links ${q(parsed.id)}'`,
        `ip -n ${q(ns)} -j link show 2>/dev/null || echo '[]'`,
        `echo '@@fdb ${q(parsed.id)}'`,
        `bridge -n ${q(ns)} -j fdb show 2>/dev/null || echo '[]'`,
        `echo '@@neigh ${q(parsed.id)}'`,
        `ip -n ${q(ns)} -j neigh show 2>/dev/null || echo '[]'`,
      );
    }
  }
  const { stdout } = await runScript(lines.join('\n'));
  const sections = new Map<string, string>();
  let current = '';
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@@')) {
      current = line.slice(2);
      sections.set(current, '');
    } else if (current) {
      sections.set(current, sections.get(current)! + line + '\n');
    }
  }
  const scan: KernelScan = { tasks: [], sandboxes: [], networks: [], legs: [] };
  const gw = parseJson<IpAddrInfo>(sections.get('gateway') ?? '')[0];
  const gwAddr = gw?.addr_info?.find((a) => a.family === 'inet');
  if (gwAddr) {
    const base = ipToNumber(gwAddr.local) & prefixMask(gwAddr.prefixlen);
    scan.gateway = { subnet: { base: base >>> 0, prefix: gwAddr.prefixlen }, address: gwAddr.local };
  }
  const legPrefix = names.legPrefix;
  scan.legs = parseJson<IpLink>(sections.get('legs') ?? '')
    .map((l) => l.ifname)
    .filter((n) => n.startsWith(legPrefix));
  for (const [key, text] of sections) {
    const [kind, id] = key.split(' ');
    if (!id) continue;
    if (kind === 'task') {
      const addrs = parseJson<IpAddrInfo>(text);
      // The leg is the last ethN; its address is in the gateway subnet.
      let leg: string | undefined;
      for (const link of addrs) {
        for (const a of link.addr_info ?? []) {
          if (a.family !== 'inet' || !scan.gateway) continue;
          if (
            (ipToNumber(a.local) & prefixMask(scan.gateway.subnet.prefix)) >>> 0 ===
            scan.gateway.subnet.base
          )
            leg = a.local;
        }
      }
      scan.tasks.push({ taskId: id, ...(leg ? { gatewayLegAddress: leg } : {}) });
    } else if (kind === 'sandbox') {
      const links = parseJson<IpAddrInfo>(text);
      const inet = (name: string) =>
        links.find((l) => l.ifname === name)?.addr_info?.find((a) => a.family === 'inet');
      const address = inet(SANDBOX_INGRESS_IF);
      const leg = inet(SANDBOX_LEG_IF);
      scan.sandboxes.push({
        networkId: id,
        ...(address ? { address: `${address.local}/${address.prefixlen}` } : {}),
        ...(leg ? { legAddress: leg.local } : {}),
      });
    } else if (kind === 'links') {
      const ports = parseJson<IpLink>(text)
        .map((l) => l.ifname)
        .filter((n) => /^vt[a-z0-9]+$/.test(n))
        .map((n) => n.slice(2));
      const fdb = parseJson<FdbEntry>(sections.get(`fdb ${id}`) ?? '');
      const neigh = parseJson<NeighEntry>(sections.get(`neigh ${id}`) ?? '');
      const entries: ForwardingEntry[] = [];
      for (const n of neigh) {
        const dev = n.dev ?? '';
        const match = /^vxlan(\d+)$/.exec(dev);
        if (!match || !n.lladdr) continue;
        const f = fdb.find((e) => e.mac === n.lladdr && (e.ifname ?? e.dev) === dev && e.dst);
        if (!f?.dst) continue;
        entries.push({ subnetIndex: Number(match[1]), ip: n.dst, mac: n.lladdr, vtep: f.dst });
      }
      scan.networks.push({ networkId: id, ports, entries });
    }
  }
  return scan;
}

function ipToNumber(ip: string): number {
  return ip.split('.').reduce((acc, b) => acc * 256 + Number(b), 0);
}
const prefixMask = (prefix: number): number => (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0);

/** Removes everything of this scope: namespaces (devices first), legs, the gateway bridge, the nft table. */
export async function purgeKernel(names: Names): Promise<void> {
  const namespaces = await listNamespaces(names.prefix);
  const lines: string[] = [];
  for (const ns of namespaces) {
    const parsed = names.parseNs(ns);
    if (parsed?.kind === 'network') lines.push(removeNetworkScript(names, parsed.id));
    else if (parsed?.kind === 'task' || parsed?.kind === 'sandbox')
      lines.push(`ip netns del ${q(ns)} 2>/dev/null || true`);
  }
  const legPrefix = names.legPrefix;
  lines.push(
    `for dev in $(ip -o link show | sed -n 's/^[0-9]*: \\(${legPrefix}[a-z0-9]*\\)[@:].*/\\1/p'); do ip link del "$dev" 2>/dev/null || true; done`,
    `ip link del ${q(names.gatewayBridge)} 2>/dev/null || true`,
    `nft delete table ip ${q(names.nftTable)} 2>/dev/null || true`,
  );
  await runScript(lines.join('\n'));
}
