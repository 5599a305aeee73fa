// Typed Bitrix24 messenger events: one zod schema per event type, and the
// TypeScript types inferred from them. Validation is
//  - lenient where Bitrix24 may add fields: every object is a loose object
//    (unknown keys pass through untouched), most descriptive fields optional;
//  - strict where a wrong value would mislead a handler: ids are integers
//    (a numeric string is accepted and converted), `dialogId` and `text` are
//    strings, `action` is "add" | "delete", booleans are booleans.
// A known type whose data fails its schema is a poison message (→ DLQ), with
// the failing path in the log line.
import * as z from 'zod';
import {
  BOT_EVENT_TYPES,
  type BotEventType,
  type KnownEventType,
  type RawBitrixEvent,
  USER_EVENT_TYPES,
  type UserEventType,
  isKnownEventType,
} from '../shared/event-types.js';

/** A Bitrix24 id: an integer ≥ 0 (system messages have authorId 0); "123" is accepted and becomes 123. */
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/, 'expected an integer id').transform(Number)]);

/** `chat5` for a group chat, `123` for a 1:1 dialog; a number is accepted and becomes its string. */
const dialogId = z.union([
  z.string().regex(/^(chat\d+|\d+|[A-Za-z0-9_|.:-]{1,64})$/, 'expected a dialog id like "chat5" or "123"'),
  z.number().int().positive().transform(String),
]);

const optionalText = z.string().optional();

export const messageSchema = z.looseObject({
  id,
  chatId: id,
  authorId: id,
  date: z.string().optional(),
  text: z.string(),
  isSystem: z.boolean().optional(),
  uuid: z.string().nullable().optional(),
  forward: z.unknown().optional(),
  params: z.unknown().optional(),
  viewedByOthers: z.boolean().optional(),
});

export const chatSchema = z.looseObject({
  id,
  dialogId,
  name: optionalText,
  /** chat | open | channel | openChannel | copilot | thread | generalChannel | … (new kinds may appear) */
  type: optionalText,
  messageType: optionalText,
  owner: id.optional(),
  parentChatId: id.optional(),
  parentMessageId: id.optional(),
  entityType: optionalText,
  entityId: z.union([z.string(), z.number()]).optional(),
  extranet: z.boolean().optional(),
});

export const userSchema = z.looseObject({
  id,
  active: z.boolean().optional(),
  name: optionalText,
  firstName: optionalText,
  lastName: optionalText,
  workPosition: optionalText,
  gender: optionalText,
  extranet: z.boolean().optional(),
  /** True for chat bots: a consumer that answers must not answer bots (loop guard). */
  bot: z.boolean().optional(),
  connector: z.boolean().optional(),
  externalAuthId: optionalText,
  type: optionalText,
});

/** The bot an ONIMBOTV2* event is addressed to (lenient: Bitrix24 may send more). */
export const botSchema = z.looseObject({
  id,
  code: optionalText,
});

export const commandSchema = z.looseObject({
  id: id.optional(),
  /** The command word, e.g. "help". */
  command: z.string(),
  /** Text after the command. */
  params: z.string().optional(),
});

const language = z.string().optional();
const action = z.enum(['add', 'delete']);

const messageAddData = z.looseObject({ message: messageSchema, chat: chatSchema, user: userSchema, language });
const messageDeleteData = z.looseObject({ messageId: id, chat: chatSchema, user: userSchema, language });
const reactionChangeData = z.looseObject({
  reaction: z.string().min(1),
  action,
  message: messageSchema,
  chat: chatSchema,
  user: userSchema,
  language,
});
const joinChatData = z.looseObject({ dialogId, chat: chatSchema, user: userSchema, language });

const bot = botSchema.optional();
const botMessageData = z.looseObject({ bot, message: messageSchema, chat: chatSchema, user: userSchema, language });
const botMessageDeleteData = z.looseObject({ bot, messageId: id, chat: chatSchema, user: userSchema.optional(), language });
const botReactionData = z.looseObject({
  bot,
  reaction: z.string().min(1),
  action,
  message: messageSchema,
  chat: chatSchema,
  user: userSchema,
  language,
});
const botCommandData = z.looseObject({
  bot,
  command: commandSchema,
  message: messageSchema.optional(),
  chat: chatSchema,
  user: userSchema,
  language,
});
const botJoinChatData = z.looseObject({ bot, dialogId, chat: chatSchema, user: userSchema.optional(), language });
const botContextGetData = z.looseObject({
  bot,
  dialogId: dialogId.optional(),
  chat: chatSchema.optional(),
  user: userSchema.optional(),
  language,
});
const botDeleteData = z
  .looseObject({ bot, botId: id.optional() })
  .refine((data) => data.bot !== undefined || data.botId !== undefined, {
    message: 'expected "bot" or "botId"',
    path: ['bot'],
  });

