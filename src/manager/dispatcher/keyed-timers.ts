// One timer per key (a node ID): arming a key replaces its previous timer. Used for heartbeat expiry,
// the unknown-state grace after a restart, and the 24 h orphan delay.

import type { Clock, Timer } from '../../api/clock.js';

export class KeyedTimers {
  private readonly timers = new Map<string, Timer>();

  constructor(private readonly clock: Clock) {}

  arm(key: string, ms: number, fire: () => void): void {
    this.timers.get(key)?.cancel();
    const timer = this.clock.setTimer(ms, () => {
      if (this.timers.get(key) !== timer) return;
      this.timers.delete(key);
      fire();
    });
    this.timers.set(key, timer);
  }

  cancel(key: string): void {
    this.timers.get(key)?.cancel();
    this.timers.delete(key);
  }

  has(key: string): boolean {
    return this.timers.has(key);
  }

  cancelAll(): void {
    for (const timer of this.timers.values()) timer.cancel();
    this.timers.clear();
  }
}
