// The consumer framework: a thin SQS handler over the user's typed functions.
//
// Per record: read the envelope (claim checks from S3) → validate the event of
// a known type → run the user's function for its type once per event
// (idempotency) → success. Per batch: Powertools' FIFO processor with
// skipGroupOnError, so a failure fails the rest of THAT chat's message group
// (order holds) while other chats carry on.
//
// Failures (issue 11 §1; real SQS FIFO hands Lambda up to 10 records of one
// chat, so a record's failure holds back its chat's successors in the batch):
//  - a record that can never succeed (poison: bad JSON, envelope, schema
//    version, a known type failing its schema) is sent to the route's DLQ by
//    the consumer and reported as processed: its chat continues in the same batch;
//  - any other failure counts one attempt of that event (DynamoDB, not SQS's
//    receive count, which also counts the rounds a record was held back); the
//    record and the successors held back behind it are hidden for a backoff
//    (ChangeMessageVisibility) and come back together, in order; after
//    maxAttempts the consumer dead-letters the failing record itself, so its
//    successors never reach the DLQ because of it;
//  - a Bitrix24 write whose outcome is unknown is dead-lettered at once (a
//    re-run cannot find out whether it happened).
// The queue's maxReceiveCount (maxReceiveCountFor) is only a backstop.
import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { WriteOutcomeUnknownError } from '../bitrix24/errors.js';
import { type BotVoiceInput, createBotVoice, type VoiceSourceLookup } from '../bot/bot-voice.js';
import type { BotVoice } from '../bot/voice.js';
import { methodKind } from '../bitrix24/retry-policy.js';
import { type InlineEnvelope, idempotencyKey } from '../shared/envelope.js';
import type { KnownEventType, RawBitrixEvent } from '../shared/event-types.js';
import { CONSUMER_METRICS } from '../shared/observability.js';
import { type AttemptCounter, DEFAULT_MAX_ATTEMPTS } from './attempts.js';
import { PoisonMessageError } from './errors.js';
import { type Outbox, type OutboxStore, eventOutbox } from './outbox.js';
import { type DeadLetter, type RecordQueue } from './record-queue.js';
import { type PayloadStore, readEnvelope } from './envelope-reader.js';
import { type TypedEvent, validateKnownEvent } from './events.js';
import { type RunOnce, runAlways } from './idempotency.js';
import { type ConsumerLogger, type ConsumerMetrics, noMetrics } from './observability.js';
import { type Bitrix24Caller, type ClientFactory, SourceClients } from './source-clients.js';
import { summarizeEvent } from './summary.js';

/**
 * What every handler gets besides the event. Besides the fields below, the
 * bot's voice (functions/bot/voice.ts, bot-voice.ts): `ctx.reply(text)` answers
 * where the event came from (imbot.v2.Chat.Message.send as the bot, Command.answer
 * on a command, im.message.add for a user source), `ctx.typing()` keeps an
 * indicator alive until the handler replies or returns, `ctx.read()`,
 * `ctx.react(code)`, `ctx.edit(id, text)`. Replies, reactions and edits go
 * through `ctx.outbox` (once per event and position); typing and read marks are
 * sent directly (safe to repeat).
 */
export interface ConsumerContext extends BotVoice {
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
   * Writes (every method that is not a known read, see methodKind) go through
   * `ctx.outbox`: sent at most once per event, even when the handler runs again.
   */
  readonly bitrix24: Bitrix24Caller;
  /** Bitrix24 writes of this event, each sent at most once across re-runs of the handler (see outbox.ts). */
  readonly outbox: Outbox;
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
  /**
   * The route's queue and DLQ: dead-letter records itself, back off retries. @default none: a poison or a failing
   * record is only reported failed, and the queue's redrive policy moves it (and, on real FIFO batches, the
   * successors held back behind it) to the DLQ after maxReceiveCount
   */
  readonly queue?: RecordQueue;
  /** Failed attempts per event (createDynamoDbAttemptCounter in Lambda). @default none: failures are retried until the backstop */
  readonly attempts?: AttemptCounter;
  /** Failed attempts of one event before the consumer dead-letters it (needs `queue` and `attempts`). @default 5 */
  readonly maxAttempts?: number;
  /** Backoff before attempt n+1 after n failures, in seconds (0–43200). @default min(300, 5 × 2^(n−1)) */
  readonly retryDelaySeconds?: (failures: number) => number;
  /** Outbox records for ctx.outbox / writes through ctx.bitrix24. @default none: writes are sent on every run */
  readonly outbox?: OutboxStore;
  /**
   * Whether a source answers as a bot (its botId) or a user, for ctx.reply & co: voiceSourcesFromConfig(SOURCES) in
   * Lambda. @default none: bot events answer as the bot they name (data.bot.id), user events throw VoiceSourceError
   */
  readonly voiceSources?: VoiceSourceLookup;
  /** Keep-alive timing of ctx.typing (tests inject a clock). @default typing-keepalive.ts defaults */
  readonly typing?: BotVoiceInput['typing'];
}

