// The routing mesh without IPVS: pure. Docker publishes an ingress-mode port on every node by sending it,
// from the host, to a sandbox namespace on the ingress network (`ingress_sbox`), where IPVS picks a task of
// the service and the source is rewritten to the sandbox's own ingress address, so that the reply comes back
// through it. shoal keeps the shape and does the balancing with nftables:
//
//   host  (table shoal_<scope>)  what arrives for one of the host's own addresses on P → DNAT to the
//                                sandbox's end of its point-to-point link with the host, port P
//                                (kernel.ts nftScript)
//   sandbox (table shoal_mesh)   P → DNAT to `numgen inc mod N map {…}` over the ingress addresses of the
//                                service's serving tasks, port T; masquerade out of eth0 (ingress), so the
//                                task sees the node's ingress address and answers it over the overlay;
//                                nothing else is forwarded between eth0 and eth1
//
// A NAT rule sees the first packet of a connection only (conntrack keeps the choice and un-NATs the replies),
// so balancing is per connection, TCP and UDP alike, and a connection stays on its task when the set
// changes. A port whose service has no serving task has no rule: the sandbox itself refuses it (TCP reset,
// ICMP port unreachable), at once rather than after a timeout. A task on another node is a backend only once
// this node has its forwarding entry (else the first packets of a connection would go nowhere).

import type { MeshPort, OverlayTask, OverlayVip } from '../../api/networks.js';

/** The nftables table of the routing mesh, in the sandbox's namespace. */
export const MESH_TABLE = 'shoal_mesh';
/** The sandbox's interface on the ingress network; eth1 is its point-to-point link with the host. */
export const SANDBOX_INGRESS_IF = 'eth0';
export const SANDBOX_LEG_IF = 'eth1';

/** One published port and the addresses (on ingress) of the tasks it reaches, in task ID order. */
export interface MeshRule extends MeshPort {
  readonly serviceName: string;
  readonly backends: readonly string[];
}

const addressOf = (cidr: string): string => cidr.split('/')[0]!;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/**
 * The mesh's rules from the ingress network of the node's view: per port a service publishes, its serving
 * tasks' addresses. Two services claiming one port (the control API refuses it) resolve to the first in
 * service ID order, as the view lists them.
 */
export function meshRules(
  ingress: { readonly vips: readonly OverlayVip[]; readonly tasks: Iterable<OverlayTask> },
  reachable: (task: OverlayTask) => boolean = () => true,
): MeshRule[] {
  const tasks = [...ingress.tasks].sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0));
  const rules = new Map<string, MeshRule>();
  for (const vip of ingress.vips) {
    if (!vip.ports?.length) continue;
    const backends = [
      ...new Set(
        tasks
          .filter((t) => t.serviceId === vip.serviceId && t.serving && t.addresses[0] && reachable(t))
          .map((t) => addressOf(t.addresses[0]!))
          .filter((ip) => IPV4.test(ip)),
      ),
    ];
    for (const port of vip.ports) {
      if (port.protocol !== 'tcp' && port.protocol !== 'udp') continue;
      const key = `${port.protocol}/${port.published}`;
      if (rules.has(key)) continue;
      rules.set(key, { ...port, serviceName: vip.serviceName, backends });
    }
  }
  return [...rules.values()].sort(
    (a, b) => a.protocol.localeCompare(b.protocol) || a.published - b.published,
  );
}

/** The ports the host sends to the sandbox: every published port, whether or not a task serves it now. */
export function meshPorts(rules: readonly MeshRule[]): MeshPort[] {
  return rules.map(({ protocol, published, target }) => ({ protocol, published, target }));
}

const PORT = (n: number): string => {
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new Error(`invalid port ${n}`);
  return String(n);
};

/**
 * The nft script of the sandbox's namespace: the table created (so that deleting it cannot fail), deleted
 * and defined again, in one transaction.
 */
export function meshScript(rules: readonly MeshRule[]): string {
  const lines = [`table ip ${MESH_TABLE} {}`, `delete table ip ${MESH_TABLE}`, `table ip ${MESH_TABLE} {`];
  lines.push('  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;');
  for (const rule of rules) {
    const backends = rule.backends.filter((ip) => IPV4.test(ip));
    if (backends.length === 0) continue;
    const match = `iifname "${SANDBOX_LEG_IF}" ${rule.protocol} dport ${PORT(rule.published)}`;
    if (backends.length === 1) lines.push(`    ${match} dnat to ${backends[0]}:${PORT(rule.target)}`);
    else {
      const map = backends.map((ip, i) => `${i} : ${ip}`).join(', ');
      lines.push(
        `    ${match} dnat to numgen inc mod ${backends.length} map { ${map} } : ${PORT(rule.target)}`,
      );
    }
  }
  lines.push('  }');
  lines.push('  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;');
  lines.push(`    oifname "${SANDBOX_INGRESS_IF}" masquerade`);
  lines.push('  }');
  // The sandbox routes published ports to tasks and their replies back, nothing else: a task on ingress
  // cannot use it as a router into the host.
  lines.push('  chain forward {', '    type filter hook forward priority filter; policy drop;');
  lines.push('    ct state established,related accept', '    ct status dnat accept');
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}
