// One session with a manager (swarmkit's agent/session.go): register, heartbeat at the period the
// manager asks for, receive assignments and log subscriptions. Any failure — a stream ending, a
// heartbeat error or timeout, an assignment out of sequence — ends the whole session; the agent then
// opens a new one after a backoff, and the manager answers a new session with a COMPLETE set.

import type {
  AssignmentsMessage,
  DispatcherClient,
  LogSubscriptionMessage,
  PublishLogsMessage,
  SessionMessage,
  SessionRequest,
  StreamHandle,
  TaskStatusUpdate,
} from '../api/dispatcher.js';
import type { Clock, Timer } from '../api/clock.js';
import { isShoalError, unavailable } from '../api/errors.js';
import { isMalformedRequest, isRateLimited } from '../api/peer-limits.js';

/** swarmkit gives each heartbeat call 5 s. */
export const HEARTBEAT_TIMEOUT_MS = 5_000;

export interface SessionHandlers {
  /** The first SessionMessage: the node is registered. */
  registered(message: SessionMessage): void;
  /** Later SessionMessages (the node object or cluster settings changed). */
  sessionMessage(message: SessionMessage): void;
  assignments(message: AssignmentsMessage): void;
  logSubscription(message: LogSubscriptionMessage): void;
}

export interface SessionEnd {
  /** The session ID, if registration succeeded (offered again on the next attempt). */
  sessionId: string | undefined;
  /** Why it ended; undefined when closed by the agent. */
  err: Error | undefined;
}

export class AgentSession {
  readonly ended: Promise<SessionEnd>;
  private sessionId: string | undefined;
  private readonly streams: StreamHandle[] = [];
  private heartbeatTimer: Timer | undefined;
  private finished = false;
  private lastAssignment: string | undefined;
  private resolveEnded!: (end: SessionEnd) => void;

  constructor(
    private readonly client: DispatcherClient,
    private readonly clock: Clock,
    private readonly request: SessionRequest,
    private readonly handlers: SessionHandlers,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  start(): void {
    this.streams.push(
      this.client.session(
        this.request,
        (message) => this.onSessionMessage(message),
        (err) => this.end(err ?? unavailable('session stream closed')),
      ),
    );
  }

  close(): void {
    this.end(undefined);
  }

  async sendStatuses(updates: TaskStatusUpdate[]): Promise<void> {
    const sessionId = this.liveSessionId();
    try {
      await this.client.updateTaskStatus(sessionId, updates);
    } catch (err) {
      // A refused batch (not our task, malformed) or a rate limit refusal is the reporter's business;
      // any other failure means the session is broken.
      const refused =
        (isShoalError(err) && err.code === 'PermissionDenied') ||
        isMalformedRequest(err) ||
        isRateLimited(err);
      if (!refused) this.end(asError(err));
      throw err;
    }
  }

  async publishLogs(message: PublishLogsMessage): Promise<void> {
    await this.client.publishLogs(this.liveSessionId(), message);
  }

  private liveSessionId(): string {
    if (this.finished || this.sessionId === undefined) throw unavailable('no session with a manager');
    return this.sessionId;
  }

  private onSessionMessage(message: SessionMessage): void {
    if (this.finished) return;
    if (this.sessionId === undefined) {
      this.sessionId = message.sessionId;
      this.openStreams(message.sessionId);
      this.heartbeat();
      this.handlers.registered(message);
      return;
    }
    if (message.sessionId !== this.sessionId) {
      this.end(unavailable('manager changed the session ID'));
      return;
    }
    this.handlers.sessionMessage(message);
  }

  private openStreams(sessionId: string): void {
    const ended = (err?: Error): void => this.end(err ?? unavailable('stream closed by the manager'));
    this.streams.push(
      this.client.assignments(sessionId, (message) => this.onAssignments(message), ended),
      this.client.logSubscriptions(sessionId, (message) => this.handlers.logSubscription(message), ended),
    );
  }

  private onAssignments(message: AssignmentsMessage): void {
    if (this.finished) return;
    // A lost INCREMENTAL would leave the node with a wrong set for good; a new session brings a
    // fresh COMPLETE one.
    if (message.type === 'incremental' && message.appliesTo !== this.lastAssignment) {
      this.end(
        unavailable(`assignments out of sequence: got ${message.appliesTo}, have ${this.lastAssignment}`),
      );
      return;
    }
    this.lastAssignment = message.resultsIn;
    try {
      this.handlers.assignments(message);
    } catch (err) {
      this.end(asError(err));
    }
  }

  private heartbeat(): void {
    if (this.finished || this.sessionId === undefined) return;
    const timeout = this.clock.setTimer(HEARTBEAT_TIMEOUT_MS, () =>
      this.end(unavailable('heartbeat timed out')),
    );
    this.client.heartbeat(this.sessionId).then(
      (response) => {
        timeout.cancel();
        if (this.finished) return;
        this.heartbeatTimer = this.clock.setTimer(response.periodMs, () => this.heartbeat());
      },
      (err: unknown) => {
        timeout.cancel();
        this.end(asError(err));
      },
    );
  }

  private end(err: Error | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.heartbeatTimer?.cancel();
    for (const stream of this.streams.splice(0)) stream.close();
    this.resolveEnded({ sessionId: this.sessionId, err });
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
