import { describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  Bitrix24ApiError,
  BOT_ERROR_CODES,
  BotError,
  BotNotFoundError,
  BotOwnershipError,
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
} from '../../../functions/bitrix24/errors.js';
import { errorForCode, interpretRestResponse, validateEventPage } from '../../../functions/bitrix24/response.js';

const interpret = (status: number, body: string) =>
  interpretRestResponse({ method: 'im.v2.Event.get', status, body, redact: (t) => t.replaceAll('sekret', '[REDACTED]') });

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

const event = (eventId: number, extra: Record<string, unknown> = {}) => ({ eventId, type: 'ONIMV2MESSAGEADD', date: '2025-01-15T10:30:00+02:00', data: {}, ...extra });

describe('interpretRestResponse', () => {
  it.each([
    [503, 'QUERY_LIMIT_EXCEEDED', QueryLimitExceededError, 'rate-limit', true],
    [429, 'OPERATION_TIME_LIMIT', OperationTimeLimitError, 'operation-limit', true],
    [500, 'INTERNAL_SERVER_ERROR', ServerError, 'server', true],
    [500, 'ERROR_UNEXPECTED_ANSWER', ServerError, 'server', true],
    [503, 'OVERLOAD_LIMIT', OverloadLimitError, 'overload', false],
    [401, 'NO_AUTH_FOUND', NoAuthFoundError, 'auth', false],
    [401, 'expired_token', ExpiredTokenError, 'auth', false],
    [403, 'ACCESS_DENIED', AccessDeniedError, 'permission', false],
    [403, 'INVALID_CREDENTIALS', AccessDeniedError, 'permission', false],
    [403, 'insufficient_scope', AccessDeniedError, 'permission', false],
    [403, 'user_access_error', AccessDeniedError, 'permission', false],
    [400, 'INVALID_REQUEST', InvalidRequestError, 'config', false],
    [500, 'PORTAL_DELETED', PortalDeletedError, 'portal-gone', false],
    [404, 'ERROR_METHOD_NOT_FOUND', MethodNotFoundError, 'config', false],
    [400, 'BOT_NOT_FOUND', BotNotFoundError, 'bot', false],
    [400, 'BOT_OWNERSHIP_ERROR', BotOwnershipError, 'bot', false],
    [400, 'USER_NOT_SUBSCRIBED', BotError, 'bot', false],
    [400, 'SOMETHING_NEW', Bitrix24ApiError, 'api', false],
    [502, 'SOMETHING_NEW', ServerError, 'server', true],
  ] as const)('maps HTTP %i %s to its typed error', (status, code, type, kind, retryable) => {
    const error = errorOf(() => interpret(status, JSON.stringify({ error: code, error_description: 'about sekret' })));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, kind, retryable, httpStatus: status, method: 'im.v2.Event.get' });
    expect(String((error as Error).message)).not.toContain('sekret');
  });

  it('maps every imbot.v2 code to its own BotError subclass with its own hint', () => {
    const hints = new Set<string>();
    for (const code of BOT_ERROR_CODES) {
      const error = errorForCode(code, { method: 'imbot.v2.Event.get', httpStatus: 400 });
      expect(error).toBeInstanceOf(BotError);
      expect(error.name).not.toBe('BotError');
      expect(error.name.endsWith('Error')).toBe(true);
      expect(error).toMatchObject({ code, kind: 'bot', retryable: false });
      hints.add(error.message.slice(error.message.indexOf('refused.')));
    }
    expect(BOT_ERROR_CODES).toContain('BOT_TOKEN_INVALID_LENGTH');
    expect(hints.size).toBe(BOT_ERROR_CODES.length);
  });

  it('reads ACCESS_DENIED by method: not in the chat (imbot.v2) or not on the plan (anything else)', () => {
    expect(errorForCode('ACCESS_DENIED', { method: 'imbot.v2.Chat.Message.send', httpStatus: 403 }).message).toContain('not a member of this chat');
    expect(errorForCode('ACCESS_DENIED', { method: 'im.v2.Event.get', httpStatus: 403 }).message).toContain('commercial Bitrix24 plans');
  });

  it('reads operating_reset_at from an OPERATION_TIME_LIMIT answer', () => {
    const error = errorOf(() => interpret(429, JSON.stringify({ error: 'OPERATION_TIME_LIMIT', time: { operating_reset_at: 1_700_000_100 } })));
    expect((error as OperationTimeLimitError).resetAt).toBe(1_700_000_100_000);
  });

  it('treats a proxy HTML 502 as a retryable server error', () => {
    const error = errorOf(() => interpret(502, '<html><body>Bad Gateway</body></html>'));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: 'HTTP_502', retryable: true });
  });

  it.each([
    [200, '<html>login</html>', 'body'],
    [200, '{"result":', 'body'],
    [200, '', 'body'],
    [200, '[1,2]', 'body'],
    [200, '{"time":{}}', 'result'],
    [404, '<html>not found</html>', 'body'],
  ])('rejects HTTP %i %j as MalformedResponseError naming %s', (status, body, field) => {
    const error = errorOf(() => interpret(status, body));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).field).toBe(field);
  });

  it('returns result and time of a good answer, ignoring extra fields', () => {
    expect(interpret(200, JSON.stringify({ result: true, time: { duration: 1 }, extra: 1 }))).toEqual({ result: true, time: { duration: 1 } });
  });
});

