// A queue between log publishers (nodes) and one subscriber (an HTTP response). Bounded: when the
// subscriber reads slower than the nodes publish, `push` resolves only once there is room again, and
// that wait travels back to the agents as a slow `publishLogs` — backpressure instead of a manager
// buffering a chatty service's output without limit.

export class LogQueue<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private head = 0;
  private ended = false;
  private wakeReader: (() => void) | undefined;
  private waitingWriters: (() => void)[] = [];

  constructor(private readonly highWater = 1024) {}

  get isEnded(): boolean {
    return this.ended;
  }

  /** Adds items; resolves when the queue is below its high-water mark (or ended). */
  push(items: readonly T[]): Promise<void> {
    if (this.ended) return Promise.resolve();
    this.items.push(...items);
    this.wake();
    if (this.length <= this.highWater) return Promise.resolve();
    return new Promise((resolve) => this.waitingWriters.push(resolve));
  }

  /** No more items: the reader finishes what is queued, then stops; waiting writers are released. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.wake();
    this.releaseWriters();
  }

  /** Ends at once, dropping what is queued (the subscriber went away). */
  discard(): void {
    this.items = [];
    this.head = 0;
    this.end();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (true) {
      if (this.head < this.items.length) {
        const item = this.items[this.head++]!;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items = this.items.slice(this.head);
          this.head = 0;
        }
        if (this.length <= this.highWater) this.releaseWriters();
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wakeReader = resolve));
    }
  }

  private get length(): number {
    return this.items.length - this.head;
  }

  private wake(): void {
    const wake = this.wakeReader;
    this.wakeReader = undefined;
    wake?.();
  }

  private releaseWriters(): void {
    for (const release of this.waitingWriters.splice(0)) release();
  }
}
