// The REST methods the simulator answers, as plain functions of the portal
// state and an authenticated call. HTTP framing, faults and the rate limit
// live in http-server.ts.
import { EVENT_TTL_MS, type PortalBot, type PortalState } from './portal-state.js';
import { readPage, type EventPageResult } from './event-log.js';
import { formatPortalDate } from './portal-date.js';
import { boolParam, intParam, param, stringParam, type Params } from './params.js';
import type { SentMessage } from './types.js';
import { BOT_REGISTRY_METHODS } from './bot-registry-methods.js';

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
  readonly recordMessage: (message: Omit<SentMessage, 'id'>) => number;
}

type MethodHandler = (env: MethodEnvironment, call: AuthenticatedCall) => MethodOutcome;

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

/** Bot rules shared by imbot methods: id required, token with webhook auth, ownership, token match. */
function resolveBot(env: MethodEnvironment, call: AuthenticatedCall): PortalBot | MethodOutcome {
  const botId = intParam(call.params, 'botId');
  if (botId === undefined) return fail(400, 'BOT_ID_REQUIRED', 'Parameter "botId" is required');
  if (botId === 'invalid') return fail(400, 'BOT_NOT_FOUND', 'Bot not found');
  const bot = env.state.bot(botId);
  if (bot === undefined) return fail(400, 'BOT_NOT_FOUND', 'Bot not found');
  const token = stringParam(call.params, 'botToken');
  if (call.auth === 'webhook' && (token === undefined || token === '')) {
    return fail(400, 'BOT_TOKEN_NOT_SPECIFIED', 'Parameter "botToken" is required for webhook calls');
  }
  const owned = call.auth === 'oauth' && bot.clientId !== undefined ? bot.clientId === call.clientId : bot.ownerUserId === call.userId;
  if (!owned) return fail(403, 'BOT_OWNERSHIP_ERROR', 'The bot belongs to another user or application');
  if (token !== undefined && token !== '' && token !== bot.token) return fail(401, 'AUTH_ERROR', 'Wrong bot token');
  return bot;
}

function isOutcome(value: unknown): value is MethodOutcome {
  return typeof value === 'object' && value !== null && 'ok' in value;
}

const userEventGet: MethodHandler = (env, call) => {
  const page = pageParams(call.params);
  if (isOutcome(page)) return page;
  return { ok: true, page: readPage([env.state.userLog(call.userId)], { ...page, nowMs: call.now, ttlMs: EVENT_TTL_MS }) };
};

const botEventGet: MethodHandler = (env, call) => {
  const bot = resolveBot(env, call);
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
  return { ok: true, page: readPage(logs, { ...page, nowMs: call.now, ttlMs: EVENT_TTL_MS }) };
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
    if (text === undefined || text === '') return fail(400, 'MESSAGE_EMPTY', 'Message text is empty');
    const id = env.recordMessage({
      method: call.method,
      ...(botId === undefined ? { userId: call.userId } : { botId }),
      dialogId,
      text,
      at: call.now,
    });
    return { ok: true, result: call.method.toLowerCase().startsWith('imbot.v2') ? { id } : id };
  };
}

const METHODS = new Map<string, MethodHandler>([
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
  ['imbot.v2.chat.message.send', addMessage(true)],
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
  ...BOT_REGISTRY_METHODS,
]);

export function findMethod(method: string): MethodHandler | undefined {
  return METHODS.get(method.toLowerCase());
}
