// Failed attempts per event, counted outside SQS (issue 11 §1). SQS's
// ApproximateReceiveCount cannot tell a record's own failures from the rounds
// it was held back behind a failing predecessor of its chat, so the consumer
// counts each record's failures itself and dead-letters the record after
// maxAttempts; healthy successors are never charged for a predecessor.
// Items live in the idempotency table (partition key `id`, TTL `expiration`):
//   id = "b24-attempts#<sourceId>#<eventId>" (or "b24-attempts#message#<sqsMessageId>"
//   when the body names no event), attempts = N, expiration = now + 48 h.
import { DeleteItemCommand, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { IDEMPOTENCY_TABLE } from '../shared/topology.js';

export interface AttemptCounter {
  /** Counts one more failed attempt of `key`; resolves to the failures counted so far, this one included. */
  recordFailure(key: string): Promise<number>;
  /** Forgets the count (after dead-lettering: a redriven message starts with a fresh budget). */
  clear(key: string): Promise<void>;
}

/** Default failure budget per event (config `consumer.maxAttempts`, env MAX_ATTEMPTS). */
export { DEFAULT_MAX_ATTEMPTS } from '../shared/topology.js';

export interface DynamoDbAttemptCounterOptions {
  /** The idempotency table (IDEMPOTENCY_TABLE_NAME). */
  readonly tableName: string;
  readonly dynamoDb: DynamoDBClient;
  /** How long a count is kept, in seconds. @default 172800 (48 h, as the idempotency records) */
  readonly ttlSeconds?: number;
  /** ms epoch clock. @default Date.now */
  readonly now?: () => number;
}

export const ATTEMPTS_KEY_PREFIX = 'b24-attempts#';

export function createDynamoDbAttemptCounter(options: DynamoDbAttemptCounterOptions): AttemptCounter {
  const ttlSeconds = options.ttlSeconds ?? 48 * 60 * 60;
  const now = options.now ?? Date.now;
  const key = (name: string) => ({ [IDEMPOTENCY_TABLE.partitionKey]: { S: `${ATTEMPTS_KEY_PREFIX}${name}` } });
  return {
    async recordFailure(name) {
      const out = await options.dynamoDb.send(
        new UpdateItemCommand({
          TableName: options.tableName,
          Key: key(name),
          UpdateExpression: 'ADD attempts :one SET #expiration = :expiration',
          ExpressionAttributeNames: { '#expiration': IDEMPOTENCY_TABLE.timeToLiveAttribute },
          ExpressionAttributeValues: { ':one': { N: '1' }, ':expiration': { N: String(Math.floor(now() / 1000) + ttlSeconds) } },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return Number(out.Attributes?.attempts?.N ?? '1');
    },
    async clear(name) {
      await options.dynamoDb.send(new DeleteItemCommand({ TableName: options.tableName, Key: key(name) }));
    },
  };
}

/** Counts in this process only (unit tests; local runs without a table). */
export function inMemoryAttemptCounter(): AttemptCounter & { readonly counts: ReadonlyMap<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    recordFailure(name) {
      const next = (counts.get(name) ?? 0) + 1;
      counts.set(name, next);
      return Promise.resolve(next);
    },
    clear(name) {
      counts.delete(name);
      return Promise.resolve();
    },
  };
}
