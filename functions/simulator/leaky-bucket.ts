// The Bitrix24 request-rate limit: a leaky bucket per portal. Every accepted
// request adds one unit; the bucket drains `drainPerSecond` units per second;
// a request that would take the level past `maxQueued` is refused (and adds
// nothing). Pure: time comes in as an argument.

export interface LeakyBucketOptions {
  /** Units drained per second. Bitrix24 standard plans: 2. */
  readonly drainPerSecond: number;
  /** Highest level accepted; a request past it is refused. Bitrix24 standard plans: 50. */
  readonly maxQueued: number;
}

export class LeakyBucket {
  private level = 0;
  private lastAt: number | undefined;

  constructor(private readonly options: LeakyBucketOptions) {}

  /** Current level after draining up to `nowMs`. */
  levelAt(nowMs: number): number {
    this.drain(nowMs);
    return this.level;
  }

  /** Accepts (true, level + 1) or refuses (false, unchanged) one request at `nowMs`. */
  tryTake(nowMs: number): boolean {
    this.drain(nowMs);
    if (this.level + 1 > this.options.maxQueued) return false;
    this.level += 1;
    return true;
  }

  private drain(nowMs: number): void {
    if (this.lastAt !== undefined && nowMs > this.lastAt) {
      this.level = Math.max(0, this.level - ((nowMs - this.lastAt) / 1000) * this.options.drainPerSecond);
    }
    if (this.lastAt === undefined || nowMs > this.lastAt) this.lastAt = nowMs;
  }
}
