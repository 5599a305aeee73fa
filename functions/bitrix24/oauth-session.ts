// OAuth access-token lifecycle for one client: load from the TokenStore,
// renew through the OAuth server when the token has expired or is about to,
// persist the rotated refresh token conditionally.
//
// Races, because refresh tokens are single-use:
//   - within a process, renewals are single-flight (one request, all callers
//     await it);
//   - across processes, the loser either gets `invalid_grant` (the winner used
//     the refresh token first) or loses the conditional save
//     (TokenConflictError); in both cases it reloads the winner's tokens from
//     the store and carries on. Only a refresh token that no process can
//     replace ends in InvalidGrantError (re-authorise by hand).
//
// A renewal that succeeded has spent the old refresh token: the new pair is
// the only live one, so it is never thrown away. It is used in memory at once;
// a save that fails for any reason but a conflict (throttling, network) is
// retried with backoff; if it still fails the process keeps the chain in
// memory, logs an error, retries the save on later calls, and saves the next
// renewal over what the store still holds:
//
//   saved ──renew──► saving ──ok──► saved
//                      │ failed N times
//                      ▼
//                   unsaved (in memory; `#unsaved.over` = what the store holds)
//                      ├─ later call: one more save attempt per interval ──ok──► saved
//                      ├─ next renewal: spends the in-memory token, saves over `over`
//                      └─ store changed by another process (new seed): adopt its chain
import {
  Bitrix24Error,
  InvalidClientError,
  InvalidGrantError,
  MalformedResponseError,
  OAuthRenewalError,
  ServerError,
  TokenConflictError,
  TokenStoreError,
} from './errors.js';
import { type Endpoint } from './endpoint.js';
import { type Bitrix24Logger } from './logger.js';
import { type SecretRedactor } from './redact.js';
import { type StoredTokens, type TokenStore } from './token-store.js';
import { type HttpTransport } from './transport.js';

export const OAUTH_TOKEN_METHOD = 'oauth/token';

export interface OAuthSessionOptions {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenEndpoint: Endpoint;
  readonly store: TokenStore;
  readonly transport: HttpTransport;
  readonly redactor: SecretRedactor;
  readonly logger: Bitrix24Logger;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Renew this long before the access token expires, in ms. */
  readonly renewBeforeExpiryMs: number;
  /** After invalid_grant, how often to re-read the store for another process's renewal. */
  readonly raceChecks: number;
  /** Pause between those re-reads, in ms. */
  readonly raceCheckIntervalMs: number;
  /** Attempts to save renewed tokens before the process keeps them unsaved in memory. @default 5 */
  readonly saveAttempts?: number;
  /** First pause between save attempts, in ms; doubles per attempt. @default 200 */
  readonly saveRetryBaseDelayMs?: number;
  /** Longest pause between save attempts, in ms. @default 3000 */
  readonly saveRetryMaxDelayMs?: number;
  /** While tokens are unsaved, how often a call tries the save again, in ms. @default 30000 */
  readonly unsavedRetryIntervalMs?: number;
}

/** Renewed tokens the store does not hold yet, and the tokens it does hold (what the save must replace). */
interface UnsavedTokens {
  readonly tokens: StoredTokens;
  readonly over: StoredTokens | undefined;
  readonly nextAttemptAt: number;
}

const sameRefreshToken = (a: StoredTokens | undefined, b: StoredTokens | undefined): boolean => a?.refreshToken === b?.refreshToken;

