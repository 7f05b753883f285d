// The dispatcher: the manager's end of the node sessions (swarmkit's manager/dispatcher). It keeps
// one session per node, decides from heartbeats whether a node is alive, writes the statuses nodes
// report, and streams each node the tasks it must run. It runs on the leader only; everything it
// knows survives in the store, so a new leader rebuilds it from there (see `start`).

import type {
  AssignmentsMessage,
  DispatcherClient,
  HeartbeatResponse,
  LogSubscriptionMessage,
  PublishLogsMessage,
  SessionMessage,
  SessionRequest,
  StreamHandle,
  TaskStatusUpdate,
} from '../../api/dispatcher.js';
import { jsonEqual } from '../../api/json-equal.js';
import { systemClock, type Clock } from '../../api/clock.js';
import { notFound, unavailable } from '../../api/errors.js';
import type { Cluster, Node } from '../../api/types.js';
import type { ObjectEvent, ObjectEventBatch, ObjectStore } from '../../store/objects.js';
import { AssignmentStream, type DependencyLookup } from './assignments.js';
import { NetworkViewFeed, networkViewOf } from './network-views.js';
import { NodeIntake } from './intake-limits.js';
import { NodeLiveness } from './liveness.js';
import { LocalDispatcherClient } from './local-client.js';
import { silentLog, type DispatcherLog } from './log.js';
import { heartbeatPeriodMs, jittered } from './period.js';
import {
  RegistrationRateLimiter,
  Registrations,
  nodeNotRegistered,
  type RegisteredNode,
} from './registrations.js';
import type { DispatcherServer, NodeLogChannel, Peer, StreamSink } from './server.js';
import { acceptStatusUpdates, changedStatusBytes } from './status-intake.js';
import { ServerStream } from './stream.js';
import { DispatcherWrites } from './writes.js';

export interface DispatcherOptions {
  store: ObjectStore;
  /** This manager's node ID (swarmkit's AppliedBy; also how the manager recognises its own agent). */
  managerNodeId: string;
  /** This manager's cluster address (`host:port`), sent to nodes as the manager list. */
  managerAddr: string;
  clock?: Clock;
  /** Where nodes' log streams go; without it nodes get no log subscriptions. */
  logs?: NodeLogChannel;
  log?: DispatcherLog;
  /** Source of heartbeat jitter, [0, 1). */
  random?: () => number;
  /** Told of every heartbeat accepted (the metrics' heartbeat rate). */
  onHeartbeat?: (nodeId: string) => void;
}

export {
  MESSAGE_HEARTBEAT_FAILURE,
  MESSAGE_UNKNOWN_AFTER_RESTART,
  MESSAGE_UNKNOWN_EXPIRED,
} from './liveness.js';

type TaskEvent = Extract<ObjectEvent, { kind: 'task' }>;

export class Dispatcher implements DispatcherServer {
  readonly managerNodeId: string;
  readonly managerAddr: string;
  private readonly store: ObjectStore;
  private readonly clock: Clock;
  private readonly log: DispatcherLog;
  private readonly random: () => number;
  private readonly logs: NodeLogChannel | undefined;
  private readonly onHeartbeat: ((nodeId: string) => void) | undefined;

  private running = false;
  private unwatch: (() => void) | undefined;
  private periodMs = 0;
  private rootCA: string | undefined;
  private readonly registrations = new Registrations();
  private readonly rateLimiter: RegistrationRateLimiter;
  /** Each node's budget of status updates, log data and session streams. */
  private readonly intake: NodeIntake;
  private readonly liveness: NodeLiveness;
  private readonly writes: DispatcherWrites;
  private readonly assignmentStreams = new Map<string, Set<AssignmentStream>>();
  private readonly networkViews: NetworkViewFeed;

