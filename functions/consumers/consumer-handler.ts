// The consumer framework: a thin SQS handler over the user's typed functions.
//
// Per record: read the envelope (claim checks from S3) → validate the event of
// a known type → run the user's function for its type once per event
// (idempotency) → success. Per batch: Powertools' FIFO processor with
// skipGroupOnError, so a failure fails the rest of THAT chat's message group
// (order holds) while other chats carry on; failed records are reported as
// batchItemFailures (ReportBatchItemFailures) and come back after the
// visibility timeout, until the queue's redrive policy moves them to the DLQ.
import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type InlineEnvelope, idempotencyKey } from '../shared/envelope.js';
import type { KnownEventType, RawBitrixEvent } from '../shared/event-types.js';
import { CONSUMER_METRICS } from '../shared/observability.js';
import { PoisonMessageError } from './errors.js';
import { type PayloadStore, readEnvelope } from './envelope-reader.js';
import { type TypedEvent, validateKnownEvent } from './events.js';
import { type RunOnce, runAlways } from './idempotency.js';
import { type ConsumerLogger, type ConsumerMetrics, noMetrics } from './observability.js';
import { type Bitrix24Caller, type ClientFactory, SourceClients } from './source-clients.js';
import { summarizeEvent } from './summary.js';

/** What every handler gets besides the event. */
export interface ConsumerContext {
  /** The poller's envelope (claim checks already resolved): source, portal, receivedAt, schemaVersion, raw event. */
  readonly envelope: InlineEnvelope;
  readonly sourceId: string;
  /** Portal host, e.g. `example.bitrix24.com`. */
  readonly portal: string;
  /** When the poller received the event, ISO 8601 UTC. */
  readonly receivedAt: string;
  /** The route key this consumer serves, when configured. */
  readonly route: string | undefined;
  /** The SQS delivery: message id, 1-based receive count, FIFO group (the chat). */
  readonly delivery: { readonly messageId: string; readonly receiveCount: number; readonly messageGroupId: string | undefined };
  /** Logger whose lines carry sourceId, eventId, type and the SQS message id. */
  readonly logger: ConsumerLogger;
  /**
   * Bitrix24 REST for this event's source, created on first use from the
   * source's credentials: `await ctx.bitrix24.call('im.message.add', {...})`.
   * Calls without a deadline stop retrying shortly before the Lambda times out.
   */
  readonly bitrix24: Bitrix24Caller;
  /** Milliseconds left before the Lambda times out. */
  remainingTimeMs(): number;
  readonly lambdaContext: Context;
}

export type EventHandler<E> = (event: E, ctx: ConsumerContext) => Promise<void>;

/**
 * One function per event type; `'*'` gets every other event (unknown types on
 * the catch-all route, known types without a handler) as the raw event.
 */
export type ConsumerHandlers = { readonly [T in KnownEventType]?: EventHandler<TypedEvent<T>> } & {
  readonly '*'?: EventHandler<RawBitrixEvent>;
};

export interface ConsumerHandlerOptions {
  readonly handlers: ConsumerHandlers;
  /** Run-once guard: createDynamoDbRunOnce({ tableName }) in Lambda. @default runs every delivery (no idempotency) */
  readonly runOnce?: RunOnce;
  /** Reads claim-check objects. @default none: a claim check then fails (and is retried) with ClaimCheckReadError */
  readonly payloads?: PayloadStore;
  /** Bitrix24 client per source id, for ctx.bitrix24. @default a factory that throws SourceClientError on use */
  readonly clientFactory?: ClientFactory;
  readonly logger: ConsumerLogger;
  /** @default no metrics */
  readonly metrics?: ConsumerMetrics;
  /** Route key this consumer serves, for logs. */
  readonly route?: string;
  /** ms epoch clock. @default Date.now */
  readonly now?: () => number;
  /** Margin kept before the Lambda deadline for Bitrix24 calls without their own deadline, in ms. @default 2000 */
  readonly callDeadlineMarginMs?: number;
}

export type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function receiveCountOf(record: SQSRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount);
  return Number.isFinite(count) && count > 0 ? count : 1;
}

