// Ctrl-C during a progress display: Docker stops following and leaves the operation running in the
// background. While a display runs, SIGINT is caught (as Go's signal.Notify does) and ends the next
// wait between polls instead of killing the process.

import type { Cli } from '../cli.js';

export class InterruptibleWait {
  private interrupted = false;
  private wake: (() => void) | undefined;
  private readonly onSigint = (): void => {
    this.interrupted = true;
    this.wake?.();
  };

  constructor(private readonly cli: Cli) {
    process.on('SIGINT', this.onSigint);
  }

  /** Waits `ms`; true when the user interrupted (now or since the last wait). */
  async sleep(ms: number): Promise<boolean> {
    if (!this.interrupted) {
      await Promise.race([this.cli.sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]);
      this.wake = undefined;
    }
    return this.interrupted;
  }

  /** Restores the default SIGINT behaviour. */
  close(): void {
    process.off('SIGINT', this.onSigint);
  }
}
