// How a node's view of its overlay networks (src/api/networks.ts NodeNetworkView) travels from the
// dispatcher to the agent: inside the assignments stream, complete when the stream opens, then as changes.
// The changes are fine-grained — a network's own facts, one peer, one endpoint (task) — so that a task
// starting on a network of a thousand tasks sends one entry to each node of the network, not the thousand.
//
// Both ends use these pure functions: the dispatcher diffs the view it last sent with the new one, the agent
// applies what arrives. Applying is idempotent (an update sets, a remove deletes what may already be gone),
// so a change applied twice, or a complete view sent again, leaves the same view.

import { jsonEqual } from './json-equal.js';
import type { NodeNetworkView, OverlayNetwork, OverlayPeer, OverlayTask } from './networks.js';

/**
 * A network's own facts (subnets, flags, the node's address on it, the services' virtual IPs), without its
 * peers and endpoints. VIPs change only when a service is created, removed or moved between networks.
 */
export type OverlayNetworkInfo = Omit<OverlayNetwork, 'peers' | 'tasks'>;

export type NetworkChange =
  | { action: 'update-network'; network: OverlayNetworkInfo }
  /** The node no longer has the network: its peers and endpoints go with it. */
  | { action: 'remove-network'; networkId: string }
  | { action: 'update-peer'; networkId: string; peer: OverlayPeer }
  | { action: 'remove-peer'; networkId: string; nodeId: string }
  | { action: 'update-endpoint'; networkId: string; endpoint: OverlayTask }
  | { action: 'remove-endpoint'; networkId: string; taskId: string };

/**
 * The network part of an assignments message. In a COMPLETE message it is the whole view (an absent one
 * means no networks); in an INCREMENTAL one, what changed since the previous message of the stream.
 */
export interface NetworkViewUpdate {
  /** The store revision the view was computed at: only grows within a stream. */
  readonly version: number;
  readonly dataPathPort: number;
  readonly changes: NetworkChange[];
}

/** A view as a set of maps, which is how the agent keeps it and how changes apply. */
export interface NetworkViewState {
  dataPathPort: number;
  version: number;
  networks: Map<
    string,
    { info: OverlayNetworkInfo; peers: Map<string, OverlayPeer>; endpoints: Map<string, OverlayTask> }
  >;
}

export function emptyViewState(dataPathPort: number): NetworkViewState {
  return { dataPathPort, version: 0, networks: new Map() };
}

function infoOf(network: OverlayNetwork): OverlayNetworkInfo {
  const { peers: _peers, tasks: _tasks, ...info } = network;
  return info;
}

/** The changes that turn `previous` (nothing: a fresh stream) into `next`, networks first. */
export function diffNetworkViews(
  previous: NodeNetworkView | undefined,
  next: NodeNetworkView,
): NetworkChange[] {
  const changes: NetworkChange[] = [];
  const before = new Map((previous?.networks ?? []).map((n) => [n.id, n]));
  const after = new Set(next.networks.map((n) => n.id));
  for (const network of previous?.networks ?? []) {
    if (!after.has(network.id)) changes.push({ action: 'remove-network', networkId: network.id });
  }
  for (const network of next.networks) {
    const old = before.get(network.id);
    const info = infoOf(network);
    if (!old || !jsonEqual(infoOf(old), info)) changes.push({ action: 'update-network', network: info });
    const oldPeers = new Map((old?.peers ?? []).map((p) => [p.nodeId, p]));
    const newPeers = new Set(network.peers.map((p) => p.nodeId));
    for (const peer of old?.peers ?? []) {
      if (!newPeers.has(peer.nodeId))
        changes.push({ action: 'remove-peer', networkId: network.id, nodeId: peer.nodeId });
    }
    for (const peer of network.peers) {
      const was = oldPeers.get(peer.nodeId);
      if (!was || !jsonEqual(was, peer)) changes.push({ action: 'update-peer', networkId: network.id, peer });
    }
    const oldTasks = new Map((old?.tasks ?? []).map((t) => [t.taskId, t]));
    const newTasks = new Set(network.tasks.map((t) => t.taskId));
    for (const task of old?.tasks ?? []) {
      if (!newTasks.has(task.taskId))
        changes.push({ action: 'remove-endpoint', networkId: network.id, taskId: task.taskId });
    }
    for (const task of network.tasks) {
      const was = oldTasks.get(task.taskId);
      if (!was || !jsonEqual(was, task))
        changes.push({ action: 'update-endpoint', networkId: network.id, endpoint: task });
    }
  }
  return changes;
}

/**
 * Applies an update to the agent's view, in place. A COMPLETE update replaces the view. Changes for a
 * network the view does not have (its update-network was lost, which the stream does not allow) are
 * kept anyway under an empty network, so nothing is silently dropped; the next complete view fixes it.
 */
export function applyNetworkUpdate(
  state: NetworkViewState,
  update: NetworkViewUpdate,
  complete: boolean,
): Set<string> {
  const touched = new Set<string>();
  if (complete) {
    for (const id of state.networks.keys()) touched.add(id);
    state.networks.clear();
  }
  state.dataPathPort = update.dataPathPort;
  state.version = Math.max(state.version, update.version);
  const entry = (networkId: string) => {
    let network = state.networks.get(networkId);
    if (!network) {
      network = {
        info: {
          id: networkId,
          name: '',
          internal: false,
          attachable: false,
          ingress: false,
          subnets: [],
          vips: [],
        },
        peers: new Map(),
        endpoints: new Map(),
      };
      state.networks.set(networkId, network);
    }
    return network;
  };
  for (const change of update.changes) {
    switch (change.action) {
      case 'update-network':
        entry(change.network.id).info = change.network;
        touched.add(change.network.id);
        break;
      case 'remove-network':
        state.networks.delete(change.networkId);
        touched.add(change.networkId);
        break;
      case 'update-peer':
        entry(change.networkId).peers.set(change.peer.nodeId, change.peer);
        touched.add(change.networkId);
        break;
      case 'remove-peer':
        state.networks.get(change.networkId)?.peers.delete(change.nodeId);
        touched.add(change.networkId);
        break;
      case 'update-endpoint':
        entry(change.networkId).endpoints.set(change.endpoint.taskId, change.endpoint);
        touched.add(change.networkId);
        break;
      case 'remove-endpoint':
        state.networks.get(change.networkId)?.endpoints.delete(change.taskId);
        touched.add(change.networkId);
        break;
      default: {
        const never: never = change;
        throw new Error(`unknown network change ${JSON.stringify(never)}`);
      }
    }
  }
  return touched;
}

/** The view held in `state` as a NodeNetworkView (networks by ID, peers by node, tasks by ID). */
export function viewOf(nodeId: string, state: NetworkViewState): NodeNetworkView {
  const byKey =
    <T>(key: (t: T) => string) =>
    (a: T, b: T) =>
      key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
  return {
    nodeId,
    dataPathPort: state.dataPathPort,
    networks: [...state.networks.values()]
      .map((n) => ({
        ...n.info,
        peers: [...n.peers.values()].sort(byKey((p: OverlayPeer) => p.nodeId)),
        tasks: [...n.endpoints.values()].sort(byKey((t: OverlayTask) => t.taskId)),
      }))
      .sort(byKey((n: OverlayNetwork) => n.id)),
  };
}
