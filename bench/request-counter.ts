// Counts every AWS SDK request a piece of code makes, through client
// middleware (no mocks: the real requests still go to the emulators):
// per command, SQS billing units (each 64 KiB chunk of a payload is billed as
// one request) and DynamoDB capacity units (ReturnConsumedCapacity is asked for
// on every call that supports it, and DynamoDB Local reports it).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';

export const SQS_BILLING_CHUNK_BYTES = 64 * 1024;

const DYNAMODB_WRITE_COMMANDS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);
const DYNAMODB_CAPACITY_COMMANDS = new Set([
  ...DYNAMODB_WRITE_COMMANDS,
  'GetItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'TransactGetItems',
]);

export interface RequestCounts {
  /** Requests per service and command, e.g. `sqs.SendMessageBatch`. */
  readonly byCommand: Record<string, number>;
  /** Failed requests (exceptions) per service and command. */
  readonly errorsByCommand: Record<string, number>;
  sqsRequests: number;
  /** Requests as SQS bills them: one per started 64 KiB of payload. */
  sqsBilledRequests: number;
  sqsMessagesSent: number;
  dynamoDbRequests: number;
  dynamoDbReadUnits: number;
  dynamoDbWriteUnits: number;
  /** DynamoDB calls whose answer carried no ConsumedCapacity (estimated from item size instead). */
  dynamoDbUnitsEstimated: number;
  s3Requests: number;
}

export function emptyCounts(): RequestCounts {
  return {
    byCommand: {},
    errorsByCommand: {},
    sqsRequests: 0,
    sqsBilledRequests: 0,
    sqsMessagesSent: 0,
    dynamoDbRequests: 0,
    dynamoDbReadUnits: 0,
    dynamoDbWriteUnits: 0,
    dynamoDbUnitsEstimated: 0,
    s3Requests: 0,
  };
}

export function resetCounts(counts: RequestCounts): void {
  Object.assign(counts, emptyCounts());
  for (const key of Object.keys(counts.byCommand)) delete counts.byCommand[key];
  for (const key of Object.keys(counts.errorsByCommand)) delete counts.errorsByCommand[key];
}

export function snapshotCounts(counts: RequestCounts): RequestCounts {
  return { ...counts, byCommand: { ...counts.byCommand }, errorsByCommand: { ...counts.errorsByCommand } };
}

function commandOf(context: { commandName?: string }): string {
  return (context.commandName ?? 'Unknown').replace(/Command$/, '');
}

function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

function utf8Bytes(value: unknown): number {
  return typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : 0;
}

function attributesBytes(attributes: unknown): number {
  if (typeof attributes !== 'object' || attributes === null) return 0;
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes as Record<string, unknown>)) {
    bytes += utf8Bytes(name);
    if (typeof value === 'object' && value !== null) {
      const v = value as { DataType?: unknown; StringValue?: unknown; BinaryValue?: { byteLength?: number } };
      bytes += utf8Bytes(v.DataType) + utf8Bytes(v.StringValue) + (v.BinaryValue?.byteLength ?? 0);
    }
  }
  return bytes;
}

/** Payload bytes of an SQS send, as SQS sizes a message: body plus message attributes. */
export function sqsPayloadBytes(command: string, input: unknown): { bytes: number; messages: number } {
  const record = (input ?? {}) as { MessageBody?: unknown; MessageAttributes?: unknown; Entries?: unknown };
  if (command === 'SendMessage') {
    return { bytes: utf8Bytes(record.MessageBody) + attributesBytes(record.MessageAttributes), messages: 1 };
  }
  if (command === 'SendMessageBatch' && Array.isArray(record.Entries)) {
    let bytes = 0;
    for (const entry of record.Entries as { MessageBody?: unknown; MessageAttributes?: unknown }[]) {
      bytes += utf8Bytes(entry.MessageBody) + attributesBytes(entry.MessageAttributes);
    }
    return { bytes, messages: record.Entries.length };
  }
  return { bytes: 0, messages: 0 };
}

