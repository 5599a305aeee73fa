// A Bitrix24 client for one configured source that follows the source's
// secret. A warm process must not keep the client it built at start: an
// operator fixes a webhook URL, rotates a botToken, or — after invalid_grant —
// re-authorises the app and puts a new refresh token in the secret, and the
// next call must use it.
//
//   - Every use reads the secret through the (cached) SecretReader; when its
//     value changed (compared by hash), the client is rebuilt from it.
//   - A call refused for its credentials (isCredentialFailure) drops the
//     cached secret, re-reads it, rebuilds the client once and repeats the
//     call once. Such a refusal comes before the method runs, so repeating a
//     write cannot post it twice.
//   - Seeds follow the token store's rules (dynamodb-token-store.ts): a new
//     refresh token in the secret replaces the stored chain, an old one never
//     does, so a rebuilt client never breaks the chain the poller uses.
//   - An OAuth client holding renewed tokens its store refused to save
//     (oauth-session.ts) holds the only live refresh token: it is not
//     replaced by a client of the same seed, which would reload the spent one.
import { createHash } from 'node:crypto';
import { type SourceConfig } from '../shared/config.js';
import { type Bitrix24Client, type CallOptions, createBitrix24Client, type Bitrix24Credentials } from './client.js';
import { loadSourceCredentials, type LoadSourceCredentialsInput } from './credentials-from-secret.js';
import {
  Bitrix24Error,
  BotOwnershipError,
  BotTokenNotSpecifiedError,
  CurrentUserUnknownError,
  InvalidClientError,
  InvalidGrantError,
  NoAuthFoundError,
  TokenConflictError,
} from './errors.js';
import { type Bitrix24Logger, silentLogger } from './logger.js';
import { type SecretReader } from './secret-reader.js';
import { parseSourceSecret } from './source-secret.js';
import { seedVersionOf, type StoredTokens, type TokenStore } from './token-store.js';

export interface SecretFollowingClientOptions {
  readonly source: Pick<SourceConfig, 'id' | 'portal' | 'auth'>;
  readonly secretName: string;
  readonly secrets: SecretReader;
  /** Builds the token store of an OAuth source (e.g. dynamoDbTokenStoreFactory). */
  readonly tokenStoreFactory: LoadSourceCredentialsInput['tokenStoreFactory'];
  /** Builds a client from credentials. @default createBitrix24Client({ credentials }) */
  readonly createClient?: (credentials: Bitrix24Credentials) => Bitrix24Client;
  /** Receives rebuild notices (no secrets). @default silent */
  readonly logger?: Bitrix24Logger;
}

/** A client built from one version of the secret. */
export interface SecretBuiltClient {
  readonly client: Bitrix24Client;
  /** The bot's token from the secret (bot sources with webhook auth). */
  readonly botToken?: string;
  /** SHA-256 of the secret value the client was built from (its version; never the value). */
  readonly secretVersion: string;
}

/**
 * Refusals of the credentials themselves, which a changed secret can cure and
 * which come before the method runs: a wrong webhook code or access token
 * (NO_AUTH_FOUND), a dead refresh token or wrong client secret (invalid_grant,
 * invalid_client), a stale or missing botToken (BOT_OWNERSHIP_ERROR after
 * imbot.v2.Bot.update rotated it, BOT_TOKEN_NOT_SPECIFIED), an unknown user
 * (AUTH_ERROR). Sources: error-codes.md, settings/oauth/index.md,
 * api-reference/chat-bots/chat-bots-v2/imbot.v2/bots/bot-update.md, imbot.v2/events/event-get.md.
 */
export function isCredentialFailure(error: unknown): error is Bitrix24Error {
  return (
    error instanceof NoAuthFoundError ||
    error instanceof InvalidGrantError ||
    error instanceof InvalidClientError ||
    error instanceof BotOwnershipError ||
    error instanceof BotTokenNotSpecifiedError ||
    error instanceof CurrentUserUnknownError
  );
}

const versionOf = (secretValue: string): string => createHash('sha256').update(secretValue).digest('hex');

/** What a build knows about its own token store: the seed it started from and whether its last save failed. */
interface SaveWatch {
  seedVersion: string | undefined;
  unsaved: boolean;
}

/** The store, observed: a failed save (not a lost race) marks the build's tokens unsaved until a save succeeds. */
class WatchedTokenStore implements TokenStore {
  readonly #store: TokenStore;
  readonly #watch: SaveWatch;

  constructor(store: TokenStore, watch: SaveWatch) {
    this.#store = store;
    this.#watch = watch;
  }

  load(): Promise<StoredTokens | undefined> {
    return this.#store.load();
  }

  async save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void> {
    try {
      await this.#store.save(next, previous);
      this.#watch.unsaved = false;
    } catch (error) {
      this.#watch.unsaved = !(error instanceof TokenConflictError);
      throw error;
    }
  }

  toString(): string {
    return 'WatchedTokenStore';
  }

  toJSON(): string {
    return this.toString();
  }
}

export class SecretFollowingClient {
  readonly #o: SecretFollowingClientOptions;
  readonly #createClient: (credentials: Bitrix24Credentials) => Bitrix24Client;
  readonly #logger: Bitrix24Logger;
  #built: SecretBuiltClient | undefined;
  #watch: SaveWatch = { seedVersion: undefined, unsaved: false };
  #refreshing: Promise<SecretBuiltClient> | undefined;

