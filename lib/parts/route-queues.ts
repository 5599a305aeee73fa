// Part: one FIFO queue per route with its FIFO dead-letter queue. Names and
// settings come from functions/shared/topology.ts (what the local rig
// provisions); each queue's visibility timeout follows its consumer's timeout.
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUE_SETTINGS, deadLetterQueueName, queueName } from '../../functions/shared/topology.js';
import { InvalidPipelinePropsError } from '../errors.js';

/** Lambda's SQS event source needs visibility ≥ 6 × function timeout (AWS guidance). */
export const VISIBILITY_TIMEOUT_FACTOR = 6;
/** SQS's hard maximum visibility timeout, 12 h. */
const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;

export interface RouteQueuesProps {
  /** Resource name prefix: queues are named `<prefix>-<route>.fifo` (topology.ts). */
  readonly prefix: string;
  /** Route key → timeout in seconds of the route's consumer; one queue + DLQ per entry, in this order. */
  readonly consumerTimeoutSeconds: ReadonlyMap<string, number>;
  readonly encryptionKey: kms.IKey;
  /** What happens to the queues when they leave the stack. */
  readonly removalPolicy: RemovalPolicy;
  /** Receives of a message before SQS moves it to the DLQ. @default QUEUE_SETTINGS.maxReceiveCount */
  readonly maxReceiveCount?: number;
}

/** Route queues and their DLQs: FIFO, high-throughput, KMS, TLS only. Resources are created in `scope` (see PipelineEncryptionKey). */
export class RouteQueues extends Construct {
  /** Route key → FIFO queue (the catch-all included). */
  readonly queues: ReadonlyMap<string, sqs.Queue>;
  /** Route key → the queue's FIFO dead-letter queue. */
  readonly deadLetterQueues: ReadonlyMap<string, sqs.Queue>;

  constructor(scope: Construct, id: string, props: RouteQueuesProps) {
    super(scope, id);
    const queues = new Map<string, sqs.Queue>();
    const deadLetterQueues = new Map<string, sqs.Queue>();
    const maxReceiveCount = props.maxReceiveCount ?? QUEUE_SETTINGS.maxReceiveCount;
    for (const [route, timeoutSeconds] of props.consumerTimeoutSeconds) {
      const visibilityTimeoutSeconds = Math.max(QUEUE_SETTINGS.visibilityTimeoutSeconds, VISIBILITY_TIMEOUT_FACTOR * timeoutSeconds);
      if (visibilityTimeoutSeconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
        throw new InvalidPipelinePropsError(`route "${route}": visibility timeout ${visibilityTimeoutSeconds} s exceeds SQS's 12 h; lower the consumer timeout.`);
      }
      const routeId = `Route-${route}`;
      const dlq = new sqs.Queue(scope, `${routeId}-Dlq`, {
        queueName: deadLetterQueueName(props.prefix, route),
        fifo: true,
        retentionPeriod: Duration.seconds(QUEUE_SETTINGS.retentionSeconds),
        visibilityTimeout: Duration.seconds(QUEUE_SETTINGS.visibilityTimeoutSeconds),
        maxMessageSizeBytes: QUEUE_SETTINGS.maxMessageBytes,
        encryption: sqs.QueueEncryption.KMS,
        encryptionMasterKey: props.encryptionKey,
        enforceSSL: true,
        removalPolicy: props.removalPolicy,
      });
      const queue = new sqs.Queue(scope, `${routeId}-Queue`, {
        queueName: queueName(props.prefix, route),
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
        encryptionMasterKey: props.encryptionKey,
        enforceSSL: true,
        deadLetterQueue: { queue: dlq, maxReceiveCount },
        removalPolicy: props.removalPolicy,
      });
      queues.set(route, queue);
      deadLetterQueues.set(route, dlq);
    }
    this.queues = queues;
    this.deadLetterQueues = deadLetterQueues;
  }
}
