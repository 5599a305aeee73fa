// The Bitrix24 REST client: webhook or OAuth auth, the im.v2 / imbot.v2 event
// methods with validated answers, a generic `call`, and the retry policy
// (retry-policy.ts) with injected clock, sleep and random so tests are instant.
import { inspect } from 'node:util';
import { setTimeout as sleepReal } from 'node:timers/promises';
import { type EventPage } from '../shared/event-types.js';
import {
  Bitrix24Error,
  ExpiredTokenError,
  InvalidArgumentError,
  OperationTimeLimitError,
  RequestAbortedError,
  WriteOutcomeUnknownError,
} from './errors.js';
import { type Endpoint, parseEndpoint, parseWebhookUrl } from './endpoint.js';
import { type Bitrix24Logger, redactingLogger, silentLogger } from './logger.js';
import { OAuthSession } from './oauth-session.js';
import { SecretRedactor } from './redact.js';
import { interpretRestResponse, operatingResetAtOf, validateEventPage } from './response.js';
import {
  backoffDelay,
  fitsDeadline,
  isAmbiguousWriteFailure,
  isBackoffRetryable,
  isWriteSafeToRetry,
  type MethodKind,
  methodKind,
  type ResolvedRetryOptions,
  resolveRetryOptions,
  type RetryOptions,
} from './retry-policy.js';
import { type StoredTokens, type TokenStore } from './token-store.js';
import { HttpTransport, type TransportOptions, type TransportStats } from './transport.js';

export const DEFAULT_OAUTH_TOKEN_URL = 'https://oauth.bitrix.info/oauth/token/';

export type Bitrix24Credentials =
  | { readonly kind: 'webhook'; readonly webhookUrl: string }
  | {
      readonly kind: 'oauth';
      /** `https://<portal>/rest/` */
      readonly clientEndpoint: string;
      readonly clientId: string;
      readonly clientSecret: string;
      /** @default https://oauth.bitrix.info/oauth/token/ */
      readonly oauthTokenUrl?: string;
      readonly tokenStore: TokenStore;
    };

/** One REST request about to be sent (each attempt of a call is one). */
export interface RequestGateRequest {
  /** Portal host, as `Bitrix24Client.portal`. */
  readonly portal: string;
  readonly method: string;
  /** The call's deadline, ms epoch: the gate must not hold the request past it. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
}

export interface RequestGateAdmission {
  /** Set when another caller of this portal was told OPERATION_TIME_LIMIT for the method: hold it until then (ms epoch). */
  readonly pausedUntil?: number;
}

/**
 * A rate gate shared by every client of a portal (functions/budget: the portal budget). `admit` resolves when the
 * request may go (or says the method is paused portal-wide); it throws a Bitrix24Error when it cannot admit in time.
 */
export interface RequestGate {
  admit(request: RequestGateRequest): Promise<RequestGateAdmission>;
  /** Called after an OPERATION_TIME_LIMIT answer: every caller of `method` on `portal` holds until `until`. */
  pause(input: { readonly portal: string; readonly method: string; readonly until: number }): Promise<void>;
}

export interface Bitrix24ClientOptions {
  readonly credentials: Bitrix24Credentials;
  /** Shared per-portal rate gate asked before every REST request. @default none (the client only reacts to the portal's own limits) */
  readonly requestGate?: RequestGate;
  /** Clock, ms since epoch. @default Date.now */
  readonly now?: () => number;
  /** Waits between retries. @default node:timers/promises setTimeout (abortable) */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Jitter source in [0, 1). @default Math.random */
  readonly random?: () => number;
  /** Receives redacted log lines (retries, renewals). @default silent */
  readonly logger?: Bitrix24Logger;
  /** Timeouts, size cap, keep-alive. Defaults in DEFAULT_TRANSPORT_OPTIONS. */
  readonly transport?: TransportOptions;
  /** Attempts and backoff. Defaults in DEFAULT_RETRY_OPTIONS. */
  readonly retry?: RetryOptions;
  /** Renew the OAuth access token this long before it expires, in ms. @default 120000 */
  readonly renewBeforeExpiryMs?: number;
  /** After `invalid_grant`, re-read the token store this many times for another process's renewal. @default 5 */
  readonly renewalRaceChecks?: number;
  /** Pause between those re-reads, in ms. @default 200 */
  readonly renewalRaceCheckIntervalMs?: number;
}

