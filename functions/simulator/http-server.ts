// HTTP framing of the simulated portal: routes (`/rest/<user>/<code>/<method>`,
// `/rest/<method>` + `auth`, `/oauth/token/`), the order a real portal and the
// proxy in front of it apply things (faults → rate limit → auth → method), the
// `{result, time}` / `{error, error_description}` envelopes and the call record.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EventJsonWriter } from './event-json.js';
import type { FaultQueue } from './fault-queue.js';
import { TOKEN_ENDPOINT_METHOD } from './fault-queue.js';
import type { LeakyBucket } from './leaky-bucket.js';
import { intParam, parseParams, boolParam, stringParam, type Params } from './params.js';
import { formatPortalDate } from './portal-date.js';
import type { PortalState } from './portal-state.js';
import { findMethod, type MethodEnvironment } from './rest-methods.js';
import type { CallRecord, FaultSpec } from './types.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;
/** The execution-time budget is counted per method over 10 one-minute buckets (limits.md); 480 s is the docs' example size. */
const OPERATING_BUCKET_MS = 60 * 1000;
const OPERATING_WINDOW_MS = 10 * OPERATING_BUCKET_MS;
const OPERATING_LIMIT_SECONDS = 480;
/** The OAuth server (settings/oauth: `domain` in a renewal answer is the OAuth server, not the portal). */
export const OAUTH_SERVER_DOMAIN = 'oauth.bitrix.info';

export const PROXY_502_PAGE =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

export interface ServerDependencies {
  readonly state: PortalState;
  readonly faults: FaultQueue;
  readonly bucket: LeakyBucket | undefined;
  readonly now: () => number;
  readonly env: MethodEnvironment;
  readonly json: EventJsonWriter;
  readonly record: (call: CallRecord) => void;
  readonly baseUrl: () => string;
  readonly portalHost: () => string;
  /** Test-control actions over HTTP (`POST /_sim/<action>`, e.g. `say`). */
  readonly control: (action: string, body: unknown) => unknown;
  /** Answer REST calls with 400 INVALID_REQUEST ("HTTPS required"). */
  readonly requireHttps: boolean;
}

type Route =
  | { readonly kind: 'webhook'; readonly userId: number; readonly code: string; readonly method: string }
  | { readonly kind: 'oauth'; readonly method: string };

function parseRestPath(pathname: string): Route | undefined {
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts[0] !== 'rest') return undefined;
  const strip = (m: string): string => decodeURIComponent(m).replace(/\.json$/i, '');
  if (parts.length === 4 && /^\d+$/.test(parts[1] ?? '') && parts[2] !== undefined && parts[3] !== undefined) {
    return { kind: 'webhook', userId: Number(parts[1]), code: parts[2], method: strip(parts[3]) };
  }
  if (parts.length === 2 && parts[1] !== undefined) return { kind: 'oauth', method: strip(parts[1]) };
  return undefined;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Seconds of execution per one-minute bucket start (ms) of one method. */
type OperatingBuckets = Map<number, number>;

/** Fields of a call worth recording, read leniently (a bad value is simply not recorded). */
function recordFields(params: Params): Pick<CallRecord, 'offset' | 'limit' | 'botId' | 'withUserEvents' | 'botTokenSent'> {
  const out: { offset?: number; limit?: number; botId?: number; withUserEvents?: boolean; botTokenSent?: boolean } = {};
  const offset = intParam(params, 'offset');
  if (typeof offset === 'number') out.offset = offset;
  const limit = intParam(params, 'limit');
  if (typeof limit === 'number') out.limit = limit;
  const botId = intParam(params, 'botId');
  if (typeof botId === 'number') out.botId = botId;
  if (boolParam(params, 'withUserEvents')) out.withUserEvents = true;
  const botToken = stringParam(params, 'botToken');
  if (botToken !== undefined && botToken !== '') out.botTokenSent = true;
  return out;
}

