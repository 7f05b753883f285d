// Coalesces bursts of store commits into one scheduling pass: the pass runs once commits have been quiet
// for `quietMs`, but never later than `maxDelayMs` after the first commit of the burst, so a steady
// stream of commits cannot starve the scheduler (swarmkit: 50 ms and 1 s).

export interface DebounceOptions {
  readonly quietMs: number;
  readonly maxDelayMs: number;
  readonly now: () => number;
}

export class Debouncer {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private burstStartedAt: number | undefined;

  constructor(
    private readonly fire: () => void,
    private readonly options: DebounceOptions,
  ) {}

  /** Whether a firing is scheduled. */
  get pending(): boolean {
    return this.timer !== undefined;
  }

  /** Something changed: fire after the quiet gap, or at the burst's deadline if that comes first. */
  poke(): void {
    const now = this.options.now();
    this.burstStartedAt ??= now;
    const deadline = this.burstStartedAt + this.options.maxDelayMs;
    this.arm(Math.max(0, Math.min(this.options.quietMs, deadline - now)));
  }

  /** Fire in `delayMs` unless a firing is already scheduled (used to retry after a failed pass). */
  pokeAfter(delayMs: number): void {
    if (this.timer === undefined) this.arm(delayMs);
  }

  cancel(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.burstStartedAt = undefined;
  }

  private arm(delayMs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.burstStartedAt = undefined;
      this.fire();
    }, delayMs);
  }
}
