// The whole pipeline as one construct: state and idempotency tables, per-route
// FIFO queues with DLQs, the claim-check bucket, per-source secrets, the
// scheduled poller, one consumer per route, alarms and a dashboard. Names,
// keys and settings come from functions/shared/, the same definitions the
// local runtime provisions from, so what `cdk deploy` creates is what the
// integration tests run against.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as snsSubscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { type PipelineConfig, type PipelineConfigInput, type SourceConfig, parsePipelineConfig, secretNameOf } from '../functions/shared/config.js';
import { ConfigError } from '../functions/shared/errors.js';
import { ENV, METRICS_NAMESPACE, POLLER_METRICS, POLLER_SERVICE_NAME, SOURCE_DIMENSION } from '../functions/shared/observability.js';
import {
  IDEMPOTENCY_TABLE,
  QUEUE_SETTINGS,
  STATE_TABLE,
  deadLetterQueueName,
  idempotencyTableName,
  queueName,
  stateTableName,
} from '../functions/shared/topology.js';
import { deployedRoutes } from './deployed-routes.js';
import { InvalidPipelinePropsError, PipelineConfigurationError } from './errors.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** `.ts` when this module runs from the repository's sources, `.js` from the installed package's dist/ (docs/package.md). */
const SOURCE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The poller Lambda's entry: the module the integration tests exercise. */
export const POLLER_ENTRY = resolve(REPO_ROOT, `functions/poller/handler${SOURCE_EXTENSION}`);
/** The default consumer Lambda's entry (logs a one-line summary per event). */
export const DEFAULT_CONSUMER_ENTRY = resolve(REPO_ROOT, `functions/consumers/default-handler${SOURCE_EXTENSION}`);
/** Exported handler name of both entries. */
export const HANDLER_EXPORT = 'handler';

/** Powertools Metrics adds this dimension (the service name) to every metric. */
const SERVICE_DIMENSION = 'service';
/** Extra dimension of the poller's per-type EventsReceived/EventsPublished series. */
const EVENT_TYPE_DIMENSION = 'EventType';

/** Lambda's SQS event source needs visibility ≥ 6 × function timeout (AWS guidance). */
const VISIBILITY_TIMEOUT_FACTOR = 6;
/** SQS's hard maximum visibility timeout, 12 h. */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;
/** Lambda's hard maximum timeout, 15 min. */
const MAX_LAMBDA_TIMEOUT_SECONDS = 15 * 60;

/**
 * One bundle format for every Lambda: ESM (the code uses top-level await and
 * ESM-only packages), minified with source maps, the AWS SDK bundled too so
 * its version is the one pinned in package-lock.json. Local esbuild, no Docker.
 */
export const LAMBDA_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ['module', 'main'],
  externalModules: [],
  // CommonJS dependencies bundled into ESM still call require().
  banner: "import { createRequire as __cr } from 'node:module';const require = __cr(import.meta.url);",
  forceDockerBundling: false,
  // Quiet synth: esbuild reports warnings and errors only, not its size table.
  logLevel: LogLevel.WARNING,
};

/** Replaces the default consumer of one route with your own handler. */
export interface ConsumerFunctionOptions {
  /** Handler module (TypeScript or JavaScript), absolute or relative to the working directory. Export `handler = lambdaConsumer({...})` from `b24-event-pipeline/consumer` in it. */
  readonly entry: string;
  /** Exported handler name. @default "handler" */
  readonly handler?: string;
  /** Function timeout; the route's queue visibility timeout becomes 6 × this. @default the pipeline's consumerTimeout */
  readonly timeout?: Duration;
  /** Memory in MB. @default the pipeline's consumerMemorySize */
  readonly memorySize?: number;
  /** Extra environment variables. Never secrets: put those in Secrets Manager. @default none */
  readonly environment?: Readonly<Record<string, string>>;
}