const noVoiceSources: VoiceSourceLookup = () => undefined;

/** Default backoff: 5, 10, 20, 40 … s, at most 5 minutes. */
export function defaultRetryDelaySeconds(failures: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, failures - 1));
}

/** A failure no retry can fix: moved to the DLQ at once. */
function deadLetterNow(error: unknown): DeadLetter | undefined {
  if (error instanceof PoisonMessageError) {
    return { reason: isSchemaMismatch(error) ? 'schema-mismatch' : (error.reason as Exclude<typeof error.reason, 'invalid-event'>), detail: error.detail };
  }
  if (error instanceof WriteOutcomeUnknownError) return { reason: 'write-outcome-unknown', detail: error.message };
  return undefined;
}

/** A known event type whose data fails its schema (events.ts validation). */
export function isSchemaMismatch(error: unknown): boolean {
  return error instanceof PoisonMessageError && error.reason === 'invalid-event';
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
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const retryDelaySeconds = options.retryDelaySeconds ?? defaultRetryDelaySeconds;
  const { queue, attempts } = options;
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
    /** Records that failed here (not merely held back), with the backoff before they come back. */
    const ownFailures = new Map<string, number | undefined>();

    /** Dead-letters a record; false when the DLQ send failed (the record is then retried). */
    const sendToDeadLetters = async (record: SQSRecord, letter: DeadLetter, logger: ConsumerLogger, sourceId: string | undefined): Promise<boolean> => {
      if (queue === undefined) return false;
      try {
        await queue.deadLetter(record, { ...letter, ...(options.route === undefined ? {} : { route: options.route }) });
      } catch (sendError) {
        logger.error(`could not move message ${record.messageId} to the DLQ (${errorText(sendError)}); it is retried instead`, { reason: letter.reason });
        return false;
      }
      metrics.count(CONSUMER_METRICS.deadLettered, sourceId);
      return true;
    };

    const recordHandler = async (record: SQSRecord): Promise<void> => {
      const receiveCount = receiveCountOf(record);
      const groupId = record.attributes.MessageGroupId;
      const recordLogger = baseLogger.child({ messageId: record.messageId, receiveCount, ...(groupId === undefined ? {} : { messageGroupId: groupId }) });
      let sourceId: string | undefined;
      let eventKey: string | undefined;
      try {
        const envelope = await readEnvelope(record.body, options.payloads);
        sourceId = envelope.sourceId;
        const raw = envelope.event;
        eventKey = idempotencyKey(sourceId, raw.eventId);
        const logger = recordLogger.child({ sourceId, eventId: raw.eventId, type: raw.type });
        const validation = validateKnownEvent(raw);
        if (validation !== undefined && !validation.ok) {
          throw new PoisonMessageError('invalid-event', `${raw.type} #${raw.eventId} does not match its schema: ${validation.issues.join('; ')}`);
        }
        const typed = validation?.event;
        const handler = pickHandler(raw.type);
        const lambdaDeadline = now() + lambdaContext.getRemainingTimeInMillis();
        const direct = clients.callerFor(sourceId, envelope.portal, () => lambdaDeadline - margin);
        const eventSource = sourceId;
        const outbox: Outbox =
          options.outbox === undefined
            ? { write: (method, params, callOptions) => direct.call(method, params, callOptions) }
            : eventOutbox({
                store: options.outbox,
                caller: direct,
                sourceId,
                eventId: raw.eventId,
                logger,
                onReplay: () => metrics.count(CONSUMER_METRICS.outboxReplays, eventSource),
              });
        const bitrix24: Bitrix24Caller = {
          portal: direct.portal,
          call: (method, params, callOptions) =>
            (callOptions?.methodKind ?? methodKind(method)) === 'write' ? outbox.write(method, params, callOptions) : direct.call(method, params, callOptions),
        };
        const voice = createBotVoice({
          event: raw,
          sourceId,
          sources: options.voiceSources ?? noVoiceSources,
          writes: outbox,
          calls: direct,
          ...(options.typing === undefined ? {} : { typing: options.typing }),
          onTypingError: (error) => logger.warn(`typing indicator not sent: ${errorText(error)}`),
        });
        const ctx: ConsumerContext = {
          reply: (textOrFields, replyOptions) => voice.reply(textOrFields, replyOptions),
          typing: (statusCode) => voice.typing(statusCode),
          read: () => voice.read(),
          react: (reaction) => voice.react(reaction),
          edit: (messageId, textOrFields, editOptions) => voice.edit(messageId, textOrFields, editOptions),
          envelope,
          sourceId,
          portal: envelope.portal,
          receivedAt: envelope.receivedAt,
          route: options.route,
          delivery: { messageId: record.messageId, receiveCount, messageGroupId: groupId },
          logger,
          bitrix24,
          outbox,
          remainingTimeMs: () => lambdaContext.getRemainingTimeInMillis(),
          lambdaContext,
        };
        const userHandler = Object.hasOwn(options.handlers, raw.type) && typed !== undefined;
        const ran = await runOnce(
          eventKey,
          async () => {
            try {
              await handler(userHandler ? typed : raw, ctx);
            } finally {
              voice.finish(); // the handler returned: no typing indicator outlives it
            }
          },
          lambdaContext,
        );
        if (ran) {
          metrics.count(CONSUMER_METRICS.eventsHandled, sourceId);
        } else {
          metrics.count(CONSUMER_METRICS.duplicatesSkipped, sourceId);
          logger.info(`duplicate of ${sourceId}#${raw.eventId} skipped: it was already handled`);
        }
      } catch (error) {
        const attributes = sourceId === undefined ? {} : { sourceId };
        const immediate = deadLetterNow(error);
        if (immediate !== undefined) {
          if (error instanceof PoisonMessageError) {
            metrics.count(CONSUMER_METRICS.poisonMessages, sourceId);
            if (isSchemaMismatch(error)) metrics.count(CONSUMER_METRICS.schemaMismatch, sourceId);
          } else {
            metrics.count(CONSUMER_METRICS.writeOutcomeUnknown, sourceId);
          }
          const what = error instanceof PoisonMessageError ? `poison message ${record.messageId} (${error.reason}): ${error.detail}` : `message ${record.messageId}: ${errorText(error)}`;
          if (await sendToDeadLetters(record, immediate, recordLogger, sourceId)) {
            recordLogger.error(`${what}; moved to the DLQ (${immediate.reason}), the chat carries on`, { reason: error instanceof PoisonMessageError ? error.reason : immediate.reason, ...attributes });
            return;
          }
          recordLogger.error(`${what}; delivery ${receiveCount}, it goes to the DLQ after maxReceiveCount`, { reason: error instanceof PoisonMessageError ? error.reason : immediate.reason, ...attributes });
          ownFailures.set(record.messageId, undefined);
          throw error;
        }
        if (error instanceof IdempotencyAlreadyInProgressError) {
          ownFailures.set(record.messageId, undefined);
          recordLogger.warn(`event ${record.messageId} is being handled by another invocation; retried after the visibility timeout`);
          throw error;
        }
        metrics.count(CONSUMER_METRICS.handlerFailures, sourceId);
        let failures: number | undefined;
        if (attempts !== undefined) {
          try {
            failures = await attempts.recordFailure(eventKey ?? `message#${record.messageId}`);
          } catch (countError) {
            recordLogger.warn(`could not count the failed attempt (${errorText(countError)}); the record is retried`);
          }
        }
        if (failures !== undefined && failures >= maxAttempts && queue !== undefined) {
          const letter: DeadLetter = { reason: 'attempts-exhausted', detail: errorText(error), attempts: failures };
          if (await sendToDeadLetters(record, letter, recordLogger, sourceId)) {
            await attempts?.clear(eventKey ?? `message#${record.messageId}`).catch(() => undefined);
            recordLogger.error(`handler failed for message ${record.messageId} ${failures} times (last: ${errorText(error)}); moved to the DLQ (attempts-exhausted), the chat carries on`, {
              error: errorText(error),
              ...attributes,
            });
            return;
          }
        }
        const delay = failures === undefined ? undefined : retryDelaySeconds(failures);
        ownFailures.set(record.messageId, delay);
        recordLogger.error(
          `handler failed for message ${record.messageId} (delivery ${receiveCount}${failures === undefined ? '' : `, attempt ${failures} of ${maxAttempts}`}): ${errorText(error)}; retried${delay === undefined ? ' after the visibility timeout' : ` in ${delay} s`}, with the rest of its chat held back`,
          { error: errorText(error), ...attributes },
        );
        throw error;
      }
    };

    /**
     * Hides each chat's failed record and the successors held back behind it
     * for the failed record's backoff, so they come back together and in order
     * (and sooner than the queue's visibility timeout).
     */
    const backOff = async (records: readonly SQSRecord[], failed: ReadonlySet<string>): Promise<void> => {
      if (queue === undefined) return;
      const byDelay = new Map<number, SQSRecord[]>();
      const groupDelay = new Map<string, number | undefined>();
      for (const record of records) {
        if (!failed.has(record.messageId)) continue;
        const group = record.attributes.MessageGroupId ?? record.messageId;
        if (ownFailures.has(record.messageId) && !groupDelay.has(group)) groupDelay.set(group, ownFailures.get(record.messageId));
        const delay = groupDelay.get(group);
        if (delay === undefined) continue;
        byDelay.set(delay, [...(byDelay.get(delay) ?? []), record]);
      }
      for (const [delay, delayed] of byDelay) {
        try {
          await queue.delay(delayed, delay);
        } catch (error) {
          baseLogger.warn(`could not set the retry backoff of ${delayed.length} record(s) (${errorText(error)}); they come back after the visibility timeout`);
        }
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
      await backOff(event.Records, new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier)));
      return response;
    } finally {
      metrics.flush();
    }
  };
}
