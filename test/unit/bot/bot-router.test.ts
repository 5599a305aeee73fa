// The bot router's decisions, with a fake ctx (the voice is a recording stub):
// command routing and params, fallback, filters, loop guard, and the
// command/message deduplication in both orders of arrival.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type BotContext, type BotRouterOptions, botRouter, leadingCommand, mentionsBot, messageSkipReason } from '../../../functions/bot/bot-router.js';
import { BotConfigError } from '../../../functions/bot/errors.js';
import { InMemorySeenMessages } from '../../../functions/bot/seen-messages.js';
import type { ConsumerHandlers } from '../../../functions/consumers/consumer-handler.js';
import { type BotCommandAddEvent, type BotMessageAddEvent, validateEvent } from '../../../functions/consumers/events.js';
import type { KnownEventType } from '../../../functions/shared/event-types.js';
import { capturingLogger, chatObject, dataFor, messageObject, userObject } from '../consumers/factories.js';

const BOT_ID = 99;

function typed<T extends KnownEventType>(type: T, eventId: number, data: Record<string, unknown>) {
  const result = validateEvent(type, { eventId, type, date: '2025-01-15T10:30:00+02:00', data });
  if (!result.ok) throw new Error(result.issues.join('; '));
  return result.event;
}

interface MessageShape {
  readonly messageId?: number;
  readonly text?: string;
  readonly dialogId?: string;
  readonly user?: Record<string, unknown>;
  readonly message?: Record<string, unknown>;
}

function messageData(shape: MessageShape): Record<string, unknown> {
  const dialogId = shape.dialogId ?? 'chat5';
  return {
    ...dataFor('ONIMBOTV2MESSAGEADD'),
    message: messageObject({ id: shape.messageId ?? 55, text: shape.text ?? 'hello there', ...shape.message }),
    chat: chatObject({ dialogId, ...(dialogId.startsWith('chat') ? {} : { type: 'private' }) }),
    user: userObject(shape.user),
  };
}

function messageEvent(shape: MessageShape = {}, eventId = 10): BotMessageAddEvent {
  return typed('ONIMBOTV2MESSAGEADD', eventId, messageData(shape));
}

function commandEvent(command: string, params: string, shape: MessageShape = {}, eventId = 11): BotCommandAddEvent {
  return typed('ONIMBOTV2COMMANDADD', eventId, {
    ...messageData({ text: `${command}${params === '' ? '' : ` ${params}`}`, ...shape }),
    command: { id: 3, command, params, context: 'textarea' },
  });
}

/** A ConsumerContext with a recording voice: what the router hands to handlers. */
function fakeContext(sourceId = 'helpdesk'): { ctx: BotContext; replies: string[]; lines: ReturnType<typeof capturingLogger>['lines'] } {
  const { logger, lines } = capturingLogger();
  const replies: string[] = [];
  const voice = {
    reply: (textOrFields: string | { message?: string }) => {
      replies.push(typeof textOrFields === 'string' ? textOrFields : (textOrFields.message ?? ''));
      return Promise.resolve([{ messageId: 1 }]);
    },
    typing: () => ({ stop: () => undefined, active: false, sent: 0, settled: () => Promise.resolve() }),
    read: () => Promise.resolve(),
    react: () => Promise.resolve(),
    edit: () => Promise.resolve(),
  };
  const ctx = { sourceId, portal: 'example.bitrix24.com', logger, ...voice } as unknown as BotContext;
  return { ctx, replies, lines };
}

type Handlers = Required<Pick<ConsumerHandlers, 'ONIMBOTV2COMMANDADD' | 'ONIMBOTV2MESSAGEADD'>> & ConsumerHandlers;

/** A router whose handlers record what ran; `/help` and `/remind` are its commands. */
function recordingRouter(extra: Partial<BotRouterOptions> = {}) {
  const ran: string[] = [];
  const handlers = botRouter(
    {
      commands: {
        '/help': (_event, _ctx, command) => {
          ran.push(`help:${command.args.join('|')}`);
          return Promise.resolve();
        },
        '/remind': (_event, ctx, command) => {
          ran.push(`remind:${command.args.join('|')}`);
          return ctx.reply(`ok ${command.args.length}`).then(() => undefined);
        },
      },
      onMessage: (event) => {
        ran.push(`message:${event.data.message.text}`);
        return Promise.resolve();
      },
      seen: new InMemorySeenMessages(),
      ...extra,
    },
    {},
  ) as Handlers;
  return { handlers, ran };
}

