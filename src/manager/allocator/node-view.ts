// What each node needs to know of the overlay networks it takes part in (src/api/networks.ts
// NodeNetworkView), computed from the store: the networks it has an address on (its attachments, which the
// allocator keeps to the networks of its tasks and the ingress network), each with its subnets, gateways
// and VXLAN IDs, the other nodes that have it (where to tunnel to) and the tasks with an address on it
// (forwarding entries, DNS), and the services' virtual IPs — on the ingress network with the ports each
// publishes through the routing mesh. The manager pushes this to the nodes; one scan of the tasks serves every node.

import {
  DEFAULT_DATA_PATH_PORT,
  isIngressNetwork,
  mtuOf,
  overlaySubnetsOf,
  type NodeNetworkView,
  type OverlayNetwork,
  type OverlayPeer,
  type OverlayTask,
  type OverlayVip,
} from '../../api/networks.js';
import { meshPortsOf } from '../../api/host-ports.js';
import { rank } from '../../api/taskstate.js';
import type { Network, Node, Service, Task } from '../../api/types.js';
import { taskName } from '../controlapi/tasks.js';

export interface NodeViewSource {
  network(id: string): Network | undefined;
  nodes(): readonly Node[];
  tasks(): readonly Task[];
  /** The services (their virtual IPs); none when not given. */
  services?(): readonly Service[];
  /** The swarm's VXLAN port (the cluster's `DataPathPort`); Docker's 4789 when not given. */
  dataPathPort?: number;
}

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T): number =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/**
 * The views of the given nodes (every node when none is named). A network appears in a node's view when
 * the node has an attachment to it; its tasks are those whose state is RUNNING or earlier, with an address
 * on it. A node that is down is nobody's peer and its tasks are in no view (they keep their addresses
 * until they are replaced, but nothing reaches them): forwarding entries and DNS drop them within a
 * heartbeat expiry, and take them back when the node is up again.
 */
export function nodeNetworkViews(
  source: NodeViewSource,
  nodeIds?: readonly string[],
): Map<string, NodeNetworkView> {
  const nodes = source.nodes();
  const down = new Set(nodes.filter((node) => node.Status?.State === 'down').map((node) => node.ID));
  const peers = new Map<string, OverlayPeer[]>();
  for (const node of nodes) {
    if (down.has(node.ID)) continue;
    for (const attachment of node.Attachments ?? []) {
      const address = attachment.Addresses?.[0];
      if (!address) continue;
      const list = peers.get(attachment.Network.ID) ?? [];
      const underlayAddr = node.DataPathAddr || node.Status?.Addr || '';
      list.push({ nodeId: node.ID, underlayAddr, address });
      peers.set(attachment.Network.ID, list);
    }
  }
  const tasks = new Map<string, OverlayTask[]>();
  for (const task of source.tasks()) {
    if (rank(task.Status.State) > rank('running')) continue;
    if (task.NodeID && down.has(task.NodeID)) continue;
    const serving = task.Status.State === 'running' && rank(task.DesiredState) <= rank('running');
    for (const attachment of task.NetworksAttachments ?? []) {
      if (!attachment.Addresses?.length) continue;
      const list = tasks.get(attachment.Network.ID) ?? [];
      list.push({
        taskId: task.ID,
        taskName: taskName(task),
        serviceId: task.ServiceID,
        serviceName: task.ServiceAnnotations?.Name ?? '',
        nodeId: task.NodeID ?? '',
        serving,
        addresses: [...attachment.Addresses],
        aliases: [...(attachment.Aliases ?? [])],
      });
      tasks.set(attachment.Network.ID, list);
    }
  }
  const vips = new Map<string, OverlayVip[]>();
  for (const service of source.services?.() ?? []) {
    if (service.Spec.EndpointSpec?.Mode === 'dnsrr') continue;
    const configs = service.Spec.TaskTemplate?.Networks?.length
      ? service.Spec.TaskTemplate.Networks
      : (service.Spec.Networks ?? []);
    for (const vip of service.Endpoint?.VirtualIPs ?? []) {
      if (!vip.Addr) continue;
      const list = vips.get(vip.NetworkID) ?? [];
      const network = source.network(vip.NetworkID);
      const ports = network && isIngressNetwork(network) ? meshPortsOf(service.Endpoint) : [];
      list.push({
        serviceId: service.ID,
        serviceName: service.Spec.Name ?? '',
        address: vip.Addr,
        aliases: [...(configs.find((c) => c.Target === vip.NetworkID)?.Aliases ?? [])],
        ...(ports.length > 0 ? { ports } : {}),
      });
      vips.set(vip.NetworkID, list);
    }
  }
  const views = new Map<string, NodeNetworkView>();
  const wanted = nodeIds ? new Set(nodeIds) : undefined;
  for (const node of nodes) {
    if (wanted && !wanted.has(node.ID)) continue;
    const networks: OverlayNetwork[] = [];
    for (const attachment of node.Attachments ?? []) {
      const network = source.network(attachment.Network.ID);
      if (!network) continue;
      const mtu = mtuOf(network);
      networks.push({
        id: network.ID,
        name: network.Spec.Name,
        internal: network.Spec.Internal ?? false,
        attachable: network.Spec.Attachable ?? false,
        ingress: isIngressNetwork(network),
        ...(mtu !== undefined ? { mtu } : {}),
        subnets: overlaySubnetsOf(network),
        ...(attachment.Addresses?.[0] ? { address: attachment.Addresses[0] } : {}),
        peers: [...(peers.get(network.ID) ?? [])].sort(byKey((p: OverlayPeer) => p.nodeId)),
        tasks: [...(tasks.get(network.ID) ?? [])].sort(byKey((t: OverlayTask) => t.taskId)),
        vips: [...(vips.get(network.ID) ?? [])].sort(byKey((v: OverlayVip) => v.serviceId)),
      });
    }
    networks.sort(byKey((n: OverlayNetwork) => n.id));
    views.set(node.ID, {
      nodeId: node.ID,
      dataPathPort: source.dataPathPort || DEFAULT_DATA_PATH_PORT,
      networks,
    });
  }
  return views;
}
