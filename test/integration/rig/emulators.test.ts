// The local rig is real: DynamoDB Local enforces conditional writes (and
// returns the old item on a failed condition) and fauxqs implements FIFO
// batches with deduplication. The poller's correctness rests on both.
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { createLocalSqsClient, startSqsEmulator } from '../../../functions/local/aws-emulators.js';
import { rigClients, uniqueName } from '../../setup/rig.js';

const { dynamoDb, sqs } = rigClients();
afterAll(() => {
  dynamoDb.destroy();
  sqs.destroy();
});

describe('DynamoDB Local', () => {
  it('rejects a conditional write whose condition fails and returns the current item', async () => {
    const TableName = uniqueName('rig');
    await dynamoDb.send(
      new CreateTableCommand({
        TableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      }),
    );
    await dynamoDb.send(new PutItemCommand({ TableName, Item: { pk: { S: 's1' }, fence: { N: '1' } } }));

    await dynamoDb.send(
      new UpdateItemCommand({
        TableName,
        Key: { pk: { S: 's1' } },
        UpdateExpression: 'SET fence = :next',
        ConditionExpression: 'fence = :expected',
        ExpressionAttributeValues: { ':next': { N: '2' }, ':expected': { N: '1' } },
      }),
    );
    const stale = dynamoDb.send(
      new UpdateItemCommand({
        TableName,
        Key: { pk: { S: 's1' } },
        UpdateExpression: 'SET fence = :next',
        ConditionExpression: 'fence = :expected',
        ExpressionAttributeValues: { ':next': { N: '2' }, ':expected': { N: '1' } },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );

    const error = await stale.then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
    expect((error as ConditionalCheckFailedException).Item?.fence).toEqual({ N: '2' });
  });
});

describe('fauxqs', () => {
  it('accepts FIFO batches and drops a duplicate deduplication id', async () => {
    const created = await sqs.send(
      new CreateQueueCommand({ QueueName: `${uniqueName('rig')}.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    const QueueUrl = created.QueueUrl ?? '';
    const entry = (id: string, dedupe: string) => ({
      Id: id,
      MessageBody: JSON.stringify({ id }),
      MessageGroupId: 'chat5',
      MessageDeduplicationId: dedupe,
    });

    const first = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [entry('a', 'e1'), entry('b', 'e2')] }));
    const again = await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: [entry('c', 'e1')] }));

    expect(first.Successful).toHaveLength(2);
    expect(again.Successful).toHaveLength(1);
    const bodies: unknown[] = [];
    for (let round = 0; round < 4; round += 1) {
      const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
      for (const message of received.Messages ?? []) {
        bodies.push(JSON.parse(message.Body ?? '{}'));
        await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
    expect(bodies).toEqual([{ id: 'a' }, { id: 'b' }]);
  });
});

describe('fauxqs in a child process (the benchmarks’ placement)', () => {
  it('serves SQS from its own process, and stop() ends that process', async () => {
    const emulator = await startSqsEmulator({ placement: 'child-process' });
    const client = createLocalSqsClient({ dynamoDbEndpoint: '', sqsEndpoint: emulator.endpoint });
    try {
      const created = await client.send(new CreateQueueCommand({ QueueName: `${uniqueName('child')}.fifo`, Attributes: { FifoQueue: 'true' } }));
      const QueueUrl = created.QueueUrl ?? '';
      await client.send(
        new SendMessageBatchCommand({ QueueUrl, Entries: [{ Id: 'a', MessageBody: '{"n":1}', MessageGroupId: 'g', MessageDeduplicationId: 'd1' }] }),
      );
      const received = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
      expect(received.Messages?.map((m) => m.Body)).toEqual(['{"n":1}']);
    } finally {
      client.destroy();
      await emulator.stop();
    }
    // the process is gone: nothing answers on its port any more
    const probe = createLocalSqsClient({ dynamoDbEndpoint: '', sqsEndpoint: emulator.endpoint });
    try {
      await expect(probe.send(new ListQueuesCommand({}))).rejects.toThrow(/ECONNREFUSED|connect/);
    } finally {
      probe.destroy();
    }
  });
});
