// imbot.v2.Event.get: bot rules, withUserEvents, replies.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { post, type ErrorBody, type PageBody } from './http.js';

describe('simulator: bot events', () => {
  let sim: PortalSimulator;
  let owner: number;
  let hook: string;
  let bot: { botId: number; botToken: string };

  beforeEach(async () => {
    sim = await startPortalSimulator({ rateLimit: false });
    owner = sim.addUser().id;
    hook = sim.createWebhook(owner);
    bot = sim.registerBot(owner, { code: 'helper' });
  });
  afterEach(async () => {
    await sim.stop();
  });

  const botGet = (params: Record<string, unknown>, url = hook) => post(`${url}imbot.v2.Event.get`, params);
  const errorOf = async (params: Record<string, unknown>, url = hook): Promise<[number, string]> => {
    const answer = await botGet(params, url);
    return [answer.status, answer.json<ErrorBody>().error];
  };

  it('enforces botId, botToken (webhook), existence, ownership and the token', async () => {
    expect(await errorOf({ botToken: bot.botToken })).toEqual([400, 'BOT_ID_REQUIRED']);
    expect(await errorOf({ botId: bot.botId })).toEqual([400, 'BOT_TOKEN_NOT_SPECIFIED']);
    expect(await errorOf({ botId: 424242, botToken: bot.botToken })).toEqual([400, 'BOT_NOT_FOUND']);
    // A wrong botToken is another application's key (imbot.v2/events/event-get.md: BOT_OWNERSHIP_ERROR;
    // AUTH_ERROR means the current user could not be determined).
    expect(await errorOf({ botId: bot.botId, botToken: 'wrong' })).toEqual([403, 'BOT_OWNERSHIP_ERROR']);

    const stranger = sim.addUser().id;
    expect(await errorOf({ botId: bot.botId, botToken: bot.botToken }, sim.createWebhook(stranger))).toEqual([403, 'BOT_OWNERSHIP_ERROR']);

    const ok = await botGet({ botId: bot.botId, botToken: bot.botToken });
    expect(ok.status).toBe(200);
    expect(ok.json<PageBody>().result).toEqual({ events: [], nextOffset: 0, hasMore: false });
    expect(sim.calls.map((c) => c.errorCode)).toEqual(['BOT_ID_REQUIRED', 'BOT_TOKEN_NOT_SPECIFIED', 'BOT_NOT_FOUND', 'BOT_OWNERSHIP_ERROR', 'BOT_OWNERSHIP_ERROR', undefined]);
    expect(sim.calls.at(-1)).toMatchObject({ method: 'imbot.v2.Event.get', botId: bot.botId, userId: owner, eventCount: 0 });
  });

  it('with OAuth the token is optional and the bot must belong to the calling app', async () => {
    const app = sim.registerApp();
    const otherApp = sim.registerApp();
    const appBot = sim.registerBot(owner, { clientId: app.clientId });
    const mine = sim.authorizeApp(app.clientId, owner);
    const theirs = sim.authorizeApp(otherApp.clientId, owner);
    sim.emit({ botId: appBot.botId }, 'ONIMBOTV2MESSAGEADD', { n: 1 });
    const ok = await post(`${mine.clientEndpoint}imbot.v2.Event.get`, { auth: mine.accessToken, botId: appBot.botId });
    expect(ok.json<PageBody>().result.events).toHaveLength(1);
    const other = await post(`${theirs.clientEndpoint}imbot.v2.Event.get`, { auth: theirs.accessToken, botId: appBot.botId });
    expect([other.status, other.json<ErrorBody>().error]).toEqual([403, 'BOT_OWNERSHIP_ERROR']);
  });

  it('bots record without a subscription; offsets confirm like user events', async () => {
    const events = sim.activity.generate({ botId: bot.botId }, 5);
    expect(events).toHaveLength(5);
    expect(events.every((e) => e.type.startsWith('ONIMBOTV2'))).toBe(true);
    const first = (await botGet({ botId: bot.botId, botToken: bot.botToken, limit: 3 })).json<PageBody>().result;
    expect(first.events.map((e) => e.eventId)).toEqual(events.slice(0, 3).map((e) => e.eventId));
    expect(first.hasMore).toBe(true);
    const second = (await botGet({ botId: bot.botId, botToken: bot.botToken, offset: first.nextOffset })).json<PageBody>().result;
    expect(second.events.map((e) => e.eventId)).toEqual(events.slice(3).map((e) => e.eventId));
    expect(sim.pendingEvents({ botId: bot.botId })).toHaveLength(2);
  });

  it('withUserEvents needs a subscription, merges both streams in id order and one offset confirms both', async () => {
    expect(await errorOf({ botId: bot.botId, botToken: bot.botToken, withUserEvents: true })).toEqual([400, 'USER_NOT_SUBSCRIBED']);
    sim.subscribe(owner);
    const a = sim.emit({ botId: bot.botId }, 'ONIMBOTV2MESSAGEADD', {});
    const b = sim.emit({ userId: owner }, 'ONIMV2MESSAGEADD', {});
    const c = sim.emit({ botId: bot.botId }, 'ONIMBOTV2COMMANDADD', {});
    const d = sim.emit({ userId: owner }, 'ONIMV2REACTIONCHANGE', {});

    const without = (await botGet({ botId: bot.botId, botToken: bot.botToken })).json<PageBody>().result;
    expect(without.events.map((e) => e.type)).toEqual(['ONIMBOTV2MESSAGEADD', 'ONIMBOTV2COMMANDADD']);

    const merged = (await botGet({ botId: bot.botId, botToken: bot.botToken, withUserEvents: 'Y', limit: 3 })).json<PageBody>().result;
    expect(merged.events.map((e) => e.eventId)).toEqual([a, b, c].map((e) => e?.eventId));
    expect(merged.hasMore).toBe(true);
    expect(sim.pendingEvents({ botId: bot.botId, withUserEvents: true })).toHaveLength(4);

    const rest = (await botGet({ botId: bot.botId, botToken: bot.botToken, withUserEvents: true, offset: merged.nextOffset })).json<PageBody>().result;
    expect(rest.events.map((e) => e.eventId)).toEqual([d?.eventId]);
    expect(sim.pendingEvents({ botId: bot.botId })).toHaveLength(0);
    expect(sim.pendingEvents({ userId: owner }).map((e) => e.eventId)).toEqual([d?.eventId]);
  });

  it('records replies sent with im.message.add and imbot.message.add', async () => {
    const plain = await post(`${hook}im.message.add`, { DIALOG_ID: 'chat100', MESSAGE: 'Hello team' });
    expect(plain.status).toBe(200);
    expect(plain.json()).toMatchObject({ result: (expect.any(Number) as unknown) });
    const asBot = await post(`${hook}imbot.message.add`, { BOT_ID: bot.botId, botToken: bot.botToken, DIALOG_ID: '501', MESSAGE: 'Done' });
    expect(asBot.status).toBe(200);
    const empty = await post(`${hook}im.message.add`, { DIALOG_ID: 'chat100' });
    expect(empty.json<ErrorBody>().error).toBe('MESSAGE_EMPTY');
    expect(sim.sentMessages.map((m) => [m.dialogId, m.text, m.userId, m.botId])).toEqual([
      ['chat100', 'Hello team', owner, undefined],
      ['501', 'Done', undefined, bot.botId],
    ]);
  });
});
