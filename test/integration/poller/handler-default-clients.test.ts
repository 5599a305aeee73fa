// The handler's own SDK clients (what runs in Lambda), pointed at the
// emulators only through the SDK's standard endpoint variables: publishing
// and claim-check storage must reach the overridden endpoint, not the queue
// URL's host (fauxqs names one that does not resolve).
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretReader } from '../../../functions/bitrix24/index.js';
import { createPollerHandler } from '../../../functions/poller/handler.js';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../../functions/local/aws-emulators.js';
import type { ClaimCheckEnvelope, InlineEnvelope } from '../../../functions/shared/envelope.js';
import { ENV } from '../../../functions/shared/observability.js';
import { rigClients, rigEndpoints } from '../../setup/rig.js';
import { captureStdout, drainQueues, emfDocuments, startRig, type Rig } from './harness.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
  const endpoints = rigEndpoints();
  Object.assign(process.env, {
    AWS_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamoDbEndpoint,
    AWS_ENDPOINT_URL_SQS: endpoints.sqsEndpoint,
    AWS_ENDPOINT_URL_S3: endpoints.sqsEndpoint,
  });
});
afterAll(async () => {
  await rig.stop();
});

describe('poller handler with its default SDK clients', () => {
  it('publishes through an endpoint given by AWS_ENDPOINT_URL_SQS', async () => {
    const reader = rig.reader();
    rig.sim.subscribe(reader.userId);
    const emitted = rig.sim.activity.generate({ userId: reader.userId }, 5);
    const handler = createPollerHandler({
      env: () => ({
        [ENV.stateTableName]: rig.pipeline.stateTableName,
        [ENV.queueUrls]: JSON.stringify(rig.pipeline.queueUrls),
        [ENV.routes]: JSON.stringify(rig.pipeline.routes),
        [ENV.payloadBucketName]: rig.pipeline.payloadBucketName,
        [ENV.prefix]: rig.pipeline.prefix,
      }),
      secrets: createSecretReader({ fetch: () => Promise.resolve(JSON.stringify({ webhookUrl: reader.webhookUrl })) }),
      logger: new Logger({ serviceName: 'poller-test', logLevel: 'ERROR' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'poller-test', singleMetric: false }),
    });
    const source = { id: 'default-clients', kind: 'user', portal: rig.sim.portalHost, auth: 'webhook', mode: 'per-schedule' } as const;

    const { result: report, lines } = await captureStdout(() => handler({ source }, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' }));

    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 5 });
    // the metrics went out as EMF on stdout: 5 published, one heartbeat
    const emf = emfDocuments(lines).filter((doc) => doc.SourceId === 'default-clients');
    expect(emf.reduce((n, doc) => n + (typeof doc.EventsPublished === 'number' ? doc.EventsPublished : 0), 0)).toBe(5);
    expect(emf.some((doc) => doc.PollSucceeded === 1)).toBe(true);
    const ids = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === 'default-clients').map((m) => m.eventId));
    expect(emitted.every((e) => ids.has(e.eventId))).toBe(true);
  });

  it('stores a claim check through AWS_ENDPOINT_URL_S3 with its signed PutObject (no S3 client in the Lambda)', async () => {
    const reader = rig.reader();
    rig.sim.subscribe(reader.userId);
    const big = rig.sim.emit({ userId: reader.userId }, 'ONIMV2MESSAGEADD', { chat: { id: 9, dialogId: 'chat9' }, message: { id: 1, chatId: 9, text: 'x'.repeat(300 * 1024) } });
    const handler = createPollerHandler({
      env: () => ({
        [ENV.stateTableName]: rig.pipeline.stateTableName,
        [ENV.queueUrls]: JSON.stringify(rig.pipeline.queueUrls),
        [ENV.routes]: JSON.stringify(rig.pipeline.routes),
        [ENV.payloadBucketName]: rig.pipeline.payloadBucketName,
        [ENV.prefix]: rig.pipeline.prefix,
      }),
      secrets: createSecretReader({ fetch: () => Promise.resolve(JSON.stringify({ webhookUrl: reader.webhookUrl })) }),
      logger: new Logger({ serviceName: 'poller-test', logLevel: 'ERROR' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'poller-test', singleMetric: false }),
    });
    const source = { id: 'default-claims', kind: 'user', portal: rig.sim.portalHost, auth: 'webhook', mode: 'per-schedule' } as const;

    const { result: report } = await captureStdout(() => handler({ source }, { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-2' }));

    expect(report).toMatchObject({ stoppedBecause: 'drained', eventsPublished: 1 });
    const claim = (await drainQueues(rig)).find((m) => m.body.sourceId === 'default-claims')?.body as ClaimCheckEnvelope | undefined;
    expect(claim?.eventRef).toMatchObject({ bucket: rig.pipeline.payloadBucketName, eventId: big?.eventId });
    const object = await rigClients().s3.send(new GetObjectCommand({ Bucket: rig.pipeline.payloadBucketName, Key: claim?.eventRef.key ?? '' }));
    expect((JSON.parse((await object.Body?.transformToString()) ?? '{}') as InlineEnvelope).event).toEqual(big);
  });
});
