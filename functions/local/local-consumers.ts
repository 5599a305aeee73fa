// Consumers for the local runtime: the real consumer framework
// (createConsumerHandler) with the real idempotency layer on DynamoDB Local
// and claim checks read from fauxqs S3, exactly as the Lambda entry wires it.
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { ConsumerHandlers } from '../consumers/consumer-handler.js';
import { createConsumerHandler } from '../consumers/consumer-handler.js';
import { createDynamoDbAttemptCounter } from '../consumers/attempts.js';
import { createDynamoDbRunOnce } from '../consumers/idempotency.js';
import { createDynamoDbOutboxStore } from '../consumers/outbox.js';
import { sqsRecordQueue } from '../consumers/record-queue.js';
import type { ConsumerLogger } from '../consumers/observability.js';
import type { ClientFactory } from '../consumers/source-clients.js';
import type { VoiceSourceLookup } from '../consumers/voice-sources.js';
import { KNOWN_EVENT_TYPES, type RawBitrixEvent } from '../shared/event-types.js';
import type { SqsBatchHandler } from './observers.js';
import type { ConsumerSetup } from './pipeline-runtime.js';

/** A consumer logger that keeps quiet below `warn` (the progress view owns the terminal). */
export function quietConsumerLogger(write: (line: string) => void, keys: Record<string, unknown> = {}): ConsumerLogger {
  const line = (level: string, message: string, attributes?: Record<string, unknown>) =>
    write(`[consumer ${level}] ${message} ${JSON.stringify({ ...keys, ...attributes })}`);
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (message, attributes) => line('warn', message, attributes),
    error: (message, attributes) => line('error', message, attributes),
    child: (more) => quietConsumerLogger(write, { ...keys, ...more }),
  };
}

export interface LocalConsumerOptions {
  readonly handlers: ConsumerHandlers;
  readonly logger: ConsumerLogger;
  /** Bitrix24 clients for ctx.bitrix24, per source id. @default ctx.bitrix24 throws on use */
  readonly clientFactory?: ClientFactory;
  /** Failed attempts per event before the consumer dead-letters it. @default 5 */
  readonly maxAttempts?: number;
  /** Bot or user, and botId, per source for ctx.reply & co (voiceSourcesFromConfig of the runtime's sources). @default bot events answer as the bot they name */
  readonly voiceSources?: VoiceSourceLookup;
}

export function createLocalConsumer(setup: ConsumerSetup, options: LocalConsumerOptions): SqsBatchHandler {
  const { s3 } = setup;
  const tableName = setup.pipeline.idempotencyTableName;
  const queueUrl = setup.pipeline.queueUrls[setup.route];
  const deadLetterQueueUrl = setup.pipeline.deadLetterQueueUrls[setup.route];
  return createConsumerHandler({
    handlers: options.handlers,
    runOnce: createDynamoDbRunOnce({ tableName, dynamoDb: setup.dynamoDb }),
    // As in Lambda: the consumer dead-letters and backs off itself; attempts and outbox records in the idempotency table.
    ...(queueUrl === undefined || deadLetterQueueUrl === undefined ? {} : { queue: sqsRecordQueue({ sqs: setup.sqs, queueUrl, deadLetterQueueUrl }) }),
    attempts: createDynamoDbAttemptCounter({ tableName, dynamoDb: setup.dynamoDb }),
    outbox: createDynamoDbOutboxStore({ tableName, dynamoDb: setup.dynamoDb }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    payloads: {
      async getText(bucket, key) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return (await object.Body?.transformToString()) ?? '';
      },
    },
    ...(options.clientFactory === undefined ? {} : { clientFactory: options.clientFactory }),
    ...(options.voiceSources === undefined ? {} : { voiceSources: options.voiceSources }),
    logger: options.logger,
    route: setup.route,
  });
}

/** Handlers for every event type (typed validation included) that all call `onEvent`. */
export function handlersForEveryType(onEvent: (event: RawBitrixEvent, sourceId: string) => Promise<void> | void): ConsumerHandlers {
  const handle = async (event: RawBitrixEvent, ctx: { readonly sourceId: string }) => {
    await onEvent(event, ctx.sourceId);
  };
  const handlers: Record<string, typeof handle> = { '*': handle };
  for (const type of KNOWN_EVENT_TYPES) handlers[type] = handle;
  return handlers;
}