export function createRequestHandler(deps: ServerDependencies): (req: IncomingMessage, res: ServerResponse) => void {
  const operating = new Map<string, OperatingBuckets>();
  /** Bucket starts put in by operation-time-limit faults, per method. */
  const injectedStarts = new Map<string, number[]>();

  /** The buckets of a method still inside the 10-minute window at `at` (older ones drop out). */
  function bucketsOf(method: string, at: number): OperatingBuckets {
    const key = method.toLowerCase();
    let buckets = operating.get(key);
    if (buckets === undefined) {
      buckets = new Map();
      operating.set(key, buckets);
    }
    for (const start of buckets.keys()) if (start + OPERATING_WINDOW_MS <= at) buckets.delete(start);
    return buckets;
  }

  /** `operating` = sum of the window's buckets; `operating_reset_at` = when the oldest bucket drops out (so `operating` falls in steps). */
  function operatingOf(method: string, at: number): { operating: number; resetAt: number } {
    const buckets = bucketsOf(method, at);
    let total = 0;
    let oldest = Math.floor(at / OPERATING_BUCKET_MS) * OPERATING_BUCKET_MS;
    for (const [start, seconds] of buckets) {
      total += seconds;
      if (start < oldest) oldest = start;
    }
    return { operating: total, resetAt: oldest + OPERATING_WINDOW_MS };
  }

  function addOperating(method: string, at: number, seconds: number, bucketStart = Math.floor(at / OPERATING_BUCKET_MS) * OPERATING_BUCKET_MS): void {
    const buckets = bucketsOf(method, at);
    buckets.set(bucketStart, (buckets.get(bucketStart) ?? 0) + seconds);
  }

  function timing(method: string, startMs: number, t0: number, countIt: boolean): Record<string, unknown> {
    const finishMs = deps.now();
    const processing = (performance.now() - t0) / 1000;
    if (countIt) addOperating(method, finishMs, processing);
    const op = operatingOf(method, finishMs);
    const offset = deps.state.utcOffsetMinutes;
    return {
      start: startMs / 1000,
      finish: finishMs / 1000,
      duration: Math.max((finishMs - startMs) / 1000, processing),
      processing,
      date_start: formatPortalDate(startMs, offset),
      date_finish: formatPortalDate(finishMs, offset),
      operating_reset_at: Math.floor(op.resetAt / 1000),
      operating: op.operating,
    };
  }

  function send(res: ServerResponse, status: number, body: string, fault: FaultSpec | undefined, contentType = 'application/json; charset=utf-8'): void {
    if (fault?.kind === 'reset') {
      const bytes = Buffer.from(body, 'utf8');
      res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
      res.write(bytes.subarray(0, Math.max(1, Math.floor(bytes.length / 2))), () => {
        res.socket?.destroy();
      });
      return;
    }
    const text = fault?.kind === 'malformed' ? body.slice(0, Math.max(1, Math.floor(body.length / 2))) : body;
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text, 'utf8') });
    res.end(text);
  }

  function errorBody(code: string, description: string, time?: Record<string, unknown>): string {
    return JSON.stringify(time === undefined ? { error: code, error_description: description } : { error: code, error_description: description, time });
  }

  async function handleToken(url: URL, body: string, contentType: string | undefined, res: ServerResponse, arrival: number): Promise<void> {
    const parsed = parseParams(url.search.slice(1), body, contentType);
    const params = parsed.ok ? parsed.params : {};
    const fault = deps.faults.take(TOKEN_ENDPOINT_METHOD);
    const base = { method: TOKEN_ENDPOINT_METHOD, auth: 'none' as const, arrival, ...(fault === undefined ? {} : { fault: fault.kind }) };
    if (fault?.kind === 'latency') await sleep(fault.ms);
    const early = earlyFaultAnswer(fault, TOKEN_ENDPOINT_METHOD, deps.now(), performance.now());
    if (early !== undefined) {
      send(res, early.status, early.body, undefined, early.contentType);
      deps.record({ ...base, status: early.status, ...(early.code === undefined ? {} : { errorCode: early.code }), at: deps.now() });
      return;
    }
    const grant = stringParam(params, 'grant_type');
    const clientId = stringParam(params, 'client_id') ?? '';
    const clientSecret = stringParam(params, 'client_secret') ?? '';
    const refreshToken = stringParam(params, 'refresh_token') ?? '';
    const outcome =
      grant === 'refresh_token'
        ? deps.state.refresh(clientId, clientSecret, refreshToken)
        : ({ ok: false, error: 'invalid_request', description: 'Only grant_type=refresh_token is supported' } as const);
    if (!outcome.ok) {
      const status = outcome.error === 'invalid_client' ? 401 : 400;
      send(res, status, errorBody(outcome.error, outcome.description), fault);
      deps.record({ ...base, status, errorCode: outcome.error, at: deps.now() });
      return;
    }
    const nowMs = deps.now();
    const answer = {
      access_token: outcome.accessToken,
      expires: Math.floor(outcome.expiresAt / 1000),
      expires_in: Math.round((outcome.expiresAt - nowMs) / 1000),
      scope: 'im,imbot',
      // settings/oauth: `domain` names the OAuth server; the portal is in client_endpoint.
      domain: OAUTH_SERVER_DOMAIN,
      server_endpoint: `${deps.baseUrl()}/oauth/rest/`,
      status: 'L',
      client_endpoint: `${deps.baseUrl()}/rest/`,
      member_id: deps.state.memberId,
      user_id: outcome.userId,
      refresh_token: outcome.refreshToken,
    };
    send(res, 200, JSON.stringify(answer), fault);
    deps.record({ ...base, userId: outcome.userId, status: 200, at: nowMs });
  }

  /** Answers of faults that stand in for the method (error, proxy page, operating limit). */
  function earlyFaultAnswer(
    fault: FaultSpec | undefined,
    method: string,
    startMs: number,
    t0: number,
  ): { status: number; body: string; code?: string; contentType?: string } | undefined {
    if (fault === undefined) return undefined;
    switch (fault.kind) {
      case 'html':
        return { status: 502, body: PROXY_502_PAGE, contentType: 'text/html' };
      case 'error':
        return { status: fault.status, code: fault.code, body: errorBody(fault.code, fault.description ?? `Injected ${fault.code}`) };
      case 'operation-time-limit': {
        // The budget is spent by one (synthetic) bucket that drops out `resetInSeconds`
        // from now; a new fault replaces the previous one, so each 429 names its own reset.
        const resetAt = startMs + (fault.resetInSeconds ?? 60) * 1000;
        const buckets = bucketsOf(method, startMs);
        for (const start of injectedStarts.get(method.toLowerCase()) ?? []) buckets.delete(start);
        const spent = operatingOf(method, startMs).operating;
        const start = resetAt - OPERATING_WINDOW_MS;
        addOperating(method, startMs, Math.max(0, OPERATING_LIMIT_SECONDS + 1 - spent), start);
        injectedStarts.set(method.toLowerCase(), [start]);
        return {
          status: 429,
          code: 'OPERATION_TIME_LIMIT',
          body: errorBody('OPERATION_TIME_LIMIT', 'Method is blocked due to operation time limit.', timing(method, startMs, t0, false)),
        };
      }
      default:
        return undefined;
    }
  }

  /** `POST /_sim/<action>` with a JSON body: the test-control API over HTTP (say, edit, deleteMessage, react, addToChat, pressButton, sendContext, createChat). */
  function handleControl(action: string, body: string, res: ServerResponse): void {
    try {
      const input: unknown = body.trim() === '' ? {} : JSON.parse(body);
      const result = deps.control(action, input) ?? true;
      send(res, 200, JSON.stringify({ result }), undefined);
    } catch (error) {
      send(res, 400, errorBody('SIMULATOR_USAGE', error instanceof Error ? error.message : String(error)), undefined);
    }
  }

  let arrivals = 0;
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    arrivals += 1;
    const arrival = arrivals;
    const startMs = deps.now();
    const t0 = performance.now();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const contentType = req.headers['content-type'];
    const simAction = /^\/_sim\/([A-Za-z]+)\/?$/.exec(url.pathname);
    if (simAction !== null) {
      handleControl(simAction[1] ?? '', body ?? '', res);
      return;
    }
    if (url.pathname.replace(/\/+$/, '') === '/oauth/token') {
      await handleToken(url, body ?? '', contentType, res, arrival);
      return;
    }
    const route = parseRestPath(url.pathname);
    if (route === undefined) {
      send(res, 404, errorBody('ERROR_METHOD_NOT_FOUND', 'Method not found!'), undefined);
      deps.record({ method: url.pathname.slice(0, 80), auth: 'none', arrival, status: 404, errorCode: 'ERROR_METHOD_NOT_FOUND', at: startMs });
      return;
    }
    const method = route.method;
    const parsed = body === undefined ? { ok: false as const } : parseParams(url.search.slice(1), body, contentType);
    const params = parsed.ok ? parsed.params : {};
    const fault = deps.faults.take(method);
    const rec: { -readonly [K in keyof CallRecord]: CallRecord[K] } = {
      method,
      auth: route.kind,
      arrival,
      ...(route.kind === 'webhook' ? { userId: route.userId } : {}),
      ...recordFields(params),
      ...(fault === undefined ? {} : { fault: fault.kind }),
      status: 0,
      at: startMs,
    };
    const finish = (status: number, text: string, errorCode?: string, contentTypeOverride?: string): void => {
      send(res, status, text, fault, contentTypeOverride);
      rec.status = status;
      if (errorCode !== undefined) rec.errorCode = errorCode;
      deps.record(rec);
    };

    if (fault?.kind === 'latency') await sleep(fault.ms);
    const early = earlyFaultAnswer(fault, method, startMs, t0);
    if (early !== undefined) {
      finish(early.status, early.body, early.code, early.contentType);
      return;
    }
    if (deps.bucket !== undefined && !deps.bucket.tryTake(deps.now())) {
      finish(503, errorBody('QUERY_LIMIT_EXCEEDED', 'Too many requests'), 'QUERY_LIMIT_EXCEEDED');
      return;
    }
    if (deps.requireHttps) {
      // INVALID_REQUEST means "HTTPS required" (bitrix24-events-api.md system errors), not a bad body.
      finish(400, errorBody('INVALID_REQUEST', 'Https required.'), 'INVALID_REQUEST');
      return;
    }

    let userId: number;
    let clientId: string | undefined;
    if (route.kind === 'webhook') {
      const owner = deps.state.webhookUser(route.userId, route.code);
      if (owner === undefined) {
        finish(401, errorBody('NO_AUTH_FOUND', 'Wrong authorization data'), 'NO_AUTH_FOUND');
        return;
      }
      userId = owner;
    } else {
      const token = stringParam(params, 'auth') ?? '';
      const check = deps.state.checkAccessToken(token);
      if (!check.ok) {
        if (check.reason === 'expired') finish(401, errorBody('expired_token', 'The access token provided has expired.'), 'expired_token');
        else finish(401, errorBody('NO_AUTH_FOUND', 'Wrong authorization data'), 'NO_AUTH_FOUND');
        return;
      }
      userId = check.userId;
      clientId = check.clientId;
      rec.userId = userId;
    }

    const handler = findMethod(method);
    if (handler === undefined) {
      finish(404, errorBody('ERROR_METHOD_NOT_FOUND', 'Method not found!'), 'ERROR_METHOD_NOT_FOUND');
      return;
    }
    const outcome = handler(deps.env, { method, auth: route.kind, userId, clientId, params, now: deps.now() });
    if (!outcome.ok) {
      finish(outcome.status, errorBody(outcome.code, outcome.description), outcome.code);
      return;
    }
    if ('page' in outcome) {
      rec.eventCount = outcome.page.events.length;
      finish(200, deps.json.page(outcome.page, timing(method, startMs, t0, true)));
      return;
    }
    finish(200, JSON.stringify({ result: outcome.result, time: timing(method, startMs, t0, true) }));
  }

  return (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'INTERNAL_SERVER_ERROR', error_description: 'Simulator fault' }));
      } else {
        res.destroy();
      }
    });
  };
}
