// Route a bot's events like a bot framework (issue 12 §2): slash commands by
// name, a message handler behind filters and a loop guard, a greeting hook and
// a removal hook — as ConsumerHandlers, the one consumer API:
//
//   export const handler = lambdaConsumer(botRouter({
//     commands: { '/help': async (event, ctx) => { await ctx.reply('…'); } },
//     onMessage: async (event, ctx) => { await ctx.reply(`You said ${event.data.message.text}`); },
//   }));
//
// Shapes per the docs (api-reference/chat-bots/chat-bots-v2/imbot.v2/events/events.md):
//  - ONIMBOTV2COMMANDADD carries `command {id, command: "/help", params, context}`
//    and the message that carried it; "if a single message contains multiple
//    slash commands, an event is generated separately for each command".
//  - The same message also arrives as ONIMBOTV2MESSAGEADD, with another event id,
//    so the run-once guard per event does not join the two.
//
// Command and message of one message (dedupeCommandMessages, default on): the
// message handler is not run for a message that carried a handled command.
// Which of the two events is handled first depends on the routing (docs/delivery.md):
//  - chat-ordered: one queue, one chat's events in event-id order. Bitrix24
//    (and the simulator, messenger.ts `post`) records the MESSAGEADD before its
//    COMMANDADD, so the message always comes first: no mark can exist yet. The
//    router therefore recognises the command in the text itself — a message
//    whose first word is one of `commands` is left to the command handler.
//  - per-type (default): two queues, two consumers, either order, even at the
//    same time. Message first: recognised by its text as above. Command first:
//    the command handler marks the message in SeenMessages *before* it runs, and
//    the message handler skips a marked message.
// What can still happen: a command that only `onCommandFallback` handles is not
// recognised in the text (the router cannot know Bitrix24 registered it), so
// when its MESSAGEADD is handled first both the fallback and onMessage run —
// list the command in `commands` to rule that out. And a command listed here
// but not registered at Bitrix24 (`bot commands --sync`) produces no
// ONIMBOTV2COMMANDADD: its message is skipped and nothing answers.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ConsumerContext, ConsumerHandlers } from '../consumers/consumer-handler.js';
import type { BotCommandAddEvent, BotDeleteEvent, BotJoinChatEvent, BotMessageAddEvent, Message, User } from '../consumers/events.js';
import { IDEMPOTENCY_TABLE } from '../shared/topology.js';
import { parseCommandParams } from './command-params.js';
import { DynamoDbSeenMessages } from './dynamodb-seen-messages.js';
import { BotConfigError } from './errors.js';
import { InMemorySeenMessages, type SeenMessages, seenMessageKey } from './seen-messages.js';

/** What a bot handler gets: the consumer's context, which carries the bot's voice (ctx.reply, typing, …: voice.ts). */
export type BotContext = ConsumerContext;

export type BotHandler<E> = (event: E, ctx: BotContext) => Promise<void>;

/** A slash command as the router parsed it. */
export interface ParsedCommand {
  /** The command with its slash, lower case, e.g. "/help". */
  readonly name: string;
  /** `command.params` as Bitrix24 sent it ("" when none). */
  readonly params: string;
  /** `params` split like a shell line (command-params.ts): `"team lead" now` → ["team lead", "now"]. */
  readonly args: readonly string[];
}

export type CommandHandler = (event: BotCommandAddEvent, ctx: BotContext, command: ParsedCommand) => Promise<void>;

export interface MessageFilters {
  /**
   * In group chats (`dialogId` "chatN") run onMessage only for messages that
   * @mention the bot (`[USER=<botId>]…[/USER]`). A `bot`-type bot hears only
   * mentions there anyway; `supervisor` and `personal` bots hear every message
   * (index.md "Bot Types"). @default false
   */
  readonly mentionInGroups?: boolean;
  /** Run onMessage only for texts matching one of these. @default every text */
  readonly text?: RegExp | readonly RegExp[];
  /**
   * The loop guard: no handler (command or message) runs for a message from a
   * bot (`user.bot`), a system message (`message.isSystem`, author 0) or the
   * bot's own message. @default true
   */
  readonly loopGuard?: boolean;
}

