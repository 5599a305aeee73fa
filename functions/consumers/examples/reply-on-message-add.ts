// Example: answer every new chat message with an echo through the source's own
// Bitrix24 account — the pattern for a bot or an agent.
//
// Disabled unless configured: without REPLY_PREFIX it only logs the summary.
// Loop guard: it never answers bots, system messages, its own account
// (REPLY_OWN_USER_ID) or a message that already starts with the prefix (its
// own echo, which comes back as an ONIMV2MESSAGEADD event of the same user).
import type { EventHandler } from '../consumer-handler.js';
import type { MessageAddEvent } from '../events.js';
import { lambdaConsumer } from '../lambda-consumer.js';
import { summarizeEvent } from '../summary.js';

export interface ReplyOptions {
  /** Text put before the echo, e.g. "Echo: ". Empty or unset: replying is off. */
  readonly prefix: string | undefined;
  /** The source's own user id (the webhook's/app's user): its messages are never answered. @default none */
  readonly ownUserId?: number;
  /** Longest quoted text, in characters. @default 200 */
  readonly maxQuoteLength?: number;
}

/** Why a message is not answered, or `undefined` when it should be. */
export function skipReason(event: MessageAddEvent, options: ReplyOptions): string | undefined {
  const { message, user } = event.data;
  if (options.prefix === undefined || options.prefix === '') return 'replying is off (set REPLY_PREFIX)';
  if (user.bot === true) return 'the author is a bot';
  if (message.isSystem === true || message.authorId === 0) return 'system message';
  if (options.ownUserId !== undefined && (message.authorId === options.ownUserId || user.id === options.ownUserId)) return 'own message';
  if (message.text.startsWith(options.prefix)) return 'already an echo';
  return undefined;
}

export function replyOnMessageAdd(options: ReplyOptions): EventHandler<MessageAddEvent> {
  const maxQuote = options.maxQuoteLength ?? 200;
  return async (event, ctx) => {
    const why = skipReason(event, options);
    if (why !== undefined) {
      ctx.logger.info(`${summarizeEvent(event, ctx.envelope).line}; not answered: ${why}`);
      return;
    }
    const { message, chat } = event.data;
    const quote = message.text.length > maxQuote ? `${message.text.slice(0, maxQuote)}…` : message.text;
    await ctx.bitrix24.call('im.message.add', { DIALOG_ID: chat.dialogId, MESSAGE: `${options.prefix ?? ''}${quote}` });
    ctx.logger.info(`answered message ${message.id} in ${chat.dialogId}`);
  };
}

function numberFromEnv(value: string | undefined): number | undefined {
  const parsed = value === undefined ? Number.NaN : Number(value);
  return Number.isInteger(parsed) && parsed > 0 ? parsed : undefined;
}

/** Lambda entry: set REPLY_PREFIX (and REPLY_OWN_USER_ID) on the message-add consumer to turn it on. */
export const handler = lambdaConsumer({
  ONIMV2MESSAGEADD: (event, ctx) => {
    const ownUserId = numberFromEnv(process.env.REPLY_OWN_USER_ID);
    return replyOnMessageAdd({ prefix: process.env.REPLY_PREFIX, ...(ownUserId === undefined ? {} : { ownUserId }) })(event, ctx);
  },
});
