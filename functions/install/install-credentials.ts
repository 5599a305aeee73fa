// The credentials of a registered source the install endpoint added
// (`credentials: {kind: 'app-install', memberId}`), for every process that
// calls Bitrix24 as it: the poller shards and the consumers (ctx.bitrix24,
// ctx.reply). One piece of code, so all of them renew through the same chain:
//
//   install record app-install#<memberId> ─┬─ clientEndpoint, oauthTokenUrl
//   (state table, install-store.ts)        └─ the token chain (DynamoDbTokenStore on that item)
//   app secret (SecretReader, cached)      ── clientId, clientSecret
//                    └──────── appInstallCredentials ────────► OAuth Bitrix24Credentials
//
// Refresh tokens are single-use and a portal has one chain: each process renews
// with the conditional saves of DynamoDbTokenStore on the install item, so a
// renewal by one is the chain the others reload (oauth-session.ts).
//
// An uninstalled portal (no record) is AppNotInstalledError, both when the
// credentials are built and when a live client finds its chain gone (the
// uninstall deleted the item) or its tokens refused (an uninstall revokes
// them: `explainingUninstall`): the poller stops the source's run, a consumer
// call fails with that reason — never a renewal loop on a deleted chain, nor
// an auth failure for what is an uninstall.
import { createHash } from 'node:crypto';
import { type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Bitrix24Client, type Bitrix24Credentials, type CallOptions } from '../bitrix24/client.js';
import { isCredentialFailure } from '../bitrix24/secret-following-client.js';
import { type SecretReader } from '../bitrix24/secret-reader.js';
import { type StoredTokens, type TokenStore } from '../bitrix24/token-store.js';
import { appInstallCredentials, parseAppSecret } from './app-credentials.js';
import { AppNotInstalledError } from './errors.js';
import { DynamoDbInstallRecords, type InstallStore } from './install-store.js';

/** The app secret's name when the config does not set `install.appSecretName` (the install endpoint's default too). */
export function defaultAppSecretName(prefix: string): string {
  return `${prefix}/app`;
}

export interface InstalledSourceCredentials {
  readonly credentials: Bitrix24Credentials;
  /** The portal host of the install. */
  readonly portal: string;
  /**
   * SHA-256 of what the credentials were built from (the portal's endpoints and the app secret's value), never a
   * value: a cache of clients keyed on it rebuilds when either changes, and keeps its client (and the tokens it
   * holds) otherwise.
   */
  readonly version: string;
}

export interface InstalledCredentialsOptions {
  /** Where install records and their token chains live. */
  readonly store: Pick<InstallStore, 'get' | 'tokenStore'>;
  /** Reads the app secret (cached; the poller's and consumers' own reader). */
  readonly secrets: SecretReader;
  /** The app secret's name (APP_SECRET_NAME). @default none: required */
  readonly appSecretName: string;
}

/** Credentials of the portal installed as `memberId`; throws AppNotInstalledError when it has no install record. */
export type InstalledCredentialsFactory = (memberId: string) => Promise<InstalledSourceCredentials>;

/** The install item's chain; a chain that is gone (the item deleted by ONAPPUNINSTALL) is AppNotInstalledError, not "no tokens". */
class InstalledTokenStore implements TokenStore {
  readonly #chain: TokenStore;
  readonly #memberId: string;

  constructor(chain: TokenStore, memberId: string) {
    this.#chain = chain;
    this.#memberId = memberId;
  }

  async load(): Promise<StoredTokens> {
    const tokens = await this.#chain.load();
    if (tokens === undefined) throw new AppNotInstalledError(this.#memberId);
    return tokens;
  }

  async save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void> {
    // Conditional on `previous`: after an uninstall it fails (TokenConflictError), the session reloads, load() says why.
    await this.#chain.save(next, previous);
  }
}

function versionOf(parts: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export function installedCredentialsFactory(options: InstalledCredentialsOptions): InstalledCredentialsFactory {
  return async (memberId) => {
    const record = await options.store.get(memberId);
    if (record === undefined) throw new AppNotInstalledError(memberId);
    const secretValue = await options.secrets.read(options.appSecretName);
    const app = parseAppSecret(secretValue, `app secret ${options.appSecretName}`);
    return {
      credentials: appInstallCredentials(record, app, new InstalledTokenStore(options.store.tokenStore(memberId), memberId)),
      portal: record.portal,
      version: versionOf([record.clientEndpoint, record.oauthTokenUrl, secretValue]),
    };
  };
}

/**
 * What a refusal of an installed source's credentials (NO_AUTH_FOUND, invalid_grant, …) means: the app was
 * uninstalled when its install record is gone by now (AppNotInstalledError), else the refusal itself.
 */
export async function uninstalledOr(error: unknown, memberId: string, installed: InstalledCredentialsFactory): Promise<unknown> {
  if (!isCredentialFailure(error)) return error;
  try {
    await installed(memberId);
  } catch (check) {
    if (check instanceof AppNotInstalledError) return check;
  }
  return error;
}

/** `client`, its refused calls explained by `uninstalledOr` (the poller's client of an installed source). */
export function explainingUninstall(client: Bitrix24Client, memberId: string, installed: InstalledCredentialsFactory): Bitrix24Client {
  const explained =
    <A extends unknown[], R>(run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await run(...args);
      } catch (error) {
        throw await uninstalledOr(error, memberId, installed);
      }
    };
  return {
    get portal() {
      return client.portal;
    },
    getEvents: explained((params, options) => client.getEvents(params, options)),
    getBotEvents: explained((params, options) => client.getBotEvents(params, options)),
    subscribe: explained((options) => client.subscribe(options)),
    unsubscribe: explained((options) => client.unsubscribe(options)),
    call: async <T = unknown>(method: string, params?: Record<string, unknown>, options?: CallOptions) => {
      try {
        return await client.call<T>(method, params, options);
      } catch (error) {
        throw await uninstalledOr(error, memberId, installed);
      }
    },
    get transportStats() {
      return client.transportStats;
    },
    get oauthRenewals() {
      return client.oauthRenewals;
    },
    close: () => client.close(),
    toString: () => client.toString(),
  };
}

/** The factory over the pipeline's state table (the read side of the install store): what the poller and the consumers use. */
export function dynamoDbInstalledCredentials(input: {
  readonly client: DynamoDBClient;
  readonly stateTableName: string;
  readonly secrets: SecretReader;
  readonly appSecretName: string;
}): InstalledCredentialsFactory {
  return installedCredentialsFactory({
    store: new DynamoDbInstallRecords({ client: input.client, tableName: input.stateTableName }),
    secrets: input.secrets,
    appSecretName: input.appSecretName,
  });
}
