// Networks as the Engine API shows them and as the nodes will use them: the Engine's shapes for
// `/networks` (types.NetworkResource, the create request and answer, the prune report), the options and
// labels swarm networks carry, and the view of the overlay networks one node takes part in — what the data
// path (bridges, VXLAN devices, forwarding entries) and the embedded DNS are built from.

import { formatIPv4, parseIPv4Address, parseIpv4Prefix } from './ip.js';
import type { IPAMConfig, Labels, Network } from './types.js';

export const OVERLAY_DRIVER = 'overlay';
/** The IPAM driver of swarm networks, the only one shoal has. */
export const DEFAULT_IPAM_DRIVER = 'default';
/** The VXLAN IDs of a network's subnets, comma-separated, in `DriverState.Options` (and settable by users). */
export const VXLAN_ID_LIST_OPTION = 'com.docker.network.driver.overlay.vxlanid_list';
/** The MTU of the network's interfaces. */
export const MTU_OPTION = 'com.docker.network.driver.mtu';
/** Docker's option for IPsec between nodes; shoal refuses it (IPsec is not built). */
export const ENCRYPTED_OPTION = 'encrypted';
/** The network swarm init makes for the routing mesh. */
export const INGRESS_NETWORK_NAME = 'ingress';
/** The label that once marked the ingress network (swarmkit still reads it); not for users. */
export const INTERNAL_LABEL = 'com.docker.swarm.internal';
/** The label of swarm's predefined networks; not for users. */
export const PREDEFINED_LABEL = 'com.docker.swarm.predefined';
/** Docker's first automatically assigned VXLAN ID (libnetwork's overlay ovmanager). */
export const FIRST_VXLAN_ID = 4096;
/** The largest VXLAN ID (24 bits). */
export const MAX_VXLAN_ID = 2 ** 24 - 1;

/** swarmkit's IsIngressNetwork: the Ingress flag, or the label older swarms marked it with. */
export function isIngressNetwork(network: Pick<Network, 'Spec'>): boolean {
  if (network.Spec.Ingress) return true;
  const labels = network.Spec.Labels;
  return !!labels && Object.hasOwn(labels, INTERNAL_LABEL) && network.Spec.Name === INGRESS_NETWORK_NAME;
}

/** Whether the network has its subnets, gateways and VXLAN IDs. */
export function isAllocated(network: Pick<Network, 'IPAMOptions' | 'DriverState'>): boolean {
  return (network.IPAMOptions?.Configs?.length ?? 0) > 0 && network.DriverState !== undefined;
}

/** The VXLAN IDs of an allocated network, one per subnet, in the order of its IPAM configs. */
export function vxlanIds(network: Pick<Network, 'DriverState'>): number[] {
  const list = network.DriverState?.Options?.[VXLAN_ID_LIST_OPTION];
  if (!list) return [];
  return list.split(',').map(Number);
}

/**
 * The subnets of an allocated network with their gateways and VXLAN IDs, in the order of its IPAM configs;
 * a config without a subnet, gateway or VXLAN ID (not allocated yet) is left out.
 */
export function overlaySubnetsOf(network: Pick<Network, 'IPAMOptions' | 'DriverState'>): OverlaySubnet[] {
  const ids = vxlanIds(network);
  return (network.IPAMOptions?.Configs ?? []).flatMap((config, i) => {
    const subnet = config.Subnet ? parseIpv4Prefix(config.Subnet) : undefined;
    const gateway = config.Gateway ? parseIPv4Address(config.Gateway) : undefined;
    if (!subnet || gateway === undefined || ids[i] === undefined || !Number.isInteger(ids[i])) return [];
    return [{ subnet: config.Subnet!, gateway: formatIPv4(gateway), vxlanId: ids[i] }];
  });
}

/** The MTU a network's `--opt com.docker.network.driver.mtu` asks for, if any. */
export function mtuOf(network: Pick<Network, 'DriverState'>): number | undefined {
  const mtu = Number(network.DriverState?.Options?.[MTU_OPTION]);
  return Number.isInteger(mtu) && mtu > 0 ? mtu : undefined;
}

// ---------------------------------------------------------------- the Engine API's shapes

/** One endpoint of `Containers` (types.EndpointResource). */
export interface EndpointResource {
  Name: string;
  EndpointID: string;
  MacAddress: string;
  IPv4Address: string;
  IPv6Address: string;
}

/**
 * types.NetworkResource as Docker 20.10 writes it (fields in its order): what `GET /networks` lists and
 * `GET /networks/{id}` returns. Nil maps and slices are `null`, as Go encodes them.
 */
export interface NetworkResource {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: string; Options: Labels | null; Config: IPAMConfig[] | null };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, EndpointResource> | null;
  Options: Labels | null;
  Labels: Labels | null;
  Peers?: { Name: string; IP: string }[];
}

