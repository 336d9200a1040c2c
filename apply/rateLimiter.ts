/**
 * A write-rate limit in items per second, shared by every concurrent writer of one apply: a token
 * bucket that holds at most one second of tokens, so a pause never turns into a burst above the limit.
 */

export type Sleep = (ms: number) => Promise<void>;

export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class WriteRateLimiter {
  private tokens: number;
  private last: number;
  /** Callers queue behind one another, so tokens are handed out in arrival order. */
  private queue: Promise<void> = Promise.resolve();

  constructor(
    /** Items per second; undefined or Infinity means no limit. */
    private readonly perSecond: number | undefined,
    private readonly now: () => number = Date.now,
    private readonly sleep: Sleep = realSleep,
  ) {
    this.tokens = perSecond ?? 0;
    this.last = now();
  }

  /** Waits until `items` writes may be sent. */
  acquire(items: number): Promise<void> {
    const rate = this.perSecond;
    if (rate === undefined || !Number.isFinite(rate)) return Promise.resolve();
    const turn = this.queue.then(async () => {
      for (;;) {
        const t = this.now();
        this.tokens = Math.min(rate, this.tokens + ((t - this.last) / 1000) * rate);
        this.last = t;
        // A batch larger than one second of tokens waits for a full bucket, then goes.
        const needed = Math.min(items, rate);
        if (this.tokens >= needed) {
          this.tokens -= items;
          return;
        }
        await this.sleep(Math.ceil(((needed - this.tokens) / rate) * 1000));
      }
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
