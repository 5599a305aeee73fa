// Invalid events, kept whole: one state-table item per event, so a bad event
// never stalls its source (the page is committed past it) and is never lost.
//
// Item (state table, pk `quarantine#<sourceId>#<id>`; <id> is the eventId, or
// `offset-<fromOffset>-pos-<position>` when the event has no usable id):
//   sourceId, eventId?, position, fromOffset?, reason, quarantinedAt,
//   raw (the event's JSON as sent) — or, above maxInlineBytes, rawRef
//   { bucket, key } of an object `quarantine/<sourceId>/<id>.json` in the
//   payload bucket (which expires objects after its lifecycle, 29 days), and rawBytes.
// Writes are idempotent (same event → same key, same content), so a page
// fetched again after a crash quarantines onto the same items.
import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { RejectedEvent } from '../shared/event-types.js';
import { STATE_TABLE } from '../shared/topology.js';
import { QuarantineError } from './errors.js';
import type { PayloadWriter } from './payload-writer.js';
import type { QuarantineStore } from './ports.js';

export interface DynamoDbQuarantineStoreOptions {
  readonly dynamoDb: DynamoDBClient;
  /** Where raw events above maxInlineBytes go (the payload bucket). */
  readonly payloads: PayloadWriter;
  readonly tableName: string;
  readonly payloadBucketName: string;
  readonly sourceId: string;
  /** Raw events larger than this go to the payload bucket (a DynamoDB item holds 400 KB), in bytes. @default 64 KiB */
  readonly maxInlineBytes?: number;
}

/** Every quarantine item of a source has a pk starting with this. */
export function quarantineKeyPrefix(sourceId: string): string {
  return `quarantine#${sourceId}#`;
}

export function quarantineItemId(event: RejectedEvent, fromOffset: number | undefined): string {
  return event.eventId === undefined ? `offset-${fromOffset ?? 'none'}-pos-${event.position}` : String(event.eventId);
}

export class DynamoDbQuarantineStore implements QuarantineStore {
  private readonly maxInlineBytes: number;

  constructor(private readonly options: DynamoDbQuarantineStoreOptions) {
    this.maxInlineBytes = options.maxInlineBytes ?? 64 * 1024;
  }

  async put(input: { readonly fromOffset: number | undefined; readonly events: readonly RejectedEvent[]; readonly now: number }): Promise<void> {
    for (const event of input.events) await this.putOne(event, input.fromOffset, input.now);
  }

  private async putOne(event: RejectedEvent, fromOffset: number | undefined, now: number): Promise<void> {
    const { sourceId, tableName, payloadBucketName } = this.options;
    const id = quarantineItemId(event, fromOffset);
    // JSON.stringify(undefined) is undefined: an absent element still gets a body.
    const raw = JSON.stringify(event.raw) ?? 'null';
    const rawBytes = Buffer.byteLength(raw, 'utf8');
    const item: Record<string, { S: string } | { N: string } | { M: Record<string, { S: string }> }> = {
      [STATE_TABLE.partitionKey]: { S: `${quarantineKeyPrefix(sourceId)}${id}` },
      sourceId: { S: sourceId },
      position: { N: String(event.position) },
      reason: { S: event.reason.slice(0, 1000) },
      quarantinedAt: { N: String(now) },
      rawBytes: { N: String(rawBytes) },
    };
    if (event.eventId !== undefined) item.eventId = { N: String(event.eventId) };
    if (fromOffset !== undefined) item.fromOffset = { N: String(fromOffset) };
    try {
      if (rawBytes <= this.maxInlineBytes) {
        item.raw = { S: raw };
      } else {
        const key = `quarantine/${encodeURIComponent(sourceId)}/${id}.json`;
        await this.options.payloads.putJson({ bucket: payloadBucketName, key, body: raw });
        item.rawRef = { M: { bucket: { S: payloadBucketName }, key: { S: key } } };
      }
      await this.options.dynamoDb.send(new PutItemCommand({ TableName: tableName, Item: item }));
    } catch (error) {
      throw new QuarantineError(
        `Source "${sourceId}": storing invalid event ${id} in quarantine failed (${error instanceof Error ? error.name : 'unknown error'}).`,
        sourceId,
        { cause: error },
      );
    }
  }
}
