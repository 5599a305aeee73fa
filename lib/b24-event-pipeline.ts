// The whole pipeline as one construct, composed of named parts (lib/parts/):
// encryption key, state, idempotency and source registry tables, the registry
// seed, claim-check bucket, route queues with DLQs, the poller shards, the
// route consumers, alarms and a dashboard. Nothing in it grows with the number
// of sources (issue 13): sources live in the registry, their secrets under a
// name prefix, their alarms are one Metrics Insights alarm per kind. Names, keys and settings come from functions/shared/,
// the same definitions the local runtime provisions from, so what `cdk deploy`
// creates is what the integration tests run against. docs/infrastructure.md
// names the parts.
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { CustomResource } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type PipelineConfig, type PipelineConfigInput, type SourceConfig, parsePipelineConfig, secretNameOf } from '../functions/shared/config.js';
import { ConfigError } from '../functions/shared/errors.js';
import * as topology from '../functions/shared/topology.js';
import { deployedRoutes } from './deployed-routes.js';
import { InvalidPipelinePropsError, PipelineConfigurationError } from './errors.js';
import { ClaimCheckBucket } from './parts/claim-check-bucket.js';
import { PipelineEncryptionKey } from './parts/encryption-key.js';
import { InstallEndpoint } from './parts/install-endpoint.js';
import { PipelineAlarms } from './parts/pipeline-alarms.js';
import { PipelineDashboard } from './parts/pipeline-dashboard.js';
import { MAX_LAMBDA_TIMEOUT_SECONDS } from './parts/pipeline-function.js';
import { pollerMetric, pollerMetricSummedOver } from './parts/pipeline-metrics.js';
import { PollerFleet } from './parts/poller-fleet.js';
import { type RouteConsumerSpec, RouteConsumers } from './parts/route-consumers.js';
import { RouteQueues, VISIBILITY_TIMEOUT_FACTOR } from './parts/route-queues.js';
import { RegistrySeed } from './parts/registry-seed.js';
import { SecretNames } from './parts/source-secrets.js';
import { StateTables } from './parts/state-tables.js';

export { LAMBDA_BUNDLING } from './parts/pipeline-function.js';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
/** `.ts` when this module runs from the repository's sources, `.js` from the installed package's dist/ (docs/package.md). */
const SOURCE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** The poller Lambda's entry: the module the integration tests exercise. */
export const POLLER_ENTRY = resolve(REPO_ROOT, `functions/poller/handler${SOURCE_EXTENSION}`);
/** The default consumer Lambda's entry (logs a one-line summary per event). */
export const DEFAULT_CONSUMER_ENTRY = resolve(REPO_ROOT, `functions/consumers/default-handler${SOURCE_EXTENSION}`);
/** The registry seed custom resource's entry (functions/registry/seed-handler.ts). */
export const REGISTRY_SEED_ENTRY = resolve(REPO_ROOT, `functions/registry/seed-handler${SOURCE_EXTENSION}`);
/** The Marketplace install endpoint's entry (config `install.enabled`, docs/install.md). */
export const INSTALL_ENTRY = resolve(REPO_ROOT, `functions/install/handler${SOURCE_EXTENSION}`);
/** Exported handler name of every entry. */
export const HANDLER_EXPORT = 'handler';

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
  /** Your own state table (partition key `pk` string, TTL `expiresAt`, encrypted with `encryptionKey`), e.g. one kept from an earlier stack. @default a new table `<prefix>-state` */
  readonly stateTable?: dynamodb.ITable;
  /** Your own idempotency table (partition key `id` string, TTL `expiration`, encrypted with `encryptionKey`). @default a new table `<prefix>-idempotency` */
  readonly idempotencyTable?: dynamodb.ITable;
  /** Your own source registry (partition key `id` string, encrypted with `encryptionKey`). @default a new table `<prefix>-sources` */
  readonly registryTable?: dynamodb.ITable;
  /** Your own topic for alarm notifications; its policy must let CloudWatch publish. Conflicts with config `alarmEmail` (subscribe your topic yourself). @default a new KMS-encrypted, TLS-only topic */
  readonly alarmTopic?: sns.ITopic;
  /** Customer-managed key for tables, queues, bucket, secrets and the alarm topic. Bring your own key only if its policy lets cloudwatch.amazonaws.com use it (alarms publish to the encrypted topic). @default a new key with yearly rotation */
  readonly encryptionKey?: kms.IKey;
  /** What happens to tables, bucket, secrets and key when they leave the stack. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
  /** `create`: the registry seed creates each configured source's missing secret with a placeholder value at deploy; `import`: the secrets already exist under their names. @default "create" */
  readonly secrets?: 'create' | 'import';
  /** Poller timeout. Continuous mode polls until just before it, so the next scheduled run takes over. @default scheduleMinutes × 1 min (at most 15 min) */
  readonly pollerTimeout?: Duration;
  /** Reserved concurrency of the poller, or `false` for none (new accounts with a concurrency quota of 10 cannot reserve). @default 2 × fleet.shards (a shard's run may overlap the next) */
  readonly pollerReservedConcurrency?: number | false;
  /** Poller memory in MB. @default 256 */
  readonly pollerMemorySize?: number;
  /** Consumer timeout; each queue's visibility timeout is 6 × the timeout of its consumer. @default topology.QUEUE_SETTINGS.visibilityTimeoutSeconds / 6 (1 min) */
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
 * queues → consumers, with state, secrets, alarms and a dashboard. Each piece
 * is a part (lib/parts/) a reader finds by name; the part's resources sit
 * directly under this construct so that logical ids do not depend on the
 * split (see PipelineEncryptionKey).
 */
