// Queue and DLQ depths per route, as SQS reports them (approximate counts).
import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface RouteDepth {
  readonly route: string;
  /** Messages waiting for a consumer. */
  readonly waiting: number;
  /** Messages received by a consumer and not yet deleted. */
  readonly inFlight: number;
  /** Messages in the route's dead-letter queue. */
  readonly deadLettered: number;
}

async function counts(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; notVisible: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return {
    visible: Number(out.Attributes?.ApproximateNumberOfMessages ?? 0),
    notVisible: Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

export async function routeDepths(
  sqs: SQSClient,
  queueUrls: Readonly<Record<string, string>>,
  deadLetterQueueUrls: Readonly<Record<string, string>>,
): Promise<RouteDepth[]> {
  const routes = Object.keys(queueUrls).sort();
  return await Promise.all(
    routes.map(async (route) => {
      const queue = await counts(sqs, queueUrls[route] ?? '');
      const dlqUrl = deadLetterQueueUrls[route];
      const dlq = dlqUrl === undefined ? { visible: 0, notVisible: 0 } : await counts(sqs, dlqUrl);
      return { route, waiting: queue.visible, inFlight: queue.notVisible, deadLettered: dlq.visible + dlq.notVisible };
    }),
  );
}
