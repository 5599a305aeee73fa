// planBatches: every entry once, each chat's order kept, chats side by side,
// and about as few calls as consecutive cutting would make.
import { describe, expect, it } from 'vitest';
import { chainDepth, planBatches, type PlannedEntry } from '../../../functions/poller/batch-plan.js';

interface TestEntry extends PlannedEntry {
  readonly seq: number;
}

const LIMITS = { maxEntries: 10, maxBytes: 256 * 1024 };

/** A page's worth of entries over `chats` chats, deterministic, busiest chat first. */
function page(count: number, chats: number): TestEntry[] {
  return Array.from({ length: count }, (_, seq) => ({ seq, groupId: `chat${(seq * 7 + Math.floor(seq / 3)) % chats}`, bytes: 1500 }));
}

/** What the sink did before: consecutive runs of 10 in page order. */
function consecutive(entries: readonly TestEntry[]): TestEntry[][] {
  const out: TestEntry[][] = [];
  for (let i = 0; i < entries.length; i += LIMITS.maxEntries) out.push(entries.slice(i, i + LIMITS.maxEntries));
  return out;
}

describe('planBatches', () => {
  it.each([
    [1, 1],
    [23, 1],
    [550, 7],
    [1000, 40],
    [997, 3],
  ])('%i entries over %i chats: each entry once, each chat in page order, calls within the limits', (count, chats) => {
    const entries = page(count, chats);
    const batches = planBatches(entries, LIMITS);

    expect(batches.flat().map((e) => e.seq).sort((a, b) => a - b)).toEqual(entries.map((e) => e.seq));
    for (const batch of batches) {
      expect(batch.length).toBeGreaterThan(0);
      expect(batch.length).toBeLessThanOrEqual(LIMITS.maxEntries);
    }
    // listing order = the order the sink chains calls of one chat; within a call, entries are in order too
    const seen = new Map<string, number>();
    for (const entry of batches.flat()) {
      expect(entry.seq).toBeGreaterThan(seen.get(entry.groupId) ?? -1);
      seen.set(entry.groupId, entry.seq);
    }
    const distinctChats = new Set(entries.map((e) => e.groupId)).size;
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(count / LIMITS.maxEntries) + Math.ceil(distinctChats / 2));
  });

  it('a few busy chats no longer chain the whole queue: 550 events over 7 chats run 8 calls deep instead of 55', () => {
    const entries = page(550, 7);
    const planned = planBatches(entries, LIMITS);
    expect(chainDepth(consecutive(entries))).toBe(55);
    expect(chainDepth(planned)).toBeLessThanOrEqual(9);
    expect(planned.length).toBeLessThanOrEqual(57);
  });

  it('one chat is inherently one line of calls', () => {
    const entries = page(95, 1);
    expect(chainDepth(planBatches(entries, LIMITS))).toBe(10);
  });

  it('packs chats’ short tails together instead of one call per chat', () => {
    const entries = Array.from({ length: 30 }, (_, seq) => ({ seq, groupId: `chat${seq % 10}`, bytes: 100 }));
    const batches = planBatches(entries, LIMITS);
    // tails stay whole (a split tail would chain two calls): 3 + 3 + 3 per call
    expect(batches.map((b) => b.length)).toEqual([9, 9, 9, 3]);
    expect(chainDepth(batches)).toBe(1);
  });

  it('respects the byte limit when packing', () => {
    const entries = Array.from({ length: 6 }, (_, seq) => ({ seq, groupId: `chat${seq}`, bytes: 1000 }));
    const batches = planBatches(entries, { maxEntries: 10, maxBytes: 2500 });
    expect(batches.map((b) => b.length)).toEqual([2, 2, 2]);
  });
});
