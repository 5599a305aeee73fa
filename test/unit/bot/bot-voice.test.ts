// bot-voice with fakes (no I/O): which method and params each ctx call builds,
// which door it takes (the outbox for replies/reactions/edits, straight for
// typing/read), where the target comes from, and the typed errors.
import { describe, expect, it } from 'vitest';
import { type BotVoiceInput, createBotVoice, type VoiceCallOptions } from '../../../functions/bot/bot-voice.js';
import { ReplyTargetError, VoiceSourceError, VoiceUnsupportedError } from '../../../functions/bot/errors.js';
import { IMBOT_AGENT_ACTION_THINKING } from '../../../functions/bot/typing-keepalive.js';
import type { VoiceSource } from '../../../functions/bot/voice.js';
import { botTokenCaller } from '../../../functions/consumers/bot-token.js';
import { SourceClientError } from '../../../functions/consumers/errors.js';
import type { Bitrix24Caller } from '../../../functions/consumers/source-clients.js';
import { dataFor, rawEvent } from '../consumers/factories.js';
import { ManualClock } from './manual-clock.js';

interface Sent {
  readonly door: 'outbox' | 'direct';
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly options: VoiceCallOptions | undefined;
}

const webhookBot: VoiceSource = { id: 'helpdesk', kind: 'bot', botId: 42, auth: 'webhook' };
const userSource: VoiceSource = { id: 'ann', kind: 'user', auth: 'webhook' };

function voiceFor(type: string, source: VoiceSource | undefined, data: unknown = dataFor(type), extra: Partial<BotVoiceInput> = {}) {
  const sent: Sent[] = [];
  let nextId = 1000;
  const voice = createBotVoice({
    event: rawEvent(type, 7, data),
    sourceId: source?.id ?? 'unknown',
    sources: () => source,
    writes: {
      write: (method, params, options) => {
        sent.push({ door: 'outbox', method, params, options });
        return Promise.resolve({ result: method === 'im.message.add' ? (nextId += 1) : { id: (nextId += 1) } });
      },
    },
    calls: {
      call: (method, params, options) => {
        sent.push({ door: 'direct', method, params, options });
        return Promise.resolve({ result: true });
      },
    },
    ...extra,
  });
  return { voice, sent };
}

