// The bot's voice for one event (issue 12 §1): which Bitrix24 method answers
// where the event came from, with which params, and through which door.
//
//   what          bot source (botId; botToken added by the client, webhook auth only)          user source (as the webhook's/app's user)
//   reply         imbot.v2.Chat.Message.send {botId, dialogId, fields}                          im.message.add {DIALOG_ID, MESSAGE, …}
//   reply on      imbot.v2.Command.answer {botId, commandId, messageId, dialogId, fields}       (user sources get no commands)
//   ONIMBOTV2COMMANDADD
//   typing        imbot.v2.Chat.InputAction.notify {botId, dialogId, duration, statusMessageCode?}  im.dialog.writing {DIALOG_ID}
//   read          imbot.v2.Chat.Message.read {botId, dialogId, messageId?}                      im.dialog.read {DIALOG_ID, MESSAGE_ID?}
//   react         imbot.v2.Chat.Message.Reaction.add {botId, messageId, reaction}               im.message.like {MESSAGE_ID, ACTION: "plus"} ("like" only)
//   edit          imbot.v2.Chat.Message.update {botId, messageId, fields}                       im.message.update {MESSAGE_ID, MESSAGE, …}
// Doc pages: api-reference/chat-bots/chat-bots-v2/imbot.v2/messages/{chat-message-send,chat-message-read,
// chat-message-update,chat-message-reaction-add}.md, commands/command-answer.md, ui/chat-input-action-notify.md;
// api-reference/chats/messages/{im-message-add,im-message-update,im-dialog-read,im-dialog-writing,im-message-like}.md.
//
// `dialogId` is the event's `chat.dialogId` (or `dialogId` of JOINCHAT/CONTEXTGET):
// in a 1:1 dialog that is the counterpart's id, which is where the answer goes
// (entities.md). `botToken` never passes through here: the voice asks for it
// with `asBot: true` and the source's client adds it from the source secret
// when the source uses webhook auth (none with OAuth), so it is never in a
// handler's hands, a log line or an outbox record.
//
// Doors, and why:
//   - reply, react, edit go through the event's outbox: each is sent at most
//     once per (source, event id, n-th write) across re-runs of the handler,
//     and an answer lost in flight is never blindly re-sent (outbox.ts). A long
//     text is several writes, one per part, so a re-run after a crash between
//     parts re-sends none of the parts already acknowledged, then the rest.
//   - typing and read go straight to the client, flagged `methodKind: 'read'`
//     (safe to send again: a repeated notify only extends the indicator, a
//     repeated read mark leaves the same state). They are not counted by the
//     outbox, so the number of keep-alive notifies (which depends on time)
//     never shifts the keys of the replies that follow.
import { ReplyTargetError, VoiceSourceError, VoiceUnsupportedError } from './errors.js';
import { markdownToBbCode } from './markdown-to-bbcode.js';
import { MESSAGE_MAX_LENGTH, splitMessage } from './split-message.js';
import { type TypingHandle, type TypingNotice, type TypingOptions, type TypingStatusCode, startTyping } from './typing-keepalive.js';
import type { BotVoice, ReplyFields, ReplyOptions, SentMessage, VoiceSource } from './voice.js';

/** The event as the voice reads it: a typed event or the raw one (`'*'` handlers); `data` is read defensively. */
export interface VoiceEvent {
  readonly eventId: number;
  readonly type: string;
  readonly data: unknown;
}

/** Options the voice sets on its calls. */
export interface VoiceCallOptions {
  /** An imbot.v2 call as the source's bot: the client adds `botToken` from the source secret with webhook auth. */
  readonly asBot?: boolean;
  /** `read` for calls safe to send again (typing, read marks). */
  readonly methodKind?: 'read' | 'write';
}

/** Writes sent at most once per event and position: the event's outbox (consumers/outbox.ts). */
export interface VoiceWrites {
  write(method: string, params: Record<string, unknown>, options?: VoiceCallOptions): Promise<{ result: unknown; replayed?: boolean }>;
}

