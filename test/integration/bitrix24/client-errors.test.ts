// Every error class of the client, produced over real HTTP by the portal
// simulator (fault injection, real portal behaviour) or by a real socket
// (refused port, stalled body). Each test also checks what was (not) retried.
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AccessDeniedError,
  Bitrix24ApiError,
  type Bitrix24Client,
  type Bitrix24ClientOptions,
  BotError,
  BotIdRequiredError,
  BotNotFoundError,
  BotOwnershipError,
  BotScopeError,
  BotTokenInvalidLengthError,
  BotTokenNotSpecifiedError,
  createBitrix24Client,
  CurrentUserUnknownError,
  ExpiredTokenError,
  InsecureUrlError,
  InvalidArgumentError,
  InvalidRequestError,
  MalformedResponseError,
  MethodNotFoundError,
  NetworkError,
  NoAuthFoundError,
  OperationTimeLimitError,
  OverloadLimitError,
  PortalDeletedError,
  QueryLimitExceededError,
  RequestAbortedError,
  RequestTimeoutError,
  ResponseTooLargeError,
  ServerError,
  UserNotSubscribedError,
} from '../../../functions/bitrix24/index.js';
import { freePort } from '../../../functions/local/aws-emulators.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { Capture, fakeTime, type FakeTime } from './harness.js';

const GET = 'im.v2.Event.get';
const capture = new Capture();
let sim: PortalSimulator;
let userId: number;
let webhookUrl: string;
// One clock for the client and the portal (operating_reset_at, token expiry); each test starts an hour later.
let time: FakeTime = fakeTime();
const clients: Bitrix24Client[] = [];

function client(extra: Partial<Bitrix24ClientOptions> = {}): Bitrix24Client {
  const created = createBitrix24Client({
    credentials: { kind: 'webhook', webhookUrl },
    logger: capture.logger,
    now: time.now,
    sleep: time.sleep,
    random: () => 0.5,
    ...extra,
  });
  clients.push(created);
  return created;
}

const callsOf = (method: string) => sim.calls.filter((call) => call.method === method);

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false, now: () => time.now() });
  userId = sim.addUser({ name: 'Errors' }).id;
  webhookUrl = sim.createWebhook(userId);
  capture.secret(webhookUrl, new URL(webhookUrl).pathname, new URL(webhookUrl).pathname.split('/')[3]);
  sim.subscribe(userId);
});

afterAll(async () => {
  await sim.stop();
  capture.assertNoSecrets(50);
});

