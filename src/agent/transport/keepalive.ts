// Noticing a dead manager connection. When a link is cut (no FIN, no RST), TCP alone would let open
// streams wait for minutes; the agent only learns the session is gone when a call fails. Pinging the
// connection and destroying it when an answer is late ends every stream on it within
// interval + timeout, so the agent reconnects promptly.
//
// (The manager has the same mechanism, with longer periods, in src/manager/clusterapi/keepalive.ts;
// the two sides may not share code, see architecture.md §2.)

import type { Http2Session } from 'node:http2';

export interface KeepaliveOptions {
  /** Time between the answer to one ping and the next ping. */
  intervalMs: number;
  /** How long to wait for a ping's answer before giving the connection up. */
  timeoutMs: number;
}

export const DEFAULT_CLIENT_KEEPALIVE: KeepaliveOptions = { intervalMs: 2_000, timeoutMs: 3_000 };

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
