// The benchmark rig: one pair of emulators (DynamoDB Local + fauxqs) for the
// whole run, and per scenario a fresh portal simulator (its own rate limit),
// freshly provisioned tables/queues (own prefix) and SDK clients whose every
// request is counted. Nothing is mocked: real HTTP, real emulators.
import { randomUUID } from 'node:crypto';
import { DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { createBitrix24Client, type Bitrix24Client } from '../functions/bitrix24/index.js';
import {
  createLocalDynamoDbClient,
  createLocalS3Client,
  createLocalSqsClient,
  type LocalAwsEndpoints,
} from '../functions/local/aws-emulators.js';
import { provisionLocalPipeline, type ProvisionedPipeline } from '../functions/local/provision.js';
import { parseSourceConfig, type SourceConfig, type SourceConfigInput } from '../functions/shared/config.js';
import { startPortalSimulator, type PortalSimulator, type PortalSimulatorOptions } from '../functions/simulator/index.js';
import { emptyCounts, instrumentDynamoDb, instrumentS3, instrumentSqs, type RequestCounts } from './request-counter.js';

export interface ScenarioOptions {
  /** Short name, used in resource names. */
  readonly name: string;
  readonly rateLimit: PortalSimulatorOptions['rateLimit'];
  /** Source settings beyond id/kind/portal/auth (mode, idleInterval, pageLimit). */
  readonly source?: Partial<SourceConfigInput>;
}

export interface ScenarioRig {
  readonly sim: PortalSimulator;
  readonly user: { id: number; name: string };
  readonly target: { userId: number };
  readonly webhookUrl: string;
  readonly source: SourceConfig;
  readonly pipeline: ProvisionedPipeline;
  /** Counted clients: give these to the code under measurement. */
  readonly counted: { dynamoDb: DynamoDBClient; sqs: SQSClient; s3: S3Client; counts: RequestCounts };
  /** Uncounted clients for the harness's own checks. */
  readonly plain: { dynamoDb: DynamoDBClient; sqs: SQSClient; s3: S3Client };
  newClient(): Bitrix24Client;
  /** Messages currently in all of the pipeline's queues (visible + in flight). */
  queuedMessages(): Promise<number>;
  stop(): Promise<void>;
}

export async function startScenario(endpoints: LocalAwsEndpoints, options: ScenarioOptions): Promise<ScenarioRig> {
  const sim = await startPortalSimulator({ rateLimit: options.rateLimit });
  const counts = emptyCounts();
  const counted = {
    dynamoDb: instrumentDynamoDb(createLocalDynamoDbClient(endpoints), counts),
    sqs: instrumentSqs(createLocalSqsClient(endpoints), counts),
    s3: instrumentS3(createLocalS3Client(endpoints), counts),
    counts,
  };
  const plain = {
    dynamoDb: createLocalDynamoDbClient(endpoints),
    sqs: createLocalSqsClient(endpoints),
    s3: createLocalS3Client(endpoints),
  };
  const clients: Bitrix24Client[] = [];
  try {
    const prefix = `bench-${options.name}-${randomUUID().slice(0, 6)}`.slice(0, 20).replace(/-$/, '');
    const pipeline = await provisionLocalPipeline({ prefix, dynamoDb: plain.dynamoDb, sqs: plain.sqs, s3: plain.s3 });
    const user = sim.addUser({ name: 'Bench User' });
    sim.subscribe(user.id);
    const webhookUrl = sim.createWebhook(user.id);
    const source = parseSourceConfig({
      id: options.name,
      kind: 'user',
      portal: sim.portalHost,
      auth: 'webhook',
      ...options.source,
    });
    const queuedMessages = async (): Promise<number> => {
      let total = 0;
      for (const url of Object.values(pipeline.queueUrls)) {
        const answer = await plain.sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: url,
            AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
          }),
        );
        total += Number(answer.Attributes?.ApproximateNumberOfMessages ?? 0);
        total += Number(answer.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      }
      return total;
    };
    return {
      sim,
      user,
      target: { userId: user.id },
      webhookUrl,
      source,
      pipeline,
      counted,
      plain,
      newClient: () => {
        const client = createBitrix24Client({ credentials: { kind: 'webhook', webhookUrl } });
        clients.push(client);
        return client;
      },
      queuedMessages,
      stop: async () => {
        await Promise.allSettled(clients.map((c) => c.close()));
        // Free the emulator's memory: a 100k backlog is hundreds of MB of messages.
        await Promise.allSettled([
          ...Object.values(pipeline.queueUrls).map((url) => plain.sqs.send(new DeleteQueueCommand({ QueueUrl: url }))),
          ...Object.values(pipeline.deadLetterQueueUrls).map((url) => plain.sqs.send(new DeleteQueueCommand({ QueueUrl: url }))),
          plain.dynamoDb.send(new DeleteTableCommand({ TableName: pipeline.stateTableName })),
          plain.dynamoDb.send(new DeleteTableCommand({ TableName: pipeline.idempotencyTableName })),
        ]);
        for (const c of [counted.dynamoDb, counted.sqs, counted.s3, plain.dynamoDb, plain.sqs, plain.s3]) c.destroy();
        await sim.stop();
      },
    };
  } catch (error) {
    await sim.stop();
    throw error;
  }
}

/** Bitrix24 REST calls the simulator answered for a method prefix (e.g. `im.v2.Event.get`). */
export function simCalls(sim: PortalSimulator, method: string): number {
  return sim.calls.filter((c) => c.method === method).length;
}
