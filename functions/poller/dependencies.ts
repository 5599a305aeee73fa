// Wires the poller's ports to their AWS/HTTP adapters. Used by the Lambda
// handler (once per container), the local runtime, the demo and the benchmark.
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Bitrix24Client } from '../bitrix24/index.js';
import type { SourceConfig } from '../shared/config.js';
import { CATCH_ALL_ROUTE } from '../shared/topology.js';
import { bitrix24EventSource } from './bitrix24-event-source.js';
import { DynamoDbQuarantineStore } from './dynamodb-quarantine-store.js';
import { DynamoDbSourceStateStore } from './dynamodb-source-state.js';
import { PollerConfigError } from './errors.js';
import type { PayloadWriter } from './payload-writer.js';
import { powertoolsLogger, powertoolsMetrics } from './observability.js';
import { DEFAULT_TUNING, type PollerDependencies, type PollerTuning } from './poll-loop.js';
import type { PollerLogger, PollerMetrics } from './ports.js';
import { SqsEventSink } from './sqs-event-sink.js';

export interface CreatePollerDependenciesInput {
  readonly source: SourceConfig;
  readonly client: Bitrix24Client;
  /** Bot sources with webhook auth: the bot's token. */
  readonly botToken?: string;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  /** Claim checks and large quarantined events (the payload bucket): s3PayloadWriter(s3Client), or signedPutPayloadWriter in the Lambda. */
  readonly payloads: PayloadWriter;
  readonly stateTableName: string;
  /** Route key → queue URL, including the catch-all. */
  readonly queueUrls: Readonly<Record<string, string>>;
  /** Event type → route key. */
  readonly routes: Readonly<Record<string, string>>;
  readonly payloadBucketName: string;
  /** @default Powertools Logger (JSON to stdout) */
  readonly logger?: PollerLogger;
  /** @default Powertools Metrics (EMF to stdout) */
  readonly metrics?: PollerMetrics;
  /** ms epoch. @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout-based */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Loop timings. @default DEFAULT_TUNING */
  readonly tuning?: Partial<PollerTuning>;
  /** SendMessageBatch calls in flight at once (SQS answers in ~10–30 ms, so a 1000-event page needs many at once; `npm run bench` measures 8/16/32). @default 32 */
  readonly publishConcurrency?: number;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createPollerDependencies(input: CreatePollerDependenciesInput): PollerDependencies {
  if (input.queueUrls[CATCH_ALL_ROUTE] === undefined) {
    throw new PollerConfigError(`The queue URLs have no catch-all route "${CATCH_ALL_ROUTE}"; unknown event types would have nowhere to go. Add it to QUEUE_URLS.`);
  }
  const sleep = input.sleep ?? defaultSleep;
  return {
    events: bitrix24EventSource(input.client, input.source, input.botToken),
    sink: new SqsEventSink({
      sqs: input.sqs,
      payloads: input.payloads,
      sourceId: input.source.id,
      portal: input.client.portal,
      queueUrls: input.queueUrls,
      routes: input.routes,
      payloadBucketName: input.payloadBucketName,
      sleep,
      ...(input.publishConcurrency === undefined ? {} : { concurrency: input.publishConcurrency }),
    }),
    state: new DynamoDbSourceStateStore({ client: input.dynamoDb, tableName: input.stateTableName, sourceId: input.source.id }),
    quarantine: new DynamoDbQuarantineStore({
      dynamoDb: input.dynamoDb,
      payloads: input.payloads,
      tableName: input.stateTableName,
      payloadBucketName: input.payloadBucketName,
      sourceId: input.source.id,
    }),
    logger: input.logger ?? powertoolsLogger(),
    metrics: input.metrics ?? powertoolsMetrics(input.source.id),
    now: input.now ?? Date.now,
    sleep,
    routes: input.routes,
    tuning: { ...DEFAULT_TUNING, drainIntervalMs: input.source.drainIntervalSeconds * 1000, ...input.tuning },
  };
}
