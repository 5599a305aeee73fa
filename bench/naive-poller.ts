// The baseline a team would write by hand: a cron poller that fetches a page,
// sends each event with its own SendMessage and records progress with one
// DynamoDB write per event — no batching, no concurrency. It uses the same
// Bitrix24 client, the same queues and the same emulators as the real poller,
// so the benchmark compares designs, not environments. (It is honest, not
// sloppy: per-chat MessageGroupId, deduplication id, offset saved after every
// event, and the next fetch confirms the page only after all of it is sent.)
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ENVELOPE_SCHEMA_VERSION, deduplicationId, messageGroupId, type InlineEnvelope } from '../functions/shared/envelope.js';
import { sqsSafeJson } from '../functions/poller/sqs-event-sink.js';
import { type EventPage } from '../functions/shared/event-types.js';
import { routeFor } from '../functions/shared/topology.js';
import { BenchError } from './errors.js';

export interface NaivePollerInput {
  /** One `Event.get` call: the same Bitrix24 client the real poller uses. */
  readonly fetchPage: (offset: number | undefined) => Promise<EventPage>;
  readonly sqs: SQSClient;
  readonly dynamoDb: DynamoDBClient;
  readonly sourceId: string;
  readonly portal: string;
  readonly stateTableName: string;
  readonly queueUrls: Readonly<Record<string, string>>;
  readonly routes: Readonly<Record<string, string>>;
  /** Stop after this many events (the benchmark's backlog). */
  readonly maxEvents?: number;
  readonly deadline?: number;
}

export interface NaivePollerReport {
  readonly pages: number;
  readonly eventsPublished: number;
  readonly lastOffset: number | undefined;
}

export async function runNaivePoller(input: NaivePollerInput): Promise<NaivePollerReport> {
  let offset: number | undefined;
  let pages = 0;
  let published = 0;
  for (;;) {
    if (input.deadline !== undefined && Date.now() > input.deadline) break;
    if (input.maxEvents !== undefined && published >= input.maxEvents) break;
    const page = await input.fetchPage(offset);
    pages += 1;
    for (const event of page.events) {
      const route = routeFor(input.routes, event.type);
      const queueUrl = input.queueUrls[route];
      if (queueUrl === undefined) throw new BenchError(`naive poller: no queue for route "${route}"`);
      const envelope: InlineEnvelope = {
        schemaVersion: ENVELOPE_SCHEMA_VERSION,
        sourceId: input.sourceId,
        portal: input.portal,
        receivedAt: new Date().toISOString(),
        event,
      };
      await input.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          // The same SQS-safe JSON as the real poller (emoji escaped), so both send identical bodies.
          MessageBody: sqsSafeJson(envelope),
          MessageGroupId: messageGroupId(input.sourceId, event),
          MessageDeduplicationId: deduplicationId(input.sourceId, event.eventId),
        }),
      );
      await input.dynamoDb.send(
        new PutItemCommand({
          TableName: input.stateTableName,
          Item: { pk: { S: `naive#${input.sourceId}` }, offset: { N: String(event.eventId + 1) } },
        }),
      );
      published += 1;
    }
    offset = page.nextOffset;
    if (!page.hasMore) {
      // Confirm the last page, as the next cron run would.
      await input.fetchPage(offset);
      pages += 1;
      break;
    }
  }
  return { pages, eventsPublished: published, lastOffset: offset };
}
