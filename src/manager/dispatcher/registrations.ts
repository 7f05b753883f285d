// Which nodes have a live session, under which session ID, and the streams opened in it. A node has
// at most one session: registering again replaces the old one and ends its streams, so an agent that
// lost track of its connection cannot keep two assignment streams alive.

import { invalidArgument, notFound } from '../../api/errors.js';
import type { SessionMessage } from '../../api/dispatcher.js';
import type { Clock } from '../../api/clock.js';
import { newId } from '../../api/ids.js';
import { rateLimited } from '../../api/peer-limits.js';
import type { ServerStream } from './stream.js';

export interface RegisteredNode {
  readonly nodeId: string;
  readonly sessionId: string;
  /** Session streams, which get a new SessionMessage when the node or the cluster settings change. */
  readonly sessionStreams: Set<ServerStream<SessionMessage>>;
  /** Every stream of the session (including the session streams), ended with the session. */
  readonly streams: Set<EndableStream>;
}

interface EndableStream {
  end(err?: Error): void;
  onClose(cleanup: () => void): void;
}

export const nodeNotRegistered = (): Error => notFound('node not registered');
export const sessionInvalid = (): Error => invalidArgument('session invalid');

export class Registrations {
  private readonly byNode = new Map<string, RegisteredNode>();

  get(nodeId: string): RegisteredNode | undefined {
    return this.byNode.get(nodeId);
  }

  all(): IterableIterator<RegisteredNode> {
    return this.byNode.values();
  }

  /** The node's session if `sessionId` names it; NotFound / InvalidArgument as swarmkit otherwise. */
  check(nodeId: string, sessionId: string): RegisteredNode {
    const registered = this.byNode.get(nodeId);
    if (!registered) throw nodeNotRegistered();
    if (registered.sessionId !== sessionId) throw sessionInvalid();
    return registered;
  }

  /** Starts a new session for the node, ending the streams of its previous one. */
  register(nodeId: string): RegisteredNode {
    this.remove(nodeId, sessionInvalid());
    const registered: RegisteredNode = {
      nodeId,
      sessionId: newId(),
      sessionStreams: new Set(),
      streams: new Set(),
    };
    this.byNode.set(nodeId, registered);
    return registered;
  }

  /** Ties a stream to the session: it ends when the session does. */
  attach(registered: RegisteredNode, stream: EndableStream): void {
    registered.streams.add(stream);
    stream.onClose(() => registered.streams.delete(stream));
  }

  attachSession(registered: RegisteredNode, stream: ServerStream<SessionMessage>): void {
    this.attach(registered, stream);
    registered.sessionStreams.add(stream);
    stream.onClose(() => registered.sessionStreams.delete(stream));
  }

  /** Forgets the node's session and ends its streams with `reason`. */
  remove(nodeId: string, reason: Error): boolean {
    const registered = this.byNode.get(nodeId);
    if (!registered) return false;
    this.byNode.delete(nodeId);
    for (const stream of [...registered.streams]) stream.end(reason);
    return true;
  }

  clear(reason: Error): void {
    for (const nodeId of [...this.byNode.keys()]) this.remove(nodeId, reason);
  }
}

/**
 * swarmkit's registration rate limit: a node may register 3 times in a row as long as the attempts
 * are less than 8 s apart; a pause of 8 s resets the count. Protects the store from an agent stuck in
 * a reconnect loop.
 */
export class RegistrationRateLimiter {
  private readonly attempts = new Map<string, { count: number; last: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly limit = 3,
    private readonly windowMs = 8_000,
  ) {}

  check(nodeId: string): void {
    const now = this.clock.now();
    this.forgetStale(now);
    const entry = this.attempts.get(nodeId) ?? { count: 0, last: now };
    if (entry.count >= this.limit) {
      // swarmkit's text and code (Unavailable); HTTP 429, as every rate limit on the cluster port.
      throw rateLimited(`node ${nodeId} exceeded rate limit count of registrations`);
    }
    entry.count++;
    entry.last = now;
    this.attempts.set(nodeId, entry);
  }

  private forgetStale(now: number): void {
    for (const [nodeId, entry] of this.attempts) {
      if (now - entry.last > this.windowMs) this.attempts.delete(nodeId);
    }
  }
}
