// Creates the pipeline's tables, queues and payload bucket in the local
// emulators from the same definitions (functions/shared/topology.ts) that the
// CDK construct deploys. Idempotent: existing resources are reused.
import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  CATCH_ALL_ROUTE,
  DEFAULT_MAX_ATTEMPTS,
  IDEMPOTENCY_TABLE,
  QUEUE_SETTINGS,
  STATE_TABLE,
  type Routing,
  deadLetterQueueName,
  idempotencyTableName,
  maxReceiveCountFor,
  queueName,
  routeKeys,
  routesFor,
  stateTableName,
} from '../shared/topology.js';
import { REGISTRY_TABLE, registryTableName } from '../registry/registry-table.js';

export interface ProvisionInput {
  readonly prefix: string;
  /** Event type → route key. @default routesFor(routing) */
  readonly routes?: Readonly<Record<string, string>>;
  /** Used when `routes` is not given: `chat-ordered` provisions the one route "chat-events". @default per-type */
  readonly routing?: Routing;
  /** The consumers' failure budget; the queues' redrive backstop is maxReceiveCountFor(maxAttempts). @default 5 */
  readonly maxAttempts?: number;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** S3 client for the claim-check bucket (fauxqs serves S3 on the same endpoint as SQS). */
  readonly s3: S3Client;
}

export interface ProvisionedPipeline {
  readonly prefix: string;
  readonly stateTableName: string;
  readonly idempotencyTableName: string;
  /** The source registry (functions/registry/registry-table.ts). */
  readonly registryTableName: string;
  readonly routes: Readonly<Record<string, string>>;
  /** Route key → queue URL (includes the catch-all). */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Route key → dead-letter queue URL. */
  readonly deadLetterQueueUrls: Readonly<Record<string, string>>;
  /** Name of the claim-check bucket for oversized events. */
  readonly payloadBucketName: string;
}

export function payloadBucketName(prefix: string): string {
  return `${prefix}-payloads`;
}

async function createTable(dynamoDb: DynamoDBClient, name: string, partitionKey: string, ttlAttribute?: string): Promise<void> {
  try {
    await dynamoDb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: partitionKey, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: partitionKey, KeyType: 'HASH' }],
      }),
    );
    if (ttlAttribute === undefined) return;
    await dynamoDb.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
}

async function createFifoQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  const created = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        FifoQueue: 'true',
        MessageRetentionPeriod: String(QUEUE_SETTINGS.retentionSeconds),
        VisibilityTimeout: String(QUEUE_SETTINGS.visibilityTimeoutSeconds),
        ...attributes,
      },
    }),
  );
  if (created.QueueUrl === undefined) throw new Error(`CreateQueue returned no URL for ${name}`);
  return created.QueueUrl;
}

/** Creates (or reuses) every table and queue of a pipeline with the given prefix. */
export async function provisionLocalPipeline(input: ProvisionInput): Promise<ProvisionedPipeline> {
  const routes = input.routes ?? routesFor(input.routing ?? 'per-type');
  const maxReceiveCount = maxReceiveCountFor(input.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const stateTable = stateTableName(input.prefix);
  const idempotencyTable = idempotencyTableName(input.prefix);
  const registryTable = registryTableName(input.prefix);
  await Promise.all([
    createTable(input.dynamoDb, registryTable, REGISTRY_TABLE.partitionKey),
    createTable(input.dynamoDb, stateTable, STATE_TABLE.partitionKey, STATE_TABLE.timeToLiveAttribute),
    createTable(input.dynamoDb, idempotencyTable, IDEMPOTENCY_TABLE.partitionKey, IDEMPOTENCY_TABLE.timeToLiveAttribute),
  ]);

  const queueUrls: Record<string, string> = {};
  const deadLetterQueueUrls: Record<string, string> = {};
  await Promise.all(
    routeKeys(routes).map(async (route) => {
      const dlqUrl = await createFifoQueue(input.sqs, deadLetterQueueName(input.prefix, route), {});
      const dlqAttributes = await input.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }),
      );
      const dlqArn = dlqAttributes.Attributes?.QueueArn;
      if (dlqArn === undefined) throw new Error(`no ARN for ${deadLetterQueueName(input.prefix, route)}`);
      queueUrls[route] = await createFifoQueue(input.sqs, queueName(input.prefix, route), {
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      });
      deadLetterQueueUrls[route] = dlqUrl;
    }),
  );
  const bucket = payloadBucketName(input.prefix);
  try {
    await input.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
  }
  if (queueUrls[CATCH_ALL_ROUTE] === undefined) throw new Error('catch-all queue missing');
  return {
    prefix: input.prefix,
    stateTableName: stateTable,
    idempotencyTableName: idempotencyTable,
    registryTableName: registryTable,
    routes: { ...routes },
    queueUrls,
    deadLetterQueueUrls,
    payloadBucketName: bucket,
  };
}
