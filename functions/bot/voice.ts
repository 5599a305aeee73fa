// The bot's voice (issue 12): what `ctx` offers a handler to answer where an
// event came from. This file is the contract between the reply builder
// (bot-voice: which method, which params, through the outbox) and the router
// (bot-router: commands, filters, hooks). Implementations live beside it.
//
// Methods per the docs (api-reference/chat-bots/chat-bots-v2/imbot.v2/):
//   reply on a bot source        imbot.v2.Chat.Message.send  { botId, botToken?, dialogId, fields }
//   reply on ONIMBOTV2COMMANDADD imbot.v2.Command.answer     { botId, botToken?, commandId, messageId, dialogId, fields }
//   reply on a user source       im.message.add as the webhook's/app's user
//   typing                       imbot.v2.Chat.InputAction.notify (kept alive, typing-keepalive.ts)
//   read / react / edit          imbot.v2.Chat.Message.read / …Reaction… / imbot.v2.Chat.Message.update
// `botToken` is sent with webhook auth only (OAuth apps are identified by the token).
// Every write goes through the event's outbox: at most once per (source, event id, n-th write).
import type { TypingHandle, TypingStatusCode } from './typing-keepalive.js';

/** Optional message fields of imbot.v2.Chat.Message.send (chat-message-send.md). */
export interface ReplyFields {
  readonly message?: string;
  readonly attach?: unknown;
  readonly keyboard?: unknown;
  readonly replyId?: number;
  readonly system?: boolean;
  readonly urlPreview?: boolean;
}

export interface ReplyOptions {
  /** `markdown`: the text is converted with markdownToBbCode before sending. @default 'bbcode' (sent as is) */
  readonly format?: 'bbcode' | 'markdown';
}

/** One message Bitrix24 accepted (a long text becomes several, in order). */
export interface SentMessage {
  /** The posted message's id; undefined for a command answer (imbot.v2.Command.answer answers only `result: true`, command-answer.md). */
  readonly messageId: number | undefined;
}

export interface BotVoice {
  /** Answer where the event came from (see the table above); texts over 20,000 characters are split in order. */
  reply(textOrFields: string | ReplyFields, options?: ReplyOptions): Promise<readonly SentMessage[]>;
  /** Show "typing"/"thinking" in the event's dialog until the handler returns or replies (or handle.stop()). */
  typing(statusCode?: TypingStatusCode): TypingHandle;
  /** Mark the event's dialog read up to the event's message, as the bot. */
  read(): Promise<void>;
  /** React to the event's message as the bot (reaction code per the docs, e.g. "like"). */
  react(reaction: string): Promise<void>;
  /** Edit a message the bot sent. */
  edit(messageId: number, textOrFields: string | ReplyFields, options?: ReplyOptions): Promise<void>;
}

/** What the source is, as far as answering goes (from the source config/registry). */
export interface VoiceSource {
  readonly id: string;
  readonly kind: 'user' | 'bot';
  readonly botId?: number;
  readonly auth: 'webhook' | 'oauth';
}
