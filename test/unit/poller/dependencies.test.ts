// The drain pacing is a per-source setting: Bitrix24's advice (2 s) by
// default, the plan's rate when the operator chooses to drain at the ceiling.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { createBitrix24Client } from '../../../functions/bitrix24/index.js';
import { createPollerDependencies } from '../../../functions/poller/index.js';
import { parseSourceConfig } from '../../../functions/shared/config.js';
import { CATCH_ALL_ROUTE } from '../../../functions/shared/topology.js';
import { s3PayloadWriter } from '../../../functions/poller/s3-payload-writer.js';

const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl: 'http://127.0.0.1:9/rest/1/abc123def456/' } });
const aws = { dynamoDb: new DynamoDBClient({ region: 'us-east-1' }), sqs: new SQSClient({ region: 'us-east-1' }), payloads: s3PayloadWriter(new S3Client({ region: 'us-east-1' })) };
afterAll(async () => {
  await client.close();
});

function dependenciesFor(source: Record<string, unknown>, tuning?: { drainIntervalMs: number }) {
  return createPollerDependencies({
    source: parseSourceConfig({ id: 's1', kind: 'user', portal: 'example.bitrix24.com', auth: 'webhook', ...source }),
    client,
    ...aws,
    stateTableName: 'state',
    queueUrls: { [CATCH_ALL_ROUTE]: 'http://127.0.0.1:9/queue/unknown.fifo' },
    routes: {},
    payloadBucketName: 'payloads',
    ...(tuning === undefined ? {} : { tuning }),
  });
}

describe('createPollerDependencies', () => {
  it('paces a drain at Bitrix24’s 2 s by default', () => {
    expect(dependenciesFor({}).tuning.drainIntervalMs).toBe(2000);
  });

  it('takes the drain pacing from the source configuration', () => {
    expect(dependenciesFor({ drainIntervalSeconds: 0.5 }).tuning.drainIntervalMs).toBe(500);
  });

  it('lets explicit tuning override the source setting', () => {
    expect(dependenciesFor({ drainIntervalSeconds: 0.5 }, { drainIntervalMs: 200 }).tuning.drainIntervalMs).toBe(200);
  });
});
