// The one fake Clock (src/api/clock.ts) for tests: time moves only when a test says so, and timers fire
// in order (by due time, then by when they were set).
//
//   await clock.advance(ms)   for code that awaits (dispatcher, agent, renewer, health monitor): promise
//                             chains settle before and after each timer fires
//   clock.advanceSync(ms)     for loops whose timers only request work (the orchestrators): the timers
//                             fire one after the other, synchronously

import type { Clock, Timer } from '../../../src/api/clock.js';

interface FakeTimer {
  at: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(private t = Date.parse('2024-05-01T12:00:00.000Z')) {}

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fire: () => void): Timer {
    const timer: FakeTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fire, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Timers still waiting (for checking that stop() cleans up). */
  get pendingTimers(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time forward by `ms`, firing due timers one by one and letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (let due = this.nextDue(end); due; due = this.nextDue(end)) {
      this.fire(due);
      await settle();
    }
    this.t = end;
    await settle();
  }

  /** Moves time forward by `ms`, firing due timers one by one, synchronously. */
  advanceSync(ms: number): void {
    const end = this.t + ms;
    for (let due = this.nextDue(end); due; due = this.nextDue(end)) this.fire(due);
    this.t = end;
  }

  private nextDue(end: number): FakeTimer | undefined {
    this.timers = this.timers.filter((timer) => !timer.cancelled);
    return this.timers.filter((timer) => timer.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
  }

  private fire(timer: FakeTimer): void {
    this.timers.splice(this.timers.indexOf(timer), 1);
    this.t = Math.max(this.t, timer.at);
    timer.fire();
  }
}

/** Lets pending promise chains, microtasks and immediates run. */
export async function settle(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((resolve) => setImmediate(resolve));
}
