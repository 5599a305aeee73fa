import { describe, expect, it } from 'vitest';
import { InMemorySeenMessages, seenMessageKey } from '../../../functions/bot/seen-messages.js';

describe('InMemorySeenMessages', () => {
  it('remembers once, expires after ttlSeconds and drops the oldest past maxEntries', async () => {
    let now = 0;
    const seen = new InMemorySeenMessages({ ttlSeconds: 10, maxEntries: 2, now: () => now });
    expect(await seen.remember('a')).toBe(true);
    expect(await seen.remember('a')).toBe(false);
    expect(await seen.has('a')).toBe(true);
    now = 10_000;
    expect(await seen.has('a')).toBe(false);
    expect(await seen.remember('a')).toBe(true);
    await seen.remember('b');
    await seen.remember('c');
    expect(await seen.has('a')).toBe(false);
    expect(await seen.has('c')).toBe(true);
  });

  it('keys a message by source, bot and message id', () => {
    expect(seenMessageKey('support-bot', 99, 1001)).toBe('support-bot#99#1001');
  });
});
