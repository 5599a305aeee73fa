// SqsEventSink's batching, retry and ordering decisions against a scripted
// fake SQS (the real SQS path is covered by the integration tests).
import type { SQSClient, SendMessageBatchCommand, SendMessageBatchCommandOutput } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { PublishError } from '../../../functions/poller/errors.js';
import { SqsEventSink, sqsSafeJson } from '../../../functions/poller/sqs-event-sink.js';
import type { InlineEnvelope } from '../../../functions/shared/envelope.js';
import { makeEvent } from './fakes.js';

type Answer = (entries: Array<{ Id: string; body: string }>) => Partial<SendMessageBatchCommandOutput> | Error;

function fakeSqs(answer: Answer = (entries) => ({ Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })) })) {
  const calls: Array<{ queueUrl: string; ids: number[] }> = [];
  const client = {
    send: (command: SendMessageBatchCommand) => {
      const entries = (command.input.Entries ?? []).map((e) => ({ Id: e.Id ?? '', body: e.MessageBody ?? '' }));
      calls.push({ queueUrl: command.input.QueueUrl ?? '', ids: entries.map((e) => (JSON.parse(e.body) as InlineEnvelope).event.eventId) });
      const result = answer(entries);
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result);
    },
  };
  return { client: client as unknown as SQSClient, calls };
}

function sink(sqs: SQSClient, extra: { maxBatchBytes?: number } = {}) {
  return new SqsEventSink({
    sqs,
    payloads: { putJson: () => Promise.reject(new Error('no claim checks in this test')) },
    sourceId: 'src',
    portal: 'example.bitrix24.com',
    queueUrls: { 'message-add': 'q-add', unknown: 'q-unknown' },
    routes: { ONIMV2MESSAGEADD: 'message-add' },
    payloadBucketName: 'b',
    sleep: () => Promise.resolve(),
    ...extra,
  });
}

describe('SqsEventSink', () => {
  it('sends batches of 10 per route queue; unknown types go to the catch-all', async () => {
    const sqs = fakeSqs();
    const events = [...Array.from({ length: 23 }, (_, i) => makeEvent(i + 1)), makeEvent(24, 'ONIMV2NEWTHING')];

    const result = await sink(sqs.client).publish({ events, receivedAt: 0 });

    expect(result.byRoute).toEqual({ 'message-add': 23, unknown: 1 });
    expect(sqs.calls.map((c) => [c.queueUrl, c.ids.length]).sort()).toEqual([
      ['q-add', 10],
      ['q-add', 10],
      ['q-add', 3],
      ['q-unknown', 1],
    ]);
  });

  it('splits batches by total size', async () => {
    const sqs = fakeSqs();
    const events = Array.from({ length: 4 }, (_, i) => ({ ...makeEvent(i + 1), data: { chat: { dialogId: 'chat1' }, text: 'x'.repeat(1000) } }));

    await sink(sqs.client, { maxBatchBytes: 2500 }).publish({ events, receivedAt: 0 });

    expect(sqs.calls.map((c) => c.ids)).toEqual([[1, 2], [3, 4]]);
  });

  it('retries only the failed entries of a batch', async () => {
    let first = true;
    const sqs = fakeSqs((entries) => {
      if (!first) return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })) };
      first = false;
      return {
        Successful: entries.filter((e) => e.Id !== '2').map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
        Failed: [{ Id: '2', Code: 'InternalError', SenderFault: false }],
      };
    });

    await sink(sqs.client).publish({ events: [1, 2, 3, 4].map((id) => makeEvent(id)), receivedAt: 0 });

    expect(sqs.calls.map((c) => c.ids)).toEqual([[1, 2, 3, 4], [3]]);
  });

  it('fails the page when entries keep failing or SQS calls them invalid', async () => {
    const always = fakeSqs(() => new Error('ServiceUnavailable'));
    await expect(sink(always.client).publish({ events: [makeEvent(1)], receivedAt: 0 })).rejects.toBeInstanceOf(PublishError);
    expect(always.calls).toHaveLength(5);

    const invalid = fakeSqs((entries) => ({ Failed: entries.map((e) => ({ Id: e.Id, Code: 'InvalidMessageContents', SenderFault: true })) }));
    const error = await sink(invalid.client).publish({ events: [makeEvent(7)], receivedAt: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).failedEventIds).toEqual([7]);
    expect(invalid.calls).toHaveLength(1);
  });

  it('never sends a batch before an earlier batch with the same chat was acknowledged', async () => {
    const order: string[] = [];
    const sqs = fakeSqs((entries) => {
      order.push(entries.map((e) => (JSON.parse(e.body) as InlineEnvelope).event.eventId).join(','));
      return { Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })) };
    });
    // a failing first batch must stop the later batch of the same chat
    let calls = 0;
    const failing = fakeSqs((entries) => {
      calls += 1;
      return calls <= 5 && entries.length === 10 ? new Error('down') : { Successful: entries.map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'x' })) };
    });
    const events = Array.from({ length: 15 }, (_, i) => makeEvent(i + 1, 'ONIMV2MESSAGEADD', 'chat1'));

    await sink(sqs.client).publish({ events, receivedAt: 0 });
    await expect(sink(failing.client).publish({ events, receivedAt: 0 })).rejects.toBeInstanceOf(PublishError);

    expect(order).toEqual(['1,2,3,4,5,6,7,8,9,10', '11,12,13,14,15']);
    expect(failing.calls.every((c) => c.ids.length === 10)).toBe(true);
  });

  it('escapes characters SQS rejects without changing the value', () => {
    const value = { text: 'emoji 😀, nul \u0000, bell \u0007, \uFFFE end', id: 1 };
    const json = sqsSafeJson(value);
    expect(json).toMatch(/^[\t\n\r\u0020-\ud7ff\ue000-\ufffd]*$/);
    expect(JSON.parse(json)).toEqual(value);
  });
});