beforeEach(() => {
  time = fakeTime(time.now() + 3_600_000);
  sim.faults.clear();
  sim.clearCalls();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('Bitrix24 error answers (fault injection)', () => {
  it.each([
    [503, 'OVERLOAD_LIMIT', OverloadLimitError, 'overload', 'support'],
    [401, 'NO_AUTH_FOUND', NoAuthFoundError, 'auth', 'webhook URL'],
    [401, 'expired_token', ExpiredTokenError, 'auth', 'token'],
    // error-codes.md: outside imbot.v2, ACCESS_DENIED means REST is not on the portal's plan.
    [403, 'ACCESS_DENIED', AccessDeniedError, 'permission', 'commercial Bitrix24 plans'],
    [403, 'INVALID_CREDENTIALS', AccessDeniedError, 'permission', 'rights'],
    [403, 'insufficient_scope', AccessDeniedError, 'permission', 'scope'],
    [403, 'user_access_error', AccessDeniedError, 'permission', 'access to the app'],
    [400, 'INVALID_REQUEST', InvalidRequestError, 'config', 'https://'],
    [500, 'PORTAL_DELETED', PortalDeletedError, 'portal-gone', 'Disable this source'],
    [404, 'ERROR_METHOD_NOT_FOUND', MethodNotFoundError, 'config', 'method name'],
    [400, 'SOMETHING_UNHEARD_OF', Bitrix24ApiError, 'api', 'documentation'],
  ] as const)('HTTP %i %s → its typed error, not retried, says what to fix', async (status, code, type, kind, hint) => {
    sim.faults.inject({ method: GET, kind: 'error', status, code, description: 'described' });
    const error = await capture.rejection(client().getEvents({ limit: 10 }));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, kind, retryable: false, httpStatus: status, method: GET });
    expect((error as Error).message).toContain(hint);
    expect((error as Error).message).toContain('described');
    expect(callsOf(GET)).toHaveLength(1);
    expect(time.waits).toEqual([]);
  });

  // api-reference/chat-bots/chat-bots-v2/imbot.v2/events/event-get.md (Possible Error Codes);
  // BOT_TOKEN_INVALID_LENGTH: imbot.v2/bots/bot-register.md, change-log.md BOT-BC-0506-1.
  it.each([
    ['BOT_ID_REQUIRED', BotIdRequiredError, 'imbot.v2.Bot.register'],
    ['BOT_TOKEN_NOT_SPECIFIED', BotTokenNotSpecifiedError, 'put "botToken" in the source secret'],
    ['BOT_TOKEN_INVALID_LENGTH', BotTokenInvalidLengthError, 'at most 40 characters with imbot.v2.Bot.update'],
    ['BOT_NOT_FOUND', BotNotFoundError, 'register it with imbot.v2.Bot.register'],
    ['BOT_OWNERSHIP_ERROR', BotOwnershipError, 'only the app (client_id) that registered a bot may read its events'],
    ['SCOPE_ERROR', BotScopeError, 'scope "im"'],
    ['AUTH_ERROR', CurrentUserUnknownError, 'could not determine the current user'],
    ['USER_NOT_SUBSCRIBED', UserNotSubscribedError, 'im.v2.Event.subscribe'],
  ] as const)('bot error %s → its BotError subclass, not retried, says what to do', async (code, type, hint) => {
    const bot = sim.registerBot(userId, { code: `bot_${code.toLowerCase()}` });
    capture.secret(bot.botToken);
    sim.faults.inject({ method: 'imbot.v2.Event.get', kind: 'error', status: 400, code });
    const error = await capture.rejection(client().getBotEvents({ botId: bot.botId, botToken: bot.botToken }));
    expect(error).toBeInstanceOf(type);
    expect(error).toBeInstanceOf(BotError);
    expect(error).toMatchObject({ code, kind: 'bot', retryable: false, name: type.name });
    expect((error as Error).message).toContain(hint);
    expect((error as Error).message).not.toContain('imbot.register returned');
    expect(callsOf('imbot.v2.Event.get')).toHaveLength(1);
  });

  it('ACCESS_DENIED from an imbot.v2 method: the bot is not a member of that chat', async () => {
    const bot = sim.registerBot(userId, { code: 'not_a_member' });
    capture.secret(bot.botToken);
    const send = 'imbot.v2.Chat.Message.send';
    // imbot.v2/messages/chat-message-send.md: ACCESS_DENIED — the bot is not a participant in the chat.
    sim.faults.inject({ method: send, kind: 'error', status: 403, code: 'ACCESS_DENIED', description: 'Access denied' });
    const error = await capture.rejection(client().call(send, { botId: bot.botId, botToken: bot.botToken, dialogId: 'chat42', fields: { message: 'hi' } }, { maxAttempts: 1 }));
    expect(error).toBeInstanceOf(AccessDeniedError);
    expect(error).toMatchObject({ code: 'ACCESS_DENIED', method: send, retryable: false });
    expect((error as Error).message).toContain('The bot is not a member of this chat');
    expect((error as Error).message).not.toContain('commercial');
    expect(callsOf(send)).toHaveLength(1);
  });

  it.each([
    [503, 'QUERY_LIMIT_EXCEEDED', QueryLimitExceededError, 'rate-limit'],
    [500, 'INTERNAL_SERVER_ERROR', ServerError, 'server'],
    [500, 'ERROR_UNEXPECTED_ANSWER', ServerError, 'server'],
  ] as const)('HTTP %i %s → its typed error, retried with backoff until it succeeds', async (status, code, type, kind) => {
    sim.faults.inject({ method: GET, kind: 'error', status, code, times: 2 });
    const page = await client().getEvents({ limit: 10 });
    expect(page.hasMore).toBe(false);
    expect(callsOf(GET).map((call) => call.errorCode ?? 'ok')).toEqual([code, code, 'ok']);
    expect(time.waits).toHaveLength(2);

    sim.faults.inject({ method: GET, kind: 'error', status, code, times: 5 });
    const error = await capture.rejection(client({ retry: { maxAttempts: 3 } }).getEvents({}));
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, kind, retryable: true, httpStatus: status });
  });

  it('OPERATION_TIME_LIMIT → OperationTimeLimitError once the deadline leaves no room to wait', async () => {
    sim.faults.inject({ method: GET, kind: 'operation-time-limit', resetInSeconds: 120, times: 5 });
    const error = await capture.rejection(client().getEvents({}, { deadline: time.now() + 10_000 }));
    expect(error).toBeInstanceOf(OperationTimeLimitError);
    expect(error).toMatchObject({ code: 'OPERATION_TIME_LIMIT', kind: 'operation-limit', httpStatus: 429 });
    expect(time.waits).toEqual([]);
  });
});

