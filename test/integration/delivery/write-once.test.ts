// Issue 11 §3 over real HTTP to the portal simulator: a Bitrix24 write is
// never sent twice. The client retries a write only after failures known to
// happen before the portal acted; a reset after the portal posted the message
// (the answer lost) is a WriteOutcomeUnknownError, not a second post. The
// outbox keeps a re-run of the handler from repeating an acknowledged write.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Bitrix24Client, createBitrix24Client, WriteOutcomeUnknownError } from '../../../functions/bitrix24/index.js';
import { createDynamoDbAttemptCounter } from '../../../functions/consumers/attempts.js';
import { type ConsumerHandlers, createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';
import { createDynamoDbOutboxStore, type OutboxStore } from '../../../functions/consumers/outbox.js';
import { DEAD_LETTER_ATTRIBUTES, sqsRecordQueue } from '../../../functions/consumers/record-queue.js';
import { startSqsEventSource, type RunningSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import { CONSUMER_METRICS } from '../../../functions/shared/observability.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger, countingMetrics, envelopeOf, messageAddIn } from '../../unit/consumers/factories.js';
import { depth, drain, eventIdOf, outgoing, queuePair, send, waitFor } from './harness.js';

const { dynamoDb, sqs, s3 } = rigClients();
let sim: PortalSimulator;
let webhookUrl: string;
let pipeline: ProvisionedPipeline;
const clients: Bitrix24Client[] = [];
const running: RunningSqsEventSource[] = [];

function client(): Bitrix24Client {
  // No waits between retries: the test is about how many requests go out.
  const created = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl }, sleep: () => Promise.resolve(), retry: { maxAttempts: 6 } });
  clients.push(created);
  return created;
}

const posted = (dialogId: string) => sim.sentMessages.filter((message) => message.dialogId === dialogId);

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  webhookUrl = sim.createWebhook(sim.addUser().id);
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('wo'), dynamoDb, sqs, s3 });
});

beforeEach(() => {
  sim.faults.clear();
});

afterAll(async () => {
  await Promise.all(running.map((source) => source.stop()));
  await Promise.all(clients.map((c) => c.close()));
  await sim.stop();
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

describe('the client sends a write once', () => {
  it('a reset after the portal posted the message: one message, WriteOutcomeUnknownError, no retry', async () => {
    sim.faults.inject({ method: 'im.message.add', kind: 'reset' });

    const call = client().call('im.message.add', { DIALOG_ID: 'chat901', MESSAGE: 'hello once' });

    await expect(call).rejects.toBeInstanceOf(WriteOutcomeUnknownError);
    expect(posted('chat901')).toHaveLength(1);
  });

  it('retries a write the portal refused for its rate limit (QUERY_LIMIT_EXCEEDED): it never ran, one message', async () => {
    sim.faults.inject({ method: 'im.message.add', kind: 'error', status: 503, code: 'QUERY_LIMIT_EXCEEDED', times: 2 });

    const answer = await client().call<number>('im.message.add', { DIALOG_ID: 'chat902', MESSAGE: 'after the limit' });

    expect(typeof answer.result).toBe('number');
    expect(posted('chat902')).toHaveLength(1);
  });

  it('still retries a read after a reset', async () => {
    sim.faults.inject({ method: 'im.v2.Event.get', kind: 'reset' });

    const answer = await client().call('im.v2.Event.get', {});

    expect(answer.result).toBeDefined();
    expect(sim.calls.filter((c) => c.method === 'im.v2.Event.get' && c.fault === 'reset')).toHaveLength(1);
  });
});

function consumer(queueUrl: string, dlqUrl: string, handlers: ConsumerHandlers, outbox: OutboxStore | undefined) {
  const { logger, lines } = capturingLogger();
  const { metrics, totals } = countingMetrics();
  const shared = client();
  const handler = createConsumerHandler({
    handlers,
    logger,
    metrics,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    queue: sqsRecordQueue({ sqs, queueUrl, deadLetterQueueUrl: dlqUrl }),
    attempts: createDynamoDbAttemptCounter({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    maxAttempts: 3,
    retryDelaySeconds: () => 1,
    clientFactory: () => shared,
    ...(outbox === undefined ? {} : { outbox }),
  });
  return { handler, lines, totals };
}

async function start(queueUrl: string, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) {
  const source = await startSqsEventSource({ sqs, queueUrl, handler, visibilityTimeoutSeconds: 1, waitTimeSeconds: 1, functionTimeoutMs: 10_000 });
  running.push(source);
  return source;
}

describe('the outbox: a re-run of a handler does not repeat an acknowledged write', () => {
  it('a handler that fails after its reply is retried: the reply is posted once, the retry gets the recorded answer', async () => {
    const { queueUrl, dlqUrl } = await queuePair(sqs, 10);
    const sourceId = uniqueName('outbox');
    const runs: { replayed: boolean | undefined; id: unknown }[] = [];
    const { handler, totals } = consumer(
      queueUrl,
      dlqUrl,
      {
        ONIMV2MESSAGEADD: async (event, ctx) => {
          const answer = (await ctx.bitrix24.call('im.message.add', { DIALOG_ID: 'chat903', MESSAGE: `reply to ${event.eventId}` })) as { result: unknown; replayed?: boolean };
          runs.push({ replayed: answer.replayed, id: answer.result });
          if (runs.length === 1) throw new Error('crashed after replying');
        },
      },
      createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    );
    await send(sqs, queueUrl, [outgoing(envelopeOf(messageAddIn(903, 9301), sourceId))]);

    await start(queueUrl, handler);
    await waitFor('the handler ran twice', () => runs.length === 2);
    await waitFor('queue empty', async () => (await depth(sqs, queueUrl)) === 0);

    expect(posted('chat903')).toHaveLength(1);
    expect(runs[0]?.replayed).toBeUndefined();
    expect(runs[1]).toEqual({ replayed: true, id: runs[0]?.id });
    expect(totals.get(CONSUMER_METRICS.outboxReplays)).toBe(1);
  });

  it('one reset on im.message.add while handling an event: one posted message, the event dead-lettered as write-outcome-unknown', async () => {
    const { queueUrl, dlqUrl } = await queuePair(sqs, 10);
    const sourceId = uniqueName('reset');
    let runs = 0;
    const { handler, totals } = consumer(
      queueUrl,
      dlqUrl,
      {
        ONIMV2MESSAGEADD: async (event, ctx) => {
          runs += 1;
          await ctx.bitrix24.call('im.message.add', { DIALOG_ID: 'chat904', MESSAGE: `echo ${event.eventId}` });
        },
      },
      createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    );
    sim.faults.inject({ method: 'im.message.add', kind: 'reset' });
    const next = envelopeOf(messageAddIn(904, 9402), sourceId);
    await send(sqs, queueUrl, [outgoing(envelopeOf(messageAddIn(904, 9401), sourceId)), outgoing(next)]);

    await start(queueUrl, handler);
    await waitFor('the first event in the DLQ', async () => (await depth(sqs, dlqUrl)) === 1);
    await waitFor('queue empty', async () => (await depth(sqs, queueUrl)) === 0);

    expect(posted('chat904').map((m) => m.text)).toEqual(['echo 9401', 'echo 9402']);
    expect(runs).toBe(2);
    expect(totals.get(CONSUMER_METRICS.writeOutcomeUnknown)).toBe(1);
    const dead = await drain(sqs, dlqUrl);
    expect(dead.map((m) => eventIdOf(m.Body))).toEqual([9401]);
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe('write-outcome-unknown');
  });
});
