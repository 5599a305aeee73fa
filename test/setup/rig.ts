// Per-test access to the shared local AWS rig: SDK clients pointed at the
// emulators and unique resource names so tests never see each other's data.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import {
  createLocalDynamoDbClient,
  createLocalS3Client,
  createLocalSqsClient,
  type LocalAwsEndpoints,
} from '../../functions/local/aws-emulators.js';

export function rigEndpoints(): LocalAwsEndpoints {
  return { dynamoDbEndpoint: inject('dynamoDbEndpoint'), sqsEndpoint: inject('sqsEndpoint') };
}

/** A name unique to this test, safe for DynamoDB tables and SQS queues. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function rigClients() {
  const endpoints = rigEndpoints();
  return {
    endpoints,
    dynamoDb: createLocalDynamoDbClient(endpoints),
    sqs: createLocalSqsClient(endpoints),
    s3: createLocalS3Client(endpoints),
  };
}