/** Calls straight to Bitrix24 (the source's client), for what is safe to send again. */
export interface VoiceCalls {
  call(method: string, params: Record<string, unknown>, options?: VoiceCallOptions): Promise<{ result: unknown }>;
}

/** Where the source's answering facts come from (config today, the registry later); undefined when unknown. */
export type VoiceSourceLookup = (sourceId: string) => VoiceSource | undefined | Promise<VoiceSource | undefined>;

export interface BotVoiceInput {
  readonly event: VoiceEvent;
  readonly sourceId: string;
  readonly sources: VoiceSourceLookup;
  readonly writes: VoiceWrites;
  readonly calls: VoiceCalls;
  /** Keep-alive timing of ctx.typing (duration, re-send margin, cap, clock). @default typing-keepalive.ts defaults */
  readonly typing?: Pick<TypingOptions, 'clock' | 'durationSeconds' | 'resendBeforeSeconds' | 'maxSeconds'>;
  /** Told about a failed typing notify (never thrown). @default ignored */
  readonly onTypingError?: (error: unknown) => void;
}

/** The voice of one handler run; the consumer calls `finish()` when the handler returns or throws. */
export interface EventBotVoice extends BotVoice {
  /** Stops a typing indicator still kept alive. Idempotent. */
  finish(): void;
}

type Speaker = { readonly kind: 'bot'; readonly botId: number } | { readonly kind: 'user' };

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Where to answer: `chat.dialogId` (message, reaction, command, join events), else `dialogId` (JOINCHAT, CONTEXTGET). */
export function dialogIdOf(data: unknown): string | undefined {
  return nonEmptyString(field(field(data, 'chat'), 'dialogId')) ?? nonEmptyString(field(data, 'dialogId'));
}

/** The event's message (not a deleted message's bare `messageId`: there is nothing left to react to). */
export function messageIdOf(data: unknown): number | undefined {
  return positiveInteger(field(field(data, 'message'), 'id'));
}

/** The command of an ONIMBOTV2COMMANDADD event: what Command.answer needs besides the dialog. */
export function commandOf(event: VoiceEvent): { readonly commandId: number; readonly messageId: number } | undefined {
  if (event.type !== 'ONIMBOTV2COMMANDADD') return undefined;
  const commandId = positiveInteger(field(field(event.data, 'command'), 'id'));
  const messageId = messageIdOf(event.data);
  return commandId === undefined || messageId === undefined ? undefined : { commandId, messageId };
}

function botIdOfEvent(event: VoiceEvent): number | undefined {
  return event.type.startsWith('ONIMBOTV2') ? positiveInteger(field(field(event.data, 'bot'), 'id')) : undefined;
}

const yesNo = (value: boolean): 'Y' | 'N' => (value ? 'Y' : 'N');

/** Drops the keys whose value is undefined (Bitrix24 reads a present key as set). */
function defined(params: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
}

function fieldsOf(textOrFields: string | ReplyFields): ReplyFields {
  return typeof textOrFields === 'string' ? { message: textOrFields } : textOrFields;
}

function textOf(fields: ReplyFields, options: ReplyOptions | undefined): string | undefined {
  if (fields.message === undefined) return undefined;
  return options?.format === 'markdown' ? markdownToBbCode(fields.message) : fields.message;
}

