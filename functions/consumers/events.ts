// Typed Bitrix24 messenger events: one zod schema per event type, and the
// TypeScript types inferred from them. What "valid" means (docs/events.md):
//  - strict — a wrong value would mislead a handler, so it rejects the event:
//    ids (integers ≥ 0; a numeric string is accepted and converted),
//    `dialogId`, `message.text` (a string, `""` for a file-only message),
//    the discriminators `reaction`, `action` ("add" | "delete") and
//    `command.command`;
//  - descriptive — everything else (names, colours, flags, dates, …) is
//    typed as the docs say (`api-reference/chat-bots/chat-bots-v2/entities.md`)
//    but never a reason to reject: a descriptive field of another shape is
//    taken out of the typed data and listed, with its raw value, in
//    `event.descriptiveMismatches` (so the types stay true);
//  - open — every object keeps fields Bitrix24 adds later (loose objects).
// A known type that fails a strict rule is a schema mismatch: validateKnownEvent
// answers `{ ok: false, issues, error }` and assertKnownEvent throws the
// EventSchemaMismatchError (a PoisonMessageError) with the failing paths.
import * as z from 'zod';
import { PoisonMessageError } from './errors.js';
import {
  BOT_EVENT_TYPES,
  type BotEventType,
  type KnownEventType,
  type RawBitrixEvent,
  USER_EVENT_TYPES,
  type UserEventType,
  isKnownEventType,
} from '../shared/event-types.js';

// ---- strict building blocks -------------------------------------------------

/** A Bitrix24 id: an integer ≥ 0 (system messages have authorId 0); "123" is accepted and becomes 123. */
const id = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,15}$/, 'expected an integer id').transform(Number)]);

/** `chat5` for a group chat, `123` for a 1:1 dialog (entities.md, Chat.dialogId); a number is accepted and becomes its string. */
const dialogId = z.union([
  z.string().regex(/^(chat\d+|\d+|[A-Za-z0-9_|.:-]{1,64})$/, 'expected a dialog id like "chat5" or "123"'),
  z.number().int().positive().transform(String),
]);

// ---- descriptive fields -----------------------------------------------------

/** A descriptive field whose value did not have its documented shape: kept raw, out of the typed data. */
export interface DescriptiveMismatch {
  /** Where, e.g. `data.chat.textFieldEnabled`. */
  readonly path: string;
  /** What the schema expected, e.g. `Invalid option: expected one of "Y"|"N"`. */
  readonly issue: string;
  /** The value as Bitrix24 sent it. */
  readonly value: unknown;
}

/** Stands in, during parsing only, for a descriptive value of the wrong shape. */
class MismatchMarker {
  constructor(
    readonly value: unknown,
    readonly issue: string,
  ) {}
}

/** Documented type, optional, never a reason to reject. */
function descriptive<T extends z.ZodType>(schema: T) {
  return schema.optional().catch((ctx) => new MismatchMarker(ctx.input ?? ctx.value, ctx.error.issues[0]?.message ?? 'unexpected shape') as never);
}

const text = descriptive(z.string());
const flag = descriptive(z.boolean());
const count = descriptive(z.number().int());
/** ISO 8601 string or `false` (entities.md, User: `string | boolean`; `false` when unknown). */
const dateOrFalse = descriptive(z.union([z.string(), z.literal(false)]));
const looseRecord = z.record(z.string(), z.unknown());

// ---- entities (api-reference/chat-bots/chat-bots-v2/entities.md) -----------

/** `{id, userId, chatId, date}` of a forwarded message (entities.md, Message.forward). */
export const forwardSchema = z.looseObject({
  id: descriptive(z.number().int()),
  userId: descriptive(z.number().int()),
  chatId: descriptive(z.number().int()),
  date: descriptive(z.string().nullable()),
});

export const messageSchema = z.looseObject({
  id,
  chatId: id,
  /** `0` for system messages. */
  authorId: id,
  /** ISO 8601, or `null` (entities.md: `string|null`). */
  date: descriptive(z.string().nullable()),
  /** ≤ 20,000 characters; `""` for a file-only message. */
  text: z.string(),
  isSystem: flag,
  /** Deduplication UUID; often `""`. */
  uuid: text,
  forward: descriptive(forwardSchema.nullable()),
  /** attach, keyboard, files, … */
  params: descriptive(looseRecord),
  viewedByOthers: flag,
});

export const chatSchema = z.looseObject({
  id,
  dialogId,
  name: text,
  /** chat | open | channel | openChannel | copilot | thread | generalChannel | private | … (new kinds appear) */
  type: text,
  /** C (chat) | O (open) | P (private) | … */
  messageType: text,
  owner: descriptive(z.number().int()),
  color: descriptive(z.string().nullable()),
  avatar: text,
  description: text,
  extranet: flag,
  containsCollaber: flag,
  entityType: text,
  entityId: descriptive(z.union([z.string(), z.number()])),
  entityData1: text,
  entityData2: text,
  entityData3: text,
  entityLink: descriptive(looseRecord),
  diskFolderId: descriptive(z.number().int().nullable()),
  permissions: descriptive(looseRecord),
  /** Threads: the parent chat; `0` or `null` otherwise. */
  parentChatId: descriptive(z.number().int().nullable()),
  parentMessageId: descriptive(z.number().int().nullable()),
  isNew: flag,
  /** The string `"Y"` or `"N"`, not a boolean. */
  textFieldEnabled: descriptive(z.enum(['Y', 'N'])),
  backgroundId: descriptive(z.string().nullable()),
});