export function sqsBilledUnits(payloadBytes: number): number {
  return Math.max(1, Math.ceil(payloadBytes / SQS_BILLING_CHUNK_BYTES));
}

function receivedBytes(output: unknown): number {
  const messages = (output as { Messages?: { Body?: string }[] } | undefined)?.Messages ?? [];
  return messages.reduce((sum, m) => sum + utf8Bytes(m.Body), 0);
}

interface Capacity {
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
}

function addCapacity(counts: RequestCounts, command: string, consumed: unknown): boolean {
  const list = (Array.isArray(consumed) ? consumed : consumed === undefined ? [] : [consumed]) as Capacity[];
  if (list.length === 0) return false;
  for (const c of list) {
    const read = c.ReadCapacityUnits;
    const write = c.WriteCapacityUnits;
    if (read !== undefined || write !== undefined) {
      counts.dynamoDbReadUnits += read ?? 0;
      counts.dynamoDbWriteUnits += write ?? 0;
    } else if (DYNAMODB_WRITE_COMMANDS.has(command)) {
      counts.dynamoDbWriteUnits += c.CapacityUnits ?? 0;
    } else {
      counts.dynamoDbReadUnits += c.CapacityUnits ?? 0;
    }
  }
  return true;
}

/** Rough item size when DynamoDB reports nothing: 1 WRU per started KiB written, 0.5 RRU per started 4 KiB read. */
function estimateCapacity(counts: RequestCounts, command: string, input: unknown): void {
  counts.dynamoDbUnitsEstimated += 1;
  const bytes = Buffer.byteLength(JSON.stringify(input ?? {}), 'utf8');
  if (DYNAMODB_WRITE_COMMANDS.has(command)) counts.dynamoDbWriteUnits += Math.max(1, Math.ceil(bytes / 1024));
  else counts.dynamoDbReadUnits += 0.5;
}

export function instrumentSqs(client: SQSClient, counts: RequestCounts): SQSClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = commandOf(context);
      const key = `sqs.${command}`;
      bump(counts.byCommand, key);
      counts.sqsRequests += 1;
      const sent = sqsPayloadBytes(command, args.input);
      try {
        const result = await next(args);
        const bytes = command === 'ReceiveMessage' ? receivedBytes(result.output) : sent.bytes;
        counts.sqsBilledRequests += sqsBilledUnits(bytes);
        counts.sqsMessagesSent += sent.messages;
        return result;
      } catch (error) {
        counts.sqsBilledRequests += 1;
        bump(counts.errorsByCommand, key);
        throw error;
      }
    },
    { step: 'initialize', name: 'benchRequestCounter', override: true },
  );
  return client;
}

export function instrumentDynamoDb(client: DynamoDBClient, counts: RequestCounts): DynamoDBClient {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = commandOf(context);
      const key = `dynamodb.${command}`;
      bump(counts.byCommand, key);
      counts.dynamoDbRequests += 1;
      const input = args.input as Record<string, unknown>;
      const wantsCapacity = DYNAMODB_CAPACITY_COMMANDS.has(command);
      if (wantsCapacity && input.ReturnConsumedCapacity === undefined) {
        input.ReturnConsumedCapacity = 'TOTAL';
      }
      try {
        const result = await next(args);
        if (wantsCapacity) {
          const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
          if (!addCapacity(counts, command, consumed)) estimateCapacity(counts, command, args.input);
        }
        return result;
      } catch (error) {
        bump(counts.errorsByCommand, key);
        // A failed conditional write still consumes write capacity.
        if (DYNAMODB_WRITE_COMMANDS.has(command)) counts.dynamoDbWriteUnits += 1;
        throw error;
      }
    },
    { step: 'initialize', name: 'benchRequestCounter', override: true },
  );
  return client;
}

export function instrumentS3(client: S3Client, counts: RequestCounts): S3Client {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      bump(counts.byCommand, `s3.${commandOf(context)}`);
      counts.s3Requests += 1;
      return await next(args);
    },
    { step: 'initialize', name: 'benchRequestCounter', override: true },
  );
  return client;
}
