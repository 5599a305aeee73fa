// Turning an HTTP answer into either a validated success envelope or the typed
// error for it. Pure: input is status + body text, output is a value or a
// thrown Bitrix24Error. Unknown extra fields are ignored, missing or mistyped
// ones raise MalformedResponseError naming the field.
import { type EventPage, type RawBitrixEvent, type RejectedEvent } from '../shared/event-types.js';
import {
  AccessDeniedError,
  type ApiErrorFields,
  Bitrix24ApiError,
  type Bitrix24Error,
  BotIdRequiredError,
  BotNotFoundError,
  BotOwnershipError,
  BotScopeError,
  BotTokenInvalidLengthError,
  BotTokenNotSpecifiedError,
  CurrentUserUnknownError,
  ExpiredTokenError,
  InvalidRequestError,
  MalformedResponseError,
  MethodNotFoundError,
  NoAuthFoundError,
  OperationTimeLimitError,
  OverloadLimitError,
  PortalDeletedError,
  QueryLimitExceededError,
  ServerError,
  UserNotSubscribedError,
} from './errors.js';

export interface SuccessEnvelope {
  readonly result: unknown;
  readonly time?: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

function looksLikeHtml(text: string): boolean {
  return /^\s*</.test(text);
}

/** `time.operating_reset_at` (unix seconds) as ms epoch, when present and sane. */
export function operatingResetAtOf(time: unknown): number | undefined {
  if (!isRecord(time)) return undefined;
  const raw = time.operating_reset_at;
  const seconds = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : undefined;
}

/** The typed error for a Bitrix24 `{"error": code}` answer. */
export function errorForCode(code: string, fields: Omit<ApiErrorFields, 'code'>, resetAt?: number): Bitrix24Error {
  const f: ApiErrorFields = { ...fields, code };
  switch (code) {
    case 'QUERY_LIMIT_EXCEEDED':
      return new QueryLimitExceededError(f);
    case 'OPERATION_TIME_LIMIT':
      return new OperationTimeLimitError(resetAt === undefined ? f : { ...f, resetAt });
    case 'INTERNAL_SERVER_ERROR':
    case 'ERROR_UNEXPECTED_ANSWER':
      return new ServerError(f);
    case 'OVERLOAD_LIMIT':
      return new OverloadLimitError(f);
    case 'NO_AUTH_FOUND':
    case 'WRONG_AUTH_TYPE':
    case 'invalid_token':
      return new NoAuthFoundError(f);
    case 'expired_token':
      return new ExpiredTokenError(f);
    case 'ACCESS_DENIED':
    case 'INVALID_CREDENTIALS':
    case 'insufficient_scope':
    case 'user_access_error':
      return new AccessDeniedError(f);
    case 'INVALID_REQUEST':
      return new InvalidRequestError(f);
    case 'ERROR_METHOD_NOT_FOUND':
    case 'METHOD_NOT_FOUND':
      return new MethodNotFoundError(f);
    case 'PORTAL_DELETED':
      return new PortalDeletedError(f);
    // imbot.v2's own codes: api-reference/chat-bots/chat-bots-v2/imbot.v2/events/event-get.md,
    // imbot.v2/bots/bot-register.md (BOT_TOKEN_INVALID_LENGTH).
    case 'BOT_ID_REQUIRED':
      return new BotIdRequiredError(fields);
    case 'BOT_TOKEN_NOT_SPECIFIED':
      return new BotTokenNotSpecifiedError(fields);
    case 'BOT_TOKEN_INVALID_LENGTH':
      return new BotTokenInvalidLengthError(fields);
    case 'BOT_NOT_FOUND':
      return new BotNotFoundError(fields);
    case 'BOT_OWNERSHIP_ERROR':
      return new BotOwnershipError(fields);
    case 'SCOPE_ERROR':
      return new BotScopeError(fields);
    case 'AUTH_ERROR':
      return new CurrentUserUnknownError(fields);
    case 'USER_NOT_SUBSCRIBED':
      return new UserNotSubscribedError(fields);
    default:
      // An unknown code on a 5xx is still a server fault: retry it.
      if (fields.httpStatus !== undefined && fields.httpStatus >= 500) return new ServerError(f);
      return new Bitrix24ApiError(f);
  }
}

/**
 * Interprets one REST answer. Returns the success envelope, or throws the
 * typed error. `redact` cleans the portal's error_description (it can echo
 * request data) before it reaches a message.
 */
export function interpretRestResponse(input: {
  readonly method: string;
  readonly status: number;
  readonly body: string;
  readonly redact: (text: string) => string;
}): SuccessEnvelope {
  const { method, status } = input;
  const parsed = parseJson(input.body);
  if (!parsed.ok || !isRecord(parsed.value)) {
    if (status >= 500 || status === 429) {
      return throwing(new ServerError({ method, httpStatus: status, code: `HTTP_${status}`, bodyKind: looksLikeHtml(input.body) ? 'html' : 'non-json' }));
    }
    const what = !parsed.ok ? (looksLikeHtml(input.body) ? 'is an HTML page, not JSON' : input.body.trim() === '' ? 'is empty' : 'is not valid JSON') : 'is not a JSON object';
    return throwing(new MalformedResponseError({ method, httpStatus: status, field: 'body', problem: what }));
  }
  const envelope = parsed.value;
  if (envelope.error !== undefined && envelope.error !== null && envelope.error !== '') {
    const code = typeof envelope.error === 'string' ? envelope.error : String(JSON.stringify(envelope.error)).slice(0, 64);
    const description = typeof envelope.error_description === 'string' ? input.redact(envelope.error_description).slice(0, 300) : undefined;
    const fields: Omit<ApiErrorFields, 'code'> = description === undefined ? { method, httpStatus: status } : { method, httpStatus: status, description };
    return throwing(errorForCode(input.redact(code), fields, operatingResetAtOf(envelope.time)));
  }
  if (status >= 500) {
    return throwing(new ServerError({ method, httpStatus: status, code: `HTTP_${status}`, bodyKind: 'no-error-field' }));
  }
  if (status < 200 || status >= 300) {
    return throwing(new MalformedResponseError({ method, httpStatus: status, field: 'error', problem: 'is missing from a non-2xx answer' }));
  }
  if (!('result' in envelope)) {
    return throwing(new MalformedResponseError({ method, httpStatus: status, field: 'result', problem: 'is missing' }));
  }
  return envelope.time === undefined ? { result: envelope.result } : { result: envelope.result, time: envelope.time };
}

function throwing(error: Bitrix24Error): never {
  throw error;
}

/** Why one event of a page is not valid, or undefined when it is (the one rule every part of the pipeline uses). */
function eventProblem(raw: unknown, at: string, previousId: number, offsetSent: number | undefined): string | undefined {
  if (!isRecord(raw)) return `${at} is not an object`;
  const { eventId, type, date } = raw;
  if (typeof eventId !== 'number' || !Number.isSafeInteger(eventId) || eventId <= 0) return `${at}.eventId is not a positive safe integer (${describe(eventId)})`;
  if (eventId <= previousId) return `${at}.eventId ${eventId} is not greater than the previous event's id (${previousId})`;
  if (offsetSent !== undefined && eventId < offsetSent) return `${at}.eventId ${eventId} is below the offset sent (${offsetSent}): Bitrix24 had already deleted it`;
  if (typeof type !== 'string' || type === '') return `${at}.type is not a non-empty string (${describe(type)})`;
  // entities/event-get.md: `date` is a string, ISO 8601 with offset ("2025-01-15T10:30:00+02:00").
  if (typeof date !== 'string' || !Number.isFinite(Date.parse(date))) return `${at}.date is not an ISO 8601 date (${describe(date)})`;
  // event-get.md: `data` is an object (PHP sends an empty one as []).
  if (typeof raw.data !== 'object' || raw.data === null) return `${at}.data is missing or not an object (${describe(raw.data)})`;
  return undefined;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * Validates an `Event.get` result (api-reference/chat-bots/chat-bots-v2/im.v2/events/event-get.md,
 * imbot.v2/events/event-get.md). The page as a whole must be sound or
 * MalformedResponseError is thrown (and nothing of it is used): `events` an
 * array, `hasMore` a boolean, `nextOffset` a non-negative safe integer not
 * behind the offset sent and past every event id of the page. Older portals
 * answer `lastEventId` instead of `nextOffset` (change-log.md, BOT-BC-0325-1,
 * supported by Bitrix24 until 25.09.2026): `nextOffset = lastEventId + 1`.
 *
 * One event is valid when it is an object with a positive safe integer
 * `eventId` greater than the previous event's and not below the offset sent,
 * a non-empty string `type`, an ISO 8601 `date` and an object `data`. Invalid
 * events do not fail the page: they come back in `rejected` (raw, with the
 * reason) so the caller can quarantine them and still commit past them;
 * otherwise one bad event would stall the source until Bitrix24 expires
 * everything behind it (24 h). Returns a clean copy (extra fields dropped).
 */
export function validateEventPage(result: unknown, method: string, offsetSent: number | undefined): EventPage {
  const bad = (field: string, problem: string): never => {
    throw new MalformedResponseError({ method, httpStatus: 200, field, problem });
  };
  if (!isRecord(result)) return bad('result', 'is not an object');
  const rawEvents = result.events;
  if (!Array.isArray(rawEvents)) return bad('result.events', 'is not an array');
  const events: RawBitrixEvent[] = [];
  const rejected: RejectedEvent[] = [];
  let previousId = 0;
  let highestId = 0;
  rawEvents.forEach((raw: unknown, position) => {
    const problem = eventProblem(raw, `result.events[${position}]`, previousId, offsetSent);
    const id = isRecord(raw) && typeof raw.eventId === 'number' && Number.isSafeInteger(raw.eventId) && raw.eventId > 0 ? raw.eventId : undefined;
    if (id !== undefined) highestId = Math.max(highestId, id);
    if (problem !== undefined) {
      rejected.push({ position, ...(id === undefined ? {} : { eventId: id }), reason: problem, raw });
      return;
    }
    const event = raw as { eventId: number; type: string; date: string; data: unknown };
    previousId = event.eventId;
    events.push({ eventId: event.eventId, type: event.type, date: event.date, data: event.data });
  });
  const nextOffset = nextOffsetOf(result, rawEvents.length === 0, offsetSent, bad);
  if (offsetSent !== undefined && nextOffset < offsetSent) return bad('result.nextOffset', `${nextOffset} is behind the offset sent (${offsetSent})`);
  if (highestId > 0 && nextOffset <= highestId) return bad('result.nextOffset', `${nextOffset} is not past the last event id (${highestId})`);
  const { hasMore } = result;
  if (typeof hasMore !== 'boolean') return bad('result.hasMore', 'is not a boolean');
  return rejected.length === 0 ? { events, nextOffset, hasMore } : { events, nextOffset, hasMore, rejected };
}

/** `nextOffset`, or `lastEventId + 1` from a portal still on the format before BOT-BC-0325-1 (change-log.md). */
function nextOffsetOf(result: Record<string, unknown>, emptyPage: boolean, offsetSent: number | undefined, bad: (field: string, problem: string) => never): number {
  const { nextOffset, lastEventId } = result;
  if (nextOffset !== undefined && nextOffset !== null) {
    if (typeof nextOffset !== 'number' || !Number.isSafeInteger(nextOffset) || nextOffset < 0) return bad('result.nextOffset', `is not a non-negative safe integer (${describe(nextOffset)})`);
    return nextOffset;
  }
  if (!('lastEventId' in result)) {
    return bad('result.nextOffset', 'is missing, and so is the older lastEventId (change-log.md, BOT-BC-0325-1): the portal answers neither Event.get format this client knows');
  }
  if (lastEventId === null || lastEventId === 0) {
    if (emptyPage) return offsetSent ?? 0;
    return bad('result.lastEventId', `is ${describe(lastEventId)} on a page with events (change-log.md, BOT-BC-0325-1 format)`);
  }
  if (typeof lastEventId !== 'number' || !Number.isSafeInteger(lastEventId) || lastEventId < 0) {
    return bad('result.lastEventId', `is not a non-negative safe integer (${describe(lastEventId)}; change-log.md, BOT-BC-0325-1 format)`);
  }
  // On an empty page the old format may repeat the last id ever confirmed; never step behind the offset sent.
  return emptyPage && offsetSent !== undefined ? Math.max(offsetSent, lastEventId + 1) : lastEventId + 1;
}