  constructor(options: DispatcherOptions) {
    this.store = options.store;
    this.managerNodeId = options.managerNodeId;
    this.managerAddr = options.managerAddr;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? silentLog;
    this.random = options.random ?? Math.random;
    this.logs = options.logs;
    this.onHeartbeat = options.onHeartbeat;
    this.rateLimiter = new RegistrationRateLimiter(this.clock);
    this.intake = new NodeIntake(this.clock);
    this.writes = new DispatcherWrites(this.store, this.clock, this.log);
    this.networkViews = new NetworkViewFeed(this.store, this.clock, () =>
      [...this.assignmentStreams.values()].flatMap((streams) => [...streams]),
    );
    this.liveness = new NodeLiveness({
      store: this.store,
      clock: this.clock,
      writes: this.writes,
      log: this.log,
      onDown: (nodeId) => this.registrations.remove(nodeId, nodeNotRegistered()),
    });
  }

  /**
   * Starts serving. Nodes that were not down get the unknown state and 6 heartbeat periods to
   * reconnect: after a manager restart or a leader change nobody has heard from them yet, but that
   * is no reason to reschedule their tasks.
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.unwatch = this.store.watch((batch) => this.onStoreEvents(batch));
    const cluster = this.store.view((tx) => tx.list('cluster')[0]);
    this.periodMs = heartbeatPeriodMs(cluster);
    this.rootCA = cluster?.TLSInfo?.TrustRoot;
    try {
      await this.liveness.start(this.periodMs, (nodeId) => this.registrations.get(nodeId) !== undefined);
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Stops serving: ends every stream (agents will look for a manager again) and writes what is queued. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.unwatch?.();
    this.unwatch = undefined;
    this.networkViews.stop();
    this.liveness.stop();
    this.registrations.clear(unavailable('dispatcher is stopped'));
    await this.writes.flush();
    this.writes.stop();
  }

  /** A client for the agent on this host, calling this dispatcher in-process as `nodeId`. */
  localClient(nodeId: string, addr: string = hostOf(this.managerAddr)): DispatcherClient {
    return new LocalDispatcherClient(this, { nodeId, addr });
  }

  // ---------------------------------------------------------------- the protocol

  session(peer: Peer, request: SessionRequest, sink: StreamSink<SessionMessage>): StreamHandle {
    const stream = new ServerStream(sink);
    this.openSession(peer, request, stream).catch((err: unknown) => stream.end(asError(err)));
    return stream.handle();
  }

  async heartbeat(peer: Peer, sessionId: string): Promise<HeartbeatResponse> {
    this.checkRunning();
    this.registrations.check(peer.nodeId, sessionId);
    const periodMs = jittered(this.periodMs, this.random);
    this.liveness.heartbeat(peer.nodeId, periodMs);
    this.onHeartbeat?.(peer.nodeId);
    return { periodMs };
  }

  async updateTaskStatus(peer: Peer, sessionId: string, updates: TaskStatusUpdate[]): Promise<void> {
    this.checkRunning();
    this.registrations.check(peer.nodeId, sessionId);
    this.intake.statusUpdates(peer.nodeId, updates.length);
    const { accepted, changedBytes } = this.store.view((tx) => {
      const accepted = acceptStatusUpdates(tx, peer.nodeId, updates);
      return { accepted, changedBytes: changedStatusBytes(tx, accepted) };
    });
    this.intake.statusBytes(peer.nodeId, changedBytes);
    this.writes.taskStatuses(peer.nodeId, accepted);
  }

  assignments(peer: Peer, sessionId: string, sink: StreamSink<AssignmentsMessage>): StreamHandle {
    const stream = new ServerStream(sink);
    const registered = this.checkStream(peer, sessionId, stream);
    if (!registered) return stream.handle();
    this.registrations.attach(registered, stream);
    const assignments = new AssignmentStream(peer.nodeId, stream, this.clock, this.dependencyLookup);
    // Reading the set and subscribing to changes happen in one synchronous step, so no commit falls
    // between them.
    const { tasks, view, version } = this.store.view((tx) => ({
      tasks: tx.tasksByNode(peer.nodeId),
      view: networkViewOf(tx, peer.nodeId),
      version: this.store.revision,
    }));
    assignments.sendComplete(tasks, view, version);
    let streams = this.assignmentStreams.get(peer.nodeId);
    if (!streams) this.assignmentStreams.set(peer.nodeId, (streams = new Set()));
    streams.add(assignments);
    stream.onClose(() => {
      streams.delete(assignments);
      if (streams.size === 0 && this.assignmentStreams.get(peer.nodeId) === streams) {
        this.assignmentStreams.delete(peer.nodeId);
      }
    });
    return stream.handle();
  }

