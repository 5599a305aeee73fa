// Part: one consumer Lambda per route, reading its route queue through a
// Lambda SQS event source with partial batch failures.
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { tokenItemKey } from '../../functions/bitrix24/dynamodb-token-store.js';
import { portalBudgetKey } from '../../functions/budget/dynamodb-store.js';
import type { PortalRatesInput } from '../../functions/budget/rates.js';
import type { SourceConfig } from '../../functions/shared/config.js';
import { ENV } from '../../functions/shared/observability.js';
import { InvalidPipelinePropsError } from '../errors.js';
import { acknowledgeObjectWildcard, grantKeyUse, pipelineFunction, roleOf } from './pipeline-function.js';
import type { SecretNames } from './source-secrets.js';

/**
 * Consumer environment of the delivery contract (functions/consumers reads
 * them): its route queue, its DLQ and the attempts before dead-lettering.
 */
export const CONSUMER_ENV = {
  queueUrl: 'QUEUE_URL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
  maxAttempts: 'MAX_ATTEMPTS',
} as const;

/** One route's consumer function, as the pipeline resolved it from its props. */
export interface RouteConsumerSpec {
  /** Handler module, absolute. */
  readonly entry: string;
  /** Exported handler name. */
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** The user's extra environment variables (the pipeline's own win). @default none */
  readonly environment?: Readonly<Record<string, string>>;
  /** Shown in the function's description, e.g. the user's entry path. @default none */
  readonly describedAs?: string;
}

export interface RouteConsumersProps {
  /** Resource name prefix (PIPELINE_PREFIX of the consumers). */
  readonly prefix: string;
  /** Route key → its consumer; one function per entry, in this order. */
  readonly consumers: ReadonlyMap<string, RouteConsumerSpec>;
  /** Route key → the queue its consumer reads. */
  readonly queues: ReadonlyMap<string, sqs.IQueue>;
  /** Route key → the queue's DLQ, where the consumer moves what can never succeed. */
  readonly deadLetterQueues: ReadonlyMap<string, sqs.IQueue>;
  /** The configured sources (only for secret names outside the prefix; run-time sources are under it). */
  readonly configuredSources: readonly SourceConfig[];
  /** The registry a consumer looks a source's portal, kind, bot and credentials up in (read only). */
  readonly registryTable: dynamodb.ITable;
  /** Failed attempts of one event before the consumer dead-letters it (MAX_ATTEMPTS). */
  readonly maxAttempts: number;
  /** Request budget per portal shared with the poller shards (config fleet.portalBudgets). @default 2/s, burst 10 per portal */
  readonly portalBudgets?: PortalRatesInput;
  readonly stateTable: dynamodb.ITable;
  readonly idempotencyTable: dynamodb.ITable;
  readonly payloadBucket: s3.IBucket;
  /** The sources' secrets by name prefix. */
  readonly secretNames: SecretNames;
  readonly encryptionKey: kms.IKey;
  /** Records per invocation (1–10 for FIFO). */
  readonly batchSize: number;
  /** Concurrent invocations per route. */
  readonly maxConcurrency: number;
  readonly logRetention: logs.RetentionDays;
}

/** Route key → consumer function. Resources are created in `scope` (see PipelineEncryptionKey). */
export class RouteConsumers extends Construct {
  readonly consumers: ReadonlyMap<string, NodejsFunction>;

  constructor(scope: Construct, id: string, props: RouteConsumersProps) {
    super(scope, id);
    const consumers = new Map<string, NodejsFunction>();
    for (const [route, spec] of props.consumers) {
      const queue = props.queues.get(route);
      const deadLetterQueue = props.deadLetterQueues.get(route);
      if (queue === undefined || deadLetterQueue === undefined) throw new InvalidPipelinePropsError(`internal: no queue or DLQ for route "${route}"`);
      const fn = pipelineFunction(scope, `Consumer-${route}`, {
        description: `b24-event-pipeline ${props.prefix}: consumer of route "${route}"${spec.describedAs === undefined ? '' : ` (${spec.describedAs})`}`,
        entry: spec.entry,
        handler: spec.handler,
        timeoutSeconds: spec.timeoutSeconds,
        memorySize: spec.memorySize,
        logRetention: props.logRetention,
        environment: {
          ...(spec.environment ?? {}),
          [ENV.idempotencyTableName]: props.idempotencyTable.tableName,
          [ENV.stateTableName]: props.stateTable.tableName,
          [ENV.payloadBucketName]: props.payloadBucket.bucketName,
          [ENV.route]: route,
          [ENV.registryTableName]: props.registryTable.tableName,
          [ENV.prefix]: props.prefix,
          [CONSUMER_ENV.queueUrl]: queue.queueUrl,
          [CONSUMER_ENV.deadLetterQueueUrl]: deadLetterQueue.queueUrl,
          [CONSUMER_ENV.maxAttempts]: String(props.maxAttempts),
          ...(props.portalBudgets === undefined ? {} : { [ENV.portalBudgets]: JSON.stringify(props.portalBudgets) }),
        },
      });
      fn.addEventSource(
        new SqsEventSource(queue, {
          batchSize: props.batchSize,
          maxConcurrency: props.maxConcurrency,
          reportBatchItemFailures: true,
          // FIFO event sources accept no batching window.
        }),
      );
      const role = roleOf(fn);
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'IdempotencyRecords',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
          resources: [props.idempotencyTable.tableArn],
        }),
      );
      // The source registry, read only: a source's portal, kind, bot id and where its credentials are.
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadSourceRegistry', actions: ['dynamodb:GetItem'], resources: [props.registryTable.tableArn] }));
      // Only OAuth token items (DynamoDbTokenStore: pk `oauth#<id>`, GetItem and conditional UpdateItem). No
      // PutItem, and no other key: a consumer can neither rewrite a source's committed offset nor take its
      // lease. Sources come at run time, so the key is a prefix, not the route's sources.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'OAuthTokenItems',
          actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
          resources: [props.stateTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [tokenItemKey('*')] } },
        }),
      );
      // The portal budget (budget#<host>, functions/budget): ctx calls take a slot of the bucket the poller shards
      // share, one conditional UpdateItem per request; nothing else of the state table.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PortalBudgetItems',
          actions: ['dynamodb:UpdateItem'],
          resources: [props.stateTable.tableArn],
          conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [portalBudgetKey('*')] } },
        }),
      );
      // The consumer moves poison and exhausted records to the DLQ itself and backs a failing chat off.
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DeadLetterToRouteDlq', actions: ['sqs:SendMessage'], resources: [deadLetterQueue.queueArn] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'BackOffRouteQueue', actions: ['sqs:ChangeMessageVisibility'], resources: [queue.queueArn] }));
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadClaimChecks', actions: ['s3:GetObject'], resources: [props.payloadBucket.arnForObjects('*')] }));
      grantKeyUse(props.encryptionKey, role);
      props.secretNames.grantRead(role, props.configuredSources, 'ReadSourceCredentials');
      props.secretNames.acknowledgeWildcard(role, 'ctx.bitrix24 calls Bitrix24 as the source of the event, whichever registered source that is');
      acknowledgeObjectWildcard(role, props.payloadBucket, 'a consumer reads the claim-check objects the poller wrote; their keys are only known from the queue messages');
      consumers.set(route, fn);
    }
    this.consumers = consumers;
  }
}