  constructor(options: SecretFollowingClientOptions) {
    this.#o = options;
    this.#createClient = options.createClient ?? ((credentials) => createBitrix24Client({ credentials }));
    this.#logger = options.logger ?? silentLogger;
  }

  /** The client for the secret as the reader sees it now; rebuilt when the value changed. */
  async current(): Promise<SecretBuiltClient> {
    const secretValue = await this.#o.secrets.read(this.#o.secretName);
    const built = this.#built;
    if (built !== undefined && built.secretVersion === versionOf(secretValue)) return built;
    return this.#rebuild(secretValue, built === undefined ? 'first use' : 'the secret changed');
  }

  /**
   * After `failed` was refused for its credentials: drop the cached secret,
   * re-read it and rebuild. Concurrent callers that failed on the same build
   * share one rebuild; a caller whose build was already replaced gets the new one.
   */
  async afterCredentialFailure(failed: SecretBuiltClient): Promise<SecretBuiltClient> {
    if (this.#built !== undefined && this.#built !== failed) return this.#built;
    if (this.#keepsUnsavedChain(failed)) {
      this.#warnKeepingUnsaved('the credentials were refused (secret unchanged)');
      return failed;
    }
    this.#refreshing ??= (async () => {
      this.#o.secrets.invalidate(this.#o.secretName);
      const secretValue = await this.#o.secrets.read(this.#o.secretName);
      const changed = versionOf(secretValue) !== failed.secretVersion;
      return this.#rebuild(secretValue, changed ? 'the credentials were refused and the secret changed' : 'the credentials were refused (secret unchanged; tokens reloaded)');
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return await this.#refreshing;
  }

  /**
   * `client.call` with one rebuild-and-repeat after a credential refusal.
   * `params` may be a function of the build, for params taken from the secret
   * (the botToken of an imbot.v2 call): the repeat then carries the new secret's value.
   */
  async call<T = unknown>(
    method: string,
    params?: Record<string, unknown> | ((built: SecretBuiltClient) => Record<string, unknown>),
    options?: CallOptions,
  ): Promise<{ result: T; time?: unknown }> {
    const paramsFor = (build: SecretBuiltClient) => (typeof params === 'function' ? params(build) : params);
    const built = await this.current();
    try {
      return await built.client.call<T>(method, paramsFor(built), options);
    } catch (error) {
      if (!isCredentialFailure(error)) throw error;
      this.#logger.warn('bitrix24: credentials refused; re-reading the source secret and retrying once', { sourceId: this.#o.source.id, method, code: error.code });
      const rebuilt = await this.afterCredentialFailure(built);
      if (rebuilt === built) throw error;
      return await rebuilt.client.call<T>(method, paramsFor(rebuilt), options);
    }
  }

  async close(): Promise<void> {
    const built = this.#built;
    this.#built = undefined;
    await built?.client.close();
  }

  /** Whether replacing `built` would throw away renewed tokens only it holds (same seed, last save failed). */
  #keepsUnsavedChain(built: SecretBuiltClient, nextSecretValue?: string): boolean {
    if (built !== this.#built || !this.#watch.unsaved) return false;
    const nextSeed = nextSecretValue === undefined ? this.#watch.seedVersion : this.#seedVersionIn(nextSecretValue);
    return nextSeed === this.#watch.seedVersion;
  }

  #seedVersionIn(secretValue: string): string | undefined {
    if (this.#o.source.auth !== 'oauth') return undefined;
    try {
      return seedVersionOf({ accessToken: '', refreshToken: parseSourceSecret(secretValue, 'oauth').refreshToken, expiresAt: 0 });
    } catch (error) {
      if (error instanceof Bitrix24Error) return undefined;
      throw error;
    }
  }

  #warnKeepingUnsaved(reason: string): void {
    this.#logger.warn('bitrix24: not rebuilding the source client: it holds renewed OAuth tokens the token store has not saved yet (the stored refresh token is used up)', {
      sourceId: this.#o.source.id,
      reason,
    });
  }

  // Synchronous on purpose: between reading the secret and installing the new
  // client nothing else runs, so two callers never build two clients.
  #rebuild(secretValue: string, reason: string): SecretBuiltClient {
    const previous = this.#built;
    if (previous !== undefined && this.#keepsUnsavedChain(previous, secretValue)) {
      this.#warnKeepingUnsaved(reason);
      return previous;
    }
    const watch: SaveWatch = { seedVersion: this.#seedVersionIn(secretValue), unsaved: false };
    const { credentials, botToken } = loadSourceCredentials({
      source: this.#o.source,
      secretJson: secretValue,
      secretName: this.#o.secretName,
      tokenStoreFactory: (input) => new WatchedTokenStore(this.#o.tokenStoreFactory(input), watch),
    });
    const next: SecretBuiltClient = { client: this.#createClient(credentials), secretVersion: versionOf(secretValue), ...(botToken === undefined ? {} : { botToken }) };
    this.#built = next;
    this.#watch = watch;
    if (previous !== undefined) {
      this.#logger.info('bitrix24: rebuilt the source client', { sourceId: this.#o.source.id, reason });
      // Requests still in flight on the old client finish first (undici closes gracefully).
      void previous.client.close().catch(() => undefined);
    }
    return next;
  }

  toString(): string {
    return `SecretFollowingClient(${this.#o.source.id}, ${this.#o.source.portal})`;
  }

  toJSON(): string {
    return this.toString();
  }
}