export class B24EventPipeline extends Construct {
  /** The validated configuration the pipeline was built from. */
  readonly config: PipelineConfig;
  /** Event type → route key, restricted to the routes that have a queue (the poller's ROUTES). */
  readonly routes: Readonly<Record<string, string>>;
  readonly encryptionKey: kms.IKey;
  readonly stateTable: dynamodb.ITable;
  readonly idempotencyTable: dynamodb.ITable;
  /** The source registry (functions/registry). */
  readonly registryTable: dynamodb.ITable;
  /** The custom resource that seeds the configured sources into the registry at deploy. */
  readonly registrySeed: CustomResource;
  readonly payloadBucket: s3.Bucket;
  /** Route key → FIFO queue (the catch-all included). */
  readonly queues: ReadonlyMap<string, sqs.Queue>;
  /** Route key → the queue's FIFO dead-letter queue. */
  readonly deadLetterQueues: ReadonlyMap<string, sqs.Queue>;
  /** Undelivered scheduler invocations of the poller. */
  readonly schedulerDeadLetterQueue: sqs.Queue;
  /** Configured source id → a reference to its credentials secret (no resource: secrets are created at run time or by the seed). */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
  /** The name prefix of every source's secret, `<prefix>/sources/`. */
  readonly secretNamePrefix: string;
  readonly poller: NodejsFunction;
  /** The poller shards' schedules, shard 0 first (config fleet.shards). */
  readonly schedules: readonly scheduler.Schedule[];
  /** Route key → consumer function. */
  readonly consumers: ReadonlyMap<string, NodejsFunction>;
  readonly alarmTopic: sns.ITopic;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard | undefined;
  /** The parts, by name. */
  readonly parts: {
    readonly encryptionKey: PipelineEncryptionKey;
    readonly stateTables: StateTables;
    readonly claimCheckBucket: ClaimCheckBucket;
    readonly routeQueues: RouteQueues;
    readonly registrySeed: RegistrySeed;
    readonly pollerFleet: PollerFleet;
    readonly routeConsumers: RouteConsumers;
    readonly alarms: PipelineAlarms;
    readonly dashboard: PipelineDashboard | undefined;
    /** Config `install.enabled`: the install endpoint (function URL, app secret). */
    readonly installEndpoint: InstallEndpoint | undefined;
  };