  logSubscriptions(peer: Peer, sessionId: string, sink: StreamSink<LogSubscriptionMessage>): StreamHandle {
    const stream = new ServerStream(sink);
    const registered = this.checkStream(peer, sessionId, stream);
    if (!registered) return stream.handle();
    this.registrations.attach(registered, stream);
    if (this.logs) {
      const listening = this.logs.listen(peer.nodeId, (message) => stream.send(message));
      stream.onClose(() => listening.close());
    }
    return stream.handle();
  }

  async publishLogs(peer: Peer, sessionId: string, message: PublishLogsMessage): Promise<void> {
    this.checkRunning();
    this.registrations.check(peer.nodeId, sessionId);
    if (!this.logs) throw unavailable('log broker is not available');
    this.intake.logs(peer.nodeId, message);
    await this.logs.publish(peer.nodeId, message);
  }

  /** Secrets and configs as tasks' nodes receive them: from the store as it is when they are sent. */
  private readonly dependencyLookup: DependencyLookup = {
    secret: (id) => {
      const secret = this.store.view((tx) => tx.get('secret', id));
      if (!secret) return undefined;
      const { Name = '', Data = '', Templating } = secret.Spec;
      return { ID: secret.ID, Name, Data, ...(Templating?.Name ? { Templating } : {}) };
    },
    config: (id) => {
      const config = this.store.view((tx) => tx.get('config', id));
      if (!config) return undefined;
      const { Name = '', Data = '', Templating } = config.Spec;
      return { ID: config.ID, Name, Data, ...(Templating?.Name ? { Templating } : {}) };
    },
  };

  // ---------------------------------------------------------------- sessions

  private async openSession(
    peer: Peer,
    request: SessionRequest,
    stream: ServerStream<SessionMessage>,
  ): Promise<void> {
    this.checkRunning();
    const nodeId = peer.nodeId;
    // Each open writes the node's description: a reconnect loop must not become a stream of writes.
    this.intake.session(nodeId);
    let registered = request.sessionId ? this.registrations.get(nodeId) : undefined;
    if (registered?.sessionId !== request.sessionId) registered = undefined;

    const ready = {
      state: 'ready' as const,
      addr: peer.addr,
      description: request.description,
      dataPathAddr: request.dataPathAddr ?? null,
    };
    if (registered) {
      // The same session reconnecting its stream: refresh what the node says about itself.
      await this.writes.nodeStatus(nodeId, ready);
      if (this.registrations.get(nodeId) !== registered) {
        // It expired meanwhile and READY may have overwritten DOWN: it gets one more expiry period
        // to register anew.
        this.liveness.heartbeat(nodeId, this.periodMs);
        throw nodeNotRegistered();
      }
    } else {
      this.rateLimiter.check(nodeId);
      if (!this.store.view((tx) => tx.get('node', nodeId))) throw notFound('node not found');
      this.liveness.registering(nodeId);
      try {
        await this.writes.nodeStatus(nodeId, ready);
      } catch (err) {
        // Not registered after all: the node must not stay READY for good without heartbeats.
        this.liveness.heartbeat(nodeId, this.periodMs);
        throw err;
      }
      this.checkRunning();
      registered = this.registrations.register(nodeId);
      this.liveness.heartbeat(nodeId, jittered(this.periodMs, this.random));
    }
    if (!stream.isOpen) return;
    const node = this.store.view((tx) => tx.get('node', nodeId));
    if (!node) throw notFound('node not found');
    this.registrations.attachSession(registered, stream);
    stream.send(this.sessionMessage(registered, node));
  }

