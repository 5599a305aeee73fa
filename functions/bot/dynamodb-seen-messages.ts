// SeenMessages on the pipeline's state table (partition key `pk`, TTL
// attribute `expiresAt`: STATE_TABLE in functions/shared/topology.ts), one
// item per message: pk `bot-seen#<sourceId>#<botId>#<messageId>`.
//   remember: conditional put — it succeeds when the item is absent or expired
//             (TTL deletes lazily, so an expired item may still be there) → true;
//             the condition fails when a live item exists → false.
//   has:      consistent read; an item past its expiresAt counts as absent.
// `table` picks another table's key and TTL attribute: a consumer may write
// only the idempotency table (IDEMPOTENCY_TABLE: `id`, `expiration`), so the
// bot router keeps its marks there.
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { STATE_TABLE } from '../shared/topology.js';
import { SeenMessagesStoreError } from './errors.js';
import { SEEN_MESSAGE_TTL_SECONDS, type SeenMessages } from './seen-messages.js';

export interface DynamoDbSeenMessagesOptions {
  readonly client: DynamoDBClient;
  /** The table: the pipeline's state table (partition key `pk`, TTL attribute `expiresAt`) unless `table` says otherwise. */
  readonly tableName: string;
  /** Its partition key and TTL attribute (seconds epoch). @default STATE_TABLE (`pk`, `expiresAt`) */
  readonly table?: { readonly partitionKey: string; readonly timeToLiveAttribute: string };
  /** Seconds a mark is kept. @default 172800 (SEEN_MESSAGE_TTL_SECONDS) */
  readonly ttlSeconds?: number;
  /** ms epoch clock. @default Date.now */
  readonly now?: () => number;
}

export const SEEN_MESSAGE_KEY_PREFIX = 'bot-seen#';

export class DynamoDbSeenMessages implements SeenMessages {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #ttlSeconds: number;
  readonly #now: () => number;
  readonly #partitionKey: string;
  readonly #expiresAt: string;

  constructor(options: DynamoDbSeenMessagesOptions) {
    this.#client = options.client;
    this.#tableName = options.tableName;
    this.#partitionKey = options.table?.partitionKey ?? STATE_TABLE.partitionKey;
    this.#expiresAt = options.table?.timeToLiveAttribute ?? STATE_TABLE.timeToLiveAttribute;
    this.#ttlSeconds = options.ttlSeconds ?? SEEN_MESSAGE_TTL_SECONDS;
    this.#now = options.now ?? Date.now;
  }

  async remember(key: string): Promise<boolean> {
    const nowSeconds = Math.floor(this.#now() / 1000);
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: {
            [this.#partitionKey]: { S: SEEN_MESSAGE_KEY_PREFIX + key },
            [this.#expiresAt]: { N: String(nowSeconds + this.#ttlSeconds) },
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR #expiresAt <= :now',
          ExpressionAttributeNames: { '#pk': this.#partitionKey, '#expiresAt': this.#expiresAt },
          ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw new SeenMessagesStoreError('remember', `could not record message ${key} as handled in table ${this.#tableName}: ${describe(error)}; the event is retried.`, { cause: error });
    }
  }

  async has(key: string): Promise<boolean> {
    try {
      const result = await this.#client.send(
        new GetItemCommand({
          TableName: this.#tableName,
          Key: { [this.#partitionKey]: { S: SEEN_MESSAGE_KEY_PREFIX + key } },
          ConsistentRead: true,
          ProjectionExpression: '#expiresAt',
          ExpressionAttributeNames: { '#expiresAt': this.#expiresAt },
        }),
      );
      const expiresAt = Number(result.Item?.[this.#expiresAt]?.N ?? Number.NaN);
      return Number.isFinite(expiresAt) && expiresAt > Math.floor(this.#now() / 1000);
    } catch (error) {
      throw new SeenMessagesStoreError('has', `could not read whether message ${key} was handled from table ${this.#tableName}: ${describe(error)}; the event is retried.`, { cause: error });
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message.slice(0, 200)}` : 'unknown error';
}