describe('bot router: commands', () => {
  it('routes on command.command with its slash and hands over the params split like a shell line', async () => {
    const { handlers, ran } = recordingRouter();
    const { ctx, replies } = fakeContext();

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/remind', '"team lead" \'in 5 min\' now'), ctx);

    expect(ran).toEqual(['remind:team lead|in 5 min|now']);
    expect(replies).toEqual(['ok 3']);
  });

  it('matches regardless of case and gives the name in lower case', async () => {
    const seenNames: string[] = [];
    const handlers = botRouter({ commands: { '/Help': (_e, _c, command) => Promise.resolve(void seenNames.push(command.name)) } }, {}) as Handlers;

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/HELP', ''), fakeContext().ctx);

    expect(seenNames).toEqual(['/help']);
  });

  it('sends an unknown command to the fallback, with its params', async () => {
    const fallback: string[] = [];
    const { handlers, ran } = recordingRouter({
      onCommandFallback: (event, _ctx, command) => Promise.resolve(void fallback.push(`${event.data.command.command}:${command.args.join('|')}`)),
    });

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/weather', 'Berlin today'), fakeContext().ctx);

    expect(fallback).toEqual(['/weather:Berlin|today']);
    expect(ran).toEqual([]);
  });

  it('logs and ignores an unknown command when there is no fallback', async () => {
    const { handlers, ran } = recordingRouter();
    const { ctx, lines } = fakeContext();

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/weather', ''), ctx);

    expect(ran).toEqual([]);
    expect(lines.map((l) => l.message)).toContainEqual(expect.stringMatching(/\/weather has no handler/));
  });

  it.each(['help', '/two words', '/', '/a/b'])('refuses the command name %j at start-up', (name) => {
    expect(() => botRouter({ commands: { [name]: () => Promise.resolve() } }, {})).toThrow(BotConfigError);
  });

  it('refuses two names that differ only in case', () => {
    expect(() => botRouter({ commands: { '/help': () => Promise.resolve(), '/HELP': () => Promise.resolve() } }, {})).toThrow(/twice/);
  });

  it('wires only the event types the bot handles (the rest keep the default consumer)', () => {
    expect(Object.keys(botRouter({}, {})).sort()).toEqual(['ONIMBOTV2DELETE']);
    expect(Object.keys(recordingRouter({ onJoinChat: () => Promise.resolve() }).handlers).sort()).toEqual([
      'ONIMBOTV2COMMANDADD',
      'ONIMBOTV2DELETE',
      'ONIMBOTV2JOINCHAT',
      'ONIMBOTV2MESSAGEADD',
    ]);
  });
});

describe('bot router: filters and loop guard', () => {
  it.each([
    ['a bot', { user: { bot: true } }, 'author is a bot'],
    ['a system message', { message: { isSystem: true } }, 'system message'],
    ['author 0 (system)', { message: { authorId: 0 } }, 'system message'],
    ['the bot itself', { message: { authorId: BOT_ID }, user: { id: BOT_ID } }, "the bot's own message"],
  ])('does not answer %s, neither message nor command', async (_what, shape, reason) => {
    const { handlers, ran } = recordingRouter();
    const { ctx } = fakeContext();

    await handlers.ONIMBOTV2MESSAGEADD(messageEvent(shape), ctx);
    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/help', '', shape), ctx);

    expect(ran).toEqual([]);
    expect(messageSkipReason(messageEvent(shape))).toBe(reason);
  });

  it('answers bots when the loop guard is turned off', async () => {
    const { handlers, ran } = recordingRouter({ filters: { loopGuard: false } });

    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ user: { bot: true }, text: 'beep' }), fakeContext().ctx);

    expect(ran).toEqual(['message:beep']);
  });

  it('with mentionInGroups, hears only mentions of this bot in group chats and everything in a 1:1 dialog', async () => {
    const { handlers, ran } = recordingRouter({ filters: { mentionInGroups: true } });
    const { ctx } = fakeContext();

    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ text: 'no mention here' }), ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ text: '[USER=12]Ann[/USER] not the bot' }), ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ text: `[user=${BOT_ID}]Helper[/user] hi` }), ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ dialogId: '7', text: 'private hello' }), ctx);

    expect(ran).toEqual([`message:[user=${BOT_ID}]Helper[/user] hi`, 'message:private hello']);
  });

  it('runs onMessage only for texts matching a pattern; a global pattern judges every message alone', async () => {
    const { handlers, ran } = recordingRouter({ filters: { text: [/invoice/gi, /^refund\b/] } });
    const { ctx } = fakeContext();

    for (const text of ['Invoice 1', 'Invoice 2', 'a refund', 'refund please', 'hello']) await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ text }), ctx);

    expect(ran).toEqual(['message:Invoice 1', 'message:Invoice 2', 'message:refund please']);
  });

  it('finds mentions and leading commands as Bitrix24 writes them', () => {
    expect(mentionsBot(`hey [USER=${BOT_ID}]Bot[/USER]`, BOT_ID)).toBe(true);
    expect(mentionsBot('[USER=990]x[/USER]', BOT_ID)).toBe(false);
    expect(leadingCommand('/Help me')).toBe('/help');
    expect(leadingCommand(`[USER=${BOT_ID}]Bot[/USER] /help`)).toBe('/help');
    expect(leadingCommand('  /help')).toBe('/help');
    expect(leadingCommand('see /help')).toBeUndefined();
    expect(leadingCommand('/usr/bin is a path')).toBeUndefined();
  });
});