/** Log attributes of a store failure: its name and code, never its raw message (it could echo request data). */
function errorSummary(error: unknown): { errorName: string; code?: string } {
  if (error instanceof Bitrix24Error) return { errorName: error.name, code: error.code };
  return { errorName: error instanceof Error ? error.name : typeof error };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class OAuthSession {
  readonly #o: OAuthSessionOptions;
  readonly #saveAttempts: number;
  readonly #saveRetryBaseDelayMs: number;
  readonly #saveRetryMaxDelayMs: number;
  readonly #unsavedRetryIntervalMs: number;
  #tokens: StoredTokens | undefined;
  #renewing: Promise<StoredTokens> | undefined;
  #loading: Promise<StoredTokens> | undefined;
  #unsaved: UnsavedTokens | undefined;
  #retryingSave: Promise<void> | undefined;
  #renewals = 0;

  constructor(options: OAuthSessionOptions) {
    this.#o = options;
    this.#saveAttempts = Math.max(1, options.saveAttempts ?? 5);
    this.#saveRetryBaseDelayMs = options.saveRetryBaseDelayMs ?? 200;
    this.#saveRetryMaxDelayMs = options.saveRetryMaxDelayMs ?? 3000;
    this.#unsavedRetryIntervalMs = options.unsavedRetryIntervalMs ?? 30_000;
  }

  /** Token-endpoint requests this session made (successful or not). */
  get renewals(): number {
    return this.#renewals;
  }

  /** Whether this process holds renewed tokens the store has not accepted yet. */
  get hasUnsavedTokens(): boolean {
    return this.#unsaved !== undefined;
  }

  #expiring(tokens: StoredTokens): boolean {
    return tokens.accessToken === '' || tokens.expiresAt - this.#o.renewBeforeExpiryMs <= this.#o.now();
  }

  #adopt(tokens: StoredTokens): StoredTokens {
    this.#o.redactor.add(tokens.accessToken);
    this.#o.redactor.add(tokens.refreshToken);
    this.#tokens = tokens;
    return tokens;
  }

  async #loadStore(): Promise<StoredTokens | undefined> {
    let tokens: StoredTokens | undefined;
    try {
      tokens = await this.#o.store.load();
    } catch (error) {
      if (error instanceof Bitrix24Error) throw error;
      throw new TokenStoreError('Loading the OAuth tokens from the token store failed; check the store (DynamoDB table, permissions) and retry.', error);
    }
    if (tokens !== undefined) {
      this.#o.redactor.add(tokens.accessToken);
      this.#o.redactor.add(tokens.refreshToken);
    }
    return tokens;
  }

  /** Fresh tokens for the next call: loaded once, renewed when expired or about to expire. */
  async current(): Promise<StoredTokens> {
    if (this.#tokens === undefined) {
      this.#loading ??= this.#loadStore()
        .then((tokens) => {
          if (tokens === undefined) throw new OAuthRenewalError({ code: 'NO_TOKENS' });
          return this.#tokens ?? this.#adopt(tokens);
        })
        .finally(() => {
          this.#loading = undefined;
        });
      await this.#loading;
    }
    const tokens = this.#tokens;
    if (tokens === undefined) throw new OAuthRenewalError({ code: 'NO_TOKENS' });
    if (this.#expiring(tokens)) return await this.renew(tokens);
    await this.#retryUnsavedSave();
    return this.#tokens ?? tokens;
  }

  /** Renews after `stale` was found expired (by clock or by an `expired_token` answer). Single-flight per process. */
  async renew(stale: StoredTokens): Promise<StoredTokens> {
    const held = this.#tokens;
    if (held !== undefined && held.refreshToken !== stale.refreshToken && !this.#expiring(held)) return held;
    this.#renewing ??= this.#renewOnce(stale).finally(() => {
      this.#renewing = undefined;
    });
    return await this.#renewing;
  }

  async #renewOnce(stale: StoredTokens): Promise<StoredTokens> {
    await this.#retryingSave;
    const unsaved = this.#unsaved;
    let stored: StoredTokens | undefined;
    try {
      stored = await this.#loadStore();
    } catch (error) {
      // Holding the only live refresh token, renew from it even while the store cannot be read.
      if (unsaved === undefined) throw error;
      stored = unsaved.over;
    }
    if (unsaved !== undefined && !sameRefreshToken(stored, unsaved.over)) {
      // Another process stored tokens since our save failed (a new seed): those are the ones every process uses now.
      this.#unsaved = undefined;
      this.#o.logger.warn('bitrix24 oauth: another process stored new tokens while ours were unsaved; using the stored ones', { host: this.#o.tokenEndpoint.host });
      if (stored !== undefined && !this.#expiring(stored)) return this.#adopt(stored);
    } else if (unsaved === undefined && stored !== undefined && stored.refreshToken !== stale.refreshToken && !this.#expiring(stored)) {
      this.#o.logger.info('bitrix24 oauth: another process renewed the token; using the stored one', { host: this.#o.tokenEndpoint.host });
      return this.#adopt(stored);
    }
    // The refresh token to spend: our unsaved one (the store's is used up), else the newest the store holds.
    const spend = this.#unsaved?.tokens ?? stored ?? stale;
    let next: StoredTokens;
    try {
      next = await this.#requestTokens(spend.refreshToken);
    } catch (error) {
      if (error instanceof InvalidGrantError) {
        const winner = await this.#awaitOtherRenewal(spend.refreshToken);
        if (winner !== undefined) {
          this.#unsaved = undefined;
          this.#o.logger.warn('bitrix24 oauth: refresh token already used by another process; using its renewed tokens', {});
          return this.#adopt(winner);
        }
      }
      throw error;
    }
    // `spend` is used up now: `next` is the live chain whatever happens to the save.
    this.#adopt(next);
    const saved = await this.#saveRenewed(next, stored);
    if (saved === 'saved') {
      this.#o.logger.info('bitrix24 oauth: access token renewed', {
        host: this.#o.tokenEndpoint.host,
        expiresInSeconds: Math.round((next.expiresAt - this.#o.now()) / 1000),
      });
    }
    return this.#tokens ?? next;
  }

  /**
   * Saves renewed tokens over `over` (what the store held when the renewal
   * started). Retries failures other than conflicts with backoff; after the
   * last attempt keeps the tokens unsaved in memory and says so loudly.
   */
  async #saveRenewed(next: StoredTokens, over: StoredTokens | undefined): Promise<'saved' | 'adopted-winner' | 'unsaved'> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#saveAttempts; attempt += 1) {
      try {
        await this.#o.store.save(next, over);
        this.#unsaved = undefined;
        return 'saved';
      } catch (error) {
        if (error instanceof TokenConflictError) return await this.#afterConflict(next, over);
        lastError = error;
      }
      if (attempt < this.#saveAttempts) {
        const waitMs = Math.min(this.#saveRetryMaxDelayMs, this.#saveRetryBaseDelayMs * 2 ** (attempt - 1));
        this.#o.logger.warn('bitrix24 oauth: saving the renewed tokens failed; retrying (the new tokens are in use meanwhile)', {
          host: this.#o.tokenEndpoint.host,
          attempt,
          waitMs,
          ...errorSummary(lastError),
        });
        await this.#o.sleep(waitMs);
      }
    }
    this.#unsaved = { tokens: next, over, nextAttemptAt: this.#o.now() + this.#unsavedRetryIntervalMs };
    this.#o.logger.error(
      'bitrix24 oauth: the renewed OAuth tokens could NOT be saved to the token store; the old refresh token is used up, so this process keeps the new ones in memory and retries the save on later calls. Until a save succeeds, other processes of this source fail with invalid_grant. Fix the token store (DynamoDB throttling, permissions, network); do not re-authorise while this process runs.',
      { host: this.#o.tokenEndpoint.host, attempts: this.#saveAttempts, retryInMs: this.#unsavedRetryIntervalMs, ...errorSummary(lastError) },
    );
    return 'unsaved';
  }

  /** A conditional save lost: adopt the tokens another process stored, or keep ours unsaved if the store holds nothing newer. */
  async #afterConflict(next: StoredTokens, over: StoredTokens | undefined): Promise<'adopted-winner' | 'unsaved'> {
    let winner: StoredTokens | undefined;
    try {
      winner = await this.#loadStore();
    } catch {
      winner = undefined;
    }
    if (winner !== undefined && !sameRefreshToken(winner, over) && !sameRefreshToken(winner, next)) {
      this.#unsaved = undefined;
      this.#o.logger.warn('bitrix24 oauth: lost the token save to another process; using its tokens', {});
      this.#adopt(winner);
      return 'adopted-winner';
    }
    this.#unsaved = { tokens: next, over: winner, nextAttemptAt: this.#o.now() + this.#unsavedRetryIntervalMs };
    this.#o.logger.error('bitrix24 oauth: the token store refused the renewed tokens but holds nothing newer; keeping them in memory and retrying the save on later calls', {
      host: this.#o.tokenEndpoint.host,
    });
    return 'unsaved';
  }

  /** While tokens are unsaved: one more save attempt per interval, on the path of a normal call. Never throws. */
  async #retryUnsavedSave(): Promise<void> {
    const unsaved = this.#unsaved;
    if (unsaved === undefined || this.#o.now() < unsaved.nextAttemptAt) return;
    this.#retryingSave ??= (async () => {
      this.#unsaved = { ...unsaved, nextAttemptAt: this.#o.now() + this.#unsavedRetryIntervalMs };
      try {
        await this.#o.store.save(unsaved.tokens, unsaved.over);
        this.#unsaved = undefined;
        this.#o.logger.info('bitrix24 oauth: the renewed tokens that could not be saved earlier are saved now', { host: this.#o.tokenEndpoint.host });
      } catch (error) {
        if (error instanceof TokenConflictError) {
          await this.#afterConflict(unsaved.tokens, unsaved.over);
          return;
        }
        this.#o.logger.error('bitrix24 oauth: the renewed OAuth tokens are still unsaved (this process keeps them in memory); fix the token store', {
          host: this.#o.tokenEndpoint.host,
          retryInMs: this.#unsavedRetryIntervalMs,
          ...errorSummary(error),
        });
      }
    })().finally(() => {
      this.#retryingSave = undefined;
    });
    await this.#retryingSave;
  }

  /** After invalid_grant: did another process just rotate this refresh token? Poll the store briefly. */
  async #awaitOtherRenewal(usedRefreshToken: string): Promise<StoredTokens | undefined> {
    for (let check = 0; check <= this.#o.raceChecks; check += 1) {
      if (check > 0) await this.#o.sleep(this.#o.raceCheckIntervalMs);
      const stored = await this.#loadStore();
      if (stored !== undefined && stored.refreshToken !== usedRefreshToken) return stored;
    }
    return undefined;
  }

  async #requestTokens(refreshToken: string): Promise<StoredTokens> {
    this.#renewals += 1;
    return (await requestOAuthTokens(this.#o, refreshToken)).tokens;
  }
}