describe('ctx.reply', () => {
  it('as the bot: imbot.v2.Chat.Message.send {botId, dialogId = chat.dialogId, fields} through the outbox, botToken left to the client', async () => {
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEADD', webhookBot);

    const messages = await voice.reply({ message: 'hi', keyboard: [{ TEXT: 'ok' }], replyId: 55, system: false, urlPreview: true });

    expect(sent).toEqual([
      {
        door: 'outbox',
        method: 'imbot.v2.Chat.Message.send',
        params: { botId: 42, dialogId: 'chat5', fields: { message: 'hi', keyboard: [{ TEXT: 'ok' }], replyId: 55, system: false, urlPreview: true } },
        options: { asBot: true },
      },
    ]);
    expect(JSON.stringify(sent)).not.toContain('botToken');
    expect(messages).toEqual([{ messageId: 1001 }]);
  });

  it('in a 1:1 dialog answers the event\'s dialogId (the counterpart\'s id)', async () => {
    const data = { ...dataFor('ONIMBOTV2MESSAGEADD'), chat: { id: 9, dialogId: '17', type: 'private' } };
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEADD', webhookBot, data);
    await voice.reply('hello');
    expect(sent[0]?.params.dialogId).toBe('17');
  });

  it('on ONIMBOTV2COMMANDADD answers the command: imbot.v2.Command.answer {commandId, messageId, dialogId}, no replyId', async () => {
    const { voice, sent } = voiceFor('ONIMBOTV2COMMANDADD', webhookBot);

    const messages = await voice.reply({ message: 'help text', replyId: 3 });

    expect(sent).toEqual([
      { door: 'outbox', method: 'imbot.v2.Command.answer', params: { botId: 42, commandId: 3, messageId: 55, dialogId: 'chat5', fields: { message: 'help text' } }, options: { asBot: true } },
    ]);
    expect(messages).toEqual([{ messageId: undefined }]);
  });

  it('for a user source: im.message.add as that user, booleans as Y/N', async () => {
    const { voice, sent } = voiceFor('ONIMV2MESSAGEADD', userSource);

    const messages = await voice.reply({ message: 'on it', system: true, urlPreview: false, replyId: 55 });

    expect(sent).toEqual([{ door: 'outbox', method: 'im.message.add', params: { DIALOG_ID: 'chat5', MESSAGE: 'on it', SYSTEM: 'Y', URL_PREVIEW: 'N', REPLY_ID: 55 }, options: undefined }]);
    expect(messages).toEqual([{ messageId: 1001 }]);
  });

  it('splits a text over 20,000 characters in order: replyId with the first part, attach and keyboard with the last', async () => {
    const paragraph = 'x'.repeat(9_000);
    const text = [paragraph, paragraph, paragraph].join('\n\n');
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEADD', webhookBot);

    const messages = await voice.reply({ message: text, replyId: 55, attach: [{ MESSAGE: 'a' }], keyboard: [{ TEXT: 'k' }] });

    const fields = sent.map((s) => s.params.fields as Record<string, unknown>);
    expect(fields.map((f) => (f.message as string).length)).toEqual([18_002, 9_000]);
    expect(fields.map((f) => Object.keys(f).sort())).toEqual([['message', 'replyId'], ['attach', 'keyboard', 'message']]);
    expect(fields.map((f) => f.message).join('\n\n')).toBe(text);
    expect(messages.map((m) => m.messageId)).toEqual([1001, 1002]);
  });

  it("converts Markdown with { format: 'markdown' } and sends BB-code as is by default", async () => {
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEADD', webhookBot);
    await voice.reply('**bold** and `code`', { format: 'markdown' });
    await voice.reply('**bold**');
    expect(sent.map((s) => (s.params.fields as { message: string }).message)).toEqual(['[b]bold[/b] and [code]code[/code]', '**bold**']);
  });

  it('throws ReplyTargetError when the event names no dialog (ONIMBOTV2DELETE), sending nothing', async () => {
    const { voice, sent } = voiceFor('ONIMBOTV2DELETE', webhookBot);
    await expect(voice.reply('bye')).rejects.toBeInstanceOf(ReplyTargetError);
    expect(() => voice.typing()).toThrow(ReplyTargetError);
    expect(sent).toEqual([]);
  });

  it('an unconfigured source: a bot event answers as the bot it names; a user event throws VoiceSourceError', async () => {
    const bot = voiceFor('ONIMBOTV2MESSAGEADD', undefined);
    await bot.voice.reply('hi');
    expect(bot.sent[0]?.params.botId).toBe(99);

    const user = voiceFor('ONIMV2MESSAGEADD', undefined);
    await expect(user.voice.reply('hi')).rejects.toBeInstanceOf(VoiceSourceError);
    expect(user.sent).toEqual([]);
  });
});

describe('ctx.typing', () => {
  it('imbot.v2.Chat.InputAction.notify straight to the client (not the outbox), kept alive, stopped by the reply', async () => {
    const clock = new ManualClock();
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEADD', webhookBot, undefined, { typing: { clock, durationSeconds: 30 } });

    voice.typing(IMBOT_AGENT_ACTION_THINKING);
    await clock.advance(25_000);
    await clock.advance(25_000);
    await voice.reply('done');
    await clock.advance(120_000);

    expect(sent.map((s) => `${s.door} ${s.method}`)).toEqual([
      'direct imbot.v2.Chat.InputAction.notify',
      'direct imbot.v2.Chat.InputAction.notify',
      'direct imbot.v2.Chat.InputAction.notify',
      'outbox imbot.v2.Chat.Message.send',
    ]);
    expect(sent[0]).toEqual({
      door: 'direct',
      method: 'imbot.v2.Chat.InputAction.notify',
      params: { botId: 42, dialogId: 'chat5', duration: 30, statusMessageCode: 'IMBOT_AGENT_ACTION_THINKING' },
      options: { asBot: true, methodKind: 'read' },
    });
    expect(clock.pending).toBe(0);
  });

  it('finish() (the handler returned) stops the keep-alive', async () => {
    const clock = new ManualClock();
    const { voice, sent } = voiceFor('ONIMV2MESSAGEADD', userSource, undefined, { typing: { clock } });
    voice.typing();
    voice.finish();
    await clock.advance(600_000);
    expect(sent.map((s) => `${s.method} ${JSON.stringify(s.params)}`)).toEqual(['im.dialog.writing {"DIALOG_ID":"chat5"}']);
    expect(clock.pending).toBe(0);
  });
});