/** The schema of `data` for every known event type. */
export const EVENT_DATA_SCHEMAS = {
  ONIMV2MESSAGEADD: messageAddData,
  ONIMV2MESSAGEUPDATE: messageAddData,
  ONIMV2MESSAGEDELETE: messageDeleteData,
  ONIMV2REACTIONCHANGE: reactionChangeData,
  ONIMV2JOINCHAT: joinChatData,
  ONIMBOTV2MESSAGEADD: botMessageData,
  ONIMBOTV2MESSAGEUPDATE: botMessageData,
  ONIMBOTV2MESSAGEDELETE: botMessageDeleteData,
  ONIMBOTV2REACTIONCHANGE: botReactionData,
  ONIMBOTV2COMMANDADD: botCommandData,
  ONIMBOTV2JOINCHAT: botJoinChatData,
  ONIMBOTV2CONTEXTGET: botContextGetData,
  ONIMBOTV2DELETE: botDeleteData,
} as const satisfies Record<KnownEventType, z.ZodType>;

export type Message = z.output<typeof messageSchema>;
export type Chat = z.output<typeof chatSchema>;
export type User = z.output<typeof userSchema>;
export type Bot = z.output<typeof botSchema>;
export type Command = z.output<typeof commandSchema>;

/** The validated `data` of an event type. */
export type EventData<T extends KnownEventType> = z.output<(typeof EVENT_DATA_SCHEMAS)[T]>;

/** A validated event of a known type. */
export interface TypedEvent<T extends KnownEventType = KnownEventType> {
  readonly eventId: number;
  readonly type: T;
  readonly date: string;
  readonly data: EventData<T>;
}

export type MessageAddEvent = TypedEvent<'ONIMV2MESSAGEADD'>;
export type MessageUpdateEvent = TypedEvent<'ONIMV2MESSAGEUPDATE'>;
export type MessageDeleteEvent = TypedEvent<'ONIMV2MESSAGEDELETE'>;
export type ReactionChangeEvent = TypedEvent<'ONIMV2REACTIONCHANGE'>;
export type JoinChatEvent = TypedEvent<'ONIMV2JOINCHAT'>;
export type BotMessageAddEvent = TypedEvent<'ONIMBOTV2MESSAGEADD'>;
export type BotMessageUpdateEvent = TypedEvent<'ONIMBOTV2MESSAGEUPDATE'>;
export type BotMessageDeleteEvent = TypedEvent<'ONIMBOTV2MESSAGEDELETE'>;
export type BotReactionChangeEvent = TypedEvent<'ONIMBOTV2REACTIONCHANGE'>;
export type BotCommandAddEvent = TypedEvent<'ONIMBOTV2COMMANDADD'>;
export type BotJoinChatEvent = TypedEvent<'ONIMBOTV2JOINCHAT'>;
export type BotContextGetEvent = TypedEvent<'ONIMBOTV2CONTEXTGET'>;
export type BotDeleteEvent = TypedEvent<'ONIMBOTV2DELETE'>;

export type AnyTypedEvent = { [T in KnownEventType]: TypedEvent<T> }[KnownEventType];
export type UserEvent = { [T in UserEventType]: TypedEvent<T> }[UserEventType];
export type BotEvent = { [T in BotEventType]: TypedEvent<T> }[BotEventType];

export type EventValidation<T extends KnownEventType> =
  | { readonly ok: true; readonly event: TypedEvent<T> }
  | { readonly ok: false; readonly issues: readonly string[] };

/** `data.message.id: expected number, received string` — one string per zod issue. */
export function describeIssues(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const path = [root, ...issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '[');
    return `${path}: ${issue.message}`;
  });
}

/** Validates one event's data against the schema of its (known) type. */
export function validateEvent<T extends KnownEventType>(type: T, raw: RawBitrixEvent): EventValidation<T> {
  const schema: z.ZodType = EVENT_DATA_SCHEMAS[type];
  const result = schema.safeParse(raw.data);
  if (!result.success) return { ok: false, issues: describeIssues(result.error, 'data') };
  return { ok: true, event: { eventId: raw.eventId, type, date: raw.date, data: result.data as EventData<T> } };
}

/** Validates an event of any type: known types get their schema, unknown types `undefined` (not an error). */
export function validateKnownEvent(raw: RawBitrixEvent): EventValidation<KnownEventType> | undefined {
  return isKnownEventType(raw.type) ? validateEvent(raw.type, raw) : undefined;
}

export { BOT_EVENT_TYPES, USER_EVENT_TYPES };
