// TokenStore on the pipeline's DynamoDB state table: one item per source,
// pk `oauth#<sourceId>`. Writes are conditional on the refresh token they
// replace, so of two processes that renewed concurrently exactly one save
// wins; the other gets TokenConflictError and reloads the winner's tokens.
//
// Seeding: the initial refresh token lives in the source secret. `initial()`
// returns it; it is used while no item exists, and again when the operator
// re-authorised the app and put a new refresh token in the secret (the item
// records a hash of the seed it descends from — never the value — so a
// changed secret is noticed).
//
// Token values are stored (the table is encrypted at rest) but never logged
// and never put in an error.
import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { TokenConflictError, TokenStoreError } from './errors.js';
import { type StoredTokens, type TokenStore } from './token-store.js';

export interface DynamoDbTokenStoreOptions {
  readonly client: DynamoDBClient;
  /** The pipeline's state table (partition key `pk`). */
  readonly tableName: string;
  readonly sourceId: string;
  /** The seed tokens (from the source secret), used when nothing newer is stored. @default none */
  readonly initial?: () => Promise<StoredTokens | undefined>;
}

export function tokenItemKey(sourceId: string): string {
  return `oauth#${sourceId}`;
}

function seedHashOf(tokens: StoredTokens | undefined): string | undefined {
  return tokens === undefined ? undefined : createHash('sha256').update(tokens.refreshToken).digest('hex');
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
  readonly #initial: (() => Promise<StoredTokens | undefined>) | undefined;

  constructor(options: DynamoDbTokenStoreOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#sourceId = options.sourceId;
    this.#initial = options.initial;
  }

  get #key(): Record<string, AttributeValue> {
    return { pk: { S: tokenItemKey(this.#sourceId) } };
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
    const storedSeed = item.seedHash?.S;
    const seedHash = seedHashOf(seed);
    // The secret holds a refresh token this chain does not descend from: a human re-authorised the app.
    if (seed !== undefined && storedSeed !== undefined && storedSeed !== seedHash) return seed;
    return { accessToken, refreshToken, expiresAt };
  }

  async save(next: StoredTokens, previous: StoredTokens | undefined): Promise<void> {
    const seed = await this.#initial?.();
    const seedHash = seedHashOf(seed);
    const values: Record<string, AttributeValue> = {};
    let condition = 'attribute_not_exists(pk)';
    if (previous !== undefined) {
      values[':prev'] = { S: previous.refreshToken };
      condition = 'attribute_not_exists(pk) OR refreshToken = :prev';
      if (seedHash !== undefined && previous.refreshToken === seed?.refreshToken) {
        // Saving the first renewal of a (new) seed: it may replace a chain started from an older seed.
        values[':seed'] = { S: seedHash };
        condition = 'attribute_not_exists(pk) OR refreshToken = :prev OR seedHash <> :seed';
      } else {
        condition = 'refreshToken = :prev';
      }
    }
    const item: Record<string, AttributeValue> = {
      ...this.#key,
      accessToken: { S: next.accessToken },
      refreshToken: { S: next.refreshToken },
      accessTokenExpiresAt: { N: String(next.expiresAt) },
      updatedAt: { S: new Date().toISOString() },
    };
    if (seedHash !== undefined) item.seedHash = { S: seedHash };
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: item,
          ConditionExpression: condition,
          ...(Object.keys(values).length === 0 ? {} : { ExpressionAttributeValues: values }),
          ReturnValuesOnConditionCheckFailure: 'NONE',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new TokenConflictError(`Another process saved newer OAuth tokens for source "${this.#sourceId}" first; reload them from the store and retry.`);
      }
      throw new TokenStoreError(`Saving the OAuth tokens of source "${this.#sourceId}" to table ${this.#tableName} failed; check the table and the role's dynamodb:PutItem permission.`, safeCause(error));
    }
  }

  toString(): string {
    return `DynamoDbTokenStore(${this.#tableName}, ${tokenItemKey(this.#sourceId)})`;
  }

  toJSON(): string {
    return this.toString();
  }
}
