// The S3 and Secrets Manager clients are loaded only when needed (dynamic
// import, docs/package.md "Bundle size and cold start"): these check the lazy
// paths still work against real endpoints — a claim check through
// lambdaConsumer's own payload store (fauxqs S3), and the secret reader's
// default client (a loopback GetSecretValue stand-in, real SDK, real HTTP).
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { startSecretsStandIn } from '../../bench/secrets-stand-in.js';
import { createSecretReader } from '../../functions/bitrix24/index.js';
import { createConsumerHandlerFromEnv } from '../../functions/consumers/lambda-consumer.js';
import { runAlways } from '../../functions/consumers/idempotency.js';
import { type ClaimCheckEnvelope, deduplicationId, messageGroupId } from '../../functions/shared/envelope.js';
import { rigClients, uniqueName } from '../setup/rig.js';
import { capturingLogger, countingMetrics, envelopeOf, messageAddIn } from '../unit/consumers/factories.js';

const context = { functionName: 'lazy', awsRequestId: 'lazy-1', getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
const restoreEnv: Array<() => void> = [];

afterEach(() => {
  for (const restore of restoreEnv.splice(0)) restore();
});

function setEnv(key: string, value: string): void {
  const before = process.env[key];
  process.env[key] = value;
  restoreEnv.push(() => {
    if (before === undefined) delete process.env[key];
    else process.env[key] = before;
  });
}

describe('clients loaded on first use', () => {
  it('lambdaConsumer reads a claim check with the S3 client it loads on the first one', async () => {
    const { s3 } = rigClients();
    const bucket = uniqueName('lazy-claims');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const sourceId = uniqueName('lazy');
    const event = messageAddIn(30, 7001, 'y'.repeat(1000));
    const key = `events/${sourceId}/7001.json`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(envelopeOf(event, sourceId)) }));
    const claim: ClaimCheckEnvelope = {
      schemaVersion: 1,
      sourceId,
      portal: 'example.bitrix24.com',
      receivedAt: new Date().toISOString(),
      eventRef: { bucket, key, eventId: 7001, type: 'ONIMV2MESSAGEADD', sizeBytes: 1100 },
    };
    const texts: number[] = [];
    const handler = createConsumerHandlerFromEnv(
      {
        ONIMV2MESSAGEADD: (typed) => {
          texts.push(typed.data.message.text.length);
          return Promise.resolve();
        },
      },
      {
        env: { ROUTE: 'message-add', SOURCES: JSON.stringify([{ id: sourceId, kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook' }]) },
        logger: capturingLogger().logger,
        metrics: countingMetrics().metrics,
        runOnce: runAlways,
        s3,
      },
    );
    const now = String(Date.now());
    const sqsEvent = {
      Records: [
        {
          messageId: 'lazy-m1',
          receiptHandle: 'lazy-r1',
          body: JSON.stringify(claim),
          attributes: {
            ApproximateReceiveCount: '1',
            SentTimestamp: now,
            SenderId: 'test',
            ApproximateFirstReceiveTimestamp: now,
            MessageGroupId: messageGroupId(sourceId, event),
            MessageDeduplicationId: deduplicationId(sourceId, event.eventId),
            SequenceNumber: '1',
          },
          messageAttributes: {},
          md5OfBody: '',
          eventSource: 'aws:sqs',
          eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:lazy-message-add.fifo',
          awsRegion: 'us-east-1',
        },
      ],
    } as SQSEvent;

    const response = await handler(sqsEvent, context);

    expect(response.batchItemFailures).toEqual([]);
    expect(texts).toEqual([1000]);
  });

  it('the secret reader creates its Secrets Manager client on the first read', async () => {
    const stand = await startSecretsStandIn({ 'b24/lazy/demo': '{"webhookUrl":"http://127.0.0.1/rest/1/x/"}' });
    try {
      setEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', stand.endpoint);
      setEnv('AWS_REGION', 'us-east-1');
      setEnv('AWS_ACCESS_KEY_ID', 'local');
      setEnv('AWS_SECRET_ACCESS_KEY', 'local');
      const reader = createSecretReader();
      expect(stand.calls()).toBe(0);

      await expect(reader.read('b24/lazy/demo')).resolves.toContain('webhookUrl');
      await expect(reader.read('b24/lazy/demo')).resolves.toContain('webhookUrl');

      expect(stand.calls()).toBe(1);
      await expect(reader.read('b24/lazy/missing')).rejects.toThrow(/GetSecretValue failed/);
    } finally {
      await stand.stop();
    }
  });
});
