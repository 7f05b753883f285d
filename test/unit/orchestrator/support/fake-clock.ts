// A clock the test moves by hand: timers fire, in order, as `advance` passes their time.

import type { Clock } from '../../../../src/manager/orchestrator/clock.js';

interface Timer {
  at: number;
  fire: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private timers: Timer[] = [];

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  setTimer(delayMs: number, fire: () => void): () => void {
    const timer: Timer = { at: this.current + delayMs, fire, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers still waiting to fire. */
  get pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      const next = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.fire();
    }
    this.current = target;
  }
}
