// The Lambda handler, wired the way Lambda runs it: environment, a secret
// reader, real SDK clients against the emulators, the simulator over HTTP.
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSecretReader } from '../../../functions/bitrix24/index.js';
import { readPollerEnvironment } from '../../../functions/poller/environment.js';
import { PollerConfigError } from '../../../functions/poller/errors.js';
import { createPollerHandler } from '../../../functions/poller/handler.js';
import { ENV } from '../../../functions/shared/observability.js';
import { captureStdout, drainQueues, startRig, type Rig } from './harness.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';

let rig: Rig;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig.stop();
});

describe('poller handler', () => {
  it('reads env and the secret once, polls the source named in the input, returns the report', async () => {
    const reader = rig.reader();
    rig.sim.subscribe(reader.userId);
    const emitted = rig.sim.activity.generate({ userId: reader.userId }, 14);
    const secretReads: string[] = [];
    let envReads = 0;
    const env = {
      [ENV.stateTableName]: rig.pipeline.stateTableName,
      [ENV.queueUrls]: JSON.stringify(rig.pipeline.queueUrls),
      [ENV.routes]: JSON.stringify(rig.pipeline.routes),
      [ENV.payloadBucketName]: rig.pipeline.payloadBucketName,
      [ENV.prefix]: rig.pipeline.prefix,
    };
    const handler = createPollerHandler({
      env: () => {
        envReads += 1;
        return env;
      },
      dynamoDb: rig.aws.dynamoDb,
      sqs: rig.aws.sqs,
      payloads: s3PayloadWriter(rig.aws.s3),
      secrets: createSecretReader({
        fetch: (name) => {
          secretReads.push(name);
          return Promise.resolve(JSON.stringify({ webhookUrl: reader.webhookUrl }));
        },
      }),
      logger: new Logger({ serviceName: 'poller-test', logLevel: 'ERROR' }),
      metrics: new Metrics({ namespace: 'Test', serviceName: 'poller-test' }),
      now: rig.time.now,
      sleep: rig.time.sleep,
    });
    const source = { id: 'handler-src', kind: 'user', portal: rig.sim.portalHost, auth: 'webhook', mode: 'per-schedule', pageLimit: 5 } as const;
    const context = { getRemainingTimeInMillis: () => 60_000, awsRequestId: 'req-1' };

    const { result: first } = await captureStdout(() => handler({ source }, context));
    rig.sim.activity.generate({ userId: reader.userId }, 3);
    const { result: second } = await captureStdout(() => handler({ source }, context));

    expect(first).toMatchObject({ sourceId: 'handler-src', stoppedBecause: 'drained', eventsPublished: 14 });
    expect(second).toMatchObject({ stoppedBecause: 'drained' });
    expect(envReads).toBe(1);
    expect(secretReads).toEqual([`${rig.pipeline.prefix}/sources/handler-src`]);
    const ids = new Set((await drainQueues(rig)).filter((m) => m.body.sourceId === 'handler-src').map((m) => m.eventId));
    expect(emitted.every((e) => ids.has(e.eventId))).toBe(true);
    expect(ids.size).toBe(17);
    expect(JSON.stringify([first, second])).not.toContain(new URL(reader.webhookUrl).pathname);
  });

  it('rejects an invalid input with a message naming the field', async () => {
    const handler = createPollerHandler({ env: () => ({}) });
    await expect(handler({ source: { id: 'Bad Id', kind: 'user', portal: 'x', auth: 'webhook' } }, { getRemainingTimeInMillis: () => 1000, awsRequestId: 'r' })).rejects.toThrow(/id:/);
  });

  it('names every missing or invalid environment variable', () => {
    expect(() => readPollerEnvironment({ [ENV.queueUrls]: '{"message-add":"u"}', [ENV.routes]: 'not json' })).toThrow(PollerConfigError);
    expect(() => readPollerEnvironment({ [ENV.queueUrls]: '{"message-add":"u"}', [ENV.routes]: 'not json' })).toThrow(
      new RegExp(`${ENV.stateTableName}[\\s\\S]*${ENV.queueUrls}: needs the catch-all[\\s\\S]*${ENV.routes}: ROUTES must be a JSON object`),
    );
  });
});