export interface CallOptions {
  /** ms epoch: no retry wait may end after it; the request in flight is aborted at it. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** Overrides the client's retry.maxAttempts for this call (1 = no retry). */
  readonly maxAttempts?: number;
  /**
   * Whether the method only reads (retried after any retryable failure) or writes (retried only after failures
   * known to happen before Bitrix24 acted; an ambiguous failure throws WriteOutcomeUnknownError).
   * @default methodKind(method): known read verbs (get, list, search, fields…) are reads, everything else writes
   */
  readonly methodKind?: MethodKind;
}

export interface EventQuery {
  /** Confirms (deletes) every event below it and returns events from it on. Omit on the first call. */
  readonly offset?: number;
  /** 1–1000. @default 100 (server side) */
  readonly limit?: number;
}

export interface BotEventQuery extends EventQuery {
  readonly botId: number;
  /** Required with webhook auth: the token passed to imbot.v2.Bot.register (≤ 40 characters). */
  readonly botToken?: string;
  /** Also return the caller's ONIMV2* events (same offset). */
  readonly withUserEvents?: boolean;
}

export interface Bitrix24Client {
  /** Portal host (`example.bitrix24.com[:port]`), never a secret. */
  readonly portal: string;
  getEvents(params: EventQuery, options?: CallOptions): Promise<EventPage>;
  getBotEvents(params: BotEventQuery, options?: CallOptions): Promise<EventPage>;
  subscribe(options?: CallOptions): Promise<void>;
  unsubscribe(options?: CallOptions): Promise<void>;
  call<T = unknown>(method: string, params?: Record<string, unknown>, options?: CallOptions): Promise<{ result: T; time?: unknown }>;
  /** Counters of the keep-alive transport. */
  readonly transportStats: TransportStats;
  /** Token-endpoint requests made (OAuth only; 0 for webhooks). */
  readonly oauthRenewals: number;
  close(): Promise<void>;
  /** `Bitrix24Client(<host>, <auth kind>)`: never a secret (so are toJSON and util.inspect). */
  toString(): string;
}

const METHOD_NAME = /^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)+$/;

