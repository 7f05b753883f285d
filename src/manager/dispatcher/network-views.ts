// Pushes each node the view of its overlay networks (src/manager/allocator/node-view.ts) in its assignments
// stream: the whole view with the COMPLETE set when the stream opens, then what changed whenever a store
// commit touches what the views are made of — networks, the nodes' attachments, addresses and liveness,
// the tasks on networks. Commits are gathered for a short window (as the assignments are) and the views of
// every node with a stream are computed in one scan; each stream diffs the view against what it sent.
// Nothing is polled: a node hears of a peer or a task only because the store changed.

import type { Clock, Timer } from '../../api/clock.js';
import { jsonEqual } from '../../api/json-equal.js';
import type { NodeNetworkView } from '../../api/networks.js';
import type { Node, Task } from '../../api/types.js';
import type { ObjectEvent, ObjectEventBatch, ObjectStore, ReadTx } from '../../store/objects.js';
import { nodeNetworkViews, type NodeViewSource } from '../allocator/node-view.js';

/** How long commits are gathered before the views are computed again. */
export const NETWORK_VIEW_BATCH_WINDOW_MS = 5;

export interface NetworkViewSink {
  readonly nodeId: string;
  /** The node's view as of store revision `version`. */
  networkView(view: NodeNetworkView, version: number): void;
}

export function viewSource(tx: ReadTx): NodeViewSource {
  const cluster = tx.list('cluster')[0];
  return {
    network: (id) => tx.get('network', id),
    nodes: () => tx.list('node'),
    tasks: () => tx.list('task'),
    services: () => tx.list('service'),
    ...(cluster?.DataPathPort ? { dataPathPort: cluster.DataPathPort } : {}),
  };
}

/** The view of one node, read in `tx`. */
export function networkViewOf(tx: ReadTx, nodeId: string): NodeNetworkView {
  const view = nodeNetworkViews(viewSource(tx), [nodeId]).get(nodeId);
  return view ?? { nodeId, dataPathPort: viewSource(tx).dataPathPort ?? 4789, networks: [] };
}

export class NetworkViewFeed {
  private timer: Timer | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly clock: Clock,
    private readonly sinks: () => Iterable<NetworkViewSink>,
  ) {}

  onStoreEvents(batch: ObjectEventBatch): void {
    if (this.timer || !batch.events.some(touchesNetworkViews)) return;
    this.timer = this.clock.setTimer(NETWORK_VIEW_BATCH_WINDOW_MS, () => {
      this.timer = undefined;
      this.push();
    });
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private push(): void {
    const sinks = [...this.sinks()];
    if (sinks.length === 0) return;
    const nodeIds = [...new Set(sinks.map((sink) => sink.nodeId))];
    const { views, revision, port } = this.store.view((tx) => {
      const source = viewSource(tx);
      return {
        views: nodeNetworkViews(source, nodeIds),
        revision: this.store.revision,
        port: source.dataPathPort,
      };
    });
    for (const sink of sinks) {
      sink.networkView(
        views.get(sink.nodeId) ?? { nodeId: sink.nodeId, dataPathPort: port ?? 4789, networks: [] },
        revision,
      );
    }
  }
}

const hasAttachments = (task: Task): boolean => (task.NetworksAttachments?.length ?? 0) > 0;

/** Whether a committed change can change some node's view. */
export function touchesNetworkViews(event: ObjectEvent): boolean {
  switch (event.kind) {
    case 'network':
      return true;
    case 'node':
      return event.action !== 'update' || nodeChanged(event.old, event.object);
    case 'task':
      if (event.action !== 'update') return hasAttachments(event.object);
      return (
        (hasAttachments(event.old) || hasAttachments(event.object)) && taskChanged(event.old, event.object)
      );
    case 'service':
      return (
        event.action !== 'update' ||
        !jsonEqual(event.old.Endpoint?.VirtualIPs ?? [], event.object.Endpoint?.VirtualIPs ?? []) ||
        !jsonEqual(event.old.Endpoint?.Ports ?? [], event.object.Endpoint?.Ports ?? []) ||
        event.old.Spec.Name !== event.object.Spec.Name ||
        !jsonEqual(
          event.old.Spec.TaskTemplate?.Networks ?? [],
          event.object.Spec.TaskTemplate?.Networks ?? [],
        )
      );
    case 'cluster':
      return event.action === 'update' && event.old.DataPathPort !== event.object.DataPathPort;
    default:
      return false;
  }
}

function nodeChanged(a: Node, b: Node): boolean {
  return (
    (a.Status.State === 'down') !== (b.Status.State === 'down') ||
    a.Status.Addr !== b.Status.Addr ||
    a.DataPathAddr !== b.DataPathAddr ||
    !jsonEqual(a.Attachments ?? [], b.Attachments ?? [])
  );
}

function taskChanged(a: Task, b: Task): boolean {
  return (
    a.Status.State !== b.Status.State ||
    a.DesiredState !== b.DesiredState ||
    a.NodeID !== b.NodeID ||
    a.Slot !== b.Slot ||
    a.ServiceAnnotations?.Name !== b.ServiceAnnotations?.Name ||
    !jsonEqual(a.NetworksAttachments ?? [], b.NetworksAttachments ?? [])
  );
}
