// Issue 11 §1 on real-FIFO batching (fauxqs patched to hand out up to 10
// messages of one chat per receive, as SQS does): a poison message, or a
// record whose handler keeps failing, goes to the route's DLQ alone; the
// healthy messages of its chat behind it are handled, in order, and never
// dead-lettered because of it.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbAttemptCounter } from '../../../functions/consumers/attempts.js';
import { type ConsumerHandlers, createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';
import { DEAD_LETTER_ATTRIBUTES, sqsRecordQueue } from '../../../functions/consumers/record-queue.js';
import { startSqsEventSource, type RunningSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { CONSUMER_METRICS } from '../../../functions/shared/observability.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger, countingMetrics, envelopeOf, messageAddIn, rawEvent } from '../../unit/consumers/factories.js';
import { depth, drain, eventIdOf, outgoing, queuePair, send, waitFor } from './harness.js';

const { dynamoDb, sqs, s3 } = rigClients();
let pipeline: ProvisionedPipeline;
const running: RunningSqsEventSource[] = [];

beforeAll(async () => {
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('poi'), dynamoDb, sqs, s3 });
});

afterAll(async () => {
  await Promise.all(running.map((source) => source.stop()));
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

interface Handled {
  readonly eventId: number;
  readonly requestId: string;
}

function consumer(queueUrl: string, dlqUrl: string, handlers: ConsumerHandlers, maxAttempts = 2) {
  const { logger, lines } = capturingLogger();
  const { metrics, totals } = countingMetrics();
  const handler = createConsumerHandler({
    handlers,
    logger,
    metrics,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    queue: sqsRecordQueue({ sqs, queueUrl, deadLetterQueueUrl: dlqUrl }),
    attempts: createDynamoDbAttemptCounter({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    maxAttempts,
    retryDelaySeconds: () => 1,
  });
  return { handler, lines, totals };
}

async function start(queueUrl: string, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>, batches: number[][]) {
  const recording = async (event: SQSEvent, context: Context) => {
    batches.push(event.Records.map((record) => eventIdOf(record.body) ?? -1));
    return await handler(event, context);
  };
  const source = await startSqsEventSource({ sqs, queueUrl, handler: recording, visibilityTimeoutSeconds: 1, waitTimeSeconds: 1, functionTimeoutMs: 10_000 });
  running.push(source);
  return source;
}

describe.concurrent('poison travels alone (real-FIFO batches)', () => {
  it('moves a poison message to the DLQ itself, with its reason, and handles the rest of its chat in the same batch', async () => {
    const { queueUrl, dlqUrl } = await queuePair(sqs, 3);
    const sourceId = uniqueName('poison');
    const handled: Handled[] = [];
    const { handler, totals, lines } = consumer(queueUrl, dlqUrl, {
      ONIMV2MESSAGEADD: (event, ctx) => {
        handled.push({ eventId: event.eventId, requestId: ctx.lambdaContext.awsRequestId });
        return Promise.resolve();
      },
    });
    const healthy = [7002, 7003, 7004, 7005].map((id) => envelopeOf(messageAddIn(40, id), sourceId));
    const group = outgoing(healthy[0] ?? envelopeOf(messageAddIn(40, 0))).groupId;
    await send(sqs, queueUrl, [{ body: '{not json', groupId: group, dedupId: 'poison-1' }, ...healthy.map(outgoing)]);

    const batches: number[][] = [];
    const source = await start(queueUrl, handler, batches);
    await waitFor('the chat handled', () => handled.length === 4);
    await waitFor('source queue empty', async () => (await depth(sqs, queueUrl)) === 0);

    // One receive gave the whole chat (real FIFO), and nothing had to come back.
    expect(batches[0]).toEqual([-1, 7002, 7003, 7004, 7005]);
    expect(handled.map((h) => h.eventId)).toEqual([7002, 7003, 7004, 7005]);
    expect(new Set(handled.map((h) => h.requestId)).size).toBe(1);
    expect(source.stats.invocations).toBe(1);
    const dead = await drain(sqs, dlqUrl);
    expect(dead.map((m) => m.Body)).toEqual(['{not json']);
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe('invalid-json');
    expect(totals.get(CONSUMER_METRICS.poisonMessages)).toBe(1);
    expect(lines.some((line) => line.level === 'error' && line.message.includes('moved to the DLQ'))).toBe(true);
  });

  it('dead-letters a known type that fails its schema at once, counts SchemaMismatch, and the chat carries on', async () => {
    const { queueUrl, dlqUrl } = await queuePair(sqs, 3);
    const sourceId = uniqueName('schema');
    const handled: number[] = [];
    const { handler, totals } = consumer(queueUrl, dlqUrl, {
      ONIMV2MESSAGEADD: (event) => {
        handled.push(event.eventId);
        return Promise.resolve();
      },
    });
    const bad = envelopeOf(rawEvent('ONIMV2MESSAGEADD', 7101, { ...(messageAddIn(41, 7101).data as object), message: { id: 'abc', chatId: 41, authorId: 7, text: 'x' } }), sourceId);
    const next = envelopeOf(messageAddIn(41, 7102), sourceId);
    await send(sqs, queueUrl, [outgoing(bad), outgoing(next)]);

    const batches: number[][] = [];
    await start(queueUrl, handler, batches);
    await waitFor('the next message handled', () => handled.length === 1);
    await waitFor('the bad one in the DLQ', async () => (await depth(sqs, dlqUrl)) === 1);

    expect(handled).toEqual([7102]);
    expect(totals.get(CONSUMER_METRICS.schemaMismatch)).toBe(1);
    const dead = await drain(sqs, dlqUrl);
    expect(dead.map((m) => eventIdOf(m.Body))).toEqual([7101]);
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe('schema-mismatch');
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.detail]?.StringValue).toContain('data.message.id');
  });

  it('a handler that keeps failing blocks its chat, then goes to the DLQ alone; its successors are handled in order, never dead-lettered', async () => {
    // maxReceiveCount 3 is a tight backstop: with the old consumer the four
    // healthy successors were returned with the failure every round and
    // reached the DLQ together with it.
    const { queueUrl, dlqUrl } = await queuePair(sqs, 3);
    const sourceId = uniqueName('keeps');
    const attemptsOfFirst: string[] = [];
    const handled: Handled[] = [];
    const { handler, totals } = consumer(queueUrl, dlqUrl, {
      ONIMV2MESSAGEADD: (event, ctx) => {
        if (event.eventId === 7201) {
          attemptsOfFirst.push(ctx.lambdaContext.awsRequestId);
          return Promise.reject(new Error('downstream keeps saying no'));
        }
        handled.push({ eventId: event.eventId, requestId: ctx.lambdaContext.awsRequestId });
        return Promise.resolve();
      },
    });
    const chat = [7201, 7202, 7203, 7204, 7205].map((id) => envelopeOf(messageAddIn(42, id), sourceId));
    await send(sqs, queueUrl, chat.map(outgoing));

    const batches: number[][] = [];
    await start(queueUrl, handler, batches);
    await waitFor('the healthy four handled', () => handled.length === 4);
    await waitFor('source queue empty', async () => (await depth(sqs, queueUrl)) === 0);

    expect(attemptsOfFirst).toHaveLength(2); // maxAttempts
    expect(handled.map((h) => h.eventId)).toEqual([7202, 7203, 7204, 7205]);
    // Order: nothing of the chat ran before the failing record's last attempt.
    expect(handled[0]?.requestId).toBe(attemptsOfFirst[1]);
    const dead = await drain(sqs, dlqUrl);
    expect(dead.map((m) => eventIdOf(m.Body))).toEqual([7201]);
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe('attempts-exhausted');
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.detail]?.StringValue).toContain('downstream keeps saying no');
    expect(totals.get(CONSUMER_METRICS.handlerFailures)).toBe(2);
    expect(totals.get(CONSUMER_METRICS.deadLettered)).toBe(1);
  });
});
