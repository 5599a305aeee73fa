// The Lambda default for ctx.bitrix24: a Bitrix24 client per source, built
// from the source's registration and its Secrets Manager secret, that follows
// the secret (SecretFollowingClient): a changed secret is picked up within the
// reader's cache age, and a call refused for its credentials re-reads the
// secret and retries once. OAuth tokens are shared with the poller through the
// state table, with the same seed rules.
//
// Where a source is found (issue 13): in SOURCES when listed there (local
// runtime, tests), else in the source registry through a cached lookup
// (CachedSourceLookup: a warm consumer sees a change within its max age).
// Every call checks the lookup; when the registration's version changed
// (portal, secret, bot moved), the client is rebuilt from the new one.
//
// A source the install endpoint added (`credentials: {kind: 'app-install'}`)
// is served from its portal's install record and the app secret
// (InstalledSourceClient over functions/install/install-credentials.ts, the
// factory the poller uses): same token chain, no botToken (OAuth).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type Bitrix24Logger,
  type Bitrix24Client,
  type Bitrix24Credentials,
  type RequestGate,
  type SecretReader,
  SecretFollowingClient,
  createBitrix24Client,
  createSecretReader,
  dynamoDbTokenStoreFactory,
} from '../bitrix24/index.js';
import { dynamoDbInstalledCredentials, defaultAppSecretName, type InstalledCredentialsFactory } from '../install/install-credentials.js';
import { CachedSourceLookup } from '../registry/cached-source-lookup.js';
import { DynamoDbSourceRegistry } from '../registry/dynamodb-source-registry.js';
import type { RegisteredSource, SourceCredentialsRef } from '../registry/source-registry.js';
import { secretNameOf } from '../shared/config.js';
import { paramsAsBot, withoutAsBot } from './bot-token.js';
import type { ConsumerSource } from './consumer-env.js';
import { SourceClientError } from './errors.js';
import { InstalledSourceClient } from './installed-source-client.js';
import type { Bitrix24Caller, CallOptions, ClientFactory } from './source-clients.js';

/** What ctx.bitrix24 needs to know of a source; `version` changes when its registration does. */
export interface ResolvedSource {
  readonly source: ConsumerSource;
  /** Its secret, or (a source the install endpoint added) its portal's install. */
  readonly credentials: SourceCredentialsRef;
  readonly version: number;
}

/** Finds a source by id: undefined when it is not registered. */
export type SourceResolver = (sourceId: string) => Promise<ResolvedSource | undefined>;

/** A registered source as ctx.bitrix24 sees it. */
function resolvedFromRegistry(registered: RegisteredSource): ResolvedSource {
  const { config, credentials } = registered;
  const source: ConsumerSource = {
    id: config.id,
    kind: config.kind,
    portal: config.portal,
    auth: config.auth,
    ...(credentials.kind === 'secret' ? { secretName: credentials.secretName } : {}),
    ...(config.botId === undefined ? {} : { botId: config.botId }),
  };
  return { source, credentials, version: registered.version };
}

/**
 * The lookup the Lambda default uses: SOURCES first (static, version 0), then the registry table through a
 * cached lookup. Without a registry table only SOURCES is searched.
 */
export function sourceResolver(input: {
  readonly sources: readonly ConsumerSource[];
  readonly prefix: string;
  readonly registryTableName: string | undefined;
  readonly dynamoDb: () => DynamoDBClient;
  /** @default a CachedSourceLookup over DynamoDbSourceRegistry (60 s max age, eventually consistent reads) */
  readonly lookup?: Pick<CachedSourceLookup, 'get'>;
}): SourceResolver {
  let lookup = input.lookup;
  const tableName = input.registryTableName;
  return async (sourceId) => {
    const listed = input.sources.find((candidate) => candidate.id === sourceId);
    if (listed !== undefined) return { source: listed, credentials: { kind: 'secret', secretName: secretNameOf(input.prefix, listed) }, version: 0 };
    if (lookup === undefined) {
      if (tableName === undefined) return undefined;
      lookup = new CachedSourceLookup({ registry: new DynamoDbSourceRegistry({ client: input.dynamoDb(), tableName, consistentRead: false }) });
    }
    const registered = await lookup.get(sourceId);
    return registered === undefined ? undefined : resolvedFromRegistry(registered);
  };
}

