// The REST methods the simulator answers, as plain functions of the portal
// state and an authenticated call. HTTP framing, faults and the rate limit
// live in http-server.ts.
import { BOT_METHODS, resolveBot } from './bot-methods.js';
import { EVENT_TTL_MS, type PortalState } from './portal-state.js';
import { readPage, type EventPageResult } from './event-log.js';
import type { Messenger } from './messenger.js';
import { formatPortalDate } from './portal-date.js';
import { boolParam, intParam, param, stringParam, type Params } from './params.js';
import type { SentMessage, SimulatorRecords } from './types.js';

export interface AuthenticatedCall {
  readonly method: string;
  readonly auth: 'webhook' | 'oauth';
  readonly userId: number;
  /** OAuth app of the access token. */
  readonly clientId: string | undefined;
  readonly params: Params;
  readonly now: number;
}

export type MethodOutcome =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: true; readonly page: EventPageResult }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly description: string };

export interface MethodEnvironment {
  readonly state: PortalState;
  readonly messenger: Messenger;
  readonly records: SimulatorRecords;
  /** Records a posted message in `sim.sentMessages` / `records.messages`; returns its id (`id` when given, else a new one). */
  readonly recordMessage: (message: Omit<SentMessage, 'id'>, id?: number) => number;
  /** PortalSimulatorOptions.eventGetFormat. @default 'nextOffset' */
  readonly eventGetFormat?: 'nextOffset' | 'lastEventId';
}

/**
 * Event.get as portals answered before BOT-BC-0325-1 (change-log.md):
 * `lastEventId` (the client sends lastEventId + 1 as the next offset) instead
 * of `nextOffset`; null when nothing was ever confirmed or returned.
 */
function pageOutcome(env: MethodEnvironment, page: EventPageResult): MethodOutcome {
  if (env.eventGetFormat !== 'lastEventId') return { ok: true, page };
  const lastEventId = page.nextOffset > 0 ? page.nextOffset - 1 : null;
  return { ok: true, result: { events: page.events, lastEventId, hasMore: page.hasMore } };
}

export type MethodHandler = (env: MethodEnvironment, call: AuthenticatedCall) => MethodOutcome;

export const MAX_LIMIT = 1000;
export const DEFAULT_LIMIT = 100;

function fail(status: number, code: string, description: string): MethodOutcome {
  return { ok: false, status, code, description };
}

function pageParams(params: Params): { offset: number | undefined; limit: number } | MethodOutcome {
  const offset = intParam(params, 'offset');
  if (offset === 'invalid' || (offset !== undefined && offset < 0)) {
    return fail(400, 'INVALID_ARGUMENTS', 'Parameter "offset" must be a non-negative integer');
  }
  const limit = intParam(params, 'limit');
  if (limit === 'invalid' || (limit !== undefined && (limit < 1 || limit > MAX_LIMIT))) {
    return fail(400, 'INVALID_ARGUMENTS', `Parameter "limit" must be an integer from 1 to ${MAX_LIMIT}`);
  }
  return { offset, limit: limit ?? DEFAULT_LIMIT };
}

function isOutcome(value: unknown): value is MethodOutcome {
  return typeof value === 'object' && value !== null && 'ok' in value;
}

const userEventGet: MethodHandler = (env, call) => {
  const page = pageParams(call.params);
  if (isOutcome(page)) return page;
  return pageOutcome(env, readPage([env.state.userLog(call.userId)], { ...page, nowMs: call.now, ttlMs: EVENT_TTL_MS }));
};

const botEventGet: MethodHandler = (env, call) => {
  const bot = resolveBot(env, call, { allowDeleted: true });
  if (isOutcome(bot)) return bot;
  const page = pageParams(call.params);
  if (isOutcome(page)) return page;
  const logs = [bot.log];
  if (boolParam(call.params, 'withUserEvents')) {
    if (!env.state.isSubscribed(call.userId)) {
      return fail(400, 'USER_NOT_SUBSCRIBED', 'withUserEvents needs im.v2.Event.subscribe for the calling user');
    }
    logs.push(env.state.userLog(call.userId));
  }
  return pageOutcome(env, readPage(logs, { ...page, nowMs: call.now, ttlMs: EVENT_TTL_MS }));
};

function messageText(params: Params): string | undefined {
  const fields = param(params, 'fields');
  if (typeof fields === 'object' && fields !== null) {
    const nested = stringParam(fields as Params, 'message');
    if (nested !== undefined) return nested;
  }
  return stringParam(params, 'message');
}

