// The consumer's own hands on its route's queues (issue 11 §1): it moves a
// record that can never succeed to the route's DLQ itself (then reports it as
// processed, so its chat continues at once), and it hides a failed record and
// the records of its chat held back behind it for a backoff before they come
// back together (ChangeMessageVisibility). The queue's maxReceiveCount is only
// a backstop (maxReceiveCountFor in functions/shared/topology.ts).
import { ChangeMessageVisibilityBatchCommand, type MessageAttributeValue, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import type { PoisonReason } from './errors.js';

/** Message attributes a dead-lettered record carries in the DLQ. */
export const DEAD_LETTER_ATTRIBUTES = {
  /** One of DeadLetterReason. */
  reason: 'b24-dead-letter-reason',
  /** What went wrong (the failing path, the last error), at most 1000 characters. */
  detail: 'b24-dead-letter-detail',
  /** The route whose consumer dead-lettered it. */
  route: 'b24-dead-letter-route',
  /** Failed attempts counted (attempts-exhausted only). */
  attempts: 'b24-dead-letter-attempts',
  /** The SQS message id in the route's queue. */
  originalMessageId: 'b24-original-message-id',
} as const;

/**
 * Why the consumer dead-lettered a record: a poison reason (the body can never
 * be read), `schema-mismatch` (a known type failing its schema),
 * `attempts-exhausted` (the handler failed maxAttempts times) or
 * `write-outcome-unknown` (a Bitrix24 write may or may not have happened; a
 * re-run must not repeat it blindly).
 */
export type DeadLetterReason = Exclude<PoisonReason, 'invalid-event'> | 'schema-mismatch' | 'attempts-exhausted' | 'write-outcome-unknown';

export interface DeadLetter {
  readonly reason: DeadLetterReason;
  readonly detail: string;
  readonly attempts?: number;
  readonly route?: string;
}

/** The route queue operations the consumer needs. */
export interface RecordQueue {
  /** Sends the record to the route's DLQ with its reason; resolves once SQS accepted it. */
  deadLetter(record: SQSRecord, letter: DeadLetter): Promise<void>;
  /** Hides the records (still in flight) for `seconds` more before they are delivered again. */
  delay(records: readonly SQSRecord[], seconds: number): Promise<void>;
}

export interface SqsRecordQueueOptions {
  readonly sqs: SQSClient;
  /** The route's queue (QUEUE_URL): ChangeMessageVisibility. */
  readonly queueUrl: string;
  /** The route's DLQ (DEAD_LETTER_QUEUE_URL): SendMessage. */
  readonly deadLetterQueueUrl: string;
}

const DETAIL_LIMIT = 1000;

function text(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value === '' ? '-' : value };
}

/** Ids SQS accepts in a FIFO deduplication id (printable ASCII), at most 128 characters. */
function dedupSafe(value: string): string {
  return value.replace(/[^\x21-\x7e]/g, '_').slice(0, 128);
}

export function sqsRecordQueue(options: SqsRecordQueueOptions): RecordQueue {
  const fifo = options.deadLetterQueueUrl.endsWith('.fifo');
  return {
    async deadLetter(record, letter) {
      const attributes: Record<string, MessageAttributeValue> = {
        [DEAD_LETTER_ATTRIBUTES.reason]: text(letter.reason),
        [DEAD_LETTER_ATTRIBUTES.detail]: text(letter.detail.slice(0, DETAIL_LIMIT)),
        [DEAD_LETTER_ATTRIBUTES.originalMessageId]: text(record.messageId),
        ...(letter.route === undefined ? {} : { [DEAD_LETTER_ATTRIBUTES.route]: text(letter.route) }),
        ...(letter.attempts === undefined ? {} : { [DEAD_LETTER_ATTRIBUTES.attempts]: { DataType: 'Number', StringValue: String(letter.attempts) } }),
      };
      await options.sqs.send(
        new SendMessageCommand({
          QueueUrl: options.deadLetterQueueUrl,
          MessageBody: record.body === '' ? '(empty body)' : record.body,
          MessageAttributes: attributes,
          // Same chat group (a redrive keeps its order); the dedup id makes a
          // second dead-lettering of the same delivery (crash before the delete) a no-op.
          ...(fifo
            ? {
                MessageGroupId: record.attributes.MessageGroupId ?? 'dead-letters',
                MessageDeduplicationId: dedupSafe(`dead-letter:${record.messageId}`),
              }
            : {}),
        }),
      );
    },
    async delay(records, seconds) {
      for (let start = 0; start < records.length; start += 10) {
        const chunk = records.slice(start, start + 10);
        // A failed entry (e.g. a receipt handle already expired) only means that
        // record comes back sooner: order still holds, FIFO never hands out a
        // group's later message while an earlier one is in flight.
        await options.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: options.queueUrl,
            Entries: chunk.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle, VisibilityTimeout: seconds })),
          }),
        );
      }
    },
  };
}
