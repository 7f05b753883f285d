// Load balancing of service virtual IPs (endpoint mode `vip`), without IPVS: pure. A connection a task opens
// to `VIP:port` is sent, in the task's own namespace, to one serving task of the service: an nftables DNAT
// in the output hook whose target is picked by `numgen inc mod N` from a map of the backends' addresses
// (the port is kept, as IPVS's fwmark services do). NAT rules see only the first packet of a connection
// (conntrack keeps the choice for the rest, and un-NATs the replies), so balancing is per connection — TCP
// and UDP flows alike — and a connection keeps its task when the set changes. A VIP whose service has no
// serving task refuses at once (TCP reset, ICMP port unreachable for the rest) rather than timing out.
//
// Which tasks serve is the view's `serving`: observed RUNNING (for a task with a health check, RUNNING comes
// only once it is healthy) and not being stopped; so tasks starting, unhealthy or shutting down get no new
// connection. The table is `ip shoal_lb` in the task's namespace, replaced whole in one nft transaction.

import type { OverlayTask, OverlayVip } from '../../api/networks.js';

/** The nftables table that holds a task's balancing rules, in the task's namespace. */
export const BALANCE_TABLE = 'shoal_lb';

/** What one network of the view says about balancing: its VIPs and its tasks. */
export interface BalanceNetwork {
  readonly vips: readonly OverlayVip[];
  readonly tasks: Iterable<OverlayTask>;
}

/** One VIP and the addresses of its backends, in task ID order. */
export interface VipBackends {
  readonly vip: string;
  readonly serviceName: string;
  readonly backends: readonly string[];
}

const addressOf = (cidr: string): string => cidr.split('/')[0]!;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The VIPs a task on `networks` reaches, each with its serving tasks' addresses on the VIP's network. */
export function vipBackends(networks: readonly BalanceNetwork[]): VipBackends[] {
  const out: VipBackends[] = [];
  const seen = new Set<string>();
  for (const network of networks) {
    const tasks = [...network.tasks];
    for (const vip of network.vips) {
      const address = addressOf(vip.address);
      if (!IPV4.test(address) || seen.has(address)) continue;
      seen.add(address);
      const backends = tasks
        .filter((t) => t.serviceId === vip.serviceId && t.serving && t.addresses[0])
        .sort((a, b) => (a.taskId < b.taskId ? -1 : a.taskId > b.taskId ? 1 : 0))
        .map((t) => addressOf(t.addresses[0]!))
        .filter((ip) => IPV4.test(ip));
      out.push({ vip: address, serviceName: vip.serviceName, backends: [...new Set(backends)] });
    }
  }
  return out.sort((a, b) => (a.vip < b.vip ? -1 : a.vip > b.vip ? 1 : 0));
}

/**
 * The nft script that makes a task's namespace balance `vips`: the table is created (so that deleting it
 * cannot fail), deleted and defined again, in one transaction. With no VIP the table is simply removed.
 */
export function balanceScript(vips: readonly VipBackends[]): string {
  const lines = [`table ip ${BALANCE_TABLE}`, `delete table ip ${BALANCE_TABLE}`];
  if (vips.length === 0) return lines.join('\n') + '\n';
  const served = vips.filter((v) => v.backends.length > 0);
  const refused = vips.filter((v) => v.backends.length === 0);
  lines.push(`table ip ${BALANCE_TABLE} {`);
  lines.push('  chain output {', '    type nat hook output priority -100; policy accept;');
  for (const { vip, backends } of served) {
    if (backends.length === 1) lines.push(`    ip daddr ${vip} dnat to ${backends[0]}`);
    else {
      const map = backends.map((ip, i) => `${i} : ${ip}`).join(', ');
      lines.push(`    ip daddr ${vip} dnat to numgen inc mod ${backends.length} map { ${map} }`);
    }
  }
  lines.push('  }');
  lines.push('  chain refuse {', '    type filter hook output priority 0; policy accept;');
  if (refused.length > 0) {
    const set = refused.map((v) => v.vip).join(', ');
    lines.push(`    ip daddr { ${set} } meta l4proto tcp reject with tcp reset`);
    lines.push(`    ip daddr { ${set} } reject`);
  }
  lines.push('  }', '}');
  return lines.join('\n') + '\n';
}
