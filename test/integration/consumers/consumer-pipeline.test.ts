// The consumer framework end to end on the real local rig: messages delivered
// by fauxqs (real-FIFO batching: up to 10 of one chat per receive) through the
// local Lambda SQS event source, idempotency records in DynamoDB Local, DLQs
// through each queue's redrive policy (these consumers are built without their
// own DLQ hands; test/integration/delivery covers those).
import { GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsumerHandler, type ConsumerHandlers } from '../../../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce, MIN_RECORD_TTL_SECONDS } from '../../../functions/consumers/idempotency.js';
import { createConsumerHandlerFromEnv } from '../../../functions/consumers/lambda-consumer.js';
import { s3PayloadStore } from '../../../functions/consumers/s3-payload-store.js';
import { startSqsEventSource, type RunningSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { type ClaimCheckEnvelope, deduplicationId, type InlineEnvelope, messageGroupId } from '../../../functions/shared/envelope.js';
import { CONSUMER_METRICS } from '../../../functions/shared/observability.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger, countingMetrics, envelopeOf, messageAddIn, rawEvent } from '../../unit/consumers/factories.js';

const { dynamoDb, sqs, s3 } = rigClients();
let pipeline: ProvisionedPipeline;
const running: RunningSqsEventSource[] = [];

beforeAll(async () => {
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('cons'), dynamoDb, sqs, s3 });
});

afterAll(async () => {
  await Promise.all(running.map((source) => source.stop()));
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A FIFO queue and its DLQ with a fast redrive: maxReceiveCount 2. */
async function queuePair(maxReceiveCount = 2): Promise<{ queueUrl: string; dlqUrl: string }> {
  const name = uniqueName('cq');
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }));
  const dlqUrl = dlq.QueueUrl ?? '';
  const arn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn.Attributes?.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl };
}

interface Outgoing {
  readonly body: string;
  readonly groupId: string;
  readonly dedupId: string;
}

function outgoing(envelope: InlineEnvelope, dedupSuffix = ''): Outgoing {
  return {
    body: JSON.stringify(envelope),
    groupId: messageGroupId(envelope.sourceId, envelope.event),
    dedupId: deduplicationId(envelope.sourceId, envelope.event.eventId) + dedupSuffix,
  };
}

async function send(queueUrl: string, messages: readonly Outgoing[]): Promise<void> {
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((message, index) => ({
        Id: String(index),
        MessageBody: message.body,
        MessageGroupId: message.groupId,
        MessageDeduplicationId: message.dedupId,
      })),
    }),
  );
  expect(sent.Successful).toHaveLength(messages.length);
}

async function drain(queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (let round = 0; round < 5; round += 1) {
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 30 }));
    const batch = received.Messages ?? [];
    if (batch.length === 0 && round > 0) break;
    bodies.push(...batch.map((message) => message.Body ?? ''));
  }
  return bodies;
}

async function visibleCount(queueUrl: string): Promise<number> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(attributes.Attributes?.ApproximateNumberOfMessages ?? '0') + Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? '0');
}

async function start(queueUrl: string, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>): Promise<RunningSqsEventSource> {
  const source = await startSqsEventSource({ sqs, queueUrl, handler, visibilityTimeoutSeconds: 1, waitTimeSeconds: 1, functionTimeoutMs: 10_000 });
  running.push(source);
  return source;
}

function consumer(handlers: ConsumerHandlers) {
  const { logger, lines } = capturingLogger();
  const { metrics, totals } = countingMetrics();
  const handler = createConsumerHandler({
    handlers,
    logger,
    metrics,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    payloads: s3PayloadStore(s3),
  });
  return { handler, lines, totals };
}

function counter() {
  const calls = new Map<number, number>();
  return {
    calls,
    add: (eventId: number) => calls.set(eventId, (calls.get(eventId) ?? 0) + 1),
    of: (eventId: number) => calls.get(eventId) ?? 0,
  };
}

