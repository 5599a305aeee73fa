// The event methods over real HTTP against the portal simulator: subscribe,
// paging with offset confirmation, bot events, the generic call, keep-alive.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bitrix24Client, createBitrix24Client } from '../../../functions/bitrix24/index.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { Capture } from './harness.js';

const capture = new Capture();
let sim: PortalSimulator;
let userId: number;
let client: Bitrix24Client;

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  userId = sim.addUser({ name: 'Reader' }).id;
  const webhookUrl = sim.createWebhook(userId);
  capture.secret(webhookUrl, new URL(webhookUrl).pathname.split('/')[3]);
  client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl }, logger: capture.logger });
});

afterAll(async () => {
  capture.lines.push(client.toString(), JSON.stringify(client));
  await client.close();
  await sim.stop();
  capture.assertNoSecrets();
});

describe('user events', () => {
  it('names the portal host only', () => {
    expect(client.portal).toBe(sim.portalHost);
  });

  it('subscribes, then pages through events with offset confirmation', async () => {
    await client.subscribe();
    await client.subscribe(); // idempotent
    const emitted = sim.activity.generate({ userId }, 25);
    expect(emitted).toHaveLength(25);

    const first = await client.getEvents({ limit: 10 });
    expect(first.events.map((e) => e.eventId)).toEqual(emitted.slice(0, 10).map((e) => e.eventId));
    expect(first.hasMore).toBe(true);
    expect(first.events[0]).toEqual(emitted[0]);

    const seen = [...first.events];
    let offset = first.nextOffset;
    for (;;) {
      const page = await client.getEvents({ offset, limit: 10 });
      seen.push(...page.events);
      offset = page.nextOffset;
      if (!page.hasMore) break;
    }
    expect(seen.map((e) => e.eventId)).toEqual(emitted.map((e) => e.eventId));
    const last = await client.getEvents({ offset });
    expect(last).toEqual({ events: [], nextOffset: offset, hasMore: false });
    expect(sim.pendingEvents({ userId })).toHaveLength(0);
  });

  it('after unsubscribe nothing new is recorded', async () => {
    await client.unsubscribe();
    expect(sim.emit({ userId }, 'ONIMV2MESSAGEADD', {})).toBeUndefined();
    await client.subscribe();
  });
});

describe('bot events', () => {
  it('reads a fetch-mode bot with botToken and withUserEvents', async () => {
    const bot = sim.registerBot(userId, { code: 'helper' });
    capture.secret(bot.botToken);
    const emitted = sim.activity.generate({ botId: bot.botId }, 5);
    const page = await client.getBotEvents({ botId: bot.botId, botToken: bot.botToken, limit: 100, withUserEvents: true });
    expect(page.events.map((e) => e.eventId)).toEqual(expect.arrayContaining(emitted.map((e) => e.eventId)));
    const call = sim.calls.at(-1);
    expect(call).toMatchObject({ method: 'imbot.v2.Event.get', botId: bot.botId, limit: 100, withUserEvents: true });
    const next = await client.getBotEvents({ botId: bot.botId, botToken: bot.botToken, offset: page.nextOffset });
    expect(next.events).toEqual([]);
  });
});

describe('generic call', () => {
  it('calls any method with typed result', async () => {
    const { result } = await client.call<number>('im.message.add', { DIALOG_ID: '1', MESSAGE: 'hello from the client' });
    expect(typeof result).toBe('number');
    expect(sim.sentMessages.at(-1)).toMatchObject({ method: 'im.message.add', text: 'hello from the client' });
  });
});

describe('keep-alive', () => {
  it('reuses one connection for sequential calls', async () => {
    const before = client.transportStats;
    for (let i = 0; i < 20; i += 1) await client.getEvents({ limit: 1 });
    const after = client.transportStats;
    expect(after.requests - before.requests).toBe(20);
    expect(after.connectionsOpened - before.connectionsOpened).toBeLessThanOrEqual(1);
  });
});
