// Part: the poller and what runs it (issue 13). A fixed number of shards, N
// EventBridge schedules whatever the number of sources: schedule i invokes the
// poller with `{"shard": i, "shardCount": N}`, and that invocation claims the
// leases of up to SOURCES_PER_INVOCATION sources of the registry (the fleet's
// handler, docs/poller.md). Undeliverable invocations land in a dead-letter queue.
import { Duration, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as schedulerTargets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { SourceConfig } from '../../functions/shared/config.js';
import { ENV, POLLER_SERVICE_NAME } from '../../functions/shared/observability.js';
import { QUEUE_SETTINGS } from '../../functions/shared/topology.js';
import type { PortalRatesInput } from '../../functions/budget/rates.js';
import { acknowledge, acknowledgeObjectWildcard, grantKeyUse, logicalIdOf, pipelineFunction, roleOf } from './pipeline-function.js';
import type { SecretNames } from './source-secrets.js';

/** The scheduled input of shard `shard` of `shardCount` (what the fleet's poller handler reads). */
export interface ShardInput {
  readonly shard: number;
  readonly shardCount: number;
}

export interface PollerFleetProps {
  /** Resource name prefix (PIPELINE_PREFIX of the poller). */
  readonly prefix: string;
  /** Handler module of the poller and its exported name. */
  readonly entry: string;
  readonly handler: string;
  /** Scheduled shards (config fleet.shards): one schedule each. */
  readonly shards: number;
  /** Sources one invocation claims (config fleet.sourcesPerInvocation). */
  readonly sourcesPerInvocation: number;
  /** Request budget per portal (config fleet.portalBudgets). @default 2/s, burst 10 per portal */
  readonly portalBudgets?: PortalRatesInput;
  /** Minutes between scheduled runs of a shard. */
  readonly scheduleMinutes: number;
  /** The registry the shards list and claim sources from (read only). */
  readonly registryTable: dynamodb.ITable;
  /** The configured sources (only for secret names outside the prefix). */
  readonly configuredSources: readonly SourceConfig[];
  /** Event type → route key the poller publishes by (ROUTES). */
  readonly routes: Readonly<Record<string, string>>;
  /** Route key → queue the poller publishes to. */
  readonly queues: ReadonlyMap<string, sqs.IQueue>;
  readonly stateTable: dynamodb.ITable;
  readonly payloadBucket: s3.IBucket;
  /** The sources' secrets by name prefix; the poller reads them. */
  readonly secretNames: SecretNames;
  readonly encryptionKey: kms.IKey;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** Reserved concurrency, or false for none. */
  readonly reservedConcurrency: number | false;
  readonly logRetention: logs.RetentionDays;
  /** What happens to the scheduler's dead-letter queue when it leaves the stack. */
  readonly removalPolicy: RemovalPolicy;
}

/** The poller Lambda, its shard schedules and the scheduler's DLQ. Resources are created in `scope` (see PipelineEncryptionKey). */
export class PollerFleet extends Construct {
  readonly poller: NodejsFunction;
  /** The shard schedules, shard 0 first. */
  readonly schedules: readonly scheduler.Schedule[];
  /** Undelivered scheduler invocations of the poller. */
  readonly schedulerDeadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: PollerFleetProps) {
    super(scope, id);
    const key = props.encryptionKey;
    this.schedulerDeadLetterQueue = new sqs.Queue(scope, 'SchedulerDlq', {
      retentionPeriod: Duration.seconds(QUEUE_SETTINGS.retentionSeconds),
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: key,
      enforceSSL: true,
      removalPolicy: props.removalPolicy,
    });
    acknowledge(this.schedulerDeadLetterQueue, {
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the EventBridge Scheduler targets; an alarm fires when it is not empty.',
    });

    const queueUrls: Record<string, string> = {};
    for (const [route, queue] of props.queues) queueUrls[route] = queue.queueUrl;
    const stack = Stack.of(scope);
    // A late tick is worthless (the next one follows), and a failed run is
    // retried by the next tick from the committed offset: no async retries.
    const maxEventAge = Duration.seconds(Math.max(60, props.scheduleMinutes * 60));
    this.poller = pipelineFunction(scope, 'Poller', {
      description: `b24-event-pipeline ${props.prefix}: poller shard, polls the registered sources' Event.get, publishes to the route queues`,
      entry: props.entry,
      handler: props.handler,
      timeoutSeconds: props.timeoutSeconds,
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      environment: {
        [ENV.stateTableName]: props.stateTable.tableName,
        [ENV.queueUrls]: stack.toJsonString(queueUrls),
        [ENV.routes]: JSON.stringify(props.routes),
        [ENV.payloadBucketName]: props.payloadBucket.bucketName,
        [ENV.prefix]: props.prefix,
        [ENV.registryTableName]: props.registryTable.tableName,
        [ENV.sourcesPerInvocation]: String(props.sourcesPerInvocation),
        ...(props.portalBudgets === undefined ? {} : { [ENV.portalBudgets]: JSON.stringify(props.portalBudgets) }),
        POWERTOOLS_SERVICE_NAME: POLLER_SERVICE_NAME,
      },
      ...(props.reservedConcurrency === false ? {} : { reservedConcurrentExecutions: props.reservedConcurrency }),
      maxEventAge,
      retryAttempts: 0,
    });
    const pollerRole = roleOf(this.poller);
    pollerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SourceStateLeaseOffsetAndTokens',
        // Lease, offset, tokens and the portal budgets (budget#<host>) are conditional puts/updates; nothing is
        // deleted. BatchGetItem: a shard reads the leases of the registry's sources 100 at a time (fleet-lease-view.ts).
        actions: ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.stateTable.tableArn],
      }),
    );
    pollerRole.addToPrincipalPolicy(
      // Read only: the shards list the registry and read a source; the CLI, the seed and the install endpoint write it.
      new iam.PolicyStatement({ sid: 'ReadSourceRegistry', actions: ['dynamodb:GetItem', 'dynamodb:Scan'], resources: [props.registryTable.tableArn] }),
    );
    pollerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'PublishToRouteQueues', actions: ['sqs:SendMessage'], resources: [...props.queues.values()].map((q) => q.queueArn) }),
    );
    pollerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'WriteClaimChecks', actions: ['s3:PutObject'], resources: [props.payloadBucket.arnForObjects('*')] }),
    );
    grantKeyUse(key, pollerRole);
    props.secretNames.grantRead(pollerRole, props.configuredSources, 'ReadSourceCredentials');
    props.secretNames.acknowledgeWildcard(pollerRole, 'the poller reads the credentials of whichever registered source it claims; sources are added at run time');
    acknowledgeObjectWildcard(pollerRole, props.payloadBucket, 'the poller writes one claim-check object per oversized event under a key it derives from the source and event id');

    const schedulerRole = new iam.Role(scope, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
      description: `b24-event-pipeline ${props.prefix}: EventBridge Scheduler invokes the poller`,
    });
    key.grant(schedulerRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    acknowledge(schedulerRole, {
      id: `AwsSolutions-IAM5[Resource::<${logicalIdOf(this.poller)}.Arn>:*]`,
      reason: 'Added by CDK grantInvoke for versions/aliases of the poller function; the scheduler targets the unqualified poller only.',
    });
    const schedules: scheduler.Schedule[] = [];
    for (let shard = 0; shard < props.shards; shard += 1) {
      const input: ShardInput = { shard, shardCount: props.shards };
      schedules.push(
        new scheduler.Schedule(scope, `Schedule-Shard${shard}`, {
          description: `Poller shard ${shard} of ${props.shards}: polls up to ${props.sourcesPerInvocation} registered sources per run, every ${props.scheduleMinutes} min`,
          schedule: scheduler.ScheduleExpression.rate(Duration.minutes(props.scheduleMinutes)),
          target: new schedulerTargets.LambdaInvoke(this.poller, {
            role: schedulerRole,
            input: scheduler.ScheduleTargetInput.fromObject(input),
            deadLetterQueue: this.schedulerDeadLetterQueue,
            retryAttempts: 3,
            maxEventAge,
          }),
        }),
      );
    }
    this.schedules = schedules;
  }
}
