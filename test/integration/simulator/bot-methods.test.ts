// The imbot.v2 methods a bot calls, over HTTP, with the params, limits and
// codes of their doc pages (api-reference/chat-bots/chat-bots-v2/imbot.v2/…).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPortalSimulator, type PortalSimulator } from '../../../functions/simulator/index.js';
import { post, type ErrorBody, type PageBody } from './http.js';

interface BotAnswer {
  result: { bot: Record<string, unknown> & { id: number }; users: Record<string, unknown>[] };
}

describe('simulator: imbot.v2 bot methods', () => {
  let sim: PortalSimulator;
  let owner: number;
  let hook: string;

  beforeEach(async () => {
    sim = await startPortalSimulator({ rateLimit: false });
    owner = sim.addUser({ name: 'Olga Owner' }).id;
    hook = sim.createWebhook(owner);
    sim.subscribe(owner);
  });
  afterEach(async () => {
    await sim.stop();
  });

  const call = (method: string, params: Record<string, unknown>) => post(`${hook}${method}`, params);
  const errorOf = async (method: string, params: Record<string, unknown>): Promise<[number, string]> => {
    const answer = await call(method, params);
    return [answer.status, answer.json<ErrorBody>().error];
  };
  const register = (fields: Record<string, unknown>) => call('imbot.v2.Bot.register', { fields });
  const botEvents = async (botId: number, botToken: string) =>
    (await call('imbot.v2.Event.get', { botId, botToken, limit: 100 })).json<PageBody>().result.events;

  describe('Bot.register / update / list / unregister (imbot.v2/bots/*.md)', () => {
    it('registers a fetch-mode bot, idempotent per code, and answers the full bot object', async () => {
      const fields = { code: 'support_bot', botToken: 'tok-support-1', type: 'bot', eventMode: 'fetch', properties: { name: 'Support' } };
      const first = (await register(fields)).json<BotAnswer>().result;
      expect(first.bot).toMatchObject({ code: 'support_bot', type: 'bot', eventMode: 'fetch', moduleId: 'rest', isHidden: false, backgroundId: null, countCommand: 0 });
      expect(first.users[0]).toMatchObject({ id: first.bot.id, bot: true, type: 'bot' });
      const again = (await register({ ...fields, properties: { name: 'Renamed' } })).json<BotAnswer>().result;
      expect(again.bot.id).toBe(first.bot.id);
      expect(again.users[0]).toMatchObject({ name: 'Support' });
      expect(sim.records.botCalls.map((c) => c.created)).toEqual([true, false]);
    });

    it('answers the documented codes: code, properties, token, type, event mode, token length, code of another app, 100 bots', async () => {
      const ok = { code: 'b', botToken: 't', properties: { name: 'B' } };
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, code: undefined } })).toEqual([400, 'BOT_CODE_REQUIRED']);
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, properties: {} } })).toEqual([400, 'BOT_PROPERTIES_REQUIRED']);
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, botToken: undefined } })).toEqual([400, 'BOT_TOKEN_NOT_SPECIFIED']);
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, type: 'robot' } })).toEqual([400, 'BOT_INVALID_TYPE']);
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, eventMode: 'push' } })).toEqual([400, 'BOT_INVALID_EVENT_MODE']);
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, eventMode: 'webhook' } })).toEqual([400, 'BOT_WEBHOOK_URL_REQUIRED']);
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, botToken: 'x'.repeat(41) } })).toEqual([400, 'BOT_TOKEN_INVALID_LENGTH']);
      expect((await register({ ...ok, botToken: 'x'.repeat(40) })).status).toBe(200);

      const stranger = sim.addUser().id;
      const theirs = await post(`${sim.createWebhook(stranger)}imbot.v2.Bot.register`, { fields: ok });
      expect([theirs.status, theirs.json<ErrorBody>().error]).toEqual([400, 'BOT_CODE_ALREADY_TAKEN']);

      for (let i = 1; i < 100; i += 1) sim.registerBot(owner, { code: `filler_${i}` });
      expect(await errorOf('imbot.v2.Bot.register', { fields: { ...ok, code: 'one_too_many' } })).toEqual([400, 'BOT_LIMIT_EXCEEDED']);
    });

    it('updates, lists the app\'s bots, and unregisters with ONIMBOTV2DELETE as the last readable event', async () => {
      const { botId, botToken } = sim.registerBot(owner, { code: 'helper', botToken: 'tok-helper' });
      sim.registerBot(owner, { code: 'watcher', type: 'supervisor' });
      const updated = (await call('imbot.v2.Bot.update', { botId, botToken, fields: { properties: { name: 'Helper 2' }, isHidden: true } })).json<BotAnswer>().result;
      expect(updated.bot).toMatchObject({ id: botId, isHidden: true });
      expect(updated.users[0]).toMatchObject({ name: 'Helper 2' });
      expect(await errorOf('imbot.v2.Bot.update', { botId, botToken, fields: { botToken: 'y'.repeat(41) } })).toEqual([400, 'BOT_TOKEN_INVALID_LENGTH']);

      const listed = (await call('imbot.v2.Bot.list', { botToken, filter: { type: 'supervisor' } })).json<{ result: { bots: { code: string }[]; hasNextPage: boolean } }>().result;
      expect(listed).toMatchObject({ bots: [{ code: 'watcher' }], hasNextPage: false });
      expect(await errorOf('imbot.v2.Bot.list', {})).toEqual([400, 'BOT_TOKEN_NOT_SPECIFIED']);

      const gone = await call('imbot.v2.Bot.unregister', { botId, botToken });
      expect(gone.json()).toMatchObject({ result: { result: true } });
      const events = await botEvents(botId, botToken);
      expect(events.at(-1)).toMatchObject({ type: 'ONIMBOTV2DELETE', data: { bot: { id: botId, code: 'helper' } } });
      expect(await errorOf('imbot.v2.Chat.Message.send', { botId, botToken, dialogId: String(owner), fields: { message: 'hi' } })).toEqual([400, 'BOT_NOT_FOUND']);
    });
  });

  describe('Chat.Message.* and InputAction.notify (imbot.v2/messages/*.md, imbot.v2/ui/*.md)', () => {
    it('sends as the bot: v2 codes, 20,000-character cut, a real message its chat members see as events', async () => {
      const { botId, botToken } = sim.registerBot(owner, { code: 'helper', botToken: 'tok-helper' });
      const { chatId, dialogId } = sim.createChat({ ownerId: owner, name: 'Team', memberIds: [botId] });
      const send = (params: Record<string, unknown>) => call('imbot.v2.Chat.Message.send', { botId, botToken, ...params });

      expect(await errorOf('imbot.v2.Chat.Message.send', { botId, botToken, dialogId, fields: { message: '' } })).toEqual([400, 'EMPTY_MESSAGE']);
      const other = sim.createChat({ ownerId: owner, name: 'Without the bot' });
      expect(await errorOf('imbot.v2.Chat.Message.send', { botId, botToken, dialogId: other.dialogId, fields: { message: 'hi' } })).toEqual([403, 'ACCESS_DENIED']);

      const sent = (await send({ dialogId, fields: { message: 'a'.repeat(20_010), templateId: '5d1c2c5e-9d3b-4a51-8f4e-2b8d7c6a1f00' } })).json<{ result: { id: number; uuidMap: Record<string, number> } }>().result;
      expect(sent.uuidMap).toEqual({ '5d1c2c5e-9d3b-4a51-8f4e-2b8d7c6a1f00': sent.id });
      const stored = sim.records.messages.at(-1);
      expect(stored).toMatchObject({ id: sent.id, botId, dialogId, method: 'imbot.v2.Chat.Message.send' });
      expect(stored?.text).toHaveLength(20_000);
      expect(stored?.text.endsWith(' (...)')).toBe(true);

      // The owner's user source sees the bot's message as ONIMV2MESSAGEADD, authored by the bot user.
      const userEvents = sim.pendingEvents({ userId: owner }).filter((e) => e.type === 'ONIMV2MESSAGEADD');
      expect(userEvents.at(-1)?.data).toMatchObject({ message: { id: sent.id, chatId, authorId: botId }, user: { id: botId, bot: true, type: 'bot' }, chat: { dialogId } });
      // … and the bot gets no event of its own message.
      expect((await botEvents(botId, botToken)).filter((e) => e.type === 'ONIMBOTV2MESSAGEADD')).toEqual([]);
    });

    it('updates and deletes only its own messages, reads, and shows typing with documented codes and durations', async () => {
      const { botId, botToken } = sim.registerBot(owner, { code: 'helper', botToken: 'tok-helper' });
      const { dialogId } = sim.createChat({ ownerId: owner, memberIds: [botId] });
      const said = sim.say({ fromUserId: owner, dialogId, text: 'a user message' });
      const own = (await call('imbot.v2.Chat.Message.send', { botId, botToken, dialogId, fields: { message: 'mine' } })).json<{ result: { id: number } }>().result.id;

      expect(await errorOf('imbot.v2.Chat.Message.update', { botId, botToken, messageId: said.messageId, fields: { message: 'x' } })).toEqual([403, 'ACCESS_DENIED']);
      expect((await call('imbot.v2.Chat.Message.update', { botId, botToken, messageId: own, fields: { message: 'mine, edited' } })).json()).toMatchObject({ result: { result: true } });
      expect(await errorOf('imbot.v2.Chat.Message.delete', { botId, botToken, messageId: said.messageId })).toEqual([403, 'ACCESS_DENIED']);
      expect((await call('imbot.v2.Chat.Message.delete', { botId, botToken, messageId: own })).status).toBe(200);
      const read = (await call('imbot.v2.Chat.Message.read', { botId, botToken, dialogId })).json<{ result: { lastId: number; viewedMessages: number[] } }>().result;
      expect(read.viewedMessages).toEqual([said.messageId]);
      expect(await errorOf('imbot.v2.Chat.Message.read', { botId, botToken, dialogId, messageId: 1 })).toEqual([400, 'MESSAGE_NOT_FOUND']);

      const notify = (params: Record<string, unknown>) => call('imbot.v2.Chat.InputAction.notify', { botId, botToken, dialogId, ...params });
      expect((await notify({ statusMessageCode: 'IMBOT_AGENT_ACTION_THINKING', duration: 30 })).status).toBe(200);
      expect((await notify({})).status).toBe(200);
      expect((await notify({ duration: 601 })).status).toBe(400);
      expect((await notify({ statusMessageCode: 'IMBOT_AGENT_ACTION_DREAMING' })).status).toBe(400);

      expect(sim.records.edits).toEqual([expect.objectContaining({ botId, messageId: own, text: 'mine, edited' })]);
      expect(sim.records.deletes).toEqual([expect.objectContaining({ botId, messageId: own, complete: false })]);
      expect(sim.records.reads).toEqual([expect.objectContaining({ botId, dialogId })]);
      expect(sim.records.typing.map((t) => t.statusMessageCode)).toEqual(['IMBOT_AGENT_ACTION_THINKING', undefined]);
      // The owner's source saw the edit and the delete of the bot's message.
      expect(sim.pendingEvents({ userId: owner }).map((e) => e.type)).toEqual(
        expect.arrayContaining(['ONIMV2MESSAGEUPDATE', 'ONIMV2MESSAGEDELETE']),
      );
    });
  });

  describe('Command.register / answer (imbot.v2/commands/*.md)', () => {
    it('a registered command arrives with its slash as ONIMBOTV2COMMANDADD, and the answer is posted and recorded', async () => {
      const { botId, botToken } = sim.registerBot(owner, { code: 'helper', botToken: 'tok-helper' });
      expect(await errorOf('imbot.v2.Command.register', { botId, botToken, fields: {} })).toEqual([400, 'COMMAND_REQUIRED']);
      expect(await errorOf('imbot.v2.Command.register', { botId, botToken, fields: { command: 'help' } })).toEqual([400, 'COMMAND_TITLE_REQUIRED']);
      const registered = (await call('imbot.v2.Command.register', { botId, botToken, fields: { command: 'help', title: { en: 'Show help' }, params: { en: '[topic]' } } }))
        .json<{ result: { command: { id: number; command: string } } }>().result.command;
      expect(registered).toMatchObject({ botId, command: '/help', common: false, hidden: false, extranetSupport: false });
      const again = (await call('imbot.v2.Command.register', { botId, botToken, fields: { command: 'help', title: 'Other' } })).json<{ result: { command: { id: number } } }>();
      expect(again.result.command.id).toBe(registered.id);

      const said = sim.say({ fromUserId: owner, dialogId: String(botId), text: '/help topic' });
      const events = await botEvents(botId, botToken);
      expect(events.map((e) => e.type)).toEqual(['ONIMBOTV2MESSAGEADD', 'ONIMBOTV2COMMANDADD']);
      const commandData = events[1]?.data;
      expect(commandData).toMatchObject({
        bot: { id: botId, countCommand: 1 },
        command: { id: registered.id, command: '/help', params: 'topic', context: 'textarea' },
        message: { id: said.messageId, text: '/help topic' },
        chat: { dialogId: String(owner), type: 'private' },
        user: { id: owner },
      });

      const answer = await call('imbot.v2.Command.answer', { botId, botToken, commandId: registered.id, messageId: said.messageId, dialogId: String(owner), fields: { message: 'Here is the help.' } });
      expect(answer.json()).toMatchObject({ result: { result: true } });
      expect(sim.records.commandAnswers).toEqual([expect.objectContaining({ botId, commandId: registered.id, messageId: said.messageId, text: 'Here is the help.' })]);
      expect(await errorOf('imbot.v2.Command.answer', { botId, botToken, commandId: 999, messageId: said.messageId, dialogId: String(owner), fields: { message: 'x' } })).toEqual([400, 'COMMAND_ANSWER_FAILED']);
    });
  });
});