function checkQuery(method: string, params: EventQuery): void {
  if (params.offset !== undefined && (!Number.isSafeInteger(params.offset) || params.offset < 0)) {
    throw new InvalidArgumentError(`${method}: offset must be a non-negative integer (the previous answer's nextOffset); got ${String(params.offset)}`, method);
  }
  if (params.limit !== undefined && (!Number.isInteger(params.limit) || params.limit < 1 || params.limit > 1000)) {
    throw new InvalidArgumentError(`${method}: limit must be an integer from 1 to 1000; got ${String(params.limit)}`, method);
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return sleepReal(ms, undefined, signal === undefined ? undefined : { signal });
}

class Client implements Bitrix24Client {
  readonly portal: string;
  readonly #endpoint: Endpoint;
  readonly #redactor = new SecretRedactor();
  readonly #logger: Bitrix24Logger;
  readonly #transport: HttpTransport;
  readonly #oauth: OAuthSession | undefined;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #retry: ResolvedRetryOptions;
  readonly #authKind: 'webhook' | 'oauth';
  readonly #gate: RequestGate | undefined;
  /** Per method: when OPERATION_TIME_LIMIT lifts (from the last good answer's `operating_reset_at`). */
  readonly #operatingResetAt = new Map<string, number>();
  /** Per method: paused until (ms epoch) after an OPERATION_TIME_LIMIT answer. */
  readonly #pausedUntil = new Map<string, { until: number; error: OperationTimeLimitError }>();

  constructor(options: Bitrix24ClientOptions) {
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
    this.#retry = resolveRetryOptions(options.retry);
    this.#gate = options.requestGate;
    this.#logger = redactingLogger(options.logger ?? silentLogger, this.#redactor);
    const redact = (text: string): string => this.#redactor.redact(text);
    const credentials = options.credentials;
    this.#authKind = credentials.kind;
    if (credentials.kind === 'webhook') {
      if (typeof credentials.webhookUrl !== 'string') throw new InvalidArgumentError('credentials.webhookUrl must be a string');
      const webhook = parseWebhookUrl(credentials.webhookUrl);
      this.#redactor.add(webhook.code);
      this.#redactor.add(webhook.basePath);
      this.#redactor.add(credentials.webhookUrl);
      this.#endpoint = webhook;
      this.#transport = new HttpTransport(options.transport, redact);
      this.#oauth = undefined;
    } else {
      this.#redactor.add(credentials.clientSecret);
      const endpoint = parseEndpoint(credentials.clientEndpoint, 'The OAuth client endpoint (clientEndpoint)');
      const tokenEndpoint = parseEndpoint(credentials.oauthTokenUrl ?? DEFAULT_OAUTH_TOKEN_URL, 'The OAuth token URL (oauthTokenUrl)');
      if (typeof credentials.clientId !== 'string' || credentials.clientId === '') throw new InvalidArgumentError('credentials.clientId must be a non-empty string');
      if (typeof credentials.clientSecret !== 'string' || credentials.clientSecret === '') throw new InvalidArgumentError('credentials.clientSecret must be a non-empty string');
      this.#endpoint = endpoint;
      this.#transport = new HttpTransport(options.transport, redact);
      this.#oauth = new OAuthSession({
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
        tokenEndpoint,
        store: credentials.tokenStore,
        transport: this.#transport,
        redactor: this.#redactor,
        logger: this.#logger,
        now: this.#now,
        sleep: (ms) => this.#sleep(ms),
        renewBeforeExpiryMs: options.renewBeforeExpiryMs ?? 120_000,
        raceChecks: options.renewalRaceChecks ?? 5,
        raceCheckIntervalMs: options.renewalRaceCheckIntervalMs ?? 200,
      });
    }
    this.portal = this.#endpoint.host;
  }

  get transportStats(): TransportStats {
    return this.#transport.stats;
  }

  get oauthRenewals(): number {
    return this.#oauth?.renewals ?? 0;
  }

  async getEvents(params: EventQuery, options?: CallOptions): Promise<EventPage> {
    const method = 'im.v2.Event.get';
    checkQuery(method, params);
    const body: Record<string, unknown> = {};
    if (params.offset !== undefined) body.offset = params.offset;
    if (params.limit !== undefined) body.limit = params.limit;
    const { result } = await this.call(method, body, options);
    return validateEventPage(result, method, params.offset);
  }

  async getBotEvents(params: BotEventQuery, options?: CallOptions): Promise<EventPage> {
    const method = 'imbot.v2.Event.get';
    checkQuery(method, params);
    if (!Number.isSafeInteger(params.botId) || params.botId <= 0) {
      throw new InvalidArgumentError(`${method}: botId must be a positive integer (bot.id from imbot.v2.Bot.register; \`b24-pipeline bot register\` registers the bot and saves it); got ${String(params.botId)}`, method);
    }
    if (params.botToken !== undefined) this.#redactor.add(params.botToken);
    if (this.#authKind === 'webhook' && (params.botToken === undefined || params.botToken === '')) {
      throw new InvalidArgumentError(`${method}: botToken is required with webhook auth: put the botToken passed to imbot.v2.Bot.register (at most 40 characters) in the source secret as "botToken" (\`b24-pipeline bot register\` does).`, method);
    }
    const body: Record<string, unknown> = { botId: params.botId };
    if (params.botToken !== undefined && params.botToken !== '') body.botToken = params.botToken;
    if (params.offset !== undefined) body.offset = params.offset;
    if (params.limit !== undefined) body.limit = params.limit;
    if (params.withUserEvents !== undefined) body.withUserEvents = params.withUserEvents;
    const { result } = await this.call(method, body, options);
    return validateEventPage(result, method, params.offset);
  }

  async subscribe(options?: CallOptions): Promise<void> {
    await this.call('im.v2.Event.subscribe', {}, options);
  }

  async unsubscribe(options?: CallOptions): Promise<void> {
    await this.call('im.v2.Event.unsubscribe', {}, options);
  }

  async call<T = unknown>(method: string, params: Record<string, unknown> = {}, options: CallOptions = {}): Promise<{ result: T; time?: unknown }> {
    if (!METHOD_NAME.test(method)) throw new InvalidArgumentError(`"${method.slice(0, 80)}" is not a REST method name (e.g. im.message.add)`);
    const maxAttempts = options.maxAttempts ?? this.#retry.maxAttempts;
    const kind = options.methodKind ?? methodKind(method);
    let renewedAfterExpiry = false;
    let lastError: Bitrix24Error | undefined;
    for (let attempt = 1; ; attempt += 1) {
      await this.#waitOutOperationLimit(method, options, lastError);
      if (this.#gate !== undefined) {
        const held = await this.#admit(method, options);
        if (held !== undefined) {
          // Paused portal-wide by another caller's OPERATION_TIME_LIMIT: wait it out like our own (not an attempt: nothing was sent).
          lastError = held;
          attempt -= 1;
          continue;
        }
      }
      let usedTokens: StoredTokens | undefined;
      try {
        usedTokens = await this.#oauth?.current();
        const envelope = await this.#send(method, params, usedTokens, options);
        const resetAt = operatingResetAtOf(envelope.time);
        if (resetAt !== undefined) this.#operatingResetAt.set(method, resetAt);
        this.#pausedUntil.delete(method);
        return envelope as { result: T; time?: unknown };
      } catch (caught) {
        if (!(caught instanceof Bitrix24Error)) throw caught;
        const error = caught;
        lastError = error;
        if (error instanceof ExpiredTokenError && this.#oauth !== undefined && usedTokens !== undefined && !renewedAfterExpiry) {
          // Renew and retry once; this retry is not counted against maxAttempts.
          renewedAfterExpiry = true;
          this.#logger.info('bitrix24: access token expired; renewing and retrying once', { method, portal: this.portal });
          await this.#oauth.renew(usedTokens);
          attempt -= 1;
          continue;
        }
        if (kind === 'write' && !isWriteSafeToRetry(error)) {
          if (!isAmbiguousWriteFailure(error)) throw error;
          this.#logger.warn('bitrix24: write outcome unknown; not retried', { method, portal: this.portal, code: error.code });
          throw new WriteOutcomeUnknownError({ method, code: error.code, ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }), cause: error });
        }
        if (error instanceof OperationTimeLimitError) {
          const until = this.#operationLimitEnd(method, error);
          this.#pausedUntil.set(method, { until, error });
          await this.#sharePause(method, until);
          if (attempt >= maxAttempts) throw error;
          this.#logger.warn('bitrix24: method paused by OPERATION_TIME_LIMIT', { method, portal: this.portal, pausedForMs: until - this.#now() });
          continue;
        }
        if (!isBackoffRetryable(error) || attempt >= maxAttempts) throw error;
        const waitMs = backoffDelay(attempt, this.#random, this.#retry);
        if (!fitsDeadline(this.#now(), waitMs, options.deadline)) throw error;
        this.#logger.warn('bitrix24: call failed, retrying', { method, portal: this.portal, code: error.code, attempt, waitMs });
        await this.#sleepFor(waitMs, method, options);
      }
    }
  }

  /** Asks the shared gate; returns the error to wait out when the method is paused portal-wide. */
  async #admit(method: string, options: CallOptions): Promise<OperationTimeLimitError | undefined> {
    const gate = this.#gate;
    if (gate === undefined) return undefined;
    const admission = await gate.admit({
      portal: this.portal,
      method,
      ...(options.deadline === undefined ? {} : { deadline: options.deadline }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const until = admission.pausedUntil;
    if (until === undefined || until <= this.#now()) return undefined;
    const error = new OperationTimeLimitError({ code: 'OPERATION_TIME_LIMIT', method, resetAt: until, description: 'paused for every caller of this portal (shared budget)' });
    this.#pausedUntil.set(method, { until, error });
    return error;
  }

  /** Tells the shared gate about a pause; a failure to record it only costs the other callers one refused request each. */
  async #sharePause(method: string, until: number): Promise<void> {
    if (this.#gate === undefined) return;
    try {
      await this.#gate.pause({ portal: this.portal, method, until });
    } catch (error) {
      this.#logger.warn('bitrix24: recording the pause in the shared budget failed', { method, portal: this.portal, code: error instanceof Bitrix24Error ? error.code : 'UNKNOWN' });
    }
  }

  /** When an OPERATION_TIME_LIMIT lifts: the answer's own reset time, else the last good answer's, else a safe default. */
  #operationLimitEnd(method: string, error: OperationTimeLimitError): number {
    const now = this.#now();
    const candidates = [error.resetAt, this.#operatingResetAt.get(method)].filter((t): t is number => t !== undefined && t > now);
    return candidates[0] ?? now + this.#retry.operationLimitDefaultWaitMs;
  }

  async #waitOutOperationLimit(method: string, options: CallOptions, lastError: Bitrix24Error | undefined): Promise<void> {
    const paused = this.#pausedUntil.get(method);
    if (paused === undefined) return;
    const waitMs = paused.until - this.#now();
    if (waitMs <= 0) return;
    const limit = options.deadline === undefined ? waitMs <= this.#retry.operationLimitMaxWaitMs : fitsDeadline(this.#now(), waitMs, options.deadline);
    if (!limit) throw lastError instanceof OperationTimeLimitError ? lastError : paused.error;
    await this.#sleepFor(waitMs, method, options);
  }

  async #sleepFor(ms: number, method: string, options: CallOptions): Promise<void> {
    try {
      await this.#sleep(ms, options.signal);
    } catch (error) {
      if (options.signal?.aborted === true) {
        throw new RequestAbortedError({ method, code: 'ABORTED' });
      }
      throw error;
    }
  }

  async #send(method: string, params: Record<string, unknown>, tokens: StoredTokens | undefined, options: CallOptions) {
    const body = tokens === undefined ? params : { ...params, auth: tokens.accessToken };
    const deadlineController = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    if (options.deadline !== undefined) {
      const remaining = options.deadline - this.#now();
      if (remaining <= 0) deadlineController.abort();
      else timer = setTimeout(() => deadlineController.abort(), remaining);
    }
    const signals = [deadlineController.signal, ...(options.signal === undefined ? [] : [options.signal])];
    try {
      const response = await this.#transport.send({
        origin: this.#endpoint.origin,
        host: this.#endpoint.host,
        path: `${this.#endpoint.basePath}${method}`,
        method: 'POST',
        body: JSON.stringify(body),
        restMethod: method,
        signal: AbortSignal.any(signals),
        deadlineSignal: deadlineController.signal,
      });
      return interpretRestResponse({ method, status: response.status, body: response.body, redact: (text) => this.#redactor.redact(text) });
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  toString(): string {
    return `Bitrix24Client(${this.portal}, ${this.#authKind})`;
  }

  toJSON(): Record<string, string> {
    return { portal: this.portal, auth: this.#authKind };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

/** Creates a client. Validates the credentials (HTTPS off loopback, webhook URL shape) up front. */
export function createBitrix24Client(options: Bitrix24ClientOptions): Bitrix24Client {
  return new Client(options);
}
