// One server-side stream (session, assignments, log subscriptions): remembers whether it is still
// open, so a late message or a second end is dropped, and runs its clean-ups exactly once whichever
// side ends it.

import type { StreamHandle } from '../../api/dispatcher.js';
import type { StreamSink } from './server.js';

export class ServerStream<T> {
  private open = true;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly sink: StreamSink<T>) {}

  get isOpen(): boolean {
    return this.open;
  }

  send(message: T): void {
    if (this.open) this.sink.send(message);
  }

  /** Runs `cleanup` when the stream ends (at once if it already has). */
  onClose(cleanup: () => void): void {
    if (this.open) this.cleanups.push(cleanup);
    else cleanup();
  }

  /** Ends the stream from the server side, telling the client why. */
  end(err?: Error): void {
    if (this.finish()) this.sink.end(err);
  }

  /** The handle the client holds: closing it ends the stream without notifying the sink. */
  handle(): StreamHandle {
    return { close: () => void this.finish() };
  }

  private finish(): boolean {
    if (!this.open) return false;
    this.open = false;
    for (const cleanup of this.cleanups.splice(0)) cleanup();
    return true;
  }
}