/** Builds `ctx.reply/typing/read/react/edit` for one event. Nothing is sent until a method is called. */
export function createBotVoice(input: BotVoiceInput): EventBotVoice {
  const { event } = input;
  let speaking: Promise<Speaker> | undefined;
  let typingHandle: TypingHandle | undefined;

  const target = (action: string): string => {
    const dialogId = dialogIdOf(event.data);
    if (dialogId === undefined) {
      throw new ReplyTargetError(event.type, event.eventId, `ctx.${action}: ${event.type} #${event.eventId} names no dialog to answer (no chat.dialogId or dialogId).`);
    }
    return dialogId;
  };

  const resolveSpeaker = async (): Promise<Speaker> => {
    const source = await input.sources(input.sourceId);
    const eventBot = botIdOfEvent(event);
    if (source === undefined) {
      // Not configured here, but a bot event names the bot it was recorded for.
      if (eventBot !== undefined) return { kind: 'bot', botId: eventBot };
      throw new VoiceSourceError(input.sourceId, `ctx.reply: source "${input.sourceId}" is not configured for this consumer (SOURCES), so it is unknown whether to answer as a bot or a user; add it to the pipeline configuration.`);
    }
    if (source.kind === 'user') return { kind: 'user' };
    const botId = source.botId ?? eventBot;
    if (botId === undefined) {
      throw new VoiceSourceError(input.sourceId, `ctx.reply: bot source "${input.sourceId}" has no botId and ${event.type} names no bot; set the source's botId (bot.id from imbot.v2.Bot.register).`);
    }
    return { kind: 'bot', botId };
  };

  const speaker = (): Promise<Speaker> => (speaking ??= resolveSpeaker());

  /** Stops the indicator and waits for a notify in flight, so it cannot land after the reply (and show typing again). */
  const stopTyping = async (): Promise<void> => {
    const handle = typingHandle;
    typingHandle = undefined;
    if (handle === undefined) return;
    handle.stop();
    await handle.settled();
  };

  const sendPart = async (who: Speaker, dialogId: string, fields: ReplyFields, text: string | undefined): Promise<SentMessage> => {
    if (who.kind === 'user') {
      const answer = await input.writes.write(
        'im.message.add',
        defined({
          DIALOG_ID: dialogId,
          MESSAGE: text,
          ATTACH: fields.attach,
          KEYBOARD: fields.keyboard,
          SYSTEM: fields.system === undefined ? undefined : yesNo(fields.system),
          URL_PREVIEW: fields.urlPreview === undefined ? undefined : yesNo(fields.urlPreview),
          REPLY_ID: fields.replyId,
        }),
      );
      return { messageId: positiveInteger(answer.result) };
    }
    const command = commandOf(event);
    if (command !== undefined) {
      // command-answer.md: fields are message, attach, keyboard, system, urlPreview (no replyId); the answer carries no message id.
      await input.writes.write(
        'imbot.v2.Command.answer',
        { botId: who.botId, commandId: command.commandId, messageId: command.messageId, dialogId, fields: defined({ message: text, attach: fields.attach, keyboard: fields.keyboard, system: fields.system, urlPreview: fields.urlPreview }) },
        { asBot: true },
      );
      return { messageId: undefined };
    }
    const answer = await input.writes.write(
      'imbot.v2.Chat.Message.send',
      {
        botId: who.botId,
        dialogId,
        fields: defined({ message: text, attach: fields.attach, keyboard: fields.keyboard, replyId: fields.replyId, system: fields.system, urlPreview: fields.urlPreview }),
      },
      { asBot: true },
    );
    return { messageId: positiveInteger(field(answer.result, 'id')) };
  };

  return {
    async reply(textOrFields, options) {
      const dialogId = target('reply');
      await stopTyping();
      const fields = fieldsOf(textOrFields);
      const text = textOf(fields, options);
      const who = await speaker();
      // Several parts: the reply goes with the first, attachments and buttons with the last (under the whole text).
      const parts = text === undefined ? [undefined] : splitMessage(text);
      const sent: SentMessage[] = [];
      for (const [index, part] of parts.entries()) {
        const first = index === 0;
        const last = index === parts.length - 1;
        const partFields: ReplyFields = {
          ...(first && fields.replyId !== undefined ? { replyId: fields.replyId } : {}),
          ...(last && fields.attach !== undefined ? { attach: fields.attach } : {}),
          ...(last && fields.keyboard !== undefined ? { keyboard: fields.keyboard } : {}),
          ...(fields.system === undefined ? {} : { system: fields.system }),
          ...(fields.urlPreview === undefined ? {} : { urlPreview: fields.urlPreview }),
        };
        sent.push(await sendPart(who, dialogId, partFields, part));
      }
      return sent;
    },

    typing(statusCode?: TypingStatusCode) {
      const dialogId = target('typing');
      const previous = typingHandle;
      previous?.stop();
      const notify = async (notice: TypingNotice): Promise<unknown> => {
        const who = await speaker();
        if (who.kind === 'user') return await input.calls.call('im.dialog.writing', { DIALOG_ID: dialogId }, { methodKind: 'read' });
        return await input.calls.call(
          'imbot.v2.Chat.InputAction.notify',
          { botId: who.botId, dialogId, duration: notice.duration, ...(notice.statusMessageCode === undefined ? {} : { statusMessageCode: notice.statusMessageCode }) },
          { asBot: true, methodKind: 'read' },
        );
      };
      const handle = startTyping(notify, {
        ...input.typing,
        ...(statusCode === undefined ? {} : { statusCode }),
        ...(input.onTypingError === undefined ? {} : { onError: input.onTypingError }),
      });
      typingHandle = handle;
      return handle;
    },

    async read() {
      const dialogId = target('read');
      const messageId = messageIdOf(event.data);
      const who = await speaker();
      if (who.kind === 'user') {
        await input.calls.call('im.dialog.read', defined({ DIALOG_ID: dialogId, MESSAGE_ID: messageId }), { methodKind: 'read' });
        return;
      }
      await input.calls.call('imbot.v2.Chat.Message.read', defined({ botId: who.botId, dialogId, messageId }), { asBot: true, methodKind: 'read' });
    },

    async react(reaction) {
      const messageId = messageIdOf(event.data);
      if (messageId === undefined) {
        throw new ReplyTargetError(event.type, event.eventId, `ctx.react: ${event.type} #${event.eventId} carries no message to react to.`);
      }
      const who = await speaker();
      if (who.kind === 'user') {
        if (reaction !== 'like') {
          throw new VoiceUnsupportedError('react', `ctx.react("${reaction}"): a user source can only "like" (im.message.like); reactions by code need a bot source (imbot.v2.Chat.Message.Reaction.add).`);
        }
        await input.writes.write('im.message.like', { MESSAGE_ID: messageId, ACTION: 'plus' });
        return;
      }
      await input.writes.write('imbot.v2.Chat.Message.Reaction.add', { botId: who.botId, messageId, reaction }, { asBot: true });
    },

    async edit(messageId, textOrFields, options) {
      if (positiveInteger(messageId) === undefined) {
        throw new ReplyTargetError(event.type, event.eventId, `ctx.edit: ${String(messageId)} is not a message id (a positive integer from ctx.reply).`);
      }
      const fields = fieldsOf(textOrFields);
      const text = textOf(fields, options);
      if (text !== undefined && text.length > MESSAGE_MAX_LENGTH) {
        throw new VoiceUnsupportedError('edit', `ctx.edit: the new text has ${text.length} characters; a message keeps at most ${MESSAGE_MAX_LENGTH} (Bitrix24 would cut it) and an edit cannot be split: edit with a shorter text, or reply with the rest.`);
      }
      const who = await speaker();
      if (who.kind === 'user') {
        await input.writes.write(
          'im.message.update',
          defined({ MESSAGE_ID: messageId, MESSAGE: text, ATTACH: fields.attach, KEYBOARD: fields.keyboard, URL_PREVIEW: fields.urlPreview === undefined ? undefined : yesNo(fields.urlPreview) }),
        );
        return;
      }
      await input.writes.write(
        'imbot.v2.Chat.Message.update',
        { botId: who.botId, messageId, fields: defined({ message: text, attach: fields.attach, keyboard: fields.keyboard, urlPreview: fields.urlPreview }) },
        { asBot: true },
      );
    },

    finish() {
      typingHandle?.stop();
      typingHandle = undefined;
    },
  };
}
