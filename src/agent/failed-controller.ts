// Stands in for a controller the executor could not make (an unsupported or invalid task spec). Every
// operation fails with the executor's error, so the ordinary state machine turns the task REJECTED
// with that error as `Err`, exactly as a failing prepare would.

import type { HealthState } from '../api/types.js';
import type { Controller, LogLine } from './executor/executor.js';

export class FailedController implements Controller {
  constructor(private readonly err: Error) {}

  prepare(): Promise<void> {
    return Promise.reject(this.err);
  }
  start(): Promise<void> {
    return Promise.reject(this.err);
  }
  wait(): Promise<void> {
    return Promise.reject(this.err);
  }
  shutdown(): Promise<void> {
    return Promise.reject(this.err);
  }
  terminate(): Promise<void> {
    return Promise.resolve();
  }
  remove(): Promise<void> {
    return Promise.resolve();
  }
  containerStatus(): Record<string, never> {
    return {};
  }
  health(): HealthState | undefined {
    return undefined;
  }
  // eslint-disable-next-line require-yield
  async *logs(): AsyncIterable<LogLine> {
    return;
  }
}