  constructor(scope: Construct, id: string, props: B24EventPipelineProps) {
    super(scope, id);
    const config = validateConfig(props.config);
    this.config = config;
    const prefix = config.prefix;
    const { routes, routeKeys } = deployedRoutes(config);
    this.routes = routes;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;
    const resolved = resolveProps(props, config, routeKeys);

    const encryptionKey = new PipelineEncryptionKey(this, 'PipelineEncryptionKey', { prefix, removalPolicy, ...(props.encryptionKey === undefined ? {} : { existingKey: props.encryptionKey }) });
    const key = encryptionKey.key;
    const stateTables = new StateTables(this, 'StateTables', {
      prefix,
      encryptionKey: key,
      removalPolicy,
      ...(props.stateTable === undefined ? {} : { existingStateTable: props.stateTable }),
      ...(props.idempotencyTable === undefined ? {} : { existingIdempotencyTable: props.idempotencyTable }),
      ...(props.registryTable === undefined ? {} : { existingRegistryTable: props.registryTable }),
    });
    const claimCheckBucket = new ClaimCheckBucket(this, 'ClaimCheckBucket', { encryptionKey: key, removalPolicy });
    const consumerTimeoutSeconds = new Map([...resolved.consumers].map(([route, spec]) => [route, spec.timeoutSeconds]));
    const routeQueues = new RouteQueues(this, 'RouteQueues', { prefix, consumerTimeoutSeconds, encryptionKey: key, removalPolicy, maxReceiveCount: resolved.maxReceiveCount });
    const secretNames = new SecretNames(this, prefix);
    const registrySeed = new RegistrySeed(this, 'RegistrySeed', {
      prefix,
      entry: REGISTRY_SEED_ENTRY,
      handler: HANDLER_EXPORT,
      sources: config.sources,
      registryTable: stateTables.registryTable,
      secrets: props.secrets ?? 'create',
      secretNames,
      encryptionKey: key,
      logRetention,
    });
    const pollerFleet = new PollerFleet(this, 'PollerFleet', {
      prefix,
      entry: POLLER_ENTRY,
      handler: HANDLER_EXPORT,
      shards: config.fleet.shards,
      sourcesPerInvocation: config.fleet.sourcesPerInvocation,
      ...(config.fleet.portalBudgets === undefined ? {} : { portalBudgets: config.fleet.portalBudgets }),
      scheduleMinutes: config.scheduleMinutes,
      registryTable: stateTables.registryTable,
      configuredSources: config.sources,
      routes,
      queues: routeQueues.queues,
      stateTable: stateTables.stateTable,
      payloadBucket: claimCheckBucket.bucket,
      secretNames,
      encryptionKey: key,
      timeoutSeconds: resolved.pollerTimeoutSeconds,
      memorySize: resolved.pollerMemorySize,
      reservedConcurrency: resolved.pollerReservedConcurrency,
      logRetention,
      removalPolicy,
    });
    const routeConsumers = new RouteConsumers(this, 'RouteConsumers', {
      prefix,
      consumers: resolved.consumers,
      queues: routeQueues.queues,
      deadLetterQueues: routeQueues.deadLetterQueues,
      configuredSources: config.sources,
      registryTable: stateTables.registryTable,
      maxAttempts: resolved.maxAttempts,
      ...(config.fleet.portalBudgets === undefined ? {} : { portalBudgets: config.fleet.portalBudgets }),
      stateTable: stateTables.stateTable,
      idempotencyTable: stateTables.idempotencyTable,
      payloadBucket: claimCheckBucket.bucket,
      secretNames,
      encryptionKey: key,
      batchSize: config.consumer.batchSize,
      maxConcurrency: config.consumer.maxConcurrency,
      logRetention,
    });
    const alarms = new PipelineAlarms(this, 'PipelineAlarms', {
      prefix,
      maxReceiveCount: resolved.maxReceiveCount,
      staleAfterMinutes: config.staleAfterMinutes,
      ...(props.oldestMessageAgeAlarm === undefined ? {} : { oldestMessageAge: props.oldestMessageAgeAlarm }),
      queues: routeQueues.queues,
      deadLetterQueues: routeQueues.deadLetterQueues,
      schedulerDeadLetterQueue: pollerFleet.schedulerDeadLetterQueue,
      poller: pollerFleet.poller,
      consumers: routeConsumers.consumers,
      ...(props.alarmTopic === undefined ? {} : { existingTopic: props.alarmTopic }),
      encryptionKey: key,
      ...(config.alarmEmail === undefined ? {} : { alarmEmail: config.alarmEmail }),
    });
    const dashboard =
      props.dashboard === false
        ? undefined
        : new PipelineDashboard(this, 'PipelineDashboard', {
            prefix,
            alarms: alarms.alarms,
            queues: routeQueues.queues,
            deadLetterQueues: routeQueues.deadLetterQueues,
            poller: pollerFleet.poller,
            consumers: routeConsumers.consumers,
          });

    const installEndpoint =
      config.install?.enabled === true
        ? new InstallEndpoint(this, 'InstallEndpoint', { prefix, entry: INSTALL_ENTRY, handler: HANDLER_EXPORT, install: config.install, stateTable: stateTables.stateTable, registryTable: stateTables.registryTable, encryptionKey: key, logRetention, removalPolicy })
        : undefined;
    if (installEndpoint !== undefined) {
      // Installed sources are polled and served like any other (docs/install.md): the app secret, and the consumers' install items.
      installEndpoint.grantInstalledSources(pollerFleet.poller, 'poller');
      for (const consumer of routeConsumers.consumers.values()) installEndpoint.grantInstalledSources(consumer, 'consumer');
    }

    this.parts = { encryptionKey, stateTables, claimCheckBucket, routeQueues, registrySeed, pollerFleet, routeConsumers, alarms, dashboard, installEndpoint };
    this.encryptionKey = key;
    this.stateTable = stateTables.stateTable;
    this.idempotencyTable = stateTables.idempotencyTable;
    this.registryTable = stateTables.registryTable;
    this.registrySeed = registrySeed.resource;
    this.payloadBucket = claimCheckBucket.bucket;
    this.queues = routeQueues.queues;
    this.deadLetterQueues = routeQueues.deadLetterQueues;
    this.secrets = secretNames.references(config.sources);
    this.secretNamePrefix = secretNames.namePrefix;
    this.schedulerDeadLetterQueue = pollerFleet.schedulerDeadLetterQueue;
    this.poller = pollerFleet.poller;
    this.schedules = pollerFleet.schedules;
    this.consumers = routeConsumers.consumers;
    this.alarmTopic = alarms.topic;
    this.alarms = alarms.alarms;
    this.dashboard = dashboard?.dashboard;
  }

