// Run-once guard per event (Powertools idempotency on DynamoDB). The key is
// idempotencyKey(sourceId, eventId), so every copy of one event — a poller
// re-publish after the FIFO dedup window, an SQS redelivery after a visibility
// timeout or a crash before the delete — maps to the same record:
//   absent / expired        → INPROGRESS (expires with the Lambda's remaining time) → run → COMPLETED (kept ≥ 24 h)
//   INPROGRESS, not expired → IdempotencyAlreadyInProgressError: the record fails and is retried later
//   COMPLETED               → skip (a duplicate; the user's function is not called)
//   run throws              → record deleted, error rethrown (the next delivery runs it again)
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import type { Context } from 'aws-lambda';
import { IDEMPOTENCY_TABLE } from '../shared/topology.js';
import { ConsumerConfigError, InvocationOutOfTimeError } from './errors.js';

/** Bitrix24 keeps events 24 h: a record must outlive every possible re-delivery of its event. */
export const MIN_RECORD_TTL_SECONDS = 24 * 60 * 60;

export interface IdempotencyOptions {
  /** DynamoDB table with partition key `id` and TTL attribute `expiration` (IDEMPOTENCY_TABLE). */
  readonly tableName: string;
  /** SDK client. @default a new DynamoDBClient from the Lambda environment */
  readonly dynamoDb?: DynamoDBClient;
  /** How long a COMPLETED record is kept, in seconds; at least 86400. @default 172800 (48 h) */
  readonly expiresAfterSeconds?: number;
  /** Key prefix shared by every consumer of the pipeline so a re-routed type still dedupes. @default "b24-consumer" */
  readonly keyPrefix?: string;
}

/** Runs `work` at most once per key; resolves to `true` when it ran, `false` for a duplicate. */
export type RunOnce = (key: string, work: () => Promise<void>, lambdaContext: Context) => Promise<boolean>;

/** Without a table (local experiments only): every delivery runs. */
export const runAlways: RunOnce = async (_key, work) => {
  await work();
  return true;
};

export function createDynamoDbRunOnce(options: IdempotencyOptions): RunOnce {
  const expiresAfterSeconds = options.expiresAfterSeconds ?? 2 * MIN_RECORD_TTL_SECONDS;
  if (!Number.isFinite(expiresAfterSeconds) || expiresAfterSeconds < MIN_RECORD_TTL_SECONDS) {
    throw new ConsumerConfigError(
      `idempotency expiresAfterSeconds must be ≥ ${MIN_RECORD_TTL_SECONDS} (Bitrix24 keeps events 24 h, so duplicates can arrive that late); got ${expiresAfterSeconds}.`,
    );
  }
  if (options.tableName.length === 0) {
    throw new ConsumerConfigError('idempotency tableName is empty: set IDEMPOTENCY_TABLE_NAME to the pipeline\'s idempotency table.');
  }
  const persistenceStore: BasePersistenceLayer = new DynamoDBPersistenceLayer({
    tableName: options.tableName,
    keyAttr: IDEMPOTENCY_TABLE.partitionKey,
    expiryAttr: IDEMPOTENCY_TABLE.timeToLiveAttribute,
    ...(options.dynamoDb === undefined ? {} : { awsSdkV3Client: options.dynamoDb }),
  });
  const keyPrefix = options.keyPrefix ?? 'b24-consumer';

  return async (key, work, lambdaContext) => {
    // A config per call: the remaining time that bounds INPROGRESS is the
    // current invocation's, never a previous one's.
    if (lambdaContext.getRemainingTimeInMillis() <= 0) {
      throw new InvocationOutOfTimeError('the Lambda has no time left to start this event; it is returned to the queue and retried (raise the function timeout if this repeats).');
    }
    const config = new IdempotencyConfig({ expiresAfterSeconds });
    // Never 0: Powertools would then store INPROGRESS without an expiry, and a
    // crash would block the event until the record's TTL.
    config.registerLambdaContext({ ...lambdaContext, getRemainingTimeInMillis: () => Math.max(1, lambdaContext.getRemainingTimeInMillis()) });
    let ran = false;
    const guarded = makeIdempotent(
      async (_key: string): Promise<{ ran: true }> => {
        ran = true;
        await work();
        return { ran: true };
      },
      { persistenceStore, config, keyPrefix },
    );
    await guarded(key);
    return ran;
  };
}
