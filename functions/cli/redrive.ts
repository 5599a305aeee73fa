// Moves a route's dead-lettered messages back to its queue. Each message is
// sent to the queue first and deleted from the DLQ only after SQS accepted
// it: a crash in between duplicates a message (the consumers' idempotency
// absorbs it), never loses one. FIFO: the MessageGroupId is kept (per-chat
// order); the deduplication id is new, or SQS would drop a message whose
// original id it saw in the last 5 minutes.
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type SQSClient,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';

export interface RedriveInput {
  readonly sqs: SQSClient;
  readonly route: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /** Count only; move nothing. */
  readonly dryRun: boolean;
  /** Stop after this many messages. @default no limit */
  readonly max?: number;
  /** Seconds a received DLQ message stays hidden while it is moved. @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Unique per redrive run; goes into the new deduplication ids. @default Date.now() in base 36 */
  readonly runId?: string;
}

export interface RedriveResult {
  readonly route: string;
  readonly dryRun: boolean;
  /** DLQ depth before the redrive (approximate, as SQS reports it). */
  readonly found: number;
  readonly moved: number;
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

const DEDUPE_UNSAFE = /[^A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;

export async function redriveDeadLetters(input: RedriveInput): Promise<RedriveResult> {
  const found = await depth(input.sqs, input.deadLetterQueueUrl);
  if (input.dryRun) return { route: input.route, dryRun: true, found, moved: 0 };
  const runId = input.runId ?? Date.now().toString(36);
  const max = input.max ?? Number.POSITIVE_INFINITY;
  let moved = 0;
  while (moved < max) {
    const received = await input.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: input.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, max - moved),
        VisibilityTimeout: input.visibilityTimeoutSeconds ?? 30,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    if (messages.length === 0) break;
    const entries = messages.map((message, index) => {
      const original = message.Attributes?.MessageDeduplicationId ?? message.MessageId ?? String(index);
      return {
        Id: String(index),
        MessageBody: message.Body ?? '',
        MessageGroupId: message.Attributes?.MessageGroupId ?? `redrive-${input.route}`,
        MessageDeduplicationId: `${original}:redrive:${runId}`.replace(DEDUPE_UNSAFE, '_').slice(-128),
        ...(message.MessageAttributes === undefined ? {} : { MessageAttributes: message.MessageAttributes }),
      };
    });
    const sent = await input.sqs.send(new SendMessageBatchCommand({ QueueUrl: input.queueUrl, Entries: entries }));
    const accepted = new Set((sent.Successful ?? []).map((ok) => ok.Id));
    const toDelete = messages
      .map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle }))
      .filter((entry) => accepted.has(entry.Id) && entry.ReceiptHandle !== undefined);
    if (toDelete.length > 0) {
      await input.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: input.deadLetterQueueUrl, Entries: toDelete }));
    }
    moved += toDelete.length;
    // Messages SQS refused stay in the DLQ (they reappear after the visibility timeout); stop rather than spin.
    if (toDelete.length < messages.length) break;
  }
  return { route: input.route, dryRun: false, found, moved };
}