export interface BotRouterOptions {
  /** Handlers by command with its slash (`'/help'`), matched on `command.command` regardless of case. @default none */
  readonly commands?: Readonly<Record<string, CommandHandler>>;
  /** Runs for an ONIMBOTV2COMMANDADD whose command is not in `commands`. @default the command is logged and ignored */
  readonly onCommandFallback?: CommandHandler;
  /** Runs for ONIMBOTV2MESSAGEADD that passes the filters and carried no handled command. @default none */
  readonly onMessage?: BotHandler<BotMessageAddEvent>;
  /** The bot was added to a chat (`user` = who added it): greet here. @default none */
  readonly onJoinChat?: BotHandler<BotJoinChatEvent>;
  /** The bot was removed (its last event): clean up here. The poller stops polling the source on its own. @default logged */
  readonly onBotDeleted?: (event: BotDeleteEvent, ctx: ConsumerContext) => Promise<void>;
  readonly filters?: MessageFilters;
  /**
   * Marks of messages that carried a handled command. @default DynamoDB on the
   * idempotency table (IDEMPOTENCY_TABLE_NAME, items `bot-seen#…`, 48 h TTL) when set, else one process's memory
   */
  readonly seen?: SeenMessages;
  /** Skip onMessage for a message that carried a handled command (see the top of this file). @default true */
  readonly dedupeCommandMessages?: boolean;
}

/** Why the router did not run a handler for an event; `undefined`: it runs. */
export type SkipReason = 'author is a bot' | 'system message' | "the bot's own message" | 'no mention of the bot in a group chat' | 'text matches no filter';

/** The command names must look like Bitrix24 commands: a slash, then letters, digits, - or _ (command-register.md). */
const COMMAND_NAME = /^\/[\p{L}\p{N}_-]{1,64}$/u;

const MENTION = /\[USER=(\d+)\]/gi;

/** The loop guard for an incoming message (and its command). */
export function loopGuardReason(message: Message, user: User, botId: number): SkipReason | undefined {
  if (user.bot === true) return 'author is a bot';
  if (message.isSystem === true || message.authorId === 0) return 'system message';
  if (message.authorId === botId || user.id === botId) return "the bot's own message";
  return undefined;
}

/** Whether the text @mentions the bot (BB-code `[USER=<botId>]`, the form Bitrix24 stores mentions in). */
export function mentionsBot(text: string, botId: number): boolean {
  for (const match of text.matchAll(MENTION)) if (Number(match[1]) === botId) return true;
  return false;
}

/** Whether onMessage runs for this message, by the filters; the reason when it does not. */
export function messageSkipReason(event: BotMessageAddEvent, filters: MessageFilters = {}): SkipReason | undefined {
  const { message, user, chat, bot } = event.data;
  if (filters.loopGuard !== false) {
    const guard = loopGuardReason(message, user, bot.id);
    if (guard !== undefined) return guard;
  }
  if (filters.mentionInGroups === true && isGroupDialog(chat.dialogId) && !mentionsBot(message.text, bot.id)) return 'no mention of the bot in a group chat';
  const patterns = filters.text === undefined ? [] : Array.isArray(filters.text) ? (filters.text as readonly RegExp[]) : [filters.text as RegExp];
  if (patterns.length > 0 && !patterns.some((pattern) => matches(pattern, message.text))) return 'text matches no filter';
  return undefined;
}

function matches(pattern: RegExp, text: string): boolean {
  // A global or sticky pattern keeps lastIndex between calls; test a copy so each message is judged alone.
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).test(text);
}

function isGroupDialog(dialogId: string): boolean {
  return /^chat\d+$/.test(dialogId);
}

/**
 * The command a message text starts with, as Bitrix24 recognises one (the
 * first word, a slash and no further slash; messenger.ts `post`), lower case;
 * mentions before it (`[USER=5]Bot[/USER] /help`) are skipped.
 */
export function leadingCommand(text: string): string | undefined {
  const withoutMentions = text.replace(/^\s*(?:\[USER=\d+\][\s\S]*?\[\/USER\][\s,:]*)+/i, '');
  const match = /^\s*(\/[^\s/]+)(?:\s|$)/.exec(withoutMentions);
  return match?.[1]?.toLowerCase();
}

function defaultSeenMessages(env: NodeJS.ProcessEnv): SeenMessages {
  const tableName = env.IDEMPOTENCY_TABLE_NAME?.trim();
  if (tableName === undefined || tableName === '') return new InMemorySeenMessages();
  return new DynamoDbSeenMessages({ client: new DynamoDBClient({}), tableName, table: IDEMPOTENCY_TABLE });
}