function addMessage(viaBot: boolean): MethodHandler {
  return (env, call) => {
    let botId: number | undefined;
    if (viaBot) {
      const bot = resolveBot(env, call);
      if (isOutcome(bot)) return bot;
      botId = bot.id;
    }
    const dialogId = stringParam(call.params, 'dialogId');
    if (dialogId === undefined || dialogId === '') return fail(400, 'DIALOG_ID_EMPTY', 'Parameter "DIALOG_ID" is required');
    const text = messageText(call.params);
    // v1 methods answer the v1 code MESSAGE_EMPTY (imbot.v2 answers EMPTY_MESSAGE, bot-methods.ts).
    if (text === undefined || text === '') return fail(400, 'MESSAGE_EMPTY', 'Message text is empty');
    // A user's message to a chat the portal knows is a real message: its members (bots too) see it.
    const authorId = botId ?? call.userId;
    const room = env.messenger.resolveDialog(authorId, dialogId);
    const posted = room === undefined ? undefined : env.messenger.post(room, { authorId, text });
    const id = env.recordMessage({
      method: call.method,
      ...(botId === undefined ? { userId: call.userId } : { botId }),
      dialogId,
      text,
      at: call.now,
    }, posted?.id);
    return { ok: true, result: id };
  };
}

// What a user does besides posting, as the calling user (api-reference/chats/messages/).

/** im-message-update.md: own messages only (CANT_EDIT_MESSAGE); MESSAGE_ID_ERROR without an id. */
const userMessageUpdate: MethodHandler = (env, call) => {
  const messageId = intParam(call.params, 'messageId');
  if (typeof messageId !== 'number') return fail(400, 'MESSAGE_ID_ERROR', "Message ID can't be empty");
  const room = env.messenger.roomOfMessage(messageId);
  const stored = room?.messages.get(messageId);
  if (room === undefined || stored === undefined || stored.deleted || stored.message.authorId !== call.userId) {
    return fail(400, 'CANT_EDIT_MESSAGE', "Time has expired for modification or you don't have access");
  }
  const text = stringParam(call.params, 'message') ?? stored.message.text;
  const edited = env.messenger.edit(room, messageId, call.userId, text);
  env.records.userActions.push({ method: 'im.message.update', userId: call.userId, messageId, text: edited?.text ?? text, at: call.now });
  return { ok: true, result: true };
};

/** im-dialog-read.md: DIALOG_ID required; answers {dialogId, chatId, lastId, counter}. */
const userDialogRead: MethodHandler = (env, call) => {
  const dialogId = stringParam(call.params, 'dialogId') ?? '';
  const room = dialogId === '' ? undefined : env.messenger.resolveDialog(call.userId, dialogId);
  if (room === undefined) return fail(400, 'DIALOG_ID_EMPTY', "Dialog ID can't be empty");
  const upTo = intParam(call.params, 'messageId');
  const ids = [...room.messages.values()].filter((m) => !m.deleted && (typeof upTo !== 'number' || m.message.id <= upTo)).map((m) => m.message.id);
  env.records.userActions.push({ method: 'im.dialog.read', userId: call.userId, dialogId, ...(typeof upTo === 'number' ? { messageId: upTo } : {}), at: call.now });
  return { ok: true, result: { dialogId, chatId: room.chat.id, lastId: ids.at(-1) ?? 0, counter: 0 } };
};

/** im-dialog-writing.md: DIALOG_ID required; ACCESS_ERROR outside the chat. */
const userDialogWriting: MethodHandler = (env, call) => {
  const dialogId = stringParam(call.params, 'dialogId') ?? '';
  if (dialogId === '') return fail(400, 'DIALOG_ID_EMPTY', "Dialog ID can't be empty");
  const room = env.messenger.resolveDialog(call.userId, dialogId);
  if (room === undefined || !room.members.has(call.userId)) return fail(400, 'ACCESS_ERROR', 'Action unavailable');
  env.records.userActions.push({ method: 'im.dialog.writing', userId: call.userId, dialogId, at: call.now });
  return { ok: true, result: true };
};