export interface B24EventPipelineProps {
  /** Sources and options; validated at synth with the run-time schema (functions/shared/config.ts). */
  readonly config: PipelineConfigInput | PipelineConfig;
  /** Route key → your own consumer. Routes not listed use functions/consumers/default-handler.ts. @default default consumer on every route */
  readonly consumers?: Readonly<Record<string, ConsumerFunctionOptions>>;
  /** Customer-managed key for tables, queues, bucket, secrets and the alarm topic. Bring your own key only if its policy lets cloudwatch.amazonaws.com use it (alarms publish to the encrypted topic). @default a new key with yearly rotation */
  readonly encryptionKey?: kms.IKey;
  /** What happens to tables, bucket, secrets and key when they leave the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** `create`: the stack creates each source's secret with a placeholder value; `import`: the secrets already exist under their names. @default "create" */
  readonly secrets?: 'create' | 'import';
  /** Poller timeout. Continuous mode polls until just before it, so the next scheduled run takes over. @default scheduleMinutes × 1 min (at most 15 min) */
  readonly pollerTimeout?: Duration;
  /** Reserved concurrency of the poller, or `false` for none (new accounts with a concurrency quota of 10 cannot reserve). @default 2 × enabled sources */
  readonly pollerReservedConcurrency?: number | false;
  /** Poller memory in MB. @default 256 */
  readonly pollerMemorySize?: number;
  /** Consumer timeout; each queue's visibility timeout is 6 × the timeout of its consumer. @default QUEUE_SETTINGS.visibilityTimeoutSeconds / 6 (1 min) */
  readonly consumerTimeout?: Duration;
  /** Consumer memory in MB. @default 256 */
  readonly consumerMemorySize?: number;
  /** Retention of the Lambda log groups. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Alarm when the oldest message of a route queue is older than this. @default 15 minutes */
  readonly oldestMessageAgeAlarm?: Duration;
  /** Create the CloudWatch dashboard. @default true */
  readonly dashboard?: boolean;
}

/** Acknowledged cdk-nag finding: rule id (with its finding suffix) and why it is acceptable. */
interface Acknowledgement {
  readonly id: string;
  readonly reason: string;
}

function validateConfig(config: PipelineConfigInput | PipelineConfig): PipelineConfig {
  try {
    return parsePipelineConfig(config, 'B24EventPipeline config');
  } catch (error) {
    if (error instanceof ConfigError) throw new PipelineConfigurationError(error.message, { cause: error });
    throw error;
  }
}

function requireSeconds(name: string, value: Duration | undefined, fallbackSeconds: number, min: number, max: number): number {
  const seconds = value === undefined ? fallbackSeconds : value.toSeconds();
  if (!Number.isInteger(seconds) || seconds < min || seconds > max) {
    throw new InvalidPipelinePropsError(`${name} must be a whole number of seconds between ${min} and ${max}, got ${seconds}: change the prop.`);
  }
  return seconds;
}

function requireMemory(name: string, value: number | undefined, fallback: number): number {
  const memory = value ?? fallback;
  if (!Number.isInteger(memory) || memory < 128 || memory > 10_240) {
    throw new InvalidPipelinePropsError(`${name} must be whole MB between 128 and 10240, got ${memory}.`);
  }
  return memory;
}

/** What a Lambda of the pipeline may see of a source: no credentials, only where they are. */
function publicSourceView(prefix: string, source: SourceConfig): Record<string, unknown> {
  return {
    id: source.id,
    kind: source.kind,
    portal: source.portal,
    auth: source.auth,
    secretName: secretNameOf(prefix, source),
    ...(source.botId === undefined ? {} : { botId: source.botId }),
  };
}

/**
 * What the operator CLI reads of a source (stack output `Sources`): its
 * configuration without tuning and without credentials, only where they are.
 */
export function operatorSourceView(prefix: string, source: SourceConfig): Record<string, unknown> {
  return {
    ...publicSourceView(prefix, source),
    withUserEvents: source.withUserEvents,
    mode: source.mode,
    enabled: source.enabled,
  };
}

/**
 * Deploys the Bitrix24 event pipeline: scheduled poller → per-route FIFO
 * queues → consumers, with state, secrets, alarms and a dashboard.
 */
export class B24EventPipeline extends Construct {
  /** The validated configuration the pipeline was built from. */
  readonly config: PipelineConfig;
  /** Event type → route key, restricted to the routes that have a queue (the poller's ROUTES). */
  readonly routes: Readonly<Record<string, string>>;
  readonly encryptionKey: kms.IKey;
  readonly stateTable: dynamodb.Table;
  readonly idempotencyTable: dynamodb.Table;
  readonly payloadBucket: s3.Bucket;
  /** Route key → FIFO queue (the catch-all included). */
  readonly queues: ReadonlyMap<string, sqs.Queue>;
  /** Route key → the queue's FIFO dead-letter queue. */
  readonly deadLetterQueues: ReadonlyMap<string, sqs.Queue>;
  /** Undelivered scheduler invocations of the poller. */
  readonly schedulerDeadLetterQueue: sqs.Queue;
  /** Source id → its credentials secret. */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
  readonly poller: NodejsFunction;
  /** Source id → its poll schedule (enabled sources only). */
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** Route key → consumer function. */
  readonly consumers: ReadonlyMap<string, NodejsFunction>;
  readonly alarmTopic: sns.Topic;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard | undefined;