/** Checks the options once, at start-up: a command name Bitrix24 cannot send is a mistake, not a silent no-op. */
function commandTable(commands: Readonly<Record<string, CommandHandler>>): ReadonlyMap<string, CommandHandler> {
  const table = new Map<string, CommandHandler>();
  for (const [name, handler] of Object.entries(commands)) {
    if (!COMMAND_NAME.test(name)) {
      throw new BotConfigError(`commands.${name}`, `Command "${name}" cannot arrive from Bitrix24: a command is a slash and one word of letters, digits, - or _ (e.g. "/help").`);
    }
    const key = name.toLowerCase();
    if (table.has(key)) throw new BotConfigError(`commands.${name}`, `Command "${name}" is listed twice (commands match regardless of case).`);
    table.set(key, handler);
  }
  return table;
}

/** Builds the ConsumerHandlers of a bot: ONIMBOTV2COMMANDADD, …MESSAGEADD, …JOINCHAT, …DELETE. */
export function botRouter(options: BotRouterOptions, env: NodeJS.ProcessEnv = process.env): ConsumerHandlers {
  const commands = commandTable(options.commands ?? {});
  const filters = options.filters ?? {};
  const dedupe = options.dedupeCommandMessages ?? true;
  let seen = options.seen;
  // Built on the first event, never at import time (STYLE.md): the environment is the Lambda's by then.
  const seenMessages = (): SeenMessages => (seen ??= defaultSeenMessages(env));

  const onCommand = async (event: BotCommandAddEvent, ctx: ConsumerContext): Promise<void> => {
    const { command, message, user, bot } = event.data;
    if (filters.loopGuard !== false) {
      const guard = loopGuardReason(message, user, bot.id);
      if (guard !== undefined) {
        ctx.logger.info(`command ${command.command} not run: ${guard}`, { messageId: message.id });
        return;
      }
    }
    const name = command.command.toLowerCase();
    const handler = commands.get(name) ?? options.onCommandFallback;
    if (handler === undefined) {
      ctx.logger.info(`command ${command.command} has no handler and no onCommandFallback: ignored`, { messageId: message.id });
      return;
    }
    // Marked before the handler runs, so a MESSAGEADD handled meanwhile by another consumer finds it.
    if (dedupe) await seenMessages().remember(seenMessageKey(ctx.sourceId, bot.id, message.id));
    const params = command.params ?? '';
    await handler(event, ctx, { name, params, args: parseCommandParams(params) });
  };

  const onMessage = async (event: BotMessageAddEvent, ctx: ConsumerContext): Promise<void> => {
    const handler = options.onMessage;
    if (handler === undefined) return;
    const { message, bot } = event.data;
    const reason = messageSkipReason(event, filters);
    if (reason !== undefined) {
      ctx.logger.debug(`message ${message.id} not handled: ${reason}`);
      return;
    }
    if (dedupe) {
      const leading = leadingCommand(message.text);
      if (leading !== undefined && commands.has(leading)) {
        ctx.logger.debug(`message ${message.id} carries command ${leading}: left to its ONIMBOTV2COMMANDADD`);
        return;
      }
      if (await seenMessages().has(seenMessageKey(ctx.sourceId, bot.id, message.id))) {
        ctx.logger.debug(`message ${message.id} carried a handled command: onMessage not run`);
        return;
      }
    }
    await handler(event, ctx);
  };

  const onJoinChat = async (event: BotJoinChatEvent, ctx: ConsumerContext): Promise<void> => {
    const greet = options.onJoinChat;
    if (greet === undefined) return;
    // Added by a bot (another bot's automation): no greeting, or two bots greet each other forever.
    if (filters.loopGuard !== false && event.data.user.bot === true) {
      ctx.logger.info(`added to ${event.data.dialogId} by a bot: no greeting`);
      return;
    }
    await greet(event, ctx);
  };

  const onBotDeleted = async (event: BotDeleteEvent, ctx: ConsumerContext): Promise<void> => {
    const botId = event.data.bot?.id ?? event.data.botId;
    ctx.logger.warn(`bot ${botId ?? '?'} of source ${ctx.sourceId} was removed from the portal (ONIMBOTV2DELETE): it gets no more events`);
    if (options.onBotDeleted !== undefined) await options.onBotDeleted(event, ctx);
  };

  // Only the types the bot handles: the others keep the consumer's default (a summary line) or the user's '*'.
  return {
    ...(commands.size > 0 || options.onCommandFallback !== undefined ? { ONIMBOTV2COMMANDADD: onCommand } : {}),
    ...(options.onMessage === undefined ? {} : { ONIMBOTV2MESSAGEADD: onMessage }),
    ...(options.onJoinChat === undefined ? {} : { ONIMBOTV2JOINCHAT: onJoinChat }),
    ONIMBOTV2DELETE: onBotDeleted,
  };
}