/** The chat of an ONIMBOTV2CONTEXTGET: may be only `{dialogId}` (bot-context.md, "Binding Event with pairCode"). */
export const contextChatSchema = chatSchema.extend({ id: id.optional(), dialogId: dialogId.optional() });

export const userSchema = z.looseObject({
  id,
  active: flag,
  name: text,
  firstName: text,
  lastName: text,
  workPosition: text,
  color: text,
  avatar: text,
  gender: descriptive(z.enum(['M', 'F'])),
  birthday: text,
  extranet: flag,
  /** True for chat bots: a consumer that answers must not answer bots (loop guard). */
  bot: flag,
  connector: flag,
  /** default | bot | email | replica | … */
  externalAuthId: text,
  /** online | dnd | … */
  status: text,
  idle: dateOrFalse,
  lastActivityDate: dateOrFalse,
  mobileLastDate: dateOrFalse,
  desktopLastDate: dateOrFalse,
  absent: dateOrFalse,
  departments: descriptive(z.array(z.number().int())),
  /** `{personalPhone, workPhone, …}` or `false`. */
  phones: descriptive(z.union([looseRecord, z.literal(false)])),
  type: descriptive(z.enum(['employee', 'extranet', 'email', 'collaber', 'bot'])),
  website: text,
  email: text,
});

/** The bot an ONIMBOTV2* event is addressed to: in fetch mode the full bot object (imbot.v2/events/events.md, "Bot Object Format"). */
export const botSchema = z.looseObject({
  id,
  code: text,
  type: descriptive(z.enum(['bot', 'supervisor', 'personal', 'openline'])),
  isHidden: flag,
  isSupportOpenline: flag,
  isReactionsEnabled: flag,
  backgroundId: descriptive(z.string().nullable()),
  language: text,
  moduleId: text,
  eventMode: descriptive(z.enum(['fetch', 'webhook'])),
  countMessage: count,
  countCommand: count,
  countChat: count,
  countUser: count,
});

/** imbot.v2/events/events.md, "Command Object". */
export const commandSchema = z.looseObject({
  /** Id of the registered command (what imbot.v2.Command.answer takes as commandId). */
  id,
  /** The command with its slash, e.g. "/help". */
  command: z.string().min(1),
  /** Text after the command. */
  params: text,
  /** textarea (typed) | keyboard (button) | menu (context menu). */
  context: descriptive(z.enum(['textarea', 'keyboard', 'menu'])),
});

// ---- event data (im.v2/events/events.md, imbot.v2/events/events.md) --------

const language = text;
const action = z.enum(['add', 'delete']);
const reaction = z.string().min(1);

const messageData = z.looseObject({ message: messageSchema, chat: chatSchema, user: userSchema, language });
const messageDeleteData = z.looseObject({ messageId: id, chat: chatSchema, user: userSchema, language });
const reactionChangeData = z.looseObject({ reaction, action, message: messageSchema, chat: chatSchema, user: userSchema, language });
const joinChatData = z.looseObject({ dialogId, chat: chatSchema, user: userSchema, language });

const botMessageData = messageData.extend({ bot: botSchema });
const botMessageDeleteData = messageDeleteData.extend({ bot: botSchema });
const botReactionData = reactionChangeData.extend({ bot: botSchema });
const botCommandData = z.looseObject({ bot: botSchema, command: commandSchema, message: messageSchema, chat: chatSchema, user: userSchema, language });
/** The bot was added to a chat; `user` is who added it. */
const botJoinChatData = joinChatData.extend({ bot: botSchema });
/**
 * A user opened the bot's dialog with a context (imbot.v2/bot-context.md). The
 * pairCode example carries only `chat: {dialogId}`, `user` and `context`, so
 * `bot`, the top-level `dialogId` and `chat.id` are optional; a dialog id must
 * be there (top level or in `chat`) to answer. Treat `context` as untrusted input.
 */
const botContextGetData = z
  .looseObject({
    bot: botSchema.optional(),
    dialogId: dialogId.optional(),
    context: descriptive(looseRecord),
    chat: contextChatSchema,
    user: userSchema,
    language,
  })
  .refine((data) => data.dialogId !== undefined || data.chat.dialogId !== undefined, {
    message: 'expected a dialogId (data.dialogId or data.chat.dialogId)',
    path: ['dialogId'],
  });
