// TokenStore on the pipeline's DynamoDB state table: one item per source,
// pk `oauth#<sourceId>`. Writes are conditional on the refresh token they
// replace, so of two processes that renewed concurrently exactly one save
// wins; the other gets TokenConflictError and reloads the winner's tokens.
//
// Seeding: the initial refresh token lives in the source secret. `initial()`
// returns it. The item records the version (a hash, never the value) of the
// seed its chain descends from (`seedHash`) and of every seed adopted so far
// (`seenSeeds`, a string set grown with ADD, so two writers never lose an
// entry). A seed is used only when the item has never seen it:
//
//   no item                         → the seed
//   seed = seedHash or in seenSeeds → the stored chain (the seed is older: a
//                                     warm process still holding the secret
//                                     from before a re-authorisation)
//   seed unseen                     → the seed (a human re-authorised the app
//                                     and put a new refresh token in the secret)
//
// The first renewal of a new seed may replace a chain of another lineage; any
// other save must replace exactly the refresh token it renewed from.
//
// Token values are stored (the table is encrypted at rest) but never logged
// and never put in an error.
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { TokenConflictError, TokenStoreError } from './errors.js';
import { seedReplacesChain, seedVersionOf, type StoredTokens, type TokenStore } from './token-store.js';

export interface DynamoDbTokenStoreOptions {
  readonly client: DynamoDBClient;
  /** The pipeline's state table (partition key `pk`). */
  readonly tableName: string;
  readonly sourceId: string;
  /**
   * The item's partition key. A Marketplace install keeps one token chain per portal in its install
   * item (`app-install#<memberId>`, functions/install), shared by every source of that portal. @default `oauth#<sourceId>`
   */
  readonly itemKey?: string;
  /** The seed tokens (from the source secret), used while the item has not seen them. @default none */
  readonly initial?: () => Promise<StoredTokens | undefined>;
}

/**
 * The attributes a save writes or reads in its condition when the store has no seed (`initial`), the way the
 * install chains are built (functions/install/install-store.ts): with the partition key `pk`, all an
 * `app-install#*` token save touches. lib/parts/install-endpoint.ts limits the consumers' UpdateItem to them
 * (dynamodb:Attributes). A seeded store also writes `seedHash` and `seenSeeds`.
 */
export const UNSEEDED_TOKEN_ATTRIBUTES = ['accessToken', 'refreshToken', 'accessTokenExpiresAt', 'updatedAt'] as const;

export function tokenItemKey(sourceId: string): string {
  return `oauth#${sourceId}`;
}

/**
 * The token-store factory of `loadSourceCredentials` for the state table: the
 * poller, the consumers and the CLI build their stores through it, so every
 * process of a source follows the same seed rules.
 */
export function dynamoDbTokenStoreFactory(options: { readonly client: DynamoDBClient; readonly tableName: string }) {
  return (input: { readonly sourceId: string; readonly initial: () => Promise<StoredTokens | undefined> }): DynamoDbTokenStore =>
    new DynamoDbTokenStore({ client: options.client, tableName: options.tableName, sourceId: input.sourceId, initial: input.initial });
}

function safeCause(error: unknown): Error {
  const copy = new Error(error instanceof Error ? error.message.slice(0, 200) : 'unknown error');
  copy.name = error instanceof Error ? error.name : 'Error';
  copy.stack = `${copy.name}: ${copy.message}`;
  return copy;
}

export class DynamoDbTokenStore implements TokenStore {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #sourceId: string;
  readonly #itemKey: string;
  readonly #initial: (() => Promise<StoredTokens | undefined>) | undefined;

  constructor(options: DynamoDbTokenStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#sourceId = options.sourceId;
    this.#itemKey = options.itemKey ?? tokenItemKey(options.sourceId);
    this.#initial = options.initial;
  }

  get #key(): Record<string, AttributeValue> {
    return { pk: { S: this.#itemKey } };
  }

  async load(): Promise<StoredTokens | undefined> {
    let item: Record<string, AttributeValue> | undefined;
    try {
      const answer = await this.#client.send(new GetItemCommand({ TableName: this.#tableName, Key: this.#key, ConsistentRead: true }));
      item = answer.Item;
    } catch (error) {
      throw new TokenStoreError(`Reading the OAuth tokens of source "${this.#sourceId}" from table ${this.#tableName} failed; check the table and the role's dynamodb:GetItem permission.`, safeCause(error));
    }
    const seed = await this.#initial?.();
    if (item === undefined) return seed;
    const accessToken = item.accessToken?.S;
    const refreshToken = item.refreshToken?.S;
    const expiresAt = Number(item.accessTokenExpiresAt?.N);
    if (accessToken === undefined || refreshToken === undefined || !Number.isFinite(expiresAt)) {
      throw new TokenStoreError(`The OAuth token item of source "${this.#sourceId}" in ${this.#tableName} is incomplete (accessToken/refreshToken/accessTokenExpiresAt); delete it to re-seed from the secret.`);
    }
    if (seed !== undefined && seedReplacesChain(seedVersionOf(seed), { current: item.seedHash?.S, seen: item.seenSeeds?.SS ?? [] })) return seed;
    return { accessToken, refreshToken, expiresAt };
  }

  async save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void> {
    const seed = await this.#initial?.();
    const seedVersion = seed === undefined ? undefined : seedVersionOf(seed);
    const values: Record<string, AttributeValue> = {
      ':access': { S: next.accessToken },
      ':refresh': { S: next.refreshToken },
      ':expires': { N: String(next.expiresAt) },
      ':updated': { S: new Date().toISOString() },
    };
    let update = 'SET accessToken = :access, refreshToken = :refresh, accessTokenExpiresAt = :expires, updatedAt = :updated';
    let condition: string;
    // A save that starts the chain from this process's seed records the seed's version.
    const startsFromSeed = seedVersion !== undefined && (previous === undefined || previous.refreshToken === seed?.refreshToken);
    if (startsFromSeed) {
      values[':seed'] = { S: seedVersion };
      values[':seedSet'] = { SS: [seedVersion] };
      update += ', seedHash = :seed ADD seenSeeds :seedSet';
    }
    if (previous === undefined) {
      condition = 'attribute_not_exists(pk)';
    } else if (startsFromSeed) {
      values[':prev'] = { S: previous.refreshToken };
      // The first renewal of a seed the item has never seen may replace a chain of another lineage.
      condition = 'attribute_not_exists(pk) OR refreshToken = :prev OR (attribute_exists(seedHash) AND seedHash <> :seed AND NOT contains(seenSeeds, :seed))';
    } else {
      values[':prev'] = { S: previous.refreshToken };
      condition = 'refreshToken = :prev';
    }
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#tableName,
          Key: this.#key,
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: 'NONE',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new TokenConflictError(`Another process saved newer OAuth tokens for source "${this.#sourceId}" first; reload them from the store and retry.`);
      }
      throw new TokenStoreError(`Saving the OAuth tokens of source "${this.#sourceId}" to table ${this.#tableName} failed; check the table and the role's dynamodb:UpdateItem permission.`, safeCause(error));
    }
  }

  toString(): string {
    return `DynamoDbTokenStore(${this.#tableName}, ${this.#itemKey})`;
  }

  toJSON(): string {
    return this.toString();
  }
}
