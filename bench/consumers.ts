// The real consumers, driven the way Lambda's SQS event source mapping drives
// them (functions/local/lambda-sqs-event-source.ts), with a user function that
// records every call: which event, when, and in which order per chat.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createConsumerHandler } from '../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce } from '../functions/consumers/idempotency.js';
import type { ConsumerLogger } from '../functions/consumers/observability.js';
import { startSqsEventSource } from '../functions/local/lambda-sqs-event-source.js';
import type { ProvisionedPipeline } from '../functions/local/provision.js';
import { chatKeyOf } from '../functions/shared/envelope.js';
import type { RawBitrixEvent } from '../functions/shared/event-types.js';

export const silentConsumerLogger: ConsumerLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentConsumerLogger,
};

export interface HandlerCall {
  readonly sourceId: string;
  readonly eventId: number;
  readonly type: string;
  readonly chat: string;
  /** Date.now() when the user's function started. */
  readonly at: number;
  /** The SQS SentTimestamp of the delivered message (ms epoch), when present. */
  readonly sentTimestamp: number | undefined;
  readonly receiveCount: number;
}

export interface RecordingConsumers {
  /** Every call of the user's function, in call order. */
  readonly calls: HandlerCall[];
  /** Consumer (Lambda handler) invocations and their summed duration, ms. */
  readonly invocations: { count: number; totalMs: number };
  stop(): Promise<void>;
}

export interface ConsumerStartOptions {
  readonly pipeline: ProvisionedPipeline;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Only these routes (the ones the traffic uses). @default every route */
  readonly routes?: readonly string[];
  readonly batchSize?: number;
  readonly visibilityTimeoutSeconds?: number;
  readonly waitTimeSeconds?: number;
  /** Event sources per route queue (Lambda runs several concurrent pollers per queue). @default 1 */
  readonly pollersPerRoute?: number;
  /** Extra work per call (e.g. a simulated failure), after recording. */
  readonly onCall?: (event: RawBitrixEvent) => Promise<void>;
}

export async function startRecordingConsumers(options: ConsumerStartOptions): Promise<RecordingConsumers> {
  const calls: HandlerCall[] = [];
  const invocations = { count: 0, totalMs: 0 };
  const runOnce = createDynamoDbRunOnce({ tableName: options.pipeline.idempotencyTableName, dynamoDb: options.dynamoDb });
  const routes = options.routes ?? Object.keys(options.pipeline.queueUrls);
  const perRoute = options.pollersPerRoute ?? 1;
  const sources = await Promise.all(
    routes.flatMap((route) => Array.from({ length: perRoute }, () => route)).map((route) => {
      const queueUrl = options.pipeline.queueUrls[route];
      if (queueUrl === undefined) throw new Error(`no queue for route ${route}`);
      // SentTimestamp is on the SQS record, not in the consumer context: remember it per message id.
      const sentTimestamps = new Map<string, number>();
      const handler = createConsumerHandler({
        route,
        runOnce,
        logger: silentConsumerLogger,
        handlers: {
          '*': async (event, ctx) => {
            const sent = sentTimestamps.get(ctx.delivery.messageId);
            calls.push({
              sourceId: ctx.sourceId,
              eventId: event.eventId,
              type: event.type,
              chat: chatKeyOf(event) ?? '_',
              at: Date.now(),
              sentTimestamp: sent !== undefined && Number.isFinite(sent) ? sent : undefined,
              receiveCount: ctx.delivery.receiveCount,
            });
            if (options.onCall !== undefined) await options.onCall(event);
          },
        },
      });
      return startSqsEventSource({
        sqs: options.sqs,
        queueUrl,
        batchSize: options.batchSize ?? 10,
        visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? 5,
        waitTimeSeconds: options.waitTimeSeconds ?? 1,
        handler: async (event, context) => {
          for (const record of event.Records) sentTimestamps.set(record.messageId, Number(record.attributes.SentTimestamp));
          const started = performance.now();
          try {
            return await handler(event, context);
          } finally {
            invocations.count += 1;
            invocations.totalMs += performance.now() - started;
            for (const record of event.Records) sentTimestamps.delete(record.messageId);
          }
        },
      });
    }),
  );
  return {
    calls,
    invocations,
    stop: async () => {
      await Promise.all(sources.map((s) => s.stop()));
    },
  };
}