describe('validateEventPage', () => {
  const page = (events: unknown[], nextOffset: unknown, hasMore: unknown = false) => ({ events, nextOffset, hasMore, unknownField: 'fine' });

  it('accepts a valid page and drops unknown event fields', () => {
    const result = validateEventPage(page([event(5, { extra: true }), event(7)], 8), 'im.v2.Event.get', 5);
    expect(result).toEqual({ events: [event(5), event(7)], nextOffset: 8, hasMore: false });
  });

  it('accepts an empty page with no offset sent', () => {
    expect(validateEventPage(page([], 0), 'im.v2.Event.get', undefined)).toEqual({ events: [], nextOffset: 0, hasMore: false });
  });

  it.each([
    ['result not an object', 'x', 'result'],
    ['events missing', { nextOffset: 1, hasMore: false }, 'result.events'],
    ['nextOffset string', page([], '6'), 'result.nextOffset'],
    ['nextOffset behind offset', page([], 4), 'result.nextOffset'],
    ['nextOffset not past last id', page([event(5), event(9)], 9), 'result.nextOffset'],
    ['nextOffset not past a rejected event id', page([event(5), event(9, { date: '' })], 9), 'result.nextOffset'],
    ['neither nextOffset nor lastEventId', { events: [], hasMore: false }, 'result.nextOffset'],
    ['lastEventId a string', { events: [event(5)], lastEventId: '5', hasMore: false }, 'result.lastEventId'],
    ['lastEventId before the last event', { events: [event(5), event(9)], lastEventId: 7, hasMore: false }, 'result.nextOffset'],
    ['hasMore missing', { events: [], nextOffset: 5 }, 'result.hasMore'],
  ])('rejects the page when %s', (_label, result, field) => {
    const error = errorOf(() => validateEventPage(result, 'im.v2.Event.get', 5));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).field).toBe(field);
    expect((error as Error).message).toContain(field);
  });

  it('names the Bitrix24 revision when the portal answers neither format', () => {
    expect(String(errorOf(() => validateEventPage({ events: [], hasMore: false }, 'im.v2.Event.get', 5)))).toContain('BOT-BC-0325-1');
  });

  // One rule for a valid event: the client and the poller used to disagree (a `date: ""` passed
  // the client and failed the poller's page check, so the page was rejected on every run).
  it.each([
    ['not an object', 1, 'result.events[1] is not an object'],
    ['eventId a string', event(6, { eventId: '6' }), 'result.events[1].eventId'],
    ['eventId zero', event(0), 'result.events[1].eventId'],
    ['eventId unsafe', event(2 ** 60), 'result.events[1].eventId'],
    ['eventId fractional', event(6.5), 'result.events[1].eventId'],
    ['id not increasing', event(5), 'result.events[1].eventId 5 is not greater'],
    ['id below the offset sent', event(4), 'result.events[1].eventId'],
    ['empty type', event(6, { type: '' }), 'result.events[1].type'],
    ['date missing', { eventId: 6, type: 'X', data: {} }, 'result.events[1].date'],
    ['date empty', event(6, { date: '' }), 'result.events[1].date is not an ISO 8601 date ("")'],
    ['date not a date', event(6, { date: 'yesterday' }), 'result.events[1].date'],
    ['data missing', { eventId: 6, type: 'X', date: '2025-01-15T10:30:00+02:00' }, 'result.events[1].data'],
    ['data null', event(6, { data: null }), 'result.events[1].data'],
  ])('keeps the page but rejects an event whose %s, raw and with the reason', (_label, bad, reason) => {
    const result = validateEventPage(page([event(5), bad, event(7)], 8), 'im.v2.Event.get', 5);
    expect(result.events.map((e) => e.eventId)).toEqual([5, 7]);
    expect(result.nextOffset).toBe(8);
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected?.[0]?.position).toBe(1);
    expect(result.rejected?.[0]?.raw).toEqual(bad);
    expect(result.rejected?.[0]?.reason).toContain(reason);
  });

  it('accepts data sent as an empty PHP array', () => {
    expect(validateEventPage(page([event(5, { data: [] })], 6), 'im.v2.Event.get', 5).rejected).toBeUndefined();
  });

  it('reads the lastEventId format of older portals as nextOffset = lastEventId + 1 (change-log.md, BOT-BC-0325-1)', () => {
    expect(validateEventPage({ events: [event(5), event(7)], lastEventId: 7, hasMore: true }, 'im.v2.Event.get', 5)).toEqual({
      events: [event(5), event(7)],
      nextOffset: 8,
      hasMore: true,
    });
    expect(validateEventPage({ events: [], lastEventId: null, hasMore: false }, 'im.v2.Event.get', 5).nextOffset).toBe(5);
    expect(validateEventPage({ events: [], lastEventId: 2, hasMore: false }, 'im.v2.Event.get', 5).nextOffset).toBe(5);
    expect(validateEventPage({ events: [], lastEventId: 0, hasMore: false }, 'im.v2.Event.get', undefined).nextOffset).toBe(0);
  });
});