describe('transport failures', () => {
  it("a proxy's HTML 502 page → retryable ServerError, never a crash", async () => {
    sim.faults.inject({ method: GET, kind: 'html' });
    const error = await capture.rejection(client({ retry: { maxAttempts: 1 } }).getEvents({}));
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ code: 'HTTP_502', httpStatus: 502, retryable: true });
    expect((error as Error).message).toContain('HTML error page');
  });

  it('a malformed body → MalformedResponseError naming the field', async () => {
    sim.faults.inject({ method: GET, kind: 'malformed' });
    const error = await capture.rejection(client().getEvents({}));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as MalformedResponseError).field).toMatch(/^(body|result)/);
    expect(callsOf(GET)).toHaveLength(1);
  });

  it('a connection reset mid-body → NetworkError, retried', async () => {
    sim.faults.inject({ method: GET, kind: 'reset' });
    const page = await client().getEvents({});
    expect(page.events).toBeDefined();
    expect(callsOf(GET)).toHaveLength(2);

    sim.faults.inject({ method: GET, kind: 'reset' });
    const error = await capture.rejection(client({ retry: { maxAttempts: 1 } }).getEvents({}));
    expect(error).toBeInstanceOf(NetworkError);
    expect(error).toMatchObject({ kind: 'network', retryable: true });
  });

  it('a refused connection → NetworkError ECONNREFUSED', async () => {
    const port = await freePort();
    const refusedUrl = `http://127.0.0.1:${port}/rest/1/refusedcode123/`;
    capture.secret('refusedcode123');
    const error = await capture.rejection(client({ credentials: { kind: 'webhook', webhookUrl: refusedUrl }, retry: { maxAttempts: 2 } }).getEvents({}));
    expect(error).toBeInstanceOf(NetworkError);
    expect((error as NetworkError).code).toBe('ECONNREFUSED');
    expect(time.waits).toHaveLength(1);
  });

  it('slow headers → RequestTimeoutError (headers), retried', async () => {
    sim.faults.inject({ method: GET, kind: 'latency', ms: 1500 });
    const error = await capture.rejection(client({ transport: { headersTimeoutMs: 200 }, retry: { maxAttempts: 1 } }).getEvents({}));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ phase: 'headers', retryable: true });
  });

  it('the caller deadline passing during a request → RequestTimeoutError (deadline), not retried', async () => {
    sim.faults.inject({ method: GET, kind: 'latency', ms: 1500 });
    const error = await capture.rejection(client({ now: Date.now }).getEvents({}, { deadline: Date.now() + 200 }));
    expect(error).toBeInstanceOf(RequestTimeoutError);
    expect(error).toMatchObject({ phase: 'deadline', retryable: false });
  });

  it("the caller's AbortSignal → RequestAbortedError, not retried", async () => {
    sim.faults.inject({ method: GET, kind: 'latency', ms: 1500 });
    const controller = new AbortController();
    const pending = capture.rejection(client().getEvents({}, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 100);
    const error = await pending;
    expect(error).toBeInstanceOf(RequestAbortedError);
    expect(error).toMatchObject({ kind: 'aborted', retryable: false });
    expect(time.waits).toEqual([]);
  });

  it('a body larger than maxResponseBytes → ResponseTooLargeError', async () => {
    const user = sim.addUser({ name: 'Big' }).id;
    const url = sim.createWebhook(user);
    capture.secret(url, new URL(url).pathname.split('/')[3]);
    sim.subscribe(user);
    sim.activity.generate({ userId: user }, 40);
    const error = await capture.rejection(client({ credentials: { kind: 'webhook', webhookUrl: url }, transport: { maxResponseBytes: 4096 } }).getEvents({ limit: 40 }));
    expect(error).toBeInstanceOf(ResponseTooLargeError);
    expect(error).toMatchObject({ kind: 'too-large', retryable: false, limitBytes: 4096 });
    const page = await client({ credentials: { kind: 'webhook', webhookUrl: url } }).getEvents({ limit: 40 });
    expect(page.events).toHaveLength(40);
  });

  describe('a server that stalls mid-body', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"result":{"events":[');
        // …and never finishes.
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      port = typeof address === 'object' && address !== null ? address.port : 0;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('→ RequestTimeoutError (body)', async () => {
      capture.secret('stallcode42');
      const error = await capture.rejection(
        client({ credentials: { kind: 'webhook', webhookUrl: `http://127.0.0.1:${port}/rest/3/stallcode42/` }, transport: { bodyTimeoutMs: 200 }, retry: { maxAttempts: 1 } }).getEvents({}),
      );
      expect(error).toBeInstanceOf(RequestTimeoutError);
      expect(error).toMatchObject({ phase: 'body', retryable: true });
    });
  });
});

describe('configuration and argument errors (no request made)', () => {
  it('plain http to a non-loopback host → InsecureUrlError', () => {
    expect(() => createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: 'http://example.bitrix24.com/rest/1/insecurecode/' } })).toThrow(InsecureUrlError);
    expect(() => createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: 'http://example.bitrix24.com/rest/1/insecurecode/' } })).toThrow(/https/);
  });

  it.each([
    [{ limit: 0 }],
    [{ limit: 1001 }],
    [{ limit: 2.5 }],
    [{ offset: -1 }],
    [{ offset: 1.5 }],
  ])('getEvents(%j) → InvalidArgumentError before any HTTP call', async (params) => {
    const error = await capture.rejection(client().getEvents(params));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(sim.calls).toHaveLength(0);
  });

  it('limits 1 and 1000 are accepted', async () => {
    await client().getEvents({ limit: 1 });
    await client().getEvents({ limit: 1000 });
    expect(callsOf(GET).map((call) => call.limit)).toEqual([1, 1000]);
  });

  it('getBotEvents without botToken on webhook auth → InvalidArgumentError', async () => {
    const error = await capture.rejection(client().getBotEvents({ botId: 5 }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toContain('botToken');
    expect(sim.calls).toHaveLength(0);
  });
});