/** im-message-like.md: ACTION plus / minus / auto (default auto: toggles); WITHOUT_CHANGES when the state is already so. */
const userMessageLike: MethodHandler = (env, call) => {
  const messageId = intParam(call.params, 'messageId');
  if (typeof messageId !== 'number') return fail(400, 'MESSAGE_ID_ERROR', "Message ID can't be empty");
  const room = env.messenger.roomOfMessage(messageId);
  const stored = room?.messages.get(messageId);
  if (room === undefined || stored === undefined || stored.deleted) return fail(400, 'MESSAGE_ID_ERROR', "Message ID can't be empty");
  const liked = env.records.reactions.findIndex((r) => r.userId === call.userId && r.messageId === messageId && r.reaction === 'like');
  const requested = (stringParam(call.params, 'action') ?? 'auto').toLowerCase();
  const action = requested === 'plus' || requested === 'minus' ? requested : liked >= 0 ? 'minus' : 'plus';
  if ((action === 'plus') === liked >= 0) return fail(400, 'WITHOUT_CHANGES', 'Action completed without changes');
  env.messenger.react(room, messageId, call.userId, 'like', action === 'plus' ? 'add' : 'delete');
  if (action === 'plus') env.records.reactions.push({ userId: call.userId, messageId, reaction: 'like', at: call.now });
  else env.records.reactions.splice(liked, 1);
  return { ok: true, result: true };
};

/** event.bind / event.get / event.unbind "work only within the context of application authorization" (events/event-bind.md). */
function appOf(call: AuthenticatedCall): string | MethodOutcome {
  // The code other app-only methods document for a webhook call (bizproc-activity-add.md: ACCESS_DENIED "Application context required").
  if (call.auth !== 'oauth' || call.clientId === undefined) return fail(403, 'ACCESS_DENIED', 'Application context required');
  return call.clientId;
}

const eventBind: MethodHandler = (env, call) => {
  const app = appOf(call);
  if (typeof app !== 'string') return app;
  const event = stringParam(call.params, 'event') ?? '';
  const handler = stringParam(call.params, 'handler') ?? '';
  if (!/^ON[A-Z0-9_]+$/i.test(event)) return fail(400, 'ERROR_EVENT_NOT_FOUND', 'Event not found');
  if (!/^https?:\/\//.test(handler)) return fail(400, 'WRONG_HANDLER_URL', 'Wrong handler URL');
  // A handler bound twice is an error on real portals; its code is not in the docs (a guess).
  if (!env.state.bindEvent(app, event, handler)) return fail(400, 'ERROR_EVENT_BIND', 'Handler already binded');
  return { ok: true, result: true };
};

const eventGet: MethodHandler = (env, call) => {
  const app = appOf(call);
  if (typeof app !== 'string') return app;
  // events/event-get.md: [{event, handler, auth_type: "0", offline: 0}]
  return { ok: true, result: env.state.eventBindingsOf(app).map((b) => ({ event: b.event, handler: b.handler, auth_type: String(b.authType), offline: 0 })) };
};

const eventUnbind: MethodHandler = (env, call) => {
  const app = appOf(call);
  if (typeof app !== 'string') return app;
  const event = stringParam(call.params, 'event') ?? '';
  const count = env.state.unbindEvent(app, event, stringParam(call.params, 'handler'));
  return { ok: true, result: { count } }; // events/event-unbind.md: {"count": 1}
};

const METHODS = new Map<string, MethodHandler>([
  ['event.bind', eventBind],
  ['event.get', eventGet],
  ['event.unbind', eventUnbind],
  [
    'im.v2.event.subscribe',
    (env, call) => {
      env.state.subscribe(call.userId);
      return { ok: true, result: true };
    },
  ],
  [
    'im.v2.event.unsubscribe',
    (env, call) => {
      env.state.unsubscribe(call.userId);
      return { ok: true, result: true };
    },
  ],
  ['im.v2.event.get', userEventGet],
  ['imbot.v2.event.get', botEventGet],
  ['im.message.add', addMessage(false)],
  ['imbot.message.add', addMessage(true)],
  ['im.message.update', userMessageUpdate],
  ['im.dialog.read', userDialogRead],
  ['im.dialog.writing', userDialogWriting],
  ['im.message.like', userMessageLike],
  ...BOT_METHODS,
  [
    'server.time',
    (env, call) => ({ ok: true, result: formatPortalDate(call.now, env.state.utcOffsetMinutes) }),
  ],
  [
    'profile',
    (env, call) => {
      const name = env.state.user(call.userId)?.name ?? '';
      const [first = '', ...rest] = name.split(' ');
      return { ok: true, result: { ID: String(call.userId), ADMIN: call.userId === 1, NAME: first, LAST_NAME: rest.join(' '), PERSONAL_GENDER: '', TIME_ZONE: '' } };
    },
  ],
]);

export function findMethod(method: string): MethodHandler | undefined {
  return METHODS.get(method.toLowerCase());
}
