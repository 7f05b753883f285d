// Noticing dead nodes' connections. A node whose host vanished (power, cable) sends no FIN, and a
// stream nobody writes to would keep its connection and the dispatcher's stream open for good;
// pinging each connection and dropping those that stop answering frees them. (The dispatcher's own
// heartbeat expiry decides about the node; this only reclaims the connection.)

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
    // Too many pings already in flight (not ours): try again next round.
    if (!sent) {
      clearTimeout(deadline);
      schedule();
    }
  };
  const schedule = (): void => {
    if (!stopped) next = setTimeout(probe, options.intervalMs).unref();
  };
  schedule();
  session.once('close', stop);
  return stop;
}
