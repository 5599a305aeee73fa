import type { Context, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createConsumerHandler } from '../../../functions/consumers/consumer-handler.js';
import { replyOnMessageAdd, skipReason } from '../../../functions/consumers/examples/reply-on-message-add.js';
import { validateEvent } from '../../../functions/consumers/events.js';
import type { Bitrix24Caller } from '../../../functions/consumers/source-clients.js';
import { capturingLogger, envelopeOf, messageAddIn, messageObject, userObject } from './factories.js';

const context = { getRemainingTimeInMillis: () => 30_000, awsRequestId: 'r' } as Context;

function typed(patch: { message?: Record<string, unknown>; user?: Record<string, unknown> } = {}) {
  const raw = messageAddIn(5, 1, 'how are you?');
  const data = raw.data as Record<string, unknown>;
  const result = validateEvent('ONIMV2MESSAGEADD', {
    ...raw,
    data: { ...data, message: { ...(data.message as object), ...patch.message }, user: { ...(data.user as object), ...patch.user } },
  });
  if (!result.ok) throw new Error(result.issues.join('; '));
  return result.event;
}

describe('example: reply on message add', () => {
  it('answers in the same dialog through ctx.bitrix24', async () => {
    const calls: { method: string; params: unknown }[] = [];
    const client: Bitrix24Caller = {
      portal: 'example.bitrix24.com',
      call: <T>(method: string, params?: Record<string, unknown>) => {
        calls.push({ method, params });
        return Promise.resolve({ result: 1 as T });
      },
    };
    const { logger } = capturingLogger();
    const handler = createConsumerHandler({
      handlers: { ONIMV2MESSAGEADD: replyOnMessageAdd({ prefix: 'Echo: ' }) },
      logger,
      clientFactory: () => client,
    });
    const record = { messageId: 'm1', body: JSON.stringify(envelopeOf(messageAddIn(5, 1, 'how are you?'))), attributes: { ApproximateReceiveCount: '1' } } as SQSRecord;

    const response = await handler({ Records: [record] }, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(calls).toEqual([{ method: 'im.message.add', params: { DIALOG_ID: 'chat5', MESSAGE: 'Echo: how are you?' } }]);
  });

  it.each([
    ['replying is off', { prefix: undefined }, {}, /replying is off/],
    ['the author is a bot', { prefix: '> ' }, { user: userObject({ bot: true }) }, /bot/],
    ['a system message', { prefix: '> ' }, { message: messageObject({ isSystem: true }) }, /system/],
    ['its own message', { prefix: '> ', ownUserId: 7 }, {}, /own message/],
    ['its own echo', { prefix: '> ' }, { message: messageObject({ text: '> how are you?' }) }, /echo/],
  ])('does not answer when %s', (_what, options, patch, reason) => {
    expect(skipReason(typed(patch), options)).toMatch(reason);
  });

  it('answers an ordinary message from a person', () => {
    expect(skipReason(typed(), { prefix: '> ', ownUserId: 1 })).toBeUndefined();
  });
});