export interface Bitrix24FactoryInput {
  readonly sources: readonly ConsumerSource[];
  /** The source registry table (REGISTRY_TABLE_NAME); sources not in `sources` are looked up there. @default none */
  readonly registryTableName?: string;
  /** Finds a source. @default sourceResolver(sources, registryTableName) */
  readonly resolveSource?: SourceResolver;
  /** Pipeline prefix for default secret names. */
  readonly prefix: string;
  /** State table holding rotated OAuth tokens (required for OAuth sources). */
  readonly stateTableName: string | undefined;
  readonly dynamoDb: () => DynamoDBClient;
  /** @default a Secrets Manager reader with a 5-minute cache */
  readonly secrets?: SecretReader;
  /** Receives the client's redacted lines. */
  readonly logger?: Bitrix24Logger;
  /** Builds each client from its credentials (tests inject clocks). @default createBitrix24Client({ credentials, logger }) */
  readonly createClient?: (credentials: Bitrix24Credentials) => Bitrix24Client;
  /**
   * The portal budget every client of a portal shares with the poller shards (functions/budget, docs/fleet.md):
   * ctx.bitrix24 and ctx.reply calls take a slot of the portal's bucket before each request. @default none
   */
  readonly requestGate?: RequestGate;
  /** The app secret app-install sources renew with (APP_SECRET_NAME). @default `<prefix>/app` */
  readonly appSecretName?: string;
  /** Credentials of app-install sources. @default the install records in the state table (dynamoDbInstalledCredentials) */
  readonly installed?: InstalledCredentialsFactory;
  /** ms epoch, for how often an installed source's record is checked. @default Date.now */
  readonly now?: () => number;
}

/** One source's client as the factory's callers use it. */
type SourceCaller = <T>(method: string, params: Record<string, unknown> | undefined, options: CallOptions | undefined) => Promise<{ result: T; time?: unknown }>;

export function bitrix24ClientFactory(input: Bitrix24FactoryInput): ClientFactory {
  const secrets = input.secrets ?? createSecretReader();
  const createClient =
    input.createClient ??
    ((credentials: Bitrix24Credentials) =>
      createBitrix24Client({
        credentials,
        ...(input.logger === undefined ? {} : { logger: input.logger }),
        ...(input.requestGate === undefined ? {} : { requestGate: input.requestGate }),
      }));
  const resolveSource =
    input.resolveSource ?? sourceResolver({ sources: input.sources, prefix: input.prefix, registryTableName: input.registryTableName, dynamoDb: input.dynamoDb });
  const stateTableName = input.stateTableName;
  const stateTableOf = (sourceId: string): string => {
    if (stateTableName === undefined) {
      throw new SourceClientError(sourceId, `ctx.bitrix24: source "${sourceId}" uses OAuth but STATE_TABLE_NAME is not set (rotated tokens live there).`);
    }
    return stateTableName;
  };
  const appSecretName = input.appSecretName ?? defaultAppSecretName(input.prefix);
  let installed = input.installed;
  const installedOf = (sourceId: string): InstalledCredentialsFactory =>
    (installed ??= dynamoDbInstalledCredentials({ client: input.dynamoDb(), stateTableName: stateTableOf(sourceId), secrets, appSecretName }));
  const build = (resolved: ResolvedSource): SourceCaller => {
    const { id, auth } = resolved.source;
    if (resolved.credentials.kind === 'app-install') {
      const client = new InstalledSourceClient({
        sourceId: id,
        memberId: resolved.credentials.memberId,
        installed: installedOf(id),
        createClient,
        invalidateAppSecret: () => secrets.invalidate(appSecretName),
        ...(input.now === undefined ? {} : { now: input.now }),
        ...(input.logger === undefined ? {} : { logger: input.logger }),
      });
      // OAuth: imbot.v2 calls as the app's bot carry no botToken.
      return async (method, params, options) =>
        await client.call(method, options?.asBot === true ? paramsAsBot(id, auth, undefined, params) : params, withoutAsBot(options));
    }
    const client = new SecretFollowingClient({
      source: resolved.source,
      secretName: resolved.credentials.secretName,
      secrets,
      tokenStoreFactory: (store) => dynamoDbTokenStoreFactory({ client: input.dynamoDb(), tableName: stateTableOf(store.sourceId) })(store),
      createClient,
      ...(input.logger === undefined ? {} : { logger: input.logger }),
    });
    return async (method, params, options) =>
      options?.asBot === true
        ? // The token is read from the build the call uses, so a repeat after a rotated token carries the new one.
          await client.call(method, (built) => paramsAsBot(id, auth, built.botToken, params), withoutAsBot(options))
        : await client.call(method, params, withoutAsBot(options));
  };
  const require = async (sourceId: string): Promise<ResolvedSource> => {
    const resolved = await resolveSource(sourceId);
    if (resolved === undefined) {
      throw new SourceClientError(sourceId, `ctx.bitrix24: source "${sourceId}" is not registered (\`npm run cli -- sources list\`); add it with \`sources add\`, or to the pipeline configuration.`);
    }
    return resolved;
  };
  return async (sourceId): Promise<Bitrix24Caller> => {
    const first = await require(sourceId);
    let current = { version: first.version, client: build(first) };
    return {
      portal: first.source.portal,
      call: async (method, params, options) => {
        const latest = await require(sourceId);
        // The registration changed (portal, secret, bot, install): a client of the new one.
        if (latest.version !== current.version) current = { version: latest.version, client: build(latest) };
        return await current.client(method, params, options);
      },
    };
  };
}
