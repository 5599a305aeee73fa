// The handler's decisions with fakes (no I/O): FIFO group skipping within one
// batch as Lambda delivers it from AWS SQS (several records of one group),
// routing to typed / fallback / default handlers, poison classification,
// duplicates, lazy Bitrix24 clients.
import type { Context, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createConsumerHandler, type ConsumerHandlers } from '../../../functions/consumers/consumer-handler.js';
import type { RunOnce } from '../../../functions/consumers/idempotency.js';
import type { Bitrix24Caller } from '../../../functions/consumers/source-clients.js';
import { messageGroupId } from '../../../functions/shared/envelope.js';
import type { RawBitrixEvent } from '../../../functions/shared/event-types.js';
import { CONSUMER_METRICS } from '../../../functions/shared/observability.js';
import { capturingLogger, countingMetrics, envelopeOf, messageAddIn, rawEvent } from './factories.js';

const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'req-1' } as Context;

function recordOf(event: RawBitrixEvent, body: string = JSON.stringify(envelopeOf(event))): SQSRecord {
  return {
    messageId: `m-${event.eventId}`,
    receiptHandle: `r-${event.eventId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1',
      SenderId: 'x',
      ApproximateFirstReceiveTimestamp: '1',
      MessageGroupId: messageGroupId('demo', event),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q.fifo',
    awsRegion: 'us-east-1',
  };
}

function inMemoryRunOnce(): RunOnce {
  const done = new Set<string>();
  return async (key, work) => {
    if (done.has(key)) return false;
    await work();
    done.add(key);
    return true;
  };
}

function setup(handlers: ConsumerHandlers, extra: { clientFactory?: (sourceId: string) => Bitrix24Caller } = {}) {
  const { logger, lines } = capturingLogger();
  const { metrics, totals, flushes } = countingMetrics();
  const handler = createConsumerHandler({ handlers, logger, metrics, runOnce: inMemoryRunOnce(), route: 'message-add', ...extra });
  return { handler, lines, totals, flushes };
}

describe('createConsumerHandler', () => {
  it('fails the rest of a chat after a failure in the batch and carries on with other chats', async () => {
    const handled: number[] = [];
    const { handler, lines } = setup({
      ONIMV2MESSAGEADD: (event) => {
        if (event.eventId === 2) return Promise.reject(new Error('boom'));
        handled.push(event.eventId);
        return Promise.resolve();
      },
    });
    const records = [messageAddIn(5, 1), messageAddIn(5, 2), messageAddIn(7, 10), messageAddIn(5, 3), messageAddIn(7, 11)].map((e) => recordOf(e));

    const response = await handler({ Records: records }, context);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-2' }, { itemIdentifier: 'm-3' }]);
    expect(handled).toEqual([1, 10, 11]);
    expect(lines.some((line) => line.message.startsWith('1 record(s) not attempted'))).toBe(true);
  });

  it('answers with every record failed, not an exception, when the whole batch fails', async () => {
    const { handler } = setup({ ONIMV2MESSAGEADD: () => Promise.reject(new Error('down')) });

    const response = await handler({ Records: [recordOf(messageAddIn(5, 1)), recordOf(messageAddIn(6, 2))] }, context);

    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['m-1', 'm-2']);
  });

  it('gives typed data to the type handler and the envelope to ctx', async () => {
    const seen: string[] = [];
    const { handler } = setup({
      ONIMV2MESSAGEADD: (event, ctx) => {
        seen.push(`${event.data.chat.dialogId}/${event.data.message.text}/${ctx.sourceId}/${ctx.portal}/${ctx.delivery.receiveCount}/${ctx.route ?? ''}`);
        return Promise.resolve();
      },
    });

    await handler({ Records: [recordOf(messageAddIn(5, 1, 'hi'))] }, context);

    expect(seen).toEqual(['chat5/hi/demo/example.bitrix24.com/1/message-add']);
  });

  it("sends unknown types to '*' and logs a summary when there is no '*'", async () => {
    const fallback: string[] = [];
    const withStar = setup({ '*': (event) => Promise.resolve(void fallback.push(event.type)) });
    const withoutStar = setup({});
    const unknown = rawEvent('ONIMV9SOMETHINGNEW', 9, { chat: { id: 3, dialogId: 'chat3' } });

    await withStar.handler({ Records: [recordOf(unknown)] }, context);
    const response = await withoutStar.handler({ Records: [recordOf(unknown), recordOf(rawEvent('ONIMV2JOINCHAT', 10))] }, context);

    expect(fallback).toEqual(['ONIMV9SOMETHINGNEW']);
    expect(response.batchItemFailures).toEqual([]);
    const summaries = withoutStar.lines.filter((line) => line.level === 'info').map((line) => line.message);
    expect(summaries).toEqual([
      'ONIMV9SOMETHINGNEW #9 from demo (example.bitrix24.com): chat chat3',
      'ONIMV2JOINCHAT #10 from demo (example.bitrix24.com): chat chat5, user 7',
    ]);
    expect(summaries.join(' ')).not.toContain('hello there');
  });

  it('fails a known type whose data does not match, with the path in the log, and counts it as poison', async () => {
    const { handler, lines, totals } = setup({ ONIMV2MESSAGEADD: () => Promise.resolve() });
    const bad = rawEvent('ONIMV2MESSAGEADD', 5, { message: { id: 1 }, chat: { id: 5, dialogId: 'chat5' }, user: { id: 7 } });

    const response = await handler({ Records: [recordOf(bad)] }, context);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-5' }]);
    const line = lines.find((entry) => entry.level === 'error');
    expect(line?.message).toMatch(/^poison message m-5 \(invalid-event\): .*data\.message\.chatId/);
    expect(line?.attributes).toMatchObject({ reason: 'invalid-event', sourceId: 'demo', route: 'message-add' });
    expect(totals.get(CONSUMER_METRICS.poisonMessages)).toBe(1);
  });

  it('skips a duplicate, counts it and flushes metrics once per invocation', async () => {
    let runs = 0;
    const { handler, totals, flushes } = setup({ ONIMV2MESSAGEADD: () => Promise.resolve(void (runs += 1)) });
    const record = recordOf(messageAddIn(5, 1));

    await handler({ Records: [record] }, context);
    await handler({ Records: [{ ...record, messageId: 'm-again' }] }, context);

    expect(runs).toBe(1);
    expect(totals.get(CONSUMER_METRICS.duplicatesSkipped)).toBe(1);
    expect(totals.get(CONSUMER_METRICS.eventsHandled)).toBe(1);
    expect(flushes()).toBe(2);
  });

  it('creates the Bitrix24 client lazily, once per source, and passes a deadline before the Lambda timeout', async () => {
    const created: string[] = [];
    const calls: { method: string; deadline: number | undefined }[] = [];
    const clientFactory = (sourceId: string): Bitrix24Caller => {
      created.push(sourceId);
      return {
        portal: 'example.bitrix24.com',
        call: <T>(method: string, _params?: Record<string, unknown>, options?: { deadline?: number }) => {
          calls.push({ method, deadline: options?.deadline });
          return Promise.resolve({ result: true as T });
        },
      };
    };
    const { handler } = setup(
      {
        ONIMV2MESSAGEADD: async (event, ctx) => {
          if (event.eventId !== 1) await ctx.bitrix24.call('im.message.add', { DIALOG_ID: event.data.chat.dialogId, MESSAGE: 'ok' });
        },
      },
      { clientFactory },
    );
    const before = Date.now();

    await handler({ Records: [recordOf(messageAddIn(5, 1))] }, context);
    expect(created).toEqual([]);
    await handler({ Records: [recordOf(messageAddIn(5, 2)), recordOf(messageAddIn(6, 3))] }, context);

    expect(created).toEqual(['demo']);
    expect(calls.map((call) => call.method)).toEqual(['im.message.add', 'im.message.add']);
    expect(calls[0]?.deadline).toBeGreaterThanOrEqual(before + 30_000 - 2_000);
    expect(calls[0]?.deadline).toBeLessThanOrEqual(Date.now() + 30_000 - 2_000);
  });

  it('fails the record with a clear error when no client factory is configured', async () => {
    const { handler, lines } = setup({ ONIMV2MESSAGEADD: async (_event, ctx) => void (await ctx.bitrix24.call('im.message.add')) });

    const response = await handler({ Records: [recordOf(messageAddIn(5, 1))] }, context);

    expect(response.batchItemFailures).toHaveLength(1);
    expect(lines.find((line) => line.level === 'error')?.message).toContain('SourceClientError');
  });
});
