import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { ConsumerConfigError, InvocationOutOfTimeError } from '../../../functions/consumers/errors.js';
import { readConsumerEnvironment } from '../../../functions/consumers/consumer-env.js';
import { createDynamoDbRunOnce } from '../../../functions/consumers/idempotency.js';

describe('consumer environment', () => {
  it('reads route, tables, bucket, prefix and sources', () => {
    const env = readConsumerEnvironment({
      ROUTE: 'message-add',
      IDEMPOTENCY_TABLE_NAME: 'b24-idempotency',
      STATE_TABLE_NAME: 'b24-state',
      PAYLOAD_BUCKET_NAME: 'b24-payloads',
      PIPELINE_PREFIX: 'acme',
      SOURCES: '[{"id":"demo","kind":"bot","portal":"example.bitrix24.com","auth":"webhook","botId":7}]',
    });

    expect(env).toMatchObject({ route: 'message-add', idempotencyTableName: 'b24-idempotency', prefix: 'acme', payloadBucketName: 'b24-payloads' });
    expect(env.sources).toEqual([{ id: 'demo', kind: 'bot', portal: 'example.bitrix24.com', auth: 'webhook', botId: 7 }]);
  });

  it('defaults to no sources and prefix b24', () => {
    expect(readConsumerEnvironment({})).toMatchObject({ sources: [], prefix: 'b24', route: undefined, idempotencyTableName: undefined });
  });

  it.each([
    ['not JSON', '[{', /not JSON/],
    ['a source without auth', '[{"id":"demo","kind":"user","portal":"x.bitrix24.com"}]', /0\.auth/],
  ])('rejects SOURCES that is %s', (_what, value, message) => {
    expect(() => readConsumerEnvironment({ SOURCES: value })).toThrow(ConsumerConfigError);
    expect(() => readConsumerEnvironment({ SOURCES: value })).toThrow(message);
  });

  it('refuses idempotency records kept less than 24 h', () => {
    expect(() => createDynamoDbRunOnce({ tableName: 't', expiresAfterSeconds: 3600 })).toThrow(/≥ 86400/);
  });

  it('does not start an event when the invocation has no time left', async () => {
    let ran = false;
    const runOnce = createDynamoDbRunOnce({ tableName: 't' });

    const attempt = runOnce('demo#1', () => Promise.resolve(void (ran = true)), { getRemainingTimeInMillis: () => 0 } as Context);

    await expect(attempt).rejects.toBeInstanceOf(InvocationOutOfTimeError);
    expect(ran).toBe(false);
  });
});
