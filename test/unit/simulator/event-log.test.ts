import { describe, expect, it } from 'vitest';
import { EventLog, readPage } from '../../../functions/simulator/event-log.js';

const ev = (eventId: number) => ({ eventId, type: 'ONIMV2MESSAGEADD', date: '2025-01-15T10:30:00+03:00', data: {} });
const DAY = 86_400_000;

function logOf(ids: number[], at = 0): EventLog {
  const log = new EventLog();
  for (const id of ids) log.append(ev(id), at);
  return log;
}

describe('readPage', () => {
  it('confirms below the offset, pages from there, reports nextOffset/hasMore', () => {
    const log = logOf([3, 5, 8, 9]);
    const page = readPage([log], { offset: 5, limit: 2, nowMs: 0, ttlMs: DAY });
    expect(page.events.map((e) => e.eventId)).toEqual([5, 8]);
    expect(page).toMatchObject({ nextOffset: 9, hasMore: true });
    expect(log.pending().map((e) => e.eventId)).toEqual([5, 8, 9]);
  });

  it('empty page: nextOffset is the offset sent, else one past the highest removed id', () => {
    const log = logOf([1, 2]);
    expect(readPage([log], { offset: undefined, limit: 10, nowMs: 0, ttlMs: DAY }).nextOffset).toBe(3);
    expect(readPage([log], { offset: 40, limit: 10, nowMs: 0, ttlMs: DAY })).toEqual({ events: [], nextOffset: 40, hasMore: false });
    expect(readPage([log], { offset: undefined, limit: 10, nowMs: 0, ttlMs: DAY }).nextOffset).toBe(3);
    expect(readPage([new EventLog()], { offset: undefined, limit: 10, nowMs: 0, ttlMs: DAY }).nextOffset).toBe(0);
  });

  it('expires events at recordedAt + ttl', () => {
    const log = new EventLog();
    log.append(ev(1), 0);
    log.append(ev(2), 1000);
    expect(readPage([log], { offset: undefined, limit: 10, nowMs: DAY, ttlMs: DAY }).events.map((e) => e.eventId)).toEqual([2]);
  });

  it('merges several logs in eventId order and one offset confirms all of them', () => {
    const bot = logOf([1, 4, 6]);
    const user = logOf([2, 3, 7]);
    const page = readPage([bot, user], { offset: undefined, limit: 4, nowMs: 0, ttlMs: DAY });
    expect(page.events.map((e) => e.eventId)).toEqual([1, 2, 3, 4]);
    expect(page).toMatchObject({ nextOffset: 5, hasMore: true });
    readPage([bot, user], { offset: 5, limit: 1, nowMs: 0, ttlMs: DAY });
    expect([...bot.pending(), ...user.pending()].map((e) => e.eventId)).toEqual([6, 7]);
  });

  it('keeps order and contents across compaction of a large log', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => i + 1);
    const log = logOf(ids);
    let offset: number | undefined;
    const seen: number[] = [];
    for (;;) {
      const page = readPage([log], { offset, limit: 777, nowMs: 0, ttlMs: DAY });
      seen.push(...page.events.map((e) => e.eventId));
      offset = page.nextOffset;
      if (!page.hasMore) break;
    }
    expect(seen).toEqual(ids);
    readPage([log], { offset, limit: 1, nowMs: 0, ttlMs: DAY });
    expect(log.size).toBe(0);
  });
});
