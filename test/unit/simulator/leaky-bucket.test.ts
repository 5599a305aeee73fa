import { describe, expect, it } from 'vitest';
import { LeakyBucket } from '../../../functions/simulator/leaky-bucket.js';

describe('LeakyBucket', () => {
  it('accepts up to maxQueued at one instant, refuses past it without adding to the level', () => {
    const bucket = new LeakyBucket({ drainPerSecond: 2, maxQueued: 3 });
    expect([1, 2, 3, 4, 5].map(() => bucket.tryTake(0))).toEqual([true, true, true, false, false]);
    expect(bucket.levelAt(0)).toBe(3);
  });

  it('drains drainPerSecond per second, never below zero', () => {
    const bucket = new LeakyBucket({ drainPerSecond: 2, maxQueued: 3 });
    for (let i = 0; i < 3; i++) bucket.tryTake(1000);
    expect(bucket.levelAt(1500)).toBe(2);
    expect(bucket.tryTake(1500)).toBe(true);
    expect(bucket.tryTake(1500)).toBe(false);
    expect(bucket.levelAt(100_000)).toBe(0);
  });

  it('ignores a clock going backwards instead of filling up', () => {
    const bucket = new LeakyBucket({ drainPerSecond: 1, maxQueued: 2 });
    bucket.tryTake(5000);
    bucket.tryTake(5000);
    expect(bucket.tryTake(4000)).toBe(false);
    expect(bucket.tryTake(6000)).toBe(true);
  });
});