/** The bot was removed: the last event it gets. `botId` alone is accepted from older revisions. */
const botDeleteData = z
  .looseObject({ bot: botSchema.optional(), botId: id.optional() })
  .refine((data) => data.bot !== undefined || data.botId !== undefined, {
    message: 'expected "bot" or "botId"',
    path: ['bot'],
  });

/** The schema of `data` for every known event type. */
export const EVENT_DATA_SCHEMAS = {
  ONIMV2MESSAGEADD: messageData,
  ONIMV2MESSAGEUPDATE: messageData,
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
export type Forward = z.output<typeof forwardSchema>;
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
  /** Descriptive fields that did not have their documented shape (absent from `data`, raw here). Empty when all matched. */
  readonly descriptiveMismatches?: readonly DescriptiveMismatch[];
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

// ---- schema mismatch ---------------------------------------------------------

/**
 * A known event type whose data breaks a strict rule of its schema — Bitrix24
 * changed a format (change-log.md) or a producer is wrong. No retry can fix
 * it: it is a poison message (reason `invalid-event`), counted as
 * `SchemaMismatch`, with the failing paths in the log. The event itself is
 * in the envelope for whoever inspects the dead letter.
 */
export class EventSchemaMismatchError extends PoisonMessageError {
  readonly eventType: KnownEventType;
  readonly eventId: number;
  /** One line per failing rule, e.g. `data.message.id: expected an integer id`. */
  readonly issues: readonly string[];
  /** The failing paths alone, e.g. `data.message.id`. */
  readonly paths: readonly string[];
  constructor(eventType: KnownEventType, eventId: number, issues: readonly string[], paths: readonly string[]) {
    super('invalid-event', `${eventType} #${eventId} does not match its schema: ${issues.join('; ')}`);
    this.name = 'EventSchemaMismatchError';
    this.eventType = eventType;
    this.eventId = eventId;
    this.issues = issues;
    this.paths = paths;
  }
}

/** True for an EventSchemaMismatchError (also across module copies, by name). */
export function isSchemaMismatch(error: unknown): error is EventSchemaMismatchError {
  return error instanceof EventSchemaMismatchError || (error instanceof Error && error.name === 'EventSchemaMismatchError');
}

export type EventValidation<T extends KnownEventType> =
  | { readonly ok: true; readonly event: TypedEvent<T> }
  | { readonly ok: false; readonly issues: readonly string[]; readonly paths: readonly string[]; readonly error: EventSchemaMismatchError };

function pathOf(root: string, path: readonly PropertyKey[]): string {
  return [root, ...path.map((p) => (typeof p === 'number' ? `[${p}]` : String(p)))].join('.').replace(/\.\[/g, '[');
}

/** `data.message.id: expected number, received string` — one string per zod issue. */
export function describeIssues(error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => `${pathOf(root, issue.path)}: ${issue.message}`);
}

/** Takes the mismatch markers out of the parsed data (depth ≤ 3 covers every descriptive field) and lists them. */
function extractMismatches(value: unknown, path: string, depth: number, out: DescriptiveMismatch[]): void {
  if (depth > 3 || typeof value !== 'object' || value === null || Array.isArray(value)) return;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const child = record[key];
    const childPath = `${path}.${key}`;
    if (child instanceof MismatchMarker) {
      out.push({ path: childPath, issue: child.issue, value: child.value });
      delete record[key];
    } else {
      extractMismatches(child, childPath, depth + 1, out);
    }
  }
}

/** Validates one event's data against the schema of its (known) type. */
export function validateEvent<T extends KnownEventType>(type: T, raw: RawBitrixEvent): EventValidation<T> {
  const schema: z.ZodType = EVENT_DATA_SCHEMAS[type];
  const result = schema.safeParse(raw.data);
  if (!result.success) {
    const issues = describeIssues(result.error, 'data');
    const paths = result.error.issues.map((issue) => pathOf('data', issue.path));
    return { ok: false, issues, paths, error: new EventSchemaMismatchError(type, raw.eventId, issues, paths) };
  }
  const descriptiveMismatches: DescriptiveMismatch[] = [];
  extractMismatches(result.data, 'data', 1, descriptiveMismatches);
  return { ok: true, event: { eventId: raw.eventId, type, date: raw.date, data: result.data as EventData<T>, descriptiveMismatches } };
}

/** Validates an event of any type: known types get their schema, unknown types `undefined` (not an error). */
export function validateKnownEvent(raw: RawBitrixEvent): EventValidation<KnownEventType> | undefined {
  return isKnownEventType(raw.type) ? validateEvent(raw.type, raw) : undefined;
}

/** Like validateKnownEvent, but a schema mismatch throws the EventSchemaMismatchError; unknown types give `undefined`. */
export function assertKnownEvent(raw: RawBitrixEvent): TypedEvent | undefined {
  const validation = validateKnownEvent(raw);
  if (validation === undefined) return undefined;
  if (!validation.ok) throw validation.error;
  return validation.event;
}

export { BOT_EVENT_TYPES, USER_EVENT_TYPES };