/** The body of `POST /networks/create` (types.NetworkCreateRequest). */
export interface NetworkCreateRequest {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  EnableIPv4?: boolean;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Options?: Labels;
    Config?: IPAMConfig[];
  };
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string };
  Options?: Labels;
  Labels?: Labels;
}

/** The answer of `POST /networks/create` (note `Id`, not `ID`). */
export interface NetworkCreateResponse {
  Id: string;
  Warning: string;
}

/** The answer of `POST /networks/prune`: the names of the networks removed (null for none). */
export interface NetworksPruneReport {
  NetworksDeleted: string[] | null;
}

/** How `GET /networks/{id}` was asked: `?scope=` and `?verbose=`. */
export interface NetworkLookup {
  scope?: string;
  verbose?: boolean;
}

// ---------------------------------------------------------------- what a node needs

/** One subnet of an overlay network, with its gateway and VXLAN ID. */
export interface OverlaySubnet {
  /** `10.0.1.0/24` */
  readonly subnet: string;
  /** `10.0.1.1` */
  readonly gateway: string;
  readonly vxlanId: number;
}

/** A node that has the network: where to send its VXLAN traffic, and its own address on the network. */
export interface OverlayPeer {
  readonly nodeId: string;
  /** The node's address on the underlay (its `Status.Addr`): the VXLAN tunnel's far end. */
  readonly underlayAddr: string;
  /** The node's address on the network (`10.0.1.6/24`), from its network attachment. */
  readonly address: string;
}

/** A task on the network, anywhere in the swarm: for forwarding entries and for DNS. */
export interface OverlayTask {
  readonly taskId: string;
  /** `<service>.<slot>.<task ID>`, or `<service>.<node ID>.<task ID>` for global services. */
  readonly taskName: string;
  readonly serviceId: string;
  readonly serviceName: string;
  /** The node it is placed on; empty while it is not placed yet. */
  readonly nodeId: string;
  /**
   * Whether DNS answers with it: observed RUNNING and meant to keep running. Forwarding entries need every
   * task of the view (observed RUNNING or earlier); a task being stopped leaves DNS before it stops, as
   * Docker's agent takes it out of service discovery first.
   */
  readonly serving: boolean;
  /** Its addresses on this network (`10.0.1.3/24`). */
  readonly addresses: readonly string[];
  /** Its aliases on this network (`--network name=app,alias=db`). */
  readonly aliases: readonly string[];
}

/** A service's virtual IP on a network (endpoint mode `vip`): what `<service>` resolves to and is balanced. */
export interface OverlayVip {
  readonly serviceId: string;
  readonly serviceName: string;
  /** The VIP (`10.0.1.2/24`, from the service's `Endpoint.VirtualIPs`). */
  readonly address: string;
  /** The aliases of the service on this network (`--network name=app,alias=db`): they resolve to the VIP. */
  readonly aliases: readonly string[];
  /**
   * On the ingress network only: the service's ports published in ingress mode (the routing mesh), from
   * its `Endpoint.Ports` (a port the user left out is there as the allocator chose it). Absent elsewhere.
   */
  readonly ports?: readonly MeshPort[];
}

/** A port the routing mesh opens on every node: `protocol/published` reaches a task's `target`. */
export interface MeshPort {
  readonly protocol: 'tcp' | 'udp';
  readonly published: number;
  readonly target: number;
}

/** One overlay network as a node sees it. */
export interface OverlayNetwork {
  readonly id: string;
  readonly name: string;
  readonly internal: boolean;
  readonly attachable: boolean;
  readonly ingress: boolean;
  /** From `--opt com.docker.network.driver.mtu`; absent for the default. */
  readonly mtu?: number;
  readonly subnets: readonly OverlaySubnet[];
  /** This node's own address on the network (its endpoint for the gateway and for load balancing). */
  readonly address?: string;
  /** Every node that has the network, this one included, in node ID order. */
  readonly peers: readonly OverlayPeer[];
  /** Every task with an address on the network that is not done yet, in task ID order. */
  readonly tasks: readonly OverlayTask[];
  /** The virtual IPs of the services on the network, in service ID order (none for `dnsrr` services). */
  readonly vips: readonly OverlayVip[];
}

/**
 * What one node needs to know to build and keep the data path of its overlay networks: each network it has
 * a task on (or the ingress network, which every node has), with the other nodes to tunnel to and the tasks
 * to resolve and reach. Computed by the manager from the store (src/manager/allocator/node-view.ts).
 */
export interface NodeNetworkView {
  readonly nodeId: string;
  /** The swarm's VXLAN UDP port (`swarm init --data-path-port`, 4789 by default). */
  readonly dataPathPort: number;
  readonly networks: readonly OverlayNetwork[];
}

/** Docker's default VXLAN port. */
export const DEFAULT_DATA_PATH_PORT = 4789;