describe.concurrent('consumer framework on fauxqs + DynamoDB Local', () => {
  it('runs the user function once for an event published twice and redelivered after a visibility timeout', async () => {
    const queueUrl = pipeline.queueUrls['message-add'] ?? '';
    const sourceId = uniqueName('dup');
    const seen = counter();
    const { handler, totals, lines } = consumer({
      ONIMV2MESSAGEADD: (event) => {
        seen.add(event.eventId);
        return Promise.resolve();
      },
    });
    // The first invocation crashes after the user code ran and before the
    // deletes (as a Lambda timeout would): both records come back.
    let crashed = false;
    const crashingOnce = async (event: SQSEvent, context: Context) => {
      const response = await handler(event, context);
      if (!crashed) {
        crashed = true;
        throw new Error('simulated crash after processing');
      }
      return response;
    };
    const a = envelopeOf(messageAddIn(5, 1001), sourceId);
    const b = envelopeOf(messageAddIn(7, 1002), sourceId);
    // Same event again under another dedup id: the poller re-published it after SQS's 5-minute window.
    await send(queueUrl, [outgoing(a), outgoing(b), outgoing(a, ':republished')]);

    const source = await start(queueUrl, crashingOnce);
    await waitFor('all three messages deleted', () => source.stats.deleted === 3);

    expect(seen.of(1001)).toBe(1);
    expect(seen.of(1002)).toBe(1);
    expect(source.stats.invocationErrors).toBe(1);
    expect(totals.get(CONSUMER_METRICS.eventsHandled)).toBe(2);
    expect(totals.get(CONSUMER_METRICS.duplicatesSkipped)).toBe(3);
    expect(lines.filter((line) => line.message.includes('duplicate of'))).toHaveLength(3);
    expect(lines.some((line) => line.attributes.receiveCount === 2 && line.attributes.eventId === 1001)).toBe(true);
    // The record is keyed by source + eventId and kept for at least 24 h.
    const items = await dynamoDb.send(new ScanCommand({ TableName: pipeline.idempotencyTableName }));
    const records = (items.Items ?? []).filter((item) => item.status?.S === 'COMPLETED');
    expect(records.length).toBeGreaterThanOrEqual(2);
    for (const record of records) {
      expect(Number(record.expiration?.N)).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + MIN_RECORD_TTL_SECONDS - 60);
    }
  });

  it('retries a failing record, dead-letters it after maxReceiveCount, and does not reprocess the rest of the batch', async () => {
    const { queueUrl, dlqUrl } = await queuePair(2);
    const sourceId = uniqueName('fail');
    const seen = counter();
    const { handler, totals, lines } = consumer({
      ONIMV2MESSAGEADD: (event) => {
        seen.add(event.eventId);
        if (event.eventId === 2001) return Promise.reject(new Error('downstream said no'));
        return Promise.resolve();
      },
    });
    const events = [messageAddIn(1, 2001), messageAddIn(2, 2002), messageAddIn(3, 2003)].map((event) => envelopeOf(event, sourceId));
    await send(queueUrl, events.map((envelope) => outgoing(envelope)));

    const source = await start(queueUrl, handler);
    await waitFor('the failing record in the DLQ', async () => (await visibleCount(dlqUrl)) === 1);
    await waitFor('source queue empty', async () => (await visibleCount(queueUrl)) === 0);

    expect(seen.of(2001)).toBe(2);
    expect(seen.of(2002)).toBe(1);
    expect(seen.of(2003)).toBe(1);
    expect(totals.get(CONSUMER_METRICS.duplicatesSkipped)).toBeUndefined();
    expect(totals.get(CONSUMER_METRICS.handlerFailures)).toBe(2);
    expect(source.stats.deleted).toBe(2);
    const dead = await drain(dlqUrl);
    expect(dead.map((body) => (JSON.parse(body) as { event: { eventId: number } }).event.eventId)).toEqual([2001]);
    expect(lines.filter((line) => line.level === 'error' && line.message.includes('downstream said no'))).toHaveLength(2);
  });

  it('keeps one chat in order when a record fails mid-stream, while another chat carries on', async () => {
    const { queueUrl } = await queuePair(5);
    const sourceId = uniqueName('order');
    const completed: number[] = [];
    const completedIn = new Map<number, string>();
    let failedIn = '';
    const seen = counter();
    const { handler } = consumer({
      ONIMV2MESSAGEADD: (event, ctx) => {
        seen.add(event.eventId);
        if (event.eventId === 3002 && failedIn === '') {
          failedIn = ctx.lambdaContext.awsRequestId;
          return Promise.reject(new Error('transient failure'));
        }
        completed.push(event.eventId);
        completedIn.set(event.eventId, ctx.lambdaContext.awsRequestId);
        return Promise.resolve();
      },
    });
    const chat9 = [3001, 3002, 3003, 3004].map((id) => envelopeOf(messageAddIn(9, id), sourceId));
    const chat10 = [3101, 3102, 3103].map((id) => envelopeOf(messageAddIn(10, id), sourceId));
    await send(queueUrl, [chat9[0], chat10[0], chat9[1], chat10[1], chat9[2], chat10[2], chat9[3]].flatMap((e) => (e === undefined ? [] : [outgoing(e)])));

    const source = await start(queueUrl, handler);
    await waitFor('all seven events handled', () => completed.length === 7);
    await waitFor('queue empty', async () => (await visibleCount(queueUrl)) === 0);

    expect(completed.filter((id) => id < 3100)).toEqual([3001, 3002, 3003, 3004]);
    expect(completed.filter((id) => id > 3100)).toEqual([3101, 3102, 3103]);
    // Real FIFO batches hold one chat: chat10 went on in the next batch, while
    // chat9 waited for its failed record's retry.
    expect(completedIn.get(3102)).not.toBe(failedIn);
    expect(completed.indexOf(3103)).toBeLessThan(completed.indexOf(3002));
    expect(seen.of(3001)).toBe(1);
    expect(seen.of(3002)).toBe(2);
    expect(source.stats.deleted).toBe(7);
  });

  it('sends poison messages to the DLQ with a log line naming why, and nothing else is affected', async () => {
    const { queueUrl, dlqUrl } = await queuePair(2);
    const sourceId = uniqueName('poison');
    const seen = counter();
    const { handler, lines, totals } = consumer({
      ONIMV2MESSAGEADD: (event) => {
        seen.add(event.eventId);
        return Promise.resolve();
      },
    });
    const good = envelopeOf(messageAddIn(20, 4001), sourceId);
    const wrongType = envelopeOf(rawEvent('ONIMV2MESSAGEADD', 4002, { ...messageAddIn(21, 4002).data as object, message: { id: 'abc', chatId: 21, authorId: 7, text: 'x' } }), sourceId);
    const futureVersion = { ...envelopeOf(messageAddIn(22, 4003), sourceId), schemaVersion: 99 };
    await send(queueUrl, [
      { body: '{not json', groupId: `${sourceId}:chat23`, dedupId: 'p1' },
      outgoing(wrongType),
      { body: JSON.stringify(futureVersion), groupId: `${sourceId}:chat22`, dedupId: 'p3' },
      outgoing(good),
    ]);

    await start(queueUrl, handler);
    await waitFor('three poison messages in the DLQ', async () => (await visibleCount(dlqUrl)) === 3);
    await waitFor('source queue empty', async () => (await visibleCount(queueUrl)) === 0);

    expect(seen.of(4001)).toBe(1);
    expect(seen.of(4002)).toBe(0);
    const poison = lines.filter((line) => line.level === 'error' && line.message.startsWith('poison message'));
    const reasons = new Set(poison.map((line) => line.attributes.reason));
    expect(reasons).toEqual(new Set(['invalid-json', 'invalid-event', 'unknown-schema-version']));
    expect(poison.find((line) => line.attributes.reason === 'invalid-event')?.message).toContain('data.message.id');
    expect(poison.find((line) => line.attributes.reason === 'unknown-schema-version')?.message).toContain('schemaVersion 99');
    expect(totals.get(CONSUMER_METRICS.poisonMessages)).toBe(6);
    expect(totals.get(CONSUMER_METRICS.eventsHandled)).toBe(1);
    const dead = await drain(dlqUrl);
    expect(dead).toHaveLength(3);
    expect(dead).toContain('{not json');
  });

  it('resolves a claim check from the payload bucket and hands the typed event to the handler', async () => {
    const { queueUrl } = await queuePair(2);
    const sourceId = uniqueName('claim');
    const big = envelopeOf(messageAddIn(30, 5001, 'x'.repeat(300_000)), sourceId);
    const key = `events/${sourceId}/5001.json`;
    await s3.send(new PutObjectCommand({ Bucket: pipeline.payloadBucketName, Key: key, Body: JSON.stringify(big) }));
    const claim: ClaimCheckEnvelope = {
      schemaVersion: 1,
      sourceId,
      portal: big.portal,
      receivedAt: big.receivedAt,
      eventRef: { bucket: pipeline.payloadBucketName, key, eventId: 5001, type: 'ONIMV2MESSAGEADD', sizeBytes: 300_100 },
    };
    const texts: number[] = [];
    const envelopeIds: number[] = [];
    const { handler } = consumer({
      ONIMV2MESSAGEADD: (event, ctx) => {
        texts.push(event.data.message.text.length);
        envelopeIds.push(ctx.envelope.event.eventId);
        return Promise.resolve();
      },
    });
    await send(queueUrl, [{ body: JSON.stringify(claim), groupId: `${sourceId}:chat30`, dedupId: 'c1' }]);

    const source = await start(queueUrl, handler);
    await waitFor('claim check handled', () => source.stats.deleted === 1);

    expect(texts).toEqual([300_000]);
    expect(envelopeIds).toEqual([5001]);
  });

  it('marks an event in progress only until the invocation would have timed out', async () => {
    const sourceId = uniqueName('inprog');
    const runOnce = createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb, keyPrefix: sourceId });
    const context = { getRemainingTimeInMillis: () => 4_000 } as Context;
    let expiresAt = 0;
    await runOnce(`${sourceId}#1`, async () => {
      const items = await dynamoDb.send(new ScanCommand({ TableName: pipeline.idempotencyTableName }));
      const mine = (items.Items ?? []).find((item) => item.id?.S?.startsWith(`${sourceId}#`));
      expect(mine?.status?.S).toBe('INPROGRESS');
      expiresAt = Number(mine?.in_progress_expiration?.N);
    }, context);

    expect(expiresAt).toBeGreaterThan(Date.now() - 10_000);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 4_000);
    const items = await dynamoDb.send(new ScanCommand({ TableName: pipeline.idempotencyTableName }));
    const mine = (items.Items ?? []).find((item) => item.id?.S?.startsWith(`${sourceId}#`));
    const stored = await dynamoDb.send(new GetItemCommand({ TableName: pipeline.idempotencyTableName, Key: { id: { S: mine?.id?.S ?? '' } } }));
    expect(stored.Item?.status?.S).toBe('COMPLETED');
  });

  it('the default handler, wired from the environment, logs a one-line summary per event of any type', async () => {
    const { queueUrl } = await queuePair(2);
    const sourceId = uniqueName('default');
    const { logger, lines } = capturingLogger();
    const { metrics, totals } = countingMetrics();
    const handler = createConsumerHandlerFromEnv(
      {},
      {
        env: {
          ROUTE: 'unknown',
          IDEMPOTENCY_TABLE_NAME: pipeline.idempotencyTableName,
          PAYLOAD_BUCKET_NAME: pipeline.payloadBucketName,
          SOURCES: JSON.stringify([{ id: sourceId, kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' }]),
        },
        logger,
        metrics,
        dynamoDb,
        s3,
      },
    );
    const newType = envelopeOf(rawEvent('ONIMV9BRANDNEW', 6001, { chat: { id: 40, dialogId: 'chat40' } }), sourceId);
    const join = envelopeOf(rawEvent('ONIMV2JOINCHAT', 6002), sourceId);
    await send(queueUrl, [outgoing(newType), outgoing(join)]);

    const source = await start(queueUrl, handler);
    await waitFor('both events handled', () => source.stats.deleted === 2);

    const summaries = lines.filter((line) => line.level === 'info').map((line) => `${line.message} [${String(line.attributes.route)}]`);
    expect(summaries.sort()).toEqual([
      `ONIMV2JOINCHAT #6002 from ${sourceId} (example.bitrix24.com): chat chat5, user 7 [unknown]`,
      `ONIMV9BRANDNEW #6001 from ${sourceId} (example.bitrix24.com): chat chat40 [unknown]`,
    ]);
    expect(totals.get(CONSUMER_METRICS.eventsHandled)).toBe(2);
  });
});
