// The install record of one portal, in the pipeline's encrypted state table:
// pk `app-install#<memberId>`. It holds the portal's OAuth token chain (one
// chain per portal: refresh tokens are single-use, so every source of the
// portal must renew through the same item — two copies of one refresh token
// would break each other with invalid_grant), the portal's endpoints, the
// SHA-256 of its application_token (compared in constant time; the value
// itself is never stored), the bot and the sources the install added.
//
//   (none) ──ONAPPINSTALL verified──► installing ──bot, subscribe, sources──► installed
//      ▲                                   │ (a repeated ONAPPINSTALL finishes the same steps)
//      └────────── ONAPPUNINSTALL (sources disabled first, then the item deleted) ◄──┘
//
// Writes are conditional on the stored application_token hash, so a request
// that lost its check to a concurrent reinstall cannot overwrite the new one.
// The token attributes are those of DynamoDbTokenStore (functions/bitrix24),
// which renews the chain on this same item (itemKey).
import { createHash, timingSafeEqual } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDbTokenStore } from '../bitrix24/dynamodb-token-store.js';
import { InMemoryTokenStore, type StoredTokens, type TokenStore } from '../bitrix24/token-store.js';
import { APP_INSTALL_ITEM_PREFIX, InstallStoreError, safeCause } from './errors.js';

export const APP_INSTALL_KEY_PREFIX = APP_INSTALL_ITEM_PREFIX;

export function appInstallItemKey(memberId: string): string {
  return `${APP_INSTALL_KEY_PREFIX}${memberId}`;
}

export function applicationTokenHash(applicationToken: string): string {
  return createHash('sha256').update(applicationToken, 'utf8').digest('hex');
}

