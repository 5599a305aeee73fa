// Fault injection over real HTTP: error answers, latency, resets mid-body,
// truncated JSON, a proxy's HTML 502, OPERATION_TIME_LIMIT.
import { request } from 'undici';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { get, manualClock, post, type ErrorBody, type PageBody } from './http.js';

describe('simulator: fault injection', () => {
  let sim: PortalSimulator;
  let clock: ReturnType<typeof manualClock>;
  let hook: string;
  let userId: number;

  beforeEach(async () => {
    clock = manualClock();
    sim = await startPortalSimulator({ now: clock.now, rateLimit: false });
    userId = sim.addUser().id;
    hook = sim.createWebhook(userId);
    sim.subscribe(userId);
    for (let i = 0; i < 3; i++) sim.emit({ userId }, 'ONIMV2MESSAGEADD', { i });
  });
  afterEach(async () => {
    await sim.stop();
  });

  it('error answers apply to the next `times` matching calls only, without running the method', async () => {
    sim.faults.inject({ kind: 'error', status: 500, code: 'INTERNAL_SERVER_ERROR', method: 'im.v2.Event.get', times: 2 });
    expect((await post(`${hook}server.time`)).status).toBe(200); // other method: untouched
    for (let i = 0; i < 2; i++) {
      const answer = await post(`${hook}im.v2.Event.get`, { offset: 3 });
      expect([answer.status, answer.json<ErrorBody>().error]).toEqual([500, 'INTERNAL_SERVER_ERROR']);
    }
    expect(sim.pendingEvents({ userId })).toHaveLength(3); // the offset was not applied
    expect((await post(`${hook}im.v2.Event.get`)).status).toBe(200);
    expect(sim.faults.injectedCount).toBe(2);
    expect(sim.calls.map((c) => c.fault)).toEqual([undefined, 'error', 'error', undefined]);
  });

  it('latency delays the answer, which is otherwise normal', async () => {
    sim.faults.inject({ kind: 'latency', ms: 150 });
    const started = performance.now();
    const answer = await post(`${hook}im.v2.Event.get`);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(answer.json<PageBody>().result.events).toHaveLength(3);
  });

  it('reset: the portal runs the method, then the connection dies mid-body', async () => {
    sim.faults.inject({ kind: 'reset', method: 'im.v2.Event.get' });
    const attempt = async (): Promise<string> => {
      const res = await request(`${hook}im.v2.Event.get`, { method: 'POST', body: JSON.stringify({ offset: 2 }) });
      return res.body.text();
    };
    await expect(attempt()).rejects.toThrow();
    // The offset was applied before the answer was lost: a retry with the same offset loses nothing.
    expect(sim.pendingEvents({ userId }).map((e) => e.eventId)).toEqual([2, 3]);
    expect(sim.calls.at(-1)).toMatchObject({ fault: 'reset', status: 200, offset: 2 });
    const retry = await post(`${hook}im.v2.Event.get`, { offset: 2 });
    expect(retry.json<PageBody>().result.events.map((e) => e.eventId)).toEqual([2, 3]);
  });

  it('malformed: a 200 with truncated JSON', async () => {
    sim.faults.inject({ kind: 'malformed' });
    const answer = await post(`${hook}im.v2.Event.get`);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toContain('application/json');
    expect(() => answer.json()).toThrow(SyntaxError);
    expect(answer.text.startsWith('{"result":')).toBe(true);
  });

  it('html: a proxy-style 502 page', async () => {
    sim.faults.inject({ kind: 'html' });
    const answer = await post(`${hook}im.v2.Event.get`);
    expect(answer.status).toBe(502);
    expect(answer.contentType).toContain('text/html');
    expect(answer.text).toContain('502 Bad Gateway');
  });

  it('operation-time-limit: 429 with operating_reset_at, also in the next good answers; the budget falls in one-minute steps', async () => {
    sim.faults.inject({ kind: 'operation-time-limit', resetInSeconds: 90 });
    const blocked = await post(`${hook}im.v2.Event.get`);
    const body = blocked.json<ErrorBody>();
    const resetAt = Math.floor(clock.now() / 1000) + 90;
    expect([blocked.status, body.error]).toEqual([429, 'OPERATION_TIME_LIMIT']);
    expect(body.time).toMatchObject({ operating_reset_at: resetAt });
    expect(Number(body.time?.operating)).toBeGreaterThan(480);
    const good = await post(`${hook}im.v2.Event.get`);
    expect(good.json<PageBody>().time).toMatchObject({ operating_reset_at: resetAt, operating: (expect.any(Number) as unknown) });
    // limits.md: ten 1-minute buckets; when the spent bucket drops out, `operating` falls and
    // operating_reset_at moves to when the next-oldest bucket (the good call's minute) drops out.
    const goodMinute = Math.floor(clock.now() / 60_000) * 60;
    clock.advance(90_000);
    const after = (await post(`${hook}im.v2.Event.get`)).json<PageBody>().time;
    expect(after.operating_reset_at).toBe(goodMinute + 600);
    expect(Number(after.operating)).toBeLessThan(480);
  });

  it('the token endpoint only takes faults aimed at oauth.token; clear() disarms', async () => {
    const app = sim.registerApp();
    const tokens = sim.authorizeApp(app.clientId, userId);
    const renewUrl = `${sim.oauthTokenUrl}?${new URLSearchParams({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: tokens.refreshToken }).toString()}`;
    sim.faults.inject({ kind: 'html' });
    sim.faults.inject({ kind: 'error', status: 503, code: 'SERVICE_UNAVAILABLE', method: 'oauth.token' });
    const failed = await get(renewUrl);
    expect(failed.json<ErrorBody>().error).toBe('SERVICE_UNAVAILABLE');
    expect((await get(renewUrl)).status).toBe(200); // the failed attempt did not burn the token
    sim.faults.clear();
    expect((await post(`${hook}im.v2.Event.get`)).status).toBe(200);
    expect(sim.faults.injectedCount).toBe(1);
  });
});

describe('simulator: rate limit', () => {
  it('the leaky bucket answers 503 QUERY_LIMIT_EXCEEDED past maxQueued and drains with the clock', async () => {
    const clock = manualClock();
    const sim = await startPortalSimulator({ now: clock.now, rateLimit: { drainPerSecond: 2, maxQueued: 5 } });
    try {
      const hook = sim.createWebhook(sim.addUser().id);
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) statuses.push((await post(`${hook}server.time`)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 503, 503]);
      expect(sim.calls.at(-1)).toMatchObject({ status: 503, errorCode: 'QUERY_LIMIT_EXCEEDED' });
      clock.advance(500); // drains one request
      expect((await post(`${hook}server.time`)).status).toBe(200);
      expect((await post(`${hook}server.time`)).status).toBe(503);
      clock.advance(60_000);
      expect((await post(`${hook}server.time`)).status).toBe(200);
    } finally {
      await sim.stop();
    }
  });

  it('defaults to 2/s drain, 50 queued (frozen clock: the 51st call is refused)', async () => {
    const clock = manualClock();
    const sim = await startPortalSimulator({ now: clock.now });
    try {
      const hook = sim.createWebhook(sim.addUser().id);
      const answers = await Promise.all(Array.from({ length: 51 }, () => post(`${hook}server.time`)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(50);
      const refused = answers.find((a) => a.status === 503);
      expect(refused?.json<ErrorBody>().error).toBe('QUERY_LIMIT_EXCEEDED');
    } finally {
      await sim.stop();
    }
  });
});