  private sessionMessage(registered: RegisteredNode, node: Node): SessionMessage {
    return {
      sessionId: registered.sessionId,
      node,
      managers: [this.managerAddr],
      heartbeatPeriodMs: this.periodMs,
      ...(this.rootCA !== undefined ? { rootCA: this.rootCA } : {}),
    };
  }

  private broadcastSessionMessages(): void {
    for (const registered of this.registrations.all()) this.sendSessionMessages(registered);
  }

  private sendSessionMessages(registered: RegisteredNode): void {
    if (registered.sessionStreams.size === 0) return;
    const node = this.store.view((tx) => tx.get('node', registered.nodeId));
    if (!node) return;
    const message = this.sessionMessage(registered, node);
    for (const stream of registered.sessionStreams) stream.send(message);
  }

  private checkStream<T>(peer: Peer, sessionId: string, stream: ServerStream<T>): RegisteredNode | undefined {
    try {
      this.checkRunning();
      return this.registrations.check(peer.nodeId, sessionId);
    } catch (err) {
      stream.end(asError(err));
      return undefined;
    }
  }

  private checkRunning(): void {
    if (!this.running) throw unavailable('dispatcher is stopped');
  }

  // ---------------------------------------------------------------- store events

  private onStoreEvents(batch: ObjectEventBatch): void {
    this.networkViews.onStoreEvents(batch);
    for (const event of batch.events) {
      switch (event.kind) {
        case 'task':
          this.routeTaskEvent(event);
          break;
        case 'node':
          this.onNodeEvent(event.action, event.object, event.action === 'update' ? event.old : undefined);
          break;
        case 'cluster':
          if (event.action !== 'delete') this.onClusterChange(event.object);
          break;
        default:
          break;
      }
    }
  }

  private routeTaskEvent(event: TaskEvent): void {
    const nodeId = event.object.NodeID;
    if (nodeId) this.deliverTaskEvent(nodeId, event);
    // A task moved off a node (swarmkit never does this, but the store allows it) leaves that node.
    const previousNodeId = event.action === 'update' ? event.old.NodeID : undefined;
    if (previousNodeId && previousNodeId !== nodeId) this.deliverTaskEvent(previousNodeId, event);
  }

  private deliverTaskEvent(nodeId: string, event: TaskEvent): void {
    const streams = this.assignmentStreams.get(nodeId);
    if (streams) for (const stream of streams) stream.onTaskEvent(event);
  }

  private onNodeEvent(action: ObjectEvent['action'], node: Node, old: Node | undefined): void {
    if (action === 'delete') {
      this.registrations.remove(node.ID, notFound('node not found'));
      this.liveness.forget(node.ID);
      this.intake.forget(node.ID);
      return;
    }
    const registered = this.registrations.get(node.ID);
    if (!registered) return;
    // Our own status writes (ready, down) are of no interest to the node.
    if (old && sameNodeIgnoringStatus(old, node)) return;
    this.sendSessionMessages(registered);
  }

  private onClusterChange(cluster: Cluster): void {
    const periodMs = heartbeatPeriodMs(cluster);
    const rootCA = cluster.TLSInfo?.TrustRoot;
    if (periodMs === this.periodMs && rootCA === this.rootCA) return;
    this.periodMs = periodMs;
    this.rootCA = rootCA;
    this.broadcastSessionMessages();
  }
}

function sameNodeIgnoringStatus(a: Node, b: Node): boolean {
  const strip = ({ Status: _s, Version: _v, UpdatedAt: _u, ...rest }: Node) => rest;
  return jsonEqual(strip(a), strip(b));
}

/** `10.0.0.1:2377` → `10.0.0.1`, `[::1]:2377` → `::1`. */
function hostOf(addr: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(addr);
  if (bracketed) return bracketed[1]!;
  const colon = addr.lastIndexOf(':');
  return colon > 0 && addr.indexOf(':') === colon ? addr.slice(0, colon) : addr;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