/** Constant-time comparison of a request's application_token with the stored hash. */
export function applicationTokenMatches(applicationToken: string, storedHash: string): boolean {
  const given = Buffer.from(applicationTokenHash(applicationToken), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/** An install as stored, without its tokens (those are read through tokenStore()). */
export interface AppInstallRecord {
  readonly memberId: string;
  /** Portal host from the verified client endpoint, e.g. `example.bitrix24.com`. */
  readonly portal: string;
  /** `https://<portal>/rest/` */
  readonly clientEndpoint: string;
  /** The OAuth token URL of the portal's region (a trusted server: install-flow.ts). */
  readonly oauthTokenUrl: string;
  readonly applicationTokenHash: string;
  readonly state: 'installing' | 'installed';
  readonly botId?: number;
  readonly sourceIds: readonly string[];
  /** ISO 8601 UTC. */
  readonly installedAt: string;
  readonly updatedAt: string;
}

export interface InstallStore {
  get(memberId: string): Promise<AppInstallRecord | undefined>;
  /** Creates the record with its first token pair; false when a record exists already (a concurrent install). */
  create(record: AppInstallRecord, tokens: StoredTokens): Promise<boolean>;
  /** Updates state/bot/sources if the stored application_token hash is still `record.applicationTokenHash`; false otherwise. */
  update(record: AppInstallRecord): Promise<boolean>;
  /** Deletes the record and its tokens if the stored hash is still `applicationTokenHash`; false otherwise. */
  remove(memberId: string, applicationTokenHash: string): Promise<boolean>;
  /** The portal's token chain (OAuthSession renews through it). */
  tokenStore(memberId: string): TokenStore;
}

// ---- in memory (unit tests, the local rig) ----------------------------------------

export class InMemoryInstallStore implements InstallStore {
  readonly #records = new Map<string, { record: AppInstallRecord; tokens: InMemoryTokenStore }>();

  get(memberId: string): Promise<AppInstallRecord | undefined> {
    return Promise.resolve(this.#records.get(memberId)?.record);
  }

  create(record: AppInstallRecord, tokens: StoredTokens): Promise<boolean> {
    if (this.#records.has(record.memberId)) return Promise.resolve(false);
    this.#records.set(record.memberId, { record, tokens: new InMemoryTokenStore(tokens) });
    return Promise.resolve(true);
  }

  update(record: AppInstallRecord): Promise<boolean> {
    const held = this.#records.get(record.memberId);
    if (held?.record.applicationTokenHash !== record.applicationTokenHash) return Promise.resolve(false);
    this.#records.set(record.memberId, { record, tokens: held.tokens });
    return Promise.resolve(true);
  }

  remove(memberId: string, hash: string): Promise<boolean> {
    if (this.#records.get(memberId)?.record.applicationTokenHash !== hash) return Promise.resolve(false);
    this.#records.delete(memberId);
    return Promise.resolve(true);
  }

  tokenStore(memberId: string): TokenStore {
    const held = (): InMemoryTokenStore | undefined => this.#records.get(memberId)?.tokens;
    return {
      load: async () => await (held()?.load() ?? Promise.resolve(undefined)),
      save: async (next, previous) => {
        const store = held();
        // Like the DynamoDB item: a chain of an uninstalled portal is not brought back.
        if (store === undefined) throw new InstallStoreError(`No install record for member ${memberId}.`);
        await store.save(next, previous);
      },
    };
  }

  /** Tokens held for a member (tests). */
  async tokensOf(memberId: string): Promise<StoredTokens | undefined> {
    return await this.#records.get(memberId)?.tokens.load();
  }
}

// ---- DynamoDB -----------------------------------------------------------------

export interface DynamoDbInstallStoreOptions {
  readonly client: DynamoDBClient;
  /** The pipeline's state table (partition key `pk`). */
  readonly tableName: string;
  /** Clock for `updatedAt`. @default Date.now */
  readonly now?: () => number;
}

function recordOf(item: Record<string, AttributeValue>): AppInstallRecord | undefined {
  const memberId = item.memberId?.S;
  const portal = item.portal?.S;
  const clientEndpoint = item.clientEndpoint?.S;
  const oauthTokenUrl = item.oauthTokenUrl?.S;
  const hash = item.applicationTokenHash?.S;
  const state = item.installState?.S;
  if (memberId === undefined || portal === undefined || clientEndpoint === undefined || oauthTokenUrl === undefined || hash === undefined) return undefined;
  const botId = Number(item.botId?.N);
  return {
    memberId,
    portal,
    clientEndpoint,
    oauthTokenUrl,
    applicationTokenHash: hash,
    state: state === 'installed' ? 'installed' : 'installing',
    ...(Number.isSafeInteger(botId) && botId > 0 ? { botId } : {}),
    sourceIds: item.sourceIds?.L?.flatMap((value) => (value.S === undefined ? [] : [value.S])) ?? [],
    installedAt: item.installedAt?.S ?? '',
    updatedAt: item.updatedAt?.S ?? '',
  };
}

function itemKeyOf(memberId: string): Record<string, AttributeValue> {
  return { pk: { S: appInstallItemKey(memberId) } };
}

/** Runs a request on the record; a lost condition is 'conflict', any other failure InstallStoreError. */
async function sendOrConflict<T>(tableName: string, what: string, memberId: string, run: () => Promise<T>): Promise<T | 'conflict'> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return 'conflict';
    throw new InstallStoreError(`${what} the install record of member ${memberId} in table ${tableName} failed; check the table and the role's permissions, then repeat the install.`, safeCause(error));
  }
}

/**
 * The read side of the install records, all the poller and the consumers need (install-credentials.ts): the
 * record and its token chain. DynamoDbInstallStore adds the install endpoint's writes.
 */
export class DynamoDbInstallRecords implements Pick<InstallStore, 'get' | 'tokenStore'> {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;

  constructor(options: Pick<DynamoDbInstallStoreOptions, 'client' | 'tableName'>) {
    this.#client = options.client;
    this.#tableName = options.tableName;
  }

  async get(memberId: string): Promise<AppInstallRecord | undefined> {
    const answer = await sendOrConflict(this.#tableName, 'Reading', memberId, () =>
      this.#client.send(new GetItemCommand({ TableName: this.#tableName, Key: itemKeyOf(memberId), ConsistentRead: true })),
    );
    // An item with tokens but no install fields is a chain a late renewal wrote after an uninstall: no install.
    if (answer === 'conflict' || answer.Item === undefined || answer.Item.memberId === undefined) return undefined;
    const record = recordOf(answer.Item);
    if (record === undefined) throw new InstallStoreError(`The install record of member ${memberId} in ${this.#tableName} is incomplete; delete it and install the app again.`);
    return record;
  }

  tokenStore(memberId: string): TokenStore {
    // No seed: the chain starts with the install's verified pair; a save needs the item (an uninstalled portal's chain is not brought back).
    return new DynamoDbTokenStore({ client: this.#client, tableName: this.#tableName, sourceId: `app-install:${memberId}`, itemKey: appInstallItemKey(memberId) });
  }
}

export class DynamoDbInstallStore implements InstallStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #now: () => number;
  readonly #records: DynamoDbInstallRecords;

  constructor(options: DynamoDbInstallStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#now = options.now ?? Date.now;
    this.#records = new DynamoDbInstallRecords(options);
  }

  #key(memberId: string): Record<string, AttributeValue> {
    return itemKeyOf(memberId);
  }

  async #send<T>(what: string, memberId: string, run: () => Promise<T>): Promise<T | 'conflict'> {
    return await sendOrConflict(this.#tableName, what, memberId, run);
  }

  async get(memberId: string): Promise<AppInstallRecord | undefined> {
    return await this.#records.get(memberId);
  }

  async create(record: AppInstallRecord, tokens: StoredTokens): Promise<boolean> {
    const answer = await this.#send('Creating', record.memberId, () =>
      this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: {
            ...this.#key(record.memberId),
            ...this.#attributes(record),
            installedAt: { S: record.installedAt },
            accessToken: { S: tokens.accessToken },
            refreshToken: { S: tokens.refreshToken },
            accessTokenExpiresAt: { N: String(tokens.expiresAt) },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR attribute_not_exists(memberId)',
        }),
      ),
    );
    return answer !== 'conflict';
  }

  #attributes(record: AppInstallRecord): Record<string, AttributeValue> {
    return {
      memberId: { S: record.memberId },
      portal: { S: record.portal },
      clientEndpoint: { S: record.clientEndpoint },
      oauthTokenUrl: { S: record.oauthTokenUrl },
      applicationTokenHash: { S: record.applicationTokenHash },
      installState: { S: record.state },
      ...(record.botId === undefined ? {} : { botId: { N: String(record.botId) } }),
      sourceIds: { L: record.sourceIds.map((id) => ({ S: id })) },
      updatedAt: { S: new Date(this.#now()).toISOString() },
    };
  }

  async update(record: AppInstallRecord): Promise<boolean> {
    const attributes = this.#attributes(record);
    const names = Object.keys(attributes);
    const answer = await this.#send('Updating', record.memberId, () =>
      this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.#key(record.memberId),
          UpdateExpression: `SET ${names.map((name) => `#${name} = :${name}`).join(', ')}`,
          ConditionExpression: 'applicationTokenHash = :expectedHash',
          ExpressionAttributeNames: Object.fromEntries(names.map((name) => [`#${name}`, name])),
          ExpressionAttributeValues: {
            ...Object.fromEntries(names.map((name) => [`:${name}`, attributes[name] ?? { NULL: true }])),
            ':expectedHash': { S: record.applicationTokenHash },
          },
        }),
      ),
    );
    return answer !== 'conflict';
  }

  async remove(memberId: string, hash: string): Promise<boolean> {
    const answer = await this.#send('Deleting', memberId, () =>
      this.#client.send(
        new DeleteItemCommand({
          TableName: this.#tableName,
          Key: this.#key(memberId),
          ConditionExpression: 'applicationTokenHash = :hash',
          ExpressionAttributeValues: { ':hash': { S: hash } },
        }),
      ),
    );
    return answer !== 'conflict';
  }

  tokenStore(memberId: string): TokenStore {
    return this.#records.tokenStore(memberId);
  }
}
