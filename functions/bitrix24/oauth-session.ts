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
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class OAuthSession {
  readonly #o: OAuthSessionOptions;
  #tokens: StoredTokens | undefined;
  #renewing: Promise<StoredTokens> | undefined;
  #loading: Promise<StoredTokens> | undefined;
  #renewals = 0;

  constructor(options: OAuthSessionOptions) {
    this.#o = options;
  }

  /** Token-endpoint requests this session made (successful or not). */
  get renewals(): number {
    return this.#renewals;
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
    return this.#expiring(tokens) ? await this.renew(tokens) : tokens;
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
    const stored = await this.#loadStore();
    if (stored !== undefined && stored.refreshToken !== stale.refreshToken && !this.#expiring(stored)) {
      this.#o.logger.info('bitrix24 oauth: another process renewed the token; using the stored one', { host: this.#o.tokenEndpoint.host });
      return this.#adopt(stored);
    }
    const previous = stored ?? stale;
    let next: StoredTokens;
    try {
      next = await this.#requestTokens(previous.refreshToken);
    } catch (error) {
      if (error instanceof InvalidGrantError) {
        const winner = await this.#awaitOtherRenewal(previous.refreshToken);
        if (winner !== undefined) {
          this.#o.logger.warn('bitrix24 oauth: refresh token already used by another process; using its renewed tokens', {});
          return this.#adopt(winner);
        }
      }
      throw error;
    }
    try {
      await this.#o.store.save(next, stored);
    } catch (error) {
      if (!(error instanceof TokenConflictError)) {
        if (error instanceof Bitrix24Error) throw error;
        throw new TokenStoreError(
          'Saving the renewed OAuth tokens failed; the new refresh token may be lost (the old one is used up). Check the token store; if calls then fail with invalid_grant, re-authorise the app by hand.',
          error,
        );
      }
      const winner = await this.#loadStore();
      if (winner === undefined || winner.refreshToken === previous.refreshToken) throw error;
      this.#o.logger.warn('bitrix24 oauth: lost the token save to another process; using its tokens', {});
      return this.#adopt(winner);
    }
    this.#o.logger.info('bitrix24 oauth: access token renewed', {
      host: this.#o.tokenEndpoint.host,
      expiresInSeconds: Math.round((next.expiresAt - this.#o.now()) / 1000),
    });
    return this.#adopt(next);
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
    const query = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: this.#o.clientId,
      client_secret: this.#o.clientSecret,
      refresh_token: refreshToken,
    });
    const endpoint = this.#o.tokenEndpoint;
    const response = await this.#o.transport.send({
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
      const description = typeof body.error_description === 'string' ? this.#o.redactor.redact(body.error_description).slice(0, 300) : undefined;
      const fields = description === undefined ? { httpStatus: response.status } : { httpStatus: response.status, description };
      if (body.error === 'invalid_grant') throw new InvalidGrantError(fields);
      if (body.error === 'invalid_client') throw new InvalidClientError(fields);
      if (response.status >= 500) throw new ServerError({ ...fields, method: OAUTH_TOKEN_METHOD, code: this.#o.redactor.redact(body.error).slice(0, 64) });
      throw new OAuthRenewalError({ ...fields, code: this.#o.redactor.redact(body.error).slice(0, 64) });
    }
    const { access_token: accessToken, refresh_token: nextRefresh, expires_in: expiresIn, expires } = body;
    // Register the new secrets before anything else can print them.
    if (typeof accessToken === 'string') this.#o.redactor.add(accessToken);
    if (typeof nextRefresh === 'string') this.#o.redactor.add(nextRefresh);
    if (response.status !== 200) throw new OAuthRenewalError({ code: `HTTP_${response.status}`, httpStatus: response.status });
    if (typeof accessToken !== 'string' || accessToken === '') throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: 200, field: 'access_token', problem: 'is missing or empty' });
    if (typeof nextRefresh !== 'string' || nextRefresh === '') throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: 200, field: 'refresh_token', problem: 'is missing or empty' });
    const now = this.#o.now();
    let expiresAt: number;
    if (typeof expiresIn === 'number' && expiresIn > 0) expiresAt = now + expiresIn * 1000;
    else if (typeof expires === 'number' && expires * 1000 > now) expiresAt = expires * 1000;
    else throw new MalformedResponseError({ method: OAUTH_TOKEN_METHOD, httpStatus: 200, field: 'expires_in', problem: 'is missing or not a positive number' });
    return { accessToken, refreshToken: nextRefresh, expiresAt };
  }
}