  /**
   * A per-source poller metric as the poller emits it (EMF via Powertools):
   * namespace METRICS_NAMESPACE, dimensions { service, SourceId }.
   */
  pollerMetric(metricName: string, sourceId: string, options: { period?: Duration; statistic?: string } = {}): cloudwatch.Metric {
    return pollerMetric(metricName, sourceId, options);
  }

  /**
   * A poller metric that exists only per extra dimension (EventsReceived and
   * EventsPublished per EventType), summed over that dimension with a Metrics
   * Insights query. PollerErrors also has an aggregate series: use pollerMetric.
   */
  pollerMetricSummedOver(metricName: string, dimension: string, sourceId: string, period?: Duration): cloudwatch.MathExpression {
    return pollerMetricSummedOver(metricName, dimension, sourceId, period);
  }
}

/** The consumers' attempts before they dead-letter an event (config consumer.maxAttempts). */
const DEFAULT_MAX_ATTEMPTS = 5;

/**
 * The queue's redrive maxReceiveCount for maxAttempts: topology.maxReceiveCountFor
 * (a backstop well above the consumer's own dead-lettering), read defensively
 * while the delivery change that adds it is not merged; topology.QUEUE_SETTINGS.maxReceiveCount otherwise.
 */
function redriveMaxReceiveCount(maxAttempts: number): number {
  const forAttempts = (topology as { maxReceiveCountFor?: (attempts: number) => number }).maxReceiveCountFor;
  return forAttempts === undefined ? topology.QUEUE_SETTINGS.maxReceiveCount : forAttempts(maxAttempts);
}

