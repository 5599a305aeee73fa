// Talking to a bot (sim.say and POST /_sim/say): the events Bitrix24 delivers
// by bot type (index.md "Bot Types"; imbot.v2/events/events.md), joins,
// reactions and context requests; plus the protocol details of §3 (OAuth
// domain, INVALID_REQUEST).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { validateKnownEvent } from '../../../functions/consumers/events.js';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { get, post, type ErrorBody } from './http.js';

describe('simulator: talking to a bot', () => {
  let sim: PortalSimulator;
  let ann: number;
  let boris: number;

  beforeEach(async () => {
    sim = await startPortalSimulator({ rateLimit: false });
    ann = sim.addUser({ name: 'Ann Lee' }).id;
    boris = sim.addUser({ name: 'Boris Petrov' }).id;
    sim.subscribe(ann);
  });
  afterEach(async () => {
    await sim.stop();
  });

  const typesOf = (botId: number) => sim.pendingEvents({ botId }).map((e) => e.type);

  it('a bot-type bot hears group messages only when @mentioned, and every message of its 1:1 dialog', () => {
    const { botId } = sim.registerBot(ann, { code: 'helper', name: 'Helper' });
    const { chatId } = sim.createChat({ ownerId: ann, memberIds: [boris, botId] });

    sim.say({ fromUserId: boris, chatId, text: 'lunch at 1?' });
    expect(typesOf(botId)).toEqual([]);
    sim.say({ fromUserId: boris, chatId, text: `[USER=${botId}]Helper[/USER] where is my order?` });
    sim.say({ fromUserId: boris, dialogId: String(botId), text: 'hi in private' });

    const events = sim.pendingEvents({ botId });
    expect(events.map((e) => e.type)).toEqual(['ONIMBOTV2MESSAGEADD', 'ONIMBOTV2MESSAGEADD']);
    expect(events[1]?.data).toMatchObject({ chat: { type: 'private', dialogId: String(boris) }, user: { id: boris } });
    // Ann's user source sees every group message (she is subscribed and a member), but not Boris's private one.
    expect(sim.pendingEvents({ userId: ann }).filter((e) => e.type === 'ONIMV2MESSAGEADD')).toHaveLength(2);
    expect(events.every((e) => validateKnownEvent(e)?.ok === true)).toBe(true);
  });

  it('a supervisor (and a personal) bot hears every message of its chats', () => {
    const supervisor = sim.registerBot(ann, { code: 'watch', type: 'supervisor' }).botId;
    const personal = sim.registerBot(ann, { code: 'mine', type: 'personal' }).botId;
    const { chatId } = sim.createChat({ ownerId: ann, memberIds: [boris, supervisor, personal] });
    sim.say({ fromUserId: boris, chatId, text: 'lunch at 1?' });
    expect(typesOf(supervisor)).toEqual(['ONIMBOTV2MESSAGEADD']);
    expect(typesOf(personal)).toEqual(['ONIMBOTV2MESSAGEADD']);
  });

  it('ONIMBOTV2JOINCHAT when the bot is added (user = who added it), none when someone else joins', () => {
    const { botId } = sim.registerBot(ann, { code: 'helper' });
    const { chatId, dialogId } = sim.createChat({ ownerId: ann });
    sim.addToChat({ chatId, memberId: botId, byUserId: ann });
    sim.addToChat({ chatId, memberId: boris, byUserId: ann });
    const events = sim.pendingEvents({ botId });
    expect(events.map((e) => e.type)).toEqual(['ONIMBOTV2JOINCHAT']);
    expect(events[0]?.data).toMatchObject({ dialogId, chat: { id: chatId }, user: { id: ann }, bot: { id: botId, eventMode: 'fetch' } });
    // Ann's source sees both joins, `user` = the added one.
    expect(sim.pendingEvents({ userId: ann }).filter((e) => e.type === 'ONIMV2JOINCHAT').map((e) => (e.data as { user: { id: number } }).user.id)).toEqual([botId, boris]);
  });

  it('reactions reach a bot only for its own messages; edits and deletes of mentioned messages reach it', async () => {
    const { botId, botToken } = sim.registerBot(ann, { code: 'helper' });
    const { chatId, dialogId } = sim.createChat({ ownerId: ann, memberIds: [boris, botId] });
    const plain = sim.say({ fromUserId: boris, chatId, text: 'no mention' });
    sim.react({ fromUserId: ann, messageId: plain.messageId });
    expect(typesOf(botId)).toEqual([]);

    const hook = sim.createWebhook(ann);
    const sent = await post(`${hook}imbot.v2.Chat.Message.send`, { botId, botToken, dialogId, fields: { message: 'I am here' } });
    const own = sent.json<{ result: { id: number } }>().result.id;
    sim.react({ fromUserId: boris, messageId: own, reaction: 'like' });
    sim.react({ fromUserId: boris, messageId: own, reaction: 'like', action: 'delete' });

    const mentioned = sim.say({ fromUserId: boris, chatId, text: `[USER=${botId}]Bot[/USER] hi` });
    sim.edit({ fromUserId: boris, messageId: mentioned.messageId, text: `[USER=${botId}]Bot[/USER] hello` });
    sim.deleteMessage({ fromUserId: boris, messageId: mentioned.messageId });

    const events = sim.pendingEvents({ botId });
    expect(events.map((e) => e.type)).toEqual(['ONIMBOTV2REACTIONCHANGE', 'ONIMBOTV2REACTIONCHANGE', 'ONIMBOTV2MESSAGEADD', 'ONIMBOTV2MESSAGEUPDATE', 'ONIMBOTV2MESSAGEDELETE']);
    expect(events[0]?.data).toMatchObject({ reaction: 'like', action: 'add', message: { id: own, authorId: botId }, user: { id: boris } });
    expect(events[4]?.data).toMatchObject({ messageId: mentioned.messageId, user: { id: boris } });
    expect(events.every((e) => validateKnownEvent(e)?.ok === true)).toBe(true);
  });

  it('a keyboard button runs a command (context "keyboard"); a context link gives ONIMBOTV2CONTEXTGET', async () => {
    const { botId, botToken } = sim.registerBot(ann, { code: 'helper', botToken: 'tok' });
    const hook = sim.createWebhook(ann);
    await post(`${hook}imbot.v2.Command.register`, { botId, botToken, fields: { command: 'status', hidden: true } });
    sim.pressButton({ fromUserId: boris, dialogId: String(botId), command: '/status', params: 'deal 1042' });
    sim.sendContext({ botId, fromUserId: boris, context: { pairCode: '13bd812901b295c50adbc' } });
    const events = sim.pendingEvents({ botId });
    expect(events.map((e) => e.type)).toEqual(['ONIMBOTV2MESSAGEADD', 'ONIMBOTV2COMMANDADD', 'ONIMBOTV2CONTEXTGET']);
    expect(events[1]?.data).toMatchObject({ command: { command: '/status', params: 'deal 1042', context: 'keyboard' } });
    expect(events[2]?.data).toMatchObject({ dialogId: String(boris), context: { pairCode: '13bd812901b295c50adbc' }, chat: { dialogId: String(boris) }, user: { id: boris } });
  });

  it('POST /_sim/say speaks over HTTP; a usage error answers 400 SIMULATOR_USAGE', async () => {
    const { botId } = sim.registerBot(ann, { code: 'helper' });
    const said = await post(`${sim.baseUrl}/_sim/say`, { fromUserId: boris, dialogId: String(botId), text: 'hello bot' });
    expect(said.status).toBe(200);
    expect(said.json()).toMatchObject({ result: { messageId: expect.any(Number) as unknown, dialogId: String(botId) } });
    expect(sim.pendingEvents({ botId }).map((e) => e.type)).toEqual(['ONIMBOTV2MESSAGEADD']);
    const bad = await post(`${sim.baseUrl}/_sim/say`, { fromUserId: boris, dialogId: 'chat424242', text: 'x' });
    expect([bad.status, bad.json<ErrorBody>().error]).toEqual([400, 'SIMULATOR_USAGE']);
  });
});

