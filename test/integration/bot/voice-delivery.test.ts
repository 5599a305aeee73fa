// ctx.reply under real redelivery: fauxqs FIFO queues driven like Lambda's
// event source mapping, DynamoDB Local for run-once and outbox records, real
// HTTP to the portal simulator (issue 12 §1, "exactly once"). A handler that
// crashes after its reply is delivered again; the reply is not posted again.
// A reset after the portal accepted the send dead-letters the event
// (write-outcome-unknown) with one message at the portal.
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Bitrix24Client, createBitrix24Client } from '../../../functions/bitrix24/index.js';
import { createDynamoDbAttemptCounter } from '../../../functions/consumers/attempts.js';
import { botTokenCaller } from '../../../functions/consumers/bot-token.js';
import { type ConsumerHandlers, createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';
import { createDynamoDbOutboxStore } from '../../../functions/consumers/outbox.js';
import { DEAD_LETTER_ATTRIBUTES, sqsRecordQueue } from '../../../functions/consumers/record-queue.js';
import { voiceSourcesFromConfig } from '../../../functions/consumers/voice-sources.js';
import { type RunningSqsEventSource, startSqsEventSource } from '../../../functions/local/lambda-sqs-event-source.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../../../functions/local/provision.js';
import type { InlineEnvelope } from '../../../functions/shared/envelope.js';
import { CONSUMER_METRICS } from '../../../functions/shared/observability.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { type PortalSimulator, startPortalSimulator } from '../../../functions/simulator/index.js';
import { rigClients, uniqueName } from '../../setup/rig.js';
import { capturingLogger, countingMetrics } from '../../unit/consumers/factories.js';
import { depth, drain, eventIdOf, outgoing, queuePair, send, waitFor } from '../delivery/harness.js';

const { dynamoDb, sqs, s3 } = rigClients();
let sim: PortalSimulator;
let pipeline: ProvisionedPipeline;
let client: Bitrix24Client;
let bot: { botId: number; botToken: string };
let boris: number;
const running: RunningSqsEventSource[] = [];
const SOURCE = 'support-bot';

beforeAll(async () => {
  sim = await startPortalSimulator({ rateLimit: false });
  pipeline = await provisionLocalPipeline({ prefix: uniqueName('vd'), dynamoDb, sqs, s3 });
  const ann = sim.addUser({ name: 'Ann Lee' }).id;
  boris = sim.addUser({ name: 'Boris Petrov' }).id;
  bot = sim.registerBot(ann, { code: 'support', name: 'Support' });
  client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: sim.createWebhook(ann) }, sleep: () => Promise.resolve() });
});

afterAll(async () => {
  await Promise.all(running.map((source) => source.stop()));
  await client.close();
  await sim.stop();
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

function consumer(queueUrl: string, dlqUrl: string, handlers: ConsumerHandlers) {
  const { logger } = capturingLogger();
  const { metrics, totals } = countingMetrics();
  const handler = createConsumerHandler({
    handlers,
    logger,
    metrics,
    runOnce: createDynamoDbRunOnce({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    outbox: createDynamoDbOutboxStore({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    queue: sqsRecordQueue({ sqs, queueUrl, deadLetterQueueUrl: dlqUrl }),
    attempts: createDynamoDbAttemptCounter({ tableName: pipeline.idempotencyTableName, dynamoDb }),
    maxAttempts: 3,
    retryDelaySeconds: () => 1,
    // As the local runtime wires it: the portal client, the bot's token added to asBot calls.
    clientFactory: () => botTokenCaller(client, { sourceId: SOURCE, auth: 'webhook', botToken: bot.botToken }),
    voiceSources: voiceSourcesFromConfig([{ id: SOURCE, kind: 'bot', auth: 'webhook', botId: bot.botId }]),
  });
  return { handler, totals };
}

async function start(queueUrl: string, handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>) {
  const source = await startSqsEventSource({ sqs, queueUrl, handler, visibilityTimeoutSeconds: 1, waitTimeSeconds: 1, functionTimeoutMs: 10_000 });
  running.push(source);
  return source;
}

function borisSays(text: string): InlineEnvelope {
  const said = sim.say({ fromUserId: boris, dialogId: String(bot.botId), text });
  const event: RawBitrixEvent | undefined = sim.pendingEvents({ botId: bot.botId }).find((e) => (e.data as { message?: { id?: number } }).message?.id === said.messageId);
  if (event === undefined) throw new Error('the bot got no event');
  return { schemaVersion: 1, sourceId: SOURCE, portal: sim.portalHost, receivedAt: new Date().toISOString(), event };
}

const postedToBoris = (text: string) => sim.sentMessages.filter((m) => m.botId === bot.botId && m.dialogId === String(boris) && m.text === text);

describe('ctx.reply under redelivery (fauxqs + DynamoDB Local)', () => {
  it('a handler that crashes after replying is delivered again: the reply is posted once, the retry gets the recorded message id', async () => {
    const { queueUrl, dlqUrl } = await queuePair(sqs, 10);
    const ids: (number | undefined)[] = [];
    const { handler, totals } = consumer(queueUrl, dlqUrl, {
      ONIMBOTV2MESSAGEADD: async (_event, ctx) => {
        const [sent] = await ctx.reply('your ticket is #42');
        ids.push(sent?.messageId);
        if (ids.length === 1) throw new Error('crashed after replying');
      },
    });
    await send(sqs, queueUrl, [outgoing(borisSays('open a ticket'))]);

    await start(queueUrl, handler);
    await waitFor('the handler ran twice', () => ids.length === 2);
    await waitFor('queue empty', async () => (await depth(sqs, queueUrl)) === 0);

    expect(postedToBoris('your ticket is #42')).toHaveLength(1);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[0]).toBe(postedToBoris('your ticket is #42')[0]?.id);
    expect(totals.get(CONSUMER_METRICS.outboxReplays)).toBe(1);
  });

  it('a reset after the portal accepted the send: one message, the event dead-lettered as write-outcome-unknown, the chat carries on', async () => {
    const { queueUrl, dlqUrl } = await queuePair(sqs, 10);
    let runs = 0;
    const { handler } = consumer(queueUrl, dlqUrl, {
      ONIMBOTV2MESSAGEADD: async (event, ctx) => {
        runs += 1;
        await ctx.reply(`answer to ${(event.data.message as { text: string }).text}`);
      },
    });
    sim.faults.inject({ method: 'imbot.v2.Chat.Message.send', kind: 'reset' });
    const lost = borisSays('first');
    const next = borisSays('second');
    await send(sqs, queueUrl, [outgoing(lost), outgoing(next)]);

    await start(queueUrl, handler);
    await waitFor('the first event in the DLQ', async () => (await depth(sqs, dlqUrl)) === 1);
    await waitFor('queue empty', async () => (await depth(sqs, queueUrl)) === 0);

    expect(postedToBoris('answer to first')).toHaveLength(1);
    expect(postedToBoris('answer to second')).toHaveLength(1);
    expect(runs).toBe(2);
    const dead = await drain(sqs, dlqUrl);
    expect(dead.map((m) => eventIdOf(m.Body))).toEqual([lost.event.eventId]);
    expect(dead[0]?.MessageAttributes?.[DEAD_LETTER_ATTRIBUTES.reason]?.StringValue).toBe('write-outcome-unknown');
  });
});