/** Builds the Lambda handler for one route (or the catch-all) over the user's typed functions. */
export function createConsumerHandler(options: ConsumerHandlerOptions): ConsumerHandler {
  const runOnce = options.runOnce ?? runAlways;
  const metrics = options.metrics ?? noMetrics;
  const now = options.now ?? Date.now;
  const margin = options.callDeadlineMarginMs ?? 2000;
  const clients = new SourceClients(options.clientFactory);
  const baseLogger = options.route === undefined ? options.logger : options.logger.child({ route: options.route });

  const defaultHandler: EventHandler<RawBitrixEvent> = (event, ctx) => {
    const summary = summarizeEvent(event, ctx.envelope);
    ctx.logger.info(summary.line, summary.attributes);
    return Promise.resolve();
  };

  const pickHandler = (type: string): EventHandler<unknown> => {
    const handlers = options.handlers as Readonly<Record<string, EventHandler<unknown> | undefined>>;
    return (Object.hasOwn(handlers, type) ? handlers[type] : undefined) ?? handlers['*'] ?? (defaultHandler as EventHandler<unknown>);
  };

  return async (event, lambdaContext) => {
    const ownFailures = new Set<string>();

    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const receiveCount = receiveCountOf(record);
      const groupId = record.attributes.MessageGroupId;
      const recordLogger = baseLogger.child({ messageId: record.messageId, receiveCount, ...(groupId === undefined ? {} : { messageGroupId: groupId }) });
      let sourceId: string | undefined;
      try {
        const envelope = await readEnvelope(record.body, options.payloads);
        sourceId = envelope.sourceId;
        const raw = envelope.event;
        const logger = recordLogger.child({ sourceId, eventId: raw.eventId, type: raw.type });
        const validation = validateKnownEvent(raw);
        if (validation !== undefined && !validation.ok) {
          throw new PoisonMessageError('invalid-event', `${raw.type} #${raw.eventId} does not match its schema: ${validation.issues.join('; ')}`);
        }
        const typed = validation?.event;
        const handler = pickHandler(raw.type);
        const lambdaDeadline = now() + lambdaContext.getRemainingTimeInMillis();
        const ctx: ConsumerContext = {
          envelope,
          sourceId,
          portal: envelope.portal,
          receivedAt: envelope.receivedAt,
          route: options.route,
          delivery: { messageId: record.messageId, receiveCount, messageGroupId: groupId },
          logger,
          bitrix24: clients.callerFor(sourceId, envelope.portal, () => lambdaDeadline - margin),
          remainingTimeMs: () => lambdaContext.getRemainingTimeInMillis(),
          lambdaContext,
        };
        const userHandler = Object.hasOwn(options.handlers, raw.type) && typed !== undefined;
        const ran = await runOnce(
          idempotencyKey(sourceId, raw.eventId),
          () => handler(userHandler ? typed : raw, ctx),
          lambdaContext,
        );
        if (ran) {
          metrics.count(CONSUMER_METRICS.eventsHandled, sourceId);
        } else {
          metrics.count(CONSUMER_METRICS.duplicatesSkipped, sourceId);
          logger.info(`duplicate of ${sourceId}#${raw.eventId} skipped: it was already handled`);
        }
      } catch (error) {
        ownFailures.add(record.messageId);
        if (error instanceof PoisonMessageError) {
          metrics.count(CONSUMER_METRICS.poisonMessages, sourceId);
          recordLogger.error(`poison message ${record.messageId} (${error.reason}): ${error.detail}; delivery ${receiveCount}, it goes to the DLQ after maxReceiveCount`, {
            reason: error.reason,
            ...(sourceId === undefined ? {} : { sourceId }),
          });
        } else if (error instanceof IdempotencyAlreadyInProgressError) {
          recordLogger.warn(`event ${record.messageId} is being handled by another invocation; retried after the visibility timeout`);
        } else {
          metrics.count(CONSUMER_METRICS.handlerFailures, sourceId);
          recordLogger.error(`handler failed for message ${record.messageId} (delivery ${receiveCount}): ${errorText(error)}; retried after the visibility timeout, then dead-lettered`, {
            error: errorText(error),
            ...(sourceId === undefined ? {} : { sourceId }),
          });
        }
        throw error;
      }
    };

    try {
      const response = await processPartialResponse(event, recordHandler, new SqsFifoPartialProcessorAsync(), {
        context: lambdaContext,
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      });
      const skipped = response.batchItemFailures.filter((failure) => !ownFailures.has(failure.itemIdentifier)).length;
      if (skipped > 0) {
        baseLogger.info(`${skipped} record(s) not attempted: an earlier record of the same chat failed in this batch; they come back in order`);
      }
      return response;
    } finally {
      metrics.flush();
    }
  };
}