describe('simulator: protocol details per the docs', () => {
  it('the OAuth renewal answers domain = the OAuth server, client_endpoint = the portal', async () => {
    const sim = await startPortalSimulator({ rateLimit: false });
    try {
      const user = sim.addUser().id;
      const app = sim.registerApp();
      const tokens = sim.authorizeApp(app.clientId, user);
      const query = new URLSearchParams({ grant_type: 'refresh_token', client_id: app.clientId, client_secret: app.clientSecret, refresh_token: tokens.refreshToken });
      const answer = (await get(`${sim.oauthTokenUrl}?${query.toString()}`)).json<{ domain: string; client_endpoint: string }>();
      expect(answer.domain).toBe('oauth.bitrix.info');
      expect(answer.client_endpoint).toBe(`${sim.baseUrl}/rest/`);
    } finally {
      await sim.stop();
    }
  });

  it('INVALID_REQUEST means "HTTPS required"; an unparsable body is not that', async () => {
    const plain = await startPortalSimulator({ rateLimit: false, requireHttps: true });
    const normal = await startPortalSimulator({ rateLimit: false });
    try {
      const hook = plain.createWebhook(plain.addUser().id);
      const refused = await post(`${hook}server.time`);
      expect([refused.status, refused.json<ErrorBody>().error]).toEqual([400, 'INVALID_REQUEST']);
      const { request } = await import('undici');
      const res = await request(`${normal.createWebhook(normal.addUser().id)}server.time`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
      expect(res.statusCode).toBe(200);
      await res.body.text();
    } finally {
      await plain.stop();
      await normal.stop();
    }
  });
});
