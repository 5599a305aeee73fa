// The poller Lambda: one scheduled invocation polls the source named in its
// input. Thin: parse the input, build the dependencies once per container (per
// source and secret version), run pollSource until shortly before the
// Lambda's own deadline, return the report.
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { sqsClientConfig } from '../shared/aws-client-config.js';
import {
  createBitrix24Client,
  dynamoDbTokenStoreFactory,
  createSecretReader,
  loadSourceCredentials,
  type Bitrix24Client,
  type SecretReader,
} from '../bitrix24/index.js';
import { parseSourceConfig, secretNameOf, type SourceConfig, type SourceConfigInput } from '../shared/config.js';
import { METRICS_NAMESPACE } from '../shared/observability.js';
import { createPollerDependencies } from './dependencies.js';
import { readPollerEnvironment, type PollerEnvironment } from './environment.js';
import type { PayloadWriter } from './payload-writer.js';
import { signedPutPayloadWriter } from './signed-put-payload-writer.js';
import { POLLER_SERVICE_NAME, powertoolsLogger, powertoolsMetrics } from './observability.js';
import { pollSource, type PollerDependencies, type PollerTuning, type PollReport } from './poll-loop.js';

export interface PollerEvent {
  readonly source: SourceConfigInput;
}

export interface PollerHandlerOptions {
  /** @default process.env, read on the first invocation */
  readonly env?: () => Readonly<Record<string, string | undefined>>;
  readonly dynamoDb?: DynamoDBClient;
  readonly sqs?: SQSClient;
  /** @default a signed PutObject over the DynamoDB client (signed-put-payload-writer.ts); tests pass s3PayloadWriter(s3Client) */
  readonly payloads?: PayloadWriter;
  /** @default Secrets Manager with a 5-minute cache */
  readonly secrets?: SecretReader;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly tuning?: Partial<PollerTuning>;
}

interface Container {
  readonly env: PollerEnvironment;
  readonly dynamoDb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly payloads: PayloadWriter;
  readonly secrets: SecretReader;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Per source: the deps built for one secret value (rebuilt when the secret changes). */
  readonly sources: Map<string, { secret: string; configKey: string; client: Bitrix24Client; deps: PollerDependencies }>;
}

/** Builds a handler; the default export below uses real AWS clients. Tests pass emulator clients and a fake secret reader. */
export function createPollerHandler(options: PollerHandlerOptions = {}): (event: PollerEvent, context: Pick<Context, 'getRemainingTimeInMillis' | 'awsRequestId'>) => Promise<PollReport> {
  let container: Container | undefined;
  const containerOf = (): Container => {
    const dynamoDb = options.dynamoDb ?? new DynamoDBClient({});
    container ??= {
      env: readPollerEnvironment((options.env ?? (() => process.env))()),
      dynamoDb,
      sqs: options.sqs ?? new SQSClient(sqsClientConfig()),
      payloads: options.payloads ?? signedPutPayloadWriter({ client: dynamoDb }),
      secrets: options.secrets ?? createSecretReader(),
      logger: options.logger ?? new Logger({ serviceName: POLLER_SERVICE_NAME }),
      metrics: options.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName: POLLER_SERVICE_NAME }),
      sources: new Map(),
    };
    return container;
  };

  const depsFor = async (c: Container, source: SourceConfig): Promise<PollerDependencies> => {
    const secretName = secretNameOf(c.env.prefix, source);
    const secret = await c.secrets.read(secretName);
    const configKey = JSON.stringify(source);
    const cached = c.sources.get(source.id);
    if (cached !== undefined && cached.secret === secret && cached.configKey === configKey) return cached.deps;
    if (cached !== undefined) await cached.client.close();
    const { credentials, botToken } = loadSourceCredentials({
      source,
      secretJson: secret,
      secretName,
      tokenStoreFactory: dynamoDbTokenStoreFactory({ client: c.dynamoDb, tableName: c.env.stateTableName }),
    });
    const logger = c.logger.createChild({ persistentKeys: { sourceId: source.id } });
    const client = createBitrix24Client({
      credentials,
      logger: powertoolsLogger(logger),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
    });
    const deps = createPollerDependencies({
      source,
      client,
      ...(botToken === undefined ? {} : { botToken }),
      dynamoDb: c.dynamoDb,
      sqs: c.sqs,
      payloads: c.payloads,
      stateTableName: c.env.stateTableName,
      queueUrls: c.env.queueUrls,
      routes: c.env.routes,
      payloadBucketName: c.env.payloadBucketName,
      logger: powertoolsLogger(logger),
      metrics: powertoolsMetrics(source.id, c.metrics),
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.sleep === undefined ? {} : { sleep: options.sleep }),
      ...(options.tuning === undefined ? {} : { tuning: options.tuning }),
    });
    c.sources.set(source.id, { secret, configKey, client, deps });
    return deps;
  };

  return async (event, context) => {
    const source = parseSourceConfig(event.source, 'poller input "source"');
    const c = containerOf();
    const deps = await depsFor(c, source);
    const now = (options.now ?? Date.now)();
    const report = await pollSource(deps, source, {
      deadline: now + context.getRemainingTimeInMillis(),
      ownerId: `${context.awsRequestId}-${randomUUID().slice(0, 8)}`,
      mode: source.mode,
    });
    return report;
  };
}

let defaultHandler: ReturnType<typeof createPollerHandler> | undefined;

/** Lambda entry point (EventBridge schedule input: `{ "source": { …SourceConfig } }`). */
export async function handler(event: PollerEvent, context: Context): Promise<PollReport> {
  defaultHandler ??= createPollerHandler();
  return await defaultHandler(event, context);
}