/** What the OAuth server answered besides the tokens (settings/oauth): the portal's facts, never a secret. */
export interface OAuthTokenAnswer {
  readonly tokens: StoredTokens;
  /** `member_id`: the portal's unique id, when answered. */
  readonly memberId?: string;
  /** `client_endpoint`: `https://<portal>/rest/`, when answered. */
  readonly clientEndpoint?: string;
}

/**
 * One `grant_type=refresh_token` request to the OAuth server, its answer
 * validated and its errors typed (InvalidGrantError, InvalidClientError, …).
 * OAuthSession renews through it; the install endpoint (functions/install)
 * uses it to check an ONAPPINSTALL's tokens against the OAuth server.
 */
export async function requestOAuthTokens(
  o: Pick<OAuthSessionOptions, 'clientId' | 'clientSecret' | 'tokenEndpoint' | 'transport' | 'redactor' | 'now'>,
  refreshToken: string,
): Promise<OAuthTokenAnswer> {
  const query = new URLSearchParams({
    grant_type: 'refresh_token',
    client_id: o.clientId,
    client_secret: o.clientSecret,
    refresh_token: refreshToken,
  });
  const endpoint = o.tokenEndpoint;
  const response = await o.transport.send({
    origin: endpoint.origin,
    host: endpoint.host,
    path: `${endpoint.basePath}?${query.toString()}`,
    method: 'GET',
    restMethod: OAUTH_TOKEN_METHOD,
  });
  let body: unknown;
  try {
    body = JSON.parse(response.body) as unknown;
  } catch {
    if (response.status >= 500) throw new ServerError({ method: OAUTH_TOKEN_METHOD, code: `HTTP_${response.status}`, httpStatus: response.status, bodyKind: /^\s*</.test(response.body) ? 'html' : 'non-json' });
    throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: response.status, field: 'body', problem: 'is not JSON' });
  }
  if (!isRecord(body)) throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: response.status, field: 'body', problem: 'is not a JSON object' });
  if (typeof body.error === 'string' && body.error !== '') {
    const description = typeof body.error_description === 'string' ? o.redactor.redact(body.error_description).slice(0, 300) : undefined;
    const fields = description === undefined ? { httpStatus: response.status } : { httpStatus: response.status, description };
    if (body.error === 'invalid_grant') throw new InvalidGrantError(fields);
    if (body.error === 'invalid_client') throw new InvalidClientError(fields);
    if (response.status >= 500) throw new ServerError({ ...fields, method: OAUTH_TOKEN_METHOD, code: o.redactor.redact(body.error).slice(0, 64) });
    throw new OAuthRenewalError({ ...fields, code: o.redactor.redact(body.error).slice(0, 64) });
  }
  const { access_token: accessToken, refresh_token: nextRefresh, expires_in: expiresIn, expires } = body;
  // Register the new secrets before anything else can print them.
  if (typeof accessToken === 'string') o.redactor.add(accessToken);
  if (typeof nextRefresh === 'string') o.redactor.add(nextRefresh);
  if (response.status !== 200) throw new OAuthRenewalError({ code: `HTTP_${response.status}`, httpStatus: response.status });
  if (typeof accessToken !== 'string' || accessToken === '') throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: 200, field: 'access_token', problem: 'is missing or empty' });
  if (typeof nextRefresh !== 'string' || nextRefresh === '') throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: 200, field: 'refresh_token', problem: 'is missing or empty' });
  const now = o.now();
  let expiresAt: number;
  if (typeof expiresIn === 'number' && expiresIn > 0) expiresAt = now + expiresIn * 1000;
  else if (typeof expires === 'number' && expires * 1000 > now) expiresAt = expires * 1000;
  else throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: 200, field: 'expires_in', problem: 'is missing or not a positive number' });
  const memberId = typeof body.member_id === 'string' && body.member_id !== '' ? body.member_id : undefined;
  const clientEndpoint = typeof body.client_endpoint === 'string' && body.client_endpoint !== '' ? body.client_endpoint : undefined;
  return {
    tokens: { accessToken, refreshToken: nextRefresh, expiresAt },
    ...(memberId === undefined ? {} : { memberId }),
    ...(clientEndpoint === undefined ? {} : { clientEndpoint }),
  };
}
