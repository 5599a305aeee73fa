// Wiring for a consumer Lambda: everything a handler needs, built from the
// environment on the first invocation (never at import time) and reused while
// the Lambda is warm. Users export `handler = lambdaConsumer({...handlers})`.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { SecretReader } from '../bitrix24/secret-reader.js';
import { sqsClientConfig } from '../shared/aws-client-config.js';
import { createDynamoDbAttemptCounter } from './attempts.js';
import { DynamoDbPortalBudgetStore, PortalBudget, portalRatesFromJson } from '../budget/index.js';
import { bitrix24ClientFactory, sourceResolver } from './bitrix24-from-env.js';
import { type ConsumerHandler, type ConsumerHandlers, createConsumerHandler } from './consumer-handler.js';
import { readConsumerEnvironment } from './consumer-env.js';
import { type RunOnce, createDynamoDbRunOnce, runAlways } from './idempotency.js';
import { type ConsumerLogger, type ConsumerMetrics, powertoolsConsumerLogger, powertoolsConsumerMetrics } from './observability.js';
import type { PayloadStore } from './envelope-reader.js';
import { createDynamoDbOutboxStore } from './outbox.js';
import { sqsRecordQueue } from './record-queue.js';
import type { ClientFactory } from './source-clients.js';
import { type VoiceSourceLookup, voiceSourceOf } from './voice-sources.js';

export interface LambdaConsumerOptions {
  /** Environment to read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default Powertools Logger (service "b24-consumer") */
  readonly logger?: ConsumerLogger;
  /** @default Powertools Metrics, namespace B24EventPipeline, dimension SourceId */
  readonly metrics?: ConsumerMetrics;
  /** @default real Bitrix24 clients: the source from SOURCES or the registry (REGISTRY_TABLE_NAME), its secret from Secrets Manager */
  readonly clientFactory?: ClientFactory;
  /** @default DynamoDB on IDEMPOTENCY_TABLE_NAME (every delivery runs when it is unset) */
  readonly runOnce?: RunOnce;
  readonly dynamoDb?: DynamoDBClient;
  readonly s3?: S3Client;
  /** For the DLQ sends and retry backoff on QUEUE_URL / DEAD_LETTER_QUEUE_URL. @default a new SQSClient */
  readonly sqs?: SQSClient;
  /** Bot or user, and botId, per source for ctx.reply & co. @default the source lookup ctx.bitrix24 uses (SOURCES, then the registry) */
  readonly voiceSources?: VoiceSourceLookup;
  /** Reads the source secrets and the app secret (APP_SECRET_NAME). @default Secrets Manager with a 5-minute cache */
  readonly secrets?: SecretReader;
}

/**
 * The claim-check store, with the S3 client loaded on the first claim check
 * (rare: events over 256 KiB), not at cold start: a dynamic import, so the
 * bundle evaluates the S3 client's modules only then (docs/package.md).
 */
function lazyS3PayloadStore(s3: S3Client | undefined): PayloadStore {
  let store: Promise<PayloadStore> | undefined;
  const load = async (): Promise<PayloadStore> => (await import('./default-payload-store.js')).defaultPayloadStore(s3);
  return {
    async getText(bucket, key) {
      // A failed load is not kept: the next claim check tries again.
      store ??= load().catch((error: unknown) => {
        store = undefined;
        throw error;
      });
      return await (await store).getText(bucket, key);
    },
  };
}

/** Builds the handler now from the environment (the local runtime and tests call this directly). */
export function createConsumerHandlerFromEnv(handlers: ConsumerHandlers, options: LambdaConsumerOptions = {}): ConsumerHandler {
  const env = readConsumerEnvironment(options.env);
  const logger = options.logger ?? powertoolsConsumerLogger();
  let dynamoDb = options.dynamoDb;
  const dynamo = (): DynamoDBClient => (dynamoDb ??= new DynamoDBClient({}));
  let runOnce = options.runOnce;
  if (runOnce === undefined) {
    if (env.idempotencyTableName === undefined) {
      logger.warn('IDEMPOTENCY_TABLE_NAME is not set: duplicates will run the handlers again (set it to the pipeline\'s idempotency table)');
      runOnce = runAlways;
    } else {
      runOnce = createDynamoDbRunOnce({ tableName: env.idempotencyTableName, dynamoDb: dynamo() });
    }
  }
  const tableName = env.idempotencyTableName;
  const queue =
    env.queueUrl !== undefined && env.deadLetterQueueUrl !== undefined
      ? sqsRecordQueue({ sqs: options.sqs ?? new SQSClient(sqsClientConfig()), queueUrl: env.queueUrl, deadLetterQueueUrl: env.deadLetterQueueUrl })
      : undefined;
  if (queue === undefined) {
    logger.warn('QUEUE_URL or DEAD_LETTER_QUEUE_URL is not set: poison and failing records stay in the queue until its maxReceiveCount (set both to the route\'s queues)');
  }
  const resolveSource = sourceResolver({
    sources: env.sources,
    prefix: env.prefix,
    registryTableName: env.registryTableName,
    dynamoDb: dynamo,
  });
  return createConsumerHandler({
    handlers,
    runOnce,
    ...(queue === undefined ? {} : { queue }),
    ...(tableName === undefined
      ? {}
      : {
          attempts: createDynamoDbAttemptCounter({ tableName, dynamoDb: dynamo() }),
          outbox: createDynamoDbOutboxStore({ tableName, dynamoDb: dynamo() }),
        }),
    maxAttempts: env.maxAttempts,
    logger,
    metrics: options.metrics ?? powertoolsConsumerMetrics(),
    payloads: lazyS3PayloadStore(options.s3),
    clientFactory:
      options.clientFactory ??
      bitrix24ClientFactory({
        sources: env.sources,
        prefix: env.prefix,
        resolveSource,
        stateTableName: env.stateTableName,
        dynamoDb: dynamo,
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
        ...(env.appSecretName === undefined ? {} : { appSecretName: env.appSecretName }),
        logger,
        // ctx calls share the portal's bucket with the poller shards (budget#<host> in the state table).
        ...(env.stateTableName === undefined
          ? {}
          : {
              requestGate: new PortalBudget({
                store: new DynamoDbPortalBudgetStore({ client: dynamo(), tableName: env.stateTableName }),
                rateOf: portalRatesFromJson(env.portalBudgets),
              }),
            }),
      }),
    // ctx.reply asks the same lookup whether to answer as a bot (and which botId).
    voiceSources: options.voiceSources ?? (async (sourceId) => {
      const resolved = await resolveSource(sourceId);
      return resolved === undefined ? undefined : voiceSourceOf(resolved.source);
    }),
    ...(env.route === undefined ? {} : { route: env.route }),
  });
}

/**
 * A consumer Lambda: `export const handler = lambdaConsumer({...})`. It keeps
 * the handlers it was built from (`handler.handlers`), so dev mode
 * (`npm run dev -- --handlers <module>`) runs the very module you deploy.
 */
export type LambdaConsumer = ((event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) & {
  readonly handlers: ConsumerHandlers;
};

/** A Lambda entry over `handlers`, wired from the environment on first use. */
export function lambdaConsumer(handlers: ConsumerHandlers, options: LambdaConsumerOptions = {}): LambdaConsumer {
  let built: ConsumerHandler | undefined;
  const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    built ??= createConsumerHandlerFromEnv(handlers, options);
    return await built(event, context);
  };
  return Object.assign(handler, { handlers });
}