  private readonly removalPolicy: RemovalPolicy;
  private readonly logRetention: logs.RetentionDays;

  constructor(scope: Construct, id: string, props: B24EventPipelineProps) {
    super(scope, id);
    const config = validateConfig(props.config);
    this.config = config;
    const prefix = config.prefix;
    const { routes, routeKeys } = deployedRoutes(config);
    this.routes = routes;
    this.removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const enabledSources = config.sources.filter((s) => s.enabled);

    // ---- props that must agree with each other and with the config -------
    const consumerOverrides = props.consumers ?? {};
    for (const route of Object.keys(consumerOverrides)) {
      if (!routeKeys.includes(route)) {
        throw new InvalidPipelinePropsError(
          `consumers["${route}"]: no queue has that route key. Deployed routes: ${routeKeys.join(', ')}. Fix the key, or add a source kind / route that produces it.`,
        );
      }
    }
    const pollerTimeoutSeconds = requireSeconds('pollerTimeout', props.pollerTimeout, Math.min(config.scheduleMinutes * 60, MAX_LAMBDA_TIMEOUT_SECONDS), 10, MAX_LAMBDA_TIMEOUT_SECONDS);
    const defaultConsumerTimeoutSeconds = requireSeconds(
      'consumerTimeout',
      props.consumerTimeout,
      Math.floor(QUEUE_SETTINGS.visibilityTimeoutSeconds / VISIBILITY_TIMEOUT_FACTOR),
      1,
      MAX_LAMBDA_TIMEOUT_SECONDS,
    );
    const reserved = props.pollerReservedConcurrency ?? Math.max(1, 2 * enabledSources.length);
    if (reserved !== false && (!Number.isInteger(reserved) || reserved < enabledSources.length)) {
      throw new InvalidPipelinePropsError(
        `pollerReservedConcurrency (${String(reserved)}) must be a whole number ≥ the ${enabledSources.length} enabled source(s), each polled by its own invocation; raise it or pass false for none.`,
      );
    }
    if (props.secrets !== undefined && props.secrets !== 'create' && props.secrets !== 'import') {
      throw new InvalidPipelinePropsError(`secrets must be "create" or "import", got "${String(props.secrets)}".`);
    }

    // ---- encryption key ----------------------------------------------------
    if (props.encryptionKey === undefined) {
      const key = new kms.Key(this, 'Key', {
        description: `b24-event-pipeline ${prefix}: tables (OAuth tokens), queues, claim-check bucket, secrets, alarm topic`,
        enableKeyRotation: true,
        removalPolicy: this.removalPolicy,
      });
      // CloudWatch alarms publish to the KMS-encrypted alarm topic.
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchAlarmsToPublishToTheEncryptedTopic',
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
      this.encryptionKey = key;
    } else {
      this.encryptionKey = props.encryptionKey;
    }
    const key = this.encryptionKey;

    // ---- tables ------------------------------------------------------------
    const table = (id: string, tableName: string, partitionKey: string, ttl: string): dynamodb.Table =>
      new dynamodb.Table(this, id, {
        tableName,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        timeToLiveAttribute: ttl,
        encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryptionKey: key,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: this.removalPolicy === RemovalPolicy.RETAIN,
        removalPolicy: this.removalPolicy,
      });
    this.stateTable = table('StateTable', stateTableName(prefix), STATE_TABLE.partitionKey, STATE_TABLE.timeToLiveAttribute);
    this.idempotencyTable = table('IdempotencyTable', idempotencyTableName(prefix), IDEMPOTENCY_TABLE.partitionKey, IDEMPOTENCY_TABLE.timeToLiveAttribute);

    // ---- claim-check bucket ------------------------------------------------
    // A FIFO message can live 14 days in its queue and, its enqueue time reset
    // on redrive, 14 more in the DLQ: keep payloads one day beyond both.
    const payloadDays = 2 * Math.ceil(QUEUE_SETTINGS.retentionSeconds / 86_400) + 1;
    this.payloadBucket = new s3.Bucket(this, 'PayloadBucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: [{ id: 'expire-claim-checks', expiration: Duration.days(payloadDays), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: this.removalPolicy,
    });
    this.acknowledge(this.payloadBucket, {
      id: 'AwsSolutions-S1',
      reason:
        'Transient claim-check payloads (expire after 29 days), written only by the poller and read only by the consumers through least-privilege roles; server access logs cannot target a KMS-encrypted bucket and would add a log bucket with no consumer. Enable CloudTrail S3 data events if object-level auditing is required.',
    });