describe('ctx.read / react / edit', () => {
  it('bot source: read up to the event message (direct), react and edit through the outbox', async () => {
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEADD', webhookBot);

    await voice.read();
    await voice.react('like');
    await voice.edit(1234, '**new**', { format: 'markdown' });

    expect(sent).toEqual([
      { door: 'direct', method: 'imbot.v2.Chat.Message.read', params: { botId: 42, dialogId: 'chat5', messageId: 55 }, options: { asBot: true, methodKind: 'read' } },
      { door: 'outbox', method: 'imbot.v2.Chat.Message.Reaction.add', params: { botId: 42, messageId: 55, reaction: 'like' }, options: { asBot: true } },
      { door: 'outbox', method: 'imbot.v2.Chat.Message.update', params: { botId: 42, messageId: 1234, fields: { message: '[b]new[/b]' } }, options: { asBot: true } },
    ]);
  });

  it('user source: im.dialog.read, im.message.like for "like" only, im.message.update', async () => {
    const { voice, sent } = voiceFor('ONIMV2MESSAGEADD', userSource);

    await voice.read();
    await voice.react('like');
    await expect(voice.react('fire')).rejects.toBeInstanceOf(VoiceUnsupportedError);
    await voice.edit(1234, 'fixed');

    expect(sent.map((s) => [s.method, s.params])).toEqual([
      ['im.dialog.read', { DIALOG_ID: 'chat5', MESSAGE_ID: 55 }],
      ['im.message.like', { MESSAGE_ID: 55, ACTION: 'plus' }],
      ['im.message.update', { MESSAGE_ID: 1234, MESSAGE: 'fixed' }],
    ]);
  });

  it('a deleted message cannot be reacted to; the dialog is still read (without messageId); an edit over 20,000 is refused', async () => {
    const { voice, sent } = voiceFor('ONIMBOTV2MESSAGEDELETE', webhookBot);

    await expect(voice.react('like')).rejects.toBeInstanceOf(ReplyTargetError);
    await voice.read();
    await expect(voice.edit(1234, 'x'.repeat(20_001))).rejects.toBeInstanceOf(VoiceUnsupportedError);
    await expect(voice.edit(0, 'x')).rejects.toBeInstanceOf(ReplyTargetError);

    expect(sent.map((s) => [s.method, s.params])).toEqual([['imbot.v2.Chat.Message.read', { botId: 42, dialogId: 'chat5' }]]);
  });
});

describe('botTokenCaller (asBot for clients that hold the token)', () => {
  const recorded: { params: Record<string, unknown> | undefined; options: unknown }[] = [];
  const inner: Bitrix24Caller = {
    portal: 'example.bitrix24.com',
    call: <T>(_method: string, params?: Record<string, unknown>, options?: unknown) => {
      recorded.push({ params, options });
      return Promise.resolve({ result: true as T });
    },
  };

  it('adds botToken to asBot calls with webhook auth only, and never passes asBot on', async () => {
    recorded.length = 0;
    await botTokenCaller(inner, { sourceId: 's', auth: 'webhook', botToken: 'tok' }).call('imbot.v2.Chat.Message.send', { botId: 1 }, { asBot: true, methodKind: 'write' });
    await botTokenCaller(inner, { sourceId: 's', auth: 'oauth', botToken: 'tok' }).call('imbot.v2.Chat.Message.send', { botId: 1 }, { asBot: true });
    await botTokenCaller(inner, { sourceId: 's', auth: 'webhook', botToken: 'tok' }).call('im.message.add', { DIALOG_ID: '1' });
    expect(recorded).toEqual([
      { params: { botId: 1, botToken: 'tok' }, options: { methodKind: 'write' } },
      { params: { botId: 1 }, options: {} },
      { params: { DIALOG_ID: '1' }, options: undefined },
    ]);
  });

  it('a webhook source without a botToken fails before sending, without echoing any secret', async () => {
    recorded.length = 0;
    const call = botTokenCaller(inner, { sourceId: 's', auth: 'webhook' }).call('imbot.v2.Chat.Message.send', { botId: 1 }, { asBot: true });
    await expect(call).rejects.toBeInstanceOf(SourceClientError);
    expect(recorded).toEqual([]);
  });
});
