// Runs a consumer handler locally the way Lambda's SQS event source mapping
// does with ReportBatchItemFailures:
//   ReceiveMessage (all system attributes) → SQSEvent → handler(event, context)
//   → DeleteMessageBatch for every record NOT in batchItemFailures.
// Failed records are left alone: they reappear after the visibility timeout
// and the queue's redrive policy moves them to the DLQ after maxReceiveCount.
// A handler that throws, or answers with an itemIdentifier not in the batch,
// fails the whole batch (as Lambda does).
//
// FIFO: fauxqs, like SQS, never hands out a message of a group that has one in
// flight, and returns at most one message per group per receive; a batch
// therefore mixes several chats, and a chat's next event only comes once the
// previous one is deleted or its visibility timeout runs out — order holds.
import { randomUUID } from 'node:crypto';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LocalUsageError } from './errors.js';

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface SqsEventSourceOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly handler: SqsBatchHandler;
  /** Records per invocation, 1–10. @default 10 */
  readonly batchSize?: number;
  /** Visibility timeout set on each receive, in seconds; short locally so failures come back soon. @default 5 */
  readonly visibilityTimeoutSeconds?: number;
  /** Long-poll wait per receive, in seconds (stop() aborts it). @default 1 */
  readonly waitTimeSeconds?: number;
  /** Fake function timeout: context.getRemainingTimeInMillis() counts down from it. @default visibilityTimeoutSeconds × 1000 */
  readonly functionTimeoutMs?: number;
  /** Name in the fake context. @default "local-consumer" */
  readonly functionName?: string;
  /** Region put on records. @default "us-east-1" */
  readonly region?: string;
  /** Called when a receive, a delete or the handler itself fails (the loop carries on). @default ignore */
  readonly onError?: (error: unknown, stage: 'receive' | 'invoke' | 'delete') => void;
  /** Pause after a failed receive, in ms. @default 500 */
  readonly retryDelayMs?: number;
  /** ms epoch clock for the fake context. @default Date.now */
  readonly now?: () => number;
}

export interface SqsEventSourceStats {
  /** Handler invocations. */
  invocations: number;
  received: number;
  deleted: number;
  /** Records reported in batchItemFailures (or failed with their whole batch). */
  failed: number;
  invocationErrors: number;
  receiveErrors: number;
}

export interface RunningSqsEventSource {
  readonly stats: Readonly<SqsEventSourceStats>;
  /** Stops receiving, lets the in-flight invocation finish and its deletes complete. */
  stop(): Promise<void>;
}

function fakeContext(functionName: string, region: string, timeoutMs: number, now: () => number): Context {
  const deadline = now() + timeoutMs;
  const awsRequestId = randomUUID();
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/${awsRequestId}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? '',
      SenderId: attributes.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? '',
      ...(attributes.SequenceNumber === undefined ? {} : { SequenceNumber: attributes.SequenceNumber }),
      ...(attributes.MessageGroupId === undefined ? {} : { MessageGroupId: attributes.MessageGroupId }),
      ...(attributes.MessageDeduplicationId === undefined ? {} : { MessageDeduplicationId: attributes.MessageDeduplicationId }),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue === undefined ? {} : { stringValue: value.StringValue }),
          ...(value.BinaryValue === undefined ? {} : { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }),
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes === undefined ? {} : { md5OfMessageAttributes: message.MD5OfMessageAttributes }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** The records to delete after an invocation: all but the reported failures; none if the answer is invalid. */
export function recordsToDelete(records: readonly SQSRecord[], response: SQSBatchResponse | void): SQSRecord[] {
  const failures = response?.batchItemFailures ?? [];
  const ids = new Set(records.map((record) => record.messageId));
  // Lambda treats a failure entry naming no record of the batch as a failed batch.
  if (failures.some((failure) => typeof failure.itemIdentifier !== 'string' || !ids.has(failure.itemIdentifier))) return [];
  const failed = new Set(failures.map((failure) => failure.itemIdentifier));
  return records.filter((record) => !failed.has(record.messageId));
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
}

/** Starts polling `queueUrl` and invoking `handler` until stop(). */
export async function startSqsEventSource(options: SqsEventSourceOptions): Promise<RunningSqsEventSource> {
  const batchSize = options.batchSize ?? 10;
  const visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 5;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10) {
    throw new LocalUsageError(`batchSize must be an integer 1–10 (the SQS receive limit); got ${batchSize}.`);
  }
  if (!Number.isInteger(visibilityTimeoutSeconds) || visibilityTimeoutSeconds < 1 || visibilityTimeoutSeconds > 43_200) {
    throw new LocalUsageError(`visibilityTimeoutSeconds must be an integer 1–43200; got ${visibilityTimeoutSeconds}.`);
  }
  if (!Number.isInteger(waitTimeSeconds) || waitTimeSeconds < 0 || waitTimeSeconds > 20) {
    throw new LocalUsageError(`waitTimeSeconds must be an integer 0–20; got ${waitTimeSeconds}.`);
  }
  const timeoutMs = options.functionTimeoutMs ?? visibilityTimeoutSeconds * 1000;
  const functionName = options.functionName ?? 'local-consumer';
  const region = options.region ?? 'us-east-1';
  const now = options.now ?? Date.now;
  const onError = options.onError ?? (() => undefined);
  const retryDelayMs = options.retryDelayMs ?? 500;
  const { sqs, queueUrl, handler } = options;

  const attributes = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = attributes.Attributes?.QueueArn ?? `arn:aws:sqs:${region}:000000000000:${queueUrl.split('/').pop() ?? 'queue'}`;

  const stats: SqsEventSourceStats = { invocations: 0, received: 0, deleted: 0, failed: 0, invocationErrors: 0, receiveErrors: 0 };
  const abort = new AbortController();
  let stopping = false;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  const runBatch = async (messages: Message[]): Promise<void> => {
    const records = messages.map((message) => toRecord(message, queueArn, region));
    stats.received += records.length;
    stats.invocations += 1;
    let response: SQSBatchResponse | void;
    try {
      response = await handler({ Records: records }, fakeContext(functionName, region, timeoutMs, now));
    } catch (error) {
      stats.invocationErrors += 1;
      stats.failed += records.length;
      onError(error, 'invoke');
      return;
    }
    const done = recordsToDelete(records, response);
    stats.failed += records.length - done.length;
    if (done.length === 0) return;
    try {
      const result = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: done.map((record, index) => ({ Id: String(index), ReceiptHandle: record.receiptHandle })),
        }),
      );
      stats.deleted += result.Successful?.length ?? 0;
      if ((result.Failed ?? []).length > 0) {
        onError(new Error(`${result.Failed?.length ?? 0} delete(s) failed; those messages will be delivered again`), 'delete');
      }
    } catch (error) {
      onError(error, 'delete');
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopping) {
      let messages: Message[];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: batchSize,
            VisibilityTimeout: visibilityTimeoutSeconds,
            WaitTimeSeconds: waitTimeSeconds,
            AttributeNames: ['All'],
            MessageSystemAttributeNames: ['All'],
            MessageAttributeNames: ['All'],
          }),
          { abortSignal: abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (stopping && isAbort(error)) return;
        stats.receiveErrors += 1;
        onError(error, 'receive');
        await pause(retryDelayMs);
        continue;
      }
      // Received messages are always handed to the handler, even during stop():
      // dropping them would only delay them by a visibility timeout.
      if (messages.length > 0) await runBatch(messages);
    }
  };

  const running = loop();
  return {
    stats,
    async stop() {
      stopping = true;
      abort.abort();
      await running;
    },
  };
}