    // ---- queues --------------------------------------------------------------
    const queues = new Map<string, sqs.Queue>();
    const deadLetterQueues = new Map<string, sqs.Queue>();
    const consumerTimeouts = new Map<string, number>();
    for (const route of routeKeys) {
      const override = consumerOverrides[route];
      const timeoutSeconds = requireSeconds(`consumers["${route}"].timeout`, override?.timeout, defaultConsumerTimeoutSeconds, 1, MAX_LAMBDA_TIMEOUT_SECONDS);
      consumerTimeouts.set(route, timeoutSeconds);
      const visibilityTimeoutSeconds = Math.max(QUEUE_SETTINGS.visibilityTimeoutSeconds, VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds);
      if (visibilityTimeoutSeconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
        throw new InvalidPipelinePropsError(`route "${route}": visibility timeout ${visibilityTimeoutSeconds} s exceeds SQS's 12 h; lower the consumer timeout.`);
      }
      const routeId = `Route-${route}`;
      const dlq = new sqs.Queue(this, `${routeId}-Dlq`, {
        queueName: deadLetterQueueName(prefix, route),
        fifo: true,
        retentionPeriod: Duration.seconds(QUEUE_SETTINGS.retentionSeconds),
        visibilityTimeout: Duration.seconds(QUEUE_SETTINGS.visibilityTimeoutSeconds),
        maxMessageSizeBytes: QUEUE_SETTINGS.maxMessageBytes,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        removalPolicy: this.removalPolicy,
      });
      const queue = new sqs.Queue(this, `${routeId}-Queue`, {
        queueName: queueName(prefix, route),
        fifo: true,
        // The poller sets MessageDeduplicationId from the event id (envelope.ts).
        contentBasedDeduplication: false,
        // High-throughput FIFO: ordering and deduplication per message group.
        deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
        fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        retentionPeriod: Duration.seconds(QUEUE_SETTINGS.retentionSeconds),
        visibilityTimeout: Duration.seconds(visibilityTimeoutSeconds),
        maxMessageSizeBytes: QUEUE_SETTINGS.maxMessageBytes,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: key,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount: QUEUE_SETTINGS.maxReceiveCount },
        removalPolicy: this.removalPolicy,
      });
      queues.set(route, queue);
      deadLetterQueues.set(route, dlq);
    }
    this.queues = queues;
    this.deadLetterQueues = deadLetterQueues;

    this.schedulerDeadLetterQueue = new sqs.Queue(this, 'SchedulerDlq', {
      retentionPeriod: Duration.seconds(QUEUE_SETTINGS.retentionSeconds),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      removalPolicy: this.removalPolicy,
    });
    this.acknowledge(this.schedulerDeadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the EventBridge Scheduler targets; an alarm fires when it is not empty.',
    });

    // ---- secrets -------------------------------------------------------------
    const secrets = new Map<string, secretsmanager.ISecret>();
    for (const source of config.sources) {
      const secretName = secretNameOf(prefix, source);
      const secret =
        props.secrets === 'import'
          ? secretsmanager.Secret.fromSecretNameV2(this, `Secret-${source.id}`, secretName)
          : new secretsmanager.Secret(this, `Secret-${source.id}`, {
              secretName,
              description: `Bitrix24 ${source.auth} credentials of source "${source.id}" (${source.portal}). Replace the generated placeholder with the JSON described in the README.`,
              encryptionKey: key,
              // A random placeholder, so that no value ever appears in the template;
              // CloudFormation never overwrites the value you put in later.
              generateSecretString: { secretStringTemplate: JSON.stringify({ placeholder: true }), generateStringKey: 'replaceMe', excludePunctuation: true, passwordLength: 16 },
              removalPolicy: this.removalPolicy,
            });
      if (secret instanceof secretsmanager.Secret) {
        this.acknowledge(secret, {
          id: 'AwsSolutions-SMG4',
          reason:
            'Bitrix24 webhook codes and OAuth client secrets are issued by the portal and cannot be rotated by a Secrets Manager rotation Lambda; OAuth access/refresh tokens rotate on their own and are kept in the encrypted state table.',
        });
      }
      secrets.set(source.id, secret);
    }
    this.secrets = secrets;

    // ---- poller --------------------------------------------------------------
    const queueUrls: Record<string, string> = {};
    for (const [route, queue] of queues) queueUrls[route] = queue.queueUrl;
    const stack = Stack.of(this);
    this.poller = this.lambda('Poller', {
      description: `b24-event-pipeline ${prefix}: polls Bitrix24 Event.get per source, publishes to the route queues`,
      entry: POLLER_ENTRY,
      handler: HANDLER_EXPORT,
      timeoutSeconds: pollerTimeoutSeconds,
      memorySize: requireMemory('pollerMemorySize', props.pollerMemorySize, 256),
      environment: {
        [ENV.stateTableName]: this.stateTable.tableName,
        [ENV.queueUrls]: stack.toJsonString(queueUrls),
        [ENV.routes]: JSON.stringify(routes),
        [ENV.payloadBucketName]: this.payloadBucket.bucketName,
        [ENV.prefix]: prefix,
        POWERTOOLS_SERVICE_NAME: POLLER_SERVICE_NAME,
      },
      ...(reserved === false ? {} : { reservedConcurrentExecutions: reserved }),
      // A late tick is worthless (the next one follows), and a failed run is
      // retried by the next tick from the committed offset: no async retries.
      maxEventAge: Duration.seconds(Math.max(60, config.scheduleMinutes * 60)),
      retryAttempts: 0,
    });
    const pollerRole = this.roleOf(this.poller);
    pollerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SourceStateLeaseOffsetAndTokens',
        // Lease, offset and tokens are conditional puts/updates; nothing is deleted.
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [this.stateTable.tableArn],
      }),
    );
    pollerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'PublishToRouteQueues', actions: ['sqs:SendMessage'], resources: [...queues.values()].map((q) => q.queueArn) }),
    );
    pollerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'WriteClaimChecks', actions: ['s3:PutObject'], resources: [this.payloadBucket.arnForObjects('*')] }),
    );
    this.grantKeyUse(pollerRole);
    for (const secret of secrets.values()) secret.grantRead(pollerRole);
    this.acknowledgeObjectWildcard(pollerRole, 'the poller writes one claim-check object per oversized event under a key it derives from the source and event id');

    // ---- schedules: one per enabled source -----------------------------------
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: `b24-event-pipeline ${prefix}: EventBridge Scheduler invokes the poller`,
    });
    key.grant(schedulerRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.acknowledge(schedulerRole, {
      id: `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(this.poller)}.Arn>:*]`,
      reason: 'Added by CDK grantInvoke for versions/aliases of the poller function; the scheduler targets the unqualified poller only.',
    });
    const schedules = new Map<string, scheduler.Schedule>();
    for (const source of enabledSources) {
      const input = { source: { ...source, secretName: secretNameOf(prefix, source) } };
      const schedule = new scheduler.Schedule(this, `Schedule-${source.id}`, {
        description: `Poll Bitrix24 source "${source.id}" (${source.kind}, ${source.mode}) every ${config.scheduleMinutes} min`,
        schedule: scheduler.ScheduleExpression.rate(Duration.minutes(config.scheduleMinutes)),
        target: new schedulerTargets.LambdaInvoke(this.poller, {
          role: schedulerRole,
          input: scheduler.ScheduleTargetInput.fromObject(input),
          deadLetterQueue: this.schedulerDeadLetterQueue,
          retryAttempts: 3,
          maxEventAge: Duration.seconds(Math.max(60, config.scheduleMinutes * 60)),
        }),
      });
      schedules.set(source.id, schedule);
    }
    this.schedules = schedules;

    // ---- consumers -----------------------------------------------------------
    const sourcesJson = JSON.stringify(config.sources.map((s) => publicSourceView(prefix, s)));
    const consumers = new Map<string, NodejsFunction>();
    for (const route of routeKeys) {
      const override = consumerOverrides[route];
      const queue = queues.get(route);
      const timeoutSeconds = consumerTimeouts.get(route);
      if (queue === undefined || timeoutSeconds === undefined) throw new InvalidPipelinePropsError(`internal: no queue for route "${route}"`);
      const fn = this.lambda(`Consumer-${route}`, {
        description: `b24-event-pipeline ${prefix}: consumer of route "${route}"${override ? ` (${override.entry})` : ''}`,
        entry: override ? resolve(override.entry) : DEFAULT_CONSUMER_ENTRY,
        handler: override?.handler ?? HANDLER_EXPORT,
        timeoutSeconds,
        memorySize: requireMemory(`consumers["${route}"].memorySize`, override?.memorySize ?? props.consumerMemorySize, 256),
        environment: {
          ...(override?.environment ?? {}),
          [ENV.idempotencyTableName]: this.idempotencyTable.tableName,
          [ENV.stateTableName]: this.stateTable.tableName,
          [ENV.payloadBucketName]: this.payloadBucket.bucketName,
          [ENV.route]: route,
          [ENV.sources]: sourcesJson,
          [ENV.prefix]: prefix,
        },
      });
      fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: config.consumer.batchSize,
          maxConcurrency: config.consumer.maxConcurrency,
          reportBatchItemFailures: true,
          // FIFO event sources accept no batching window.
        }),
      );
      const role = this.roleOf(fn);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'IdempotencyRecords',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [this.idempotencyTable.tableArn],
        }),
      );
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'OAuthTokensForBitrix24Calls',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [this.stateTable.tableArn],
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadClaimChecks', actions: ['s3:GetObject'], resources: [this.payloadBucket.arnForObjects('*')] }));
      this.grantKeyUse(role);
      for (const secret of secrets.values()) secret.grantRead(role);
      this.acknowledgeObjectWildcard(role, 'a consumer reads the claim-check objects the poller wrote; their keys are only known from the queue messages');
      consumers.set(route, fn);
    }
    this.consumers = consumers;

    // ---- alarms -------------------------------------------------------------
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `b24-event-pipeline ${prefix} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    if (config.alarmEmail !== undefined) this.alarmTopic.addSubscription(new snsSubscriptions.EmailSubscription(config.alarmEmail));
    this.alarms = this.createAlarms(prefix, enabledSources, props.oldestMessageAgeAlarm ?? Duration.minutes(15));
    this.dashboard = props.dashboard === false ? undefined : this.createDashboard(prefix, enabledSources);
  }

  /**
   * A per-source poller metric as the poller emits it (EMF via Powertools):
   * namespace METRICS_NAMESPACE, dimensions { service, SourceId }.
   */
  pollerMetric(metricName: string, sourceId: string, options: { period?: Duration; statistic?: string } = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [SERVICE_DIMENSION]: POLLER_SERVICE_NAME, [SOURCE_DIMENSION]: sourceId },
      statistic: options.statistic ?? cloudwatch.Stats.SUM,
      period: options.period ?? Duration.minutes(5),
    });
  }

  /**
   * A poller metric that exists only per extra dimension (EventsReceived and
   * EventsPublished per EventType), summed over that dimension with a Metrics
   * Insights query. PollerErrors also has an aggregate series: use pollerMetric.
   */
  pollerMetricSummedOver(metricName: string, dimension: string, sourceId: string, period: Duration = Duration.minutes(5)): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", ${dimension}, ${SERVICE_DIMENSION}, ${SOURCE_DIMENSION}) WHERE ${SERVICE_DIMENSION} = '${POLLER_SERVICE_NAME}' AND ${SOURCE_DIMENSION} = '${sourceId}'`,
      usingMetrics: {},
      period,
      label: `${metricName} ${sourceId}`,
    });
  }

  private createAlarms(prefix: string, enabledSources: readonly SourceConfig[], oldestMessageAge: Duration): cloudwatch.Alarm[] {
    const alarms: cloudwatch.Alarm[] = [];
    const action = new cloudwatchActions.SnsAction(this.alarmTopic);
    const add = (id: string, props: cloudwatch.AlarmProps): void => {
      const alarm = new cloudwatch.Alarm(this, id, props);
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms.push(alarm);
    };
    const fiveMinutes = Duration.minutes(5);

    for (const [route, dlq] of this.deadLetterQueues) {
      add(`Alarm-DlqNotEmpty-${route}`, {
        alarmName: `${prefix}-dlq-not-empty-${route}`,
        alarmDescription: `Messages of route "${route}" failed ${QUEUE_SETTINGS.maxReceiveCount} times and sit in ${deadLetterQueueName(prefix, route)}. Fix the consumer, then redrive (README: alarms).`,
        metric: dlq.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const [route, queue] of this.queues) {
      add(`Alarm-OldestMessage-${route}`, {
        alarmName: `${prefix}-oldest-message-${route}`,
        alarmDescription: `The oldest message of route "${route}" waits for more than ${oldestMessageAge.toMinutes()} min: its consumer is failing, throttled or too slow.`,
        metric: queue.metricApproximateAgeOfOldestMessage({ period: fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM }),
        threshold: oldestMessageAge.toSeconds(),
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    add('Alarm-SchedulerDlqNotEmpty', {
      alarmName: `${prefix}-scheduler-dlq-not-empty`,
      alarmDescription: 'EventBridge Scheduler could not invoke the poller (throttled, deleted or denied) after its retries.',
      metric: this.schedulerDeadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: fiveMinutes, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    add('Alarm-PollerFunctionErrors', {
      alarmName: `${prefix}-poller-function-errors`,
      alarmDescription: 'The poller Lambda crashed or timed out in 2 of the last 3 five-minute periods. See its log group.',
      metric: this.poller.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const [route, fn] of this.consumers) {
      add(`Alarm-ConsumerFunctionErrors-${route}`, {
        alarmName: `${prefix}-consumer-function-errors-${route}`,
        alarmDescription: `The consumer of route "${route}" crashed or timed out (whole batches retried) in 2 of the last 3 five-minute periods.`,
        metric: fn.metricErrors({ period: fiveMinutes, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    const staleAfter = this.config.staleAfterMinutes;
    for (const source of enabledSources) {
      add(`Alarm-Stale-${source.id}`, {
        alarmName: `${prefix}-stale-${source.id}`,
        alarmDescription: `No successful Event.get of source "${source.id}" for ${staleAfter} min. Bitrix24 keeps events only 24 h: find out why (auth, poller errors, disabled schedule) well before that.`,
        metric: this.pollerMetric(POLLER_METRICS.pollSucceeded, source.id, { period: Duration.minutes(1) }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: staleAfter,
        datapointsToAlarm: staleAfter,
        // No heartbeat at all is exactly what this alarm is for.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
      add(`Alarm-AuthFailures-${source.id}`, {
        alarmName: `${prefix}-auth-failures-${source.id}`,
        alarmDescription: `Bitrix24 rejected the credentials of source "${source.id}" (webhook deleted, OAuth refresh token revoked, permission missing). Update its secret.`,
        metric: this.pollerMetric(POLLER_METRICS.authFailures, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add(`Alarm-PollerErrors-${source.id}`, {
        alarmName: `${prefix}-poller-errors-${source.id}`,
        alarmDescription: `Polling source "${source.id}" has failed in each of the last 3 five-minute periods (transient errors are retried; this is persistent). The ErrorCode dimension names the error.`,
        metric: this.pollerMetric(POLLER_METRICS.pollerErrors, source.id),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      add(`Alarm-LeaseConflicts-${source.id}`, {
        alarmName: `${prefix}-lease-conflicts-${source.id}`,
        alarmDescription: `Pollers of source "${source.id}" keep colliding on its lease: two stacks/local runtimes poll the same source, or the poller timeout exceeds the schedule period.`,
        metric: this.pollerMetric(POLLER_METRICS.leaseConflicts, source.id, { period: Duration.minutes(15) }),
        threshold: 3,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    return alarms;
  }

  private createDashboard(prefix: string, enabledSources: readonly SourceConfig[]): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: `${prefix}-event-pipeline`, defaultInterval: Duration.hours(3) });
    const perSource = (metricName: string): cloudwatch.IMetric[] =>
      enabledSources.map((s) => this.pollerMetric(metricName, s.id, { period: Duration.minutes(1) }).with({ label: s.id }));
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: [...this.alarms], width: 24 }));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Successful polls (heartbeat)', left: perSource(POLLER_METRICS.pollSucceeded), width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Events received (left) / published (right)',
        left: enabledSources.map((s) => this.pollerMetricSummedOver(POLLER_METRICS.eventsReceived, EVENT_TYPE_DIMENSION, s.id, Duration.minutes(1))),
        right: enabledSources.map((s) => this.pollerMetricSummedOver(POLLER_METRICS.eventsPublished, EVENT_TYPE_DIMENSION, s.id, Duration.minutes(1))),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Event age (ms, p90)',
        left: enabledSources.map((s) => this.pollerMetric(POLLER_METRICS.eventAge, s.id, { period: Duration.minutes(1), statistic: 'p90' }).with({ label: s.id })),
        width: 8,
      }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Poller errors', left: perSource(POLLER_METRICS.pollerErrors), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Auth failures', left: perSource(POLLER_METRICS.authFailures), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lease conflicts', left: perSource(POLLER_METRICS.leaseConflicts), width: 8 }),
    );
    const byRoute = (f: (route: string, q: sqs.Queue) => cloudwatch.IMetric, map: ReadonlyMap<string, sqs.Queue>): cloudwatch.IMetric[] =>
      [...map].map(([route, q]) => f(route, q));
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        left: byRoute((route, q) => q.metricApproximateNumberOfMessagesVisible({ label: route, period: Duration.minutes(1) }), this.queues),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Oldest message age (s)',
        left: byRoute((route, q) => q.metricApproximateAgeOfOldestMessage({ label: route, period: Duration.minutes(1) }), this.queues),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Dead-letter queues',
        left: byRoute((route, q) => q.metricApproximateNumberOfMessagesVisible({ label: route, period: Duration.minutes(1) }), this.deadLetterQueues),
        width: 8,
      }),
    );
    const fns = [['poller', this.poller] as const, ...[...this.consumers].map(([route, fn]) => [route, fn] as const)];
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Lambda invocations', left: fns.map(([name, fn]) => fn.metricInvocations({ label: name })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda errors', left: fns.map(([name, fn]) => fn.metricErrors({ label: name })), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda duration (p90)', left: fns.map(([name, fn]) => fn.metricDuration({ label: name, statistic: 'p90' })), width: 8 }),
    );
    return dashboard;
  }

  /** A Lambda with its own role (no AWS-managed policy) and its own log group. */
  private lambda(
    id: string,
    options: {
      description: string;
      entry: string;
      handler: string;
      timeoutSeconds: number;
      memorySize: number;
      environment: Record<string, string>;
      reservedConcurrentExecutions?: number;
      maxEventAge?: Duration;
      retryAttempts?: number;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}-Logs`, { retention: this.logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const role = new iam.Role(this, `${id}-Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: options.description,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'WriteOwnLogGroup', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    const fn = new NodejsFunction(this, id, {
      description: options.description,
      entry: options.entry,
      handler: options.handler,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: Duration.seconds(options.timeoutSeconds),
      memorySize: options.memorySize,
      role,
      logGroup,
      environment: { ...options.environment, NODE_OPTIONS: '--enable-source-maps', POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE },
      bundling: LAMBDA_BUNDLING,
      ...(options.reservedConcurrentExecutions === undefined ? {} : { reservedConcurrentExecutions: options.reservedConcurrentExecutions }),
      ...(options.maxEventAge === undefined ? {} : { maxEventAge: options.maxEventAge }),
      ...(options.retryAttempts === undefined ? {} : { retryAttempts: options.retryAttempts }),
    });
    this.acknowledge(fn, {
      id: 'AwsSolutions-L1',
      reason: 'Pinned to Node.js 22, the runtime the code is tested on (package.json engines, the test suite asserts it); Node.js 22 is supported by Lambda.',
    });
    return fn;
  }

  private roleOf(fn: lambda.IFunction): iam.IRole {
    if (fn.role === undefined) throw new InvalidPipelinePropsError(`internal: function ${fn.node.path} has no role`);
    return fn.role;
  }

  /** One statement for the customer-managed key: tables, queues, bucket (S3 Bucket Key) and secrets. */
  private grantKeyUse(role: iam.IRole): void {
    this.encryptionKey.grant(role, 'kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey');
  }

  private acknowledgeObjectWildcard(role: iam.IRole, why: string): void {
    this.acknowledge(role, {
      id: `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(this.payloadBucket)}.Arn>/*]`,
      reason: `Object-level access to the claim-check bucket only: ${why}.`,
    });
  }

  private logicalIdOf(construct: IConstruct): string {
    const child = construct.node.defaultChild;
    if (!(child instanceof Construct) || !('logicalId' in child)) throw new InvalidPipelinePropsError(`internal: ${construct.node.path} has no CloudFormation resource`);
    return Stack.of(this).resolve((child as { logicalId: string }).logicalId) as string;
  }

  private acknowledge(scope: IConstruct, acknowledgement: Acknowledgement): void {
    Validations.of(scope).acknowledge(acknowledgement);
  }
}

