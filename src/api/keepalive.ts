// Noticing a dead HTTP/2 connection on the cluster protocol, from either end. When a link is cut (no
// FIN, no RST) TCP alone lets open streams wait for minutes; pinging the connection and destroying it
// when an answer is late ends every stream on it within interval + timeout. Agents then reconnect
// promptly, and managers reclaim the connections of nodes whose host vanished (the dispatcher's own
// heartbeat expiry decides about the node itself).

import type { Http2Session } from 'node:http2';

export interface KeepaliveOptions {
  /** Time between the answer to one ping and the next ping. */
  intervalMs: number;
  /** How long to wait for a ping's answer before giving the connection up. */
  timeoutMs: number;
}

/** Pings `session` until it closes; calls `onDead` (once) when an answer is late. Returns a stop function. */
export function keepSessionAlive(
  session: Http2Session,
  options: KeepaliveOptions,
  onDead: () => void,
): () => void {
  let next: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    clearTimeout(next);
    clearTimeout(deadline);
  };
  const schedule = (): void => {
    if (!stopped) next = setTimeout(probe, options.intervalMs).unref();
  };
  const probe = (): void => {
    if (stopped || session.destroyed || session.closed) return;
    deadline = setTimeout(() => {
      stop();
      onDead();
    }, options.timeoutMs).unref();
    const sent = session.ping((err) => {
      clearTimeout(deadline);
      if (!err) schedule();
    });
    if (!sent) {
      // Too many pings in flight (not ours): try again next round.
      clearTimeout(deadline);
      schedule();
    }
  };
  schedule();
  session.once('close', stop);
  return stop;
}
