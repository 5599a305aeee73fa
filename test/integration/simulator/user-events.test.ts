// im.v2.Event.subscribe / get / unsubscribe over real HTTP.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { manualClock, post, type ErrorBody, type PageBody } from './http.js';

describe('simulator: user events', () => {
  let sim: PortalSimulator;
  let clock: ReturnType<typeof manualClock>;
  let hook: string;
  let userId: number;

  beforeEach(async () => {
    clock = manualClock();
    sim = await startPortalSimulator({ now: clock.now, rateLimit: false });
    userId = sim.addUser({ name: 'Anna Smirnova' }).id;
    hook = sim.createWebhook(userId);
  });
  afterEach(async () => {
    await sim.stop();
  });

  const page = async (params: Record<string, unknown> = {}): Promise<PageBody['result']> => {
    const answer = await post(`${hook}im.v2.Event.get`, params);
    expect(answer.status).toBe(200);
    return answer.json<PageBody>().result;
  };

  it('records nothing without a subscription and get answers an empty page, not an error', async () => {
    expect(sim.emit({ userId }, 'ONIMV2MESSAGEADD', {})).toBeUndefined();
    const result = await page();
    expect(result).toEqual({ events: [], nextOffset: 0, hasMore: false });
    expect(sim.emittedEvents({ userId })).toHaveLength(0);
  });

  it('subscribe over REST is idempotent and starts recording', async () => {
    for (let i = 0; i < 2; i++) {
      const answer = await post(`${hook}im.v2.Event.subscribe`);
      expect(answer.status).toBe(200);
      expect(answer.json()).toMatchObject({ result: true, time: { start: (expect.any(Number) as unknown), operating_reset_at: (expect.any(Number) as unknown) } });
    }
    const event = sim.emit({ userId }, 'ONIMV2MESSAGEADD', { x: 1 });
    expect(event).toMatchObject({ eventId: 1, type: 'ONIMV2MESSAGEADD', date: '2025-01-15T11:00:00+03:00', data: { x: 1 } });
    expect((await page()).events).toEqual([event]);
  });

  it('an offset confirms and deletes every event below it; nextOffset and hasMore page through', async () => {
    sim.subscribe(userId);
    for (let i = 0; i < 5; i++) sim.emit({ userId }, 'ONIMV2MESSAGEADD', { i });

    const first = await page({ limit: 2 });
    expect(first.events.map((e) => e.eventId)).toEqual([1, 2]);
    expect(first).toMatchObject({ nextOffset: 3, hasMore: true });
    // Reading without an offset confirms nothing.
    expect(sim.pendingEvents({ userId })).toHaveLength(5);

    const second = await page({ offset: first.nextOffset, limit: 2 });
    expect(second.events.map((e) => e.eventId)).toEqual([3, 4]);
    expect(sim.pendingEvents({ userId }).map((e) => e.eventId)).toEqual([3, 4, 5]);

    const third = await page({ offset: second.nextOffset, limit: 2 });
    expect(third).toMatchObject({ nextOffset: 6, hasMore: false });
    expect(third.events.map((e) => e.eventId)).toEqual([5]);

    const empty = await page({ offset: third.nextOffset });
    expect(empty).toEqual({ events: [], nextOffset: 6, hasMore: false });
    expect(sim.pendingEvents({ userId })).toHaveLength(0);
    // Without an offset an empty page points past everything removed so far.
    expect(await page()).toEqual({ events: [], nextOffset: 6, hasMore: false });
    expect(sim.emittedEvents({ userId })).toHaveLength(5);
  });

  it('limit defaults to 100 and must be 1..1000', async () => {
    sim.subscribe(userId);
    for (let i = 0; i < 1001; i++) sim.emit({ userId }, 'ONIMV2MESSAGEADD', { i });
    expect((await page()).events).toHaveLength(100);
    expect((await page({ limit: 1000 })).events).toHaveLength(1000);
    expect((await page({ limit: 1 })).events).toHaveLength(1);
    for (const limit of [0, 1001, -1, 'ten', 2.5]) {
      const answer = await post(`${hook}im.v2.Event.get`, { limit });
      expect(answer.status, `limit ${String(limit)}`).toBe(400);
      expect(answer.json<ErrorBody>().error).toBe('INVALID_ARGUMENTS');
    }
    const badOffset = await post(`${hook}im.v2.Event.get`, { offset: -5 });
    expect(badOffset.json<ErrorBody>().error).toBe('INVALID_ARGUMENTS');
    // Rejected calls confirm nothing.
    expect(sim.pendingEvents({ userId })).toHaveLength(1001);
  });

  it('events expire 24 h after they were recorded, confirmed or not', async () => {
    sim.subscribe(userId);
    sim.emit({ userId }, 'ONIMV2MESSAGEADD', { n: 'old' });
    clock.advance(12 * 3600_000);
    sim.emit({ userId }, 'ONIMV2MESSAGEADD', { n: 'new' });
    clock.advance(12 * 3600_000 - 1);
    expect((await page()).events).toHaveLength(2);
    clock.advance(1);
    const result = await page();
    expect(result.events.map((e) => e.data)).toEqual([{ n: 'new' }]);
    clock.advance(12 * 3600_000);
    expect(await page()).toEqual({ events: [], nextOffset: 3, hasMore: false });
  });

  it('unsubscribe stops recording but keeps what was recorded', async () => {
    await post(`${hook}im.v2.Event.subscribe`);
    sim.emit({ userId }, 'ONIMV2MESSAGEADD', {});
    expect((await post(`${hook}im.v2.Event.unsubscribe`)).json()).toMatchObject({ result: true });
    expect((await post(`${hook}im.v2.Event.unsubscribe`)).status).toBe(200);
    expect(sim.emit({ userId }, 'ONIMV2MESSAGEADD', {})).toBeUndefined();
    expect((await page()).events).toHaveLength(1);
  });

  it('accepts the .json suffix, form-urlencoded bodies and query parameters', async () => {
    sim.subscribe(userId);
    for (let i = 0; i < 4; i++) sim.emit({ userId }, 'ONIMV2MESSAGEADD', { i });
    const viaForm = await post(`${hook}im.v2.Event.get.json`, { offset: '2', limit: '1' }, { form: true });
    expect(viaForm.json<PageBody>().result.events.map((e) => e.eventId)).toEqual([2]);
    const viaQuery = await post(`${hook}im.v2.Event.get?offset=3&limit=5`, {});
    expect(viaQuery.json<PageBody>().result.events.map((e) => e.eventId)).toEqual([3, 4]);
    expect(sim.calls.map((c) => [c.method, c.offset, c.limit])).toEqual([
      ['im.v2.Event.get', 2, 1],
      ['im.v2.Event.get', 3, 5],
    ]);
  });

  it('event ids increase over the whole portal, across users', async () => {
    const other = sim.addUser().id;
    sim.subscribe(userId);
    sim.subscribe(other);
    const ids = [sim.emit({ userId }, 'A', {}), sim.emit({ userId: other }, 'A', {}), sim.emit({ userId }, 'A', {})].map((e) => e?.eventId);
    expect(ids).toEqual([1, 2, 3]);
    const result = await page();
    expect(result.events.map((e) => e.eventId)).toEqual([1, 3]);
    expect(result.nextOffset).toBe(4);
  });
});