describe('bot router: a command and its message run once (dedupeCommandMessages)', () => {
  it('command first (per-type routing): the mark stops the message handler', async () => {
    const { handlers, ran } = recordingRouter();
    const { ctx } = fakeContext();

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/help', 'me', { messageId: 700 }), ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 700, text: '/help me' }), ctx);

    expect(ran).toEqual(['help:me']);
  });

  it('message first (chat-ordered routing, or per-type): the message is left to its command', async () => {
    const { handlers, ran } = recordingRouter();
    const { ctx } = fakeContext();

    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 700, text: '/help me' }), ctx);
    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/help', 'me', { messageId: 700 }), ctx);

    expect(ran).toEqual(['help:me']);
  });

  it('a command only the fallback handles: deduplicated when the command comes first', async () => {
    const { handlers, ran } = recordingRouter({ onCommandFallback: () => Promise.resolve(void ran.push('fallback')) });
    const { ctx } = fakeContext();

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/weather', '', { messageId: 701 }), ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 701, text: '/weather' }), ctx);

    expect(ran).toEqual(['fallback']);
  });

  it('a slash text that is no command of the router and carried no handled command reaches onMessage', async () => {
    const { handlers, ran } = recordingRouter();

    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 702, text: '/shrug whatever' }), fakeContext().ctx);

    expect(ran).toEqual(['message:/shrug whatever']);
  });

  it('marks the message before the command handler runs, so a failed command does not let the message through', async () => {
    const seen = new InMemorySeenMessages();
    const handlers = botRouter(
      { commands: { '/boom': () => Promise.reject(new Error('boom')) }, onMessage: () => Promise.reject(new Error('onMessage must not run')), seen },
      {},
    ) as Handlers;
    const { ctx } = fakeContext();

    await expect(handlers.ONIMBOTV2COMMANDADD(commandEvent('/boom', '', { messageId: 703 }), ctx)).rejects.toThrow('boom');
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 703, text: 'anything' }), ctx);
  });

  it('keeps marks per source: the same message id of another source is another message', async () => {
    const { handlers, ran } = recordingRouter({ onCommandFallback: () => Promise.resolve(void ran.push('fallback')) });

    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/weather', '', { messageId: 704 }), fakeContext('helpdesk').ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 704, text: 'hello' }), fakeContext('sales').ctx);

    expect(ran).toEqual(['fallback', 'message:hello']);
  });

  it('runs both handlers when deduplication is turned off', async () => {
    const { handlers, ran } = recordingRouter({ dedupeCommandMessages: false });
    const { ctx } = fakeContext();

    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 705, text: '/help' }), ctx);
    await handlers.ONIMBOTV2COMMANDADD(commandEvent('/help', '', { messageId: 705 }), ctx);
    await handlers.ONIMBOTV2MESSAGEADD(messageEvent({ messageId: 705, text: '/help' }), ctx);

    expect(ran).toEqual(['message:/help', 'help:', 'message:/help']);
  });
});

describe('bot router: join and removal hooks', () => {
  const joinData = (user: Record<string, unknown>) => ({ ...dataFor('ONIMBOTV2JOINCHAT'), user: userObject(user) });

  it('greets the chat it was added to, not when a bot added it', async () => {
    const greeted: string[] = [];
    const handlers = botRouter({ onJoinChat: (event, ctx) => ctx.reply(`Hi ${event.data.user.firstName ?? ''}`).then(() => void greeted.push(event.data.dialogId)) }, {});
    const { ctx, replies } = fakeContext();
    const join = handlers.ONIMBOTV2JOINCHAT;
    if (join === undefined) throw new Error('no join handler');

    await join(typed('ONIMBOTV2JOINCHAT', 20, joinData({})), ctx);
    await join(typed('ONIMBOTV2JOINCHAT', 21, joinData({ bot: true })), ctx);

    expect(greeted).toEqual(['chat5']);
    expect(replies).toEqual(['Hi Ann']);
  });

  it('runs the removal hook and says the bot is gone', async () => {
    const removed: number[] = [];
    const handlers = botRouter({ onBotDeleted: (event) => Promise.resolve(void removed.push(event.data.bot?.id ?? 0)) }, {});
    const { ctx, lines } = fakeContext();
    const fixture = JSON.parse(readFileSync(new URL('../../fixtures/events/ONIMBOTV2DELETE/documented-example.json', import.meta.url), 'utf8')) as { data: Record<string, unknown> };
    const onDelete = handlers.ONIMBOTV2DELETE;
    if (onDelete === undefined) throw new Error('no delete handler');

    await onDelete(typed('ONIMBOTV2DELETE', 30, fixture.data), ctx);

    expect(removed).toEqual([456]);
    expect(lines.filter((l) => l.level === 'warn').map((l) => l.message)).toContainEqual(expect.stringMatching(/bot 456 of source helpdesk was removed/));
  });
});
