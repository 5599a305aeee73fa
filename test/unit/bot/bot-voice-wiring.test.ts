// ctx.reply wired from the Lambda environment (no I/O): createConsumerHandlerFromEnv
// answers as the bot SOURCES names (botId), as the user for a user source, and
// sends the bot's writes with `asBot` so the client adds the token.
import type { Context, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createConsumerHandlerFromEnv } from '../../../functions/consumers/lambda-consumer.js';
import { runAlways } from '../../../functions/consumers/idempotency.js';
import type { Bitrix24Caller, CallOptions } from '../../../functions/consumers/source-clients.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { capturingLogger, countingMetrics, envelopeOf, messageAddIn } from '../consumers/factories.js';

const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'req' } as Context;

function recordOf(event: RawBitrixEvent, sourceId: string): SQSRecord {
  return {
    messageId: `m-${sourceId}-${event.eventId}`,
    receiptHandle: 'r',
    body: JSON.stringify(envelopeOf(event, sourceId)),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: '1', SenderId: 'x', ApproximateFirstReceiveTimestamp: '1', MessageGroupId: `${sourceId}:chat5` },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q.fifo',
    awsRegion: 'us-east-1',
  };
}

describe('ctx.reply from the Lambda environment', () => {
  it('a bot source in SOURCES answers as its botId (even on a user event it reads withUserEvents); a user source with im.message.add', async () => {
    const calls: { sourceId: string; method: string; params: Record<string, unknown> | undefined; options: CallOptions | undefined }[] = [];
    const clientFactory = (sourceId: string): Bitrix24Caller => ({
      portal: 'example.bitrix24.com',
      call: <T>(method: string, params?: Record<string, unknown>, options?: CallOptions) => {
        calls.push({ sourceId, method, params, options });
        return Promise.resolve({ result: { id: 7 } as T });
      },
    });
    const { logger } = capturingLogger();
    const handler = createConsumerHandlerFromEnv(
      { ONIMV2MESSAGEADD: async (_event, ctx) => void (await ctx.reply('ok')) },
      {
        env: {
          SOURCES: JSON.stringify([
            { id: 'bot-src', kind: 'bot', portal: 'example.bitrix24.com', auth: 'webhook', botId: 42 },
            { id: 'user-src', kind: 'user', portal: 'example.bitrix24.com', auth: 'oauth' },
          ]),
        },
        clientFactory,
        runOnce: runAlways,
        logger,
        metrics: countingMetrics().metrics,
      },
    );

    const response = await handler({ Records: [recordOf(messageAddIn(5, 1), 'bot-src'), recordOf(messageAddIn(6, 2), 'user-src')] }, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(calls.map(({ sourceId, method, params }) => ({ sourceId, method, params }))).toEqual([
      { sourceId: 'bot-src', method: 'imbot.v2.Chat.Message.send', params: { botId: 42, dialogId: 'chat5', fields: { message: 'ok' } } },
      { sourceId: 'user-src', method: 'im.message.add', params: { DIALOG_ID: 'chat6', MESSAGE: 'ok' } },
    ]);
    expect(calls.map((call) => call.options?.asBot === true)).toEqual([true, false]);
  });
});
