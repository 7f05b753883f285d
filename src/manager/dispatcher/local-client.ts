// The in-process transport: an agent on the manager's own host talks to the dispatcher through this
// client. Every message is copied through JSON on the way in and out, as the network transport will
// serialize it, so neither side can come to rely on sharing objects with the other (or on values
// JSON cannot carry). Deliveries are asynchronous for the same reason: a handler never runs inside
// the other side's call stack.

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
import type { DispatcherServer, Peer, StreamSink } from './server.js';

export class LocalDispatcherClient implements DispatcherClient {
  constructor(
    private readonly server: DispatcherServer,
    private readonly peer: Peer,
  ) {}

  session(
    request: SessionRequest,
    onMessage: (message: SessionMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    return openStream((sink) => this.server.session(this.peer, wire(request), sink), onMessage, onEnd);
  }

  heartbeat(sessionId: string): Promise<HeartbeatResponse> {
    return call(() => this.server.heartbeat(this.peer, sessionId));
  }

  updateTaskStatus(sessionId: string, updates: TaskStatusUpdate[]): Promise<void> {
    const copy = wire(updates);
    return call(() => this.server.updateTaskStatus(this.peer, sessionId, copy));
  }

  assignments(
    sessionId: string,
    onMessage: (message: AssignmentsMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    return openStream((sink) => this.server.assignments(this.peer, sessionId, sink), onMessage, onEnd);
  }

  logSubscriptions(
    sessionId: string,
    onMessage: (message: LogSubscriptionMessage) => void,
    onEnd: (err?: Error) => void,
  ): StreamHandle {
    return openStream((sink) => this.server.logSubscriptions(this.peer, sessionId, sink), onMessage, onEnd);
  }

  publishLogs(sessionId: string, message: PublishLogsMessage): Promise<void> {
    const copy = wire(message);
    return call(() => this.server.publishLogs(this.peer, sessionId, copy));
  }
}

/** A copy of `value` as it would arrive over the network. */
function wire<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

async function call<T>(fn: () => Promise<T>): Promise<T> {
  // Yield first, so the server never runs inside the caller's synchronous section.
  await Promise.resolve();
  return wire(await fn());
}

function openStream<T>(
  open: (sink: StreamSink<T>) => StreamHandle,
  onMessage: (message: T) => void,
  onEnd: (err?: Error) => void,
): StreamHandle {
  let clientOpen = true;
  const finish = (err?: Error): void => {
    if (!clientOpen) return;
    clientOpen = false;
    onEnd(err);
  };
  const sink: StreamSink<T> = {
    send(message) {
      const copy = wire(message);
      queueMicrotask(() => {
        if (clientOpen) onMessage(copy);
      });
    },
    end(err) {
      queueMicrotask(() => finish(err));
    },
  };
  const handle = open(sink);
  return {
    close() {
      if (!clientOpen) return;
      // Nothing more is delivered from now on, not even messages already on their way.
      clientOpen = false;
      handle.close();
      queueMicrotask(() => onEnd());
    },
  };
}
