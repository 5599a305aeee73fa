// The local runtime provisions the same tables, FIFO queues (each with a DLQ
// redrive) and claim-check bucket the CDK construct deploys.
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { provisionLocalPipeline } from '../../../functions/local/provision.js';
import { CATCH_ALL_ROUTE, DEFAULT_ROUTES, QUEUE_SETTINGS } from '../../../functions/shared/topology.js';
import { rigClients, uniqueName } from '../../setup/rig.js';

const { dynamoDb, sqs, s3 } = rigClients();
afterAll(() => {
  dynamoDb.destroy();
  sqs.destroy();
  s3.destroy();
});

describe('provisionLocalPipeline', () => {
  it('creates both tables, a FIFO queue with a DLQ per route plus the catch-all, and the payload bucket', async () => {
    const prefix = uniqueName('p');

    const pipeline = await provisionLocalPipeline({ prefix, dynamoDb, sqs, s3 });
    const again = await provisionLocalPipeline({ prefix, dynamoDb, sqs, s3 });

    expect(again.queueUrls).toEqual(pipeline.queueUrls);
    expect(Object.keys(pipeline.queueUrls).sort()).toEqual(
      [...new Set([...Object.values(DEFAULT_ROUTES), CATCH_ALL_ROUTE])].sort(),
    );
    const table = await dynamoDb.send(new DescribeTableCommand({ TableName: pipeline.stateTableName }));
    expect(table.Table?.KeySchema).toEqual([{ AttributeName: 'pk', KeyType: 'HASH' }]);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: pipeline.queueUrls['message-add'], AttributeNames: ['All'] }),
    );
    expect(attributes.Attributes?.FifoQueue).toBe('true');
    expect(JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}')).toMatchObject({
      maxReceiveCount: QUEUE_SETTINGS.maxReceiveCount,
    });
    await s3.send(new PutObjectCommand({ Bucket: pipeline.payloadBucketName, Key: 'k', Body: 'payload' }));
    const object = await s3.send(new GetObjectCommand({ Bucket: pipeline.payloadBucketName, Key: 'k' }));
    expect(await object.Body?.transformToString()).toBe('payload');
  });
});
