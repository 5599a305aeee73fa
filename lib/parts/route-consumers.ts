// Part: one consumer Lambda per route, reading its route queue through a
// Lambda SQS event source with partial batch failures.
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../functions/shared/observability.js';
import { InvalidPipelinePropsError } from '../errors.js';
import { acknowledgeObjectWildcard, grantKeyUse, pipelineFunction, roleOf } from './pipeline-function.js';

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
  /** JSON array of the sources a consumer may call Bitrix24 as (no credentials: where they are). */
  readonly sourcesJson: string;
  readonly stateTable: dynamodb.ITable;
  readonly idempotencyTable: dynamodb.ITable;
  readonly payloadBucket: s3.IBucket;
  /** Source id → credentials secret. */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
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
      if (queue === undefined) throw new InvalidPipelinePropsError(`internal: no queue for route "${route}"`);
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
          [ENV.sources]: props.sourcesJson,
          [ENV.prefix]: props.prefix,
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
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'OAuthTokensForBitrix24Calls',
          actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
          resources: [props.stateTable.tableArn],
        }),
      );
      role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'ReadClaimChecks', actions: ['s3:GetObject'], resources: [props.payloadBucket.arnForObjects('*')] }));
      grantKeyUse(props.encryptionKey, role);
      for (const secret of props.secrets.values()) secret.grantRead(role);
      acknowledgeObjectWildcard(role, props.payloadBucket, 'a consumer reads the claim-check objects the poller wrote; their keys are only known from the queue messages');
      consumers.set(route, fn);
    }
    this.consumers = consumers;
  }
}
