// The portal budget's pure parts: GCRA reservations, the gate over the
// in-memory store (deadline refusals, shared pauses), and the rate settings.
import { describe, expect, it } from 'vitest';
import {
  gcraStep,
  InMemoryPortalBudgetStore,
  PortalBudget,
  PortalBudgetConfigError,
  PortalBudgetExhaustedError,
  portalRates,
  portalRatesFromJson,
  reserve,
} from '../../../functions/budget/index.js';

function clock(start = 1_000_000) {
  let now = start;
  const waits: number[] = [];
  return {
    now: () => now,
    sleep: (ms: number) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
    advance: (ms: number) => {
      now += ms;
    },
    waits,
  };
}

describe('GCRA reservations', () => {
  it('lets a burst start at once, then spaces requests at the sustained rate', () => {
    const step = gcraStep({ requestsPerSecond: 2, burst: 10 });
    let tat: number | undefined;
    const starts: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const r = reserve(tat, 0, step);
      tat = r.tat;
      starts.push(r.startAt);
    }
    expect(starts.slice(0, 10)).toEqual(Array.from({ length: 10 }, () => 0));
    expect(starts.slice(10, 13)).toEqual([500, 1000, 1500]);
    // In any window of w ms at most burst + rate × w requests start.
    for (const w of [0, 999, 5_000, 10_000]) {
      for (const from of starts) {
        const inWindow = starts.filter((s) => s >= from && s <= from + w).length;
        expect(inWindow).toBeLessThanOrEqual(10 + Math.floor((w / 1000) * 2));
      }
    }
  });

  it('forgets an old burst: a bucket idle for longer than it needs to drain starts fresh', () => {
    const step = gcraStep({ requestsPerSecond: 2, burst: 3 });
    const busy = reserve(reserve(reserve(undefined, 0, step).tat, 0, step).tat, 0, step);
    expect(reserve(busy.tat, 60_000, step)).toEqual({ startAt: 60_000, tat: 60_500 });
  });
});

describe('PortalBudget over the in-memory store', () => {
  it('makes callers of one portal wait their turn, and leaves other portals alone', async () => {
    const time = clock();
    const budget = new PortalBudget({ store: new InMemoryPortalBudgetStore(), rateOf: () => ({ requestsPerSecond: 2, burst: 2 }), now: time.now, sleep: time.sleep });
    for (let i = 0; i < 4; i += 1) await budget.admit({ portal: 'a.bitrix24.com', method: 'im.v2.Event.get' });
    expect(time.waits).toEqual([500, 500]);
    await budget.admit({ portal: 'b.bitrix24.com', method: 'im.v2.Event.get' });
    expect(time.waits).toEqual([500, 500]);
    expect(budget.stats).toMatchObject({ admitted: 5, waitedMs: 1000, exhausted: 0 });
  });

  it('refuses a request whose slot is past its deadline, without booking the slot', async () => {
    const time = clock();
    const budget = new PortalBudget({ store: new InMemoryPortalBudgetStore(), rateOf: () => ({ requestsPerSecond: 1, burst: 1 }), now: time.now, sleep: time.sleep });
    for (let i = 0; i < 3; i += 1) await budget.admit({ portal: 'p', method: 'm.x.get' });
    // The bucket is booked 1 s ahead; a call with 100 ms left cannot wait for it.
    const refused = await budget.admit({ portal: 'p', method: 'm.x.get', deadline: time.now() + 100 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(PortalBudgetExhaustedError);
    expect(refused).toMatchObject({ code: 'PORTAL_BUDGET_EXHAUSTED', kind: 'rate-limit' });
    const before = time.waits.length;
    await budget.admit({ portal: 'p', method: 'm.x.get' });
    // Its slot was not taken: the next caller gets the very next one (1 s after the last).
    expect(time.waits.slice(before)).toEqual([1000]);
  });

  it("holds a method every caller of the portal, once one of them was told OPERATION_TIME_LIMIT", async () => {
    const time = clock();
    const store = new InMemoryPortalBudgetStore();
    const shardA = new PortalBudget({ store, now: time.now, sleep: time.sleep });
    const consumerB = new PortalBudget({ store, now: time.now, sleep: time.sleep });
    await shardA.pause({ portal: 'p', method: 'IM.V2.Event.get', until: time.now() + 30_000 });
    expect(await consumerB.admit({ portal: 'p', method: 'im.v2.Event.get' })).toEqual({ pausedUntil: time.now() + 30_000 });
    expect(await consumerB.admit({ portal: 'p', method: 'im.message.add' })).toEqual({});
    expect(await consumerB.admit({ portal: 'other', method: 'im.v2.Event.get' })).toEqual({});
    time.advance(30_001);
    expect(await consumerB.admit({ portal: 'p', method: 'im.v2.Event.get' })).toEqual({});
  });
});

describe('portal rate settings', () => {
  it('defaults to the standard plan and scales the burst with an Enterprise override', () => {
    const rateOf = portalRatesFromJson('{"portals":{"Big.bitrix24.com":{"requestsPerSecond":5}}}');
    expect(rateOf('small.bitrix24.com')).toEqual({ requestsPerSecond: 2, burst: 10 });
    expect(rateOf('big.bitrix24.com')).toEqual({ requestsPerSecond: 5, burst: 25 });
    expect(portalRatesFromJson(undefined)('x')).toEqual({ requestsPerSecond: 2, burst: 10 });
  });

  it('refuses nonsense with the field named', () => {
    expect(() => portalRates({ default: { requestsPerSecond: 0 } })).toThrow(PortalBudgetConfigError);
    expect(() => portalRatesFromJson('{"portals":{"p":{"rate":5}}}')).toThrow(/portals\.p/);
    expect(() => portalRatesFromJson('not json')).toThrow(/not JSON/);
  });
});
