// Shared set-up for the delivery tests: FIFO queue pairs on fauxqs (with the
// real-FIFO batching patch of test/setup/fauxqs-fifo-batching.ts), sending,
// draining and waiting helpers.
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { deduplicationId, type InlineEnvelope, messageGroupId } from '../../../functions/shared/envelope.js';
import { uniqueName } from '../../setup/rig.js';

export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A FIFO queue and its FIFO DLQ; the queue's redrive moves a message after `maxReceiveCount` receives. */
export async function queuePair(sqs: SQSClient, maxReceiveCount: number, visibilityTimeoutSeconds = 1): Promise<{ queueUrl: string; dlqUrl: string }> {
  const name = uniqueName('dq');
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }));
  const dlqUrl = dlq.QueueUrl ?? '';
  const arn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }));
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        VisibilityTimeout: String(visibilityTimeoutSeconds),
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn.Attributes?.QueueArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl };
}

export interface Outgoing {
  readonly body: string;
  readonly groupId: string;
  readonly dedupId: string;
}

export function outgoing(envelope: InlineEnvelope): Outgoing {
  return {
    body: JSON.stringify(envelope),
    groupId: messageGroupId(envelope.sourceId, envelope.event),
    dedupId: deduplicationId(envelope.sourceId, envelope.event.eventId),
  };
}

/** Sends in order (one batch call keeps the order within a group). */
export async function send(sqs: SQSClient, queueUrl: string, messages: readonly Outgoing[]): Promise<void> {
  for (let start = 0; start < messages.length; start += 10) {
    const chunk = messages.slice(start, start + 10);
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message, index) => ({
          Id: String(index),
          MessageBody: message.body,
          MessageGroupId: message.groupId,
          MessageDeduplicationId: message.dedupId,
        })),
      }),
    );
    if ((sent.Successful ?? []).length !== chunk.length) throw new Error(`send failed: ${JSON.stringify(sent.Failed)}`);
  }
}

export async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const attributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(attributes.Attributes?.ApproximateNumberOfMessages ?? '0') + Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? '0');
}

/** Every message of a queue (hidden for 60 s once read), with its attributes. */
export async function drain(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (let empty = 0; empty < 2; ) {
    const received = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 60, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }),
    );
    const batch = received.Messages ?? [];
    if (batch.length === 0) empty += 1;
    all.push(...batch);
  }
  return all;
}

export function eventIdOf(body: string | undefined): number | undefined {
  try {
    return (JSON.parse(body ?? '') as { event?: { eventId?: number } }).event?.eventId;
  } catch {
    return undefined;
  }
}