interface ResolvedProps {
  readonly maxAttempts: number;
  readonly maxReceiveCount: number;
  readonly pollerTimeoutSeconds: number;
  readonly pollerMemorySize: number;
  readonly pollerReservedConcurrency: number | false;
  /** Route key → its consumer, in route order. */
  readonly consumers: ReadonlyMap<string, RouteConsumerSpec>;
}

/** Props checked against each other and the configuration, defaults applied. Throws InvalidPipelinePropsError naming the prop and the fix. */
function resolveProps(props: B24EventPipelineProps, config: PipelineConfig, routeKeys: readonly string[]): ResolvedProps {
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
    Math.floor(topology.QUEUE_SETTINGS.visibilityTimeoutSeconds / VISIBILITY_TIMEOUT_FACTOR),
    1,
    MAX_LAMBDA_TIMEOUT_SECONDS,
  );
  const shards = config.fleet.shards;
  const reserved = props.pollerReservedConcurrency ?? 2 * shards;
  if (reserved !== false && (!Number.isInteger(reserved) || reserved < shards)) {
    throw new InvalidPipelinePropsError(
      `pollerReservedConcurrency (${String(reserved)}) must be a whole number ≥ fleet.shards (${shards}), each shard run being one invocation; raise it or pass false for none.`,
    );
  }
  if (props.secrets !== undefined && props.secrets !== 'create' && props.secrets !== 'import') {
    throw new InvalidPipelinePropsError(`secrets must be "create" or "import", got "${String(props.secrets)}".`);
  }
  if (props.alarmTopic !== undefined && config.alarmEmail !== undefined) {
    throw new InvalidPipelinePropsError('alarmTopic and config alarmEmail both given: the pipeline subscribes the e-mail only to a topic it creates. Remove alarmEmail and subscribe your topic yourself, or drop alarmTopic.');
  }
  const consumers = new Map<string, RouteConsumerSpec>();
  for (const route of routeKeys) {
    const override = consumerOverrides[route];
    consumers.set(route, {
      entry: override ? resolve(override.entry) : DEFAULT_CONSUMER_ENTRY,
      handler: override?.handler ?? HANDLER_EXPORT,
      timeoutSeconds: requireSeconds(`consumers["${route}"].timeout`, override?.timeout, defaultConsumerTimeoutSeconds, 1, MAX_LAMBDA_TIMEOUT_SECONDS),
      memorySize: requireMemory(`consumers["${route}"].memorySize`, override?.memorySize ?? props.consumerMemorySize, 256),
      ...(override?.environment === undefined ? {} : { environment: override.environment }),
      ...(override === undefined ? {} : { describedAs: override.entry }),
    });
  }
  const maxAttempts = (config.consumer as { maxAttempts?: number }).maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  return {
    maxAttempts,
    maxReceiveCount: redriveMaxReceiveCount(maxAttempts),
    pollerTimeoutSeconds,
    pollerMemorySize: requireMemory('pollerMemorySize', props.pollerMemorySize, 256),
    pollerReservedConcurrency: reserved,
    consumers,
  };
}
